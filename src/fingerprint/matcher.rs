//! Matching a response against the whole database: a `RegexSet` prefilter finds the candidate
//! rules in one pass, then the first hard rule (in database order) wins over any soft one.

use regex::bytes::{Captures, RegexSet, RegexSetBuilder};

use super::{Database, Identity, OsRule, Problem, RawFields, Rule, Templates};

/// Compiled size limit of the combined prefilter.
const SET_SIZE_LIMIT: usize = 256 << 20;

/// A database ready to identify responses.
pub struct Matcher {
    pub db: Database,
    /// `None` if the set could not be built within limits: then every rule is tried in turn.
    set: Option<RegexSet>,
}

fn expand_all(t: &Templates, caps: &Captures, service: &str) -> Identity {
    let g = |i: usize| caps.get(i).map(|m| m.as_bytes());
    let one = |t: &Option<super::template::Template>| t.as_ref().and_then(|t| t.expand(g));
    Identity {
        service: service.to_string(),
        product: one(&t.product),
        version: one(&t.version),
        revision: one(&t.revision),
        info: one(&t.info),
        hostname: one(&t.hostname),
        os: one(&t.os),
        device: one(&t.device),
        cpe: t.cpe.iter().filter_map(|c| c.expand(g)).collect(),
        rule: None,
        soft: false,
    }
}

impl Matcher {
    pub fn new(db: Database) -> Matcher {
        let set = RegexSetBuilder::new(db.rules.iter().map(|r| r.pattern.as_str()))
            .unicode(false)
            .size_limit(SET_SIZE_LIMIT)
            .dfa_size_limit(SET_SIZE_LIMIT)
            .build()
            .ok();
        Matcher { db, set }
    }

    fn candidates(&self, response: &[u8]) -> Vec<usize> {
        match &self.set {
            Some(set) => set.matches(response).into_iter().collect(),
            None => (0..self.db.rules.len())
                .filter(|&i| self.db.rules[i].regex.is_match(response))
                .collect(),
        }
    }

    /// Identifies a response elicited by `probe`: the first hard rule, else the first soft one.
    pub fn identify(&self, response: &[u8], probe: &str) -> Option<Identity> {
        if response.is_empty() {
            return None;
        }
        let mut soft: Option<Identity> = None;
        for i in self.candidates(response) {
            let rule = &self.db.rules[i];
            if !rule.applies_to(probe) || (rule.soft && soft.is_some()) {
                continue;
            }
            let Some(caps) = rule.regex.captures(response) else {
                continue;
            };
            let id = self.identity(rule, &caps);
            if !rule.soft {
                return Some(id);
            }
            soft = Some(id);
        }
        soft
    }

    fn identity(&self, rule: &Rule, caps: &Captures) -> Identity {
        let mut id = expand_all(&rule.templates, caps, &rule.service);
        id.rule = Some(rule.id.clone());
        id.soft = rule.soft;
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
                if rule.regex.is_match(bytes) {
                    problems.push(Problem {
                        file: rule.file.clone(),
                        line: *line,
                        message: format!("counter-example of rule '{}' matches the rule", rule.id),
                    });
                }
            }
        }
        for d in &self.db.disclosures {
            for (response, evidence, line) in &d.examples {
                let got = d
                    .regex
                    .captures(response)
                    .and_then(|c| c.get(1))
                    .map(|m| m.as_bytes().to_vec());
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
                if d.regex.is_match(bytes) {
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
