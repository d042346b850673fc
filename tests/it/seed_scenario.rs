//! The seed scenario (issue: foundation): in a namespace of its own, 22 open, 111 closed,
//! 137 stealth (dropped) and 138 filtered by ICMP; `scan` and `ping` must say so.

use crate::common::*;
use std::collections::HashMap;

const PORTS: &str = "22,111,137,138";

#[test]
fn scan_table_reports_each_state_with_its_reason() {
    if !require_namespaces("scan_table") {
        return;
    }
    let out = portprobe_in(
        "seed.sh",
        &["scan", "127.0.0.1", "-p", PORTS, "-z", "--timeout", "500ms"],
    );
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{text}\nstderr:\n{}",
        stderr(&out)
    );
    assert!(
        text.contains("PORT      STATE     SERVICE          REASON"),
        "{text}"
    );
    assert_eq!(
        table_row(&text, 22).unwrap(),
        ["22/tcp", "open", "ssh", "syn-ack"]
    );
    assert_eq!(
        table_row(&text, 111).unwrap(),
        ["111/tcp", "closed", "rpcbind", "conn-refused"]
    );
    assert_eq!(
        table_row(&text, 137).unwrap(),
        ["137/tcp", "filtered", "netbios-ns", "no-response"]
    );
    let row138 = table_row(&text, 138).unwrap();
    assert_eq!(&row138[..3], ["138/tcp", "filtered", "netbios-dgm"]);
    assert!(
        ["admin-prohibited", "host-unreach"].contains(&row138[3].as_str()),
        "{row138:?}"
    );
    assert!(
        text.contains("Ports: 1 open, 1 closed, 2 filtered (stealth:"),
        "{text}"
    );
    assert!(text.contains("Done: 1 host, 4 ports in"), "{text}");
    assert!(text.contains("stealth"), "the summary explains stealth ports");
}

#[test]
fn scan_json_reports_each_state_with_its_reason() {
    if !require_namespaces("scan_json") {
        return;
    }
    let out = portprobe_in(
        "seed.sh",
        &[
            "scan",
            "127.0.0.1",
            "-p",
            PORTS,
            "-z",
            "--json",
            "--timeout",
            "500ms",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 4, "one object per probed port");
    let by_port: HashMap<u64, &serde_json::Value> =
        lines.iter().map(|v| (v["port"].as_u64().unwrap(), v)).collect();
    let pair = |p: u64| {
        let v = by_port[&p];
        assert_eq!(v["host"], "127.0.0.1");
        assert_eq!(v["ip"], "127.0.0.1");
        assert_eq!(v["proto"], "tcp");
        (
            v["state"].as_str().unwrap().to_string(),
            v["reason"].as_str().unwrap().to_string(),
        )
    };
    assert_eq!(pair(22), ("open".into(), "syn-ack".into()));
    assert_eq!(pair(111), ("closed".into(), "conn-refused".into()));
    assert_eq!(pair(137), ("filtered".into(), "no-response".into()));
    let (state, reason) = pair(138);
    assert_eq!(state, "filtered");
    assert!(
        reason == "admin-prohibited" || reason == "host-unreach",
        "{reason}"
    );
    assert!(by_port[&22]["rtt_ms"].as_f64().unwrap() >= 0.0);
    assert!(
        by_port[&137].get("rtt_ms").is_none(),
        "no round trip for a dropped SYN"
    );
    assert_eq!(by_port[&22]["service"]["name"], "ssh");
    assert_eq!(by_port[&22]["service"]["confidence"], "port-table");
}

#[test]
fn ping_open_port_connects_every_time() {
    if !require_namespaces("ping_open") {
        return;
    }
    let out = portprobe_in(
        "seed.sh",
        &["ping", "127.0.0.1", "-p", "22", "-c", "3", "--interval", "50ms"],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(text.matches("connected  time=").count(), 3, "{text}");
    assert!(
        text.contains("3 attempts, 3 successful, 0 failed (0.0%)"),
        "{text}"
    );
    assert!(text.contains("rtt min/avg/max = "), "{text}");
}

#[test]
fn ping_stealth_port_times_out_every_time_and_exits_1() {
    if !require_namespaces("ping_stealth") {
        return;
    }
    let args = [
        "ping",
        "127.0.0.1",
        "-p",
        "137",
        "-c",
        "2",
        "--interval",
        "50ms",
        "--timeout",
        "300ms",
    ];
    let out = portprobe_in("seed.sh", &args);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert_eq!(
        text.matches("timed out after 0.30 s (no-response)").count(),
        2,
        "{text}"
    );
    assert!(
        text.contains("2 attempts, 0 successful, 2 failed (100.0%)"),
        "{text}"
    );
}

#[test]
fn ping_closed_and_icmp_filtered_ports_fail_with_their_reason() {
    if !require_namespaces("ping_closed") {
        return;
    }
    let args = [
        "ping",
        "127.0.0.1",
        "-p",
        "111",
        "-p",
        "138",
        "-c",
        "2",
        "--interval",
        "50ms",
        "--json",
    ];
    let out = portprobe_in("seed.sh", &args);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let lines = json_lines(&out);
    let attempts: Vec<_> = lines.iter().filter(|v| v["type"] == "attempt").collect();
    assert_eq!(attempts.len(), 4);
    for a in attempts {
        match a["port"].as_u64().unwrap() {
            111 => assert_eq!(
                (a["result"].as_str(), a["reason"].as_str()),
                (Some("refused"), Some("conn-refused"))
            ),
            138 => assert_eq!(a["result"], "filtered"),
            p => panic!("unexpected port {p}"),
        }
    }
    let stats: Vec<_> = lines.iter().filter(|v| v["type"] == "stats").collect();
    assert_eq!(stats.len(), 2);
    assert!(stats.iter().all(|s| s["successful"] == 0 && s["failed"] == 2));
}

#[test]
fn ephemeral_range_scan_never_reports_self_connects_open() {
    if !require_namespaces("self_connect") {
        return;
    }
    // No listener in this namespace: every port must be closed, including the ephemeral range
    // where a loopback connect can connect to itself.
    let out = portprobe_in(
        "netns.sh",
        &["scan", "127.0.0.1", "-p", "1-65535", "--json", "--open"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        json_lines(&out).len(),
        0,
        "no port may be reported open: {}",
        stdout(&out)
    );
    let out = portprobe_in("netns.sh", &["scan", "127.0.0.1", "-p", "32768-60999"]);
    assert!(
        stdout(&out).contains("Ports: 0 open, 28232 closed, 0 filtered"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn target_forms_expand_as_documented() {
    if !require_namespaces("target_forms") {
        return;
    }
    // CIDR, host:port overriding -p, a name, and a target list with comments read from stdin;
    // then [v6]:port (not with -4, which refuses an IPv6 literal).
    let snippet = r#"printf '# comment\n127.0.0.9\n\n127.0.0.10:111 # note\n' |
        "$PORTPROBE" scan 127.0.0.0/30 localhost:22 - -p 22 -z --json -4 &&
        "$PORTPROBE" scan [::1]:111 -p 22 -z --json"#;
    let out = shell_in("seed.sh", snippet);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let got: Vec<(String, String, u64, String)> = json_lines(&out)
        .iter()
        .map(|v| {
            (
                v["host"].as_str().unwrap().into(),
                v["ip"].as_str().unwrap().into(),
                v["port"].as_u64().unwrap(),
                v["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    let has = |host: &str, ip: &str, port: u64, state: &str| {
        got.contains(&(host.into(), ip.into(), port, state.into()))
    };
    for i in 0..4 {
        let ip = format!("127.0.0.{i}");
        assert!(has(&ip, &ip, 22, "open"), "{ip} from the CIDR: {got:?}");
    }
    assert!(has("localhost", "127.0.0.1", 22, "open"), "{got:?}");
    assert!(has("::1", "::1", 111, "closed"), "{got:?}");
    assert!(has("127.0.0.9", "127.0.0.9", 22, "open"), "{got:?}");
    assert!(has("127.0.0.10", "127.0.0.10", 111, "closed"), "{got:?}");
    assert_eq!(got.len(), 8, "{got:?}");
}

#[test]
fn open_only_and_verbose_listing() {
    if !require_namespaces("open_only") {
        return;
    }
    let out = portprobe_in(
        "seed.sh",
        &[
            "scan",
            "127.0.0.1",
            "-p",
            "20-200",
            "--open",
            "--timeout",
            "300ms",
        ],
    );
    let text = stdout(&out);
    assert!(table_row(&text, 22).is_some(), "{text}");
    assert!(
        table_row(&text, 111).is_none(),
        "--open hides closed ports: {text}"
    );
    // Many closed ports are summarised unless -v.
    let out = portprobe_in(
        "seed.sh",
        &["scan", "127.0.0.1", "-z", "-p", "20-200", "--timeout", "300ms"],
    );
    let text = stdout(&out);
    assert!(
        text.contains("Not shown: 178 closed (178 conn-refused)"),
        "{text}"
    );
    assert!(
        table_row(&text, 137).is_some(),
        "few filtered ports are listed: {text}"
    );
    let out = portprobe_in(
        "seed.sh",
        &[
            "scan",
            "127.0.0.1",
            "-z",
            "-p",
            "20-200",
            "-v",
            "--timeout",
            "300ms",
        ],
    );
    assert_eq!(table_row(&stdout(&out), 111).unwrap()[1], "closed");
}

#[test]
fn interrupt_prints_what_is_known_and_exits_130() {
    if !require_namespaces("interrupt") {
        return;
    }
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let snippet = format!(
            r#""$PORTPROBE" scan 127.0.0.1 -z -p 22,111,137 --timeout 20s --retries 0 & pid=$!
               sleep 0.7; kill -{signal} $pid; wait $pid"#
        );
        let out = shell_in("seed.sh", &snippet);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(code), "{signal}: {text}");
        assert_eq!(table_row(&text, 22).unwrap()[1], "open", "{text}");
        assert_eq!(table_row(&text, 111).unwrap()[1], "closed", "{text}");
        assert!(table_row(&text, 137).is_none(), "{text}");
        assert!(text.contains("(interrupted"), "{text}");
        assert!(text.contains("Done: 1 host, 2 ports in"), "{text}");
    }
}

#[test]
fn interrupted_json_lines_are_complete() {
    if !require_namespaces("interrupt_json") {
        return;
    }
    let snippet = r#""$PORTPROBE" scan 127.0.0.1 -z -p 1-300 --json --timeout 20s --retries 0 & pid=$!
        sleep 0.7; kill -INT $pid; wait $pid"#;
    let out = shell_in("seed.sh", snippet);
    assert_eq!(out.status.code(), Some(130));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 299, "all but the stealth port were known");
}
