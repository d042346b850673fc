//! `connect` and `listen`: real daemons, telnetd, interop with ncat and socat (1 GiB each way,
//! SHA-256 equal), half-close in both directions, and the raw-mode telnet session under tmux.

use crate::common::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn real_daemons_by_hand() {
    if !require_testbed("session_daemons") {
        return;
    }
    let snippet = r#"
        echo "== ssh"; "$PORTPROBE" connect 127.0.0.1 22 -q 500ms </dev/null
        echo "== http"; printf 'GET / HTTP/1.0\r\nHost: testbed\r\n\r\n' | "$PORTPROBE" connect 127.0.0.1 80
        echo "== smtp"; printf 'EHLO client.example\nQUIT\n' | "$PORTPROBE" connect -C 127.0.0.1 25
        echo "== -v"; "$PORTPROBE" connect -v 127.0.0.1 22 -q 300ms </dev/null 2>&1 >/dev/null
        echo "== end""#;
    let out = shell_in_testbed("daemons.sh", snippet);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let (ssh, rev) = deb_version("openssh-server");
    let section = |name: &str| {
        text.split(&format!("== {name}\n"))
            .nth(1)
            .unwrap()
            .split("\n== ")
            .next()
            .unwrap()
            .to_string()
    };
    assert!(
        section("ssh").starts_with(&format!("SSH-2.0-OpenSSH_{ssh} Debian-{rev}\r")),
        "{text}"
    );
    let http = section("http");
    assert!(http.starts_with("HTTP/1.1 200 OK\r\n"), "{http}");
    assert!(http.ends_with("portprobe test bed"), "{http}");
    let smtp = section("smtp");
    assert!(
        smtp.starts_with("220 mail.testbed.example ESMTP Postfix"),
        "{smtp}"
    );
    assert!(smtp.contains("250-mail.testbed.example\r\n"), "{smtp}");
    assert!(smtp.contains("221 2.0.0 Bye\r"), "{smtp}");
    let v = section("-v");
    assert!(v.contains("portprobe: connected to 127.0.0.1:22"), "{v}");
    assert!(
        v.contains(&format!(
            "server identifies as ssh, OpenSSH {ssh} Debian {rev} (protocol 2.0)"
        )),
        "{v}"
    );
}

#[test]
fn crlf_and_binary_bytes_reach_the_listener_exactly() {
    if !require_namespaces("crlf") {
        return;
    }
    let snippet = r#"
        "$PORTPROBE" listen 127.0.0.1:7001 > /tmp/pp-crlf.$$ & l=$!; sleep 0.3
        printf 'a\nb\r\nc' | "$PORTPROBE" connect -C 127.0.0.1 7001; wait $l
        od -An -c /tmp/pp-crlf.$$; echo ==
        "$PORTPROBE" listen 127.0.0.1:7002 > /tmp/pp-bin.$$ & l=$!; sleep 0.3
        head -c 300000 /dev/urandom > /tmp/pp-src.$$
        "$PORTPROBE" connect 127.0.0.1 7002 < /tmp/pp-src.$$; wait $l
        cmp /tmp/pp-src.$$ /tmp/pp-bin.$$ && echo same
        rm -f /tmp/pp-*.$$"#;
    let out = shell_in("netns.sh", snippet);
    let text = stdout(&out);
    assert!(text.starts_with("   a  \\r  \\n   b  \\r  \\n   c\n"), "{text}");
    assert!(text.contains("==\nsame\n"), "{text}{}", stderr(&out));
}

#[test]
fn telnet_negotiation_with_a_real_telnetd() {
    if !require_namespaces("telnetd") {
        return;
    }
    if !std::path::Path::new("/usr/sbin/telnetd").exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "telnetd missing in CI (inetutils-telnetd)"
        );
        eprintln!("skipping: /usr/sbin/telnetd missing");
        return;
    }
    // inetutils telnetd negotiates first and runs cat instead of login: what we type comes back.
    // The trap stops socat when the snippet ends: no listener outlives the test.
    let snippet = r#"
        trap 'kill $(jobs -p) 2>/dev/null' EXIT
        socat TCP-LISTEN:23,reuseaddr,fork EXEC:"/usr/sbin/telnetd -h -E /bin/cat",nofork </dev/null >/dev/null 2>&1 &
        sleep 0.3
        (printf 'hello telnet\r\n'; sleep 1) | "$PORTPROBE" connect 127.0.0.1 23 --telnet -q 500ms | od -An -c
        echo ==
        (printf 'hello telnet\r\n'; sleep 1) | "$PORTPROBE" connect 127.0.0.1 23 -q 1s | od -An -tx1 | head -1"#;
    let out = shell_in("netns.sh", snippet);
    let text = stdout(&out);
    let (telnet, raw) = text.split_once("==\n").unwrap();
    assert!(
        telnet.contains("h   e   l   l   o       t   e   l   n   e   t  \\r  \\n"),
        "{telnet}"
    );
    assert!(!telnet.contains("377"), "negotiation is stripped: {telnet}");
    assert!(
        raw.trim_start().starts_with("ff"),
        "without --telnet the IAC bytes pass through: {raw}"
    );
}

fn sha_of(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{label} ")))
        .unwrap_or_else(|| panic!("no {label} in {text}"))
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn one_gibibyte_each_way_with_ncat_and_socat() {
    if !require_namespaces("interop") {
        return;
    }
    for tool in ["ncat", "socat"] {
        let present = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !present {
            assert!(std::env::var_os("CI").is_none(), "{tool} missing in CI");
            eprintln!("skipping interop: {tool} missing");
            return;
        }
    }
    let snippet = r#"
        d=$(mktemp -d); head -c 1073741824 /dev/urandom > $d/src
        echo "src $(sha256sum < $d/src)"
        ncat -l 127.0.0.1 7101 > $d/a & l=$!; sleep 0.5
        "$PORTPROBE" connect 127.0.0.1 7101 < $d/src; wait $l
        echo "pp-to-ncat $(sha256sum < $d/a)"; rm -f $d/a
        "$PORTPROBE" listen 127.0.0.1:7102 > $d/b & l=$!; sleep 0.3
        ncat --send-only 127.0.0.1 7102 < $d/src; wait $l
        echo "ncat-to-pp $(sha256sum < $d/b)"; rm -f $d/b
        "$PORTPROBE" listen 127.0.0.1:7103 > $d/c & l=$!; sleep 0.3
        socat -u FILE:$d/src TCP:127.0.0.1:7103; wait $l
        echo "socat-to-pp $(sha256sum < $d/c)"; rm -f $d/c
        socat -u TCP-LISTEN:7104,reuseaddr CREATE:$d/e & l=$!; sleep 0.3
        "$PORTPROBE" connect 127.0.0.1 7104 < $d/src; wait $l
        echo "pp-to-socat $(sha256sum < $d/e)"
        rm -rf $d"#;
    let out = shell_in("netns.sh", snippet);
    let text = stdout(&out);
    let src = sha_of(&text, "src");
    for label in ["pp-to-ncat", "ncat-to-pp", "socat-to-pp", "pp-to-socat"] {
        assert_eq!(sha_of(&text, label), src, "{label}: {text}{}", stderr(&out));
    }
}

/// A server on loopback that runs `handle` for one connection.
fn one_shot_server(handle: impl FnOnce(std::net::TcpStream) + Send + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((conn, _)) = listener.accept() {
            handle(conn);
        }
    });
    port
}

fn connect_with_stdin(port: u16, input: Vec<u8>, extra: &[&str]) -> std::process::Output {
    let mut child = Command::new(bin())
        .args(["connect", "127.0.0.1", &port.to_string()])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    child.wait_with_output().unwrap()
}

#[test]
fn server_keeps_sending_after_our_eof() {
    // Reads until our half-close, then answers: only a half-closing client sees the answer.
    let server = |mut conn: std::net::TcpStream| {
        let mut got = Vec::new();
        let _ = conn.read_to_end(&mut got);
        std::thread::sleep(Duration::from_millis(200));
        let _ = conn.write_all(format!("got {} bytes after your EOF\n", got.len()).as_bytes());
    };
    let out = connect_with_stdin(one_shot_server(server), vec![b'x'; 100_000], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "got 100000 bytes after your EOF\n");
    // -N closes right after stdin EOF: the answer is not waited for.
    let out = connect_with_stdin(one_shot_server(server), b"abc".to_vec(), &["-N"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "");
}

#[test]
fn server_half_closes_first_and_still_gets_everything() {
    let (tx, rx) = std::sync::mpsc::channel();
    let port = one_shot_server(move |mut conn| {
        let _ = conn.write_all(b"bye from server\n");
        let _ = conn.shutdown(Shutdown::Write);
        let mut got = Vec::new();
        let _ = conn.read_to_end(&mut got);
        let _ = tx.send(got);
    });
    let input: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    let out = connect_with_stdin(port, input.clone(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "bye from server\n");
    assert!(
        rx.recv_timeout(Duration::from_secs(10)).unwrap() == input,
        "all of stdin reached the server"
    );
}

#[test]
fn server_closes_first_while_we_still_send() {
    let port = one_shot_server(|mut conn| {
        let mut buf = [0u8; 10];
        let _ = conn.read_exact(&mut buf);
        let _ = conn.write_all(b"enough\n");
        // Dropping closes both directions while the client still sends.
    });
    let out = connect_with_stdin(port, vec![b'y'; 50_000_000], &[]);
    // Closing with unread data makes the server's kernel send a RST, and a RST may discard the
    // reply from our receive queue before we read it; whatever we did receive is shown.
    assert!(
        ["enough\n", ""].contains(&stdout(&out).as_str()),
        "{}",
        stdout(&out)
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("failed while sending"), "{}", stderr(&out));
}

#[test]
fn recv_only_send_only_idle_and_quit_timers() {
    let port = one_shot_server(|mut conn| {
        let _ = conn.write_all(b"hello\n");
        std::thread::sleep(Duration::from_secs(5));
    });
    let out = connect_with_stdin(port, b"ignored".to_vec(), &["--recv-only", "-i", "500ms"]);
    assert_eq!(stdout(&out), "hello\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("idle timeout"));
    let port = one_shot_server(|mut conn| {
        let _ = conn.write_all(b"not shown\n");
        std::thread::sleep(Duration::from_secs(5));
    });
    let out = connect_with_stdin(port, b"data".to_vec(), &["--send-only"]);
    assert_eq!((out.status.code(), stdout(&out).as_str()), (Some(0), ""));
    let port = one_shot_server(|mut conn| {
        let _ = conn.write_all(b"hi\n");
        std::thread::sleep(Duration::from_secs(5));
    });
    let out = connect_with_stdin(port, Vec::new(), &["-q", "300ms"]);
    assert_eq!((out.status.code(), stdout(&out).as_str()), (Some(0), "hi\n"));
}

#[test]
fn escape_option_shows_control_bytes() {
    let port = one_shot_server(|mut conn| {
        let _ = conn.write_all(b"\x1b]0;owned\x07text\n");
    });
    let out = connect_with_stdin(port, Vec::new(), &["--escape"]);
    assert_eq!(stdout(&out), "\\x1b]0;owned\\x07text\n");
}

#[test]
fn tls_connect_and_listen_with_a_generated_certificate() {
    if !require_namespaces("tls_session") {
        return;
    }
    let snippet = r#"
        "$PORTPROBE" listen --tls 127.0.0.1:7201 > /tmp/pp-tls.$$ 2>/tmp/pp-tls-err.$$ & l=$!; sleep 0.5
        echo "secret over tls" | "$PORTPROBE" connect --tls 127.0.0.1 7201 -v 2>&1; wait $l
        echo "== got: $(cat /tmp/pp-tls.$$)"
        "$PORTPROBE" listen --tls 127.0.0.1:7202 >/dev/null 2>&1 & l=$!; sleep 0.5
        echo x | "$PORTPROBE" connect --tls --tls-verify 127.0.0.1 7202 2>&1; echo "== verify rc=$?"
        kill $l 2>/dev/null; rm -f /tmp/pp-tls*.$$"#;
    let out = shell_in("netns.sh", snippet);
    let text = stdout(&out);
    assert!(text.contains("portprobe: TLS TLSv1.3"), "{text}");
    assert!(
        text.contains("warning: certificate self-signed for 127.0.0.1"),
        "{text}"
    );
    assert!(text.contains("== got: secret over tls"), "{text}");
    assert!(
        text.contains("TLS certificate not accepted (--tls-verify): self-signed"),
        "{text}"
    );
    assert!(text.contains("== verify rc=1"), "{text}");
}

#[test]
fn keep_open_serves_several_clients() {
    if !require_namespaces("keep_open") {
        return;
    }
    let snippet = r#"
        (sleep 2) | "$PORTPROBE" listen -k 127.0.0.1:7301 > /tmp/pp-k.$$ & l=$!; sleep 0.3
        for i in 1 2 3; do echo "client $i" | "$PORTPROBE" connect 127.0.0.1 7301 -N; done
        sleep 0.3; kill -INT $l; wait $l; echo "rc=$?"
        sort /tmp/pp-k.$$; rm -f /tmp/pp-k.$$"#;
    let out = shell_in("netns.sh", snippet);
    let text = stdout(&out);
    assert!(text.contains("rc=130"), "{text}");
    assert!(text.contains("client 1\nclient 2\nclient 3\n"), "{text}");
}

#[test]
fn starttls_in_connect_hands_over_the_session() {
    if !require_testbed("starttls_connect") {
        return;
    }
    let snippet = r#"printf 'EHLO x\r\nQUIT\r\n' | "$PORTPROBE" connect 127.0.0.1 25 --starttls smtp --ca-file "$TESTBED_CA" --sni localhost -v 2>&1"#;
    let out = shell_in_testbed("tls.sh", snippet);
    let text = stdout(&out);
    assert!(text.contains("STARTTLS (smtp) accepted"), "{text}");
    assert!(text.contains("certificate valid for localhost"), "{text}");
    assert!(text.contains("250-mail.testbed.example"), "{text}");
    assert!(text.contains("221 2.0.0 Bye"), "{text}");
}

#[test]
fn raw_telnet_session_under_tmux_and_the_escape_key() {
    if !require_namespaces("tmux") {
        return;
    }
    let has = |p: &str| std::path::Path::new(p).exists();
    if !has("/usr/bin/tmux") || !has("/usr/sbin/telnetd") {
        assert!(std::env::var_os("CI").is_none(), "tmux/telnetd missing in CI");
        eprintln!("skipping: tmux or telnetd missing");
        return;
    }
    let session = format!("pp{}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(["-L", &session])
            .args(args)
            .output()
            .unwrap()
    };
    let inner = format!(
        "trap 'kill $(jobs -p) 2>/dev/null' EXIT; \
         socat TCP-LISTEN:23,reuseaddr,fork EXEC:'/usr/sbin/telnetd -h -E /bin/cat',nofork </dev/null >/dev/null 2>&1 & \
         sleep 0.3; stty -a | grep -o -- '-\\?icanon' | sed 's/^/before: /'; {} connect --telnet 127.0.0.1 23; \
         echo exit=$?; stty -a | grep -o -- '-\\?icanon' | sed 's/^/after: /'; {} connect --telnet 127.0.0.1 23; \
         echo exit2=$?; stty -a | grep -o -- '-\\?icanon' | sed 's/^/after2: /'; sleep 30",
        bin(),
        bin()
    );
    let script = format!(
        "exec unshare -rn {} bash -c \"{}\"",
        testbed("netns.sh").display(),
        // `$` escaped too: the outer shell would expand `$?` before bash runs.
        inner.replace('"', "\\\"").replace('$', "\\$")
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "100",
        "-y",
        "30",
        &script,
    ]);
    let pane = || String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &session]).stdout).into_owned();
    let wait_for = |needle: &str| {
        for _ in 0..100 {
            if pane().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    };
    assert!(wait_for("escape key is Ctrl-]"), "{}", pane());
    tmux(&["send-keys", "-t", &session, "typed in raw mode", "Enter"]);
    assert!(wait_for("typed in raw mode"), "{}", pane());
    // The escape key opens the telnet> prompt; quit ends the session.
    tmux(&["send-keys", "-t", &session, "C-]"]);
    assert!(wait_for("telnet>"), "{}", pane());
    tmux(&["send-keys", "-t", &session, "quit", "Enter"]);
    assert!(wait_for("after: "), "{}", pane());
    // The second session ends by SIGTERM: exit 143, terminal restored all the same.
    for _ in 0..100 {
        if pane().matches("escape key is Ctrl-]").count() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let pattern = format!("^{} connect --telnet 127.0.0.1 23$", bin());
    Command::new("pkill")
        .args(["-TERM", "-f", &pattern])
        .status()
        .unwrap();
    assert!(wait_for("after2: "), "{}", pane());
    let screen = pane();
    tmux(&["kill-server"]);
    assert!(screen.contains("exit=0"), "{screen}");
    assert!(screen.contains("before: icanon"), "{screen}");
    assert!(
        screen.contains("after: icanon"),
        "the terminal is restored: {screen}"
    );
}

#[test]
fn local_address_and_port_and_max_conns() {
    if !require_namespaces("local_side") {
        return;
    }
    let snippet = r#"
        "$PORTPROBE" listen 127.0.0.1:7401 -v > /dev/null 2> /tmp/pp-src.$$ & l=$!
        # -v loads the fingerprint database before binding: wait for the socket, not a guess.
        for i in $(seq 200); do ss -Htln 'sport = :7401' | grep -q . && break; sleep 0.05; done
        echo hi | "$PORTPROBE" connect -s 127.0.0.2 -p 40123 127.0.0.1 7401; wait $l
        grep -o 'connection from .*' /tmp/pp-src.$$
        sleep 3 2>/dev/null | "$PORTPROBE" listen -k --max-conns 1 127.0.0.1:7402 > /dev/null 2> /tmp/pp-max.$$ & l=$!; sleep 0.3
        (sleep 2) | "$PORTPROBE" connect 127.0.0.1 7402 -q 1s & c=$!; sleep 0.3
        echo x | "$PORTPROBE" connect 127.0.0.1 7402; wait $c; kill -INT $l; wait $l
        grep -o 'refused, --max-conns 1 reached' /tmp/pp-max.$$
        rm -f /tmp/pp-src.$$ /tmp/pp-max.$$"#;
    let out = shell_in("netns.sh", snippet);
    let text = stdout(&out);
    assert!(
        text.contains("connection from 127.0.0.2:40123"),
        "{text}{}",
        stderr(&out)
    );
    assert!(
        text.contains("refused, --max-conns 1 reached"),
        "{text}{}",
        stderr(&out)
    );
}

#[test]
fn tls_options_imply_tls_never_plaintext_in_silence() {
    if !require_namespaces("tls_implied") {
        return;
    }
    // Issue 11 item 3: `--tls-verify` without `--tls` ran a plaintext session and exited 0, and
    // `listen --cert/--key` without `--tls` served plaintext. As with ncat's --ssl-verify and
    // --ssl-cert, the option implies TLS.
    let snippet = r#"
        d=$(mktemp -d)
        socat -u TCP-LISTEN:7401,reuseaddr OPEN:$d/got,creat </dev/null & s=$!; sleep 0.3
        echo secret | timeout 10 "$PORTPROBE" connect --tls-verify 127.0.0.1 7401 -w 1s 2>/dev/null
        echo "verify rc=$?"; kill $s 2>/dev/null; wait $s 2>/dev/null
        echo "plaintext seen: $(grep -c secret $d/got)"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
            -subj /CN=localhost -keyout $d/k.pem -out $d/c.pem 2>/dev/null
        timeout 10 "$PORTPROBE" listen --cert $d/c.pem --key $d/k.pem 127.0.0.1:7402 > $d/out 2>/dev/null & l=$!
        sleep 0.5
        echo "over tls" | timeout 10 "$PORTPROBE" connect --tls --insecure 127.0.0.1 7402 -w 2s
        echo "connect rc=$?"; wait $l; echo "listen rc=$?; got: $(cat $d/out)"
        rm -rf "$d""#;
    let out = shell_in("netns.sh", snippet);
    assert_eq!(
        stdout(&out),
        "verify rc=1\nplaintext seen: 0\nconnect rc=0\nlisten rc=0; got: over tls\n",
        "{}",
        stderr(&out)
    );
}

#[test]
fn signals_end_a_tls_handshake_or_starttls_dialogue() {
    if !require_namespaces("tls_signals") {
        return;
    }
    // Issue 11 item 7: SIGINT/SIGTERM were ignored during a TLS handshake or a STARTTLS
    // dialogue (exit only at the -w deadline, with 1 instead of 130/143).
    let snippet = r#"
        socat TCP-LISTEN:7700,reuseaddr,fork SYSTEM:'sleep 30' >/dev/null 2>&1 & s=$!; sleep 0.3
        t() { sig=$1; shift; timeout 15 "$PORTPROBE" "$@" </dev/null 2>/dev/null & p=$!; sleep 0.7; kill -$sig $p; wait $p; echo "rc=$?"; }
        t INT connect --tls 127.0.0.1 7700 -w 12s
        t TERM connect --starttls smtp 127.0.0.1 7700 -w 12s
        timeout 15 "$PORTPROBE" listen --tls 127.0.0.1:7701 </dev/null 2>/dev/null & l=$!; sleep 0.5
        socat -u EXEC:'sleep 30' TCP:127.0.0.1:7701 >/dev/null 2>&1 & c=$!; sleep 0.5
        kill -TERM $l; wait $l; echo "rc=$?"; kill $c $s"#;
    let start = std::time::Instant::now();
    let out = shell_in("netns.sh", snippet);
    assert_eq!(stdout(&out), "rc=130\nrc=143\nrc=143\n", "{}", stderr(&out));
    // A bounded wait, not a speed claim: the -w deadline (12 s) must not be what ended them.
    assert!(start.elapsed() < Duration::from_secs(10), "{:?}", start.elapsed());
}

#[test]
fn keep_open_uses_the_session_pump_escape_crlf_idle() {
    if !require_namespaces("keep_open_pump") {
        return;
    }
    // Issue 11 item 2: `listen -k` had its own pump: --escape, -i and -C were ignored.
    let snippet = r#"
        d=$(mktemp -d)
        sleep 3 2>/dev/null | "$PORTPROBE" listen -k --escape 127.0.0.1:7801 > $d/esc 2>/dev/null & l=$!; sleep 0.3
        printf '\x1b]0;x\x07hi\n' | "$PORTPROBE" connect 127.0.0.1 7801 -N
        sleep 0.3; kill -INT $l; wait $l; echo "escape: $(cat $d/esc)"
        (sleep 0.8; printf 'a\nb\n') 2>/dev/null | "$PORTPROBE" listen -k -C 127.0.0.1:7802 2>/dev/null & l=$!; sleep 0.3
        timeout 5 "$PORTPROBE" connect 127.0.0.1 7802 --recv-only > $d/crlf; echo "crlf rc=$?: $(od -An -c $d/crlf | tr -s ' ')"
        kill -INT $l; wait $l
        sleep 8 2>/dev/null | "$PORTPROBE" listen -k -i 500ms 127.0.0.1:7803 2>$d/err & l=$!; sleep 0.3
        timeout 4 "$PORTPROBE" connect 127.0.0.1 7803 --recv-only; echo "idle client rc=$?"
        kill -INT $l; wait $l; sed 's/127.0.0.1:[0-9]*/PEER/' $d/err
        rm -rf $d"#;
    let out = shell_in("netns.sh", snippet);
    assert_eq!(
        stdout(&out),
        "escape: \\x1b]0;x\\x07hi\n\
         crlf rc=0:  a \\r \\n b \\r \\n\n\
         idle client rc=0\n\
         portprobe: PEER: idle timeout: nothing sent or received; closed\n",
        "{}",
        stderr(&out)
    );
}

#[test]
fn keep_open_exits_on_a_signal_while_a_client_stays() {
    if !require_namespaces("keep_open_signal") {
        return;
    }
    // Issue 11 item 8: `listen -k` waited for a connected client to leave (18-28 s) after
    // SIGINT/SIGTERM. It must be gone within 5 s (a generous bound).
    let snippet = r#"
        for sig in INT TERM; do
            sleep 9 2>/dev/null | "$PORTPROBE" listen -k 127.0.0.1:7804 >/dev/null 2>&1 & l=$!; sleep 0.3
            socat -u EXEC:'sleep 9' TCP:127.0.0.1:7804 >/dev/null 2>&1 & c=$!; sleep 0.5
            kill -$sig $l
            for i in $(seq 50); do kill -0 $l 2>/dev/null || break; sleep 0.1; done
            if kill -0 $l 2>/dev/null; then echo "still running"; kill -9 $l; fi
            wait $l; echo "rc=$?"; kill $c
        done"#;
    let out = shell_in("netns.sh", snippet);
    assert_eq!(stdout(&out), "rc=130\nrc=143\n", "{}", stderr(&out));
}

#[test]
fn a_failed_write_of_received_data_is_an_error() {
    if !require_namespaces("dev_full") {
        return;
    }
    // Issue 11 item 17: `connect … > /dev/full` and `--help > /dev/full` exited 0 with nothing
    // on stderr: the received data was lost in silence.
    let snippet = r#"
        socat TCP-LISTEN:7805,reuseaddr,fork SYSTEM:'echo hello; sleep 0.5' >/dev/null 2>&1 & s=$!; sleep 0.3
        "$PORTPROBE" connect 127.0.0.1 7805 </dev/null >/dev/full; echo "connect rc=$?"
        "$PORTPROBE" --help >/dev/full; echo "help rc=$?"
        sleep 3 2>/dev/null | timeout 10 "$PORTPROBE" listen -k 127.0.0.1:7806 >/dev/full & l=$!; sleep 0.3
        echo data | "$PORTPROBE" connect 127.0.0.1 7806 -N 2>/dev/null; wait $l; echo "listen -k rc=$?"
        kill $s"#;
    let out = shell_in("netns.sh", snippet);
    assert_eq!(
        stdout(&out),
        "connect rc=1\nhelp rc=1\nlisten -k rc=1\n",
        "{}",
        stderr(&out)
    );
    let line = "portprobe: cannot write output: No space left on device (os error 28)\n";
    assert_eq!(stderr(&out), line.repeat(3));
}

#[test]
fn connect_and_ping_fall_back_to_the_next_address_of_a_name() {
    if !require_namespaces("happy_eyeballs") {
        return;
    }
    // Issue 11 item 18: only the first address of a name was used, so a dual-stack name whose
    // first address refuses failed where nc succeeds. The name lives in a private /etc/hosts
    // (a mount namespace of the test's own); only the other address listens.
    let snippet = r#"
        h=$(mktemp); printf '::1 dual.test\n127.0.0.1 dual.test\n' > $h; mount --bind $h /etc/hosts
        first=$(getent ahosts dual.test | head -1 | cut -d' ' -f1)
        if [ "$first" = "::1" ]; then other=127.0.0.1; listen=TCP4-LISTEN; else other=::1; listen=TCP6-LISTEN; fi
        socat $listen:7960,reuseaddr,fork SYSTEM:"echo hello from $other" >/dev/null 2>&1 & s=$!; sleep 0.3
        "$PORTPROBE" connect dual.test 7960 -w 2s </dev/null | sed "s/$other/OTHER/"; echo "connect rc=${PIPESTATUS[0]}"
        "$PORTPROBE" ping dual.test -p 7960 -c 1 --json | grep -c '"result":"connected"'; echo "ping rc=${PIPESTATUS[0]}"
        kill $s; umount /etc/hosts; rm -f $h"#;
    let out = Command::new("unshare")
        .args(["-rmn"])
        .arg(testbed("netns.sh"))
        .args(["bash", "-c", snippet])
        .env("PORTPROBE", bin())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out),
        "hello from OTHER\nconnect rc=0\n1\nping rc=0\n",
        "{}",
        stderr(&out)
    );
}
