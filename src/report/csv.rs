//! CSV (`--csv FILE`) for spreadsheets: a header, then one row per port as soon as it is known.

use std::io::{self, Write};

use super::{service_label, HostReport, ScanSummary, Sink};
use crate::escape::escape_bytes;
use crate::pipeline::PortResult;

/// The columns, in order.
pub const HEADER: &[&str] = &[
    "host", "ip", "port", "proto", "state", "reason", "rtt_ms", "service", "product", "version", "info",
    "os", "cpe", "tls", "findings",
];

pub struct CsvSink<W: Write> {
    out: W,
    header: bool,
}

impl<W: Write> CsvSink<W> {
    pub fn new(out: W) -> Self {
        CsvSink { out, header: false }
    }

    fn header(&mut self) -> io::Result<()> {
        if !self.header {
            self.header = true;
            writeln!(self.out, "{}", HEADER.join(","))?;
        }
        Ok(())
    }
}

/// One cell (RFC 4180): quoted when it holds a comma, quote or line break; a leading `=`, `+`,
/// `-` or `@` is prefixed with `'` so a spreadsheet never runs a server's text as a formula.
pub fn cell(text: &str) -> String {
    let text = match text.chars().next() {
        Some('=' | '+' | '-' | '@') => format!("'{text}"),
        _ => text.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

impl<W: Write + Send> Sink for CsvSink<W> {
    fn port(&mut self, r: &PortResult) -> io::Result<()> {
        self.header()?;
        let Ok(p) = &r.outcome else { return Ok(()) };
        let id = r.service.as_ref().map(|d| &d.identity);
        let text = |v: Option<&String>| v.map(|s| escape_bytes(s.as_bytes())).unwrap_or_default();
        let version: Vec<&str> = id
            .map(|i| i.version.iter().chain(&i.revision).map(String::as_str).collect())
            .unwrap_or_default();
        let tls = r
            .service
            .as_ref()
            .and_then(|d| d.tls.as_ref())
            .and_then(|t| t.facts.as_ref())
            .map(|f| f.summary())
            .unwrap_or_default();
        let findings: Vec<String> = r
            .findings
            .iter()
            .flatten()
            .map(|f| format!("{}:{}", f.severity.as_str(), f.id))
            .collect();
        let row = [
            r.host.label(),
            r.host.ip.to_string(),
            r.port.to_string(),
            "tcp".into(),
            p.state.to_string(),
            p.reason.as_str().into(),
            // No round trip when nothing answered.
            if p.reason == crate::net::connect::Reason::NoResponse {
                String::new()
            } else {
                format!("{:.3}", p.rtt.as_secs_f64() * 1e3)
            },
            service_label(r),
            text(id.and_then(|i| i.product.as_ref())),
            escape_bytes(version.join(" ").as_bytes()),
            text(id.and_then(|i| i.info.as_ref())),
            text(id.and_then(|i| i.os.as_ref())),
            id.map(|i| i.cpe.join(" ")).unwrap_or_default(),
            tls,
            findings.join(" "),
        ];
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        writeln!(self.out, "{}", cells.join(","))
    }

    fn host_done(&mut self, _host: &HostReport, _interrupted: bool) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self, _summary: &ScanSummary) -> io::Result<()> {
        self.header()?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_never_formulas() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
    }
}
