//! The fingerprint database: probes (what to send), rules (what answers mean) and OS rules
//! (what package revisions say about the system), loaded from `fingerprints/` and user
//! directories, compiled once, and checked against the examples every rule carries.

pub mod backtrack;
pub mod binary;
pub mod decode;
pub mod generic;
pub mod load;
pub mod matcher;
pub mod prefilter;
pub mod template;

use std::path::Path;
use std::time::Duration;

use regex::bytes::Regex;
use serde::Serialize;

pub use decode::{decode, Decoded, Protocol};
pub use generic::GenericWords;
pub use load::{Problem, RawFields};
pub use matcher::Matcher;
use template::Template;

mod shipped {
    include!(concat!(env!("OUT_DIR"), "/shipped.rs"));
}

/// Something to send to a port (or nothing: the null probe just listens).
#[derive(Debug, Clone)]
pub struct Probe {
    pub name: String,
    pub payload: Vec<u8>,
    /// A dialogue: payloads sent one after the other on the same connection, each after the
    /// previous answer; the answers are concatenated for decoders and rules.
    pub then: Vec<Vec<u8>>,
    /// Ports where this probe is the likely first choice.
    pub ports: Vec<u16>,
    /// The same, inside a TLS tunnel (https on 443, imaps on 993 …).
    pub tls_ports: Vec<u16>,
    /// How long to wait for an answer.
    pub wait: Duration,
    /// Safe to send on a connection where the server stayed silent.
    pub after_silence: bool,
    /// Which transport the probe is for (a UDP probe is one datagram).
    pub proto: crate::ports::Proto,
    pub location: String,
}

impl Probe {
    pub fn is_null(&self) -> bool {
        self.payload.is_empty()
    }
}

/// The text fields of an identity: the one list that rules, examples, templates, comparisons
/// and output derive theirs from (`service` and the `cpe` list sit beside them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdField {
    Vendor,
    Product,
    Version,
    Revision,
    Info,
    Hostname,
    Os,
    Device,
}

impl IdField {
    /// Every field, in display order.
    pub const ALL: [IdField; 8] = [
        IdField::Vendor,
        IdField::Product,
        IdField::Version,
        IdField::Revision,
        IdField::Info,
        IdField::Hostname,
        IdField::Os,
        IdField::Device,
    ];

    /// The key in rule files and JSON.
    pub fn name(self) -> &'static str {
        match self {
            IdField::Vendor => "vendor",
            IdField::Product => "product",
            IdField::Version => "version",
            IdField::Revision => "revision",
            IdField::Info => "info",
            IdField::Hostname => "hostname",
            IdField::Os => "os",
            IdField::Device => "device",
        }
    }

    pub fn from_name(name: &str) -> Option<IdField> {
        IdField::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Gives a struct that holds one value per identity field access to them by [`IdField`].
macro_rules! by_id_field {
    ($ty:ty, $value:ty) => {
        impl $ty {
            pub fn field(&self, f: IdField) -> &$value {
                match f {
                    IdField::Vendor => &self.vendor,
                    IdField::Product => &self.product,
                    IdField::Version => &self.version,
                    IdField::Revision => &self.revision,
                    IdField::Info => &self.info,
                    IdField::Hostname => &self.hostname,
                    IdField::Os => &self.os,
                    IdField::Device => &self.device,
                }
            }

            pub fn field_mut(&mut self, f: IdField) -> &mut $value {
                match f {
                    IdField::Vendor => &mut self.vendor,
                    IdField::Product => &mut self.product,
                    IdField::Version => &mut self.version,
                    IdField::Revision => &mut self.revision,
                    IdField::Info => &mut self.info,
                    IdField::Hostname => &mut self.hostname,
                    IdField::Os => &mut self.os,
                    IdField::Device => &mut self.device,
                }
            }
        }
    };
}
by_id_field!(Templates, Option<Template>);
by_id_field!(Identity, Option<String>);
by_id_field!(RawFields, Option<String>);

/// Parsed templates for the identity fields of a rule.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    pub vendor: Option<Template>,
    pub product: Option<Template>,
    pub version: Option<Template>,
    pub revision: Option<Template>,
    pub info: Option<Template>,
    pub hostname: Option<Template>,
    pub os: Option<Template>,
    pub device: Option<Template>,
    pub cpe: Vec<Template>,
}

impl Templates {
    /// The highest capture group any template inserts (0: none).
    pub fn max_group(&self) -> usize {
        IdField::ALL
            .into_iter()
            .filter_map(|f| self.field(f).as_ref())
            .chain(self.cpe.iter())
            .map(|t| t.max_group())
            .max()
            .unwrap_or(0)
    }
}

/// An example response a rule must identify as stated (an example is a test).
#[derive(Debug, Clone)]
pub struct Example {
    pub response: Vec<u8>,
    pub probe: Option<String>,
    pub service: Option<String>,
    pub expect: RawFields,
    /// Where the example's bytes were seen (a public source, a daemon we ran).
    pub source: Option<String>,
    pub line: usize,
}

/// A rule's regex, checked when the database loads and compiled the first time a response
/// makes the rule a candidate: a scan only ever runs a few of the thousands of rules, so
/// start-up and memory do not grow with the database.
///
/// A pattern simple enough (most are) runs on [`backtrack::Program`], a flat program a cold rule
/// reads in a few cache lines; the general engine underneath `regex::bytes::Regex` (same syntax,
/// match semantics and size limits) runs the others, and any search the small one gives up on.
/// One thing differs in the general engine: a pattern anchored at the start that reads a field
/// (not a whole raw response or an HTTP body) gets no lazy DFA: it reads a short value, and a lazy
/// DFA would cost a cold table walk (and a second engine for the capture groups) every time.
#[derive(Debug, Clone)]
pub struct LazyRegex {
    pattern: String,
    /// The pattern may read long inputs (a raw response, an HTTP body): keep the lazy DFA.
    long_input: bool,
    program: std::sync::OnceLock<Option<backtrack::Program>>,
    compiled: std::sync::OnceLock<Option<MetaRegex>>,
}

/// The compiled form of a rule's pattern.
pub type MetaRegex = regex_automata::meta::Regex;

/// Capture group `i` of a match, as templates read it.
pub type Groups<'a> = &'a dyn Fn(usize) -> Option<&'a [u8]>;

/// Capture slots kept on the stack; patterns with more groups use the general engine.
const STACK_SLOTS: usize = 32;

impl LazyRegex {
    pub fn new(pattern: String, long_input: bool) -> LazyRegex {
        LazyRegex {
            pattern,
            long_input,
            program: std::sync::OnceLock::new(),
            compiled: std::sync::OnceLock::new(),
        }
    }

    /// The compiled regex; `None` if it cannot be compiled within the size limit (checked by
    /// `fingerprints check`; such a rule never matches).
    pub fn get(&self) -> Option<&MetaRegex> {
        self.compiled
            .get_or_init(|| compile_meta(&self.pattern, self.long_input))
            .as_ref()
    }

    /// The small program, when the pattern has one (and compiles in the general engine too, so
    /// both agree on what never matches).
    fn program(&self) -> Option<&backtrack::Program> {
        self.program
            .get_or_init(|| {
                let hir = parse_hir(&self.pattern)?;
                let groups = hir.properties().explicit_captures_len() + 1;
                if groups * 2 > STACK_SLOTS {
                    return None;
                }
                self.get()?;
                backtrack::Program::new(&hir, groups)
            })
            .as_ref()
    }

    /// Compiles now; the reason when it cannot be.
    pub fn check(&self) -> Result<(), String> {
        // The messages (and the verdict) are those of `regex::bytes::Regex`.
        load::compile_pattern(&self.pattern)?;
        match self.get() {
            Some(_) => Ok(()),
            None => Err("cannot be compiled".into()),
        }
    }

    pub fn is_match(&self, hay: &[u8]) -> bool {
        if let Some(p) = self.program() {
            let mut slots = [usize::MAX; STACK_SLOTS];
            match p.search(hay, &mut slots[..p.slots()]) {
                backtrack::Found::Yes => return true,
                backtrack::Found::No => return false,
                backtrack::Found::GaveUp => {}
            }
        }
        self.get().is_some_and(|r| r.is_match(hay))
    }

    /// Runs `f` on the capture groups of the first match in `hay`, if there is one.
    pub fn with_captures<R>(&self, hay: &[u8], f: impl FnOnce(Groups<'_>) -> R) -> Option<R> {
        if let Some(p) = self.program() {
            let mut slots = [usize::MAX; STACK_SLOTS];
            let slots = &mut slots[..p.slots()];
            match p.search(hay, slots) {
                backtrack::Found::Yes => {
                    let slots = &*slots;
                    return Some(f(&|i| {
                        let (s, e) = (*slots.get(2 * i)?, *slots.get(2 * i + 1)?);
                        hay.get(s..e)
                    }));
                }
                backtrack::Found::No => return None,
                backtrack::Found::GaveUp => {}
            }
        }
        self.with_meta_captures(hay, f)
    }

    /// Whether the small program and the general engine find the same match and groups in
    /// `hay` (true when the pattern has no program or the program gave up); `fingerprints
    /// check` runs it on every example.
    pub fn engines_agree(&self, hay: &[u8]) -> bool {
        let Some(p) = self.program() else {
            return true;
        };
        let mut slots = [usize::MAX; STACK_SLOTS];
        let slots = &mut slots[..p.slots()];
        let small = match p.search(hay, slots) {
            backtrack::Found::GaveUp => return true,
            backtrack::Found::No => None,
            backtrack::Found::Yes => Some(slots.to_vec()),
        };
        let general = self.get().and_then(|re| {
            let mut caps = re.create_captures();
            re.captures(hay, &mut caps);
            caps.is_match().then(|| {
                (0..p.slots() / 2)
                    .flat_map(|g| match caps.get_group(g) {
                        Some(span) => [span.start, span.end],
                        None => [usize::MAX; 2],
                    })
                    .collect::<Vec<_>>()
            })
        });
        small == general
    }

    /// Whether the pattern runs on the small program (not only the general engine).
    pub fn has_program(&self) -> bool {
        self.program().is_some()
    }

    /// [`Self::with_captures`] on the general engine alone.
    fn with_meta_captures<R>(&self, hay: &[u8], f: impl FnOnce(Groups<'_>) -> R) -> Option<R> {
        let re = self.get()?;
        let mut caps = re.create_captures();
        re.captures(hay, &mut caps);
        if !caps.is_match() {
            return None;
        }
        Some(f(&|i| caps.get_group(i).map(|span| &hay[span])))
    }
}

/// A rule pattern's syntax tree, parsed as every engine here reads it (bytes, no Unicode).
fn parse_hir(pattern: &str) -> Option<regex_syntax::hir::Hir> {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .ok()
}

/// Compiles `pattern` as `load::compile_pattern` does (same syntax, semantics and limits),
/// without a lazy DFA when the pattern is anchored at the start and reads short values (see
/// [`LazyRegex`]).
fn compile_meta(pattern: &str, long_input: bool) -> Option<MetaRegex> {
    use regex_automata::util::syntax;
    let hir = parse_hir(pattern)?;
    let anchored = hir
        .properties()
        .look_set_prefix()
        .contains(regex_syntax::hir::Look::Start);
    let config = regex_automata::meta::Config::new()
        .nfa_size_limit(Some(load::REGEX_SIZE_LIMIT))
        .hybrid_cache_capacity(load::REGEX_SIZE_LIMIT)
        .utf8_empty(false)
        .hybrid(long_input || !anchored);
    regex_automata::meta::Builder::new()
        .configure(config)
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .build_from_hir(&hir)
        .ok()
}

/// A service rule: a regex over one decoded field (or the raw response) and templates for
/// what it reveals.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub service: String,
    /// Probes whose responses this rule reads; empty means any.
    pub probes: Vec<String>,
    /// The decoded field the pattern reads (`http.header.server`); `None`: the raw response.
    pub field: Option<String>,
    /// For a raw rule: the grammars its examples are in. A response decoded as another
    /// protocol (a well-formed HTTP answer, an SSH identification) is not this rule's.
    pub protocols: Vec<Protocol>,
    pub pattern: String,
    /// What the pattern's syntax tells the matcher (literals for the prefilter, anchored
    /// prefix), from the parse the loader does anyway.
    pub analysis: prefilter::Analysis,
    pub regex: LazyRegex,
    /// Knows the service, not the product: matching goes on looking for a hard rule.
    pub soft: bool,
    pub templates: Templates,
    pub examples: Vec<Example>,
    pub counters: Vec<(Vec<u8>, usize)>,
    pub file: String,
    pub line: usize,
}

impl Rule {
    pub fn applies_to(&self, probe: &str) -> bool {
        self.probes.is_empty() || self.probes.iter().any(|p| p == probe)
    }

    /// Whether this rule may read a response the decoders recognised as `protocol`.
    pub fn reads(&self, protocol: Protocol) -> bool {
        self.field.is_some() || protocol == Protocol::Raw || self.protocols.contains(&protocol)
    }
}

/// An OS example: identity fields in, expected OS out.
#[derive(Debug, Clone)]
pub struct OsExample {
    pub product: Option<String>,
    pub version: Option<String>,
    pub revision: Option<String>,
    pub info: Option<String>,
    pub expect: String,
    pub line: usize,
}

/// Infers the OS/distribution from one identity field when the bytes say it exactly.
#[derive(Debug, Clone)]
pub struct OsRule {
    pub id: String,
    pub product: Option<String>,
    pub version: Option<Regex>,
    /// The identity field the pattern reads (revision, info, version or product).
    pub field: IdField,
    pub regex: Regex,
    pub templates: Templates,
    pub examples: Vec<OsExample>,
    pub file: String,
    pub line: usize,
}

/// How much a disclosure gives away (see fingerprints/disclosure.toml for the rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "info" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            other => Err(format!("severity '{other}': use info, low or medium")),
        }
    }
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
        }
    }
}

/// Which bytes a disclosure rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisclosureSource {
    /// The first response of the port.
    Response,
    /// The TLS leaf certificate's subject.
    TlsSubject,
}

/// A disclosure rule: a regex whose group 1 is the evidence of what a service gives away.
#[derive(Debug, Clone)]
pub struct DisclosureRule {
    pub id: String,
    pub topic: String,
    pub severity: Severity,
    pub services: Vec<String>,
    pub probes: Vec<String>,
    pub source: DisclosureSource,
    pub regex: Regex,
    pub what: Template,
    /// The decoded field the pattern reads (`http.header.server`); `None`: the raw answer.
    pub field: Option<String>,
    /// Where in the answer, for people ("Server header").
    pub label: String,
    /// (response, expected evidence, line)
    pub examples: Vec<(Vec<u8>, Vec<u8>, usize)>,
    pub counters: Vec<(Vec<u8>, usize)>,
    pub file: String,
    pub line: usize,
}

/// One disclosure found in an answer: the evidence, its byte offset in the answer, the sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosed {
    pub evidence: Vec<u8>,
    pub offset: usize,
    pub what: String,
}

impl DisclosureRule {
    /// Every disclosure of this rule in `answer`, reading the rule's field when it names one.
    /// Offsets are into `answer`: a field value that was rebuilt (joined header lines) is
    /// located by its evidence.
    pub fn find(&self, answer: &[u8]) -> Vec<Disclosed> {
        let decoded;
        let (hay, base) = match &self.field {
            None => (answer, Some(0)),
            Some(f) => {
                decoded = decode::decode(answer);
                let Some(v) = decoded.get(f) else {
                    return Vec::new();
                };
                let start = v.as_ptr() as usize;
                let within = start >= answer.as_ptr() as usize
                    && start + v.len() <= answer.as_ptr() as usize + answer.len();
                (v, within.then(|| start - answer.as_ptr() as usize))
            }
        };
        let mut out = Vec::new();
        for caps in self.regex.captures_iter(hay) {
            let Some(m) = caps.get(1) else { continue };
            let offset = match base {
                Some(b) => b + m.start(),
                None => answer
                    .windows(m.len().max(1))
                    .position(|w| w == m.as_bytes())
                    .unwrap_or(0),
            };
            out.push(Disclosed {
                evidence: m.as_bytes().to_vec(),
                offset,
                what: self
                    .what
                    .expand(|i| caps.get(i).map(|m| m.as_bytes()))
                    .unwrap_or_default(),
            });
        }
        out
    }
}

/// How to make a service say less, for a topic and (optionally) a product.
#[derive(Debug, Clone)]
pub struct Fix {
    pub topic: String,
    pub product: Option<Regex>,
    pub text: String,
}

/// How sure an identification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    /// A rule named the product.
    #[default]
    Hard,
    /// No rule named the product; the protocol's grammar did (`Server: kangle/3.5`).
    Generic,
    /// A rule named the service only.
    Soft,
    /// Only the port number suggests it.
    PortTable,
}

/// What answers a port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Identity {
    #[serde(rename = "name")]
    pub service: String,
    /// Who makes the product (a rule's `vendor`, else the vendor part of its first CPE).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The distribution's package revision, e.g. `Debian 2+deb12u3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpe: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip)]
    pub confidence: Confidence,
}

impl Identity {
    /// nmap-style VERSION text: `OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)`.
    pub fn version_line(&self) -> String {
        let mut parts: Vec<&str> = Vec::new();
        parts.extend(self.product.as_deref());
        parts.extend(self.version.as_deref());
        parts.extend(self.revision.as_deref());
        let mut line = parts.join(" ");
        if let Some(info) = &self.info {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&format!("({info})"));
        }
        line
    }
}

/// The problems found in a database, one per line.
#[derive(Debug, thiserror::Error)]
#[error("fingerprint database has {} problem(s):\n{}", .0.len(), .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct DatabaseError(pub Vec<Problem>);

/// Probes, rules and OS rules, in priority order (user files first).
#[derive(Debug, Default)]
pub struct Database {
    pub probes: Vec<Probe>,
    pub rules: Vec<Rule>,
    pub os_rules: Vec<OsRule>,
    pub disclosures: Vec<DisclosureRule>,
    pub fixes: Vec<Fix>,
    /// Word lists of generic identification.
    pub generic: GenericWords,
}

impl Database {
    /// Loads files given as (name, text), appending problems.
    pub fn from_sources(sources: &[(String, String)], problems: &mut Vec<Problem>) -> Database {
        let mut db = Database::default();
        if !load::check_bounds(sources, problems) {
            return db; // compiling an oversized database is the cost the bounds prevent
        }
        for (name, text) in sources {
            let loaded = load::load_file(name, text, problems);
            for probe in loaded.probes {
                // A user's probe of the same name replaces the shipped one (theirs come first).
                if db.probes.iter().all(|p| p.name != probe.name) {
                    db.probes.push(probe);
                }
            }
            db.rules.extend(loaded.rules);
            db.os_rules.extend(loaded.os_rules);
            db.disclosures.extend(loaded.disclosures);
            db.fixes.extend(loaded.fixes);
            if let Some(g) = loaded.generic {
                let w = &mut db.generic;
                w.http_skip.extend(g.http_skip);
                w.not_product.extend(g.not_product);
                w.greeting_stop.extend(g.greeting_stop);
                w.greeting_generic.extend(g.greeting_generic);
                w.version_suffix.extend(g.version_suffix);
                w.service_words.extend(g.service_words);
            }
        }
        for d in &db.disclosures {
            if !db.fixes.iter().any(|f| f.topic == d.topic) {
                problems.push(Problem {
                    file: d.file.clone(),
                    line: d.line,
                    message: format!("disclosure '{}': no [[fix]] for topic '{}'", d.id, d.topic),
                });
            }
        }
        let mut ids = std::collections::HashMap::new();
        for rule in &db.rules {
            if let Some(first) = ids.insert(rule.id.clone(), format!("{}:{}", rule.file, rule.line)) {
                problems.push(Problem {
                    file: rule.file.clone(),
                    line: rule.line,
                    message: format!("rule id '{}' is also used at {first}", rule.id),
                });
            }
            for probe in &rule.probes {
                if db.probes.iter().all(|p| &p.name != probe) {
                    problems.push(Problem {
                        file: rule.file.clone(),
                        line: rule.line,
                        message: format!("rule '{}' names probe '{probe}', which no file defines", rule.id),
                    });
                }
            }
        }
        db
    }

    /// The shipped files, as embedded in the binary.
    pub fn shipped_sources() -> Vec<(String, String)> {
        shipped::SHIPPED
            .iter()
            .map(|(name, text)| (format!("fingerprints/{name}"), text.to_string()))
            .collect()
    }

    /// User directories first (their rules win), then the shipped database. Any problem is an
    /// error: a broken user file must be fixed, not half-used.
    pub fn load(user_dirs: &[&Path]) -> Result<Database, DatabaseError> {
        let mut problems = Vec::new();
        let mut sources = Vec::new();
        for dir in user_dirs {
            sources.extend(load::read_dir_files(dir, &mut problems));
        }
        sources.extend(Self::shipped_sources());
        let db = Database::from_sources(&sources, &mut problems);
        // A user's rules are few and may be new: compile them now, so a broken one is an error
        // before the scan, not a rule that silently never matches (shipped ones are checked by
        // the tests and compile when first needed).
        for rule in db.rules.iter().filter(|r| !r.file.starts_with("fingerprints/")) {
            if let Err(e) = rule.regex.check() {
                problems.push(Problem {
                    file: rule.file.clone(),
                    line: rule.line,
                    message: format!("rule '{}': {e}", rule.id),
                });
            }
        }
        if problems.is_empty() {
            Ok(db)
        } else {
            Err(DatabaseError(problems))
        }
    }

    pub fn probe(&self, name: &str) -> Option<&Probe> {
        self.probes.iter().find(|p| p.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped database loads without problems and every example identifies as stated,
    /// matched first by its own rule (the same check `portprobe fingerprints check` runs).
    #[test]
    fn shipped_database_passes_its_own_examples() {
        let mut problems = Vec::new();
        let db = Database::from_sources(&Database::shipped_sources(), &mut problems);
        let matcher = Matcher::new(db);
        problems.extend(matcher.check());
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert!(problems.is_empty(), "{}", text.join("\n"));
    }

    /// Every rule's small program finds what the regex engine finds, on what rules of its own
    /// kind (the same field, or raw) were written for, and on cut and case-changed copies:
    /// inputs a rule is a candidate for without matching.
    #[test]
    fn small_matcher_agrees_with_the_regex_engine_on_every_rule() {
        let mut problems = Vec::new();
        let db = Database::from_sources(&Database::shipped_sources(), &mut problems);
        let mut by_field: std::collections::HashMap<Option<&str>, Vec<Vec<u8>>> = Default::default();
        for rule in &db.rules {
            let inputs = by_field.entry(rule.field.as_deref()).or_default();
            for ex in &rule.examples {
                let decoded = decode(&ex.response);
                for v in matcher::Matcher::values(rule.field.as_deref(), &ex.response, &decoded) {
                    inputs.push(v.to_vec());
                    inputs.push(v[..v.len() / 2].to_vec());
                    inputs.push(v[v.len() / 3..].to_vec());
                    inputs.push(v.to_ascii_uppercase());
                }
            }
        }
        let mut disagree = Vec::new();
        let mut checked = 0usize;
        for rule in &db.rules {
            let inputs = &by_field[&rule.field.as_deref()];
            // Its own kind's inputs, sampled so the test stays quick.
            let step = (inputs.len() / 400).max(1);
            for input in inputs.iter().step_by(step) {
                checked += 1;
                if !rule.regex.engines_agree(input) {
                    disagree.push(format!("{} on {}", rule.id, crate::escape::escape_bytes(input)));
                }
            }
        }
        assert!(checked > 100_000, "only {checked} inputs checked");
        let small = db.rules.iter().filter(|r| r.regex.has_program()).count();
        eprintln!(
            "{small} of {} rules run on the small matcher; {checked} inputs",
            db.rules.len()
        );
        assert!(
            small * 10 > db.rules.len() * 9,
            "only {small} of {} rules have a program",
            db.rules.len()
        );
        assert!(
            disagree.is_empty(),
            "{} disagreements:\n{}",
            disagree.len(),
            disagree.join("\n")
        );
    }
}
