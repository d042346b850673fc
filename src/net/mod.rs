//! Network building blocks: the connect engine (and, later, TLS and telnet).

pub mod connect;
