//! The fingerprint file loader on arbitrary text: problems, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut problems = Vec::new();
    let _ = portprobe::fingerprint::load::load_file("fuzz.toml", &text, &mut problems);
});
