//! Offline commands, no network: `match` identifies a saved response, `fingerprints check`
//! validates a database and runs every rule's examples.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::escape::escape_str;
use crate::fingerprint::{Confidence, Database, IdField, Identity, Matcher, Problem, Protocol};
use crate::portdb::service_name;

/// Most bytes `match` reads: more than any banner read, little enough for any machine.
pub const MATCH_INPUT_CAP: u64 = 4 << 20;

/// What `match` found, ready to print.
pub struct MatchReport {
    pub identity: Option<Identity>,
    pub port_guess: Option<&'static str>,
    pub probe: String,
    /// The grammar the response was read as, and the fields decoded from it.
    pub protocol: Protocol,
    pub fields: Vec<(String, Vec<u8>)>,
}

/// Reads the response from a file or stdin (`-` or nothing), at most [`MATCH_INPUT_CAP`] bytes.
pub fn read_input(file: Option<&Path>) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    match file {
        None => io::stdin().take(MATCH_INPUT_CAP).read_to_end(&mut bytes)?,
        Some(p) if p == Path::new("-") => io::stdin().take(MATCH_INPUT_CAP).read_to_end(&mut bytes)?,
        Some(p) => std::fs::File::open(p)?
            .take(MATCH_INPUT_CAP)
            .read_to_end(&mut bytes)?,
    };
    Ok(bytes)
}

pub fn identify(matcher: &Matcher, response: &[u8], probe: &str, port: Option<u16>) -> MatchReport {
    let (protocol, fields) = Matcher::fields(response);
    MatchReport {
        identity: matcher.identify(response, probe),
        port_guess: port.and_then(service_name),
        probe: probe.to_string(),
        protocol,
        fields,
    }
}

/// The optional text fields of an identity, with their names, in display order.
fn named_fields(id: &Identity) -> impl Iterator<Item = (&'static str, &Option<String>)> {
    IdField::ALL.into_iter().map(|f| (f.name(), id.field(f)))
}

/// The JSON object `match --json` prints: `{"service":null}` when nothing matched.
pub fn match_json(report: &MatchReport) -> Value {
    let mut fields = Map::new();
    for (name, value) in &report.fields {
        fields.insert(escape_str(name), json!(crate::escape::escape_bytes(value)));
    }
    let Some(id) = &report.identity else {
        return json!({ "service": null, "protocol": report.protocol.as_str(), "fields": fields });
    };
    let mut obj = Map::new();
    obj.insert("service".into(), json!(id.service));
    for (name, value) in named_fields(id) {
        if let Some(v) = value {
            obj.insert(name.into(), json!(v));
        }
    }
    if !id.cpe.is_empty() {
        obj.insert("cpe".into(), json!(id.cpe));
    }
    obj.insert("confidence".into(), json!(id.confidence));
    if let Some(rule) = &id.rule {
        obj.insert("rule".into(), json!(rule));
    }
    obj.insert("protocol".into(), json!(report.protocol.as_str()));
    obj.insert("fields".into(), Value::Object(fields));
    Value::Object(obj)
}

pub fn print_match(report: &MatchReport, out: &mut dyn Write) -> io::Result<()> {
    let Some(id) = &report.identity else {
        let guess = report
            .port_guess
            .map(|g| format!("; the port table suggests {g}?"))
            .unwrap_or_default();
        return writeln!(
            out,
            "no rule matches this response (probe {}){guess}",
            report.probe
        );
    };
    let confidence = match id.confidence {
        Confidence::Soft => " (soft: the service, not the product)",
        Confidence::Generic => " (generic: read from the protocol's grammar, no rule names it)",
        _ => "",
    };
    writeln!(out, "service:  {}{confidence}", id.service)?;
    for (name, value) in named_fields(id) {
        if let Some(v) = value {
            writeln!(out, "{:<9} {v}", format!("{name}:"))?;
        }
    }
    for cpe in &id.cpe {
        writeln!(out, "cpe:      {cpe}")?;
    }
    if let Some(rule) = &id.rule {
        writeln!(out, "rule:     {rule}")?;
    }
    Ok(())
}

/// Summary of a successful check.
pub struct CheckSummary {
    pub probes: usize,
    pub rules: usize,
    pub soft: usize,
    pub os_rules: usize,
    pub examples: usize,
    pub services: usize,
    pub disclosures: usize,
}

/// Loads and checks a database: the shipped one, plus `dir` (first) if given.
pub fn check(dir: Option<&PathBuf>) -> Result<CheckSummary, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut sources = Vec::new();
    if let Some(dir) = dir {
        if !dir.is_dir() {
            return Err(vec![Problem {
                file: escape_str(&dir.display().to_string()),
                line: 0,
                message: "not a directory".into(),
            }]);
        }
        sources.extend(crate::fingerprint::load::read_dir_files(dir, &mut problems));
    }
    sources.extend(Database::shipped_sources());
    let db = Database::from_sources(&sources, &mut problems);
    let matcher = Matcher::new(db);
    problems.extend(matcher.check());
    if !problems.is_empty() {
        return Err(problems);
    }
    let db = &matcher.db;
    let mut services: Vec<&str> = db.rules.iter().map(|r| r.service.as_str()).collect();
    services.sort_unstable();
    services.dedup();
    Ok(CheckSummary {
        probes: db.probes.len(),
        rules: db.rules.len(),
        soft: db.rules.iter().filter(|r| r.soft).count(),
        os_rules: db.os_rules.len(),
        examples: db.rules.iter().map(|r| r.examples.len()).sum::<usize>()
            + db.os_rules.iter().map(|r| r.examples.len()).sum::<usize>()
            + db.disclosures.iter().map(|r| r.examples.len()).sum::<usize>(),
        disclosures: db.disclosures.len(),
        services: services.len(),
    })
}
