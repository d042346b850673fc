//! Network building blocks: the connect engine (and, later, TLS and telnet).

pub mod connect;
pub mod starttls;
pub mod tls;
pub mod tls_diag;
