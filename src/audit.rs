//! Disclosure analysis: what each service's answer gives away (versions, distribution patch
//! levels, components, internal names), where exactly, how bad, and how to fix it — from the
//! disclosure rules and fixes in `fingerprints/`. Also the baseline of a previous run.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::net::IpAddr;
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

/// Auditing: findings from the database's disclosure rules, minus a baseline's.
#[derive(Debug, Default)]
pub struct AuditPlan {
    pub baseline: Option<Baseline>,
}

impl AuditPlan {
    /// What the service on `ip`:`port` discloses that the baseline does not already know.
    pub fn findings(&self, detection: &Detection, db: &Database, ip: IpAddr, port: u16) -> Vec<Finding> {
        let all = findings(detection, db);
        match &self.baseline {
            Some(b) => b.filter(&ip.to_string(), port, all),
            None => all,
        }
    }
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
    /// Reads a baseline as a stream of JSON lines: each line is capped (1 MiB) and so is the
    /// whole file (256 MiB), and every record is checked (address, port range, findings array).
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        use crate::limits::{human_size, BASELINE_FILE_CAP, BASELINE_LINE_CAP};
        let shown = escape_bytes(path.display().to_string().as_bytes());
        let read_err = |source: std::io::Error| BaselineError::Read {
            path: shown.clone(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_err)?;
        if file.metadata().map_err(read_err)?.is_dir() {
            return Err(read_err(std::io::Error::other("it is a directory")));
        }
        let mut reader = BufReader::new(file.take(BASELINE_FILE_CAP + 1));
        let mut known = HashSet::new();
        let mut total = 0u64;
        let mut line = Vec::new();
        for number in 1.. {
            line.clear();
            let n = (&mut reader)
                .take(BASELINE_LINE_CAP as u64 + 1)
                .read_until(b'\n', &mut line)
                .map_err(read_err)?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > BASELINE_FILE_CAP {
                return Err(read_err(std::io::Error::other(format!(
                    "it is larger than {}",
                    human_size(BASELINE_FILE_CAP)
                ))));
            }
            if line.len() > BASELINE_LINE_CAP && !line.ends_with(b"\n") {
                return Err(read_err(std::io::Error::other(format!(
                    "line {number} is longer than {}",
                    human_size(BASELINE_LINE_CAP as u64)
                ))));
            }
            let text = String::from_utf8_lossy(&line);
            if text.trim().is_empty() {
                continue;
            }
            let bad = |reason: String| BaselineError::Parse {
                path: shown.clone(),
                line: number,
                reason,
            };
            let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
            // Records other than ports (start, host, summary) carry no findings; older runs
            // have no `type` at all and are all ports.
            if v["type"].as_str().is_some_and(|t| t != "port") {
                continue;
            }
            let (Some(ip), Some(port)) = (v["ip"].as_str(), v["port"].as_u64()) else {
                return Err(bad("missing ip or port".into()));
            };
            if ip.parse::<std::net::IpAddr>().is_err() {
                return Err(bad(format!(
                    "ip '{}' is not an IP address",
                    escape_bytes(ip.as_bytes())
                )));
            }
            let Some(port) = u16::try_from(port).ok().filter(|&p| p != 0) else {
                return Err(bad(format!("port {port} is out of range: ports are 1-65535")));
            };
            let findings = match &v["findings"] {
                serde_json::Value::Null => &[][..],
                serde_json::Value::Array(list) => &list[..],
                _ => return Err(bad("findings is not an array".into())),
            };
            for (i, f) in findings.iter().enumerate() {
                let (Some(id), Some(evidence)) = (f["id"].as_str(), f["evidence"].as_str()) else {
                    return Err(bad(format!("finding {} has no id or evidence string", i + 1)));
                };
                known.insert((ip.to_string(), port, id.to_string(), evidence.to_string()));
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
