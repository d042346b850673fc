//! Services that answer only in their own binary protocol. Real Debian daemons in a namespace
//! of their own (tests/testbed/directory.sh: smbd, slapd, Xvfb, x11vnc), and, where Debian has
//! no package (Microsoft SQL Server, MongoDB), small servers written here from the protocol
//! specifications, run by this test binary itself inside an empty namespace (netns.sh).

use crate::common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The programs of the bed, for the skip message.
const DIRECTORY_BED_PROGRAMS: &[&str] = &[
    "/usr/sbin/smbd",
    "/usr/sbin/slapd",
    "/usr/bin/Xvfb",
    "/usr/bin/x11vnc",
];

fn require_directory_bed(test: &str) -> bool {
    require_bed_programs(test, DIRECTORY_BED_PROGRAMS)
}

#[test]
fn smb_ldap_x11_vnc_daemons_are_named_from_their_binary_answers() {
    if !require_directory_bed("testbed_binary") {
        return;
    }
    let out = Command::new("unshare")
        .arg("-n")
        .arg(testbed("directory.sh"))
        .arg(bin())
        .args(["scan", "127.0.0.1", "-p", "389,445,5900,6005", "--json"])
        .stdin(Stdio::null())
        .output()
        .expect("run unshare");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let ports = by_port(&out);
    assert_eq!(ports.len(), 4, "{}", stdout(&out));
    for v in ports.values() {
        assert_eq!(v["state"], "open", "{v}");
    }

    // smbd: the SMB2 dialogue reaches the NTLMSSP challenge, whose VERSION is Samba's 6.1.0.
    let s = &ports[&445]["service"];
    assert_eq!(s["name"], "microsoft-ds", "{s}");
    assert_eq!(s["product"], "Samba smbd", "{s}");
    assert_eq!(s["hostname"], "FILESRV", "{s}");
    // A standalone server's NTLM domain is its own name; Samba 4.3 and later speak SMB 3.1.1.
    assert_eq!(s["info"], "domain FILESRV, SMB 3.1.1", "{s}");
    assert_eq!(s["confidence"], "hard", "{s}");
    assert_eq!(ports[&445]["service"]["probe"], "smb2", "{}", ports[&445]);

    // slapd: the root DSE's object class names OpenLDAP.
    let s = &ports[&389]["service"];
    assert_eq!(
        (s["name"].as_str(), s["product"].as_str()),
        (Some("ldap"), Some("OpenLDAP")),
        "{s}"
    );

    // Xvfb: X.Org's vendor string and release number (21.1.x → 21.1).
    let (xvfb, _) = deb_version("xvfb");
    let major_minor: Vec<&str> = xvfb.split('.').take(2).collect();
    let s = &ports[&6005]["service"];
    assert_eq!(
        (s["name"].as_str(), s["product"].as_str()),
        (Some("X11"), Some("X.Org X server")),
        "{s}"
    );
    assert_eq!(s["version"], major_minor.join("."), "{s}");

    // x11vnc without a password offers the single security type None (1).
    let s = &ports[&5900]["service"];
    assert_eq!(s["name"], "vnc", "{s}");
    assert_eq!(s["info"], "protocol 003.008, security types 1", "{s}");
}

// ---- Servers written from the specifications (no Debian package exists) ----

/// Reads what the client sends within `wait` (nothing if it sends nothing).
fn read_some(s: &mut TcpStream, wait: Duration) -> Vec<u8> {
    s.set_read_timeout(Some(wait)).ok();
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        s.set_read_timeout(Some(Duration::from_millis(100))).ok();
    }
    got
}

/// MS-TDS §2.2.6.5: a PRELOGIN request (packet type 0x12) is answered with a PRELOGIN
/// response (type 0x04) whose VERSION is 16.0.1000 (SQL Server 2022 RTM); anything else is
/// dropped, as SQL Server drops what is not TDS.
fn mssql_answer(request: &[u8]) -> Option<Vec<u8>> {
    if request.first() != Some(&0x12) {
        return None;
    }
    let opts: [(u8, &[u8]); 4] = [(0, &[16, 0, 0x03, 0xe8, 0, 0]), (1, &[2]), (2, &[0]), (4, &[0])];
    let mut table = Vec::new();
    let mut data = Vec::new();
    let mut offset = (opts.len() * 5 + 1) as u16;
    for (token, value) in opts {
        table.push(token);
        table.extend_from_slice(&offset.to_be_bytes());
        table.extend_from_slice(&(value.len() as u16).to_be_bytes());
        data.extend_from_slice(value);
        offset += value.len() as u16;
    }
    table.push(0xff);
    table.extend(data);
    let mut out = vec![0x04, 0x01];
    out.extend_from_slice(&((8 + table.len()) as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 1, 0]);
    out.extend(table);
    Some(out)
}

/// MongoDB wire protocol: an OP_MSG (2013) request is answered with an OP_MSG whose body is a
/// buildInfo reply (BSON): version 7.0.14, ok 1.0; responseTo is the request's requestID.
fn mongodb_answer(request: &[u8]) -> Option<Vec<u8>> {
    if request.len() < 16 || request[12..16] != 2013u32.to_le_bytes() {
        return None;
    }
    let mut elements = Vec::new();
    let string = |e: &mut Vec<u8>, name: &str, value: &str| {
        e.push(0x02);
        e.extend_from_slice(name.as_bytes());
        e.push(0);
        e.extend_from_slice(&((value.len() + 1) as u32).to_le_bytes());
        e.extend_from_slice(value.as_bytes());
        e.push(0);
    };
    string(&mut elements, "version", "7.0.14");
    string(
        &mut elements,
        "gitVersion",
        "ce59cfc6a3c5e5c067dca0d30697edd68d4f5188",
    );
    elements.push(0x01);
    elements.extend_from_slice(b"ok\0");
    elements.extend_from_slice(&1.0f64.to_le_bytes());
    let mut doc = ((elements.len() + 5) as u32).to_le_bytes().to_vec();
    doc.extend(elements);
    doc.push(0);
    let mut out = ((16 + 4 + 1 + doc.len()) as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&7u32.to_le_bytes());
    out.extend_from_slice(&request[4..8]);
    out.extend_from_slice(&2013u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.push(0);
    out.extend(doc);
    Some(out)
}

/// Not a test on its own: with PORTPROBE_SPEC_SERVER=KIND:PORT set (by the tests below, in a
/// namespace of their own), serves KIND on 127.0.0.1:PORT until killed.
#[test]
fn spec_server() {
    let Ok(spec) = std::env::var("PORTPROBE_SPEC_SERVER") else {
        return;
    };
    let (kind, port) = spec.split_once(':').expect("KIND:PORT");
    let answer: fn(&[u8]) -> Option<Vec<u8>> = match kind {
        "mssql" => mssql_answer,
        "mongodb" => mongodb_answer,
        other => panic!("unknown spec server {other}"),
    };
    let listener = TcpListener::bind(("127.0.0.1", port.parse::<u16>().unwrap())).unwrap();
    // Whatever happens to the scan, the server does not outlive it by much.
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(60));
        std::process::exit(0);
    });
    for conn in listener.incoming() {
        let Ok(mut s) = conn else { continue };
        std::thread::spawn(move || {
            let request = read_some(&mut s, Duration::from_secs(3));
            if let Some(reply) = answer(&request) {
                let _ = s.write_all(&reply);
                let _ = read_some(&mut s, Duration::from_secs(1));
            }
        });
    }
}

/// Runs the spec server KIND on PORT and one scan of it inside an empty namespace.
fn scan_spec_server(kind: &str, port: u16) -> HashMap<u64, Value> {
    let exe = std::env::current_exe().unwrap();
    let snippet = format!(
        "PORTPROBE_SPEC_SERVER={kind}:{port} '{}' --exact testbed_binary::spec_server --nocapture >/dev/null 2>&1 &\n\
         trap 'kill $!' EXIT\n\
         for i in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && break; sleep 0.05; done\n\
         \"$PORTPROBE\" scan 127.0.0.1 -p {port} --json",
        exe.display()
    );
    let out = shell_in("netns.sh", &snippet);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    by_port(&out)
}

#[test]
fn mssql_prelogin_names_the_release_and_version() {
    if !require_namespaces("mssql_prelogin") {
        return;
    }
    let ports = scan_spec_server("mssql", 1433);
    let s = &ports[&1433]["service"];
    assert_eq!(s["name"], "ms-sql-s", "{s}");
    assert_eq!(s["product"], "Microsoft SQL Server 2022", "{s}");
    assert_eq!(s["version"], "16.0.1000", "{s}");
    assert_eq!(s["probe"], "mssql-prelogin", "{s}");
}

#[test]
fn mongodb_buildinfo_names_the_version() {
    if !require_namespaces("mongodb_buildinfo") {
        return;
    }
    let ports = scan_spec_server("mongodb", 27017);
    let s = &ports[&27017]["service"];
    assert_eq!(
        (s["name"].as_str(), s["product"].as_str(), s["version"].as_str()),
        (Some("mongodb"), Some("MongoDB"), Some("7.0.14")),
        "{s}"
    );
}

#[test]
fn spec_servers_answer_as_the_specifications_say() {
    let tds = mssql_answer(b"\x12\x01\x00\x2f").unwrap();
    let f = portprobe::fingerprint::binary::tds::decode(&tds).unwrap();
    assert_eq!(f[0], ("mssql.version", b"16.0.1000".to_vec()));
    assert_eq!(mssql_answer(b"GET / HTTP/1.0\r\n\r\n"), None);
    let mut req = vec![0u8; 16];
    req[4..8].copy_from_slice(b"PP\0\0");
    req[12..16].copy_from_slice(&2013u32.to_le_bytes());
    let msg = mongodb_answer(&req).unwrap();
    let f = portprobe::fingerprint::binary::mongodb::decode(&msg).unwrap();
    assert_eq!(f[0], ("mongodb.version", b"7.0.14".to_vec()));
}

#[test]
fn table_rows_and_host_line_for_the_binary_daemons() {
    if !require_directory_bed("testbed_binary_table") {
        return;
    }
    let out = shell_in_testbed("directory.sh", r#""$PORTPROBE" scan 127.0.0.1 -p 445,5900"#);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let lines: Vec<&str> = text.lines().collect();
    for want in [
        "445/tcp   open      microsoft-ds     syn-ack         Samba smbd (domain FILESRV, SMB 3.1.1)",
        "5900/tcp  open      vnc              syn-ack         VNC (protocol 003.008, security types 1)",
        "Service info: Host: FILESRV",
    ] {
        assert!(lines.contains(&want), "missing line {want:?} in:\n{text}");
    }
}
