//! Real mail-path and filtering daemons (tests/testbed/mail2.sh: Sendmail, the Cyrus IMAP suite,
//! amavisd-new, Dovecot's LMTP, OpenDMARC, c-icap, PHP-FPM, Knot Resolver, ziproxy, E2Guardian,
//! ExaBGP, OpenNTPD) in a namespace of their own: one scan must name each with the service,
//! product and version it discloses. Expected versions come from the Debian packages (dpkg, or
//! apt-cache for the packages the bed runs unpacked).

use crate::common::*;

/// The installed programs of the bed, for the skip message (Sendmail, Cyrus's imapd and pop3d
/// and OpenNTPD are unpacked by the bed itself).
const MAIL2_BED_PROGRAMS: &[&str] = &[
    "/usr/bin/m4",
    "/usr/lib/cyrus/bin/master",
    "/usr/sbin/amavisd",
    "/usr/sbin/dovecot",
    "/usr/lib/dovecot/lmtp",
    "/usr/sbin/opendmarc",
    "/usr/bin/c-icap",
    "/usr/sbin/php-fpm8.2",
    "/usr/sbin/kresd",
    "/usr/lib/x86_64-linux-gnu/knot-resolver/kres_modules/http.lua",
    "/usr/bin/ziproxy",
    "/usr/sbin/e2guardian",
    "/usr/sbin/exabgp",
];

/// TCP ports of the bed, then UDP ports (scanned as U:PORT).
const TCP: &[u16] = &[
    24, 25, 53, 110, 143, 179, 1344, 2424, 4190, 8080, 8081, 8453, 8893, 9000, 10024,
];
const UDP: &[u16] = &[53, 123];

fn require_mail2_bed(test: &str) -> bool {
    require_bed_programs(test, MAIL2_BED_PROGRAMS)
}

/// Starts the mail2 bed in a namespace of its own and runs `portprobe ARGS` there; first
/// fetches (outside the namespace) the packages the bed runs unpacked.
fn mail2_bed(args: &[&str]) -> std::process::Output {
    fetched_bed("mail2.sh", args)
}

/// Cyrus's build as its greetings name it: `Debian 3.6.1-4+deb12u5`.
fn cyrus_revision() -> String {
    let (upstream, revision) = deb_version("cyrus-common");
    format!("Debian {upstream}-{revision}")
}

/// Every identity field the bed's TCP daemons must show, as the packages say.
fn tcp_expectations() -> Vec<Want> {
    let mut w = Vec::new();
    let mut named = |port: u64, name: &str, product: &str| {
        w.push(want(port, "name", name));
        w.push(want(port, "product", product));
    };
    named(24, "lmtp", "Cyrus IMAP");
    named(25, "smtp", "Sendmail");
    named(110, "pop3", "Cyrus IMAP");
    named(143, "imap", "Cyrus IMAP");
    named(179, "bgp", "ExaBGP");
    named(1344, "icap", "c-icap");
    named(2424, "smtp", "Dovecot");
    named(4190, "sieve", "Cyrus IMAP");
    named(8080, "http-proxy", "ziproxy");
    named(8081, "http-proxy", "E2Guardian");
    named(8453, "http", "Knot Resolver");
    named(9000, "fastcgi", "PHP-FPM");
    named(10024, "smtp", "amavisd-new");
    let cyrus = upstream("cyrus-common");
    w.extend([
        // Knot Resolver refuses CHAOS queries: the port names the service.
        want(53, "name", "domain"),
        want(24, "version", cyrus.clone()),
        want(24, "revision", cyrus_revision()),
        want(24, "hostname", "cyrus.testbed.example"),
        want(24, "info", "lmtpd"),
        want(25, "version", upstream_candidate("sendmail-bin")),
        want(25, "hostname", "sendmail.testbed.example"),
        want(
            25,
            "revision",
            format!("Debian {}", revision_candidate("sendmail-bin")),
        ),
        want(110, "version", cyrus.clone()),
        want(110, "revision", cyrus_revision()),
        want(143, "version", cyrus.clone()),
        want(143, "revision", cyrus_revision()),
        want(4190, "version", cyrus),
        want(1344, "version", upstream("c-icap")),
        want(8080, "version", upstream("ziproxy")),
        want(8080, "hostname", host_name()),
        want(8081, "info", "web content filter"),
        want(8453, "hostname", host_name()),
        want(8453, "info", "web management"),
        want(8893, "name", "milter"),
        want(8893, "info", "Sendmail milter protocol"),
        want(10024, "info", "content filter"),
    ]);
    w
}

/// The same for the UDP daemons.
fn udp_expectations() -> Vec<Want> {
    vec![want(53, "name", "domain"), want(123, "name", "ntp")]
}

#[test]
fn one_scan_names_every_mail2_daemon_and_its_version() {
    if !require_mail2_bed("testbed_mail2") {
        return;
    }
    let ports: Vec<String> = TCP
        .iter()
        .map(u16::to_string)
        .chain(UDP.iter().map(|p| format!("U:{p}")))
        .collect();
    let out = mail2_bed(&["scan", "127.0.0.1", "-p", &ports.join(","), "--json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let (m, _) = bed_mismatches(&out, (&tcp_expectations(), &udp_expectations()), (TCP, UDP));
    assert!(m.is_empty(), "{} mismatch(es):\n{}", m.len(), m.join("\n"));
}

#[test]
fn table_rows_of_mail2_daemons_read_like_nmap() {
    if !require_mail2_bed("testbed_mail2_table") {
        return;
    }
    let out = mail2_bed(&["scan", "127.0.0.1", "-p", "24,1344,9000,10024"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let lines: Vec<&str> = text.lines().collect();
    for want in [
        format!(
            "24/tcp    open      lmtp             syn-ack         Cyrus IMAP {} {} (lmtpd)",
            upstream("cyrus-common"),
            cyrus_revision()
        ),
        format!(
            "1344/tcp  open      icap             syn-ack         c-icap {}",
            upstream("c-icap")
        ),
        "9000/tcp  open      fastcgi          syn-ack         PHP-FPM".to_string(),
        "10024/tcp open      smtp             syn-ack         amavisd-new (content filter)".to_string(),
    ] {
        assert!(
            lines.contains(&want.as_str()),
            "missing line {want:?} in:\n{text}"
        );
    }
}
