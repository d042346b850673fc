//! Enterprise and name services that answer only when spoken to. Real Debian daemons in a
//! network and mount namespace of their own (tests/testbed/enterprise.sh: xrdp, MIT krb5kdc,
//! Samba's samba-dcerpcd, BIND, Unbound, NSD, Knot DNS, PowerDNS, dnsmasq), and, where Debian
//! has no package (Oracle), a small server written here from the protocol's packet format.
//! Expected versions come from the installed packages (dpkg), never from constants.

use crate::common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::process::{Command, Stdio};

/// The programs of the bed, for the skip message.
const ENTERPRISE_BED_PROGRAMS: &[&str] = &[
    "/usr/sbin/xrdp",
    "/usr/sbin/krb5kdc",
    "/usr/sbin/kdb5_util",
    "/usr/libexec/samba/samba-dcerpcd",
    "/usr/sbin/named",
    "/usr/sbin/unbound",
    "/usr/sbin/nsd",
    "/usr/sbin/knotd",
    "/usr/sbin/pdns_server",
    "/usr/sbin/dnsmasq",
];

fn require_enterprise_bed(test: &str) -> bool {
    require_bed_programs(test, ENTERPRISE_BED_PROGRAMS)
}

/// Each answer of a JSON scan, by `ip:port`.
fn by_target(out: &std::process::Output) -> HashMap<String, Value> {
    json_lines(out)
        .into_iter()
        .map(|v| {
            let key = format!("{}:{}", v["ip"].as_str().unwrap(), v["port"]);
            (key, v)
        })
        .collect()
}

/// Compares fields of one target's service and records every mismatch instead of failing at
/// once, so one run shows every daemon that is named wrong.
fn expect(m: &mut Vec<String>, found: &HashMap<String, Value>, target: &str, want: &[(&str, &str)]) {
    let Some(v) = found.get(target) else {
        m.push(format!("{target}: not in the scan"));
        return;
    };
    for (field, want) in want {
        let got = match *field {
            "state" => v[field].as_str(),
            _ => v["service"][field].as_str(),
        };
        if got != Some(want) && !(want.is_empty() && got.is_none()) {
            m.push(format!("{target} {field}: got {got:?}, want {want:?} in {v}"));
        }
    }
}

/// The addresses of the name servers in enterprise.sh.
const DNS: [&str; 8] = [
    "127.0.0.2",
    "127.0.0.3",
    "127.0.0.4",
    "127.0.0.5",
    "127.0.0.6",
    "127.0.0.7",
    "127.0.0.8",
    "127.0.0.9",
];

#[test]
fn rdp_kerberos_epm_and_name_servers_are_named_from_their_answers() {
    if !require_enterprise_bed("testbed_enterprise") {
        return;
    }
    let mut args = vec!["scan", "127.0.0.1"];
    args.extend(DNS);
    args.extend(["-p", "53,88,135,3389", "--open", "--json"]);
    let out = Command::new("unshare")
        .arg("-nm")
        .arg(testbed("enterprise.sh"))
        .arg(bin())
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .expect("run unshare");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let found = by_target(&out);
    let mut m = Vec::new();

    // xrdp: TLS selected, only EXTENDED_CLIENT_DATA_SUPPORTED set.
    expect(
        &mut m,
        &found,
        "127.0.0.1:3389",
        &[
            ("name", "ms-wbt-server"),
            ("product", "xrdp"),
            ("info", "security TLS"),
            ("confidence", "hard"),
            ("probe", "rdp"),
        ],
    );
    // MIT krb5kdc: its status word in the e-text; our request named no realm, nor does the answer.
    expect(
        &mut m,
        &found,
        "127.0.0.1:88",
        &[
            ("name", "kerberos-sec"),
            ("product", "MIT Kerberos KDC"),
            ("info", ""),
            ("probe", "kerberos"),
        ],
    );
    // samba-dcerpcd: NDR accepted, NDR64 rejected, bind time features acknowledged; no product.
    expect(
        &mut m,
        &found,
        "127.0.0.1:135",
        &[
            ("name", "msrpc"),
            ("product", ""),
            (
                "info",
                "endpoint mapper; contexts: acceptance provider-rejection negotiate-ack",
            ),
            ("confidence", "soft"),
        ],
    );

    let debian = format!("Debian {}", debian_major());
    let (bind, bind_rev) = deb_version("bind9");
    let bind_revision = format!("Debian {bind_rev}");
    expect(
        &mut m,
        &found,
        "127.0.0.2:53",
        &[
            ("name", "domain"),
            ("product", "ISC BIND"),
            ("version", bind.as_str()),
            ("revision", bind_revision.as_str()),
            ("os", debian.as_str()),
            ("probe", "dns-version"),
        ],
    );
    let daemons = [
        ("127.0.0.3:53", "unbound", "Unbound"),
        ("127.0.0.4:53", "nsd", "NSD"),
        ("127.0.0.5:53", "knot", "Knot DNS"),
        ("127.0.0.6:53", "pdns-server", "PowerDNS Authoritative Server"),
        ("127.0.0.7:53", "dnsmasq-base", "dnsmasq"),
    ];
    for (target, package, product) in daemons {
        let (version, _) = deb_version(package);
        expect(
            &mut m,
            &found,
            target,
            &[
                ("name", "domain"),
                ("product", product),
                ("version", version.as_str()),
                ("confidence", "hard"),
            ],
        );
    }
    // BIND with `version none;`: its built-in zone still names it, without a version.
    expect(
        &mut m,
        &found,
        "127.0.0.8:53",
        &[
            ("product", "ISC BIND"),
            ("version", ""),
            ("info", "version hidden"),
        ],
    );
    // Unbound with hide-version: nothing honest names the product.
    expect(
        &mut m,
        &found,
        "127.0.0.9:53",
        &[
            ("name", "domain"),
            ("product", ""),
            ("info", "version.bind: REFUSED"),
            ("confidence", "soft"),
        ],
    );
    assert!(m.is_empty(), "{} mismatch(es):\n{}", m.len(), m.join("\n"));
}

#[test]
fn version_bind_is_reported_as_a_disclosure() {
    if !require_enterprise_bed("testbed_enterprise_audit") {
        return;
    }
    let out = Command::new("unshare")
        .arg("-nm")
        .arg(testbed("enterprise.sh"))
        .arg(bin())
        .args(["scan", "127.0.0.5", "127.0.0.9", "-p", "53", "--audit"])
        .stdin(Stdio::null())
        .output()
        .expect("run unshare");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\nstderr: {}", stderr(&out));
    let (knot, _) = deb_version("knot");
    let want = format!(
        "  ! MEDIUM dns-version-bind: the name server answers the CHAOS TXT query version.bind with its version: Knot DNS {knot}"
    );
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.contains(&want.as_str()), "no line {want:?} in:\n{text}");
    // Unbound with hide-version refuses: no finding for it.
    let findings = lines.iter().filter(|l| l.starts_with("  ! MEDIUM")).count();
    assert_eq!(findings, 1, "{text}");
}

// ---- Oracle TNS: no Debian package; a listener written from the TNS packet format ----

/// Reads one TNS packet (8-byte header, big-endian length first) within a few seconds.
fn read_tns_packet(s: &mut std::net::TcpStream) -> Option<Vec<u8>> {
    use std::io::Read;
    s.set_read_timeout(Some(std::time::Duration::from_secs(3))).ok()?;
    let mut head = [0u8; 8];
    s.read_exact(&mut head).ok()?;
    let len = usize::from(u16::from_be_bytes([head[0], head[1]]));
    let mut body = vec![0u8; len.checked_sub(8)?.min(8192)];
    s.read_exact(&mut body).ok()?;
    let mut p = head.to_vec();
    p.extend(body);
    Some(p)
}

/// A TNS listener as the packet format has it: the first CONNECT (type 1) on a connection is
/// answered with RESEND (type 11), the second with REFUSE (type 4) whose descriptor names an
/// unknown service error and VSNNUM 186647552 (0x0b200400, release 11.2.0.4.0); anything else
/// closes the connection.
fn tns_listener(mut s: std::net::TcpStream) {
    use std::io::Write;
    for n in 0..2 {
        let Some(p) = read_tns_packet(&mut s) else { return };
        if p.get(4) != Some(&1) || p.len() < 28 {
            return;
        }
        if n == 0 {
            let _ = s.write_all(b"\x00\x08\x00\x00\x0b\x00\x00\x00");
            continue;
        }
        let text: &[u8] =
            b"(DESCRIPTION=(TMP=)(VSNNUM=186647552)(ERR=12514)(ERROR_STACK=(ERROR=(CODE=12514)(EMFI=4))))";
        let mut out = ((12 + text.len()) as u16).to_be_bytes().to_vec();
        out.extend_from_slice(&[0, 0, 4, 0, 0, 0, 0x22, 0]);
        out.extend_from_slice(&(text.len() as u16).to_be_bytes());
        out.extend_from_slice(text);
        let _ = s.write_all(&out);
    }
}

/// An HTTP.sys host with a WinRM listener, as public reports show it: POST /wsman without
/// credentials gets 401 with the Negotiate and Kerberos schemes; any other request gets
/// HTTP.sys's 404. Both carry `Server: Microsoft-HTTPAPI/2.0`.
fn winrm_listener(mut s: std::net::TcpStream) {
    use std::io::{Read, Write};
    s.set_read_timeout(Some(std::time::Duration::from_secs(3))).ok();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") && got.len() < 8192 {
        match s.read(&mut buf) {
            Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
            _ => return,
        }
    }
    let reply: &[u8] = if got.starts_with(b"POST /wsman ") {
        b"HTTP/1.1 401 \r\nServer: Microsoft-HTTPAPI/2.0\r\nWWW-Authenticate: Negotiate\r\nWWW-Authenticate: Kerberos\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    } else {
        b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html; charset=us-ascii\r\nServer: Microsoft-HTTPAPI/2.0\r\nConnection: close\r\nContent-Length: 9\r\n\r\nNot Found"
    };
    let _ = s.write_all(reply);
}

/// Not a test on its own: with PORTPROBE_ENTERPRISE_SERVER=KIND:PORT set (by the tests below,
/// in a namespace of their own), serves KIND on 127.0.0.1:PORT until killed or for a minute.
#[test]
fn spec_server() {
    let Ok(spec) = std::env::var("PORTPROBE_ENTERPRISE_SERVER") else {
        return;
    };
    let (kind, port) = spec.split_once(':').expect("KIND:PORT");
    let serve: fn(std::net::TcpStream) = match kind {
        "tns" => tns_listener,
        "winrm" => winrm_listener,
        other => panic!("unknown spec server {other}"),
    };
    let listener = std::net::TcpListener::bind(("127.0.0.1", port.parse::<u16>().unwrap())).unwrap();
    std::thread::spawn(|| {
        std::thread::sleep(std::time::Duration::from_secs(60));
        std::process::exit(0);
    });
    for conn in listener.incoming().flatten() {
        std::thread::spawn(move || serve(conn));
    }
}

/// Runs the spec server KIND on PORT and `portprobe scan 127.0.0.1 -p PORT` inside an empty
/// namespace; returns the table.
fn scan_spec_server(kind: &str, port: u16) -> String {
    let exe = std::env::current_exe().unwrap();
    let snippet = format!(
        "PORTPROBE_ENTERPRISE_SERVER={kind}:{port} '{}' --exact testbed_enterprise::spec_server --nocapture >/dev/null 2>&1 &\n\
         trap 'kill $!' EXIT\n\
         for i in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && break; sleep 0.05; done\n\
         \"$PORTPROBE\" scan 127.0.0.1 -p {port}",
        exe.display()
    );
    let out = shell_in("netns.sh", &snippet);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\nstderr: {}", stderr(&out));
    text
}

#[test]
fn oracle_tns_refusal_names_the_listener_version() {
    if !require_namespaces("oracle_tns") {
        return;
    }
    let text = scan_spec_server("tns", 1521);
    assert_eq!(
        row(&text, 1521),
        [
            "1521/tcp",
            "open",
            "oracle-tns",
            "syn-ack",
            "Oracle",
            "TNS",
            "Listener",
            "11.2.0.4.0"
        ],
        "{text}"
    );
}

#[test]
fn winrm_is_told_from_other_http_sys_services() {
    if !require_namespaces("winrm") {
        return;
    }
    let text = scan_spec_server("winrm", 5985);
    assert_eq!(
        row(&text, 5985),
        [
            "5985/tcp",
            "open",
            "wsman",
            "syn-ack",
            "Microsoft",
            "Windows",
            "Remote",
            "Management"
        ],
        "{text}"
    );
    // The same host's 404 for GET / names only HTTP.sys.
    let text = scan_spec_server("winrm", 8080);
    assert_eq!(
        row(&text, 8080),
        [
            "8080/tcp",
            "open",
            "http",
            "syn-ack",
            "Microsoft",
            "HTTPAPI",
            "2.0",
            "(http.sys)"
        ],
        "{text}"
    );
}
