//! STARTTLS: the plain-text dialogue that turns a connection into a TLS one, for SMTP
//! (RFC 3207), IMAP (RFC 9051), POP3 (RFC 2595), FTP (RFC 4217) and PostgreSQL (SSLRequest).
//! Every read is bounded in bytes and by the caller's deadline.

use std::fmt;
use std::str::FromStr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{timeout_at, Instant};

/// A protocol with a STARTTLS-style upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartTls {
    Smtp,
    Imap,
    Pop3,
    Ftp,
    Postgres,
}

impl FromStr for StartTls {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "smtp" => Ok(StartTls::Smtp),
            "imap" => Ok(StartTls::Imap),
            "pop3" => Ok(StartTls::Pop3),
            "ftp" => Ok(StartTls::Ftp),
            "postgres" | "postgresql" => Ok(StartTls::Postgres),
            other => Err(format!(
                "unknown STARTTLS protocol '{other}': use smtp, imap, pop3, ftp or postgres"
            )),
        }
    }
}

impl fmt::Display for StartTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StartTls::Smtp => "smtp",
            StartTls::Imap => "imap",
            StartTls::Pop3 => "pop3",
            StartTls::Ftp => "ftp",
            StartTls::Postgres => "postgres",
        })
    }
}

impl StartTls {
    /// The protocol for a detected service name, if it has an upgrade.
    pub fn for_service(service: &str) -> Option<StartTls> {
        match service {
            "smtp" | "submission" => Some(StartTls::Smtp),
            "imap" => Some(StartTls::Imap),
            "pop3" => Some(StartTls::Pop3),
            "ftp" => Some(StartTls::Ftp),
            "postgresql" => Some(StartTls::Postgres),
            _ => None,
        }
    }
}

/// Why an upgrade did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartTlsError {
    #[error("the server does not offer STARTTLS ({0})")]
    NotOffered(String),
    #[error("the server refused STARTTLS: {0}")]
    Refused(String),
    #[error("no answer in time during the STARTTLS dialogue")]
    Timeout,
    #[error("connection closed during the STARTTLS dialogue")]
    Closed,
    #[error("answer too long during the STARTTLS dialogue")]
    TooLong,
}

const MAX_LINE: usize = 4096;
const MAX_LINES: usize = 100;

/// Reads one line (up to LF) byte by byte, so nothing after it is consumed.
async fn read_line<S: AsyncRead + Unpin>(s: &mut S, deadline: Instant) -> Result<String, StartTlsError> {
    let mut line = Vec::new();
    loop {
        let mut b = [0u8; 1];
        match timeout_at(deadline, s.read(&mut b)).await {
            Err(_) => return Err(StartTlsError::Timeout),
            Ok(Err(_)) | Ok(Ok(0)) => return Err(StartTlsError::Closed),
            Ok(Ok(_)) => {}
        }
        if b[0] == b'\n' {
            return Ok(String::from_utf8_lossy(&line).trim_end_matches('\r').to_string());
        }
        line.push(b[0]);
        if line.len() > MAX_LINE {
            return Err(StartTlsError::TooLong);
        }
    }
}

/// Reads a reply made of `NNN-` continuation lines ending with `NNN ` (SMTP, FTP).
async fn read_reply<S: AsyncRead + Unpin>(
    s: &mut S,
    deadline: Instant,
) -> Result<Vec<String>, StartTlsError> {
    let mut lines = Vec::new();
    loop {
        let line = read_line(s, deadline).await?;
        let last = line.len() < 4 || line.as_bytes()[3] != b'-';
        lines.push(line);
        if last {
            return Ok(lines);
        }
        if lines.len() > MAX_LINES {
            return Err(StartTlsError::TooLong);
        }
    }
}

/// Reads lines until one starts with `prefix` (IMAP tagged reply, POP3 "." end).
async fn read_until<S: AsyncRead + Unpin>(
    s: &mut S,
    deadline: Instant,
    done: impl Fn(&str) -> bool,
) -> Result<Vec<String>, StartTlsError> {
    let mut lines = Vec::new();
    loop {
        let line = read_line(s, deadline).await?;
        let end = done(&line);
        lines.push(line);
        if end {
            return Ok(lines);
        }
        if lines.len() > MAX_LINES {
            return Err(StartTlsError::TooLong);
        }
    }
}

async fn send<S: AsyncWrite + Unpin>(s: &mut S, data: &[u8], deadline: Instant) -> Result<(), StartTlsError> {
    match timeout_at(deadline, s.write_all(data)).await {
        Err(_) => Err(StartTlsError::Timeout),
        Ok(Err(_)) => Err(StartTlsError::Closed),
        Ok(Ok(())) => Ok(()),
    }
}

fn first(lines: &[String]) -> String {
    crate::escape::escape_str(lines.last().map(String::as_str).unwrap_or(""))
}

/// Runs the upgrade dialogue on a fresh connection (the server's greeting not yet read).
/// On success the next bytes on `s` are the TLS handshake.
pub async fn upgrade<S>(s: &mut S, proto: StartTls, deadline: Instant) -> Result<(), StartTlsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match proto {
        StartTls::Smtp => {
            read_reply(s, deadline).await?;
            send(s, b"EHLO portprobe.invalid\r\n", deadline).await?;
            let ehlo = read_reply(s, deadline).await?;
            if !ehlo
                .iter()
                .any(|l| l.get(4..).is_some_and(|c| c.eq_ignore_ascii_case("STARTTLS")))
            {
                return Err(StartTlsError::NotOffered("not in the EHLO reply".into()));
            }
            send(s, b"STARTTLS\r\n", deadline).await?;
            let reply = read_reply(s, deadline).await?;
            if !reply.last().is_some_and(|l| l.starts_with("220")) {
                return Err(StartTlsError::Refused(first(&reply)));
            }
        }
        StartTls::Imap => {
            read_line(s, deadline).await?;
            send(s, b"pp1 CAPABILITY\r\n", deadline).await?;
            let caps = read_until(s, deadline, |l| l.starts_with("pp1 ")).await?;
            let offered = caps.iter().any(|l| {
                l.starts_with("* CAPABILITY") && l.split(' ').any(|w| w.eq_ignore_ascii_case("STARTTLS"))
            });
            if !offered {
                return Err(StartTlsError::NotOffered("not in CAPABILITY".into()));
            }
            send(s, b"pp2 STARTTLS\r\n", deadline).await?;
            let reply = read_until(s, deadline, |l| l.starts_with("pp2 ")).await?;
            if !reply.last().is_some_and(|l| l.starts_with("pp2 OK")) {
                return Err(StartTlsError::Refused(first(&reply)));
            }
        }
        StartTls::Pop3 => {
            read_line(s, deadline).await?;
            send(s, b"CAPA\r\n", deadline).await?;
            let first_line = read_line(s, deadline).await?;
            let caps = if first_line.starts_with("+OK") {
                read_until(s, deadline, |l| l == ".").await?
            } else {
                Vec::new()
            };
            if !caps.iter().any(|l| l.eq_ignore_ascii_case("STLS")) {
                return Err(StartTlsError::NotOffered("STLS not in CAPA".into()));
            }
            send(s, b"STLS\r\n", deadline).await?;
            let reply = read_line(s, deadline).await?;
            if !reply.starts_with("+OK") {
                return Err(StartTlsError::Refused(crate::escape::escape_str(&reply)));
            }
        }
        StartTls::Ftp => {
            read_reply(s, deadline).await?;
            send(s, b"AUTH TLS\r\n", deadline).await?;
            let reply = read_reply(s, deadline).await?;
            match reply.last() {
                Some(l) if l.starts_with("234") => {}
                Some(l) if l.starts_with("500") || l.starts_with("502") || l.starts_with("504") => {
                    return Err(StartTlsError::NotOffered(first(&reply)))
                }
                _ => return Err(StartTlsError::Refused(first(&reply))),
            }
        }
        StartTls::Postgres => {
            send(s, &[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f], deadline).await?;
            let mut b = [0u8; 1];
            match timeout_at(deadline, s.read(&mut b)).await {
                Err(_) => return Err(StartTlsError::Timeout),
                Ok(Err(_)) | Ok(Ok(0)) => return Err(StartTlsError::Closed),
                Ok(Ok(_)) if b[0] == b'S' => {}
                Ok(Ok(_)) if b[0] == b'N' => {
                    return Err(StartTlsError::NotOffered("SSLRequest answered N".into()))
                }
                Ok(Ok(_)) => return Err(StartTlsError::Refused(format!("unexpected byte 0x{:02x}", b[0]))),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn dialogue(proto: StartTls, server_says: &'static [u8]) -> Result<(), StartTlsError> {
        let (mut client, mut server) = tokio::io::duplex(8192);
        tokio::spawn(async move {
            let _ = server.write_all(server_says).await;
            let mut sink = vec![0u8; 4096];
            while matches!(server.read(&mut sink).await, Ok(n) if n > 0) {}
        });
        upgrade(&mut client, proto, Instant::now() + Duration::from_secs(2)).await
    }

    #[tokio::test]
    async fn smtp_offered_and_not() {
        let ok =
            b"220 mx ESMTP\r\n250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n220 2.0.0 Ready to start TLS\r\n";
        assert_eq!(dialogue(StartTls::Smtp, ok).await, Ok(()));
        let no = b"220 mx ESMTP\r\n250-mx\r\n250 PIPELINING\r\n";
        assert!(matches!(
            dialogue(StartTls::Smtp, no).await,
            Err(StartTlsError::NotOffered(_))
        ));
    }

    #[tokio::test]
    async fn imap_pop3_ftp_postgres() {
        let imap = b"* OK ready\r\n* CAPABILITY IMAP4rev1 STARTTLS\r\npp1 OK done\r\npp2 OK Begin TLS\r\n";
        assert_eq!(dialogue(StartTls::Imap, imap).await, Ok(()));
        let pop = b"+OK ready\r\n+OK caps\r\nUSER\r\nSTLS\r\n.\r\n+OK Begin TLS\r\n";
        assert_eq!(dialogue(StartTls::Pop3, pop).await, Ok(()));
        let ftp = b"220 (vsFTPd 3.0.3)\r\n234 Proceed with negotiation.\r\n";
        assert_eq!(dialogue(StartTls::Ftp, ftp).await, Ok(()));
        let ftp_no = b"220 (vsFTPd 3.0.3)\r\n530 Please login with USER and PASS.\r\n";
        assert!(matches!(
            dialogue(StartTls::Ftp, ftp_no).await,
            Err(StartTlsError::Refused(_))
        ));
        assert_eq!(dialogue(StartTls::Postgres, b"S").await, Ok(()));
        assert!(matches!(
            dialogue(StartTls::Postgres, b"N").await,
            Err(StartTlsError::NotOffered(_))
        ));
    }

    #[tokio::test]
    async fn silence_and_floods_are_bounded() {
        let (mut client, _server) = tokio::io::duplex(64);
        let r = upgrade(
            &mut client,
            StartTls::Smtp,
            Instant::now() + Duration::from_millis(50),
        )
        .await;
        assert_eq!(r, Err(StartTlsError::Timeout));
        let flood: &'static [u8] = Box::leak(vec![b'x'; 10_000].into_boxed_slice());
        assert_eq!(dialogue(StartTls::Smtp, flood).await, Err(StartTlsError::TooLong));
    }
}
