//! Network building blocks: the connect engine, raw SYN probes, TLS, STARTTLS and telnet.

pub mod connect;
pub mod starttls;
pub mod syn;
pub mod telnet;
pub mod tls;
pub mod tls_diag;
pub mod tls_names;
