//! Property tests (proptest) for the parsers and state machines that read hostile input:
//! target and port specs, the fingerprint loader, templates, telnet, the escaper.

use portprobe::escape::{escape_bytes, escape_for_display, for_terminal, unescape};
use portprobe::fingerprint::template::Template;
use portprobe::net::telnet::Telnet;
use portprobe::ports::PortSet;
use portprobe::target::TargetSpec;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn target_and_port_parsers_never_panic(text in ".{0,80}") {
        let _ = text.parse::<TargetSpec>();
        let _ = text.parse::<PortSet>();
    }

    #[test]
    fn port_lists_round_trip(ranges in prop::collection::vec((1u16..=65535, 0u16..50), 1..20)) {
        let mut want = std::collections::BTreeSet::new();
        let mut spec = Vec::new();
        for (start, len) in ranges {
            let end = start.saturating_add(len);
            (start..=end).for_each(|p| { want.insert(p); });
            spec.push(if start == end { start.to_string() } else { format!("{start}-{end}") });
        }
        let set: PortSet = spec.join(",").parse().unwrap();
        prop_assert_eq!(set.iter().collect::<Vec<_>>(), want.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn ip_targets_round_trip(a in any::<[u8; 4]>(), v6 in any::<[u8; 16]>(), port in 1u16..) {
        let v4 = std::net::Ipv4Addr::from(a);
        let v6 = std::net::Ipv6Addr::from(v6);
        let t: TargetSpec = format!("{v4}:{port}").parse().unwrap();
        prop_assert_eq!(t.port, Some(port));
        let t: TargetSpec = format!("[{v6}]:{port}").parse().unwrap();
        prop_assert_eq!(t.port, Some(port));
    }

    #[test]
    fn fingerprint_loader_never_panics(text in "(\\[\\[rule\\]\\]\\n|id = \"x\"\\n|service = \"s\"\\n|match = '[^'\\n]{0,20}'\\n|version = \"\\$[0-9]\"\\n|\\[\\[rule.example\\]\\]\\n|response = '[^'\\n]{0,10}'\\n|.{0,10}\\n){0,12}") {
        let mut problems = Vec::new();
        let _ = portprobe::fingerprint::load::load_file("p.toml", &text, &mut problems);
    }

    #[test]
    fn templates_expand_without_control_bytes(tpl in ".{0,40}", groups in prop::collection::vec(any::<Vec<u8>>(), 0..5)) {
        if let Ok(t) = Template::parse(&tpl) {
            if let Some(out) = t.expand(|i| groups.get(i.wrapping_sub(1)).map(|g| g.as_slice())) {
                prop_assert!(!out.bytes().any(|b| b < 0x20 || b == 0x7f));
            }
        }
    }

    #[test]
    fn telnet_is_the_same_however_the_input_is_split(data in any::<Vec<u8>>(), cut in 1usize..17) {
        let (mut d1, mut r1) = (Vec::new(), Vec::new());
        Telnet::new(true).receive(&data, &mut d1, &mut r1);
        let mut t = Telnet::new(true);
        let (mut d2, mut r2) = (Vec::new(), Vec::new());
        for chunk in data.chunks(cut) {
            t.receive(chunk, &mut d2, &mut r2);
        }
        prop_assert_eq!(&d1, &d2);
        prop_assert_eq!(&r1, &r2);
        prop_assert!(d1.len() <= data.len());
    }

    #[test]
    fn telnet_escaping_round_trips_through_the_state_machine(data in any::<Vec<u8>>()) {
        // Escaped data read back by a receiver is the data (CR NUL aside, which NVT folds).
        prop_assume!(!data.windows(2).any(|w| w == b"\r\0"));
        let mut wire = Vec::new();
        Telnet::escape_outgoing(&data, &mut wire);
        let (mut back, mut reply) = (Vec::new(), Vec::new());
        Telnet::new(false).receive(&wire, &mut back, &mut reply);
        prop_assert_eq!(back, data);
        prop_assert!(reply.is_empty());
    }

    #[test]
    fn escaper_round_trips_and_prints_only_ascii(data in any::<Vec<u8>>()) {
        let shown = escape_bytes(&data);
        prop_assert!(shown.bytes().all(|b| (0x20..0x7f).contains(&b)));
        prop_assert_eq!(unescape(&shown), Some(data));
    }

    /// The display escaper lets only printable ASCII, newline and tab through (so no control,
    /// bidi or zero-width character), and is stable: its output and escaped text pass unchanged.
    #[test]
    fn display_escaper_prints_only_safe_bytes(data in any::<Vec<u8>>(), text in "\\PC{0,40}[\u{200b}-\u{200f}\u{202a}-\u{202e}\u{2066}-\u{2069}\u{80}-\u{9f}]") {
        let shown = escape_for_display(&data);
        prop_assert!(shown.iter().all(|&b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\t'));
        prop_assert_eq!(escape_for_display(&shown), shown);
        let once = escape_bytes(&data);
        prop_assert_eq!(for_terminal(&once), once);
        let line = for_terminal(&text);
        prop_assert!(line.bytes().all(|b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\t'), "{:?}", line);
    }
}

/// Found by `cargo fuzz run telnet` (tests/regressions/): a stream toggling options made the
/// replies grow with the input. Now every option is answered a bounded number of times.
#[test]
fn regression_telnet_option_toggle_flood() {
    let input = include_bytes!("../regressions/telnet-option-toggle-flood.bin");
    let rest = &input[1..]; // the fuzz target used the first byte as the chunk size
    let (mut data, mut reply) = (Vec::new(), Vec::new());
    Telnet::new(true).receive(rest, &mut data, &mut reply);
    // The answers this input can earn: 4 per option it names. Unbounded, it earned 798 bytes.
    let options: std::collections::HashSet<u8> = rest
        .windows(3)
        .filter(|w| w[0] == 0xff && (0xfb..=0xfe).contains(&w[1]))
        .map(|w| w[2])
        .collect();
    assert!(
        reply.len() <= options.len() * 4 * 3,
        "{} reply bytes for {} options",
        reply.len(),
        options.len()
    );
    let mut t = Telnet::new(true);
    let (mut d2, mut r2) = (Vec::new(), Vec::new());
    for chunk in rest.chunks(usize::from(input[0]).max(1)) {
        t.receive(chunk, &mut d2, &mut r2);
    }
    assert_eq!((data, reply), (d2, r2));
}

/// Real answers (captured from Debian daemons) the binary decoders are mutated from.
const CAPTURES: [&[u8]; 10] = [
    include_bytes!("../../src/fingerprint/binary/testdata/smbd-4.17-negotiate-session-setup.bin"),
    include_bytes!("../../src/fingerprint/binary/testdata/slapd-2.5.13-root-dse.bin"),
    include_bytes!("../../src/fingerprint/binary/testdata/xvfb-21.1.7-setup-reply.bin"),
    include_bytes!("../../src/fingerprint/binary/testdata/x11vnc-0.9.16-rfb.bin"),
    include_bytes!("../../src/fingerprint/binary/testdata/xrdp-0.9.21-connection-confirm.bin"),
    include_bytes!("../../src/fingerprint/binary/testdata/krb5kdc-1.20-as-req-error.bin"),
    include_bytes!("../../src/fingerprint/binary/testdata/named-9.18-version-bind-server.bin"),
    include_bytes!("../../src/fingerprint/binary/testdata/named-9.18-version-none.bin"),
    include_bytes!("../../src/fingerprint/binary/testdata/unbound-1.17-version-bind-server.bin"),
    include_bytes!("../../src/fingerprint/binary/testdata/samba-dcerpcd-4.17-epm-bind-ack.bin"),
];

fn decoded_fields_are_bounded(bytes: &[u8]) {
    use portprobe::fingerprint::binary::MAX_VALUE;
    let d = portprobe::fingerprint::decode::decode(bytes);
    for (name, value) in d.fields() {
        assert!(portprobe::fingerprint::decode::is_known_field(&name) || name.starts_with("http.header."));
        if !name.starts_with("http.") && !name.starts_with("greeting.") {
            assert!(value.len() <= MAX_VALUE, "{name}: {} bytes", value.len());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn binary_decoders_never_panic_on_mutated_answers(
        which in 0usize..CAPTURES.len(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = CAPTURES[which].to_vec();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let end = cut.index(bytes.len() + 1);
        decoded_fields_are_bounded(&bytes[..end]);
    }

    #[test]
    fn binary_decoders_never_panic_after_their_magic(
        magic in 0usize..12,
        tail in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let heads: [&[u8]; 12] = [
            b"\0\0\x01\0\xfeSMB@\0",
            b"\x04\x01\x02\x00\0\0\x01\0",
            b"0\x82\x01\x00\x02\x01\x01d",
            b"RFB 003.008\n",
            b"\x01\0\x0b\0\0\0\x10\0",
            b"\x00\x01\0\0PP\0\0PP\0\0\xdd\x07\0\0",
            b"\x40\0\0\0\x0a",
            b"\x03\0\0\x13\x0e\xd0\0\0\x12\x34\0",
            b"\0\0\0\x78\x7e\x76\x30\x74",
            b"\x01\x00PP\x84\0\0\x01\0\x01\0\x01\0\0",
            b"\x05\0\x0c\x03\x10\0\0\0\x00\x01\0\0",
            b"\x01\x00\0\0\x04\0\0\0",
        ];
        let mut bytes = heads[magic].to_vec();
        bytes.extend(tail);
        decoded_fields_are_bounded(&bytes);
    }
}
