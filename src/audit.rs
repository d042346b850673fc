//! Disclosure analysis: what each service's answer gives away (versions, distribution patch
//! levels, components, internal names), where exactly, how bad, and how to fix it — from the
//! disclosure rules and fixes in `fingerprints/`. Also the baseline of a previous run.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::Serialize;

use crate::detect::Detection;
use crate::escape::escape_bytes;
use crate::fingerprint::{Database, DisclosureSource, Severity};

/// One thing a service gives away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: String,
    pub severity: Severity,
    pub what: String,
    /// Where: the probe whose answer it is, the field, and the byte offset of the evidence.
    #[serde(rename = "where")]
    pub location: Location,
    /// The exact bytes, escaped.
    pub evidence: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<String>,
    pub field: String,
    pub offset: usize,
}

/// The findings for one detected service, most severe first.
pub fn findings(detection: &Detection, db: &Database) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let subject = detection
        .tls
        .as_ref()
        .and_then(|t| t.facts.as_ref())
        .and_then(|f| f.chain.first())
        .map(|c| c.subject.clone().into_bytes());
    for rule in &db.disclosures {
        if !rule.services.is_empty() && !rule.services.contains(&detection.identity.service) {
            continue;
        }
        let (bytes, probe) = match rule.source {
            DisclosureSource::Response => match &detection.banner {
                Some(b) => (b.as_slice(), detection.banner_probe.clone()),
                None => continue,
            },
            DisclosureSource::TlsSubject => match &subject {
                Some(s) => (s.as_slice(), None),
                None => continue,
            },
        };
        if !rule.probes.is_empty() && !probe.as_ref().is_some_and(|p| rule.probes.contains(p)) {
            continue;
        }
        for found in rule.find(bytes) {
            let evidence = escape_bytes(&found.evidence);
            if out.iter().any(|f| f.id == rule.id && f.evidence == evidence) {
                continue;
            }
            let product = detection.identity.product.as_deref().unwrap_or("");
            let fix = db
                .fixes
                .iter()
                .find(|f| {
                    f.topic == rule.topic && f.product.as_ref().is_none_or(|p| p.is_match(product.as_bytes()))
                })
                .map(|f| f.text.clone());
            out.push(Finding {
                id: rule.id.clone(),
                severity: rule.severity,
                what: found.what,
                location: Location {
                    probe: probe.clone(),
                    field: rule.label.clone(),
                    offset: found.offset,
                },
                evidence,
                fix,
            });
        }
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

/// Findings of a previous JSON run (`audit --json` or `scan --audit --json`), by
/// (address, port, finding id, evidence): what is already known.
#[derive(Debug, Default)]
pub struct Baseline {
    known: HashSet<(String, u16, String, String)>,
}

/// Why a baseline could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read baseline '{path}': {source}")]
    Read { path: String, source: std::io::Error },
    #[error("baseline '{path}' line {line}: not a JSON object from `portprobe audit --json`: {reason}")]
    Parse {
        path: String,
        line: usize,
        reason: String,
    },
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let shown = escape_bytes(path.display().to_string().as_bytes());
        let file = std::fs::File::open(path).map_err(|source| BaselineError::Read {
            path: shown.clone(),
            source,
        })?;
        let mut known = HashSet::new();
        for (i, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|source| BaselineError::Read {
                path: shown.clone(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let bad = |reason: String| BaselineError::Parse {
                path: shown.clone(),
                line: i + 1,
                reason,
            };
            let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
            let (Some(ip), Some(port)) = (v["ip"].as_str(), v["port"].as_u64()) else {
                return Err(bad("missing ip or port".into()));
            };
            for f in v["findings"].as_array().into_iter().flatten() {
                if let (Some(id), Some(evidence)) = (f["id"].as_str(), f["evidence"].as_str()) {
                    known.insert((ip.to_string(), port as u16, id.to_string(), evidence.to_string()));
                }
            }
        }
        Ok(Baseline { known })
    }

    /// Keeps only findings that are new or whose evidence changed.
    pub fn filter(&self, ip: &str, port: u16, findings: Vec<Finding>) -> Vec<Finding> {
        findings
            .into_iter()
            .filter(|f| {
                !self
                    .known
                    .contains(&(ip.to_string(), port, f.id.clone(), f.evidence.clone()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::{Confidence, Identity};

    fn db() -> Database {
        let mut problems = Vec::new();
        let db = Database::from_sources(&Database::shipped_sources(), &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        db
    }

    fn detection(service: &str, product: &str, banner: &[u8]) -> Detection {
        Detection {
            identity: Identity {
                service: service.into(),
                product: Some(product.into()),
                ..Default::default()
            },
            confidence: Confidence::Hard,
            probe: Some("null".into()),
            tunnel: None,
            banner: Some(banner.to_vec()),
            banner_probe: Some("null".into()),
            tls: None,
        }
    }

    #[test]
    fn ssh_findings_with_offsets_and_fixes() {
        let d = detection("ssh", "OpenSSH", b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n");
        let f = findings(&d, &db());
        let ids: Vec<&str> = f.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["ssh-software-version", "ssh-distribution-patch"]);
        assert_eq!(f[0].evidence, "OpenSSH_9.2p1");
        assert_eq!(f[0].location.offset, 8);
        assert_eq!(f[1].location.offset, 22);
        assert!(f[1].fix.as_deref().unwrap().contains("DebianBanner no"));
        assert!(f[0].fix.as_deref().unwrap().contains("cannot be removed"));
    }

    #[test]
    fn http_levels_follow_the_documented_rule() {
        let sev = |server: &str| {
            let banner = format!("HTTP/1.1 200 OK\r\nServer: {server}\r\n\r\n");
            let f = findings(&detection("http", "nginx", banner.as_bytes()), &db());
            f.iter().map(|f| (f.id.clone(), f.severity)).collect::<Vec<_>>()
        };
        assert_eq!(
            sev("nginx/1.22.1"),
            [("http-server-full-version".to_string(), Severity::Medium)]
        );
        assert_eq!(
            sev("nginx"),
            [("http-server-product".to_string(), Severity::Info)]
        );
        assert_eq!(
            sev("Apache/2"),
            [("http-server-major-version".to_string(), Severity::Low)]
        );
    }

    #[test]
    fn baseline_keeps_only_new_or_changed() {
        let mut b = Baseline::default();
        b.known.insert((
            "10.0.0.1".into(),
            22,
            "ssh-software-version".into(),
            "OpenSSH_9.2p1".into(),
        ));
        let d = detection("ssh", "OpenSSH", b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n");
        let left = b.filter("10.0.0.1", 22, findings(&d, &db()));
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].id, "ssh-distribution-patch");
    }
}
