//! 37 mail, FTP and web/application servers from Debian packages (tests/testbed/mailweb.sh) in
//! a namespace of their own: one scan must name each with the service, product and version it
//! discloses, and claim nothing it does not. Expected versions come from the packages (dpkg, or
//! apt's candidate for the ones the bed runs unpacked), never from constants.

use crate::common::*;
use serde_json::Value;
use std::collections::HashMap;

/// What a field of one port must be.
enum Is {
    Absent,
    Exactly(String),
    StartsWith(String),
}

/// What one port must say: service name, product, version, and further service fields.
struct Expect {
    port: u64,
    name: &'static str,
    product: Option<&'static str>,
    version: Is,
    more: Vec<(&'static str, String)>,
}

fn expect(port: u64, name: &'static str, product: Option<&'static str>) -> Expect {
    Expect {
        port,
        name,
        product,
        version: Is::Absent,
        more: Vec::new(),
    }
}

impl Expect {
    fn version(mut self, version: String) -> Self {
        self.version = Is::Exactly(version);
        self
    }

    fn version_from(self, package: &str) -> Self {
        self.version(upstream(package))
    }

    fn with(mut self, field: &'static str, value: impl Into<String>) -> Self {
        self.more.push((field, value.into()));
        self
    }
}

/// Every daemon of the bed, as its package says it should be named.
fn expectations() -> Vec<Expect> {
    let python = format!("Python {}", upstream("python3.11"));
    let twisted = upstream("python3-twisted");
    vec![
        // Pure-FTPd's greeting names no version.
        expect(21, "ftp", Some("Pure-FTPd")),
        expect(25, "smtp", Some("Exim"))
            .version(upstream_candidate("exim4-daemon-light"))
            .with("hostname", "mail.testbed.example"),
        expect(110, "pop3", Some("Perdition")).with("info", "POP3 proxy"),
        expect(143, "imap", Some("Perdition")).with("info", "IMAP proxy"),
        expect(587, "smtp", Some("Dovecot")).with("hostname", "mail.testbed.example"),
        expect(1143, "imap", Some("nginx")).with("info", "mail proxy"),
        expect(1144, "pop3", Some("nginx")).with("info", "mail proxy"),
        // Courier names itself, not its version ("+OK Hello there." is Courier's POP3 greeting).
        expect(3110, "pop3", Some("Courier-IMAP")),
        expect(3143, "imap", Some("Courier-IMAP")),
        // nginx's SMTP greeting is the one large providers send too: no product claimed.
        expect(1145, "smtp", None).with("confidence", "soft"),
        expect(2021, "ftp", Some("Twisted FTP")).version(twisted.clone()),
        expect(2025, "smtp", Some("Twisted SMTP")).with("hostname", "mail.testbed.example"),
        expect(2026, "pop3", Some("Twisted POP3")),
        expect(2121, "ftp", Some("pyftpdlib")).version_from("python3-pyftpdlib"),
        // OpenSMTPD's greeting names no version.
        expect(2525, "smtp", Some("OpenSMTPD")),
        expect(2587, "smtp", Some("aiosmtpd")).version_from("python3-aiosmtpd"),
        expect(6969, "http", Some("opentracker")),
        // http.server's own version (SimpleHTTP/0.6) is not the package's: not compared.
        Expect {
            version: Is::StartsWith(String::new()),
            ..expect(8001, "http", Some("Python http.server")).with("info", python.clone())
        },
        expect(8002, "http", Some("Twisted Web")).version(twisted),
        expect(8003, "http", Some("Tornado")).version(major_minor(&upstream("python3-tornado"))),
        expect(8004, "http", Some("CherryPy")).version_from("python3-cherrypy3"),
        expect(8005, "http", Some("Werkzeug"))
            .version_from("python3-werkzeug")
            .with("info", python),
        expect(8006, "http", Some("aiohttp")).version_from("python3-aiohttp"),
        // Gunicorn, Waitress and Uvicorn send their name only.
        expect(8007, "http", Some("Gunicorn")),
        expect(8008, "http", Some("Waitress")),
        // uWSGI passes the application's answer on, and adds nothing of its own.
        expect(8009, "http", None),
        expect(8010, "http", Some("Uvicorn")),
        expect(8011, "http", Some("WEBrick")).version_from("ruby-webrick"),
        expect(8012, "http", Some("PHP built-in web server")),
        expect(8013, "http", Some("libwww-perl HTTP::Daemon")).version_from("libhttp-daemon-perl"),
        expect(8014, "http", Some("BusyBox httpd")),
        expect(8015, "http", Some("Caddy")),
        expect(8016, "http", Some("H2O")).version_from("h2o"),
        // Jetty adds its build date: 9.4.57.v20241219.
        Expect {
            version: Is::StartsWith(format!("{}.v", upstream("jetty9"))),
            ..expect(8017, "http", Some("Jetty"))
        },
        expect(8018, "http", Some("mini_httpd")).version_from("mini-httpd"),
        expect(8019, "http", Some("micro_httpd")),
        expect(8020, "http", Some("webfs")).version_from("webfs"),
        expect(8021, "http", Some("Yaws")).version_from("yaws"),
        // Thin, Mojolicious and Hypercorn send their name only.
        expect(8022, "http", Some("Thin")),
        expect(8023, "http", Some("Mojolicious")),
        expect(8024, "http", Some("Hypercorn")).with("info", "h11"),
    ]
}

/// The installed programs of the bed, for the skip message (the unpacked ones are fetched).
const MAILWEB_BED_PROGRAMS: &[&str] = &[
    "/usr/sbin/dovecot",
    "/usr/sbin/perdition.imap4",
    "/usr/sbin/perdition.pop3",
    "/usr/sbin/nginx",
    "/usr/lib/nginx/modules/ngx_mail_module.so",
    "/usr/bin/twistd3",
    "/usr/bin/opentracker",
    "/usr/bin/gunicorn",
    "/usr/bin/waitress-serve",
    "/usr/bin/uwsgi",
    "/usr/lib/uwsgi/plugins/python3_plugin.so",
    "/usr/bin/uvicorn",
    "/usr/bin/ruby",
    "/usr/bin/php",
    "/usr/bin/busybox",
    "/usr/bin/caddy",
    "/usr/bin/h2o",
    "/usr/share/jetty9/start.jar",
    "/usr/sbin/mini_httpd",
    "/usr/sbin/micro-httpd",
    "/usr/bin/webfsd",
    "/usr/bin/yaws",
    "/usr/bin/thin",
    "/usr/bin/mojo",
    "/usr/bin/hypercorn",
    "/usr/sbin/couriertcpd",
    "/usr/bin/apt-get",
];

fn require_mailweb_bed(test: &str) -> bool {
    require_bed_programs(test, MAILWEB_BED_PROGRAMS)
}

/// Starts the bed in a namespace of its own and runs `portprobe ARGS` there; first fetches
/// (outside the namespace) the packages the bed runs unpacked.
fn mailweb_bed(args: &[&str]) -> std::process::Output {
    fetched_bed("mailweb.sh", args)
}

/// Compares what one port says with what it must say; records every difference.
fn check(mismatches: &mut Vec<String>, want: &Expect, v: &Value) {
    let s = &v["service"];
    let mut field = |name: &str, expected: &Is| {
        let got = s[name].as_str();
        let ok = match expected {
            Is::Absent => got.is_none(),
            Is::Exactly(value) => got == Some(value.as_str()),
            Is::StartsWith(prefix) => got.is_some_and(|g| g.starts_with(prefix.as_str())),
        };
        if !ok {
            let want_text = match expected {
                Is::Absent => "absent".to_string(),
                Is::Exactly(value) => format!("{value:?}"),
                Is::StartsWith(prefix) => format!("starting with {prefix:?}"),
            };
            mismatches.push(format!(
                "port {} {name}: got {got:?}, want {want_text} in {v}",
                want.port
            ));
        }
    };
    field("name", &Is::Exactly(want.name.to_string()));
    field(
        "product",
        &want.product.map_or(Is::Absent, |p| Is::Exactly(p.to_string())),
    );
    field("version", &want.version);
    for (name, value) in &want.more {
        field(name, &Is::Exactly(value.clone()));
    }
    if v["state"] != "open" {
        mismatches.push(format!("port {}: not open: {v}", want.port));
    }
}

/// The bed's extra ports (nginx's POP3 and SMTP, Twisted's POP3) are listed with the others.
#[test]
fn one_scan_names_every_mail_and_web_daemon_without_a_wrong_claim() {
    if !require_mailweb_bed("testbed_mailweb") {
        return;
    }
    let wants = expectations();
    let ports: Vec<String> = wants.iter().map(|w| w.port.to_string()).collect();
    let out = mailweb_bed(&["scan", "127.0.0.1", "-p", &ports.join(","), "--json"]);
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
fn table_rows_of_mail_and_web_daemons_read_like_nmap() {
    if !require_mailweb_bed("testbed_mailweb_table") {
        return;
    }
    let out = mailweb_bed(&["scan", "127.0.0.1", "-p", "25,143,8012,8013"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let exim = upstream_candidate("exim4-daemon-light");
    let daemon = upstream("libhttp-daemon-perl");
    let lines: Vec<&str> = text.lines().collect();
    for want in [
        format!("25/tcp    open      smtp             syn-ack         Exim {exim}"),
        "143/tcp   open      imap             syn-ack         Perdition (IMAP proxy)".to_string(),
        "8012/tcp  open      http             syn-ack         PHP built-in web server".to_string(),
        format!("8013/tcp  open      http             syn-ack         libwww-perl HTTP::Daemon {daemon}"),
    ] {
        assert!(
            lines.contains(&want.as_str()),
            "missing line {want:?} in:\n{text}"
        );
    }
}
