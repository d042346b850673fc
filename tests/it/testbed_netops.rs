//! Real network-operations daemons (tests/testbed/netops.sh: routing suites, console and serial
//! servers, a BMC simulator, the Docker engine and registry, VNC, SSH, VPN, AAA, DNS, OVSDB,
//! Kea, Zabbix, NTP) in a namespace of their own: one scan must name each with the service,
//! product and version it discloses. Expected versions come from the installed packages (dpkg).

use crate::common::*;

/// The programs of the bed, for the skip message (chrony is unpacked by the bed itself).
const NETOPS_BED_PROGRAMS: &[&str] = &[
    "/usr/lib/frr/zebra",
    "/usr/lib/frr/bgpd",
    "/usr/sbin/lpd",
    "/usr/sbin/conserver",
    "/usr/sbin/ser2net",
    "/usr/sbin/tinysshd",
    "/usr/sbin/dockerd",
    "/usr/bin/docker-registry",
    "/usr/bin/Xtightvnc",
    "/usr/sbin/ovsdb-server",
    "/usr/sbin/kea-ctrl-agent",
    "/usr/sbin/zabbix_proxy",
    "/usr/bin/dnsdist",
    "/usr/sbin/pdns_recursor",
    "/usr/bin/gobgpd",
    "/usr/sbin/gmond",
    "/usr/bin/ipmi_sim",
    "/usr/sbin/freeradius",
    "/usr/lib/ipsec/charon",
    "/usr/sbin/xl2tpd",
    "/usr/bin/sqlite3",
    "/usr/bin/socat",
];

/// TCP ports of the bed, then UDP ports (scanned as U:PORT).
const TCP: &[u16] = &[
    53, 179, 515, 782, 1053, 2000, 2001, 2222, 2375, 2601, 2605, 5000, 5901, 6640, 8000, 8649, 10051, 50051,
];
const UDP: &[u16] = &[53, 123, 323, 500, 623, 1053, 1701, 1812];

fn require_netops_bed(test: &str) -> bool {
    require_bed_programs(test, NETOPS_BED_PROGRAMS)
}

/// Starts the netops bed in a namespace of its own and runs `portprobe ARGS` there; first
/// fetches (outside the namespace) the packages the bed runs unpacked.
fn netops_bed(args: &[&str]) -> std::process::Output {
    fetched_bed("netops.sh", args)
}

/// Every identity field the bed's TCP daemons must show, as the installed packages say.
fn tcp_expectations() -> Vec<Want> {
    let mut w = Vec::new();
    let mut named = |port: u64, name: &str, product: &str| {
        w.push(want(port, "name", name));
        w.push(want(port, "product", product));
    };
    named(515, "printer", "LPRng lpd");
    named(782, "conserver", "conserver");
    named(1053, "domain", "PowerDNS Recursor");
    named(2000, "telnet", "ser2net");
    named(2001, "telnet", "ser2net");
    named(2222, "ssh", "TinySSH");
    named(2375, "http", "Docker Engine API");
    named(2605, "zebra", "FRRouting vty");
    named(5000, "http", "Docker Registry");
    named(5901, "vnc", "TightVNC");
    named(6640, "ovsdb", "Open vSwitch ovsdb-server");
    named(8000, "http", "Kea Control Agent");
    named(8649, "ganglia", "Ganglia gmond");
    named(10051, "zabbix-trapper", "Zabbix server or proxy");
    named(50051, "grpc", "grpc-go");
    w.extend([
        // dnsdist as installed has no backend: it answers no query, the port names the service.
        want(53, "name", "domain"),
        want(782, "info", "console server"),
        want(1053, "version", upstream("pdns-recursor")),
        want(2000, "os", "Debian"),
        want(2001, "info", "serial port server; device open failure"),
        want(2222, "version", upstream("tinysshd")),
        want(2375, "version", upstream("docker.io")),
        // Quagga and GNU Zebra print the same line as FRR here: the service, not a product.
        want(2601, "name", "zebra"),
        want(2601, "info", "no vty password set"),
        want(2605, "version", upstream("frr")),
        want(5000, "info", "API registry/2.0"),
        want(5901, "info", "protocol 003.008, security types 2 16"),
        want(8000, "version", upstream("kea-ctrl-agent")),
        want(8649, "version", upstream("ganglia-monitor")),
    ]);
    w
}

/// The same for the UDP daemons.
fn udp_expectations() -> Vec<Want> {
    vec![
        want(53, "name", "domain"),
        want(123, "name", "ntp"),
        want(323, "name", "chrony"),
        want(323, "product", "chrony"),
        want(500, "name", "isakmp"),
        want(623, "name", "ipmi"),
        want(623, "info", "IPMI 2.0, RMCP+"),
        want(1053, "product", "PowerDNS Recursor"),
        want(1053, "version", upstream("pdns-recursor")),
        want(1701, "name", "l2tp"),
        want(1701, "product", "xl2tpd"),
        want(1701, "hostname", host_name()),
        want(1812, "name", "radius"),
    ]
}

#[test]
fn one_scan_names_every_netops_daemon_and_its_version() {
    if !require_netops_bed("testbed_netops") {
        return;
    }
    let ports: Vec<String> = TCP
        .iter()
        .map(u16::to_string)
        .chain(UDP.iter().map(|p| format!("U:{p}")))
        .collect();
    let out = netops_bed(&["scan", "127.0.0.1", "-p", &ports.join(","), "--json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let (mut m, tcp) = bed_mismatches(&out, (&tcp_expectations(), &udp_expectations()), (TCP, UDP));
    let product_2601 = tcp.get(&2601).map(|v| v["service"]["product"].clone());
    if product_2601 != Some(serde_json::Value::Null) {
        m.push(format!("2601/tcp product: want none, got {product_2601:?}"));
    }
    assert!(m.is_empty(), "{} mismatch(es):\n{}", m.len(), m.join("\n"));
}

#[test]
fn table_rows_of_netops_daemons_read_like_nmap() {
    if !require_netops_bed("testbed_netops_table") {
        return;
    }
    let out = netops_bed(&["scan", "127.0.0.1", "-p", "2601,2605,8000,10051"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let lines: Vec<&str> = text.lines().collect();
    for want in [
        "2601/tcp  open      zebra            syn-ack         (no vty password set)".to_string(),
        format!(
            "2605/tcp  open      zebra            syn-ack         FRRouting vty {}",
            upstream("frr")
        ),
        format!(
            "8000/tcp  open      http             syn-ack         Kea Control Agent {} (REST API)",
            upstream("kea-ctrl-agent")
        ),
        "10051/tcp open      zabbix-trapper   syn-ack         Zabbix server or proxy (trapper)".to_string(),
    ] {
        assert!(
            lines.contains(&want.as_str()),
            "missing line {want:?} in:\n{text}"
        );
    }
}
