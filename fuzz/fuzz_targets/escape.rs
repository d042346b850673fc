//! The escapers: printable output, unescape(escape(x)) == x, and the display escaper lets only
//! printable ASCII, newline and tab through and leaves its own output unchanged.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portprobe::escape::{escape_bytes, escape_for_display, unescape};

fuzz_target!(|data: &[u8]| {
    let shown = escape_bytes(data);
    assert!(shown.bytes().all(|b| (0x20..0x7f).contains(&b)));
    assert_eq!(unescape(&shown).as_deref(), Some(data));
    let _ = unescape(&String::from_utf8_lossy(data));
    let display = escape_for_display(data);
    assert!(display
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\t'));
    assert_eq!(escape_for_display(&display), display);
});
