//! JSON Lines, a contract (docs/json.md, schema/portprobe.schema.json): a `start` record with
//! the schema version, one `port` record per probed port as soon as it is known (the same for
//! `scan --json` and `audit --json`), a `host` record per finished host, a closing `summary`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::run::{epoch, RunInfo};
use super::{ExitReason, HostReport, ScanSummary, Sink};
use crate::audit::Finding;
use crate::detect::{Detection, TlsOutcome};
use crate::escape::{escape_bytes, escape_str};
use crate::fingerprint::{Confidence, Severity};
use crate::net::connect::{PortState, Reason};
use crate::pipeline::PortResult;

/// The version of the records' shape: bumped when a field changes meaning or goes away (adding
/// a field does not bump it).
pub const SCHEMA_VERSION: u32 = 1;

pub struct JsonlSink<W: Write> {
    out: W,
    last_flush: Instant,
    run: Arc<RunInfo>,
    fail_on: Option<Severity>,
    started: bool,
}

impl<W: Write> JsonlSink<W> {
    pub fn new(out: W, run: Arc<RunInfo>, fail_on: Option<Severity>) -> Self {
        JsonlSink {
            out,
            last_flush: Instant::now(),
            run,
            fail_on,
            started: false,
        }
    }

    /// Appends to a file that already has its `start` record (`--resume`): none is written.
    pub fn continuing(mut self) -> Self {
        self.started = true;
        self
    }

    fn record(&mut self, value: &impl Serialize) -> io::Result<()> {
        if !self.started {
            self.started = true;
            let start = StartRecord {
                kind: "start",
                schema: SCHEMA_VERSION,
                portprobe: env!("CARGO_PKG_VERSION"),
                command: self.run.command,
                args: escape_str(&self.run.args),
                started: epoch(self.run.started),
                ports: self.run.port_count + self.run.udp_port_count,
                scan: self.run.scan.as_ref(),
            };
            serde_json::to_writer(&mut self.out, &start)?;
            self.out.write_all(b"\n")?;
        }
        serde_json::to_writer(&mut self.out, value)?;
        self.out.write_all(b"\n")
    }
}

/// The first record: which schema the records follow, and what ran.
#[derive(Serialize)]
struct StartRecord<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    schema: u32,
    portprobe: &'static str,
    command: &'a str,
    args: String,
    /// Seconds since 1970.
    started: u64,
    /// Ports asked for each host.
    ports: usize,
    /// `--resume` files: what defines the scan's pairs, checked when the file is resumed.
    #[serde(skip_serializing_if = "Option::is_none")]
    scan: Option<&'a serde_json::Value>,
}

/// A host once its ports are all known (or the run was cut short).
#[derive(Serialize)]
struct HostRecord {
    #[serde(rename = "type")]
    kind: &'static str,
    host: String,
    ip: String,
    /// Ports by state: `{"open": 1, "closed": 99, "filtered": 0}`.
    ports: BTreeMap<PortState, usize>,
    /// Ports by state and reason: `{"closed": {"conn-refused": 99}}`.
    reasons: BTreeMap<PortState, BTreeMap<Reason, usize>>,
    /// Ports not probed because of this machine's errors.
    errors: usize,
    interrupted: bool,
    /// Set when the host accepts every port and answers them alike (see README).
    #[serde(skip_serializing_if = "Option::is_none")]
    pseudo_service: Option<PseudoRecord>,
}

/// One disclosure finding, with the port it was found on (also inside the port record).
#[derive(Serialize)]
struct FindingRecord<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    host: &'a str,
    ip: &'a str,
    port: u16,
    proto: &'a str,
    #[serde(flatten)]
    finding: &'a Finding,
}

/// The evidence that a host accepts every port.
#[derive(Serialize)]
struct PseudoRecord {
    /// Open ports, and how many of them answered the same way.
    open: usize,
    alike: usize,
    /// What they all said, escaped; absent when they said nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    answer: Option<String>,
}

/// The last record: totals, how long, and why the run ends as it does.
#[derive(Serialize)]
struct SummaryRecord {
    #[serde(rename = "type")]
    kind: &'static str,
    hosts: usize,
    ports: usize,
    open: usize,
    closed: usize,
    filtered: usize,
    /// UDP ports that stayed silent; absent when there were none (TCP scans).
    #[serde(skip_serializing_if = "is_zero")]
    open_filtered: usize,
    errors: usize,
    input_errors: usize,
    findings: BTreeMap<Severity, usize>,
    elapsed_s: f64,
    exit: ExitReason,
    interrupted: bool,
}

/// The JSON object for one port; field names are part of portprobe's interface.
#[derive(Serialize)]
pub struct PortRecord<'a> {
    /// Always `port`.
    #[serde(rename = "type")]
    pub kind: &'static str,
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

fn is_zero(n: &usize) -> bool {
    *n == 0
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
            kind: "port",
            host: result.host.label(),
            ip: result.host.ip.to_string(),
            port: result.port,
            proto: result.proto.as_str(),
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
        self.record(&record)?;
        // Each finding also as a record of its own, for consumers that filter by type.
        for finding in result.findings.iter().flatten() {
            self.record(&FindingRecord {
                kind: "finding",
                host: &record.host,
                ip: &record.ip,
                port: record.port,
                proto: record.proto,
                finding,
            })?;
        }
        // Stream without a syscall per line: flush at most every 100 ms, and at host ends.
        if self.last_flush.elapsed().as_millis() >= 100 {
            self.out.flush()?;
            self.last_flush = Instant::now();
        }
        Ok(())
    }

    fn host_done(&mut self, host: &HostReport, interrupted: bool) -> io::Result<()> {
        let mut reasons: BTreeMap<PortState, BTreeMap<Reason, usize>> = BTreeMap::new();
        for ((state, reason), n) in &host.by_reason {
            reasons.entry(*state).or_default().insert(*reason, *n);
        }
        let mut ports = host.by_state.clone();
        for state in [PortState::Open, PortState::Closed, PortState::Filtered] {
            ports.entry(state).or_default();
        }
        self.record(&HostRecord {
            kind: "host",
            host: host.host.label(),
            ip: host.host.ip.to_string(),
            ports,
            reasons,
            errors: host.errors,
            interrupted,
            pseudo_service: host.pseudo.as_ref().map(|p| PseudoRecord {
                open: p.open,
                alike: p.alike,
                answer: p.answer.as_deref().map(escape_bytes),
            }),
        })?;
        self.out.flush()
    }

    fn finish(&mut self, s: &ScanSummary) -> io::Result<()> {
        let mut findings = s.findings.clone();
        for sev in [Severity::Info, Severity::Low, Severity::Medium] {
            findings.entry(sev).or_default();
        }
        self.record(&SummaryRecord {
            kind: "summary",
            hosts: s.hosts,
            ports: s.ports,
            open: s.open,
            closed: s.closed,
            filtered: s.filtered,
            open_filtered: s.open_filtered,
            errors: s.errors,
            input_errors: s.input_errors,
            findings,
            elapsed_s: (s.elapsed.as_secs_f64() * 1e3).round() / 1e3,
            exit: s.exit_reason(self.fail_on),
            interrupted: s.interrupted,
        })?;
        self.out.flush()
    }
}
