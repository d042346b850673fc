//! `scan` through a proxy (issue 16): connect scan and detection through real Dante (SOCKS5)
//! and tinyproxy (HTTP CONNECT), states as seen from the proxy, and a proxy that is down or
//! turns us away as one clear error before any port.

use crate::common::*;

/// Services behind the proxies, started inside the proxy test bed's namespace: an SSH-style
/// banner on 7022 and a one-request HTTP server on 7080 that counts the connections it gets
/// (so the test can see that detection's fresh connections went through the proxy too).
const SERVERS: &str = r#"
    python3 - "$TESTBED_DIR" >/dev/null 2>&1 <<'PY' &
import socket, sys, threading
log = sys.argv[1] + "/http-conns"
def listener(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    return s
def ssh(c):
    try:
        c.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
        c.settimeout(3)
        c.recv(4096)
    except OSError:
        pass
    c.close()
def http(c):
    try:
        c.settimeout(3)
        data = c.recv(4096)
        if data.startswith(b"GET ") or data.startswith(b"HEAD "):
            c.sendall(b"HTTP/1.0 200 OK\r\nServer: pp-test/1.0\r\nContent-Length: 2\r\n\r\nhi")
    except OSError:
        pass
    c.close()
def serve(s, handle, count):
    while True:
        c, _ = s.accept()
        if count:
            with open(log, "a") as f:
                f.write("conn\n")
        threading.Thread(target=handle, args=(c,), daemon=True).start()
a, b = listener(7022), listener(7080)
threading.Thread(target=serve, args=(a, ssh, False), daemon=True).start()
serve(b, http, True)
PY
    servers=$!
    trap 'kill $servers' EXIT
    for p in 7022 7080; do
        for i in $(seq 100); do ss -Htln "sport = :$p" | grep -q . && break; sleep 0.05; done
    done
    t() { echo "== $1"; shift; "$PORTPROBE" scan "$@" 2>&1; echo "rc=$?"; }
"#;

fn run(snippet: &str) -> String {
    let out = shell_in_testbed("proxies.sh", &format!("{SERVERS}\n{snippet}"));
    format!("{}{}", stdout(&out), stderr(&out))
}

fn section(text: &str, name: &str) -> String {
    text.split(&format!("== {name}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("no section {name}: {text}"))
        .split("\n== ")
        .next()
        .unwrap_or_default()
        .to_string()
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn scan_and_detect_through_socks5_and_http_connect() {
    if !require_proxies("proxy_scan") {
        return;
    }
    let text = run(r#"
        t socks -x 127.0.0.1 127.0.0.1 -p 7001,7022
        t http --proxy 127.0.0.1:3128 127.0.0.1 -p 7001,7022
        t auth --proxy 127.0.0.1:3129 --proxy-auth pp:s3cret -X http 127.0.0.1 -p 7022
        t json -x 127.0.0.1:1080 -X 5 127.0.0.1 -p 7001,7022 --json
        t fresh --proxy 127.0.0.1:3128 127.0.0.1 -p 7080
        echo "== counts"
        echo "server $(wc -l < "$TESTBED_DIR/http-conns")"
        echo "proxy $(grep -c 'opening connection to 127.0.0.1:7080' "$TESTBED_DIR/tinyproxy-3128.log")"
    "#);
    let legend = |proxy: &str| {
        format!(
            "States are as seen from the {proxy}: open, it connected; closed, the port refused it; \
             filtered, it could not reach the port or did not answer in time."
        )
    };
    for (name, proxy) in [
        ("socks", "SOCKS5 proxy 127.0.0.1:1080"),
        ("http", "HTTP CONNECT proxy 127.0.0.1:3128"),
    ] {
        let s = section(&text, name);
        let l = lines(&s);
        assert!(
            l.contains(&"7001/tcp  closed    weblogic         proxy-refused"),
            "{name}: {s}"
        );
        assert!(
            l.contains(&"7022/tcp  open      ssh              proxy-connected OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)"),
            "{name}: {s}"
        );
        assert!(l.contains(&"Ports: 1 open, 1 closed, 0 filtered"), "{name}: {s}");
        assert!(l.contains(&legend(proxy).as_str()), "{name}: {s}");
        // Nothing is seen from here through a proxy: no word about firewalls and SYNs.
        assert!(!s.contains("stealth"), "{name}: {s}");
        assert_eq!(l.last(), Some(&"rc=0"), "{name}: {s}");
    }
    let auth = section(&text, "auth");
    assert!(
        lines(&auth).contains(&"7022/tcp  open      ssh              proxy-connected OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)"),
        "{auth}"
    );
    assert!(
        lines(&auth).contains(&legend("HTTP CONNECT proxy 127.0.0.1:3129").as_str()),
        "{auth}"
    );

    let json = section(&text, "json");
    assert!(json.ends_with("rc=0"), "{json}");
    let records = json_records(json.trim_end_matches("rc=0"));
    let port = |n: u64| {
        records
            .iter()
            .find(|r| r["type"] == "port" && r["port"] == n)
            .unwrap_or_else(|| panic!("no port {n}: {records:?}"))
    };
    assert_eq!(port(7001)["state"], "closed");
    assert_eq!(port(7001)["reason"], "proxy-refused");
    assert_eq!(port(7022)["state"], "open");
    assert_eq!(port(7022)["reason"], "proxy-connected");
    assert_eq!(port(7022)["service"]["name"], "ssh");

    // Detection opens fresh connections for its probes: every one of them reached the server
    // through tinyproxy (the proxy's count equals the server's), and there was more than one.
    let fresh = section(&text, "fresh");
    assert!(
        fresh.contains("7080/tcp  open      http             proxy-connected pp-test 1.0 *\n"),
        "{fresh}"
    );
    let counts = section(&text, "counts");
    let count = |what: &str| -> u32 {
        counts
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{what} ")))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {what} count: {counts}"))
    };
    assert!(count("server") > 1, "{counts}");
    assert_eq!(count("server"), count("proxy"), "{counts}");
}

#[test]
fn a_proxy_down_or_refusing_us_is_one_error_before_any_port() {
    if !require_proxies("proxy_scan") {
        return;
    }
    let text = run(r#"
        t down -x 127.0.0.1:1081 127.0.0.1 -p 7022
        t no-auth --proxy 127.0.0.1:3129 127.0.0.1 -p 7022
        t bad-auth --proxy 127.0.0.1:3129 --proxy-auth pp:wrong 127.0.0.1 -p 7022
        t no-proxy --proxy-auth pp:s3cret 127.0.0.1 -p 7022
    "#);
    assert_eq!(
        section(&text, "down").trim_end(),
        "portprobe: proxy 127.0.0.1:1081: cannot connect to the proxy: connection refused\nrc=2"
    );
    assert_eq!(
        section(&text, "no-auth").trim_end(),
        "portprobe: proxy 127.0.0.1:3129: the HTTP proxy refused CONNECT to 127.0.0.1:3129: \
         HTTP/1.0 407 Proxy Authentication Required\nrc=2"
    );
    assert_eq!(
        section(&text, "bad-auth").trim_end(),
        "portprobe: proxy 127.0.0.1:3129: the HTTP proxy refused CONNECT to 127.0.0.1:3129: \
         HTTP/1.0 401 Unauthorized\nrc=2"
    );
    assert_eq!(
        section(&text, "no-proxy").trim_end(),
        "portprobe: --proxy-type and --proxy-auth need a proxy: give -x ADDR[:PORT] or --proxy ADDR[:PORT]\nrc=2"
    );
}
