//! Templates: parse arbitrary text, expand against arbitrary groups; output never has controls.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portprobe::fingerprint::template::Template;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (tpl, groups) = data.split_at(split);
    let Ok(t) = Template::parse(&String::from_utf8_lossy(tpl)) else { return };
    let parts: Vec<&[u8]> = groups.split(|&b| b == 1).collect();
    if let Some(out) = t.expand(|i| parts.get(i).copied()) {
        assert!(!out.bytes().any(|b| b < 0x20 || b == 0x7f), "{out:?}");
    }
});
