//! Target and port specifications from arbitrary text: never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portprobe::ports::PortSet;
use portprobe::target::TargetSpec;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = text.parse::<TargetSpec>();
    if let Ok(set) = text.parse::<PortSet>() {
        assert!(set.iter().all(|p| p >= 1));
    }
});
