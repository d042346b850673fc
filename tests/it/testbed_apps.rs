//! Application daemons of Debian (tests/testbed/apps.sh: Prometheus Alertmanager, Pushgateway
//! and Blackbox exporter, aria2, Deluge, qBittorrent, Radicale, Jupyter Notebook, Mopidy, Motion, Apache
//! Traffic Server, Burp, IRCnet ircd, ircd-hybrid, msmtpd, popa3d, GNU Mailutils imap4d and pop3d, Avahi, shairport-sync) in a
//! namespace of their own: one scan must name each with what it discloses, and claim nothing it does not. Expected
//! versions come from the installed packages (dpkg) or the programs themselves, never from
//! constants.

use crate::common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::process::{Command, Stdio};

/// The programs of the bed, for the skip message (msmtpd, popa3d and the IRC servers are unpacked
/// by the bed).
const BED: [&str; 20] = [
    "/usr/bin/prometheus-alertmanager",
    "/usr/bin/prometheus-pushgateway",
    "/usr/bin/prometheus-blackbox-exporter",
    "/usr/bin/aria2c",
    "/usr/bin/deluged",
    "/usr/bin/deluge-web",
    "/usr/bin/qbittorrent-nox",
    "/usr/bin/radicale",
    "/usr/bin/jupyter-notebook",
    "/usr/bin/mopidy",
    "/usr/bin/motion",
    "/usr/bin/traffic_server",
    "/usr/sbin/imap4d",
    "/usr/sbin/pop3d",
    "/usr/sbin/avahi-daemon",
    "/usr/bin/dbus-daemon",
    "/usr/bin/shairport-sync",
    "/usr/sbin/burp",
    "/usr/sbin/dnsmasq",
    "/usr/bin/m4",
];

/// The release Traffic Server names itself with (`traffic_server -V`): Debian 12's security
/// updates carry newer upstream sources than the package version says (9.2.5+ds-0+deb12u4
/// is 9.2.9 inside).
fn traffic_server_version() -> String {
    let out = Command::new("/usr/bin/traffic_server")
        .arg("-V")
        .output()
        .expect("traffic_server -V");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    text.lines()
        .find_map(|l| l.strip_prefix("Apache Traffic Server - traffic_server - "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("traffic_server -V names no version: {text}"))
        .to_string()
}

/// Tornado's version as its Server header writes it: Debian's 6.2.0 is upstream's "6.2".
fn tornado_version() -> String {
    let v = upstream("python3-tornado");
    v.strip_suffix(".0").map_or(v.clone(), str::to_string)
}

#[test]
fn app_daemons_are_named() {
    if !require_bed_programs("testbed_apps", &BED) {
        return;
    }
    let fetch = Command::new(testbed("apps.sh"))
        .arg("--fetch")
        .stdin(Stdio::null())
        .output()
        .expect("run apps.sh --fetch");
    assert_eq!(
        fetch.status.code(),
        Some(0),
        "apps.sh --fetch: {}",
        stderr(&fetch)
    );
    let ports_arg =
        "25,110,143,1110,4971,5000,5232,6667,6668,6680,6800,8080,8081,8090,8112,8888,9091,9093,9115,58846";
    let snippet = format!(
        "\"$PORTPROBE\" scan 127.0.0.1 -p {ports_arg} --json && echo --- && \
         \"$PORTPROBE\" scan 127.0.0.1 -sU -p 5353 --json && echo --- && \
         \"$PORTPROBE\" scan 127.0.0.1 -p 6800,9091"
    );
    let out = shell_in_testbed("apps.sh", &snippet);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\nstderr: {}", stderr(&out));
    let mut parts = text.split("---\n");
    let (tcp, udp, table) = match (parts.next(), parts.next(), parts.next()) {
        (Some(t), Some(u), Some(tab)) => (t, u, tab),
        _ => panic!("not all three scans ran:\n{text}"),
    };
    let records = |json: &str| -> HashMap<u64, Value> {
        json_records(json)
            .into_iter()
            .filter(|v| v["type"] == "port")
            .filter_map(|v| Some((v["port"].as_u64()?, v)))
            .collect()
    };
    let ports = records(tcp);
    let tornado = format!("Tornado {}", tornado_version());
    let wants = vec![
        want(25, "name", "smtp"),
        want(25, "product", "msmtpd"),
        // Burp's TLS port: its hello names the server's version.
        want(4971, "name", "burp"),
        want(4971, "product", "Burp"),
        want(4971, "version", upstream("burp")),
        want(4971, "info", "backup server"),
        want(4971, "probe", "burp-hello"),
        // shairport-sync answers as the AirPort Express it stands in for.
        want(5000, "name", "rtsp"),
        want(5000, "product", "AirTunes"),
        want(5000, "info", "AirPlay receiver"),
        want(5232, "name", "http"),
        want(5232, "product", "Radicale"),
        // The IRC servers run unpacked: their versions are the candidates apt-get fetched.
        want(6667, "name", "irc"),
        want(6667, "product", "IRCnet ircd"),
        want(6667, "version", upstream_candidate("ircd-irc2")),
        want(6668, "name", "irc"),
        want(6668, "product", "ircd-hybrid"),
        want(6668, "version", upstream_candidate("ircd-hybrid")),
        want(6680, "name", "http"),
        want(6680, "product", "Mopidy"),
        want(6680, "info", tornado.clone()),
        want(6800, "name", "http"),
        want(6800, "product", "aria2"),
        want(6800, "version", upstream("aria2")),
        want(6800, "info", "JSON-RPC"),
        want(6800, "probe", "aria2-rpc"),
        want(8080, "name", "http"),
        want(8080, "product", "Apache Traffic Server"),
        want(8080, "version", traffic_server_version()),
        want(8081, "name", "http"),
        want(8081, "product", "Motion"),
        want(8081, "version", upstream("motion")),
        want(8081, "device", "webcam"),
        want(8090, "name", "http"),
        want(8090, "product", "qBittorrent Web UI"),
        want(8112, "name", "http"),
        want(8112, "product", "Deluge Web UI"),
        want(8112, "version", upstream("deluge-web")),
        want(8888, "name", "http"),
        want(8888, "product", "Jupyter Notebook"),
        want(8888, "info", tornado),
        want(9091, "name", "http"),
        want(9091, "product", "Prometheus Pushgateway"),
        want(9091, "version", upstream("prometheus-pushgateway")),
        want(9093, "name", "http"),
        want(9093, "product", "Prometheus Alertmanager"),
        want(9093, "version", upstream("prometheus-alertmanager")),
        want(9093, "probe", "alertmanager-status"),
        want(9115, "name", "http"),
        want(9115, "product", "Prometheus Blackbox exporter"),
        // Bare greetings ("+OK", "* OK IMAP4rev1", "+OK POP3 Ready <...>"): their answers to
        // CAPA and CAPABILITY name them.
        want(110, "name", "pop3"),
        want(110, "product", "popa3d"),
        want(110, "probe", "pop3-capa"),
        want(143, "name", "imap"),
        want(143, "product", "GNU Mailutils imap4d"),
        want(143, "probe", "imap-capability"),
        want(1110, "name", "pop3"),
        want(1110, "product", "GNU Mailutils pop3d"),
        want(1110, "probe", "pop3-capa"),
        // deluged's RPC port is TLS with an X.509 v1 certificate: the handshake completes (the
        // signature is checked with the certificate's own key); the RPC inside waits for a
        // client's compressed request, so the service inside is unknown.
        want(58846, "tunnel", "tls"),
        want(58846, "name", "unknown"),
    ];
    let mut bad = mismatches(&ports, &wants);
    let subject = ports.get(&58846).map(|v| v["tls"]["chain"][0]["subject"].clone());
    if !subject.as_ref().is_some_and(serde_json::Value::is_string) {
        bad.push(format!("58846/tcp: no certificate read: {subject:?}"));
    }
    for (port, v) in &ports {
        let bare = *port == 58846;
        if v["state"] != "open" {
            bad.push(format!("{port}/tcp: not open: {v}"));
        } else if bare {
            if !v["service"]["product"].is_null() {
                bad.push(format!("{port}/tcp: a product nobody named: {v}"));
            }
        } else if v["service"]["confidence"] != "hard" {
            bad.push(format!("{port}/tcp: not a hard match: {v}"));
        }
        // Only these disclose a version (shairport-sync the AirTunes release it imitates).
        if !matches!(
            port,
            4971 | 5000 | 6667 | 6668 | 6800 | 8080 | 8081 | 8112 | 9091 | 9093
        ) && !v["service"]["version"].is_null()
        {
            bad.push(format!("{port}/tcp: a version nobody sent: {v}"));
        }
    }
    if ports.len() != 20 {
        bad.push(format!("{} TCP ports reported, want 20", ports.len()));
    }
    let mdns = records(udp);
    match mdns.get(&5353) {
        Some(v)
            if v["state"] == "open"
                && v["service"]["name"] == "mdns"
                && v["service"]["product"].is_null() => {}
        other => bad.push(format!(
            "5353/udp: want open mdns (Avahi names no product), got {other:?}"
        )),
    }
    let line = format!(
        "6800/tcp  open      http             syn-ack         aria2 {} (JSON-RPC)",
        upstream("aria2")
    );
    if !table.lines().any(|l| l == line) {
        bad.push(format!("no table line {line:?}"));
    }
    assert!(bad.is_empty(), "{}\n\n{text}", bad.join("\n"));
}
