//! Hostile servers: each scenario is a small server on loopback written here. `scan` (with
//! detection) and `connect` must finish within their documented deadlines plus a margin, never
//! panic, write valid output (every JSON line parses; terminal output escaped) and say the right
//! thing (open; service unknown or right).

use crate::common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Detection deadline used in these tests, and the margin allowed on top of it (connects,
/// process start, a slow CI machine). The bound checks termination, it is not a speed claim.
const DETECT: &str = "2s";
const BOUND: Duration = Duration::from_secs(8);

/// Runs `scan --json` on the port; checks the bound, exit code, JSON validity, and returns the record.
fn scan(port: u16) -> serde_json::Value {
    let start = Instant::now();
    let out = portprobe(&[
        "scan",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "--json",
        "--detect-timeout",
        DETECT,
    ]);
    let took = start.elapsed();
    assert!(took < BOUND, "scan took {took:?}");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    let mut lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{}", stdout(&out));
    let v = lines.remove(0);
    assert_eq!(v["state"], "open");
    v
}

/// Runs the table output too: it must not carry a raw control byte from the server.
fn scan_table_is_clean(port: u16) {
    let out = portprobe(&[
        "scan",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-v",
        "--detect-timeout",
        DETECT,
    ]);
    let text = stdout(&out);
    assert!(
        !text
            .bytes()
            .any(|b| b == 0x1b || b == 0x07 || b == 0 || b == 0x9b || (b < 0x20 && b != b'\n')),
        "raw control bytes in the table: {text:?}"
    );
}

/// `connect` with stdin at EOF and `-q 1s`: must end by itself; stdout is capped by `head`.
fn connect_bounded(port: u16, extra: &str) {
    let start = Instant::now();
    let cmd = format!(
        "{} connect 127.0.0.1 {port} -w 2s -q 1s {extra} </dev/null | head -c 2000000 | wc -c",
        bin()
    );
    let out = Command::new("sh")
        .args(["-c", &cmd])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let took = start.elapsed();
    assert!(took < BOUND, "connect took {took:?}");
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

fn service_is_unknown_or(v: &serde_json::Value, names: &[&str]) {
    let name = v["service"]["name"].as_str().unwrap_or("");
    let conf = v["service"]["confidence"].as_str().unwrap_or("");
    assert!(
        conf == "port-table" || names.contains(&name) || v["service"].is_null(),
        "{v}"
    );
}

fn pump(mut conn: TcpStream, chunk: &[u8]) {
    while conn.write_all(chunk).is_ok() {}
}

#[test]
fn endless_fast_stream() {
    let port = serve(|c| pump(c, &[b'A'; 65536]));
    let v = scan(port);
    service_is_unknown_or(&v, &[]);
    assert!(
        v["banner"].as_str().unwrap().len() <= 64 * 1024,
        "the read cap holds"
    );
    connect_bounded(port, "");
}

#[test]
fn one_byte_every_half_second_forever() {
    let port = serve(|mut c| loop {
        if c.write_all(b"x").is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    });
    let v = scan(port);
    service_is_unknown_or(&v, &[]);
    connect_bounded(port, "");
}

#[test]
fn ten_megabyte_line_without_newline() {
    let port = serve(|mut c| {
        let line = vec![b'L'; 10 << 20];
        let _ = c.write_all(&line);
    });
    let v = scan(port);
    service_is_unknown_or(&v, &[]);
    connect_bounded(port, "");
}

#[test]
fn every_byte_value() {
    let port = serve(|mut c| {
        let all: Vec<u8> = (0..=255).collect();
        let _ = c.write_all(&all);
        std::thread::sleep(Duration::from_secs(3));
    });
    let v = scan(port);
    let hex = v["banner_hex"].as_str().unwrap();
    assert!(hex.starts_with("000102"), "{hex}");
    assert!(hex.ends_with("fdfeff"));
    scan_table_is_clean(port);
    connect_bounded(port, "--escape");
}

#[test]
fn terminal_escapes_in_the_banner() {
    let port = serve(|mut c| {
        let _ = c.write_all(b"220 \x1b[2J\x1b]0;pwned\x07\x9b31m hello\r\n");
        std::thread::sleep(Duration::from_secs(3));
    });
    let v = scan(port);
    assert!(
        v["banner"]
            .as_str()
            .unwrap()
            .contains("\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m"),
        "{v}"
    );
    scan_table_is_clean(port);
}

#[test]
fn reset_right_after_accept() {
    let port = serve(|c| {
        let _ = socket2::SockRef::from(&c).set_linger(Some(Duration::ZERO));
        drop(c);
    });
    let v = scan(port);
    assert_eq!(v["service"]["name"], "tcpwrapped", "{v}");
    connect_bounded(port, "");
}

#[test]
fn accept_and_never_speak_nor_read() {
    let port = serve(|c| {
        std::thread::sleep(Duration::from_secs(30));
        drop(c);
    });
    let v = scan(port);
    service_is_unknown_or(&v, &[]);
    connect_bounded(port, "-i 1s");
}

#[test]
fn tls_looking_junk() {
    let port = serve(|mut c| {
        let mut junk = vec![0x16, 0x03, 0x01, 0xff, 0xff];
        junk.extend((0..20_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
        let _ = c.write_all(&junk);
        std::thread::sleep(Duration::from_secs(3));
    });
    let v = scan(port);
    service_is_unknown_or(&v, &["ssl"]);
    connect_bounded(port, "--tls");
}

#[test]
fn endless_telnet_do_requests() {
    let port = serve(|c| pump(c, &[0xff, 0xfd, 0x18].repeat(4096)));
    let v = scan(port);
    service_is_unknown_or(&v, &["telnet"]);
    connect_bounded(port, "--telnet");
}

#[test]
fn unterminated_telnet_subnegotiation() {
    let port = serve(|mut c| {
        let _ = c.write_all(b"\xff\xfa\x18\x01");
        pump(c, &[b'S'; 65536]);
    });
    let v = scan(port);
    service_is_unknown_or(&v, &["telnet"]);
    connect_bounded(port, "--telnet");
}

#[test]
fn ssh_banner_then_endless_random_bytes() {
    let port = serve(|mut c| {
        let _ = c.write_all(b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n");
        let noise: Vec<u8> = (0..65536u32)
            .map(|i| (i.wrapping_mul(2246822519) >> 7) as u8)
            .collect();
        pump(c, &noise);
    });
    let v = scan(port);
    assert_eq!(
        v["service"]["product"], "OpenSSH",
        "identified from the first line: {v}"
    );
    assert_eq!(v["service"]["version"], "9.6p1");
    assert_eq!(v["service"]["os"], "Ubuntu 24.04");
    connect_bounded(port, "");
}

#[test]
fn http_response_with_endless_headers() {
    let port = serve(|mut c| {
        let mut buf = [0u8; 1024];
        let _ = c.read(&mut buf);
        let _ = c.write_all(b"HTTP/1.1 200 OK\r\n");
        pump(
            c,
            &b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".repeat(1000),
        );
    });
    let v = scan(port);
    service_is_unknown_or(&v, &["http"]);
    connect_bounded(port, "");
}

#[test]
fn listener_whose_backlog_is_full_and_never_accepts() {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into())
        .unwrap();
    socket.listen(1).unwrap();
    let port = socket.local_addr().unwrap().as_socket().unwrap().port();
    // Fill the queue; nobody ever accepts.
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let _fill: Vec<TcpStream> = (0..4)
        .filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok())
        .collect();
    let start = Instant::now();
    let out = portprobe(&[
        "scan",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "--json",
        "--timeout",
        "1s",
        "--detect-timeout",
        DETECT,
    ]);
    assert!(start.elapsed() < BOUND, "{:?}", start.elapsed());
    assert_eq!(out.status.code(), Some(0));
    let v = &json_lines(&out)[0];
    assert!(v["state"] == "open" || v["state"] == "filtered", "{v}");
    connect_bounded(port, "");
    drop(socket);
}

#[test]
fn tls_server_that_stalls_mid_handshake() {
    let port = serve(|mut c| {
        let mut buf = [0u8; 4096];
        let _ = c.read(&mut buf);
        // The start of a ServerHello, then nothing.
        let _ = c.write_all(&[0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00, 0x76, 0x03, 0x03]);
        std::thread::sleep(Duration::from_secs(30));
    });
    let v = scan(port);
    service_is_unknown_or(&v, &["ssl"]);
    connect_bounded(port, "--tls");
}

#[test]
fn tls_server_sending_a_megabyte_certificate_chain() {
    let port = serve(|mut c| {
        let mut buf = [0u8; 4096];
        let _ = c.read(&mut buf);
        // A Certificate handshake message announcing ~1 MB, streamed in maximum-size records.
        let mut hs = vec![0x0b, 0x10, 0x00, 0x00];
        hs.extend(std::iter::repeat_n(0x30u8, 1 << 20));
        for chunk in hs.chunks(16384) {
            let mut record = vec![0x16, 0x03, 0x03];
            record.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
            record.extend_from_slice(chunk);
            if c.write_all(&record).is_err() {
                return;
            }
        }
        std::thread::sleep(Duration::from_secs(5));
    });
    let v = scan(port);
    service_is_unknown_or(&v, &["ssl"]);
    connect_bounded(port, "--tls");
}

#[test]
fn concurrency_one_is_one_connection_at_a_time() {
    // Issue 11 item 16: --concurrency 1 allowed one connection per worker thread at once. The
    // servers log when each connection starts and ends; connections to different ports must not
    // overlap. The server sees a close a moment after the scanner made it (thread wake-up), so
    // overlaps up to 300 ms are that lag; the bug overlapped for the whole detection (>= 1 s).
    use std::sync::{Arc, Mutex};
    type Log = Arc<Mutex<Vec<(usize, Instant, Instant)>>>;
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let mut ports = Vec::new();
    for index in 0..4 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        ports.push(listener.local_addr().unwrap().port().to_string());
        let log = log.clone();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let log = log.clone();
                std::thread::spawn(move || {
                    let start = Instant::now();
                    // Silent until the scanner hangs up, so detection holds the connection.
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut buf = [0u8; 4096];
                    while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
                    log.lock().unwrap().push((index, start, Instant::now()));
                });
            }
        });
    }
    let out = portprobe(&[
        "scan",
        "127.0.0.1",
        "-p",
        &ports.join(","),
        "--concurrency",
        "1",
        "--detect-timeout",
        "1s",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_lines(&out).len(), 4);
    std::thread::sleep(Duration::from_millis(500)); // the last server thread logs its close
    let log = log.lock().unwrap().clone();
    assert!(log.len() >= 4, "{log:?}");
    for (i, a) in log.iter().enumerate() {
        for b in &log[i + 1..] {
            if a.0 == b.0 {
                continue;
            }
            let overlap = a.2.min(b.2).saturating_duration_since(a.1.max(b.1));
            assert!(
                overlap < Duration::from_millis(300),
                "ports {} and {} had connections open together for {overlap:?}",
                a.0,
                b.0
            );
        }
    }
}
