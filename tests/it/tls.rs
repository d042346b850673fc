//! TLS everywhere, against the TLS test bed (tests/testbed/tls.sh): detection inside tunnels,
//! STARTTLS for SMTP/IMAP/POP3/FTP/PostgreSQL, certificate facts compared with what openssl
//! says of the same files, and the valid / self-signed / expired / mismatch / legacy verdicts.

use crate::common::*;
use serde_json::Value;
use std::collections::HashMap;

const PORTS: &str = "443,993,995,143,110,25,21,5432,4443,7443,9443,8443";

/// Scans with `args` inside the TLS test bed; returns the JSON by port and what openssl says
/// (lines after `---`).
fn scan(args: &str) -> (HashMap<u64, Value>, String) {
    let snippet = format!(
        r#""$PORTPROBE" scan {args} --json || exit $?
        echo ---
        for n in selfsigned localhost expired wrongname; do
            openssl x509 -in "$TESTBED_DIR/certs/$n.pem" -noout -fingerprint -sha256 | sed "s/^/$n /"
        done"#
    );
    let out = shell_in_testbed("tls.sh", &snippet);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    let (json, openssl) = text.split_once("---\n").expect("separator");
    let ports = json
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "port")
        .map(|v| (v["port"].as_u64().unwrap(), v))
        .collect();
    (ports, openssl.to_string())
}

fn fingerprint(openssl: &str, name: &str) -> String {
    openssl
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} sha256 Fingerprint=")))
        .unwrap_or_else(|| panic!("no fingerprint for {name} in {openssl}"))
        .to_string()
}

fn status(v: &Value) -> &str {
    v["tls"]["verification"]["status"].as_str().unwrap_or("?")
}

#[test]
fn tls_services_are_identified_inside_the_tunnel_with_verdicts() {
    if !require_testbed("tls_testbed") {
        return;
    }
    let (p, openssl) = scan(&format!("localhost -4 -p {PORTS} --ca-file \"$TESTBED_CA\""));
    // nginx behind a self-signed certificate.
    let (nginx, _) = deb_version("nginx");
    let s = &p[&443]["service"];
    assert_eq!(
        (s["name"].as_str(), s["tunnel"].as_str()),
        (Some("http"), Some("tls"))
    );
    assert_eq!(
        (s["product"].as_str(), s["version"].as_str()),
        (Some("nginx"), Some(nginx.as_str()))
    );
    let tls = &p[&443]["tls"];
    assert_eq!(tls["via"], "tunnel");
    assert_eq!(status(&p[&443]), "self-signed");
    let leaf = &tls["chain"][0];
    assert_eq!(leaf["self_signed"], true);
    assert_eq!(leaf["sha256"], fingerprint(&openssl, "selfsigned"));
    assert!(leaf["san"]
        .as_array()
        .unwrap()
        .contains(&Value::from("DNS:localhost")));
    assert!(leaf["days_left"].as_i64().unwrap() >= 28);
    assert_eq!(tls["sni"], "localhost");
    assert!(["TLSv1.2", "TLSv1.3"].contains(&tls["version"].as_str().unwrap()));
    assert!(tls["cipher"].as_str().unwrap().starts_with("TLS_"));
    // Dovecot over implicit TLS, CA-signed (valid with --ca-file).
    for (port, name, product) in [(993, "imap", "Dovecot"), (995, "pop3", "Dovecot")] {
        let s = &p[&port]["service"];
        assert_eq!(
            (s["name"].as_str(), s["product"].as_str()),
            (Some(name), Some(product)),
            "{port}"
        );
        assert_eq!(s["tunnel"], "tls");
        assert_eq!(status(&p[&port]), "valid", "{port}: {}", p[&port]);
        assert_eq!(
            p[&port]["tls"]["chain"][0]["sha256"],
            fingerprint(&openssl, "localhost")
        );
    }
    // STARTTLS: SMTP, IMAP, POP3, FTP and PostgreSQL.
    for (port, name) in [
        (25, "smtp"),
        (143, "imap"),
        (110, "pop3"),
        (21, "ftp"),
        (5432, "postgresql"),
    ] {
        let v = &p[&port];
        assert_eq!(v["service"]["name"], name, "{port}");
        assert_eq!(v["tls"]["via"], "starttls", "{port}: {v}");
        assert_eq!(v["tls"]["offered"], true, "{port}");
        assert_eq!(status(v), "valid", "{port}: {v}");
        assert_eq!(
            v["tls"]["chain"][0]["sha256"],
            fingerprint(&openssl, "localhost"),
            "{port}"
        );
    }
    // openssl s_server: raw TLS with good, expired and mismatched certificates.
    assert_eq!(p[&4443]["service"]["product"], "OpenSSL s_server");
    assert_eq!(status(&p[&4443]), "valid");
    assert_eq!(status(&p[&7443]), "expired");
    assert!(p[&7443]["tls"]["chain"][0]["days_left"].as_i64().unwrap() < 0);
    assert_eq!(
        p[&7443]["tls"]["chain"][0]["sha256"],
        fingerprint(&openssl, "expired")
    );
    assert_eq!(status(&p[&9443]), "name-mismatch");
    assert_eq!(p[&9443]["tls"]["chain"][0]["san"][0], "DNS:wrong.example");
    // The legacy server gets a clear verdict, not a crash or a hang.
    let legacy = &p[&8443];
    assert_eq!(legacy["service"]["name"], "ssl");
    let error = legacy["tls"]["error"].as_str().unwrap();
    assert!(error.contains("server offers only TLSv1.0"), "{error}");
}

#[test]
fn trust_store_sni_override_and_ip_targets() {
    if !require_testbed("tls_names") {
        return;
    }
    // Without the test CA the same chain has an unknown issuer.
    let (p, _) = scan("localhost -4 -p 4443");
    assert_eq!(status(&p[&4443]), "unknown-issuer");
    // An IP target is verified against the IP (the certificate has IP:127.0.0.1), without SNI.
    let (p, _) = scan("127.0.0.1 -p 4443,9443 --ca-file \"$TESTBED_CA\"");
    assert_eq!(status(&p[&4443]), "valid");
    assert_eq!(p[&4443]["tls"]["verification"]["name"], "127.0.0.1");
    assert!(p[&4443]["tls"].get("sni").is_none());
    // --sni names the server for an IP target (nmap cannot): now the mismatched one is valid.
    let (p, _) = scan("127.0.0.1 -p 9443 --sni wrong.example --ca-file \"$TESTBED_CA\"");
    assert_eq!(status(&p[&9443]), "valid");
    assert_eq!(p[&9443]["tls"]["sni"], "wrong.example");
    let (p, _) = scan("localhost -4 -p 4443 --no-sni --ca-file \"$TESTBED_CA\"");
    assert!(p[&4443]["tls"].get("sni").is_none());
    assert_eq!(
        status(&p[&4443]),
        "valid",
        "still verified against the typed name"
    );
}

#[test]
fn table_shows_tls_facts_under_the_row() {
    if !require_testbed("tls_table") {
        return;
    }
    let out = shell_in_testbed("tls.sh", r#""$PORTPROBE" scan localhost -4 -p 443,8443,25"#);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let row = text.lines().find(|l| l.starts_with("443/tcp")).unwrap();
    assert!(row.contains("ssl/http") && row.contains("nginx"), "{row}");
    assert!(text.contains("  | verify: self-signed for localhost"), "{text}");
    assert!(text.contains("  | starttls: TLSv1."), "{text}");
    assert!(text.contains("server offers only TLSv1.0"), "{text}");
}

#[test]
fn plain_services_without_starttls_say_so() {
    if !require_testbed("starttls_absent") {
        return;
    }
    // The plain test bed's postfix has TLS off: STARTTLS is reported as not offered.
    let out = shell_in_testbed("daemons.sh", r#""$PORTPROBE" scan 127.0.0.1 -p 25 --json"#);
    let v = &json_lines(&out)[0];
    assert_eq!(v["tls"]["via"], "starttls");
    assert_eq!(v["tls"]["offered"], false);
}

#[test]
fn certificate_names_are_escaped_in_warnings_errors_and_json() {
    if !require_namespaces("cert_names") {
        return;
    }
    // Issue 11 item 1: a certificate chaining to the given CA but not matching the name put its
    // SAN entries (ESC, BEL, U+202E) raw on stderr through rustls' detail text.
    let snippet = r#"
        d=$(mktemp -d); cd $d
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=testca -keyout ca.key -out ca.pem 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=leaf -keyout leaf.key -out leaf.csr 2>/dev/null
        printf 'subjectAltName=DNS:evil\x1b]0;PWNED\x07.example,DNS:x\xe2\x80\xaey.example\n' > ext.cnf
        openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -out leaf.pem 2>/dev/null
        "$PORTPROBE" listen -k --tls --cert leaf.pem --key leaf.key 127.0.0.1:7500 >/dev/null 2>&1 & l=$!; sleep 0.5
        echo hi | "$PORTPROBE" connect --tls --ca-file ca.pem 127.0.0.1 7500 -w 2s -N 2>&1 >/dev/null
        echo hi | "$PORTPROBE" connect --tls-verify --ca-file ca.pem 127.0.0.1 7500 -w 2s -N 2>&1 >/dev/null
        "$PORTPROBE" scan 127.0.0.1 -p 7500 --ca-file ca.pem --json --detect-timeout 3s
        kill $l; cd /; rm -rf $d"#;
    let out = shell_in("netns.sh", snippet);
    let text = stdout(&out);
    let detail = r#"certificate not valid for name "127.0.0.1"; certificate is only valid for evil\x1b]0;PWNED\x07.example or x\xe2\x80\xaey.example"#;
    // The two warnings and the scan's port record (not its start, host and summary records).
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('{') || l.starts_with(r#"{"type":"port","#))
        .collect();
    assert_eq!(lines.len(), 3, "{text}{}", stderr(&out));
    assert_eq!(
        lines[0],
        format!("portprobe: warning: certificate name-mismatch for 127.0.0.1 ({detail}); --tls-verify refuses it, --insecure silences this")
    );
    assert_eq!(
        lines[1],
        format!("portprobe: 127.0.0.1:7500: TLS certificate not accepted (--tls-verify): name-mismatch for 127.0.0.1: {detail}")
    );
    let v: Value = serde_json::from_str(lines[2]).unwrap();
    assert_eq!(v["tls"]["verification"]["detail"], detail, "{v}");
}

#[test]
fn an_x509_v1_certificate_still_gives_a_handshake_and_the_service_inside() {
    if !require_namespaces("cert_v1") {
        return;
    }
    // Old devices (and Deluge's daemon) still present version 1 certificates, which webpki
    // will not parse even to check the handshake's signature: the handshake failed and the
    // port stayed "ssl". The signature is now checked with the certificate's own key.
    let snippet = r#"
        d=$(mktemp -d); cd $d
        openssl req -new -newkey rsa:2048 -nodes -subj /CN=oldbox -keyout k.pem -out r.csr 2>/dev/null
        openssl x509 -req -in r.csr -signkey k.pem -days 2 -out c.pem 2>/dev/null
        openssl x509 -in c.pem -noout -text | grep -m1 'Version:' | tr -s ' '
        printf 'HTTP/1.0 200 OK\r\nServer: oldbox/1.0\r\nContent-Length: 0\r\n\r\n' > answer
        # socat forks a TLS server per connection (openssl s_server serves one at a time).
        socat OPENSSL-LISTEN:7501,cert=c.pem,key=k.pem,verify=0,fork,reuseaddr SYSTEM:"sleep 0.1; cat answer" 2>/dev/null & s=$!
        for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/7501) 2>/dev/null && break; sleep 0.1; done
        "$PORTPROBE" scan 127.0.0.1 -p 7501 --json --detect-timeout 5s
        kill $s; cd /; rm -rf $d"#;
    let out = shell_in("netns.sh", snippet);
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(" Version: 1 (0x0)"), "{text}{}", stderr(&out));
    let v: Value = lines
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "port")
        .unwrap_or_else(|| panic!("no port record in {text}{}", stderr(&out)));
    assert_eq!(v["tls"]["chain"][0]["subject"], "CN=oldbox", "{v}");
    assert_eq!(
        (
            v["service"]["name"].as_str(),
            v["service"]["tunnel"].as_str(),
            v["service"]["product"].as_str()
        ),
        (Some("http"), Some("tls"), Some("oldbox")),
        "{v}"
    );
}
