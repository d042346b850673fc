//! SARIF 2.1.0 (`--sarif FILE`): one result per disclosure finding, with the rule, level,
//! message, evidence and fix, so code-scanning dashboards show the audit.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Arc;

use serde_json::{json, Value};

use super::run::RunInfo;
use super::{HostReport, ScanSummary, Sink};
use crate::audit::Finding;
use crate::fingerprint::Severity;
use crate::pipeline::PortResult;

pub struct SarifSink<W: Write> {
    out: W,
    run: Arc<RunInfo>,
    /// Each rule once, by id: its description and fix.
    rules: BTreeMap<String, (Severity, String, Option<String>)>,
    results: Vec<Value>,
}

impl<W: Write> SarifSink<W> {
    pub fn new(out: W, run: Arc<RunInfo>) -> Self {
        SarifSink {
            out,
            run,
            rules: BTreeMap::new(),
            results: Vec::new(),
        }
    }
}

/// SARIF's level for a severity: nothing portprobe finds is an `error` (a defect that breaks
/// something); medium disclosures are warnings, the rest notes.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

fn result(r: &PortResult, f: &Finding) -> Value {
    let target = match r.host.ip {
        std::net::IpAddr::V6(ip) => format!("[{ip}]:{}", r.port),
        ip => format!("{ip}:{}", r.port),
    };
    let probe = f
        .location
        .probe
        .as_deref()
        .map(|p| format!("{p} probe, "))
        .unwrap_or_default();
    let mut text = format!("{target}/tcp: {}: \"{}\"", f.what, f.evidence);
    if let Some(fix) = &f.fix {
        text.push_str(&format!(". Fix: {fix}"));
    }
    json!({
        "ruleId": f.id,
        "level": level(f.severity),
        "message": { "text": text },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": format!("tcp://{target}") },
                "region": { "startLine": 1 }
            },
            "logicalLocations": [{
                "name": format!("{target}/tcp"),
                "fullyQualifiedName": format!("{}/{target}/tcp", r.host.label()),
                "kind": "module"
            }]
        }],
        "partialFingerprints": {
            "portprobe/v1": format!("{}|{}|{}", r.host.ip, r.port, f.id)
        },
        "properties": {
            "severity": f.severity.as_str(),
            "host": r.host.label(),
            "ip": r.host.ip.to_string(),
            "port": r.port,
            "where": format!("{probe}{}, byte {}", f.location.field, f.location.offset),
            "evidence": f.evidence,
            "fix": f.fix,
        }
    })
}

impl<W: Write + Send> Sink for SarifSink<W> {
    fn port(&mut self, r: &PortResult) -> io::Result<()> {
        for f in r.findings.iter().flatten() {
            self.rules
                .entry(f.id.clone())
                .or_insert_with(|| (f.severity, f.what.clone(), f.fix.clone()));
            self.results.push(result(r, f));
        }
        Ok(())
    }

    fn host_done(&mut self, _host: &HostReport, _interrupted: bool) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, s: &ScanSummary) -> io::Result<()> {
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|(id, (sev, what, fix))| {
                let mut rule = json!({
                    "id": id,
                    "shortDescription": { "text": what },
                    "defaultConfiguration": { "level": level(*sev) },
                    "properties": { "severity": sev.as_str() }
                });
                if let Some(fix) = fix {
                    rule["help"] = json!({ "text": fix });
                }
                rule
            })
            .collect();
        let log = json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": { "driver": {
                    "name": "portprobe",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules
                }},
                "invocations": [{
                    "commandLine": crate::escape::escape_str(&self.run.args),
                    "executionSuccessful": !s.interrupted
                }],
                "results": std::mem::take(&mut self.results)
            }]
        });
        serde_json::to_writer_pretty(&mut self.out, &log)?;
        writeln!(self.out)?;
        self.out.flush()
    }
}
