//! What nc, ncat and telnet users type (issue 16): `-w` as an idle bound, `--delay`, several
//! ports with `-z`, SOCKS and HTTP proxies (real Dante and tinyproxy), Unix sockets, session
//! logs, `listen --allow/--deny`, the `--ssl*` aliases and the system trust store.

use crate::common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A loopback server that runs `handle` for one connection.
fn one_shot(handle: impl FnOnce(std::net::TcpStream) + Send + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((conn, _)) = listener.accept() {
            handle(conn);
        }
    });
    port
}

fn run_with_stdin(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    child.wait_with_output().unwrap()
}

#[test]
fn wait_bounds_an_idle_session_as_openbsd_nc_does() {
    // The server reads what we send and then holds the connection for 10 s without a word.
    let port = one_shot(|mut conn| {
        let mut buf = [0u8; 64];
        let _ = conn.read(&mut buf);
        std::thread::sleep(Duration::from_secs(10));
    });
    let start = Instant::now();
    let out = run_with_stdin(&["connect", "-w", "1s", "127.0.0.1", &port.to_string()], b"x\n");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "-w 1s should end the idle session after about 1 s, took {took:?}"
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "portprobe: idle timeout: nothing sent or received\n"
    );
}

#[test]
fn delay_spaces_the_lines_sent() {
    let (tx, rx) = std::sync::mpsc::channel();
    let port = one_shot(move |conn| {
        let start = Instant::now();
        let mut lines = BufReader::new(conn);
        let mut stamps = Vec::new();
        let mut line = String::new();
        while lines.read_line(&mut line).unwrap_or(0) > 0 {
            stamps.push((line.clone(), start.elapsed()));
            line.clear();
        }
        let _ = tx.send(stamps);
    });
    let out = run_with_stdin(
        &["connect", "--delay", "400ms", "127.0.0.1", &port.to_string()],
        b"one\ntwo\nthree\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stamps = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let lines: Vec<&str> = stamps.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(lines, ["one\n", "two\n", "three\n"]);
    let gap = |a: usize, b: usize| stamps[b].1 - stamps[a].1;
    assert!(gap(0, 1) >= Duration::from_millis(350), "{stamps:?}");
    assert!(gap(1, 2) >= Duration::from_millis(350), "{stamps:?}");
}

#[test]
fn zero_mode_checks_several_ports_and_ranges() {
    if !require_namespaces("zero_ports") {
        return;
    }
    let snippet = r#"
        socat TCP-LISTEN:7101,reuseaddr,fork OPEN:/dev/null </dev/null >/dev/null 2>&1 & a=$!
        socat TCP-LISTEN:7104,reuseaddr,fork OPEN:/dev/null </dev/null >/dev/null 2>&1 & b=$!
        sleep 0.3
        "$PORTPROBE" connect -z 127.0.0.1 7101-7103 7104 | sed 's/ ([0-9.]* ms)/ (T ms)/'; echo "rc=${PIPESTATUS[0]}"
        "$PORTPROBE" connect -z 127.0.0.1 7102,7103; echo "rc=$?"
        "$PORTPROBE" connect 127.0.0.1 7101 7104 2>&1; echo "rc=$?"
        kill $a $b"#;
    let out = shell_in("netns.sh", snippet);
    assert_eq!(
        stdout(&out),
        "127.0.0.1:7101: open (T ms)\n\
         127.0.0.1:7102: closed: connection refused\n\
         127.0.0.1:7103: closed: connection refused\n\
         127.0.0.1:7104: open (T ms)\n\
         rc=0\n\
         127.0.0.1:7102: closed: connection refused\n\
         127.0.0.1:7103: closed: connection refused\n\
         rc=1\n\
         portprobe: 2 ports given: a session talks to one port; add -z to check each (connect -z HOST 20-25 80)\n\
         rc=2\n",
        "{}",
        stderr(&out)
    );
}

#[test]
fn socks_and_http_connect_proxies_real_dante_and_tinyproxy() {
    if !require_proxies("proxies") {
        return;
    }
    let snippet = r#"
        t() { echo "== $1"; shift; (echo hi; sleep 0.5) | "$PORTPROBE" connect -q 1s "$@" 2>&1; echo "rc=$?"; }
        t nc-socks5 -x 127.0.0.1 127.0.0.1 7000
        t nc-socks4 -x 127.0.0.1:1080 -X 4 127.0.0.1 7000
        t nc-connect -x 127.0.0.1:3128 -X connect 127.0.0.1 7000
        t ncat-http --proxy 127.0.0.1 127.0.0.1 7000
        t ncat-socks5 --proxy 127.0.0.1:1080 --proxy-type socks5 localhost 7000
        t socks5-closed -x 127.0.0.1 127.0.0.1 7001
        t http-closed --proxy 127.0.0.1:3128 127.0.0.1 7001
        t auth-missing --proxy 127.0.0.1:3129 127.0.0.1 7000
        t auth-given --proxy 127.0.0.1:3129 --proxy-auth pp:s3cret 127.0.0.1 7000
        t remote-name -x 127.0.0.1 no-such-host.invalid 7000
        t no-proxy -x 127.0.0.1:1081 127.0.0.1 7000
        "$PORTPROBE" listen --tls 127.0.0.1:7443 > "$TESTBED_DIR/tls-got" 2>/dev/null & l=$!
        for i in $(seq 100); do ss -Htln 'sport = :7443' | grep -q . && break; sleep 0.05; done
        echo "== tls"; echo "secret through socks" | "$PORTPROBE" connect --tls --insecure -x 127.0.0.1 localhost 7443 -N 2>&1; echo "rc=$?"
        wait $l; echo "listener got: $(cat "$TESTBED_DIR/tls-got")"
        echo "== zero"; "$PORTPROBE" connect -z -x 127.0.0.1 127.0.0.1 7000-7001 | sed 's/ ([0-9.]* ms)/ (T ms)/'"#;
    let out = shell_in_testbed("proxies.sh", snippet);
    let text = stdout(&out);
    let section = |name: &str| -> String {
        text.split(&format!("== {name}\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("no section {name}: {text}{}", stderr(&out)))
            .split("\n== ")
            .next()
            .unwrap()
            .to_string()
    };
    let through = "hello from target\nhi\nrc=0";
    for name in [
        "nc-socks5",
        "nc-socks4",
        "nc-connect",
        "ncat-http",
        "ncat-socks5",
        "auth-given",
    ] {
        assert_eq!(section(name).trim_end(), through, "{name}: {text}");
    }
    assert_eq!(
        section("socks5-closed").trim_end(),
        "portprobe: proxy 127.0.0.1:1080: the SOCKS5 proxy could not connect to 127.0.0.1:7001: connection refused\nrc=1"
    );
    assert_eq!(
        section("http-closed").trim_end(),
        "portprobe: proxy 127.0.0.1:3128: the HTTP proxy refused CONNECT to 127.0.0.1:7001: HTTP/1.1 500 Unable to connect\nrc=1"
    );
    assert_eq!(
        section("auth-missing").trim_end(),
        "portprobe: proxy 127.0.0.1:3129: the HTTP proxy refused CONNECT to 127.0.0.1:7000: HTTP/1.0 407 Proxy Authentication Required\nrc=1"
    );
    // The name went to the proxy (this host never tried to resolve it): Dante's answer.
    let remote = section("remote-name");
    assert!(
        remote.starts_with("portprobe: proxy 127.0.0.1:1080: the SOCKS5 proxy could not connect to no-such-host.invalid:7000: "),
        "{remote}"
    );
    assert_eq!(
        section("no-proxy").trim_end(),
        "portprobe: proxy 127.0.0.1:1081: closed: connection refused\nrc=1"
    );
    let tls = section("tls");
    assert!(tls.contains("rc=0\nlistener got: secret through socks"), "{tls}");
    assert_eq!(
        section("zero").trim_end(),
        "127.0.0.1:7000: open (T ms)\nproxy 127.0.0.1:1080: the SOCKS5 proxy could not connect to 127.0.0.1:7001: connection refused"
    );
}

#[test]
fn unix_sockets_for_connect_and_listen() {
    let dir = std::env::temp_dir().join(format!("pp-unix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("s.sock");
    let out_file = dir.join("got");
    let listener = Command::new(bin())
        .args(["listen", "-U", sock.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_file).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The socket file appears at bind, before listen: wait until the kernel lists it as
    // listening (flag __SO_ACCEPTCON in /proc/net/unix), or a connect may be refused.
    let listening = |path: &str| {
        std::fs::read_to_string("/proc/net/unix").is_ok_and(|t| {
            t.lines().any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() >= 8 && f[3] == "00010000" && f[7] == path
            })
        })
    };
    for _ in 0..100 {
        if listening(sock.to_str().unwrap()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = run_with_stdin(
        &["connect", "-U", sock.to_str().unwrap()],
        b"over a unix socket\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listened = listener.wait_with_output().unwrap();
    assert_eq!(listened.status.code(), Some(0), "{}", stderr(&listened));
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap(),
        "over a unix socket\n"
    );
    assert!(!sock.exists(), "the listener removes its socket file");
    // An existing file is never replaced.
    let taken = dir.join("taken");
    std::fs::write(&taken, b"precious").unwrap();
    let out = run_with_stdin(&["listen", "-U", taken.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "portprobe: cannot listen on {}: the file exists; remove it first (an existing file is never replaced)\n",
            taken.display()
        )
    );
    assert_eq!(std::fs::read(&taken).unwrap(), b"precious");
    let missing = dir.join("missing.sock");
    let out = run_with_stdin(&["connect", "-U", missing.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "portprobe: {}: No such file or directory (os error 2)\n",
            missing.display()
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn output_and_hex_dump_record_the_session() {
    let port = one_shot(|mut conn| {
        let mut buf = [0u8; 3];
        let _ = conn.read_exact(&mut buf);
        let _ = conn.write_all(b"hello\x1b\n");
    });
    let dir = std::env::temp_dir().join(format!("pp-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (raw, hex) = (dir.join("raw"), dir.join("hex"));
    let out = run_with_stdin(
        &[
            "connect",
            "127.0.0.1",
            &port.to_string(),
            "--output",
            raw.to_str().unwrap(),
            "--hex-dump",
            hex.to_str().unwrap(),
        ],
        b"hi\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "hello\x1b\n");
    assert_eq!(std::fs::read(&raw).unwrap(), b"hi\nhello\x1b\n");
    assert_eq!(
        std::fs::read_to_string(&hex).unwrap(),
        "> 00000000  68 69 0a                                         |hi.|\n\
         < 00000000  68 65 6c 6c 6f 1b 0a                             |hello..|\n"
    );
    let out = portprobe(&["connect", "127.0.0.1", "9", "--output", "/nonexistent/dir/f"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "portprobe: cannot write --output '/nonexistent/dir/f': No such file or directory (os error 2)\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn listen_allow_and_deny_with_addresses_cidrs_and_files() {
    if !require_namespaces("allow_deny") {
        return;
    }
    let snippet = r#"
        d=$(mktemp -d); printf '# who may not\n127.0.0.3/32  # the third\n' > $d/deny
        "$PORTPROBE" listen --allow 127.0.0.0/8 --denyfile $d/deny -v 127.0.0.1:7501 > $d/got 2> $d/err & l=$!
        for i in $(seq 200); do ss -Htln 'sport = :7501' | grep -q . && break; sleep 0.05; done
        echo refused | "$PORTPROBE" connect -s 127.0.0.3 -p 40001 127.0.0.1 7501 -q 300ms
        echo welcome | "$PORTPROBE" connect -s 127.0.0.2 -p 40002 127.0.0.1 7501; wait $l
        echo "got: $(cat $d/got)"; grep -v 'listening on' $d/err
        "$PORTPROBE" listen --allow 10.0.0.0/8 127.0.0.1:7502 > $d/got2 2>/dev/null & l=$!
        for i in $(seq 200); do ss -Htln 'sport = :7502' | grep -q . && break; sleep 0.05; done
        echo nope | "$PORTPROBE" connect 127.0.0.1 7502 -q 300ms; kill $l; wait $l
        echo "got2: [$(cat $d/got2)]"
        "$PORTPROBE" listen --deny 10.0.0.0/33 7503 2>&1; echo "rc=$?"
        printf '10.0.0.1\nbogus\x1b\n' > $d/bad; "$PORTPROBE" listen --allowfile $d/bad 7503 2>&1; echo "rc=$?"
        rm -rf $d"#;
    let out = shell_in("netns.sh", snippet);
    let text = stdout(&out);
    let expected_head = "got: welcome\n\
        portprobe: 127.0.0.3:40001: refused by --allow/--deny\n\
        portprobe: connection from 127.0.0.2:40002\n\
        got2: []\n\
        portprobe: invalid --deny entry '10.0.0.0/33': give an address (192.0.2.7, ::1) or a CIDR block (10.0.0.0/8)\n\
        rc=2\n";
    assert!(text.starts_with(expected_head), "{text}{}", stderr(&out));
    let tail = &text[expected_head.len()..];
    let line = tail.lines().next().unwrap();
    assert!(
        line.starts_with("portprobe: --allowfile '/tmp/")
            && line.ends_with("/bad', line 2: 'bogus\\x1b' is not an address or CIDR block"),
        "{tail}"
    );
    assert!(tail.ends_with("rc=2\n"), "{tail}");
}

#[test]
fn aliases_users_type_ssl_l_vv_and_e() {
    if !require_namespaces("aliases") {
        return;
    }
    let snippet = r#"
        "$PORTPROBE" listen -l --ssl 127.0.0.1:7601 > /tmp/pp-alias.$$ 2>/dev/null & l=$!
        for i in $(seq 200); do ss -Htln 'sport = :7601' | grep -q . && break; sleep 0.05; done
        echo "over ssl" | "$PORTPROBE" connect --ssl --insecure -vv 127.0.0.1 7601 -N 2>&1 | grep -c '^portprobe: TLS TLSv1.3'; wait $l
        echo "got: $(cat /tmp/pp-alias.$$)"; rm -f /tmp/pp-alias.$$
        "$PORTPROBE" listen -l --ssl 127.0.0.1:7602 >/dev/null 2>&1 & l=$!
        for i in $(seq 200); do ss -Htln 'sport = :7602' | grep -q . && break; sleep 0.05; done
        echo x | "$PORTPROBE" connect --ssl-verify --ssl-alpn h2 127.0.0.1 7602 2>&1; kill $l 2>/dev/null
        "$PORTPROBE" connect -e /bin/sh 127.0.0.1 7603 2>&1; echo "rc=$?"
        "$PORTPROBE" connect -l root 127.0.0.1 7603 2>&1; echo "rc=$?"
        d=$(mktemp -d)
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $d/k.pem -out $d/c.pem -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null
        "$PORTPROBE" listen --ssl-cert $d/c.pem --ssl-key $d/k.pem 127.0.0.1:7604 > $d/got 2>/dev/null & l=$!
        for i in $(seq 200); do ss -Htln 'sport = :7604' | grep -q . && break; sleep 0.05; done
        echo "via ssl-cert" | "$PORTPROBE" connect --ssl-verify --ssl-trustfile $d/c.pem localhost 7604 -N 2>&1; wait $l
        echo "got: $(cat $d/got)"; rm -rf $d"#;
    let out = shell_in("netns.sh", snippet);
    assert_eq!(
        stdout(&out),
        "1\n\
         got: over ssl\n\
         portprobe: 127.0.0.1:7602: TLS certificate not accepted (--tls-verify): self-signed for 127.0.0.1: the certificate is signed by itself, not by a trusted CA (give that very certificate with --ca-file to trust it)\n\
         portprobe: -e /bin/sh: without --telnet, -e would run a program as in nc, and portprobe never hands a program to the network; with --telnet, -e CHAR sets the escape key\n\
         rc=2\n\
         portprobe: -l USER is the telnet login name: it needs --telnet (to listen, use portprobe listen)\n\
         rc=2\n\
         got: via ssl-cert\n",
        "{}",
        stderr(&out)
    );
}

#[test]
fn system_trust_store_and_a_self_signed_ca_file() {
    if !require_namespaces("trust") {
        return;
    }
    // A CA that signs the server's certificate, installed "system-wide" through SSL_CERT_FILE
    // (what rustls-native-certs reads first); and a self-signed CA:TRUE certificate, what
    // `openssl req -x509` makes, used as the server's own.
    let snippet = r#"
        d=$(mktemp -d); cd $d
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=admin CA" 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key -out srv.csr -subj "/CN=localhost" 2>/dev/null
        printf 'subjectAltName=DNS:localhost\n' > ext
        openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext 2>/dev/null
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout self.key -out self.pem -days 2 -subj "/CN=localhost" -addext subjectAltName=DNS:localhost 2>/dev/null
        serve() { "$PORTPROBE" listen -k --cert $1 --key $2 127.0.0.1:$3 >/dev/null 2>&1 & for i in $(seq 200); do ss -Htln "sport = :$3" | grep -q . && break; sleep 0.05; done; }
        serve srv.pem srv.key 7701; serve self.pem self.key 7702
        c() { echo x | timeout 10 "$@" -N 2>&1 | sed -n 's/.*\(certificate [a-z-]* for [a-z0-9.]*\).*/\1/p;s/.*not accepted[^:]*: \(.*\)/refused: \1/p'; }
        echo "== system"; SSL_CERT_FILE=$d/ca.pem c "$PORTPROBE" connect --tls-verify --trust system localhost 7701 -v
        echo "== both"; SSL_CERT_FILE=$d/ca.pem c "$PORTPROBE" connect --tls-verify localhost 7701 -v
        echo "== bundled"; SSL_CERT_FILE=$d/ca.pem c "$PORTPROBE" connect --tls-verify --trust bundled localhost 7701 -v
        echo "== self"; c "$PORTPROBE" connect --tls-verify --ca-file self.pem localhost 7702 -v
        echo "== self-wrong-name"; c "$PORTPROBE" connect --tls-verify --ca-file self.pem --sni other.example localhost 7702 -v
        echo "== ca-as-leaf"; c "$PORTPROBE" connect --tls-verify --ca-file ca.pem localhost 7702 -v
        echo "== end"; kill $(jobs -p); cd /; rm -rf $d"#;
    let out = shell_in("netns.sh", snippet);
    let text = stdout(&out);
    assert_eq!(
        text,
        "== system\ncertificate valid for localhost\n\
         == both\ncertificate valid for localhost\n\
         == bundled\ncertificate unknown-issuer for localhost\n\
         refused: unknown-issuer for localhost: issued by a CA that is not trusted (give it with --ca-file, or see --trust)\n\
         == self\ncertificate valid for localhost\n\
         == self-wrong-name\ncertificate name-mismatch for other.example\n\
         refused: name-mismatch for other.example: certificate not valid for name \"other.example\"; certificate is only valid for localhost\n\
         == ca-as-leaf\ncertificate self-signed for localhost\n\
         refused: self-signed for localhost: the certificate is signed by itself, not by a trusted CA (give that very certificate with --ca-file to trust it)\n\
         == end\n",
        "{}",
        stderr(&out)
    );
}

/// A tmux server of its own running `script` in a 100x30 pane; gives the pane's text on demand.
struct Tmux {
    name: String,
}

impl Tmux {
    fn start(script: &str) -> Tmux {
        let t = Tmux {
            name: format!("ppnet{}", std::process::id()),
        };
        t.run(&[
            "new-session",
            "-d",
            "-s",
            &t.name,
            "-x",
            "100",
            "-y",
            "30",
            script,
        ]);
        t
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.name])
            .args(args)
            .output()
            .unwrap()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.name];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn pane(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", &self.name]).stdout).into_owned()
    }

    fn wait_for(&self, needle: &str) -> bool {
        for _ in 0..150 {
            if self.pane().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

#[test]
fn telnet_client_against_inetutils_telnetd_under_tmux() {
    if !require_namespaces("telnet_client") {
        return;
    }
    let has = |p: &str| std::path::Path::new(p).exists();
    if !has("/usr/bin/tmux") || !has("/usr/sbin/telnetd") {
        assert!(std::env::var_os("CI").is_none(), "tmux/telnetd missing in CI");
        eprintln!("skipping: tmux or telnetd missing");
        return;
    }
    let dir = std::env::temp_dir().join(format!("pp-telnet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // What the remote side sees: its TERM, its window size, the user name, and a typed line.
    let remote = dir.join("remote.sh");
    std::fs::write(
        &remote,
        "#!/bin/sh\necho \"remote TERM=$TERM size=$(stty size) user=$1\"\nread l\necho \"remote got [$l]\"\nread l\necho \"remote size now $(stty size)\"\nsleep 30\n",
    )
    .unwrap();
    std::fs::set_permissions(&remote, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // telnetd passes USER on (from NEW-ENVIRON) only when told to accept it; %U is that user.
    let telnetd = dir.join("telnetd.sh");
    std::fs::write(
        &telnetd,
        format!(
            "#!/bin/sh\nexec /usr/sbin/telnetd -h --accept-env=USER -E \"{} %U\"\n",
            remote.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&telnetd, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let lines = dir.join("lines");
    let inner = format!(
        "trap 'kill $(jobs -p) 2>/dev/null' EXIT; export TERM=xterm-256color; \
         socat TCP-LISTEN:23,reuseaddr,fork EXEC:{telnetd},nofork </dev/null >/dev/null 2>&1 & \
         socat -u TCP-LISTEN:2323,reuseaddr OPEN:{lines},creat </dev/null >/dev/null 2>&1 & \
         nft add table inet pp; nft add chain inet pp c '{{ type filter hook input priority 0; }}'; nft add rule inet pp c tcp dport 2399 drop; \
         sleep 0.3; {bin} connect --telnet -l alice 127.0.0.1 23; echo exit1=$?; \
         {bin} connect --telnet -e '^a' 127.0.0.1 2323; echo exit2=$?; \
         {bin} connect --telnet -w 30s 127.0.0.1 2399; echo exit3=$?; sleep 30",
        telnetd = telnetd.display(),
        lines = lines.display(),
        bin = bin()
    );
    // The script is a file: quoted into `bash -c "…"`, its `$?` would be expanded too early.
    let inner_file = dir.join("inner.sh");
    std::fs::write(&inner_file, &inner).unwrap();
    let script = format!(
        "exec unshare -rn {} bash {}",
        testbed("netns.sh").display(),
        inner_file.display()
    );
    let tmux = Tmux::start(&script);
    // 1. Character mode against telnetd (it echoes): TTYPE, NAWS and USER reached the remote
    // side, and the line typed with a Backspace arrives edited (by the remote terminal).
    assert!(tmux.wait_for("remote TERM="), "{}", tmux.pane());
    assert!(
        tmux.pane()
            .contains("remote TERM=xterm-256color size=30 100 user=alice"),
        "{}",
        tmux.pane()
    );
    tmux.keys(&["abx", "BSpace", "c", "Enter"]);
    assert!(tmux.wait_for("remote got [abc]"), "{}", tmux.pane());
    // A resize (SIGWINCH) reaches the remote terminal through NAWS.
    tmux.run(&["resize-window", "-t", &tmux.name, "-x", "90", "-y", "25"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux.keys(&["Enter"]);
    assert!(tmux.wait_for("remote size now 25 90"), "{}", tmux.pane());
    // The escape key opens the prompt; status tells the mode; quit ends the session.
    tmux.keys(&["C-]"]);
    assert!(tmux.wait_for("telnet>"), "{}", tmux.pane());
    tmux.keys(&["status", "Enter"]);
    assert!(
        tmux.wait_for("connected; character mode (the server echoes); escape key is Ctrl-]"),
        "{}",
        tmux.pane()
    );
    tmux.keys(&["C-]"]);
    tmux.keys(&["quit", "Enter"]);
    assert!(tmux.wait_for("exit1=0"), "{}", tmux.pane());
    // 2. Line mode against a server that does not echo: local editing, CR LF on Enter; the
    // escape key is Ctrl-A (-e ^a).
    assert!(tmux.wait_for("escape key is Ctrl-A"), "{}", tmux.pane());
    tmux.keys(&["abx", "BSpace", "c", "Enter"]);
    tmux.keys(&["C-a"]);
    assert!(tmux.wait_for("telnet>"), "{}", tmux.pane());
    tmux.keys(&["quit", "Enter"]);
    assert!(tmux.wait_for("exit2=0"), "{}", tmux.pane());
    let mut sent = Vec::new();
    for _ in 0..50 {
        sent = std::fs::read(&lines).unwrap_or_default();
        if !sent.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(sent, b"abc\r\n", "{}", tmux.pane());
    // 3. A connect that hangs (SYN dropped): the terminal is not raw yet, Ctrl-C aborts it,
    // and nothing claims a connection.
    std::thread::sleep(Duration::from_millis(500));
    tmux.keys(&["C-c"]);
    assert!(tmux.wait_for("exit3=130"), "{}", tmux.pane());
    let screen = tmux.pane();
    assert!(!screen.contains("connected to 127.0.0.1:2399"), "{screen}");
    drop(tmux);
    let _ = std::fs::remove_dir_all(&dir);
}
