//! Helpers for integration tests: the binary under test, and running it inside a network
//! namespace built by a test-bed script (so tests only ever touch that namespace's loopback).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_portprobe")
}

pub fn testbed(script: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/testbed")
        .join(script)
}

/// Why namespace tests cannot run here, if they cannot.
fn namespace_problem() -> Option<String> {
    let works = |cmd: &mut Command| {
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !works(Command::new("unshare").args(["-rn", "true"])) {
        return Some("`unshare -rn true` fails: user/network namespaces are unavailable".into());
    }
    for tool in [["nft", "--version"], ["socat", "-V"], ["ip", "-V"]] {
        if !works(Command::new(tool[0]).arg(tool[1])) {
            return Some(format!(
                "`{}` is not installed (scripts/test installs it when run as root)",
                tool[0]
            ));
        }
    }
    None
}

/// Checks that namespace tests can run. In CI a missing capability fails the test with the
/// reason; elsewhere the test is skipped with the reason printed.
pub fn require_namespaces(test: &str) -> bool {
    match namespace_problem() {
        None => true,
        Some(why) if std::env::var_os("CI").is_some() => panic!("{test}: cannot run in CI: {why}"),
        Some(why) => {
            eprintln!("skipping {test}: {why}");
            false
        }
    }
}

/// Runs `portprobe ARGS` inside a fresh namespace prepared by `script`.
pub fn portprobe_in(script: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new("unshare");
    cmd.arg("-rn").arg(testbed(script)).arg(bin()).args(args);
    cmd.stdin(Stdio::null());
    cmd.output().expect("run unshare")
}

/// Runs a shell snippet inside a fresh namespace prepared by `script`; `$PORTPROBE` is the binary.
pub fn shell_in(script: &str, snippet: &str) -> Output {
    shell_with("-rn", script, snippet)
}

/// `unshare FLAG SCRIPT bash -c SNIPPET`, with `$PORTPROBE` set.
fn shell_with(flag: &str, script: &str, snippet: &str) -> Output {
    Command::new("unshare")
        .arg(flag)
        .arg(testbed(script))
        .args(["bash", "-c", snippet])
        .env("PORTPROBE", bin())
        .stdin(Stdio::null())
        .output()
        .expect("run unshare")
}

/// Runs portprobe directly (no namespace): only for cases that fail before any packet is sent.
/// Serves each connection to 127.0.0.1 with `handle` on a thread of its own; returns the port.
pub fn serve(handle: fn(std::net::TcpStream)) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || handle(conn));
        }
    });
    port
}

pub fn portprobe(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run portprobe")
}

/// What a run did, for failure messages: the command line, the exit status, stdout, stderr.
pub fn explain(args: &[&str], out: &Output) -> String {
    format!(
        "command: portprobe {}\nstatus: {}\n--- stdout\n{}--- stderr\n{}",
        args.iter()
            .map(|a| format!("{a:?}"))
            .collect::<Vec<_>>()
            .join(" "),
        out.status,
        stdout(out),
        stderr(out)
    )
}

/// Runs portprobe and checks its exit code; on a mismatch the failure shows the whole run.
pub fn portprobe_expect(args: &[&str], code: i32) -> Output {
    let out = portprobe(args);
    assert_eq!(out.status.code(), Some(code), "\n{}", explain(args, &out));
    out
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Parses JSON Lines output (every line must be a complete JSON object) and returns its records
/// without a scan's framing (`start`, `finding`, `host`, `summary`): a scan's `port` records, ping's
/// `attempt` and `stats`, `port`'s knowledge entries.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    json_records(&stdout(out))
        .into_iter()
        .filter(|v| !["start", "finding", "host", "summary"].contains(&v["type"].as_str().unwrap_or("")))
        .collect()
}

/// The port records of a `--json` run, by port number.
pub fn by_port(out: &Output) -> std::collections::HashMap<u64, serde_json::Value> {
    json_lines(out)
        .into_iter()
        .filter_map(|v| Some((v["port"].as_u64()?, v)))
        .collect()
}

/// The port records of one protocol (`tcp`, `udp`) of a `--json` run, by port number.
pub fn by_port_of(out: &Output, proto: &str) -> std::collections::HashMap<u64, serde_json::Value> {
    json_lines(out)
        .into_iter()
        .filter(|v| v["type"] == "port" && v["proto"] == proto)
        .filter_map(|v| Some((v["port"].as_u64()?, v)))
        .collect()
}

/// A bed's scan of its TCP and UDP ports checked: each expectation, and every port open. Returns
/// the mismatches (one line each) and the TCP records by port, for checks of the bed's own.
pub fn bed_mismatches(
    out: &Output,
    (tcp_wants, udp_wants): (&[Want], &[Want]),
    (tcp_ports, udp_ports): (&[u16], &[u16]),
) -> (Vec<String>, std::collections::HashMap<u64, serde_json::Value>) {
    let (tcp, udp) = (by_port_of(out, "tcp"), by_port_of(out, "udp"));
    let mut m = mismatches(&tcp, tcp_wants);
    m.extend(
        mismatches(&udp, udp_wants)
            .into_iter()
            .map(|l| l.replacen("/tcp", "/udp", 1)),
    );
    for (proto, got, want) in [("tcp", &tcp, tcp_ports), ("udp", &udp, udp_ports)] {
        for port in want {
            match got.get(&u64::from(*port)) {
                Some(v) if v["state"] == "open" => {}
                other => m.push(format!("{port}/{proto}: not open: {other:?}")),
            }
        }
    }
    (m, tcp)
}

/// Every JSON Lines record of `text` (a scan's start, port, finding, host and summary records).
pub fn json_records(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The words of the table row for `port/tcp`; a failure shows the table it searched.
pub fn row(table: &str, port: u16) -> Vec<String> {
    table_row(table, port).unwrap_or_else(|| panic!("no row for {port}/tcp in the table:\n{table}"))
}

/// The words of the table row for `port/tcp`, if there is one.
pub fn table_row(out: &str, port: u16) -> Option<Vec<String>> {
    let tag = format!("{port}/tcp");
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(tag.as_str()))
        .map(|l| l.split_whitespace().map(String::from).collect())
}

/// Why the daemon test bed cannot run here, if it cannot: it needs real root (daemons switch
/// to their own users) and the daemons' Debian packages.
fn testbed_problem() -> Option<String> {
    if let Some(p) = namespace_problem() {
        return Some(p);
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("the daemon test bed needs root (run ./scripts/test as root)".into());
    }
    for bin in [
        "/usr/sbin/sshd",
        "/usr/sbin/nginx",
        "/usr/sbin/vsftpd",
        "/usr/sbin/postfix",
        "/usr/sbin/dovecot",
        "/usr/bin/redis-server",
        "/usr/bin/memcached",
        "/usr/sbin/mariadbd",
    ] {
        if !std::path::Path::new(bin).exists() {
            return Some(format!(
                "{bin} is missing (scripts/test installs the test-bed packages as root)"
            ));
        }
    }
    None
}

/// Like [`require_namespaces`], for tests that use the daemon test bed.
pub fn require_testbed(test: &str) -> bool {
    match testbed_problem() {
        None => true,
        Some(why) if std::env::var_os("CI").is_some() => panic!("{test}: cannot run in CI: {why}"),
        Some(why) => {
            eprintln!("skipping {test}: {why}");
            false
        }
    }
}

/// Runs `portprobe ARGS` inside a fresh network namespace holding the daemon test bed.
/// Without a user namespace (`unshare -n`, as root), so the daemons can switch users.
pub fn portprobe_in_testbed(args: &[&str]) -> Output {
    Command::new("unshare")
        .arg("-n")
        .arg(testbed("daemons.sh"))
        .arg(bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run unshare")
}

/// Runs a shell snippet inside a fresh namespace holding a root test bed (`daemons.sh`,
/// `tls.sh`, `hardened.sh`); no user namespace, so the daemons can switch users.
pub fn shell_in_testbed(script: &str, snippet: &str) -> Output {
    shell_with("-n", script, snippet)
}

/// The upstream version of an installed Debian package (`1:9.2p1-2+deb12u10` → `9.2p1`), and
/// its Debian revision (`2+deb12u10`).
pub fn deb_version(package: &str) -> (String, String) {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", package])
        .output()
        .expect("dpkg-query");
    let full = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!full.is_empty(), "package {package} is not installed");
    let no_epoch = full.split_once(':').map_or(full.as_str(), |(_, v)| v);
    let (upstream, revision) = no_epoch.rsplit_once('-').unwrap_or((no_epoch, ""));
    (upstream.to_string(), revision.to_string())
}

/// The upstream version of a Debian package as the software itself knows it: without the
/// suffix Debian adds to a repacked source (`6.0.14+dfsg` → `6.0.14`, `1.1.20+ds` → `1.1.20`,
/// `1.19.2~ds1` → `1.19.2`, `2.11.2p3~dfsg` → `2.11.2p3`).
pub fn upstream(package: &str) -> String {
    strip_repack(deb_version(package).0)
}

/// The first two components of a version (`6.2.0` → `6.2`).
pub fn major_minor(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// The same for a package the test beds run unpacked (not installed): its candidate version,
/// the one `apt-get download` fetches (`4.96-15+deb12u10` → `4.96`).
pub fn upstream_candidate(package: &str) -> String {
    let (version, _) = candidate_version(package);
    strip_repack(version)
}

/// The Debian revision of a package's candidate version (`8.17.1.9-2+deb12u2` → `2+deb12u2`).
pub fn revision_candidate(package: &str) -> String {
    candidate_version(package).1
}

/// A package's candidate version, without its epoch, split into upstream version and revision.
fn candidate_version(package: &str) -> (String, String) {
    let out = Command::new("apt-cache")
        .args(["policy", package])
        .output()
        .expect("apt-cache policy");
    let text = String::from_utf8_lossy(&out.stdout);
    let full = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Candidate: "))
        .unwrap_or_else(|| panic!("apt-cache policy {package} names no candidate: {text}"));
    let no_epoch = full.split_once(':').map_or(full, |(_, v)| v);
    let (version, revision) = no_epoch.rsplit_once('-').unwrap_or((no_epoch, ""));
    (version.to_string(), revision.to_string())
}

fn strip_repack(version: String) -> String {
    match ["+dfsg", "~dfsg", "+ds", "~ds"]
        .iter()
        .find_map(|s| version.split_once(s))
    {
        Some((v, _)) => v.to_string(),
        None => version,
    }
}

/// This machine's host name, which some daemons report (apcupsd, gkrellmd, xl2tpd); a test
/// bed's network namespace shares it.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("read the host name")
        .trim()
        .to_string()
}

/// Debian's major release number on this machine (from /etc/debian_version).
pub fn debian_major() -> String {
    std::fs::read_to_string("/etc/debian_version")
        .unwrap_or_default()
        .split('.')
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Whether the proxy test bed can run here (root, namespaces, dante-server and tinyproxy).
pub fn require_proxies(test: &str) -> bool {
    if !require_namespaces(test) {
        return false;
    }
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let have = ["/usr/sbin/danted", "/usr/bin/tinyproxy"]
        .iter()
        .all(|p| std::path::Path::new(p).exists());
    if root && have {
        return true;
    }
    let why = if root {
        "dante-server or tinyproxy is missing (scripts/test installs them as root)"
    } else {
        "the proxy test bed needs root (run ./scripts/test as root)"
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: cannot run in CI: {why}"
    );
    eprintln!("skipping {test}: {why}");
    false
}

/// Whether the root test bed and every program in `bed` are here: in CI a missing one is a
/// failure (the install step should have put it there); elsewhere the test is skipped, saying why.
pub fn require_bed_programs(test: &str, bed: &[&str]) -> bool {
    if !require_testbed(test) {
        return false;
    }
    match bed.iter().find(|p| !std::path::Path::new(p).exists()) {
        None => true,
        Some(bin) if std::env::var_os("CI").is_some() => {
            panic!("{test}: cannot run in CI: {bin} is missing")
        }
        Some(bin) => {
            eprintln!("skipping {test}: {bin} is missing (scripts/test installs it as root)");
            false
        }
    }
}

/// One expected identity field of one port.
pub struct Want {
    pub port: u64,
    pub key: &'static str,
    pub value: String,
}

pub fn want(port: u64, key: &'static str, value: impl Into<String>) -> Want {
    Want {
        port,
        key,
        value: value.into(),
    }
}

/// Every mismatch between scanned `ports` (JSON records by port) and `wants`, one line each.
pub fn mismatches(ports: &std::collections::HashMap<u64, serde_json::Value>, wants: &[Want]) -> Vec<String> {
    wants
        .iter()
        .filter_map(|w| {
            let got = ports.get(&w.port).map(|v| &v["service"][w.key]);
            (got.and_then(serde_json::Value::as_str) != Some(w.value.as_str())).then(|| {
                format!(
                    "{}/tcp {}: want {:?}, got {}",
                    w.port,
                    w.key,
                    w.value,
                    got.map_or("no such port".to_string(), serde_json::Value::to_string)
                )
            })
        })
        .collect()
}

/// Reads exactly `n` bytes within three seconds, or nothing (for servers written in the tests).
pub fn read_n(s: &mut std::net::TcpStream, n: usize) -> Option<Vec<u8>> {
    use std::io::Read;
    s.set_read_timeout(Some(std::time::Duration::from_secs(3))).ok()?;
    let mut buf = vec![0u8; n];
    s.read_exact(&mut buf).ok()?;
    Some(buf)
}

/// Runs the test bed `script` (tests/testbed/) in a network namespace of its own with
/// `portprobe ARGS` inside, after its `--fetch` step (outside the namespace) has fetched the
/// packages it runs unpacked.
pub fn fetched_bed(script: &str, args: &[&str]) -> Output {
    let fetch = std::process::Command::new(testbed(script))
        .arg("--fetch")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {script} --fetch: {e}"));
    assert_eq!(
        fetch.status.code(),
        Some(0),
        "{script} --fetch: {}",
        stderr(&fetch)
    );
    std::process::Command::new("unshare")
        .arg("-n")
        .arg(testbed(script))
        .arg(bin())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run unshare")
}
