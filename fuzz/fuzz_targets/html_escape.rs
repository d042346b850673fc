//! The HTML report's escaper: no markup characters or control characters survive.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portprobe::report::html::escape_html;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let out = escape_html(&text);
    assert!(!out.contains(['<', '>', '"', '\'']));
    assert!(!out.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
});
