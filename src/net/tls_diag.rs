//! Diagnoses handshakes rustls cannot complete (TLS 1.0/1.1 only, RSA key exchange, CBC-only,
//! SSLv3): sends a raw ClientHello offering the old protocol versions and suites, and reads the
//! ServerHello or alert to say what the server wants.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout_at, Instant};

use crate::net::connect::{connect, ConnectOptions, PortState};
use crate::net::tls::version_name;

/// Suites a legacy server may pick: modern AEAD first, then CBC, RSA key exchange, 3DES, RC4.
const LEGACY_SUITES: &[u16] = &[
    0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0x009e, 0x009f, 0xc009, 0xc013, 0xc00a, 0xc014, 0xc023,
    0xc027, 0xc024, 0xc028, 0x0033, 0x0039, 0x0067, 0x006b, 0x009c, 0x009d, 0x002f, 0x0035, 0x003c, 0x003d,
    0x000a, 0x0016, 0x0005, 0x0004,
];

/// IANA names for the suites above (and TLS 1.3's).
pub fn suite_name(id: u16) -> String {
    let name = match id {
        0x1301 => "TLS_AES_128_GCM_SHA256",
        0x1302 => "TLS_AES_256_GCM_SHA384",
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256",
        0xc02b => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xc02f => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xc02c => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xc030 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xcca9 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        0xcca8 => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0x009e => "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        0x009f => "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        0xc009 => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        0xc013 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        0xc00a => "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        0xc014 => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        0xc023 => "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        0xc027 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
        0xc024 => "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
        0xc028 => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        0x0033 => "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
        0x0039 => "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
        0x0067 => "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
        0x006b => "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
        0x009c => "TLS_RSA_WITH_AES_128_GCM_SHA256",
        0x009d => "TLS_RSA_WITH_AES_256_GCM_SHA384",
        0x002f => "TLS_RSA_WITH_AES_128_CBC_SHA",
        0x0035 => "TLS_RSA_WITH_AES_256_CBC_SHA",
        0x003c => "TLS_RSA_WITH_AES_128_CBC_SHA256",
        0x003d => "TLS_RSA_WITH_AES_256_CBC_SHA256",
        0x000a => "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        0x0016 => "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
        0x0005 => "TLS_RSA_WITH_RC4_128_SHA",
        0x0004 => "TLS_RSA_WITH_RC4_128_MD5",
        other => return format!("0x{other:04x}"),
    };
    name.to_string()
}

/// Why rustls will not use a suite it was offered, if it will not.
fn suite_problem(id: u16) -> Option<&'static str> {
    let name = suite_name(id);
    if name.starts_with("TLS_RSA_") {
        Some("RSA key exchange (no forward secrecy)")
    } else if name.contains("_CBC_") {
        Some("CBC mode")
    } else if name.contains("RC4") {
        Some("RC4")
    } else if name.starts_with("TLS_DHE_") {
        Some("finite-field DHE")
    } else {
        None
    }
}

/// A ClientHello with `version` as the highest version, our legacy suites, and SNI if given.
pub fn client_hello(version: u16, sni: Option<&str>) -> Vec<u8> {
    let mut ext = Vec::new();
    let mut push_ext = |kind: u16, data: &[u8]| {
        ext.extend_from_slice(&kind.to_be_bytes());
        ext.extend_from_slice(&(data.len() as u16).to_be_bytes());
        ext.extend_from_slice(data);
    };
    if let Some(name) = sni.filter(|n| n.parse::<std::net::IpAddr>().is_err() && n.len() < 250) {
        let n = name.as_bytes();
        let mut d = Vec::new();
        d.extend_from_slice(&((n.len() + 3) as u16).to_be_bytes());
        d.push(0);
        d.extend_from_slice(&(n.len() as u16).to_be_bytes());
        d.extend_from_slice(n);
        push_ext(0x0000, &d);
    }
    push_ext(0x000a, &[0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18]); // x25519, P-256, P-384
    push_ext(0x000b, &[0x01, 0x00]); // uncompressed points
    let sigs: &[u16] = &[
        0x0403, 0x0503, 0x0804, 0x0805, 0x0401, 0x0501, 0x0601, 0x0201, 0x0203,
    ];
    let mut d = ((sigs.len() * 2) as u16).to_be_bytes().to_vec();
    sigs.iter().for_each(|s| d.extend_from_slice(&s.to_be_bytes()));
    push_ext(0x000d, &d);
    push_ext(0xff01, &[0x00]); // renegotiation_info, which old servers expect
    let mut body = Vec::new();
    body.extend_from_slice(&version.to_be_bytes());
    body.extend((0..32u8).map(|i| i.wrapping_mul(7).wrapping_add(3))); // fixed "random"
    body.push(0); // no session id
    body.extend_from_slice(&((LEGACY_SUITES.len() * 2) as u16).to_be_bytes());
    LEGACY_SUITES
        .iter()
        .for_each(|s| body.extend_from_slice(&s.to_be_bytes()));
    body.extend_from_slice(&[0x01, 0x00]); // null compression
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut hs = vec![0x01];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut record = vec![0x16];
    record.extend_from_slice(&version.min(0x0301).to_be_bytes());
    record.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    record.extend_from_slice(&hs);
    record
}

/// What the server answered to a raw ClientHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelloAnswer {
    ServerHello { version: u16, suite: u16 },
    Alert { level: u8, description: u8 },
    NotTls,
    Nothing,
}

/// Parses the first record of a server's answer.
pub fn parse_answer(bytes: &[u8]) -> HelloAnswer {
    match bytes {
        [] => HelloAnswer::Nothing,
        [0x15, 0x03, _, _, _, level, description, ..] => HelloAnswer::Alert {
            level: *level,
            description: *description,
        },
        [0x16, 0x03, _, _, _, 0x02, _, _, _, v1, v2, rest @ ..] => {
            let mut version = u16::from_be_bytes([*v1, *v2]);
            // random (32), session id (length-prefixed), suite (2)
            let Some(&sid_len) = rest.get(32) else {
                return HelloAnswer::NotTls;
            };
            let at = 33 + sid_len as usize;
            let Some(suite) = rest.get(at..at + 2).map(|s| u16::from_be_bytes([s[0], s[1]])) else {
                return HelloAnswer::NotTls;
            };
            // A supported_versions extension (43) selecting TLS 1.3 overrides the legacy field.
            if let Some(ext) = rest.get(at + 3..) {
                if ext.len() > 2 && ext.windows(6).any(|w| w == [0x00, 0x2b, 0x00, 0x02, 0x03, 0x04]) {
                    version = 0x0304;
                }
            }
            HelloAnswer::ServerHello { version, suite }
        }
        _ => HelloAnswer::NotTls,
    }
}

fn alert_name(d: u8) -> String {
    match d {
        10 => "unexpected_message",
        20 => "bad_record_mac",
        40 => "handshake_failure",
        42 => "bad_certificate",
        47 => "illegal_parameter",
        50 => "decode_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        112 => "unrecognized_name",
        other => return format!("alert {other}"),
    }
    .to_string()
}

async fn ask(addr: SocketAddr, hello: &[u8], deadline: Instant) -> HelloAnswer {
    let left = deadline.saturating_duration_since(Instant::now());
    let opts = ConnectOptions {
        timeout: left,
        zero_linger: true,
        bind: None,
    };
    let Ok(attempt) = connect(addr, &opts).await else {
        return HelloAnswer::Nothing;
    };
    let (PortState::Open, Some(mut stream)) = (attempt.state, attempt.stream) else {
        return HelloAnswer::Nothing;
    };
    if !matches!(timeout_at(deadline, stream.write_all(hello)).await, Ok(Ok(()))) {
        return HelloAnswer::Nothing;
    }
    let mut buf = vec![0u8; 4096];
    let mut got = 0;
    while got < 64 {
        match timeout_at(deadline, stream.read(&mut buf[got..])).await {
            Ok(Ok(n)) if n > 0 => got += n,
            _ => break,
        }
    }
    parse_answer(&buf[..got])
}

/// Says, in a sentence, why a handshake could not be completed with `addr`.
pub async fn diagnose(addr: SocketAddr, sni: Option<&str>, deadline: Instant) -> String {
    let explain = |version: u16, suite: u16| -> String {
        if version < 0x0303 {
            format!(
                "server offers only {} (chose {}); portprobe speaks TLS 1.2 and 1.3",
                version_name(version),
                suite_name(suite)
            )
        } else {
            match suite_problem(suite) {
                Some(why) => format!(
                    "server chose {} with {} ({why}), which portprobe does not offer",
                    version_name(version),
                    suite_name(suite)
                ),
                None => format!(
                    "server answers {} with {}, but the handshake failed",
                    version_name(version),
                    suite_name(suite)
                ),
            }
        }
    };
    match ask(addr, &client_hello(0x0303, sni), deadline).await {
        HelloAnswer::ServerHello { version, suite } => explain(version, suite),
        HelloAnswer::Alert { description, .. } => {
            // Refused TLS 1.2: see whether it speaks TLS 1.0 (or SSLv3) instead.
            match ask(addr, &client_hello(0x0301, sni), deadline).await {
                HelloAnswer::ServerHello { version, suite } => explain(version, suite),
                _ => format!("server refused the handshake ({})", alert_name(description)),
            }
        }
        HelloAnswer::NotTls => "the answer is not TLS".into(),
        HelloAnswer::Nothing => "no TLS answer".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_is_well_formed() {
        let h = client_hello(0x0303, Some("example.org"));
        assert_eq!(&h[..3], &[0x16, 0x03, 0x01]);
        assert_eq!(u16::from_be_bytes([h[3], h[4]]) as usize, h.len() - 5);
        assert_eq!(h[5], 0x01);
        assert_eq!(&h[9..11], &[0x03, 0x03]);
        assert!(h.windows(11).any(|w| w == b"example.org"));
        assert!(!client_hello(0x0301, Some("192.0.2.1"))
            .windows(9)
            .any(|w| w == b"192.0.2.1"));
    }

    #[test]
    fn answers_are_parsed() {
        let mut hello = vec![0x16, 0x03, 0x01, 0x00, 0x40, 0x02, 0x00, 0x00, 0x3c, 0x03, 0x01];
        hello.extend([0u8; 32]);
        hello.extend([0x00, 0x00, 0x35, 0x00]);
        assert_eq!(
            parse_answer(&hello),
            HelloAnswer::ServerHello {
                version: 0x0301,
                suite: 0x0035
            }
        );
        assert_eq!(
            parse_answer(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 70]),
            HelloAnswer::Alert {
                level: 2,
                description: 70
            }
        );
        assert_eq!(parse_answer(b"HTTP/1.1 400"), HelloAnswer::NotTls);
        assert_eq!(parse_answer(&[0x16, 0x03]), HelloAnswer::NotTls);
        assert_eq!(parse_answer(&[]), HelloAnswer::Nothing);
        assert_eq!(
            suite_problem(0x0035),
            Some("RSA key exchange (no forward secrecy)")
        );
        assert_eq!(suite_problem(0xc013), Some("CBC mode"));
        assert_eq!(suite_problem(0xc02f), None);
    }
}
