//! The escaper: printable output, and unescape(escape(x)) == x.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portprobe::escape::{escape_bytes, unescape};

fuzz_target!(|data: &[u8]| {
    let shown = escape_bytes(data);
    assert!(shown.bytes().all(|b| (0x20..0x7f).contains(&b)));
    assert_eq!(unescape(&shown).as_deref(), Some(data));
    let _ = unescape(&String::from_utf8_lossy(data));
});
