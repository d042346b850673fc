//! Diagnoses handshakes rustls cannot complete (TLS 1.0/1.1 only, RSA key exchange, CBC-only,
//! SSLv3): sends a raw ClientHello offering the old protocol versions and suites, and reads the
//! ServerHello or alert to say what the server wants.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout_at, Instant};

use crate::net::connect::{ConnectOptions, PortState};
use crate::net::dialer::Dialer;
use crate::net::tls_names::{alert_name, suite_name, version_name};

/// Suites a legacy server may pick: modern AEAD first, then CBC, RSA key exchange, 3DES, RC4.
const LEGACY_SUITES: &[u16] = &[
    0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0x009e, 0x009f, 0xc009, 0xc013, 0xc00a, 0xc014, 0xc023,
    0xc027, 0xc024, 0xc028, 0x0033, 0x0039, 0x0067, 0x006b, 0x009c, 0x009d, 0x002f, 0x0035, 0x003c, 0x003d,
    0x000a, 0x0016, 0x0005, 0x0004,
];

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

async fn ask(dialer: &Dialer, addr: SocketAddr, hello: &[u8], deadline: Instant) -> HelloAnswer {
    let left = deadline.saturating_duration_since(Instant::now());
    let opts = ConnectOptions {
        timeout: left,
        zero_linger: true,
        bind: None,
    };
    let Ok(attempt) = dialer.connect(addr, &opts).await else {
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

/// Why a handshake could not be completed, as the raw ClientHello showed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Diagnosis {
    /// Something answered, but not in TLS records.
    NotTls,
    /// Nothing answered the ClientHello.
    NoAnswer,
    /// The server speaks only versions before TLS 1.2 (TLS 1.0/1.1, SSLv3).
    LegacyOnly { version: u16, suite: u16 },
    /// The server chose a suite rustls does not offer (RSA key exchange, CBC, RC4, DHE).
    LegacySuite { version: u16, suite: u16 },
    /// Version and suite are modern; the handshake failed for another reason.
    Failed { version: u16, suite: u16 },
    /// The server refused with an alert.
    Refused { alert: u8 },
}

impl Diagnosis {
    /// Whether the port speaks TLS at all.
    pub fn speaks_tls(self) -> bool {
        !matches!(self, Diagnosis::NotTls | Diagnosis::NoAnswer)
    }

    fn from_server_hello(version: u16, suite: u16) -> Diagnosis {
        if version < 0x0303 {
            Diagnosis::LegacyOnly { version, suite }
        } else if suite_problem(suite).is_some() {
            Diagnosis::LegacySuite { version, suite }
        } else {
            Diagnosis::Failed { version, suite }
        }
    }
}

impl std::fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Diagnosis::NotTls => write!(f, "the answer is not TLS"),
            Diagnosis::NoAnswer => write!(f, "no TLS answer"),
            Diagnosis::LegacyOnly { version, suite } => write!(
                f,
                "server offers only {} (chose {}); portprobe speaks TLS 1.2 and 1.3",
                version_name(version),
                suite_name(suite)
            ),
            Diagnosis::LegacySuite { version, suite } => write!(
                f,
                "server chose {} with {} ({}), which portprobe does not offer",
                version_name(version),
                suite_name(suite),
                suite_problem(suite).unwrap_or("a legacy suite")
            ),
            Diagnosis::Failed { version, suite } => write!(
                f,
                "server answers {} with {}, but the handshake failed",
                version_name(version),
                suite_name(suite)
            ),
            Diagnosis::Refused { alert } => {
                write!(f, "server refused the handshake ({})", alert_name(alert))
            }
        }
    }
}

/// Finds out why a handshake could not be completed with `addr`.
/// Through a proxy (`dialer`) the hellos go through the proxy too.
pub async fn diagnose(dialer: &Dialer, addr: SocketAddr, sni: Option<&str>, deadline: Instant) -> Diagnosis {
    match ask(dialer, addr, &client_hello(0x0303, sni), deadline).await {
        HelloAnswer::ServerHello { version, suite } => Diagnosis::from_server_hello(version, suite),
        HelloAnswer::Alert { description, .. } => {
            // Refused TLS 1.2: see whether it speaks TLS 1.0 (or SSLv3) instead.
            match ask(dialer, addr, &client_hello(0x0301, sni), deadline).await {
                HelloAnswer::ServerHello { version, suite } => Diagnosis::from_server_hello(version, suite),
                _ => Diagnosis::Refused { alert: description },
            }
        }
        HelloAnswer::NotTls => Diagnosis::NotTls,
        HelloAnswer::Nothing => Diagnosis::NoAnswer,
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

    #[test]
    fn diagnoses_read_as_sentences() {
        let legacy = Diagnosis::from_server_hello(0x0301, 0x0035);
        assert_eq!(
            legacy.to_string(),
            "server offers only TLSv1.0 (chose TLS_RSA_WITH_AES_256_CBC_SHA); portprobe speaks TLS 1.2 and 1.3"
        );
        assert_eq!(
            Diagnosis::from_server_hello(0x0303, 0xc013).to_string(),
            "server chose TLSv1.2 with TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA (CBC mode), which portprobe does not offer"
        );
        assert_eq!(
            Diagnosis::Refused { alert: 40 }.to_string(),
            "server refused the handshake (handshake_failure)"
        );
        assert!(legacy.speaks_tls());
        assert!(!Diagnosis::NotTls.speaks_tls() && !Diagnosis::NoAnswer.speaks_tls());
    }
}
