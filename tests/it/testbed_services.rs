//! 40 more real Debian daemons (tests/testbed/services.sh: developer, ops, chat, media, proxy
//! and web services) in a namespace of their own: one scan must name each with the service,
//! product and version it discloses, and claim nothing it does not. Expected versions come from
//! the installed packages (dpkg), never from constants.

use crate::common::*;
use serde_json::Value;
use std::collections::HashMap;

/// What one port must say: service name, product and version (`None`: must be absent), and
/// further service fields.
struct Want {
    port: u64,
    name: &'static str,
    product: Option<&'static str>,
    version: Option<String>,
    more: Vec<(&'static str, String)>,
}

fn want(port: u64, name: &'static str, product: Option<&'static str>) -> Want {
    Want {
        port,
        name,
        product,
        version: None,
        more: Vec::new(),
    }
}

impl Want {
    /// The upstream version of a Debian package.
    fn deb(mut self, package: &str) -> Self {
        self.version = Some(upstream(package));
        self
    }

    /// The first two components of a package's upstream version (daemons that say 7.1 for 7.1.1).
    fn deb_major_minor(mut self, package: &str) -> Self {
        let full = upstream(package);
        self.version = Some(full.split('.').take(2).collect::<Vec<_>>().join("."));
        self
    }

    fn with(mut self, field: &'static str, value: impl Into<String>) -> Self {
        self.more.push((field, value.into()));
        self
    }
}

/// Every daemon of the bed, as the installed packages say it should be named.
fn expectations() -> Vec<Want> {
    let (mumble, mumble_rev) = deb_version("mumble-server");
    let debian = format!("Debian {}", debian_major());
    vec![
        // ProFTPD's default greeting names the server, not the version.
        want(21, "ftp", Some("ProFTPD")).with("info", "portprobe test bed"),
        // fingerd runs finger(1), which names no software.
        want(79, "finger", None),
        want(80, "http", Some("Apache httpd")).deb("apache2"),
        want(111, "rpcbind", Some("rpcbind")).with("info", "RPC programs: portmapper"),
        want(113, "ident", None).with("confidence", "soft"),
        want(631, "ipp", Some("CUPS")).deb_major_minor("cups-daemon"),
        want(783, "spamd", Some("SpamAssassin spamd")),
        want(873, "rsync", Some("rsyncd")),
        want(1080, "socks5", None).with("info", "no authentication"),
        want(1194, "openvpn", Some("OpenVPN")),
        want(1883, "mqtt", Some("Mosquitto")).deb("mosquitto"),
        want(2401, "cvspserver", Some("CVS pserver")),
        want(2812, "http", Some("Monit")).deb("monit"),
        want(2947, "gpsd", Some("gpsd")).deb("gpsd"),
        want(3128, "http-proxy", Some("Squid")).deb("squid"),
        want(3310, "clamav", Some("ClamAV clamd")).deb("clamav-daemon"),
        want(3493, "ups", Some("NUT upsd")).deb("nut-server"),
        // distccd answers only a job (the probe compiles an empty file); no version in it.
        want(3632, "distccd", Some("distccd")).with("info", "protocol 1"),
        want(3690, "svn", Some("Subversion")),
        want(4190, "sieve", Some("Dovecot Pigeonhole")),
        want(4369, "epmd", Some("Erlang Port Mapper Daemon")),
        want(4949, "munin", Some("Munin node"))
            .deb("munin-node")
            .with("hostname", "node.testbed.example"),
        want(5060, "sip", Some("Kamailio")).deb("kamailio"),
        want(5201, "iperf3", Some("iperf3")),
        want(5222, "xmpp", Some("Prosody")),
        // NRPE speaks TLS with anonymous Diffie-Hellman only, which no modern TLS stack offers.
        want(5666, "ssl", None),
        want(6081, "http", Some("Varnish")).deb_major_minor("varnish"),
        // MPD's greeting carries its protocol version, not the package's.
        want(6600, "mpd", Some("Music Player Daemon")),
        want(6667, "irc", Some("ngircd")).deb("ngircd"),
        want(8000, "http", Some("Icecast")).deb("icecast2"),
        want(8080, "http", Some("lighttpd")).deb("lighttpd"),
        want(8404, "http", Some("HAProxy")).deb("haproxy"),
        want(8888, "http-proxy", Some("Tinyproxy")).deb("tinyproxy"),
        want(9001, "http", Some("Supervisor")).deb("supervisor"),
        want(9050, "socks5", Some("Tor")),
        want(9090, "http", Some("Prometheus")),
        want(9100, "http", Some("Prometheus node_exporter")),
        want(9418, "git", Some("git daemon")),
        want(10023, "postfix-policy", Some("postgrey")),
        want(10050, "zabbix-agent", Some("Zabbix agent")).deb("zabbix-agent"),
        want(26379, "redis-sentinel", Some("Redis Sentinel")).deb("redis-sentinel"),
        Want {
            port: 64738,
            name: "mumble",
            product: Some("Mumble server"),
            version: Some(mumble),
            more: vec![
                ("revision", format!("Debian {mumble_rev}")),
                ("os", debian),
                ("tunnel", "tls".into()),
            ],
        },
    ]
}

/// The programs of the bed, for the skip message.
const SERVICES_BED_PROGRAMS: &[&str] = &[
    "/usr/sbin/apache2",
    "/usr/sbin/rpcbind",
    "/usr/sbin/in.fingerd",
    "/usr/sbin/oidentd",
    "/usr/sbin/cupsd",
    "/usr/sbin/spamd",
    "/usr/sbin/danted",
    "/usr/sbin/openvpn",
    "/usr/sbin/mosquitto",
    "/usr/bin/cvs",
    "/usr/bin/monit",
    "/usr/sbin/gpsd",
    "/usr/sbin/squid",
    "/usr/sbin/clamd",
    "/lib/nut/upsd",
    "/usr/bin/distccd",
    "/usr/bin/svnserve",
    "/usr/lib/dovecot/managesieve-login",
    "/usr/bin/epmd",
    "/usr/sbin/munin-node",
    "/usr/sbin/kamailio",
    "/usr/bin/iperf3",
    "/usr/bin/prometheus",
    "/usr/bin/prometheus-node-exporter",
    "/usr/bin/prosody",
    "/usr/sbin/nrpe",
    "/usr/sbin/varnishd",
    "/usr/bin/mpd",
    "/usr/sbin/ngircd",
    "/usr/bin/icecast2",
    "/usr/sbin/lighttpd",
    "/usr/sbin/haproxy",
    "/usr/bin/tinyproxy",
    "/usr/bin/supervisord",
    "/usr/bin/tor",
    "/usr/sbin/postgrey",
    "/usr/sbin/zabbix_agentd",
    "/usr/bin/redis-sentinel",
    "/usr/sbin/murmurd",
];

fn require_services_bed(test: &str) -> bool {
    require_bed_programs(test, SERVICES_BED_PROGRAMS)
}

/// Starts the services bed in a namespace of its own and runs `portprobe ARGS` there; first
/// fetches (outside the namespace) the packages the bed runs unpacked.
fn services_bed(args: &[&str]) -> std::process::Output {
    fetched_bed("services.sh", args)
}

/// Compares what one port says with what it must say; records every difference.
fn check(mismatches: &mut Vec<String>, want: &Want, v: &Value) {
    let s = &v["service"];
    let mut field = |name: &str, expected: Option<&str>| {
        let got = s[name].as_str();
        if got != expected {
            mismatches.push(format!(
                "port {} {name}: got {got:?}, want {expected:?} in {v}",
                want.port
            ));
        }
    };
    field("name", Some(want.name));
    field("product", want.product);
    field("version", want.version.as_deref());
    for (name, value) in &want.more {
        field(name, Some(value));
    }
    if v["state"] != "open" {
        mismatches.push(format!("port {}: not open: {v}", want.port));
    }
}

#[test]
fn one_scan_names_every_service_daemon_without_a_wrong_claim() {
    if !require_services_bed("testbed_services") {
        return;
    }
    let wants = expectations();
    let ports: Vec<String> = wants.iter().map(|w| w.port.to_string()).collect();
    let out = services_bed(&["scan", "127.0.0.1", "-p", &ports.join(","), "--json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let got: HashMap<u64, Value> = by_port(&out);
    let mut m = Vec::new();
    for w in &wants {
        match got.get(&w.port) {
            Some(v) => check(&mut m, w, v),
            None => m.push(format!("port {}: no result", w.port)),
        }
    }
    assert!(m.is_empty(), "{} mismatch(es):\n{}", m.len(), m.join("\n"));
}

#[test]
fn table_rows_of_service_daemons_read_like_nmap() {
    if !require_services_bed("testbed_services_table") {
        return;
    }
    let out = services_bed(&["scan", "127.0.0.1", "-p", "1194,4949,64738"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let munin = deb_version("munin-node").0;
    let (mumble, mumble_rev) = deb_version("mumble-server");
    let lines: Vec<&str> = text.lines().collect();
    for want in [
        "1194/tcp  open      openvpn          syn-ack         OpenVPN".to_string(),
        format!("4949/tcp  open      munin            syn-ack         Munin node {munin}"),
        format!(
            "64738/tcp open      ssl/mumble       syn-ack         Mumble server {mumble} Debian {mumble_rev}"
        ),
    ] {
        assert!(
            lines.contains(&want.as_str()),
            "missing line {want:?} in:\n{text}"
        );
    }
}
