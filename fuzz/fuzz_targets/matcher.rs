//! The matcher on arbitrary responses with the shipped database: never a panic, identities
//! without control characters.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portprobe::fingerprint::{Database, Matcher};
use std::sync::OnceLock;

fn matcher() -> &'static Matcher {
    static M: OnceLock<Matcher> = OnceLock::new();
    M.get_or_init(|| {
        let mut problems = Vec::new();
        Matcher::new(Database::from_sources(&Database::shipped_sources(), &mut problems))
    })
}

fuzz_target!(|data: &[u8]| {
    let probes = [
        "null", "http-get", "redis", "pg-startup", "dns-version", "tls-hello", "smb2", "ldap",
        "mssql-prelogin", "x11", "rfb", "mongodb",
    ];
    let probe = probes[data.first().map_or(0, |b| usize::from(*b) % probes.len())];
    if let Some(id) = matcher().identify(data, probe) {
        for field in [&id.product, &id.version, &id.info, &id.os, &id.hostname].into_iter().flatten() {
            assert!(!field.bytes().any(|b| b < 0x20), "{field:?}");
        }
    }
});
