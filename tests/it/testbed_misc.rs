//! Other real Debian daemons (tests/testbed/misc.sh: admin consoles, chat, VPN, media,
//! scanning, build farms, UPS, databases, mail filters, monitoring, hubs, storage) in a namespace
//! of their own: one scan must name each with the service, product and version it discloses.
//! Expected versions come from the installed packages (dpkg), never from constants.

use crate::common::*;
use serde_json::Value;
use std::collections::HashMap;

/// The programs of the bed, for the skip message (apcupsd is unpacked by the bed itself).
const MISC_BED_PROGRAMS: &[&str] = &[
    "/usr/sbin/pptpd",
    "/usr/sbin/firebird",
    "/usr/bin/shellinaboxd",
    "/usr/sbin/ejabberdctl",
    "/usr/sbin/saned",
    "/usr/sbin/bitlbee",
    "/usr/sbin/inspircd",
    "/usr/bin/znc",
    "/usr/sbin/i2pd",
    "/usr/sbin/minidlnad",
    "/usr/bin/syncthing",
    "/usr/sbin/iceccd",
    "/usr/lib/cockpit/cockpit-ws",
    "/usr/bin/rspamd",
    "/usr/sbin/netdata",
    "/usr/bin/glances",
    "/usr/sbin/opendkim",
    "/usr/sbin/gophernicus",
    "/usr/bin/uhub",
    "/usr/bin/nbd-server",
    "/usr/bin/gkrellmd",
    "/usr/sbin/ocserv",
    "/usr/sbin/darkstat",
    "/usr/bin/quasselcore",
];

fn require_misc_bed(test: &str) -> bool {
    require_bed_programs(test, MISC_BED_PROGRAMS)
}

/// Starts the misc bed in a namespace of its own and runs `portprobe ARGS` there; first fetches
/// (outside the namespace) the packages the bed runs unpacked.
fn misc_bed(args: &[&str]) -> std::process::Output {
    fetched_bed("misc.sh", args)
}

/// Every identity field the bed's daemons must show, as the installed packages say.
fn expectations() -> Vec<Want> {
    let debian = format!("Debian {}", debian_major());
    let (bitlbee, bitlbee_rev) = deb_version("bitlbee");
    let inspircd_major = upstream("inspircd")
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string();
    let mut w = Vec::new();
    let mut named = |port: u64, name: &str, product: &str| {
        w.push(want(port, "name", name));
        w.push(want(port, "product", product));
    };
    named(70, "gopher", "Gophernicus");
    named(443, "http", "ocserv");
    named(667, "http", "darkstat");
    named(1511, "adc", "uhub");
    named(1723, "pptp", "PoPToP pptpd");
    named(3050, "gds-db", "Firebird");
    named(3551, "apcupsd", "apcupsd");
    named(4200, "http", "Shell In A Box");
    named(4242, "quassel", "Quassel core");
    named(4444, "http-proxy", "i2pd HTTP proxy");
    named(5222, "xmpp-client", "ejabberd");
    named(5269, "xmpp-server", "ejabberd");
    named(6566, "sane-port", "SANE saned");
    named(6667, "irc", "BitlBee");
    named(6668, "irc", "InspIRCd");
    // ZNC answers IRC and HTTP on one port; on an IRC port the irc probe names it first, without
    // the version its web front end would give.
    named(6669, "irc", "ZNC");
    named(7070, "http", "i2pd web console");
    named(8200, "http", "MiniDLNA");
    named(8384, "http", "Syncthing");
    named(9090, "http", "Cockpit web service");
    named(10245, "icecream", "Icecream");
    named(11332, "milter", "Rspamd");
    named(11333, "http", "Rspamd");
    named(11334, "http", "Rspamd");
    named(19150, "gkrellm", "gkrellmd");
    named(19999, "http", "Netdata");
    named(61208, "http", "Glances");
    w.extend([
        want(70, "version", upstream("gophernicus")),
        want(443, "tunnel", "tls"),
        want(667, "version", upstream("darkstat")),
        want(1511, "version", upstream("uhub")),
        want(3551, "version", upstream_candidate("apcupsd")),
        want(3551, "hostname", host_name()),
        // OpenDKIM (libmilter) names no product: only the protocol.
        want(8891, "name", "milter"),
        want(8891, "info", "Sendmail milter protocol"),
        want(11332, "info", "milter proxy"),
        // NBD's greeting names the negotiation style, not the server.
        want(10809, "name", "nbd"),
        want(10809, "info", "newstyle negotiation"),
        want(19150, "version", upstream("gkrellmd")),
        want(19150, "hostname", host_name()),
        want(19150, "os", "Linux"),
        want(6667, "version", bitlbee),
        want(6667, "revision", format!("Debian {bitlbee_rev}")),
        want(6667, "hostname", "bitlbee.testbed.example"),
        want(6668, "version", inspircd_major),
        want(6669, "info", "IRC bouncer"),
        want(7070, "version", upstream("i2pd")),
        want(8200, "version", upstream("minidlna")),
        want(8384, "version", upstream("syncthing")),
        want(9090, "os", debian),
        want(11333, "version", upstream("rspamd")),
        want(11334, "version", upstream("rspamd")),
        want(19999, "version", upstream("netdata")),
    ]);
    w
}

#[test]
fn one_scan_names_every_misc_daemon_and_its_version() {
    if !require_misc_bed("testbed_misc") {
        return;
    }
    let wants = expectations();
    let ports: std::collections::BTreeSet<String> = wants.iter().map(|w| w.port.to_string()).collect();
    let ports: Vec<String> = ports.into_iter().collect();
    let out = misc_bed(&["scan", "127.0.0.1", "-p", &ports.join(","), "--json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let got: HashMap<u64, Value> = by_port(&out);
    let mut m = mismatches(&got, &wants);
    for port in got.keys() {
        if got[port]["state"] != "open" {
            m.push(format!("{port}/tcp: not open: {}", got[port]));
        }
    }
    assert!(m.is_empty(), "{} mismatch(es):\n{}", m.len(), m.join("\n"));
}

#[test]
fn table_rows_of_misc_daemons_read_like_nmap() {
    if !require_misc_bed("testbed_misc_table") {
        return;
    }
    let out = misc_bed(&["scan", "127.0.0.1", "-p", "1723,6667,6669"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let (bitlbee, bitlbee_rev) = deb_version("bitlbee");
    let lines: Vec<&str> = text.lines().collect();
    for want in [
        "1723/tcp  open      pptp             syn-ack         PoPToP pptpd".to_string(),
        format!("6667/tcp  open      irc              syn-ack         BitlBee {bitlbee} Debian {bitlbee_rev} (IRC to IM gateway)"),
        "6669/tcp  open      irc              syn-ack         ZNC (IRC bouncer)".to_string(),
    ] {
        assert!(lines.contains(&want.as_str()), "missing line {want:?} in:\n{text}");
    }
}
