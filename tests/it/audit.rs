//! `portprobe audit` against real daemons: the Debian defaults (each expected finding asserted)
//! and the hardened test bed where each recommended fix is applied (the finding disappears or
//! drops to its documented level); `--fail-on` exit codes and `--baseline`.

use crate::common::*;
use std::collections::{BTreeSet, HashMap};

const PORTS: &str = "21,22,25,80,110,143,6379";

/// port -> set of (finding id, severity, evidence)
type Found = HashMap<u64, BTreeSet<(String, String, String)>>;

fn audit(script: &str, ports: &str, extra: &str) -> (Found, Option<i32>, String) {
    let snippet = format!(r#""$PORTPROBE" audit 127.0.0.1 -p {ports} --json {extra}"#);
    let out = shell_in_testbed(script, &snippet);
    let mut ports = HashMap::new();
    for v in json_lines(&out) {
        let set = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["id"].as_str().unwrap().to_string(),
                    f["severity"].as_str().unwrap().to_string(),
                    f["evidence"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        ports.insert(v["port"].as_u64().unwrap(), set);
    }
    (ports, out.status.code(), stderr(&out))
}

fn has(ports: &Found, port: u64, id: &str, sev: &str, evidence: &str) -> bool {
    ports[&port].contains(&(id.to_string(), sev.to_string(), evidence.to_string()))
}

fn ids(ports: &Found, port: u64) -> Vec<String> {
    ports[&port].iter().map(|f| f.0.clone()).collect()
}

#[test]
fn debian_defaults_disclose_and_the_fixes_work() {
    if !require_testbed("audit") {
        return;
    }
    let (ssh, rev) = deb_version("openssh-server");
    let (nginx, _) = deb_version("nginx");
    let (vsftpd, _) = deb_version("vsftpd");
    let (redis, _) = deb_version("redis-server");

    let (d, code, err) = audit("daemons.sh", PORTS, "");
    assert_eq!(code, Some(0), "{err}");
    // openssh-server: version and distribution patch level.
    assert!(
        has(
            &d,
            22,
            "ssh-software-version",
            "medium",
            &format!("OpenSSH_{ssh}")
        ),
        "{d:?}"
    );
    assert!(
        has(
            &d,
            22,
            "ssh-distribution-patch",
            "medium",
            &format!("Debian-{rev}")
        ),
        "{d:?}"
    );
    // nginx: full version in Server.
    assert!(
        has(
            &d,
            80,
            "http-server-full-version",
            "medium",
            &format!("nginx/{nginx}")
        ),
        "{d:?}"
    );
    // vsftpd: version in the greeting.
    assert!(
        has(
            &d,
            21,
            "ftp-greeting-version",
            "medium",
            &format!("vsFTPd {vsftpd}")
        ),
        "{d:?}"
    );
    // postfix: product, distribution, host name.
    assert!(has(&d, 25, "smtp-greeting-product", "info", "Postfix"), "{d:?}");
    assert!(has(&d, 25, "greeting-distribution", "low", "Debian/GNU"), "{d:?}");
    assert!(
        has(&d, 25, "greeting-hostname", "info", "mail.testbed.example"),
        "{d:?}"
    );
    // dovecot: product and distribution in both greetings.
    for port in [110, 143] {
        assert!(
            has(&d, port, "imap-pop3-greeting-product", "info", "Dovecot"),
            "{d:?}"
        );
        assert!(has(&d, port, "greeting-distribution", "low", "Debian"), "{d:?}");
    }
    // redis: version readable without authentication.
    assert!(
        has(&d, 6379, "redis-version-unauthenticated", "medium", &redis),
        "{d:?}"
    );

    let (h, code, err) = audit("hardened.sh", PORTS, "");
    assert_eq!(code, Some(0), "{err}");
    // DebianBanner no: the patch level goes; the upstream version stays (documented: it cannot).
    assert_eq!(ids(&h, 22), ["ssh-software-version"]);
    // server_tokens off: down to the documented level, info (product name only).
    assert_eq!(
        h[&80].iter().cloned().collect::<Vec<_>>(),
        [("http-server-product".into(), "info".into(), "nginx".into())]
    );
    // ftpd_banner, login_greeting, requirepass: nothing left.
    for port in [21, 110, 143, 6379] {
        assert!(h[&port].is_empty(), "port {port}: {:?}", h[&port]);
    }
    // smtpd_banner = $myhostname ESMTP: only the (required) host name remains, at info.
    assert_eq!(ids(&h, 25), ["greeting-hostname"]);
}

#[test]
fn fail_on_makes_the_exit_code_3() {
    if !require_testbed("audit_fail_on") {
        return;
    }
    let (_, code, _) = audit("daemons.sh", PORTS, "--fail-on medium");
    assert_eq!(code, Some(3));
    let (_, code, _) = audit("hardened.sh", "21,25,80,110,143,6379", "--fail-on low");
    assert_eq!(code, Some(0), "hardened services disclose nothing above info");
    let (_, code, _) = audit("hardened.sh", "21,25,80,110,143,6379", "--fail-on info");
    assert_eq!(code, Some(3));
}

#[test]
fn baseline_reports_only_new_or_changed_findings() {
    if !require_testbed("audit_baseline") {
        return;
    }
    // Same services twice: nothing new.
    let snippet = format!(
        r#"b=$(mktemp); "$PORTPROBE" audit 127.0.0.1 -p {PORTS} --json > $b
        "$PORTPROBE" audit 127.0.0.1 -p {PORTS} --json --baseline $b --fail-on info; echo "rc=$?"; rm -f $b"#
    );
    let out = shell_in_testbed("daemons.sh", &snippet);
    let text = stdout(&out);
    assert!(text.ends_with("rc=0\n"), "{text}{}", stderr(&out));
    assert!(
        text.lines()
            .filter(|l| l.starts_with(r#"{"type":"port","#))
            .all(|l| l.contains(r#""findings":[]"#)),
        "{text}"
    );
    // A baseline from the hardened bed, then the defaults: the disclosures come back as new.
    let snippet = r#"b=$(mktemp); printf '{"ip":"127.0.0.1","port":80,"findings":[{"id":"http-server-product","evidence":"nginx"}]}\n' > $b
        "$PORTPROBE" audit 127.0.0.1 -p 80 --json --baseline $b; rm -f $b"#;
    let out = shell_in_testbed("daemons.sh", snippet);
    let v = &json_lines(&out)[0];
    assert_eq!(v["findings"][0]["id"], "http-server-full-version");
    // A broken baseline is a clear usage error.
    let out = portprobe(&[
        "audit",
        "127.0.0.1",
        "-p",
        "1",
        "--baseline",
        "/nonexistent/base.json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read baseline '/nonexistent/base.json'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn scan_audit_adds_findings_to_scan_output() {
    if !require_testbed("scan_audit") {
        return;
    }
    let out = shell_in_testbed("daemons.sh", r#""$PORTPROBE" scan 127.0.0.1 -p 22 --audit"#);
    let text = stdout(&out);
    assert!(text.contains("  ! MEDIUM ssh-software-version"), "{text}");
    let out = shell_in_testbed(
        "daemons.sh",
        r#""$PORTPROBE" scan 127.0.0.1 -p 22 --audit --json"#,
    );
    let v = &json_lines(&out)[0];
    assert_eq!(v["findings"][0]["where"]["offset"], 8);
    let out = portprobe(&["audit", "127.0.0.1", "-p", "1", "-z"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("auditing needs service detection"));
}

#[test]
fn baselines_are_validated_strictly() {
    if !require_namespaces("baseline_strict") {
        return;
    }
    // Issue 11 item 15: port 65558 was taken as 22 (65558 mod 65536) and suppressed the real
    // port-22 finding; a `findings` that is not an array was accepted too.
    let snippet = r#"
        b=$(mktemp)
        check() { printf '%s\n' "$1" > $b; "$PORTPROBE" audit 127.0.0.1 -p 1 --json --baseline $b 2>&1 | grep -v '^{"type":"' | sed "s|$b|B|"; echo "rc=${PIPESTATUS[0]}"; }
        check '{"ip":"127.0.0.1","port":65558,"findings":[{"id":"ssh-software-version","evidence":"OpenSSH_9.2p1"}]}'
        check '{"ip":"127.0.0.1","port":22,"findings":{"id":"ssh-software-version","evidence":"x"}}'
        check '{"ip":"127.0.0.1","port":22,"findings":[{"id":"ssh-software-version"}]}'
        check '{"ip":"not-an-ip","port":22,"findings":[]}'
        check '{"ip":"127.0.0.1","port":22,"findings":[]}'
        rm -f $b"#;
    let out = shell_in("netns.sh", snippet);
    let prefix = "portprobe: baseline 'B' line 1: not a JSON object from `portprobe audit --json`:";
    assert_eq!(
        stdout(&out),
        format!(
            "{prefix} port 65558 is out of range: ports are 1-65535\nrc=2\n\
             {prefix} findings is not an array\nrc=2\n\
             {prefix} finding 1 has no id or evidence string\nrc=2\n\
             {prefix} ip 'not-an-ip' is not an IP address\nrc=2\n\
             rc=0\n"
        ),
        "{}",
        stderr(&out)
    );
}
