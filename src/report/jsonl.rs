//! JSON Lines: one object per probed port, written as soon as the port is known; the same
//! record for `scan --json` and `audit --json`.

use std::io::{self, Write};
use std::time::Instant;

use serde::Serialize;

use super::{HostReport, ScanSummary, Sink};
use crate::audit::Finding;
use crate::detect::{Detection, TlsOutcome};
use crate::escape::escape_bytes;
use crate::fingerprint::Confidence;
use crate::net::connect::{PortState, Reason};
use crate::pipeline::PortResult;

pub struct JsonlSink<W: Write> {
    out: W,
    last_flush: Instant,
}

impl<W: Write> JsonlSink<W> {
    pub fn new(out: W) -> Self {
        JsonlSink {
            out,
            last_flush: Instant::now(),
        }
    }
}

/// The JSON object for one port; field names are part of portprobe's interface.
#[derive(Serialize)]
pub struct PortRecord<'a> {
    pub host: String,
    pub ip: String,
    pub port: u16,
    pub proto: &'static str,
    pub state: PortState,
    pub reason: Reason,
    /// Absent when nothing answered (no-response): there was no round trip.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceRecord<'a>>,
    /// The first response, escaped (`\r`, `\x1b` …) so it is safe text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    /// The same bytes in hex, when they are binary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner_hex: Option<String>,
    /// Handshake and certificate facts (TLS tunnel or STARTTLS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<&'a TlsOutcome>,
    /// What the service discloses (`scan --audit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<&'a [Finding]>,
    /// The SYN-ACK's TTL and window (`scan --syn`), for OS hints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syn: Option<crate::net::syn::SynFacts>,
}

#[derive(Serialize)]
#[serde(untagged)]
pub enum ServiceRecord<'a> {
    Detected(&'a Detection),
    PortTable { name: &'a str, confidence: Confidence },
}

/// True when bytes are not plain text (anything but printable ASCII, CR, LF, TAB).
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .any(|&b| !(0x20..0x7f).contains(&b) && !matches!(b, b'\r' | b'\n' | b'\t'))
}

impl<W: Write + Send> Sink for JsonlSink<W> {
    fn port(&mut self, result: &PortResult) -> io::Result<()> {
        let Ok(p) = &result.outcome else {
            return Ok(());
        };
        let banner = result.service.as_ref().and_then(|d| d.banner.as_deref());
        let record = PortRecord {
            host: result.host.label(),
            ip: result.host.ip.to_string(),
            port: result.port,
            proto: "tcp",
            state: p.state,
            reason: p.reason,
            rtt_ms: (p.reason != Reason::NoResponse).then(|| (p.rtt.as_secs_f64() * 1e6).round() / 1e3),
            service: match &result.service {
                Some(d) => Some(ServiceRecord::Detected(d)),
                None => result.port_name.map(|name| ServiceRecord::PortTable {
                    name,
                    confidence: Confidence::PortTable,
                }),
            },
            banner: banner.map(escape_bytes),
            banner_hex: banner.filter(|b| is_binary(b)).map(hex::encode),
            tls: result.service.as_ref().and_then(|d| d.tls.as_ref()),
            findings: result.findings.as_deref(),
            syn: result.syn,
        };
        serde_json::to_writer(&mut self.out, &record)?;
        self.out.write_all(b"\n")?;
        // Stream without a syscall per line: flush at most every 100 ms, and at host ends.
        if self.last_flush.elapsed().as_millis() >= 100 {
            self.out.flush()?;
            self.last_flush = Instant::now();
        }
        Ok(())
    }

    fn host_done(&mut self, _host: &HostReport, _interrupted: bool) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self, _summary: &ScanSummary) -> io::Result<()> {
        self.out.flush()
    }
}
