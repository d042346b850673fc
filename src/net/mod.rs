//! Network building blocks: the connect engine, TLS, STARTTLS and telnet.

pub mod access;
pub mod connect;
pub mod dialer;
pub mod proxy;
pub mod starttls;
pub mod telnet;
pub mod tls;
pub mod tls_diag;
pub mod tls_names;
