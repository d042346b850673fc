//! `portprobe port`: the port knowledge base (what a port usually is, what exposing it means,
//! how to secure it), its coverage of the ranked port lists, and `--top-ports` up to the list's
//! length.

use crate::common::{json_lines, portprobe, portprobe_expect, stderr, stdout};

/// The ranked ports as the data file lists them, read here independently of portprobe's parser.
fn ranked(file: &str) -> Vec<u16> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fingerprints")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| {
            l.split_whitespace()
                .map(|w| w.parse::<u16>().expect("port number"))
        })
        .collect()
}

fn rank_line(port: u16) -> String {
    let (tcp, udp) = (ranked("top-ports.txt"), ranked("top-ports-udp.txt"));
    let mut parts = Vec::new();
    if let Some(i) = tcp.iter().position(|&p| p == port) {
        parts.push(format!("{} of {} TCP", i + 1, tcp.len()));
    }
    if let Some(i) = udp.iter().position(|&p| p == port) {
        parts.push(format!("{} of {} UDP", i + 1, udp.len()));
    }
    format!("  rank      {}", parts.join("; "))
}

#[test]
fn rpcbind_block_reads_whole() {
    let out = portprobe_expect(&["port", "111"], 0);
    let expected = [
        "111/tcp 111/udp rpcbind (also called sunrpc, portmapper, portmap)",
        "  service   ONC RPC port mapper (rpcbind): tells clients on which port an RPC program such as",
        "            NFS mountd, NIS or rpc.statd listens.",
        "  exposure  Anyone can list the RPC services of the host (rpcinfo -p), which reveals NFS, NIS",
        "            and other daemons; it was abused for DDoS amplification over UDP and is a step",
        "            towards unauthenticated NFS access.",
        "  securing  If the host does not serve NFS or NIS, stop and disable rpcbind. Otherwise firewall",
        "            111 (TCP and UDP) to the clients that need it, and block it at the network edge.",
        "  see       RFC 1833, RFC 5531",
    ];
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(&lines[..expected.len()], &expected[..], "{text}");
    assert_eq!(lines[expected.len()], rank_line(111), "{text}");
    assert_eq!(lines.len(), expected.len() + 1, "{text}");
    assert_eq!(stderr(&out), "");
}

#[test]
fn a_name_finds_the_same_entry_as_the_number() {
    let by_number = portprobe_expect(&["port", "22"], 0);
    for name in ["ssh", "SSH", "secure-shell", "ssh/tcp"] {
        let by_name = portprobe_expect(&["port", name], 0);
        assert_eq!(stdout(&by_name), stdout(&by_number), "port {name}");
    }
    assert_eq!(
        stdout(&by_number).lines().next(),
        Some("22/tcp ssh (also called secure-shell)")
    );
}

#[test]
fn several_ports_give_blocks_in_order() {
    let out = portprobe_expect(&["port", "22", "23", "445"], 0);
    let text = stdout(&out);
    let blocks: Vec<&str> = text.split("\n\n").collect();
    assert_eq!(blocks.len(), 3, "{text}");
    let heads: Vec<&str> = blocks.iter().map(|b| b.lines().next().unwrap_or("")).collect();
    assert_eq!(
        heads,
        [
            "22/tcp ssh (also called secure-shell)",
            "23/tcp telnet",
            "445/tcp microsoft-ds (also called smb, cifs)"
        ]
    );
    let telnet: Vec<&str> = blocks[1].lines().collect();
    assert_eq!(
        telnet[1],
        "  service   Telnet: interactive remote terminal sessions without encryption."
    );
    assert_eq!(telnet[telnet.len() - 2], "  see       RFC 854, RFC 855");
}

#[test]
fn protocols_select_entries() {
    // 514 is rsh on TCP and syslog on UDP: two entries.
    let both = portprobe_expect(&["port", "514"], 0);
    let heads: Vec<String> = stdout(&both)
        .split("\n\n")
        .map(|b| b.lines().next().unwrap_or("").to_string())
        .collect();
    assert_eq!(heads, ["514/tcp shell", "514/udp syslog"]);
    for args in [
        &["port", "514", "--udp"][..],
        &["port", "514/udp"],
        &["port", "syslog"],
    ] {
        let out = portprobe_expect(args, 0);
        assert_eq!(stdout(&out).lines().next(), Some("514/udp syslog"), "{args:?}");
    }
    let out = portprobe_expect(&["port", "514", "--tcp"], 0);
    assert_eq!(stdout(&out).lines().next(), Some("514/tcp shell"));
    let out = portprobe_expect(&["port", "53", "--udp"], 0);
    assert_eq!(
        stdout(&out).lines().next(),
        Some("53/tcp 53/udp domain (also called dns)")
    );
}

#[test]
fn unknown_ports_are_a_negative_answer() {
    let out = portprobe_expect(&["port", "4"], 1);
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "portprobe: port 4: not in the port knowledge base\n"
    );
    let out = portprobe_expect(&["port", "22", "--udp"], 1);
    assert_eq!(
        stderr(&out),
        "portprobe: 22/udp: not in the port knowledge base\n"
    );
    let out = portprobe_expect(&["port", "ssh/udp"], 1);
    assert_eq!(
        stderr(&out),
        "portprobe: ssh/udp: not in the port knowledge base\n"
    );
    // Known ones are still answered.
    let out = portprobe_expect(&["port", "23", "4"], 1);
    assert_eq!(stdout(&out).lines().next(), Some("23/tcp telnet"));
    assert_eq!(
        stderr(&out),
        "portprobe: port 4: not in the port knowledge base\n"
    );
}

#[test]
fn bad_input_is_a_usage_error_before_any_output() {
    let cases: [(&[&str], &str); 8] = [
        (&["port", "0"], "port 0: out of range, give 1-65535"),
        (&["port", "70000"], "port 70000: out of range, give 1-65535"),
        (
            &["port", "nosuchservice"],
            "'nosuchservice': no service of that name in the port knowledge base; give a port number or a name such as ssh",
        ),
        (
            &["port", "22/sctp"],
            "'22/sctp': unknown protocol 'sctp', give tcp or udp (as in 53/udp)",
        ),
        (&["port", "53/tcp", "--udp"], "'53/tcp' asks for tcp, but --udp was given"),
        (&["port", "a b"], "'a b': not a port number (1-65535) or a service name"),
        (
            &["port", "\x1b[31mred"],
            "'\\x1b[31mred': not a port number (1-65535) or a service name",
        ),
        // A bad argument anywhere stops the whole command before it prints.
        (&["port", "22", "0"], "port 0: out of range, give 1-65535"),
    ];
    for (args, message) in cases {
        let out = portprobe_expect(args, 2);
        assert_eq!(stdout(&out), "", "{args:?}");
        assert_eq!(stderr(&out), format!("portprobe: {message}\n"), "{args:?}");
    }
    let out = portprobe(&["port"]);
    assert_eq!(out.status.code(), Some(2));
    let out = portprobe(&["port", "22", "--tcp", "--udp"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn json_lines_carry_every_field() {
    let out = portprobe_expect(&["port", "--json", "6379", "161"], 0);
    let records = json_lines(&out);
    assert_eq!(records.len(), 2);
    let redis = &records[0];
    assert_eq!(redis["port"], 6379);
    assert_eq!(redis["protocols"], serde_json::json!(["tcp"]));
    assert_eq!(redis["name"], "redis");
    assert_eq!(redis["summary"], "Redis in-memory data store (RESP protocol).");
    assert!(redis["exposure"]
        .as_str()
        .is_some_and(|s| s.starts_with("Redis without a password")));
    assert!(redis["securing"]
        .as_str()
        .is_some_and(|s| s.contains("protected-mode")));
    let tcp = ranked("top-ports.txt");
    let rank = tcp.iter().position(|&p| p == 6379).unwrap() + 1;
    assert_eq!(redis["rank"], serde_json::json!({ "tcp": rank }));
    let snmp = &records[1];
    assert_eq!(snmp["protocols"], serde_json::json!(["tcp", "udp"]));
    let udp = ranked("top-ports-udp.txt");
    assert_eq!(
        snmp["rank"]["udp"],
        udp.iter().position(|&p| p == 161).unwrap() + 1
    );
    // A short entry: no advice, and JSON says so with null.
    let out = portprobe_expect(&["port", "--json", "9"], 0);
    let discard = &json_lines(&out)[0];
    assert_eq!(discard["name"], "discard");
    let out = portprobe_expect(&["port", "--json", "1526"], 0);
    let short = &json_lines(&out)[0];
    assert_eq!(short["exposure"], serde_json::Value::Null);
    assert_eq!(short["securing"], serde_json::Value::Null);
}

/// Every ranked TCP port and every ranked UDP port has an entry (one run each, all ports as
/// arguments), and the entries of the 150 top TCP ports say what exposure means and how to
/// secure the service.
#[test]
fn every_ranked_port_has_an_entry() {
    let tcp = ranked("top-ports.txt");
    let udp = ranked("top-ports-udp.txt");
    assert!(tcp.len() >= 1000, "{} ranked TCP ports", tcp.len());
    assert!(udp.len() >= 100, "{} ranked UDP ports", udp.len());
    for (list, flag) in [(&tcp, "--tcp"), (&udp, "--udp")] {
        let numbers: Vec<String> = list.iter().map(u16::to_string).collect();
        let mut args = vec!["port", "--json", flag];
        args.extend(numbers.iter().map(String::as_str));
        let out = portprobe_expect(&args, 0);
        let records = json_lines(&out);
        assert_eq!(records.len(), list.len(), "{flag}");
        for (port, record) in list.iter().zip(&records) {
            assert_eq!(record["port"], *port);
            assert!(
                record["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{port}"
            );
        }
        if flag == "--tcp" {
            let rich = records[..150]
                .iter()
                .filter(|r| r["exposure"].is_string())
                .count();
            assert_eq!(rich, 150, "top 150 TCP ports with exposure and securing advice");
        }
    }
}

#[test]
fn fingerprints_check_reports_the_knowledge_base() {
    let out = portprobe_expect(&["fingerprints", "check"], 0);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fingerprints/ports");
    let (mut entries, mut rich) = (0, 0);
    for file in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        entries += text.lines().filter(|l| *l == "[[port]]").count();
        rich += text.lines().filter(|l| l.starts_with("exposure = ")).count();
    }
    let line = format!(
        "; port knowledge: {entries} entries ({rich} with exposure and securing advice) covering the {} ranked TCP and {} ranked UDP ports",
        ranked("top-ports.txt").len(),
        ranked("top-ports-udp.txt").len()
    );
    // One line: the rules' figures (checked in fingerprints_cli), then the knowledge base's.
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("fingerprints OK: "), "{text}");
    assert!(text.contains(" examples checked; port knowledge: "), "{text}");
    assert!(text.ends_with(&format!("{line}\n")), "{text}");
}

/// `--top-ports` works up to the list's length and refuses one more; a plain scan keeps its
/// 270 ports. Loopback only, connect-only (-z), every port reported (--json).
#[test]
fn top_ports_reach_the_end_of_the_list() {
    let tcp = ranked("top-ports.txt");
    let n = tcp.len().to_string();
    let out = portprobe(&["scan", "127.0.0.1", "-z", "--json", "--top-ports", &n]);
    let ports: std::collections::BTreeSet<u64> = json_lines(&out)
        .iter()
        .filter_map(|r| r["port"].as_u64())
        .collect();
    let expected: std::collections::BTreeSet<u64> = tcp.iter().map(|&p| u64::from(p)).collect();
    assert_eq!(ports, expected);
    let over = (tcp.len() + 1).to_string();
    let out = portprobe_expect(&["scan", "127.0.0.1", "--top-ports", &over], 2);
    assert_eq!(
        stderr(&out),
        format!(
            "portprobe: --top-ports {over}: choose 1 to {n} (the shipped list has {n} ports); use -p - for all ports\n"
        )
    );
    let out = portprobe(&["scan", "127.0.0.1", "-z", "--json"]);
    let ports: std::collections::BTreeSet<u64> = json_lines(&out)
        .iter()
        .filter_map(|r| r["port"].as_u64())
        .collect();
    let expected: std::collections::BTreeSet<u64> = tcp[..270].iter().map(|&p| u64::from(p)).collect();
    assert_eq!(ports, expected);
}
