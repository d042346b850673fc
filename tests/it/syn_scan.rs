//! Raw SYN probes (issue 19, part 1): `scan --syn` / `-sS` and `ping --syn` in the seed
//! scenario's namespace (22 open, 111 closed, 137 dropped, 138 rejected with ICMP
//! admin-prohibited); the namespace grants CAP_NET_RAW. Without it: one line naming the fix.

use crate::common::*;
use std::collections::HashMap;

const PORTS: &str = "22,111,137,138";

#[test]
fn syn_scan_gives_exact_reasons() {
    if !require_namespaces("syn_scan_gives_exact_reasons") {
        return;
    }
    // -sS is nmap's spelling of --syn.
    let args = [
        "scan",
        "127.0.0.1",
        "-p",
        PORTS,
        "-z",
        "-sS",
        "--timeout",
        "500ms",
    ];
    let out = portprobe_in("seed.sh", &args);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&args, &out));
    assert_eq!(row(&text, 22), ["22/tcp", "open", "ssh", "syn-ack"]);
    assert_eq!(row(&text, 111), ["111/tcp", "closed", "rpcbind", "reset"]);
    assert_eq!(
        row(&text, 137),
        ["137/tcp", "filtered", "netbios-ns", "no-response"]
    );
    // A connect scan cannot tell this ICMP code from host-unreach; a raw socket reads it.
    assert_eq!(
        row(&text, 138),
        ["138/tcp", "filtered", "netbios-dgm", "admin-prohibited"]
    );
    assert!(
        text.contains("Ports: 1 open, 1 closed, 2 filtered (stealth: 1 no-response, 1 admin-prohibited)"),
        "{text}"
    );
}

#[test]
fn syn_scan_json_carries_ttl_and_window_of_the_syn_ack() {
    if !require_namespaces("syn_scan_json") {
        return;
    }
    let args = [
        "scan",
        "127.0.0.1",
        "-p",
        PORTS,
        "-z",
        "--syn",
        "--json",
        "--timeout",
        "500ms",
    ];
    let out = portprobe_in("seed.sh", &args);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&args, &out));
    let lines = json_lines(&out);
    let by_port: HashMap<u64, &serde_json::Value> =
        lines.iter().map(|v| (v["port"].as_u64().unwrap(), v)).collect();
    assert_eq!(by_port.len(), 4, "{lines:?}");
    let open = by_port[&22];
    assert_eq!(
        (open["state"].as_str(), open["reason"].as_str()),
        (Some("open"), Some("syn-ack"))
    );
    // Linux answers with its default TTL and loopback's window (MSS-sized, never 0).
    assert_eq!(open["syn"]["ttl"], 64, "{open}");
    assert!(open["syn"]["win"].as_u64().is_some_and(|w| w > 0), "{open}");
    for (port, state, reason) in [
        (111, "closed", "reset"),
        (137, "filtered", "no-response"),
        (138, "filtered", "admin-prohibited"),
    ] {
        let v = by_port[&port];
        assert_eq!(
            (v["state"].as_str(), v["reason"].as_str()),
            (Some(state), Some(reason)),
            "{v}"
        );
        assert!(v.get("syn").is_none(), "only a SYN-ACK has syn facts: {v}");
    }
}

#[test]
fn syn_scan_detects_the_service_of_an_open_port() {
    if !require_namespaces("syn_scan_detects") {
        return;
    }
    // An open port found by SYN gets a connect for detection.
    let out = shell_in(
        "seed.sh",
        "ncat -lk 127.0.0.1 2222 --sh-exec 'printf \"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\\r\\n\"; sleep 2' \
         </dev/null >/dev/null 2>&1 & \
         for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/2222) 2>/dev/null && break; sleep 0.05; done; \
         \"$PORTPROBE\" scan 127.0.0.1 -p 2222,111 --syn --json --timeout 500ms",
    );
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    let lines = json_lines(&out);
    let open = lines.iter().find(|v| v["port"] == 2222).expect("2222 reported");
    assert_eq!(open["reason"], "syn-ack", "{open}");
    assert_eq!(open["service"]["name"], "ssh", "{open}");
    assert_eq!(open["service"]["product"], "OpenSSH", "{open}");
    assert_eq!(open["service"]["version"], "9.2p1", "{open}");
    let closed = lines.iter().find(|v| v["port"] == 111).expect("111 reported");
    assert_eq!(closed["reason"], "reset", "{closed}");
}

/// The words of a `ping --syn` reply line as `key=value` pairs (flags, ttl …).
fn fields(line: &str) -> HashMap<String, String> {
    line.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn syn_ping_prints_flags_ttl_window_id_and_statistics() {
    if !require_namespaces("syn_ping") {
        return;
    }
    let args = [
        "ping",
        "--syn",
        "127.0.0.1",
        "-p",
        "22",
        "-p",
        "111",
        "-p",
        "137",
        "-p",
        "138",
        "-c",
        "2",
        "--interval",
        "50ms",
        "--timeout",
        "300ms",
    ];
    let out = portprobe_in("seed.sh", &args);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&args, &out));
    let replies: Vec<HashMap<String, String>> = text
        .lines()
        .filter(|l| l.starts_with("len="))
        .map(fields)
        .collect();
    assert_eq!(replies.len(), 4, "two rounds of 22 and 111:\n{text}");
    for r in &replies {
        let flags = if r["sport"] == "22" { "SA" } else { "RA" };
        assert_eq!(r["flags"], flags, "{r:?}");
        assert_eq!(r["ip"], "127.0.0.1");
        assert_eq!(r["ttl"], "64");
        assert!(
            r["id"].parse::<u16>().is_ok() && r["win"].parse::<u16>().is_ok(),
            "{r:?}"
        );
        assert!(r["rtt"].parse::<f64>().is_ok_and(|v| v >= 0.0), "{r:?}");
    }
    for seq in 0..2 {
        assert!(
            text.lines()
                .any(|l| l == format!("no reply from ip=127.0.0.1 port=137 seq={seq} within 0.30 s")),
            "{text}"
        );
        let icmp = text
            .lines()
            .find(|l| {
                l.starts_with("ICMP admin-prohibited from ip=127.0.0.1 ")
                    && l.contains(&format!(" seq={seq} "))
            })
            .unwrap_or_else(|| panic!("no ICMP line for seq {seq}:\n{text}"));
        assert_eq!(fields(icmp)["port"], "138");
    }
    for (port, received, loss) in [
        (22, 2, "0.0"),
        (111, 2, "0.0"),
        (137, 0, "100.0"),
        (138, 2, "0.0"),
    ] {
        let head = format!("--- 127.0.0.1 port {port} SYN ping statistics ---");
        let at = text
            .lines()
            .position(|l| l == head)
            .unwrap_or_else(|| panic!("{head}\n{text}"));
        let stats: Vec<&str> = text.lines().skip(at + 1).take(2).collect();
        assert_eq!(
            stats[0],
            format!("2 packets transmitted, {received} packets received, {loss}% packet loss")
        );
        if received == 0 {
            assert_eq!(stats[1], "round-trip min/avg/max = -/-/- (no reply)");
        } else {
            assert!(stats[1].starts_with("round-trip min/avg/max = "), "{}", stats[1]);
        }
    }
}

#[test]
fn without_raw_sockets_syn_says_how_to_get_them() {
    // As root the bounding set loses CAP_NET_RAW (so the binary runs without it); otherwise an
    // unprivileged user has no CAP_NET_RAW in this namespace anyway.
    let root = unsafe { libc::geteuid() } == 0;
    for args in [
        vec!["scan", "127.0.0.1", "-p", "22", "--syn"],
        vec!["ping", "127.0.0.1", "-p", "22", "--syn", "-c", "1"],
    ] {
        let out = if root {
            std::process::Command::new("setpriv")
                .args(["--bounding-set", "-net_raw", "--inh-caps", "-net_raw", "--"])
                .arg(bin())
                .args(&args)
                .stdin(std::process::Stdio::null())
                .output()
                .expect("run setpriv")
        } else {
            portprobe(&args)
        };
        assert_eq!(out.status.code(), Some(2), "{}", explain(&args, &out));
        assert_eq!(
            stderr(&out),
            format!(
                "portprobe: --syn needs raw sockets (CAP_NET_RAW): run it as root, or grant the capability once: \
                 sudo setcap cap_net_raw+ep {}\n",
                std::fs::canonicalize(bin()).unwrap().display()
            )
        );
        assert_eq!(stdout(&out), "", "nothing is printed before the error");
    }
}

#[test]
fn syn_refuses_ipv6_before_sending_anything() {
    for args in [
        vec!["scan", "::1", "-p", "22", "--syn"],
        vec!["ping", "::1", "-p", "22", "--syn", "-c", "1"],
    ] {
        let out = portprobe(&args);
        assert_eq!(out.status.code(), Some(2), "{}", explain(&args, &out));
        assert_eq!(
            stderr(&out),
            "portprobe: ::1: --syn probes IPv4 only for now; scan IPv6 targets without --syn\n"
        );
    }
}
