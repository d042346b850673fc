//! The telnet state machine on arbitrary bytes in arbitrary chunks: bounded replies, no panic,
//! and the same result however the input is split.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portprobe::net::telnet::Telnet;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else { return };
    let (mut d1, mut r1) = (Vec::new(), Vec::new());
    Telnet::new(true).receive(rest, &mut d1, &mut r1);
    let mut t = Telnet::new(true);
    let (mut d2, mut r2) = (Vec::new(), Vec::new());
    for chunk in rest.chunks(usize::from(cut).max(1)) {
        t.receive(chunk, &mut d2, &mut r2);
    }
    assert_eq!(d1, d2);
    assert_eq!(r1, r2);
    let most = 256 * usize::from(portprobe::net::telnet::MAX_ANSWERS_PER_OPTION) * 3;
    assert!(r1.len() <= most, "a bounded number of answers per option");
    assert!(d1.len() <= rest.len());
});
