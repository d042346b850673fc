//! Matching a response against the whole database: the response is decoded once into fields,
//! one literal prefilter per field (and one for raw rules) finds the candidate rules, each runs
//! its own pattern (see `backtrack`), and the first hard rule (in database order) wins; without one, generic identification reads the
//! protocol's grammar; a soft rule (service only) comes last.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::decode::{decode, Decoded, Key, Protocol, JOIN};
use super::prefilter::{Prefilter, Prefix};
use super::{
    generic, Confidence, Database, Groups, IdField, Identity, OsRule, Problem, RawFields, Rule, Templates,
};

/// The rules that read one field (or the raw response), with their prefilter.
struct Group {
    /// Indices into `db.rules`, in database order.
    rules: Vec<usize>,
    prefilter: Prefilter,
}

impl Group {
    fn new(rules: Vec<usize>, db: &Database) -> Group {
        let analyses: Vec<_> = rules.iter().map(|&i| &db.rules[i].analysis).collect();
        let prefilter = Prefilter::new(&analyses);
        Group { rules, prefilter }
    }

    /// Pushes (rule, value) for every rule of this group whose pattern may match `hay`.
    fn matches<'h>(&self, hay: &'h [u8], found: &mut Vec<usize>, out: &mut Vec<(usize, &'h [u8])>) {
        found.clear();
        self.prefilter.matches(hay, found);
        out.extend(found.iter().map(|&k| (self.rules[k], hay)));
    }
}

/// FNV-1a: field and header names are short and ours to hash (no untrusted key can grow a
/// bucket, the maps are fixed when the database loads), and SipHash cost more than the rest of
/// the lookup for every header of every response.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type NameMap<K, V = usize> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// A database ready to identify responses.
pub struct Matcher {
    pub db: Database,
    /// Raw rules by the grammar of the response they may read, in `Protocol::ALL` order.
    raw: Vec<Group>,
    /// Field rules, one group per field.
    fields: Vec<Group>,
    /// Fixed field names (`ssh.software`) and header names (lower case) to their group.
    by_field: NameMap<String>,
    by_header: NameMap<Vec<u8>>,
    /// Joined names (`x11.vendor+x11.release`): their parts and their group.
    joins: Vec<(Vec<String>, usize)>,
    /// The joins whose first part is a fixed field or a header (lower case), by that name: a
    /// response is only joined for the names whose first part it has.
    joins_by_field: NameMap<String, Vec<usize>>,
    joins_by_header: NameMap<Vec<u8>, Vec<usize>>,
    /// For each rule, the bytes its matches start with (see [`Prefix`]): a candidate that
    /// fails this is rejected without touching the rule's compiled pattern.
    prefixes: Vec<Prefix>,
}

/// A header's name in lower case, in `buf` (no allocation); `None` when longer than any name a
/// rule reads.
fn lower_name<'b>(name: &[u8], buf: &'b mut [u8; 64]) -> Option<&'b [u8]> {
    let out = buf.get_mut(..name.len())?;
    for (d, s) in out.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    Some(out)
}

fn raw_slot(p: Protocol) -> usize {
    p.index()
}

fn is_header(field: Option<&str>) -> bool {
    field.is_some_and(|f| f.starts_with(super::decode::HEADER_PREFIX))
}

fn expand_all(t: &Templates, g: Groups<'_>, service: &str) -> Identity {
    let mut id = Identity {
        service: service.to_string(),
        cpe: t.cpe.iter().filter_map(|c| c.expand(g)).collect(),
        rule: None,
        confidence: Confidence::Hard,
        ..Identity::default()
    };
    for f in IdField::ALL {
        *id.field_mut(f) = t.field(f).as_ref().and_then(|t| t.expand(g));
    }
    if id.vendor.is_none() {
        id.vendor = id.cpe.first().and_then(|c| cpe_vendor(c));
    }
    id
}

/// The vendor part of a CPE 2.3 name (`cpe:2.3:a:openbsd:openssh:…` → `openbsd`).
fn cpe_vendor(cpe: &str) -> Option<String> {
    let vendor = cpe.split(':').nth(3)?;
    (!vendor.is_empty() && vendor != "*" && vendor != "-").then(|| vendor.replace("\\", ""))
}

impl Matcher {
    pub fn new(db: Database) -> Matcher {
        let mut raw: Vec<Vec<usize>> = vec![Vec::new(); Protocol::ALL.len()];
        let mut field_rules: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, rule) in db.rules.iter().enumerate() {
            match &rule.field {
                None => {
                    // A raw rule reads any unrecognised response, and responses of the
                    // grammars its own examples are in (see Rule::reads).
                    raw[0].push(i);
                    for &p in &Protocol::ALL[1..] {
                        if rule.reads(p) {
                            raw[raw_slot(p)].push(i);
                        }
                    }
                }
                Some(f) => match field_rules.iter_mut().find(|(name, _)| name == f) {
                    Some((_, rules)) => rules.push(i),
                    None => field_rules.push((f.clone(), vec![i])),
                },
            }
        }
        let mut fields = Vec::new();
        let mut by_field = NameMap::default();
        let mut by_header = NameMap::default();
        let mut joins = Vec::new();
        let mut joins_by_field: NameMap<String, Vec<usize>> = NameMap::default();
        let mut joins_by_header: NameMap<Vec<u8>, Vec<usize>> = NameMap::default();
        for (name, rules) in field_rules {
            if name.contains(JOIN) {
                let parts: Vec<String> = name.split(JOIN).map(String::from).collect();
                let first = &parts[0];
                let slot = match first.strip_prefix(super::decode::HEADER_PREFIX) {
                    Some(h) => joins_by_header.entry(h.as_bytes().to_vec()).or_default(),
                    None => joins_by_field.entry(first.clone()).or_default(),
                };
                slot.push(joins.len());
                joins.push((parts, fields.len()));
            } else {
                match name.strip_prefix(super::decode::HEADER_PREFIX) {
                    Some(h) => by_header.insert(h.as_bytes().to_vec(), fields.len()),
                    None => by_field.insert(name.clone(), fields.len()),
                };
            }
            fields.push(Group::new(rules, &db));
        }
        let raw = raw.into_iter().map(|rules| Group::new(rules, &db)).collect();
        let prefixes = db.rules.iter().map(|r| r.analysis.prefix.clone()).collect();
        Matcher {
            db,
            raw,
            fields,
            by_field,
            by_header,
            joins,
            joins_by_field,
            joins_by_header,
            prefixes,
        }
    }

    /// The values a rule reads: a header sent several times is read one line at a time, so an
    /// anchored pattern sees each `Server:` (a proxy's and the origin's) on its own.
    pub(crate) fn values<'a>(
        field: Option<&str>,
        response: &'a [u8],
        decoded: &'a Decoded<'_>,
    ) -> Vec<Cow<'a, [u8]>> {
        let value = match field {
            None => Some(response),
            Some(f) if f.contains(JOIN) => return decoded.joined(f).map(Cow::Owned).into_iter().collect(),
            Some(f) => decoded.get(f),
        };
        match value {
            None => Vec::new(),
            Some(v) if is_header(field) && v.contains(&b'\n') => {
                v.split(|&b| b == b'\n').map(Cow::Borrowed).collect()
            }
            Some(v) => vec![Cow::Borrowed(v)],
        }
    }

    /// The values of the joined names some rule reads, with their group.
    fn joined_values(&self, decoded: &Decoded<'_>) -> Vec<(usize, Vec<u8>)> {
        let mut out = Vec::new();
        let mut lower = [0u8; 64];
        for (key, _) in decoded.entries() {
            let joins = match key {
                Key::Fixed(name) => self.joins_by_field.get(name),
                Key::Header(h) => lower_name(h, &mut lower).and_then(|h| self.joins_by_header.get(h)),
            };
            for &j in joins.into_iter().flatten() {
                let (parts, group) = &self.joins[j];
                // A header sent twice is its first part twice: join it once.
                if out.iter().any(|(g, _)| g == group) {
                    continue;
                }
                if let Some(value) = decoded.joined_parts(parts) {
                    out.push((*group, value));
                }
            }
        }
        out
    }

    /// Candidate rules (database order) whose pattern may match their field, with the value it
    /// may match in (a header sent twice gives a rule a candidate value per line, in order).
    fn candidates<'a>(
        &self,
        response: &'a [u8],
        decoded: &'a Decoded<'_>,
        joined: &'a [(usize, Vec<u8>)],
    ) -> Vec<(usize, &'a [u8])> {
        let mut out = Vec::new();
        let mut found = Vec::new();
        self.raw[raw_slot(decoded.protocol)].matches(response, &mut found, &mut out);
        for (g, value) in joined {
            self.fields[*g].matches(value, &mut found, &mut out);
        }
        let mut lower = [0u8; 64];
        for (key, value) in decoded.entries() {
            let group = match key {
                Key::Fixed(name) => self.by_field.get(name),
                Key::Header(h) => lower_name(h, &mut lower).and_then(|h| self.by_header.get(h)),
            };
            let Some(g) = group.map(|&g| &self.fields[g]) else {
                continue;
            };
            if matches!(key, Key::Header(_)) && value.contains(&b'\n') {
                for line in value.split(|&b| b == b'\n') {
                    g.matches(line, &mut found, &mut out);
                }
            } else {
                g.matches(value, &mut found, &mut out);
            }
        }
        // Database order decides; for one rule, the first value it matches (a stable sort).
        out.sort_by_key(|&(rule, _)| rule);
        out.dedup();
        out
    }

    /// Identifies a response elicited by `probe`: the first hard rule, else what the
    /// protocol's grammar says (generic), else the first soft rule.
    pub fn identify(&self, response: &[u8], probe: &str) -> Option<Identity> {
        if response.is_empty() {
            return None;
        }
        let decoded = decode(response);
        let joined = self.joined_values(&decoded);
        let candidates = self.candidates(response, &decoded, &joined);
        let usable = |&&(i, _): &&(usize, &[u8])| self.db.rules[i].applies_to(probe);
        // Hard rules first (database order): the first that matches names the product, and
        // soft rules are only read when none does.
        for &(i, hay) in candidates
            .iter()
            .filter(usable)
            .filter(|(i, _)| !self.db.rules[*i].soft)
        {
            if let Some(id) = self.try_rule(i, hay) {
                return Some(id);
            }
        }
        let soft = candidates
            .iter()
            .filter(usable)
            .filter(|(i, _)| self.db.rules[*i].soft)
            .find_map(|&(i, hay)| self.try_rule(i, hay));
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

    /// The identity rule `i` gives `hay`, if it matches. A value that does not start as the
    /// rule's anchored pattern must is rejected before the pattern runs; a rule whose templates
    /// use no capture group only needs a yes or no, which is cheaper than finding the groups.
    fn try_rule(&self, i: usize, hay: &[u8]) -> Option<Identity> {
        if !self.prefixes[i].admits(hay) {
            return None;
        }
        let rule = &self.db.rules[i];
        if rule.templates.max_group() == 0 {
            return rule.regex.is_match(hay).then(|| self.identity(rule, &|_| None));
        }
        rule.regex
            .with_captures(hay, |groups| self.identity(rule, groups))
    }

    fn identity(&self, rule: &Rule, groups: Groups<'_>) -> Identity {
        let mut id = expand_all(&rule.templates, groups, &rule.service);
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
            let inputs = rule.examples.iter().map(|e| (&e.response, e.line));
            for (bytes, line) in inputs.chain(rule.counters.iter().map(|(b, l)| (b, *l))) {
                let decoded = decode(bytes);
                let values = Matcher::values(rule.field.as_deref(), bytes, &decoded);
                if !values.iter().all(|v| rule.regex.engines_agree(v)) {
                    problems.push(Problem {
                        file: rule.file.clone(),
                        line,
                        message: format!(
                            "rule '{}': the small matcher and the regex engine disagree on this example (a bug in fingerprint::backtrack)",
                            rule.id
                        ),
                    });
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
            if let Err(e) = rule.regex.check() {
                problems.push(Problem {
                    file: rule.file.clone(),
                    line: rule.line,
                    message: format!("rule '{}': {e}", rule.id),
                });
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
        problems.extend(self.check_references());
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

impl Matcher {
    /// Names that point elsewhere in the database must exist there: a disclosure rule's services
    /// and probes, an OS rule's product (a rename of a product would otherwise silently switch
    /// its OS inference off).
    fn check_references(&self) -> Vec<Problem> {
        let db = &self.db;
        let mut problems = Vec::new();
        for d in &db.disclosures {
            for service in &d.services {
                if !db.rules.iter().any(|r| &r.service == service) {
                    problems.push(Problem {
                        file: d.file.clone(),
                        line: d.line,
                        message: format!(
                            "disclosure '{}' names service '{service}', which no rule identifies",
                            d.id
                        ),
                    });
                }
            }
            for probe in &d.probes {
                if db.probe(probe).is_none() {
                    problems.push(Problem {
                        file: d.file.clone(),
                        line: d.line,
                        message: format!(
                            "disclosure '{}' names probe '{probe}', which no file defines",
                            d.id
                        ),
                    });
                }
            }
        }
        for os in &db.os_rules {
            let Some(product) = &os.product else { continue };
            let named = db.rules.iter().any(|r| {
                let literal = r.templates.product.as_ref().filter(|t| t.max_group() == 0);
                literal.and_then(|t| t.expand(|_| None)).as_deref() == Some(product.as_str())
            });
            if !named {
                problems.push(Problem {
                    file: os.file.clone(),
                    line: os.line,
                    message: format!(
                        "os rule '{}' names product '{product}', which no rule gives",
                        os.id
                    ),
                });
            }
        }
        problems
    }
}

/// Whether `rule` matches `response` as the matcher would apply it (field, grammar).
fn rule_matches(rule: &Rule, response: &[u8]) -> bool {
    let decoded = decode(response);
    rule.reads(decoded.protocol)
        && Matcher::values(rule.field.as_deref(), response, &decoded)
            .into_iter()
            .any(|h| rule.regex.is_match(&h))
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
            let Some(regex) = rule.regex.get() else { break };
            if regex.is_match(&as_header) || regex.is_match(&as_body) {
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
    let value = id.field(os.field).as_deref()?;
    let caps = os.regex.captures(value.as_bytes())?;
    let found = expand_all(&os.templates, &|i| caps.get(i).map(|m| m.as_bytes()), "");
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
    for f in IdField::ALL {
        field(f.name(), expect.field(f), got.field(f));
    }
    if let Some(want) = &expect.cpe {
        if want != &got.cpe {
            out.push(format!("cpe is {:?}, the example expects {:?}", got.cpe, want));
        }
    }
    out
}
