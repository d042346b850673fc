//! Network building blocks: the connect engine, raw SYN probes, UDP, TLS, STARTTLS, telnet,
//! proxies and access lists.

pub mod access;
pub mod connect;
pub mod dialer;
pub mod proxy;
pub mod starttls;
pub mod syn;
pub mod telnet;
pub mod tls;
pub mod tls_diag;
pub mod tls_names;
pub mod udp;
