//! The audit report: per host and port, what each service discloses, with the evidence, where
//! it is, how bad, and the fix; or JSON Lines, one object per service with a `findings` array.

use std::io::{self, Write};

use super::{service_label, HostReport, ScanSummary, Sink};
use crate::audit::Finding;
use crate::fingerprint::Severity;
use crate::net::connect::PortState;

/// The audit as text (`audit --json` is the JSON Lines sink).
pub struct AuditSink<W: Write> {
    out: W,
}

impl<W: Write> AuditSink<W> {
    pub fn new(out: W) -> Self {
        AuditSink { out }
    }
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
    fn host_done(&mut self, host: &HostReport, interrupted: bool) -> io::Result<()> {
        let mut services: Vec<_> = host
            .rows
            .iter()
            .filter(|r| r.state() == Some(PortState::Open) && r.service.is_some())
            .collect();
        if services.is_empty() {
            return self.out.flush();
        }
        services.sort_by_key(|r| r.port);
        let out = &mut self.out;
        writeln!(out, "Audit of {}", host.host.display())?;
        for r in services {
            let version = r
                .service
                .as_ref()
                .map(|d| d.identity.version_line())
                .unwrap_or_default();
            let line = format!("{}/tcp  {}  {version}", r.port, service_label(r));
            writeln!(out, "{}", line.trim_end())?;
            let findings = r.findings.as_deref().unwrap_or_default();
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
        self.out.flush()
    }
}
