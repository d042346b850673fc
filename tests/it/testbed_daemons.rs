//! Real Debian daemons in a namespace of their own (tests/testbed/daemons.sh): one scan must
//! name each with the product and the version it discloses. Expected versions come from the
//! installed packages (dpkg), never from constants.

use crate::common::*;
use serde_json::Value;
use std::collections::HashMap;

const PORTS: &str = "21,22,25,80,110,143,3306,5432,6379,11211";

/// Compares one field of one port's service and records a mismatch instead of failing at once,
/// so one run shows every daemon that is named wrong.
fn expect(
    mismatches: &mut Vec<String>,
    ports: &HashMap<u64, Value>,
    port: u64,
    field: &str,
    want: Option<&str>,
) {
    let v = &ports[&port];
    let got = match field {
        "state" | "banner" => v[field].as_str(),
        _ => v["service"][field].as_str(),
    };
    if got != want {
        mismatches.push(format!("port {port} {field}: got {got:?}, want {want:?} in {v}"));
    }
}

#[test]
fn one_scan_names_every_daemon_with_product_and_version() {
    if !require_testbed("testbed_daemons") {
        return;
    }
    let out = portprobe_in_testbed(&["scan", "127.0.0.1", "-p", PORTS, "--json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let ports = by_port(&out);
    assert_eq!(ports.len(), 10, "{}", stdout(&out));
    let debian = format!("Debian {}", debian_major());
    let mut m = Vec::new();
    for port in ports.keys() {
        expect(&mut m, &ports, *port, "state", Some("open"));
    }

    let (ssh, ssh_rev) = deb_version("openssh-server");
    let ssh_revision = format!("Debian {ssh_rev}");
    for (field, want) in [
        ("name", "ssh"),
        ("product", "OpenSSH"),
        ("version", ssh.as_str()),
        ("revision", ssh_revision.as_str()),
        ("os", debian.as_str()),
        ("confidence", "hard"),
    ] {
        expect(&mut m, &ports, 22, field, Some(want));
    }
    if !ports[&22]["banner"]
        .as_str()
        .is_some_and(|b| b.starts_with("SSH-2.0-OpenSSH_"))
    {
        m.push(format!("port 22 banner: {}", ports[&22]["banner"]));
    }

    let (nginx, _) = deb_version("nginx");
    for (field, want) in [
        ("name", "http"),
        ("product", "nginx"),
        ("version", nginx.as_str()),
    ] {
        expect(&mut m, &ports, 80, field, Some(want));
    }
    let cpe = format!("cpe:2.3:a:f5:nginx:{nginx}:*:*:*:*:*:*:*");
    if ports[&80]["service"]["cpe"][0].as_str() != Some(cpe.as_str()) {
        m.push(format!(
            "port 80 cpe: {} (want {cpe})",
            ports[&80]["service"]["cpe"]
        ));
    }

    let (vsftpd, _) = deb_version("vsftpd");
    for (field, want) in [
        ("name", "ftp"),
        ("product", "vsftpd"),
        ("version", vsftpd.as_str()),
    ] {
        expect(&mut m, &ports, 21, field, Some(want));
    }

    for (field, want) in [
        ("name", Some("smtp")),
        ("product", Some("Postfix")),
        ("hostname", Some("mail.testbed.example")),
    ] {
        expect(&mut m, &ports, 25, field, want);
    }
    // Postfix discloses no version by default.
    expect(&mut m, &ports, 25, "version", None);

    for (port, service) in [(143, "imap"), (110, "pop3")] {
        expect(&mut m, &ports, port, "name", Some(service));
        expect(&mut m, &ports, port, "product", Some("Dovecot"));
    }

    let (maria, maria_rev) = deb_version("mariadb-server");
    for (field, want) in [
        ("name", "mysql"),
        ("product", "MariaDB"),
        ("version", maria.as_str()),
        ("revision", maria_rev.as_str()),
    ] {
        expect(&mut m, &ports, 3306, field, Some(want));
    }
    if !ports[&3306]["banner_hex"].is_string() {
        m.push("port 3306: a binary greeting comes with banner_hex".into());
    }

    expect(&mut m, &ports, 5432, "name", Some("postgresql"));
    expect(&mut m, &ports, 5432, "product", Some("PostgreSQL DB"));

    let (redis, _) = deb_version("redis-server");
    for (field, want) in [
        ("name", "redis"),
        ("product", "Redis key-value store"),
        ("version", redis.as_str()),
    ] {
        expect(&mut m, &ports, 6379, field, Some(want));
    }

    let (memcached, _) = deb_version("memcached");
    for (field, want) in [
        ("name", "memcached"),
        ("product", "memcached"),
        ("version", memcached.as_str()),
    ] {
        expect(&mut m, &ports, 11211, field, Some(want));
    }
    assert!(m.is_empty(), "{} mismatch(es):\n{}", m.len(), m.join("\n"));
}

#[test]
fn table_shows_nmap_style_version_column() {
    if !require_testbed("testbed_table") {
        return;
    }
    let out = portprobe_in_testbed(&["scan", "127.0.0.1", "-p", "22,25,80"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let (ssh, ssh_rev) = deb_version("openssh-server");
    let row = text.lines().find(|l| l.starts_with("22/tcp")).unwrap();
    assert!(
        row.ends_with(&format!("OpenSSH {ssh} Debian {ssh_rev} (protocol 2.0)")),
        "{row}"
    );
    assert!(
        text.contains("PORT      STATE     SERVICE          REASON          VERSION"),
        "{text}"
    );
    assert!(text.contains("Host: mail.testbed.example"), "{text}");
    assert!(text.contains(&format!("OS: Debian {}", debian_major())), "{text}");
}
