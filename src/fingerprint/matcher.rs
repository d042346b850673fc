//! Matching a response against the whole database: the response is decoded once into fields,
//! one `RegexSet` per field (and one for raw rules) finds the candidate rules, then the first
//! hard rule (in database order) wins; without one, generic identification reads the
//! protocol's grammar; a soft rule (service only) comes last.

use regex::bytes::{Captures, RegexSet, RegexSetBuilder};

use super::decode::{decode, Decoded, Protocol};
use super::{generic, Confidence, Database, Identity, OsRule, Problem, RawFields, Rule, Templates};

/// Compiled size limit of one combined prefilter.
const SET_SIZE_LIMIT: usize = 256 << 20;

/// The rules that read one field (or the raw response), with their prefilter.
struct Group {
    field: Option<String>,
    /// Indices into `db.rules`, in database order.
    rules: Vec<usize>,
    /// `None` if the set could not be built within limits: then each rule is tried in turn.
    set: Option<RegexSet>,
}

/// A database ready to identify responses.
pub struct Matcher {
    pub db: Database,
    groups: Vec<Group>,
}

fn expand_all(t: &Templates, caps: &Captures, service: &str) -> Identity {
    let g = |i: usize| caps.get(i).map(|m| m.as_bytes());
    let one = |t: &Option<super::template::Template>| t.as_ref().and_then(|t| t.expand(g));
    let cpe: Vec<String> = t.cpe.iter().filter_map(|c| c.expand(g)).collect();
    Identity {
        service: service.to_string(),
        vendor: one(&t.vendor).or_else(|| cpe.first().and_then(|c| cpe_vendor(c))),
        product: one(&t.product),
        version: one(&t.version),
        revision: one(&t.revision),
        info: one(&t.info),
        hostname: one(&t.hostname),
        os: one(&t.os),
        device: one(&t.device),
        cpe,
        rule: None,
        confidence: Confidence::Hard,
    }
}

/// The vendor part of a CPE 2.3 name (`cpe:2.3:a:openbsd:openssh:…` → `openbsd`).
fn cpe_vendor(cpe: &str) -> Option<String> {
    let vendor = cpe.split(':').nth(3)?;
    (!vendor.is_empty() && vendor != "*" && vendor != "-").then(|| vendor.replace("\\", ""))
}

impl Matcher {
    pub fn new(db: Database) -> Matcher {
        let mut groups: Vec<Group> = Vec::new();
        for (i, rule) in db.rules.iter().enumerate() {
            match groups.iter_mut().find(|g| g.field == rule.field) {
                Some(g) => g.rules.push(i),
                None => groups.push(Group {
                    field: rule.field.clone(),
                    rules: vec![i],
                    set: None,
                }),
            }
        }
        for g in &mut groups {
            g.set = RegexSetBuilder::new(g.rules.iter().map(|&i| db.rules[i].pattern.as_str()))
                .unicode(false)
                .size_limit(SET_SIZE_LIMIT)
                .dfa_size_limit(SET_SIZE_LIMIT)
                .build()
                .ok();
        }
        Matcher { db, groups }
    }

    /// The bytes a rule reads in a decoded response.
    fn haystack<'a>(field: Option<&str>, response: &'a [u8], decoded: &'a Decoded<'_>) -> Option<&'a [u8]> {
        match field {
            None => Some(response),
            Some(f) => decoded.get(f),
        }
    }

    /// Candidate rules (indices, database order) whose pattern matches their field.
    fn candidates(&self, response: &[u8], decoded: &Decoded<'_>) -> Vec<usize> {
        let mut out = Vec::new();
        for g in &self.groups {
            let Some(hay) = Self::haystack(g.field.as_deref(), response, decoded) else {
                continue;
            };
            match &g.set {
                Some(set) => out.extend(set.matches(hay).into_iter().map(|k| g.rules[k])),
                None => out.extend(
                    g.rules
                        .iter()
                        .copied()
                        .filter(|&i| self.db.rules[i].regex.is_match(hay)),
                ),
            }
        }
        out.sort_unstable();
        out
    }

    /// Identifies a response elicited by `probe`: the first hard rule, else what the
    /// protocol's grammar says (generic), else the first soft rule.
    pub fn identify(&self, response: &[u8], probe: &str) -> Option<Identity> {
        if response.is_empty() {
            return None;
        }
        let decoded = decode(response);
        let mut soft: Option<Identity> = None;
        for i in self.candidates(response, &decoded) {
            let rule = &self.db.rules[i];
            if !rule.applies_to(probe) || !rule.reads(decoded.protocol) || (rule.soft && soft.is_some()) {
                continue;
            }
            let Some(hay) = Self::haystack(rule.field.as_deref(), response, &decoded) else {
                continue;
            };
            let Some(caps) = rule.regex.captures(hay) else {
                continue;
            };
            let id = self.identity(rule, &caps);
            if !rule.soft {
                return Some(id);
            }
            soft = Some(id);
        }
        let service = soft.as_ref().map(|s| s.service.as_str());
        if let Some(mut id) = generic::identify(&decoded, service, &self.db.generic) {
            if let Some(s) = &soft {
                id.hostname = id.hostname.take().or_else(|| s.hostname.clone());
            }
            self.infer_os(&mut id);
            return Some(id);
        }
        soft
    }

    /// The decoded fields of a response, for `match --json` and `scan -v`.
    pub fn fields(response: &[u8]) -> (Protocol, Vec<(String, Vec<u8>)>) {
        let d = decode(response);
        (
            d.protocol,
            d.fields().into_iter().map(|(n, v)| (n, v.to_vec())).collect(),
        )
    }

    fn identity(&self, rule: &Rule, caps: &Captures) -> Identity {
        let mut id = expand_all(&rule.templates, caps, &rule.service);
        // A version never ends in a separator, whatever a pattern captured (`2019.77.`).
        if let Some(v) = &mut id.version {
            let kept = v.trim_end_matches(['.', '-', '_', '+', '~']).len();
            v.truncate(kept);
            if v.is_empty() {
                id.version = None;
            }
        }
        id.rule = Some(rule.id.clone());
        id.confidence = if rule.soft {
            Confidence::Soft
        } else {
            Confidence::Hard
        };
        self.infer_os(&mut id);
        id
    }

    /// Fills `os` (and adds its CPE) from the first OS rule whose conditions hold, when the
    /// service rule did not name the OS itself.
    pub fn infer_os(&self, id: &mut Identity) {
        if id.os.is_some() {
            return;
        }
        for os in &self.db.os_rules {
            if let Some((name, cpe)) = os_match(os, id) {
                id.os = Some(name);
                if let Some(cpe) = cpe {
                    if !id.cpe.contains(&cpe) {
                        id.cpe.push(cpe);
                    }
                }
                return;
            }
        }
    }

    /// Checks every example and counter-example in the database; returns the problems.
    pub fn check(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        for rule in &self.db.rules {
            for ex in &rule.examples {
                let probe = ex
                    .probe
                    .clone()
                    .or_else(|| rule.probes.first().cloned())
                    .unwrap_or_else(|| "null".to_string());
                let mut problem = |message: String| {
                    problems.push(Problem {
                        file: rule.file.clone(),
                        line: ex.line,
                        message: format!("example of rule '{}': {message}", rule.id),
                    })
                };
                let Some(got) = self.identify(&ex.response, &probe) else {
                    problem(format!("nothing matches it (probe '{probe}')"));
                    continue;
                };
                if got.rule.as_deref() != Some(rule.id.as_str()) {
                    let other = got.rule.as_deref().unwrap_or("?");
                    let at = self
                        .db
                        .rules
                        .iter()
                        .find(|r| r.id == other)
                        .map(|r| format!("{}:{}", r.file, r.line));
                    problem(format!(
                        "rule '{other}' ({}) matches it first; make one of them more specific",
                        at.unwrap_or_default()
                    ));
                    continue;
                }
                for m in compare(&ex.expect, ex.service.as_deref(), &got) {
                    problem(m);
                }
            }
            for (bytes, line) in &rule.counters {
                if rule_matches(rule, bytes) {
                    problems.push(Problem {
                        file: rule.file.clone(),
                        line: *line,
                        message: format!("counter-example of rule '{}' matches the rule", rule.id),
                    });
                }
            }
            problems.extend(self.check_foreign_http(rule));
            problems.extend(self.check_probe_payloads(rule));
        }
        for d in &self.db.disclosures {
            for (response, evidence, line) in &d.examples {
                let got = d.find(response).into_iter().next().map(|f| f.evidence);
                if got.as_deref() != Some(evidence.as_slice()) {
                    problems.push(Problem {
                        file: d.file.clone(),
                        line: *line,
                        message: format!(
                            "example of disclosure '{}': evidence is '{}', the example expects '{}'",
                            d.id,
                            crate::escape::escape_bytes(got.as_deref().unwrap_or(b"")),
                            crate::escape::escape_bytes(evidence)
                        ),
                    });
                }
            }
            for (bytes, line) in &d.counters {
                if !d.find(bytes).is_empty() {
                    problems.push(Problem {
                        file: d.file.clone(),
                        line: *line,
                        message: format!("counter-example of disclosure '{}' matches it", d.id),
                    });
                }
            }
        }
        for os in &self.db.os_rules {
            for ex in &os.examples {
                let mut id = Identity {
                    product: ex.product.clone(),
                    version: ex.version.clone(),
                    revision: ex.revision.clone(),
                    info: ex.info.clone(),
                    ..Default::default()
                };
                self.infer_os(&mut id);
                let got = id.os.unwrap_or_default();
                if got != ex.expect {
                    problems.push(Problem {
                        file: os.file.clone(),
                        line: ex.line,
                        message: format!(
                            "example of os rule '{}': got OS '{got}', expected '{}'",
                            os.id, ex.expect
                        ),
                    });
                }
            }
        }
        problems
    }
}

/// Whether `rule` matches `response` as the matcher would apply it (field, grammar).
fn rule_matches(rule: &Rule, response: &[u8]) -> bool {
    let decoded = decode(response);
    rule.reads(decoded.protocol)
        && Matcher::haystack(rule.field.as_deref(), response, &decoded)
            .is_some_and(|h| rule.regex.is_match(h))
}

impl Matcher {
    /// A raw rule for a service that is not HTTP-based must not be able to match a well-formed
    /// HTTP response that carries its example's text (in a header or the body): such a pattern
    /// is unanchored and would claim web servers whose headers mention it.
    fn check_foreign_http(&self, rule: &Rule) -> Vec<Problem> {
        if rule.field.is_some() || rule.protocols.contains(&Protocol::Http) {
            return Vec::new();
        }
        let mut problems = Vec::new();
        for ex in &rule.examples {
            let text: Vec<u8> = ex
                .response
                .iter()
                .copied()
                .filter(|&b| b != b'\r' && b != b'\n')
                .collect();
            let mut as_header = b"HTTP/1.1 200 OK\r\nServer: ".to_vec();
            as_header.extend_from_slice(&text);
            as_header.extend_from_slice(b"\r\n\r\n");
            let mut as_body = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n".to_vec();
            as_body.extend_from_slice(&ex.response);
            if rule.regex.is_match(&as_header) || rule.regex.is_match(&as_body) {
                problems.push(Problem {
                    file: rule.file.clone(),
                    line: rule.line,
                    message: format!(
                        "rule '{}' (service {}) can match an HTTP response that quotes its example (line {}): anchor the pattern to the start of the service's own banner",
                        rule.id, rule.service, ex.line
                    ),
                });
                break;
            }
        }
        problems
    }

    /// No rule may match what portprobe itself sends: an echo service would otherwise be
    /// named after whatever our probe looks like.
    fn check_probe_payloads(&self, rule: &Rule) -> Vec<Problem> {
        let mut problems = Vec::new();
        for probe in &self.db.probes {
            if probe.payload.is_empty() || !rule.applies_to(&probe.name) {
                continue;
            }
            let sent = String::from_utf8_lossy(&probe.payload).replace("{host}", "localhost");
            let sent = if probe.payload.is_ascii() {
                sent.into_bytes()
            } else {
                probe.payload.clone()
            };
            if rule_matches(rule, &sent) {
                problems.push(Problem {
                    file: rule.file.clone(),
                    line: rule.line,
                    message: format!(
                        "rule '{}' matches the payload of probe '{}' (our own bytes, as an echo service returns them)",
                        rule.id, probe.name
                    ),
                });
            }
        }
        problems
    }
}

fn os_match(os: &OsRule, id: &Identity) -> Option<(String, Option<String>)> {
    if let Some(product) = &os.product {
        if id.product.as_deref() != Some(product.as_str()) {
            return None;
        }
    }
    if let Some(version) = &os.version {
        if !version.is_match(id.version.as_deref()?.as_bytes()) {
            return None;
        }
    }
    let value = match os.field.as_str() {
        "revision" => id.revision.as_deref(),
        "info" => id.info.as_deref(),
        "version" => id.version.as_deref(),
        _ => id.product.as_deref(),
    }?;
    let caps = os.regex.captures(value.as_bytes())?;
    let found = expand_all(&os.templates, &caps, "");
    Some((found.os?, found.cpe.into_iter().next()))
}

/// Differences between what an example expects and what was identified ("" expects absence).
fn compare(expect: &RawFields, service: Option<&str>, got: &Identity) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = |name: &str, want: &Option<String>, have: &Option<String>| {
        if let Some(want) = want {
            let have = have.as_deref().unwrap_or("");
            if want != have {
                out.push(format!("{name} is '{have}', the example expects '{want}'"));
            }
        }
    };
    field("service", &service.map(String::from), &Some(got.service.clone()));
    field("vendor", &expect.vendor, &got.vendor);
    field("product", &expect.product, &got.product);
    field("version", &expect.version, &got.version);
    field("revision", &expect.revision, &got.revision);
    field("info", &expect.info, &got.info);
    field("hostname", &expect.hostname, &got.hostname);
    field("os", &expect.os, &got.os);
    field("device", &expect.device, &got.device);
    if let Some(want) = &expect.cpe {
        if want != &got.cpe {
            out.push(format!("cpe is {:?}, the example expects {:?}", got.cpe, want));
        }
    }
    out
}
