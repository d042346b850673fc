//! JSON Lines: one object per probed port, written as soon as the port is known.

use std::io::{self, Write};
use std::time::Instant;

use serde::Serialize;

use super::{HostTally, ScanSummary, Sink};
use crate::net::connect::{PortState, Reason};
use crate::portdb::service_name;
use crate::scan::PortResult;

pub struct JsonlSink<W: Write> {
    out: W,
    open_only: bool,
    last_flush: Instant,
}

impl<W: Write> JsonlSink<W> {
    pub fn new(out: W, open_only: bool) -> Self {
        JsonlSink {
            out,
            open_only,
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
}

#[derive(Serialize)]
pub struct ServiceRecord<'a> {
    pub name: &'a str,
    pub confidence: &'static str,
}

impl<W: Write + Send> Sink for JsonlSink<W> {
    fn port(&mut self, result: &PortResult) -> io::Result<()> {
        let Ok(p) = &result.outcome else {
            return Ok(());
        };
        if self.open_only && p.state != PortState::Open {
            return Ok(());
        }
        let record = PortRecord {
            host: result.host.label(),
            ip: result.host.ip.to_string(),
            port: result.port,
            proto: "tcp",
            state: p.state,
            reason: p.reason,
            rtt_ms: (p.reason != Reason::NoResponse).then(|| (p.rtt.as_secs_f64() * 1e6).round() / 1e3),
            service: service_name(result.port).map(|name| ServiceRecord {
                name,
                confidence: "port-table",
            }),
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

    fn host_done(&mut self, _tally: &HostTally, _interrupted: bool) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self, _summary: &ScanSummary) -> io::Result<()> {
        self.out.flush()
    }
}
