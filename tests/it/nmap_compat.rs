//! nmap habits on `scan` and `audit`: nmap's spellings of what portprobe does, timing
//! templates, target ranges, exclusions, service names in port lists, and one clear line for
//! the flags portprobe cannot honour.

use crate::common::*;
use std::io::Write;
use std::time::{Duration, Instant};

fn ssh_banner(mut conn: std::net::TcpStream) {
    let _ = conn.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
    std::thread::sleep(Duration::from_secs(2));
}

const SSH_ROW: [&str; 8] = [
    "open",
    "ssh",
    "syn-ack",
    "OpenSSH",
    "9.2p1",
    "Debian",
    "2+deb12u3",
    "(protocol",
];

#[test]
fn nmap_spellings_of_what_portprobe_does_are_accepted() {
    let port = serve(ssh_banner);
    let p = port.to_string();
    for extra in [
        &["-sT", "-sV", "-Pn", "-n", "--reason", "-T4", "-vv"][..],
        &[
            "-sTV",
            "--max-retries",
            "0",
            "--min-rate",
            "10",
            "--max-rate",
            "5000",
        ],
        &[
            "--host-timeout",
            "1m",
            "--scan-delay",
            "0",
            "--version-intensity",
            "3",
        ],
        &["--version-light", "-T", "aggressive"],
        &["--version-all", "--open"],
    ] {
        let mut args = vec!["scan", "127.0.0.1", "-p", &p];
        args.extend_from_slice(extra);
        let out = portprobe_expect(&args, 0);
        let got = row(&stdout(&out), port);
        assert_eq!(got[1..9], SSH_ROW, "\n{}", explain(&args, &out));
    }
    // The audit takes them too.
    let args = ["audit", "-sV", "-Pn", "-n", "-T4", "127.0.0.1", "-p", &p];
    let out = portprobe_expect(&args, 0);
    assert!(
        stdout(&out).contains(&format!(
            "{port}/tcp  ssh  OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)\n"
        )),
        "\n{}",
        explain(&args, &out)
    );
}

#[test]
fn flags_portprobe_cannot_honour_say_what_to_use_instead() {
    let cases: [(&[&str], &str); 6] = [
        (&["scan", "-sU", "127.0.0.1", "-p", "S:80"], "portprobe: invalid --ports: unknown protocol prefix 'S:': use T: for TCP or U: for UDP (U:53,161,T:22)\n"),
        (&["scan", "-sA", "127.0.0.1"], "portprobe: -sA: ACK scans need raw packets; portprobe makes full TCP connects: use -sT (the default)\n"),
        (&["scan", "-O", "127.0.0.1"], "portprobe: -O: portprobe has no TCP/IP stack OS detection: the OS a service names is shown under 'Service info' (detection is on by default)\n"),
        (&["audit", "-sC", "127.0.0.1"], "portprobe: -sC: portprobe runs no NSE scripts: use `portprobe audit` for what each service discloses\n"),
        (&["scan", "127.0.0.1", "--script=vuln"], "portprobe: --script: portprobe runs no NSE scripts: use `portprobe audit` for what each service discloses\n"),
        (&["scan", "-A", "127.0.0.1"], "portprobe: -A: use `portprobe audit` (service detection plus what each service discloses); portprobe has no OS detection or NSE scripts\n"),
    ];
    for (args, line) in cases {
        let out = portprobe_expect(args, 2);
        assert_eq!(stderr(&out), line, "\n{}", explain(args, &out));
        assert_eq!(stdout(&out), "", "\n{}", explain(args, &out));
    }
    let bad: [(&[&str], &str); 4] = [
        (&["scan", "-T6", "127.0.0.1"], "error: invalid value '6' for '--timing <LEVEL>': invalid timing template '6': use -T0 to -T5 (paranoid, sneaky, polite, normal, aggressive, insane)"),
        (&["scan", "127.0.0.1", "--min-rate", "100", "--max-rate", "10"], "portprobe: --min-rate 100 is above --max-rate 10: the scan cannot be both"),
        (&["scan", "127.0.0.1", "--exclude", "10.0.0.0/40"], "portprobe: --exclude: invalid exclusion: invalid CIDR '10.0.0.0/40': prefix length 40 is larger than 32 (allowed: /0 to /32)"),
        (&["scan", "127.0.0.1", "--version-intensity", "10"], "error: invalid value '10' for '--version-intensity <0-9>': 10 is not in 0..=9"),
    ];
    for (args, line) in bad {
        let out = portprobe_expect(args, 2);
        assert_eq!(
            stderr(&out).lines().next(),
            Some(line),
            "\n{}",
            explain(args, &out)
        );
    }
}

/// The (ip, port) of every port record.
fn probed(out: &std::process::Output) -> Vec<(String, u64)> {
    let mut got: Vec<(String, u64)> = json_lines(out)
        .iter()
        .map(|v| (v["ip"].as_str().unwrap().to_string(), v["port"].as_u64().unwrap()))
        .collect();
    got.sort();
    got
}

#[test]
fn nmap_ranges_exclusions_and_attached_target_lists() {
    if !require_namespaces("nmap_ranges") {
        return;
    }
    let snippet = r#"d=$(mktemp -d); printf '127.0.0.3\n127.0.1.0/24 # a block\n' > $d/ex; printf '127.0.0.7 127.0.0.8\n' > $d/in
        echo "== ranges"; "$PORTPROBE" scan 127.0.0.1-5 127.0.2-3.1 --exclude 127.0.0.2,127.0.0.4 -p 22 -z --json
        echo "== star"; "$PORTPROBE" scan '127.0-1.*.9' --excludefile $d/ex -p 22 -z --json | grep -c '"type":"port"'
        echo "== attached"; "$PORTPROBE" scan -iL$d/in -p 22 -z --json
        rm -rf $d"#;
    let out = shell_in("netns.sh", snippet);
    let text = stdout(&out);
    let section = |name: &str| -> String {
        let start = text
            .find(&format!("== {name}\n"))
            .unwrap_or_else(|| panic!("{text}{}", stderr(&out)));
        let rest = &text[start + name.len() + 4..];
        rest[..rest.find("== ").unwrap_or(rest.len())].to_string()
    };
    let ips = |s: &str| -> Vec<String> {
        let mut v: Vec<String> = json_records(s)
            .iter()
            .filter(|r| r["type"] == "port")
            .map(|r| r["ip"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        ips(&section("ranges")),
        ["127.0.0.1", "127.0.0.3", "127.0.0.5", "127.0.2.1", "127.0.3.1"],
        "{}",
        stderr(&out)
    );
    // 127.0-1.*.9 is 512 hosts; the exclusions take 127.0.1.9 (in the /24) out, not 127.0.0.3.
    assert_eq!(section("star"), "511\n", "{}", stderr(&out));
    assert_eq!(ips(&section("attached")), ["127.0.0.7", "127.0.0.8"]);
}

#[test]
fn service_names_and_tcp_prefix_in_port_lists() {
    if !require_namespaces("port_names") {
        return;
    }
    let out = portprobe_in(
        "netns.sh",
        &["scan", "127.0.0.1", "-p", "ssh,T:http,smtp", "-z", "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ports: Vec<u64> = probed(&out).into_iter().map(|(_, p)| p).collect();
    assert_eq!(ports, [22, 25, 80]);
    let out = portprobe_in("netns.sh", &["scan", "127.0.0.1", "-F", "-z", "--json"]);
    assert_eq!(probed(&out).len(), 100, "-F is the top 100");
    // -sU is --udp: unprefixed ports are UDP, names are looked up on the protocol asked for
    // (snmp is 161/udp); nothing listens in the namespace, so both UDP ports are closed.
    let args = [
        "scan",
        "127.0.0.1",
        "-sU",
        "-p",
        "snmp,53,T:ssh",
        "-z",
        "--json",
        "--timeout",
        "500ms",
    ];
    let out = portprobe_in("netns.sh", &args);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&args, &out));
    let mut got: Vec<String> = json_lines(&out)
        .iter()
        .map(|v| {
            format!(
                "{}/{} {}",
                v["port"],
                v["proto"].as_str().unwrap_or(""),
                v["state"].as_str().unwrap_or("")
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        ["161/udp closed", "22/tcp closed", "53/udp closed"],
        "{}",
        explain(&args, &out)
    );
}

#[test]
fn timing_templates_and_scan_delay_pace_the_connects() {
    if !require_namespaces("timing") {
        return;
    }
    // Three closed ports answer at once; only the pacing can make the scan take time.
    for (flags, at_least) in [
        (&["-T2"][..], Duration::from_millis(800)),
        (&["--scan-delay", "300ms"], Duration::from_millis(600)),
        (&["-T2", "--scan-delay", "0"], Duration::ZERO),
    ] {
        let mut args = vec!["scan", "127.0.0.1", "-p", "1-3", "-z"];
        args.extend_from_slice(flags);
        let start = Instant::now();
        let out = portprobe_in("netns.sh", &args);
        let took = start.elapsed();
        assert_eq!(out.status.code(), Some(0), "{}", explain(&args, &out));
        assert!(
            took >= at_least,
            "{flags:?} took {took:?}, expected at least {at_least:?}"
        );
        assert!(
            stdout(&out).contains("Ports: 0 open, 3 closed, 0 filtered"),
            "{}",
            explain(&args, &out)
        );
    }
}

#[test]
fn host_timeout_stops_issuing_a_hosts_ports() {
    if !require_namespaces("host_timeout") {
        return;
    }
    // One connect at a time: 137 is dropped (1 s timeout), so with a 500 ms host timeout the
    // ports after it are never issued; without it, all four are.
    let base = [
        "scan",
        "127.0.0.1",
        "-p",
        "137,139-141",
        "-z",
        "--json",
        "--concurrency",
        "1",
        "--timeout",
        "1s",
        "--max-retries",
        "0",
    ];
    let out = portprobe_in("seed.sh", &base);
    assert_eq!(probed(&out).len(), 4, "{}", stdout(&out));
    let mut args = base.to_vec();
    args.extend_from_slice(&["--host-timeout", "500ms"]);
    let out = portprobe_in("seed.sh", &args);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&args, &out));
    assert_eq!(probed(&out), [("127.0.0.1".to_string(), 137)], "{}", stdout(&out));
}
