//! Detection against small purpose-built servers on loopback: wrappers that close at once,
//! silent services, client-first services on odd ports, unknown and hostile banners.

use crate::common::*;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn scan_json(port: u16, extra: &[&str]) -> serde_json::Value {
    let p = port.to_string();
    let mut args = vec!["scan", "127.0.0.1", "-p", &p, "--json"];
    args.extend_from_slice(extra);
    let out = portprobe_expect(&args, 0);
    let mut lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "\n{}", explain(&args, &out));
    lines.remove(0)
}

#[test]
fn accept_and_close_is_tcpwrapped() {
    let port = serve(drop);
    let v = scan_json(port, &[]);
    assert_eq!(v["state"], "open");
    assert_eq!(v["service"]["name"], "tcpwrapped");
    assert!(v.get("banner").is_none());
}

#[test]
fn client_first_service_on_an_odd_port_is_found_after_the_null_probe() {
    // Says nothing until it gets a request line, then answers like a web server.
    let port = serve(|mut conn| {
        let mut buf = [0u8; 1024];
        let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
        if let Ok(n) = conn.read(&mut buf) {
            if buf[..n].starts_with(b"GET / HTTP/1.0\r\n") {
                let _ = conn.write_all(b"HTTP/1.0 200 OK\r\nServer: gunicorn/21.2.0\r\n\r\nhi");
            }
        }
    });
    let v = scan_json(port, &[]);
    let s = &v["service"];
    assert_eq!(
        (s["name"].as_str(), s["product"].as_str()),
        (Some("http"), Some("Gunicorn"))
    );
    assert_eq!(s["version"], "21.2.0");
    assert_eq!(s["probe"], "http-get");
}

#[test]
fn a_silent_service_costs_at_most_the_detect_timeout() {
    let port = serve(|conn| {
        std::thread::sleep(Duration::from_secs(30));
        drop(conn)
    });
    let start = Instant::now();
    let v = scan_json(port, &["--detect-timeout", "1500ms"]);
    // A bound, not a speed claim: detection must stop at its deadline (with a margin).
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(v["state"], "open");
    assert_eq!(v["service"]["confidence"], "port-table");
}

#[test]
fn unknown_banner_is_kept_with_a_rule_skeleton_and_escaped() {
    let port = serve(|mut conn| {
        let _ = conn.write_all(b"WIDGETD 4.2 ready \x1b[31mred\x1b]0;title\x07\r\n");
        std::thread::sleep(Duration::from_secs(3));
    });
    let v = scan_json(port, &["--detect-timeout", "1s"]);
    assert_eq!(v["service"]["confidence"], "port-table");
    assert_eq!(
        v["banner"],
        "WIDGETD 4.2 ready \\x1b[31mred\\x1b]0;title\\x07\\r\\n"
    );
    assert!(v["banner_hex"].as_str().unwrap().starts_with("5749444745544420"));
    let p = port.to_string();
    let out = portprobe(&["scan", "127.0.0.1", "-p", &p, "-v", "--detect-timeout", "1s"]);
    let text = stdout(&out);
    assert!(
        !text.contains('\x1b'),
        "no raw escape reaches the terminal: {text:?}"
    );
    assert!(
        text.contains("| banner: WIDGETD 4.2 ready \\x1b[31mred"),
        "{text}"
    );
    assert!(text.contains("| [[rule]]"), "{text}");
    assert!(
        text.contains("| match = '^WIDGETD 4\\.2 ready \\x1b\\[31mred"),
        "{text}"
    );
    // The skeleton is a valid start: it loads as a rule file once pasted.
    let skeleton: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("  | "))
        .filter(|l| !l.starts_with("banner:"))
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = std::env::temp_dir().join(format!("portprobe-skel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("skel.toml"),
        skeleton.replace("product = \"\"", "product = \"Widget\""),
    )
    .unwrap();
    let out = portprobe(&["fingerprints", "check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}\n{skeleton}", stderr(&out));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn no_detect_only_connects() {
    let port = serve(|mut conn| {
        let _ = conn.write_all(b"SSH-2.0-OpenSSH_9.6\r\n");
    });
    let v = scan_json(port, &["-z"]);
    assert_eq!(v["state"], "open");
    assert!(v.get("banner").is_none());
    assert_ne!(v["service"]["confidence"], "hard");
    let v = scan_json(port, &[]);
    assert_eq!(v["service"]["product"], "OpenSSH");
    assert_eq!(v["service"]["version"], "9.6");
}

#[test]
fn an_echo_service_is_named_echo_whatever_our_probe_looked_like() {
    // inetd's echo (RFC 862): every byte comes back. Our HTTP probe echoed is not a web server,
    // and no rule may claim our own bytes (it used to be called mongodb).
    let port = serve(|mut conn| {
        let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
        let mut buf = [0u8; 4096];
        while let Ok(n) = conn.read(&mut buf) {
            if n == 0 || conn.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    });
    let v = scan_json(port, &[]);
    let s = &v["service"];
    assert_eq!(
        (s["name"].as_str(), s["confidence"].as_str()),
        (Some("echo"), Some("soft")),
        "{v}"
    );
    assert!(s.get("product").is_none(), "{v}");
}

#[test]
fn a_server_header_no_rule_knows_is_read_generically() {
    let port = serve(|mut conn| {
        let mut buf = [0u8; 1024];
        let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
        if conn.read(&mut buf).is_ok() {
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nServer: Zorblax/7.3.1\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let v = scan_json(port, &[]);
    let s = &v["service"];
    assert_eq!(
        (
            s["name"].as_str(),
            s["product"].as_str(),
            s["version"].as_str(),
            s["confidence"].as_str()
        ),
        (Some("http"), Some("Zorblax"), Some("7.3.1"), Some("generic")),
        "{v}"
    );
    // The table marks the claim and says what the mark means.
    let p = port.to_string();
    let out = portprobe(&["scan", "127.0.0.1", "-p", &p]);
    let table = stdout(&out);
    let row = row(&table, port);
    assert_eq!(row[4..].join(" "), "Zorblax 7.3.1 *", "{table}");
    assert!(
        table.lines().any(|l| l
            == "* generic: the product and version are read from the protocol's own grammar (a Server header, the SSH software version, a greeting); no rule vouches for them."),
        "{table}"
    );
}

/// A server that needs two requests on one connection: its answer to the second names it.
fn two_step_server(mut conn: std::net::TcpStream) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = [0u8; 256];
    let mut step = 0;
    while let Ok(n) = conn.read(&mut buf) {
        if n == 0 {
            break;
        }
        let reply: &[u8] = match (step, &buf[..n]) {
            (0, b"HELLO\n") => b"WHO\n",
            (1, b"MORE\n") => b"gizmod 1.2.3 ready\n",
            _ => b"ERR\n",
        };
        step += 1;
        if conn.write_all(reply).is_err() {
            break;
        }
    }
}

#[test]
fn a_dialogue_sends_its_follow_up_after_the_answer_and_rules_see_both_answers() {
    let port = serve(two_step_server);
    let dir = std::env::temp_dir().join(format!("portprobe-dialogue-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("probes.toml"),
        format!(
            "[[probe]]\nname = \"gizmo\"\nsend = 'HELLO\\n'\nthen = ['MORE\\n']\nports = [{port}]\nwait_ms = 1000\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("gizmo.toml"),
        "[[rule]]\nid = \"gizmo\"\nservice = \"gizmo\"\nprobes = [\"gizmo\"]\nmatch = '^WHO\\ngizmod ([\\d.]+) ready\\n'\nproduct = \"gizmod\"\nversion = \"$1\"\n[[rule.example]]\nresponse = 'WHO\\ngizmod 1.0 ready\\n'\nversion = \"1.0\"\n",
    )
    .unwrap();
    let v = scan_json(port, &["--fingerprints", dir.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    let s = &v["service"];
    assert_eq!(
        (
            s["name"].as_str(),
            s["product"].as_str(),
            s["version"].as_str(),
            s["probe"].as_str()
        ),
        (Some("gizmo"), Some("gizmod"), Some("1.2.3"), Some("gizmo")),
        "{v}"
    );
}

#[test]
fn a_service_that_closes_an_idle_connection_is_probed_further_not_tcpwrapped() {
    // Monit (and Leafnode) close a connection on which the client said nothing for half a
    // second; that is a client-first service, not a wrapper that closes at once.
    let port = serve(|mut conn| {
        let _ = conn.set_read_timeout(Some(Duration::from_millis(600)));
        let mut buf = [0u8; 1024];
        if let Ok(n) = conn.read(&mut buf) {
            if buf[..n].starts_with(b"GET ") {
                let _ = conn.write_all(b"HTTP/1.0 401 Unauthorized\r\nServer: monit 5.33.0\r\nWWW-Authenticate: Basic realm=\"monit\"\r\n\r\n");
            }
        }
    });
    let v = scan_json(port, &[]);
    let s = &v["service"];
    assert_eq!(s["name"], "http", "{v}");
    // Named from the answer to a probe that sent a GET (the server answers no other bytes):
    // which of the GET probes got through first depends on this one-at-a-time server's accept order.
    let mut problems = Vec::new();
    let db = portprobe::fingerprint::Database::from_sources(
        &portprobe::fingerprint::Database::shipped_sources(),
        &mut problems,
    );
    let sent = s["probe"]
        .as_str()
        .and_then(|name| db.probe(name))
        .map(|p| p.payload.clone());
    assert!(sent.as_deref().is_some_and(|b| b.starts_with(b"GET ")), "{v}");
    // A server that stays silent and closes after its idle timeout, whatever is sent, is still
    // reported as a wrapper once every probe had its chance.
    let port = serve(|mut conn| {
        let _ = conn.set_read_timeout(Some(Duration::from_millis(600)));
        let mut buf = [0u8; 1024];
        let _ = conn.read(&mut buf);
    });
    let v = scan_json(port, &["--detect-timeout", "4s"]);
    assert_eq!(v["service"]["name"], "tcpwrapped", "{v}");
}

/// The JSON record is an interface: `scan --json` and `audit --json` write the same record, with
/// these field names and values (audit adds `findings`).
#[test]
fn json_records_are_pinned_and_shared_by_scan_and_audit() {
    let port = serve(|mut conn| {
        let _ = conn.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
        std::thread::sleep(Duration::from_secs(2));
    });
    let p = port.to_string();
    let scan = json_lines(&portprobe_expect(&["scan", "127.0.0.1", "-p", &p, "--json"], 0));
    let audit = json_lines(&portprobe_expect(&["audit", "127.0.0.1", "-p", &p, "--json"], 0));
    assert_eq!(scan.len(), 1, "{scan:?}");
    assert_eq!(audit.len(), 1, "{audit:?}");
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        k.sort();
        k
    };
    let expected = [
        "banner", "host", "ip", "port", "proto", "reason", "rtt_ms", "service", "state", "type",
    ];
    assert_eq!(keys(&scan[0]), expected);
    let mut with_findings: Vec<&str> = expected.to_vec();
    with_findings.push("findings");
    with_findings.sort();
    assert_eq!(keys(&audit[0]), with_findings);
    for v in [&scan[0], &audit[0]] {
        assert_eq!(v["type"], "port");
        assert_eq!(v["host"], "127.0.0.1");
        assert_eq!(v["ip"], "127.0.0.1");
        assert_eq!(v["port"], port);
        assert_eq!(v["proto"], "tcp");
        assert_eq!(v["state"], "open");
        assert_eq!(v["reason"], "syn-ack");
        assert_eq!(v["banner"], "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\\r\\n");
        let service = &v["service"];
        assert_eq!(service["name"], "ssh");
        assert_eq!(service["vendor"], "openbsd");
        assert_eq!(service["revision"], "Debian 2+deb12u3");
        assert_eq!(service["rule"], "openssh-distro");
        assert_eq!(service["product"], "OpenSSH");
        assert_eq!(service["version"], "9.2p1");
        assert_eq!(service["confidence"], "hard");
        assert_eq!(service["probe"], "null");
    }
    let finding = &audit[0]["findings"][0];
    let mut fkeys = keys(finding);
    fkeys.retain(|k| k != "fix");
    assert_eq!(fkeys, ["evidence", "id", "severity", "what", "where"]);
    assert_eq!(finding["where"]["field"], "SSH identification string");
}

/// A host that accepts every port (here: every connection to 127.0.0.2 ports 1-100 redirected to
/// one listener that says the same thing) is reported once as a pseudo-service, not as a hundred
/// unknown services; a real service on the same host is still listed.
#[test]
fn a_host_that_accepts_every_port_is_one_pseudo_service() {
    if !require_namespaces("pseudo_service") {
        return;
    }
    let snippet = r#"
        nft add table ip nat
        nft 'add chain ip nat out { type nat hook output priority -100; }'
        nft add rule ip nat out ip daddr 127.0.0.2 tcp dport 1-100 redirect to :7777
        python3 -c '
import socket, threading, time
def serve(addr, text):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(addr); s.listen(1024)
    def answer(c):
        c.sendall(text); time.sleep(2); c.close()
    while True:
        c, _ = s.accept(); threading.Thread(target=answer, args=(c,), daemon=True).start()
threading.Thread(target=serve, args=(("127.0.0.2", 222), b"SSH-2.0-OpenSSH_9.2p1\r\n"), daemon=True).start()
serve(("0.0.0.0", 7777), b"TARPIT\r\n")' &
        sleep 0.5
        "$PORTPROBE" scan 127.0.0.2 -p 1-100,222 --detect-timeout 1s; echo "rc=$?"
        "$PORTPROBE" scan 127.0.0.2 -p 1-100,222 --detect-timeout 1s --json | grep '"type":"host"'
        kill $(jobs -p) 2>/dev/null"#;
    let out = shell_in("netns.sh", snippet);
    let text = stdout(&out);
    let host_record = text.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(host_record).unwrap_or_default();
    let p = &v["pseudo_service"];
    assert_eq!(
        (&p["open"], &p["answer"]),
        (&serde_json::json!(101), &serde_json::json!("TARPIT\\r\\n")),
        "{text}"
    );
    // A look-alike port that a probe's soft rule happened to name in time is not counted.
    let alike = p["alike"].as_u64().unwrap_or(0);
    assert!((91..=100).contains(&alike), "{text}");
    assert!(text.contains("rc=0\n"), "{}", explain(&["scan"], &out));
    let line = text
        .lines()
        .find(|l| l.starts_with("Pseudo-service: "))
        .unwrap_or_default();
    let alike = line
        .trim_start_matches("Pseudo-service: ")
        .split(' ')
        .next()
        .unwrap_or_default();
    assert!(
        alike.parse::<u64>().is_ok_and(|n| (91..=100).contains(&n)),
        "{text}"
    );
    assert_eq!(
        line,
        format!(
            "Pseudo-service: {alike} of 101 open ports accept and give the same answer \"TARPIT\\r\\n\": \
             this host (or a firewall or tarpit before it) accepts every port; they are not {alike} services \
             and are not listed"
        ),
        "{text}"
    );
    assert_eq!(
        row(&text, 222),
        [
            "222/tcp",
            "open",
            "ssh",
            "syn-ack",
            "OpenSSH",
            "9.2p1",
            "(protocol",
            "2.0)"
        ],
        "{text}"
    );
    assert!(
        table_row(&text, 7).is_none(),
        "look-alike ports are not listed: {text}"
    );
}

/// A SPICE server (written here from spice-protocol's link stage) answers only a SpiceLinkMess:
/// found on a port no probe lists, among the probes sent in parallel to a silent port.
#[test]
fn a_spice_server_is_found_by_its_link_reply() {
    let port = serve(|mut conn| {
        let mut buf = [0u8; 64];
        let n = std::io::Read::read(&mut conn, &mut buf).unwrap_or(0);
        if buf[..n].starts_with(b"REDQ\x02\x00\x00\x00\x02\x00\x00\x00") {
            let mut reply = b"REDQ\x02\x00\x00\x00\x02\x00\x00\x00\xba\x00\x00\x00\x00\x00\x00\x00".to_vec();
            reply.extend_from_slice(
                b"\x30\x81\x9f\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00",
            );
            reply.resize(18 + 4 + 162 + 12, 0);
            let _ = conn.write_all(&reply);
        }
        std::thread::sleep(Duration::from_secs(3));
    });
    let v = scan_json(port, &[]);
    let s = &v["service"];
    assert_eq!(
        (s["name"].as_str(), s["product"].as_str(), s["probe"].as_str()),
        (Some("spice"), Some("SPICE server"), Some("spice-link")),
        "{v}"
    );
}
