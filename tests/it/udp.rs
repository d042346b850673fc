//! UDP: states and reasons (reply, ICMP port unreachable, ICMP admin-prohibited, silence),
//! identification of real Debian daemons on the UDP test bed (tests/testbed/udp.sh), the audit
//! of their disclosures, TCP/UDP mixing, and `connect -u` / `listen -u` sessions byte for byte.
//! Expected versions come from the packages (dpkg), never from constants.

use crate::common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::process::{Command, Stdio};

const BED_PORTS: &str = "7,9,13,19,37,53,69,123,137,161,1194,3478,5060,7777,7778,11211";
const NTPSEC_CACHE: &str = "/var/cache/portprobe-debs";

/// Why the UDP bed cannot run here, if it cannot.
fn udp_bed_problem() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("the UDP test bed needs root (run ./scripts/test as root)".into());
    }
    for bin in [
        "/usr/sbin/unbound",
        "/usr/sbin/named",
        "/usr/sbin/dnsmasq",
        "/usr/sbin/snmpd",
        "/usr/sbin/in.tftpd",
        "/usr/bin/turnserver",
        "/usr/sbin/kamailio",
        "/usr/sbin/openvpn",
        "/usr/bin/memcached",
        "/usr/sbin/inetutils-inetd",
        "/usr/sbin/miniupnpd",
    ] {
        if !std::path::Path::new(bin).exists() {
            return Some(format!(
                "{bin} is missing (scripts/test installs the UDP test-bed packages as root)"
            ));
        }
    }
    if ntpsec_deb().is_none() {
        return Some(format!(
            "no ntpsec .deb unpacked in {NTPSEC_CACHE} (scripts/test fetches it)"
        ));
    }
    None
}

fn require_udp_bed(test: &str) -> bool {
    if !require_namespaces(test) {
        return false;
    }
    match udp_bed_problem() {
        None => true,
        Some(why) if std::env::var_os("CI").is_some() => panic!("{test}: cannot run in CI: {why}"),
        Some(why) => {
            eprintln!("skipping {test}: {why}");
            false
        }
    }
}

fn ntpsec_deb() -> Option<std::path::PathBuf> {
    std::fs::read_dir(NTPSEC_CACHE)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("ntpsec_"))
        })
}

/// The upstream version in a .deb file's control data.
fn deb_file_version(path: &std::path::Path) -> String {
    let out = Command::new("dpkg-deb")
        .arg("-f")
        .arg(path)
        .arg("Version")
        .output()
        .expect("dpkg-deb");
    let full = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let no_epoch = full.split_once(':').map_or(full.as_str(), |(_, v)| v);
    let upstream = no_epoch.rsplit_once('-').map_or(no_epoch, |(u, _)| u);
    // Debian's repack marker (`1.2.2+dfsg1`) is not part of the version the daemon states.
    upstream.split("+dfsg").next().unwrap_or(upstream).to_string()
}

fn in_udp_bed(args: &[&str]) -> std::process::Output {
    Command::new("unshare")
        .arg("-n")
        .arg(testbed("udp.sh"))
        .arg(bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run unshare")
}

fn by_port(out: &std::process::Output) -> HashMap<u64, Value> {
    json_lines(out)
        .into_iter()
        .map(|v| (v["port"].as_u64().unwrap_or(0), v))
        .collect()
}

fn expect(m: &mut Vec<String>, ports: &HashMap<u64, Value>, port: u64, field: &str, want: Option<&str>) {
    let Some(v) = ports.get(&port) else {
        m.push(format!("port {port}: no record"));
        return;
    };
    let got = match field {
        "state" | "reason" | "proto" => v[field].as_str(),
        _ => v["service"][field].as_str(),
    };
    if got != want {
        m.push(format!("port {port} {field}: got {got:?}, want {want:?} in {v}"));
    }
}

#[test]
fn every_state_and_daemon_of_the_udp_bed() {
    if !require_udp_bed("every_state_and_daemon_of_the_udp_bed") {
        return;
    }
    let args = ["scan", "127.0.0.1", "-u", "-p", BED_PORTS, "--json"];
    let out = in_udp_bed(&args);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&args, &out));
    let ports = by_port(&out);
    let mut m = Vec::new();
    for port in ports.keys() {
        expect(&mut m, &ports, *port, "proto", Some("udp"));
    }
    for (port, state, reason) in [
        (9, "closed", "port-unreach"),
        (7777, "open|filtered", "no-response"),
        (7778, "filtered", "host-unreach"),
    ] {
        expect(&mut m, &ports, port, "state", Some(state));
        expect(&mut m, &ports, port, "reason", Some(reason));
    }
    for port in [7, 13, 19, 37, 53, 69, 123, 137, 161, 1194, 3478, 5060, 11211] {
        expect(&mut m, &ports, port, "state", Some("open"));
        expect(&mut m, &ports, port, "reason", Some("udp-response"));
    }
    for (port, name) in [
        (7, "echo"),
        (13, "daytime"),
        (19, "chargen"),
        (37, "time"),
        (69, "tftp"),
        (137, "netbios-ns"),
    ] {
        expect(&mut m, &ports, port, "name", Some(name));
    }
    // nmbd's node status names the host (netbios name = PPBED in the bed's smb.conf).
    expect(&mut m, &ports, 137, "hostname", Some("PPBED"));
    let ntpsec = deb_file_version(&ntpsec_deb().expect("checked above"));
    let (unbound, _) = deb_version("unbound");
    let (memcached, _) = deb_version("memcached");
    let (coturn, _) = deb_version("coturn");
    let (kamailio, _) = deb_version("kamailio");
    for (port, name, product, version) in [
        (53, "domain", "Unbound", Some(unbound.as_str())),
        (123, "ntp", "NTPsec", Some(ntpsec.as_str())),
        (161, "snmp", "Net-SNMP", None),
        (1194, "openvpn", "OpenVPN", None),
        (3478, "stun", "coturn", Some(coturn.as_str())),
        (5060, "sip", "Kamailio", Some(kamailio.as_str())),
        (11211, "memcached", "memcached", Some(memcached.as_str())),
    ] {
        expect(&mut m, &ports, port, "name", Some(name));
        expect(&mut m, &ports, port, "product", Some(product));
        expect(&mut m, &ports, port, "version", version);
    }
    assert!(
        m.is_empty(),
        "{} mismatches:\n{}\n{}",
        m.len(),
        m.join("\n"),
        stdout(&out)
    );
}

#[test]
fn bind_and_dnsmasq_name_themselves_in_version_bind() {
    if !require_udp_bed("bind_and_dnsmasq_name_themselves_in_version_bind") {
        return;
    }
    let args = ["scan", "127.0.0.2", "127.0.0.3", "-u", "-p", "53", "--json"];
    let out = in_udp_bed(&args);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&args, &out));
    let by_host: HashMap<String, Value> = json_lines(&out)
        .into_iter()
        .map(|v| (v["ip"].as_str().unwrap_or("").to_string(), v))
        .collect();
    let (bind, bind_rev) = deb_version("bind9");
    let (dnsmasq, _) = deb_version("dnsmasq-base");
    let revision = format!("Debian {bind_rev}");
    let debian = format!("Debian {}", debian_major());
    let mut m = Vec::new();
    for (ip, field, want) in [
        ("127.0.0.2", "product", "ISC BIND"),
        ("127.0.0.2", "version", bind.as_str()),
        ("127.0.0.2", "revision", revision.as_str()),
        ("127.0.0.2", "os", debian.as_str()),
        ("127.0.0.3", "product", "dnsmasq"),
        ("127.0.0.3", "version", dnsmasq.as_str()),
    ] {
        let got = by_host.get(ip).and_then(|v| v["service"][field].as_str());
        if got != Some(want) {
            m.push(format!("{ip} {field}: got {got:?}, want {want:?}"));
        }
    }
    assert!(m.is_empty(), "{}\n{}", m.join("\n"), stdout(&out));
}

#[test]
fn miniupnpd_names_itself_in_its_ssdp_answer() {
    if !require_udp_bed("miniupnpd_names_itself_in_its_ssdp_answer") {
        return;
    }
    // miniupnpd listens on the bed's veth (pp0, 10.99.0.1), not on loopback: the M-SEARCH goes
    // there, and 1901 on the same address (nothing bound) is closed.
    let args = ["scan", "10.99.0.1", "-u", "-p", "1900,1901", "--json"];
    let out = in_udp_bed(&args);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&args, &out));
    let ports = by_port(&out);
    let (miniupnpd, _) = deb_version("miniupnpd");
    let mut m = Vec::new();
    expect(&mut m, &ports, 1900, "state", Some("open"));
    expect(&mut m, &ports, 1900, "reason", Some("udp-response"));
    expect(&mut m, &ports, 1900, "name", Some("upnp"));
    expect(&mut m, &ports, 1900, "product", Some("MiniUPnPd"));
    expect(&mut m, &ports, 1900, "version", Some(miniupnpd.as_str()));
    expect(&mut m, &ports, 1900, "os", Some("Debian"));
    expect(&mut m, &ports, 1901, "state", Some("closed"));
    assert!(m.is_empty(), "{}\n{}", m.join("\n"), stdout(&out));
}

#[test]
fn the_audit_reports_udp_disclosures() {
    if !require_udp_bed("the_audit_reports_udp_disclosures") {
        return;
    }
    let args = ["audit", "127.0.0.1", "-u", "-p", "53,123,161", "--json"];
    let out = in_udp_bed(&args);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&args, &out));
    let ports = by_port(&out);
    let (unbound, _) = deb_version("unbound");
    let mut m = Vec::new();
    for (port, id, evidence) in [
        (53, "dns-version-bind", format!("unbound {unbound}")),
        (
            123,
            "ntp-readvar-version",
            format!("ntpd ntpsec-{}", deb_file_version(&ntpsec_deb().unwrap())),
        ),
        (161, "snmp-sysdescr-public", String::new()),
    ] {
        let findings = ports
            .get(&port)
            .and_then(|v| v["findings"].as_array())
            .cloned()
            .unwrap_or_default();
        let found = findings.iter().find(|f| f["id"] == id);
        match found {
            None => m.push(format!("port {port}: no {id} in {findings:?}")),
            Some(f) if !evidence.is_empty() && f["evidence"] != evidence.as_str() => m.push(format!(
                "port {port} {id}: evidence {}, want {evidence}",
                f["evidence"]
            )),
            Some(f) if f["severity"] != "medium" => m.push(format!("port {port} {id}: {f}")),
            Some(_) => {}
        }
    }
    assert!(m.is_empty(), "{}\n{}", m.join("\n"), stdout(&out));
}

#[test]
fn snmp_community_is_configurable() {
    if !require_udp_bed("snmp_community_is_configurable") {
        return;
    }
    // The bed's snmpd knows public and s3cret-bed; an unknown community gets no sysDescr (the
    // v3 engine discovery still names Net-SNMP).
    let mut m = Vec::new();
    for (community, sysdescr) in [("s3cret-bed", true), ("not-a-community", false)] {
        let args = [
            "audit",
            "127.0.0.1",
            "-u",
            "-p",
            "161",
            "--json",
            "--snmp-community",
            community,
        ];
        let out = in_udp_bed(&args);
        let ports = by_port(&out);
        let v = ports.get(&161).cloned().unwrap_or_default();
        let found = v["findings"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["id"] == "snmp-sysdescr-public"));
        if found != sysdescr || v["service"]["product"] != "Net-SNMP" {
            m.push(format!(
                "{community}: sysDescr finding {found}, want {sysdescr}: {v}"
            ));
        }
    }
    assert!(m.is_empty(), "{}", m.join("\n"));
}

#[test]
fn tcp_and_udp_ports_mix_in_one_scan() {
    if !require_namespaces("tcp_and_udp_ports_mix_in_one_scan") {
        return;
    }
    // A TCP listener on 22, a UDP echo on 7; 53/udp and 23/tcp closed.
    let out = shell_in(
        "netns.sh",
        "socat -u TCP-LISTEN:22,reuseaddr,fork OPEN:/dev/null </dev/null >/dev/null 2>&1 &
         socat UDP-RECVFROM:7,fork EXEC:cat </dev/null >/dev/null 2>&1 &
         sleep 0.3
         $PORTPROBE scan 127.0.0.1 -p U:7,53,T:22,23 -z
         echo ---
         $PORTPROBE scan 127.0.0.1 -p 22,U:53 --json -z
         kill $(jobs -p) 2>/dev/null; wait",
    );
    let text = stdout(&out);
    let (table, json) = text.split_once("---\n").unwrap_or((&text, ""));
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.contains("/tcp") || l.contains("/udp"))
        .collect();
    let want = [
        "22/tcp    open      ssh              syn-ack",
        "23/tcp    closed    telnet           conn-refused",
        "7/udp     open      echo             udp-response",
        "53/udp    closed    domain           port-unreach",
    ];
    assert_eq!(rows, want, "{text}{}", stderr(&out));
    let protos: Vec<(u64, String)> = json
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "port")
        .map(|v| {
            (
                v["port"].as_u64().unwrap_or(0),
                v["proto"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let mut protos = protos;
    protos.sort();
    assert_eq!(
        protos,
        vec![(22, "tcp".to_string()), (53, "udp".to_string())],
        "{json}"
    );
}

#[test]
fn udp_usage_errors_name_the_problem() {
    let out = portprobe_expect(&["scan", "127.0.0.1", "-p", "S:80"], 2);
    assert_eq!(
        stderr(&out).trim_end(),
        "portprobe: invalid --ports: unknown protocol prefix 'S:': use T: for TCP or U: for UDP (U:53,161,T:22)"
    );
    let out = portprobe_expect(&["connect", "-u", "--tls", "127.0.0.1", "53"], 2);
    assert_eq!(
        stderr(&out).trim_end(),
        "portprobe: --udp cannot be combined with --tls: it needs a stream (TCP)"
    );
    let out = portprobe_expect(&["scan", "127.0.0.1", "-u", "--top-ports", "999"], 2);
    let first = stderr(&out).lines().next().unwrap_or("").to_string();
    assert!(
        first.starts_with("portprobe: --top-ports 999: choose 1 to ")
            && first.contains("the shipped list has"),
        "{first}"
    );
    for (args, line) in [
        (
            &["scan", "127.0.0.1", "-p", "U:53", "--randomize"][..],
            "portprobe: --randomize orders TCP ports only: scan UDP ports (-u, -sU, -p U:53) in target order",
        ),
        (
            &["connect", "-u", "-x", "127.0.0.1:1080", "127.0.0.1", "53"][..],
            "portprobe: --udp cannot be combined with -x: it needs a stream (TCP)",
        ),
        (
            &["listen", "-u", "-U", "/tmp/portprobe-udp-unix"][..],
            "portprobe: --udp cannot be combined with -U: it needs a stream (TCP)",
        ),
        (
            &["ping", "127.0.0.1", "-p", "U:53"][..],
            "portprobe: invalid --ports: 'U:53': only TCP ports are accepted here (no U: prefix)",
        ),
    ] {
        let out = portprobe_expect(args, 2);
        assert_eq!(stderr(&out).trim_end(), line, "{args:?}");
    }
}

#[test]
fn connect_u_and_listen_u_pass_datagrams_both_ways_byte_exact() {
    if !require_namespaces("connect_u_and_listen_u_pass_datagrams_both_ways_byte_exact") {
        return;
    }
    // Binary data with NUL, 0xff and a lone CR: what is sent is what arrives, both ways. The
    // listener answers the last peer: the client hears the listener's stdin.
    let out = shell_in(
        "netns.sh",
        "printf 'srv\\x00\\xff\\r' > /tmp/pp-srv-$$
         (sleep 0.6; cat /tmp/pp-srv-$$) | $PORTPROBE listen -u 127.0.0.1:9000 -q 2s > /tmp/pp-l-$$ &
         sleep 0.3
         printf 'cli\\x00\\x01\\xfe\\n' | $PORTPROBE connect -u 127.0.0.1 9000 -q 1.5s > /tmp/pp-c-$$
         echo connect=$?
         wait
         od -An -tx1 /tmp/pp-l-$$ | tr -s ' '
         od -An -tx1 /tmp/pp-c-$$ | tr -s ' '
         rm -f /tmp/pp-*-$$
         $PORTPROBE connect -u 127.0.0.1 9001 -q 1s < /dev/null; echo closed=$?
         printf x | $PORTPROBE connect -u 127.0.0.1 9001 -q 1s; echo sent-closed=$?",
    );
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    assert_eq!(
        lines,
        [
            "connect=0",
            "63 6c 69 00 01 fe 0a",
            "73 72 76 00 ff 0d",
            "closed=0",
            "sent-closed=1",
        ],
        "{text}{}",
        stderr(&out)
    );
    assert_eq!(
        stderr(&out).trim_end(),
        "portprobe: 127.0.0.1:9001: closed: port unreachable (ICMP)"
    );
}

#[test]
fn listen_u_k_hears_many_peers_and_answers_the_last() {
    if !require_namespaces("listen_u_k_hears_many_peers_and_answers_the_last") {
        return;
    }
    // Two clients from two source ports; the listener's stdin (sent after both spoke) goes to
    // the second. Without -k, the second peer is not heard at all.
    let out = shell_in(
        "netns.sh",
        "(sleep 0.8; printf reply) | $PORTPROBE listen -u -k 127.0.0.1:9000 -q 1s > /tmp/pp-l-$$ &
         sleep 0.3
         printf one | $PORTPROBE connect -u -p 40001 127.0.0.1 9000 -q 1.5s > /tmp/pp-a-$$ &
         sleep 0.2
         printf two | $PORTPROBE connect -u -p 40002 127.0.0.1 9000 -q 1.3s > /tmp/pp-b-$$
         wait
         echo \"listener=$(cat /tmp/pp-l-$$) first=$(cat /tmp/pp-a-$$) second=$(cat /tmp/pp-b-$$)\"
         (sleep 0.8; printf reply) | $PORTPROBE listen -u 127.0.0.1:9001 -q 1s > /tmp/pp-l-$$ &
         sleep 0.3
         printf one | $PORTPROBE connect -u -p 40003 127.0.0.1 9001 -q 1.5s > /tmp/pp-a-$$ &
         sleep 0.2
         printf two | $PORTPROBE connect -u -p 40004 127.0.0.1 9001 -q 1.3s > /tmp/pp-b-$$
         wait
         echo \"listener=$(cat /tmp/pp-l-$$) first=$(cat /tmp/pp-a-$$) second=$(cat /tmp/pp-b-$$)\"
         rm -f /tmp/pp-*-$$",
    );
    assert_eq!(
        stdout(&out),
        "listener=onetwo first= second=reply\nlistener=one first=reply second=\n",
        "{}",
        stderr(&out)
    );
}

#[test]
fn listen_u_drops_denied_peers_and_logs_the_session() {
    if !require_namespaces("listen_u_drops_denied_peers_and_logs_the_session") {
        return;
    }
    // --deny drops a peer's datagrams (said with -v); --output records what was received.
    let out = shell_in(
        "netns.sh",
        "$PORTPROBE listen -u -k -v 127.0.0.1:9002 --deny 127.0.0.2 -i 1500ms --output /tmp/pp-o-$$ > /tmp/pp-l-$$ 2> /tmp/pp-e-$$ &
         for _ in $(seq 50); do grep -q listening /tmp/pp-e-$$ 2>/dev/null && break; sleep 0.1; done
         printf denied | $PORTPROBE connect -u -s 127.0.0.2 127.0.0.1 9002 -q 300ms
         printf allowed | $PORTPROBE connect -u 127.0.0.1 9002 -q 300ms
         wait
         echo \"listener=$(cat /tmp/pp-l-$$) log=$(cat /tmp/pp-o-$$) refused=$(grep -c 'refused by --allow/--deny' /tmp/pp-e-$$)\"
         rm -f /tmp/pp-*-$$",
    );
    assert_eq!(
        stdout(&out),
        "listener=allowed log=allowed refused=1\n",
        "{}",
        stderr(&out)
    );
}
