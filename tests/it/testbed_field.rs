//! Real radio, media and field-bus daemons (tests/testbed/field.sh: VLC's telnet and web
//! interfaces, Hamlib's rigctld and rotctld, OWFS, Argus, Liquidsoap, Dire Wolf, PulseAudio,
//! a Buildbot master, knxd, Graphite carbon) in a namespace
//! of their own: one scan must name each with the service, product and version it discloses.
//! Expected versions come from the installed packages (dpkg).

use crate::common::*;
use std::process::{Command, Stdio};

/// The programs of the bed, for the skip message.
const FIELD_BED_PROGRAMS: &[&str] = &[
    "/usr/bin/cvlc",
    "/usr/lib/x86_64-linux-gnu/vlc/lua/intf/telnet.luac",
    "/usr/bin/rigctld",
    "/usr/bin/rotctld",
    "/usr/bin/owserver",
    "/usr/bin/owhttpd",
    "/usr/sbin/argus",
    "/usr/bin/liquidsoap",
    "/usr/bin/direwolf",
    "/usr/bin/pulseaudio",
    "/usr/bin/buildbot",
    "/usr/bin/twistd3",
    "/usr/bin/knxd",
    "/usr/bin/carbon-cache",
];

/// The bed's ports.
const TCP: &[u16] = &[
    561, 1234, 2003, 2004, 2121, 4212, 4304, 4532, 4533, 4713, 6720, 7002, 8000, 8001, 8080, 9989,
];

fn require_field_bed(test: &str) -> bool {
    require_bed_programs(test, FIELD_BED_PROGRAMS)
}

/// Starts the field bed in a namespace of its own and runs `portprobe ARGS` there.
fn field_bed(args: &[&str]) -> std::process::Output {
    Command::new("unshare")
        .arg("-n")
        .arg(testbed("field.sh"))
        .arg(bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run unshare")
}

/// Every identity field the bed's daemons must show, as the installed packages say.
fn expectations() -> Vec<Want> {
    let mut w = Vec::new();
    let mut named = |port: u64, name: &str, product: &str| {
        w.push(want(port, "name", name));
        w.push(want(port, "product", product));
    };
    named(561, "argus", "Argus");
    named(1234, "liquidsoap", "Liquidsoap");
    named(2121, "http", "OWFS owhttpd");
    named(4212, "vlc-telnet", "VLC media player");
    named(4304, "owserver", "OWFS owserver");
    named(4532, "rigctld", "Hamlib rigctld");
    named(4533, "rotctld", "Hamlib rotctld");
    named(8000, "agwpe", "Dire Wolf");
    named(8001, "kiss", "Dire Wolf");
    named(8080, "http", "VLC media player");
    named(4713, "pulseaudio", "PulseAudio");
    named(9989, "twisted-pb", "Twisted Perspective Broker");
    named(6720, "knxd", "knxd");
    named(7002, "carbon-cache", "Graphite carbon-cache");
    w.extend([
        want(561, "version", major_minor(&upstream("argus-server"))),
        want(1234, "version", upstream("liquidsoap")),
        want(4212, "version", upstream("vlc-bin")),
        want(4212, "info", "telnet interface"),
        want(4304, "info", "1-Wire"),
        want(4532, "info", "rig: Hamlib Dummy"),
        want(4533, "info", "rotator: Hamlib Dummy"),
        want(8000, "info", "AGWPE-compatible packet engine"),
        want(8001, "info", "KISS TNC"),
        want(8080, "info", "web interface"),
        want(4713, "info", "native protocol"),
    ]);
    w
}

#[test]
fn one_scan_names_every_field_daemon_and_its_version() {
    if !require_field_bed("testbed_field") {
        return;
    }
    let ports: Vec<String> = TCP.iter().map(u16::to_string).collect();
    let out = field_bed(&["scan", "127.0.0.1", "-p", &ports.join(","), "--json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let got = by_port(&out);
    let mut m = mismatches(&got, &expectations());
    for port in TCP {
        match got.get(&u64::from(*port)) {
            Some(v) if v["state"] == "open" => {}
            other => m.push(format!("{port}/tcp: not open: {other:?}")),
        }
    }
    assert!(m.is_empty(), "{} mismatch(es):\n{}", m.len(), m.join("\n"));
}

#[test]
fn table_rows_of_field_daemons_read_like_nmap() {
    if !require_field_bed("testbed_field_table") {
        return;
    }
    let out = field_bed(&["scan", "127.0.0.1", "-p", "561,1234,4532,8000"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let lines: Vec<&str> = text.lines().collect();
    for want in [
        format!(
            "561/tcp   open      argus            syn-ack         Argus {} (network flow monitor)",
            major_minor(&upstream("argus-server"))
        ),
        format!(
            "1234/tcp  open      liquidsoap       syn-ack         Liquidsoap {} (telnet server)",
            upstream("liquidsoap")
        ),
        "4532/tcp  open      rigctld          syn-ack         Hamlib rigctld (rig: Hamlib Dummy)".to_string(),
        "8000/tcp  open      agwpe            syn-ack         Dire Wolf (AGWPE-compatible packet engine)"
            .to_string(),
    ] {
        assert!(
            lines.contains(&want.as_str()),
            "missing line {want:?} in:\n{text}"
        );
    }
}
