//! The audit report: per host and port, what each service discloses, with the evidence, where
//! it is, how bad, and the fix; or JSON Lines, one object per service with a `findings` array.

use std::collections::HashMap;
use std::io::{self, Write};

use serde::Serialize;

use super::{HostTally, ScanSummary, Sink};
use crate::audit::Finding;
use crate::detect::Detection;
use crate::fingerprint::Severity;
use crate::net::connect::PortState;
use crate::scan::PortResult;

pub struct AuditSink<W: Write> {
    out: W,
    json: bool,
    hosts: HashMap<u64, Vec<Audited>>,
}

/// One open port of a host, waiting for the host to finish: port, service, findings.
type Audited = (u16, Box<Detection>, Vec<Finding>);

impl<W: Write> AuditSink<W> {
    pub fn new(out: W, json: bool) -> Self {
        AuditSink {
            out,
            json,
            hosts: HashMap::new(),
        }
    }
}

#[derive(Serialize)]
struct ServiceRecord<'a> {
    host: String,
    ip: String,
    port: u16,
    proto: &'static str,
    service: &'a Detection,
    findings: &'a [Finding],
}

/// `MEDIUM`, `LOW`, `INFO`, padded for a column.
pub fn level(s: Severity) -> String {
    format!("{:<6}", s.as_str().to_uppercase())
}

/// The lines that describe one finding.
pub fn finding_lines(f: &Finding) -> Vec<String> {
    let probe = f
        .location
        .probe
        .as_deref()
        .map(|p| format!("{p} probe, "))
        .unwrap_or_default();
    let mut lines = vec![
        format!("{} {}: {}", level(f.severity), f.id, f.what),
        format!(
            "       where: {probe}{}, byte {}: \"{}\"",
            f.location.field, f.location.offset, f.evidence
        ),
    ];
    if let Some(fix) = &f.fix {
        lines.push(format!("       fix:   {fix}"));
    }
    lines
}

impl<W: Write + Send> Sink for AuditSink<W> {
    fn port(&mut self, result: &PortResult) -> io::Result<()> {
        let (Ok(p), Some(service)) = (&result.outcome, &result.service) else {
            return Ok(());
        };
        if p.state != PortState::Open {
            return Ok(());
        }
        let findings = result.findings.clone().unwrap_or_default();
        if self.json {
            let record = ServiceRecord {
                host: result.host.label(),
                ip: result.host.ip.to_string(),
                port: result.port,
                proto: "tcp",
                service,
                findings: &findings,
            };
            serde_json::to_writer(&mut self.out, &record)?;
            return self.out.write_all(b"\n");
        }
        self.hosts
            .entry(result.host.id)
            .or_default()
            .push((result.port, service.clone(), findings));
        Ok(())
    }

    fn host_done(&mut self, tally: &HostTally, interrupted: bool) -> io::Result<()> {
        let Some(mut services) = self.hosts.remove(&tally.host.id) else {
            return self.out.flush();
        };
        services.sort_by_key(|s| s.0);
        let out = &mut self.out;
        writeln!(out, "Audit of {}", tally.host.display())?;
        for (port, d, findings) in &services {
            let tunnel = if d.tunnel.is_some() { "ssl/" } else { "" };
            let unsure = if d.confidence == crate::fingerprint::Confidence::PortTable {
                "?"
            } else {
                ""
            };
            let line = format!(
                "{port}/tcp  {tunnel}{}{unsure}  {}",
                d.identity.service,
                d.identity.version_line()
            );
            writeln!(out, "{}", line.trim_end())?;
            if findings.is_empty() {
                writeln!(out, "  no findings")?;
            }
            for f in findings {
                for line in finding_lines(f) {
                    writeln!(out, "  {line}")?;
                }
            }
        }
        if interrupted {
            writeln!(out, "(interrupted: not every port was finished)")?;
        }
        writeln!(out)?;
        out.flush()
    }

    fn finish(&mut self, s: &ScanSummary) -> io::Result<()> {
        if !self.json {
            let counts: Vec<String> = [Severity::Medium, Severity::Low, Severity::Info]
                .iter()
                .map(|sev| format!("{} {}", s.findings.get(sev).copied().unwrap_or(0), sev.as_str()))
                .collect();
            writeln!(
                self.out,
                "Findings: {} on {} open port(s) of {} host(s) in {:.2} s{}",
                counts.join(", "),
                s.open,
                s.hosts,
                s.elapsed.as_secs_f64(),
                if s.interrupted { " (interrupted)" } else { "" }
            )?;
            writeln!(
                self.out,
                "Severity: info = names the product or host; low = major version, OS name, internal name; \
                 medium = full version, patch level, components, or readable without authentication."
            )?;
        }
        self.out.flush()
    }
}
