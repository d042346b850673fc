//! Proxy handshakes (SOCKS4, SOCKS5 per RFC 1928/1929, HTTP CONNECT per RFC 9110 §9.3.6) over
//! an already connected stream: bounded reads, one deadline, typed errors.
//!
//! [`tunnel`] takes the stream to the proxy and the target and gives the stream back once the
//! proxy has connected it, with nothing of the target's data consumed (the HTTP reply is read
//! byte by byte up to its blank line), so TLS, STARTTLS, a session or a probe can follow.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{timeout_at, Instant};

use crate::escape::escape_str;

/// Longest HTTP CONNECT reply header accepted.
pub const MAX_HTTP_REPLY: usize = 16 * 1024;

/// The proxy protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    Socks4,
    Socks5,
    Http,
}

impl ProxyKind {
    /// The port a proxy of this kind listens on when none is given (as nc and ncat assume).
    pub fn default_port(self) -> u16 {
        match self {
            ProxyKind::Socks4 | ProxyKind::Socks5 => 1080,
            ProxyKind::Http => 3128,
        }
    }
}

impl fmt::Display for ProxyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProxyKind::Socks4 => "SOCKS4",
            ProxyKind::Socks5 => "SOCKS5",
            ProxyKind::Http => "HTTP CONNECT",
        })
    }
}

impl FromStr for ProxyKind {
    type Err = String;

    /// nc's `-X 4|5|connect` and ncat's `--proxy-type socks4|socks5|http`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "4" | "socks4" => Ok(ProxyKind::Socks4),
            "5" | "socks5" => Ok(ProxyKind::Socks5),
            "connect" | "http" => Ok(ProxyKind::Http),
            _ => Err(format!(
                "unknown proxy type '{}': use socks4, socks5 or http (nc's 4, 5 or connect)",
                escape_str(s)
            )),
        }
    }
}

/// Credentials for the proxy.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyAuth {
    pub user: String,
    pub pass: String,
}

impl fmt::Debug for ProxyAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never a password in a debug print.
        write!(f, "ProxyAuth({:?}, ***)", self.user)
    }
}

impl FromStr for ProxyAuth {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (user, pass) = s
            .split_once(':')
            .ok_or_else(|| "invalid --proxy-auth: give USER:PASS".to_string())?;
        if user.is_empty() || user.len() > 255 || pass.len() > 255 {
            return Err(
                "invalid --proxy-auth: the user name must be 1 to 255 bytes and the password at most 255"
                    .into(),
            );
        }
        Ok(ProxyAuth {
            user: user.to_string(),
            pass: pass.to_string(),
        })
    }
}

/// Where the proxy should connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyTarget {
    Addr(SocketAddr),
    /// A name the proxy resolves (SOCKS5 domain name, HTTP CONNECT authority).
    Name(String, u16),
}

impl fmt::Display for ProxyTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyTarget::Addr(a) => write!(f, "{a}"),
            ProxyTarget::Name(n, p) => write!(f, "{}:{p}", escape_str(n)),
        }
    }
}

/// Why the proxy gave no tunnel.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("the proxy did not answer within the timeout")]
    Timeout,
    #[error("the proxy closed the connection during the handshake")]
    Closed,
    #[error("the connection to the proxy failed: {0}")]
    Io(std::io::Error),
    #[error("the SOCKS5 proxy accepts none of the offered authentication methods{}", if *.offered_auth { "" } else { " (does it need --proxy-auth USER:PASS?)" })]
    NoAcceptableMethod { offered_auth: bool },
    #[error("the SOCKS5 proxy asks for a user name and password: give --proxy-auth USER:PASS")]
    AuthRequired,
    #[error("the proxy refused the user name and password")]
    AuthRefused,
    #[error("the SOCKS5 proxy could not connect to {target}: {reason}")]
    Socks5Refused { target: String, reason: &'static str },
    #[error("the SOCKS4 proxy could not connect to {target}: {reason}")]
    Socks4Refused { target: String, reason: &'static str },
    #[error("SOCKS4 carries only IPv4 addresses, and {0} is not one (use SOCKS5)")]
    Socks4NeedsIpv4(String),
    #[error("the HTTP proxy refused CONNECT to {target}: {status}")]
    HttpRefused {
        target: String,
        status: String,
        /// The status code (407: the proxy wants credentials; 504: its connect timed out).
        code: u16,
        /// The proxy could not connect and nothing says it was anything but a refusal (see
        /// `http_says_refused`).
        refused: bool,
    },
    #[error("the proxy's reply is not {kind}: {detail}")]
    Malformed { kind: ProxyKind, detail: String },
    #[error("the name '{0}' is too long for SOCKS5 (255 bytes at most)")]
    NameTooLong(String),
}

impl ProxyError {
    /// Whether the proxy says the target refused the connection (a closed port as seen from
    /// the proxy), as opposed to the proxy failing.
    pub fn target_refused(&self) -> bool {
        matches!(
            self,
            ProxyError::Socks5Refused {
                reason: SOCKS5_REFUSED,
                ..
            } | ProxyError::HttpRefused { refused: true, .. }
        )
    }

    /// Whether the proxy itself failed or turned us away (credentials, a broken reply, a lost
    /// connection), as opposed to answering about the target.
    pub fn proxy_failed(&self) -> bool {
        match self {
            ProxyError::Io(_)
            | ProxyError::Closed
            | ProxyError::NoAcceptableMethod { .. }
            | ProxyError::AuthRequired
            | ProxyError::AuthRefused
            | ProxyError::Malformed { .. }
            | ProxyError::NameTooLong(_) => true,
            // 407: credentials wanted; 401: tinyproxy's answer to wrong ones.
            ProxyError::HttpRefused { code, .. } => matches!(code, 401 | 407),
            ProxyError::Timeout
            | ProxyError::Socks5Refused { .. }
            | ProxyError::Socks4Refused { .. }
            | ProxyError::Socks4NeedsIpv4(_) => false,
        }
    }
}

/// Whether an HTTP proxy's refusal of CONNECT reads as "the target refused the connection".
/// HTTP has no code for that: tinyproxy answers 500 and Squid 503 both for a refused and for an
/// unreachable target. Squid names the errno in `X-Squid-Error: ERR_CONNECT_FAIL 111`
/// (ECONNREFUSED), so a Squid errno other than 111 is not a refusal; 504 is the proxy's own
/// timeout; other 5xx answers of a proxy that could not connect count as refusals.
fn http_says_refused(code: u16, head: &str) -> bool {
    if !matches!(code, 500 | 502 | 503) {
        return false;
    }
    let squid = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("x-squid-error")
            .then(|| value.trim().to_string())
    });
    match squid {
        Some(v) => v.starts_with("ERR_CONNECT_FAIL") && v.split_whitespace().nth(1) == Some("111"),
        None => true,
    }
}

const SOCKS5_REFUSED: &str = "connection refused";

fn io_err(e: std::io::Error) -> ProxyError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        ProxyError::Closed
    } else {
        ProxyError::Io(e)
    }
}

/// Runs the handshake of `kind` over `stream` (connected to the proxy) until `deadline`, so
/// that the proxy connects it to `target`; gives the stream back ready for the target's bytes.
pub async fn tunnel<S>(
    mut stream: S,
    kind: ProxyKind,
    target: &ProxyTarget,
    auth: Option<&ProxyAuth>,
    deadline: Instant,
) -> Result<S, ProxyError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let work = async {
        match kind {
            ProxyKind::Socks4 => socks4(&mut stream, target, auth).await,
            ProxyKind::Socks5 => socks5(&mut stream, target, auth).await,
            ProxyKind::Http => http_connect(&mut stream, target, auth).await,
        }
    };
    match timeout_at(deadline, work).await {
        Err(_) => Err(ProxyError::Timeout),
        Ok(Err(e)) => Err(e),
        Ok(Ok(())) => Ok(stream),
    }
}

async fn socks4<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    target: &ProxyTarget,
    auth: Option<&ProxyAuth>,
) -> Result<(), ProxyError> {
    let addr = match target {
        ProxyTarget::Addr(SocketAddr::V4(a)) => *a,
        other => return Err(ProxyError::Socks4NeedsIpv4(other.to_string())),
    };
    let mut req = vec![4, 1];
    req.extend_from_slice(&addr.port().to_be_bytes());
    req.extend_from_slice(&addr.ip().octets());
    if let Some(a) = auth {
        req.extend_from_slice(a.user.as_bytes());
    }
    req.push(0);
    s.write_all(&req).await.map_err(io_err)?;
    let mut reply = [0u8; 8];
    s.read_exact(&mut reply).await.map_err(io_err)?;
    if reply[0] != 0 {
        return Err(ProxyError::Malformed {
            kind: ProxyKind::Socks4,
            detail: format!("reply version {} (expected 0)", reply[0]),
        });
    }
    let reason = match reply[1] {
        90 => return Ok(()),
        91 => "request rejected or failed",
        92 => "rejected: the proxy could not reach our identd",
        93 => "rejected: identd reported a different user",
        _ => {
            return Err(ProxyError::Malformed {
                kind: ProxyKind::Socks4,
                detail: format!("unknown reply code {}", reply[1]),
            })
        }
    };
    Err(ProxyError::Socks4Refused {
        target: target.to_string(),
        reason,
    })
}

/// RFC 1928 reply codes as sentences.
fn socks5_reason(code: u8) -> &'static str {
    match code {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by the proxy's rules",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => SOCKS5_REFUSED,
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unknown error code",
    }
}

async fn socks5<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    target: &ProxyTarget,
    auth: Option<&ProxyAuth>,
) -> Result<(), ProxyError> {
    let malformed = |detail: String| ProxyError::Malformed {
        kind: ProxyKind::Socks5,
        detail,
    };
    // Greeting: no authentication, and user/password when we have credentials.
    let greeting: &[u8] = if auth.is_some() { &[5, 2, 0, 2] } else { &[5, 1, 0] };
    s.write_all(greeting).await.map_err(io_err)?;
    let mut choice = [0u8; 2];
    s.read_exact(&mut choice).await.map_err(io_err)?;
    if choice[0] != 5 {
        return Err(malformed(format!("version {} in the method choice", choice[0])));
    }
    match (choice[1], auth) {
        (0, _) => {}
        (2, Some(a)) => {
            // RFC 1929: VER=1, ULEN, UNAME, PLEN, PASSWD (lengths checked when parsed).
            let mut req = vec![1, a.user.len() as u8];
            req.extend_from_slice(a.user.as_bytes());
            req.push(a.pass.len() as u8);
            req.extend_from_slice(a.pass.as_bytes());
            s.write_all(&req).await.map_err(io_err)?;
            let mut status = [0u8; 2];
            s.read_exact(&mut status).await.map_err(io_err)?;
            if status[1] != 0 {
                return Err(ProxyError::AuthRefused);
            }
        }
        (2, None) => return Err(ProxyError::AuthRequired),
        (0xff, _) => {
            return Err(ProxyError::NoAcceptableMethod {
                offered_auth: auth.is_some(),
            })
        }
        (m, _) => return Err(malformed(format!("it chose method {m}, which was not offered"))),
    }
    let mut req = vec![5, 1, 0];
    match target {
        ProxyTarget::Addr(a) => {
            match a.ip() {
                IpAddr::V4(ip) => {
                    req.push(1);
                    req.extend_from_slice(&ip.octets());
                }
                IpAddr::V6(ip) => {
                    req.push(4);
                    req.extend_from_slice(&ip.octets());
                }
            }
            req.extend_from_slice(&a.port().to_be_bytes());
        }
        ProxyTarget::Name(name, port) => {
            let len = u8::try_from(name.len()).map_err(|_| ProxyError::NameTooLong(escape_str(name)))?;
            req.push(3);
            req.push(len);
            req.extend_from_slice(name.as_bytes());
            req.extend_from_slice(&port.to_be_bytes());
        }
    }
    s.write_all(&req).await.map_err(io_err)?;
    let mut head = [0u8; 4];
    s.read_exact(&mut head).await.map_err(io_err)?;
    if head[0] != 5 {
        return Err(malformed(format!("version {} in the reply", head[0])));
    }
    if head[1] != 0 {
        return Err(ProxyError::Socks5Refused {
            target: target.to_string(),
            reason: socks5_reason(head[1]),
        });
    }
    // The bound address: skipped, but read exactly so no byte of the target's is taken.
    let rest = match head[3] {
        1 => 4 + 2,
        4 => 16 + 2,
        3 => {
            let mut len = [0u8; 1];
            s.read_exact(&mut len).await.map_err(io_err)?;
            len[0] as usize + 2
        }
        t => return Err(malformed(format!("address type {t} in the reply"))),
    };
    let mut skip = [0u8; 257];
    s.read_exact(&mut skip[..rest]).await.map_err(io_err)?;
    Ok(())
}

/// Standard base64 (RFC 4648) for the Basic credentials.
fn base64(input: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for c in input.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn http_connect<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    target: &ProxyTarget,
    auth: Option<&ProxyAuth>,
) -> Result<(), ProxyError> {
    let authority = match target {
        ProxyTarget::Addr(a) => a.to_string(),
        ProxyTarget::Name(n, p) => {
            if n.bytes().any(|b| b <= b' ' || b == 0x7f) {
                return Err(ProxyError::Malformed {
                    kind: ProxyKind::Http,
                    detail: "the target name holds control characters or spaces".into(),
                });
            }
            format!("{n}:{p}")
        }
    };
    let mut req = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(a) = auth {
        let creds = base64(format!("{}:{}", a.user, a.pass).as_bytes());
        req.push_str(&format!("Proxy-Authorization: Basic {creds}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.map_err(io_err)?;
    // Byte by byte up to the blank line: what follows belongs to the target.
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && !head.ends_with(b"\n\n") {
        if head.len() >= MAX_HTTP_REPLY {
            return Err(ProxyError::Malformed {
                kind: ProxyKind::Http,
                detail: format!("no end of the reply header within {MAX_HTTP_REPLY} bytes"),
            });
        }
        s.read_exact(&mut byte).await.map_err(io_err)?;
        head.push(byte[0]);
    }
    let status_line = head
        .split(|&b| b == b'\n')
        .next()
        .map(|l| String::from_utf8_lossy(l).trim_end().to_string())
        .unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let (version, code) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if !version.starts_with("HTTP/1.") || code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ProxyError::Malformed {
            kind: ProxyKind::Http,
            detail: format!("status line '{}'", escape_str(&status_line)),
        });
    }
    if code.starts_with('2') {
        return Ok(());
    }
    let code: u16 = code.parse().unwrap_or(0);
    Err(ProxyError::HttpRefused {
        target: target.to_string(),
        status: escape_str(&status_line),
        code,
        refused: http_says_refused(code, &String::from_utf8_lossy(&head)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn http_refusals_read_as_closed_only_when_nothing_says_otherwise() {
        assert!(http_says_refused(
            500,
            "HTTP/1.1 500 Unable to connect\r\nServer: tinyproxy/1.11.1\r\n"
        ));
        assert!(http_says_refused(
            503,
            "HTTP/1.1 503 Service Unavailable\r\nX-Squid-Error: ERR_CONNECT_FAIL 111\r\n"
        ));
        assert!(!http_says_refused(
            503,
            "HTTP/1.1 503 Service Unavailable\r\nX-Squid-Error: ERR_CONNECT_FAIL 113\r\n"
        ));
        assert!(!http_says_refused(504, "HTTP/1.1 504 Gateway Timeout\r\n"));
        assert!(!http_says_refused(403, "HTTP/1.1 403 Forbidden\r\n"));
    }

    #[test]
    fn credentials_problems_are_the_proxys_not_the_targets() {
        let http = |code: u16| ProxyError::HttpRefused {
            target: "t".into(),
            status: String::new(),
            code,
            refused: false,
        };
        assert!(http(407).proxy_failed());
        assert!(http(401).proxy_failed());
        assert!(!http(403).proxy_failed());
        assert!(ProxyError::AuthRefused.proxy_failed());
        assert!(!ProxyError::Timeout.proxy_failed());
        let refused = ProxyError::Socks5Refused {
            target: "t".into(),
            reason: socks5_reason(5),
        };
        assert!(refused.target_refused() && !refused.proxy_failed());
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn kinds_and_auth_parse() {
        assert_eq!("5".parse::<ProxyKind>(), Ok(ProxyKind::Socks5));
        assert_eq!("connect".parse::<ProxyKind>(), Ok(ProxyKind::Http));
        assert_eq!(
            "gopher".parse::<ProxyKind>().unwrap_err(),
            "unknown proxy type 'gopher': use socks4, socks5 or http (nc's 4, 5 or connect)"
        );
        assert_eq!(
            "u:p:q".parse::<ProxyAuth>().unwrap(),
            ProxyAuth {
                user: "u".into(),
                pass: "p:q".into()
            }
        );
        assert!("nopass".parse::<ProxyAuth>().is_err());
    }

    async fn run_against(
        kind: ProxyKind,
        script: &'static [u8],
        target: ProxyTarget,
    ) -> (Result<Vec<u8>, String>, Vec<u8>) {
        let (client, mut server) = tokio::io::duplex(4096);
        let srv = tokio::spawn(async move {
            let mut got = vec![0u8; 512];
            let mut all = Vec::new();
            server.write_all(script).await.unwrap();
            // Collect what the client sent until it closes.
            while let Ok(n) = tokio::time::timeout(Duration::from_millis(200), server.read(&mut got)).await {
                match n {
                    Ok(0) | Err(_) => break,
                    Ok(n) => all.extend_from_slice(&got[..n]),
                }
            }
            all
        });
        let deadline = Instant::now() + Duration::from_secs(2);
        let r = tunnel(client, kind, &target, None, deadline).await;
        let out = match r {
            Ok(mut s) => {
                let mut rest = Vec::new();
                let _ = tokio::time::timeout(Duration::from_millis(300), s.read_to_end(&mut rest)).await;
                Ok(rest)
            }
            Err(e) => Err(e.to_string()),
        };
        (out, srv.await.unwrap())
    }

    #[tokio::test]
    async fn socks5_keeps_the_targets_first_bytes_and_names_refusals() {
        let target = ProxyTarget::Name("db.internal".into(), 5432);
        let (r, sent) = run_against(
            ProxyKind::Socks5,
            b"\x05\x00\x05\x00\x00\x01\x7f\x00\x00\x01\x04\x00SSH-2.0-x\r\n",
            target.clone(),
        )
        .await;
        assert_eq!(r.unwrap(), b"SSH-2.0-x\r\n");
        assert_eq!(&sent[..3], b"\x05\x01\x00");
        assert_eq!(&sent[3..], b"\x05\x01\x00\x03\x0bdb.internal\x15\x38");
        let (r, _) = run_against(ProxyKind::Socks5, b"\x05\x00\x05\x05\x00\x01\0\0\0\0\0\0", target).await;
        assert_eq!(
            r.unwrap_err(),
            "the SOCKS5 proxy could not connect to db.internal:5432: connection refused"
        );
    }

    #[tokio::test]
    async fn http_connect_reads_only_the_header_and_reports_the_status_line() {
        let target = ProxyTarget::Name("h".into(), 22);
        let (r, sent) = run_against(
            ProxyKind::Http,
            b"HTTP/1.1 200 Connection established\r\n\r\nbanner",
            target.clone(),
        )
        .await;
        assert_eq!(r.unwrap(), b"banner");
        assert_eq!(sent, b"CONNECT h:22 HTTP/1.1\r\nHost: h:22\r\n\r\n");
        let (r, _) = run_against(
            ProxyKind::Http,
            b"HTTP/1.1 403 Access violation\x1b[2J\r\n\r\n",
            target.clone(),
        )
        .await;
        assert_eq!(
            r.unwrap_err(),
            "the HTTP proxy refused CONNECT to h:22: HTTP/1.1 403 Access violation\\x1b[2J"
        );
        let (r, _) = run_against(ProxyKind::Http, b"SSH-2.0-OpenSSH\r\n\r\n", target).await;
        assert_eq!(
            r.unwrap_err(),
            "the proxy's reply is not HTTP CONNECT: status line 'SSH-2.0-OpenSSH'"
        );
    }

    #[tokio::test]
    async fn a_silent_proxy_ends_at_the_deadline() {
        let (client, _server) = tokio::io::duplex(64);
        let deadline = Instant::now() + Duration::from_millis(100);
        let r = tunnel(
            client,
            ProxyKind::Socks5,
            &ProxyTarget::Name("x".into(), 1),
            None,
            deadline,
        )
        .await;
        assert!(matches!(r, Err(ProxyError::Timeout)));
    }
}
