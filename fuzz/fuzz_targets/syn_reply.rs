//! The SYN scan's reply parsers: any bytes a raw socket hands over parse or are refused without
//! panic, and a parsed TCP reply's fields come from inside the buffer.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portprobe::net::syn::{parse_icmp, parse_tcp, Answer};

fuzz_target!(|data: &[u8]| {
    if let Some(t) = parse_tcp(data) {
        assert!(data.len() >= 40);
        let _ = Answer::Tcp(t).verdict();
        let _ = t.flag_letters();
    }
    if let Some(i) = parse_icmp(data) {
        assert!(data.len() >= 56);
        let _ = Answer::Icmp(i).verdict();
    }
});
