//! portprobe: is a TCP port open, closed or stealth, what answers it, and a raw session to it.
//!
//! The binary (`main.rs`) only parses arguments and maps [`commands::run`]'s answer to an exit
//! code; everything else lives here, one module per concern (see README's map).

pub mod audit;
pub mod cli;
pub mod commands;
pub mod config;
pub mod detect;
pub mod endpoint;
pub mod escape;
pub mod fingerprint;
pub mod limits;
pub mod net;
pub mod nmap_args;
pub mod offline;
pub mod order;
pub mod ping;
pub mod ping_syn;
pub mod pipeline;
pub mod portdb;
pub mod portkb;
pub mod ports;
pub mod report;
pub mod resume;
pub mod scan;
pub mod session;
pub mod session_log;
pub mod target;
pub mod telnet_keys;
pub mod udp_detect;
pub mod udp_session;
