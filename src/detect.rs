//! Service detection on an open port: read what the server says, send the probes most likely for
//! the port first, match each response against the database. One deadline for the whole port,
//! one byte cap per read, an idle gap that ends a response; nothing waits longer.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

use crate::fingerprint::{Confidence, Identity, Matcher, Probe};
use crate::net::connect::{connect, ConnectOptions, PortState};

/// Limits of detection, owned here rather than sprinkled through helpers.
#[derive(Debug, Clone, Copy)]
pub struct DetectLimits {
    /// Everything for one port: reads, probes and their reconnects.
    pub deadline: Duration,
    /// Most bytes kept from one response.
    pub read_cap: usize,
    /// Once data arrived, this much silence ends the response.
    pub idle_gap: Duration,
    /// Connect deadline for the fresh connections some probes need.
    pub connect_timeout: Duration,
}

impl Default for DetectLimits {
    fn default() -> Self {
        DetectLimits {
            deadline: Duration::from_secs(5),
            read_cap: 64 * 1024,
            idle_gap: Duration::from_millis(250),
            connect_timeout: Duration::from_secs(2),
        }
    }
}

/// What detection learned about a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detection {
    #[serde(flatten)]
    pub identity: Identity,
    pub confidence: Confidence,
    /// The probe whose response identified the service (or gave the first bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<String>,
    /// The first response the port gave, raw.
    #[serde(skip)]
    pub banner: Option<Vec<u8>>,
}

impl Detection {
    fn guess(port_name: Option<&str>, banner: Option<(String, Vec<u8>)>) -> Detection {
        let (probe, banner) = banner.map_or((None, None), |(p, b)| (Some(p), Some(b)));
        Detection {
            identity: Identity {
                service: port_name.unwrap_or("unknown").to_string(),
                ..Default::default()
            },
            confidence: Confidence::PortTable,
            probe,
            banner,
        }
    }
}

/// Probes for a port: the ones that list it first, then the rest, each in database order.
pub fn probe_order(probes: &[Probe], port: u16) -> Vec<&Probe> {
    let (likely, rest): (Vec<&Probe>, Vec<&Probe>) = probes.iter().partition(|p| p.ports.contains(&port));
    likely.into_iter().chain(rest).collect()
}

/// Replaces `{host}` in a payload with the name used for the target.
fn payload(probe: &Probe, host: &str) -> Vec<u8> {
    let marker = b"{host}";
    let mut out = Vec::with_capacity(probe.payload.len() + host.len());
    let mut rest = probe.payload.as_slice();
    while let Some(pos) = rest.windows(marker.len()).position(|w| w == marker) {
        out.extend_from_slice(&rest[..pos]);
        out.extend_from_slice(host.as_bytes());
        rest = &rest[pos + marker.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// One response: bytes, whether the peer closed, and the identity if it matched.
struct Response {
    bytes: Vec<u8>,
    closed: bool,
    identity: Option<Identity>,
}

/// Reads until a hard match, the byte cap, an idle gap after data, EOF, or `until`.
async fn read_response(
    stream: &mut TcpStream,
    until: Instant,
    limits: &DetectLimits,
    matcher: &Matcher,
    probe: &str,
) -> Response {
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    let mut identity = None;
    let mut closed = false;
    while bytes.len() < limits.read_cap {
        let wait_until = if bytes.is_empty() {
            until
        } else {
            until.min(Instant::now() + limits.idle_gap)
        };
        let room = (limits.read_cap - bytes.len()).min(chunk.len());
        match timeout_at(wait_until, stream.read(&mut chunk[..room])).await {
            Err(_) => break,
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => {
                bytes.extend_from_slice(&chunk[..n]);
                identity = matcher.identify(&bytes, probe);
                if identity.as_ref().is_some_and(|id| !id.soft) {
                    break;
                }
            }
        }
    }
    Response {
        bytes,
        closed,
        identity,
    }
}

/// Identifies what answers on `addr`, starting with the scan's own connection `first`.
/// `host` is the name used in probes (HTTP Host). Never errors: what is not known stays unknown.
pub async fn detect(
    first: TcpStream,
    addr: SocketAddr,
    host: &str,
    port_name: Option<&str>,
    matcher: &Matcher,
    limits: &DetectLimits,
) -> Detection {
    let deadline = Instant::now() + limits.deadline;
    // A connection on which nothing was sent and nothing heard yet (the null probe's).
    let mut fresh: Option<TcpStream> = Some(first);
    let mut quiet: Option<TcpStream> = None;
    let mut first_response: Option<(String, Vec<u8>)> = None;
    let mut soft: Option<(Identity, String)> = None;
    let mut soft_tries = 0;

    for probe in probe_order(&matcher.db.probes, addr.port()) {
        if Instant::now() >= deadline {
            break;
        }
        if let Some((soft_id, _)) = &soft {
            // Knowing the service, only probes with a rule for it can say more.
            let useful = matcher.db.rules.iter().any(|r| {
                r.service == soft_id.service && !r.soft && r.probes.iter().any(|p| p == &probe.name)
            });
            if !useful || soft_tries >= 2 {
                continue;
            }
            soft_tries += 1;
        }
        let reuse = if probe.is_null() {
            fresh.take()
        } else if probe.after_silence {
            quiet.take().or_else(|| fresh.take())
        } else {
            fresh.take()
        };
        let mut stream = match reuse {
            Some(s) => s,
            None => match reconnect(addr, deadline, limits).await {
                Some(s) => s,
                None => break,
            },
        };
        if !probe.is_null() {
            let data = payload(probe, host);
            match timeout_at(deadline, stream.write_all(&data)).await {
                Ok(Ok(())) => {}
                _ => continue,
            }
        }
        let until = deadline.min(Instant::now() + probe.wait);
        let response = read_response(&mut stream, until, limits, matcher, &probe.name).await;
        if response.bytes.is_empty() {
            if response.closed && probe.is_null() {
                // Accepted, then closed without a word: a wrapper (tcpd, a firewall proxy).
                return Detection {
                    identity: Identity {
                        service: "tcpwrapped".into(),
                        ..Default::default()
                    },
                    confidence: Confidence::Soft,
                    probe: Some(probe.name.clone()),
                    banner: None,
                };
            }
            if !response.closed && probe.is_null() {
                quiet = Some(stream);
            }
            continue;
        }
        if first_response.is_none() {
            first_response = Some((probe.name.clone(), response.bytes.clone()));
        }
        match response.identity {
            Some(id) if !id.soft => {
                return Detection {
                    identity: id,
                    confidence: Confidence::Hard,
                    probe: Some(probe.name.clone()),
                    banner: first_response.map(|(_, b)| b),
                }
            }
            Some(id) if soft.is_none() => soft = Some((id, probe.name.clone())),
            _ => {}
        }
    }
    match soft {
        Some((identity, probe)) => Detection {
            identity,
            confidence: Confidence::Soft,
            probe: Some(probe),
            banner: first_response.map(|(_, b)| b),
        },
        None => Detection::guess(port_name, first_response),
    }
}

async fn reconnect(addr: SocketAddr, deadline: Instant, limits: &DetectLimits) -> Option<TcpStream> {
    let left = deadline.saturating_duration_since(Instant::now());
    let opts = ConnectOptions {
        timeout: limits.connect_timeout.min(left),
        zero_linger: true,
        bind: None,
    };
    match connect(addr, &opts).await {
        Ok(a) if a.state == PortState::Open => a.stream,
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(name: &str, ports: &[u16], payload: &[u8]) -> Probe {
        Probe {
            name: name.into(),
            payload: payload.to_vec(),
            ports: ports.to_vec(),
            wait: Duration::from_millis(100),
            after_silence: false,
            description: String::new(),
            location: String::new(),
        }
    }

    #[test]
    fn likely_probes_come_first() {
        let probes = [
            probe("null", &[22], b""),
            probe("http", &[80], b"GET"),
            probe("x", &[], b"x"),
        ];
        let names = |port| {
            probe_order(&probes, port)
                .iter()
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(80), ["http", "null", "x"]);
        assert_eq!(names(22), ["null", "http", "x"]);
        assert_eq!(names(9), ["null", "http", "x"]);
    }

    #[test]
    fn host_is_substituted() {
        let p = probe("http", &[], b"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n");
        assert_eq!(
            payload(&p, "example.org"),
            b"GET / HTTP/1.0\r\nHost: example.org\r\n\r\n"
        );
        assert_eq!(payload(&probe("n", &[], b"{hos"), "x"), b"{hos");
    }
}
