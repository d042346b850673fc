//! Real Debian daemons in a namespace of their own (tests/testbed/daemons.sh): one scan must
//! name each with the product and the version it discloses. Expected versions come from the
//! installed packages (dpkg), never from constants.

mod common;

use common::*;
use serde_json::Value;
use std::collections::HashMap;

const PORTS: &str = "21,22,25,80,110,143,3306,5432,6379,11211";

fn by_port(out: &std::process::Output) -> HashMap<u64, Value> {
    json_lines(out)
        .into_iter()
        .map(|v| (v["port"].as_u64().unwrap(), v))
        .collect()
}

fn service(ports: &HashMap<u64, Value>, port: u64) -> &Value {
    let v = &ports[&port];
    assert_eq!(v["state"], "open", "port {port}: {v}");
    &v["service"]
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

    let (ssh, ssh_rev) = deb_version("openssh-server");
    let s = service(&ports, 22);
    assert_eq!(
        (s["name"].as_str(), s["product"].as_str()),
        (Some("ssh"), Some("OpenSSH"))
    );
    assert_eq!(s["version"], ssh.as_str());
    assert_eq!(s["revision"], format!("Debian {ssh_rev}"));
    assert_eq!(s["os"], debian.as_str());
    assert_eq!(s["confidence"], "hard");
    assert!(ports[&22]["banner"]
        .as_str()
        .unwrap()
        .starts_with("SSH-2.0-OpenSSH_"));

    let (nginx, _) = deb_version("nginx");
    let s = service(&ports, 80);
    assert_eq!(
        (s["name"].as_str(), s["product"].as_str()),
        (Some("http"), Some("nginx"))
    );
    assert_eq!(s["version"], nginx.as_str());
    assert_eq!(s["cpe"][0], format!("cpe:2.3:a:f5:nginx:{nginx}:*:*:*:*:*:*:*"));

    let (vsftpd, _) = deb_version("vsftpd");
    let s = service(&ports, 21);
    assert_eq!(
        (s["name"].as_str(), s["product"].as_str()),
        (Some("ftp"), Some("vsftpd"))
    );
    assert_eq!(s["version"], vsftpd.as_str());

    let s = service(&ports, 25);
    assert_eq!(
        (s["name"].as_str(), s["product"].as_str()),
        (Some("smtp"), Some("Postfix smtpd"))
    );
    assert_eq!(s["hostname"], "mail.testbed.example");
    assert!(
        s.get("version").is_none(),
        "Postfix discloses no version by default: {s}"
    );

    let s = service(&ports, 143);
    assert_eq!(
        (s["name"].as_str(), s["product"].as_str()),
        (Some("imap"), Some("Dovecot imapd"))
    );
    let s = service(&ports, 110);
    assert_eq!(
        (s["name"].as_str(), s["product"].as_str()),
        (Some("pop3"), Some("Dovecot pop3d"))
    );

    let (maria, maria_rev) = deb_version("mariadb-server");
    let s = service(&ports, 3306);
    assert_eq!(
        (s["name"].as_str(), s["product"].as_str()),
        (Some("mysql"), Some("MariaDB"))
    );
    assert_eq!(s["version"], maria.as_str());
    assert_eq!(s["revision"], maria_rev.as_str());
    assert!(
        ports[&3306]["banner_hex"].is_string(),
        "binary greeting comes with hex"
    );

    let s = service(&ports, 5432);
    assert_eq!(
        (s["name"].as_str(), s["product"].as_str()),
        (Some("postgresql"), Some("PostgreSQL DB"))
    );

    let (redis, _) = deb_version("redis-server");
    let s = service(&ports, 6379);
    assert_eq!(
        (s["name"].as_str(), s["product"].as_str()),
        (Some("redis"), Some("Redis key-value store"))
    );
    assert_eq!(s["version"], redis.as_str());

    let (memcached, _) = deb_version("memcached");
    let s = service(&ports, 11211);
    assert_eq!(
        (s["name"].as_str(), s["product"].as_str()),
        (Some("memcached"), Some("memcached"))
    );
    assert_eq!(s["version"], memcached.as_str());
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
