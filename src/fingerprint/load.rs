//! Reads fingerprint files (TOML) into checked, compiled entries; every problem is reported with
//! its file and line, never as a panic.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;
use toml::Spanned;

use super::template::Template;
use super::{DisclosureRule, DisclosureSource, Example, Fix, OsExample, OsRule, Probe, Rule, Severity};
use crate::escape::unescape;

/// Compiled size limit of one rule's regex: generous for real rules, fatal for exploding ones.
pub const REGEX_SIZE_LIMIT: usize = 2 << 20;
/// Largest fingerprint file accepted.
pub const MAX_FILE_BYTES: u64 = 4 << 20;
/// Most entries (probes, rules, OS rules, disclosures, fixes) in one file, and in the whole
/// database: matching and `fingerprints check` cost grows with the count, not the bytes.
pub const MAX_FILE_ENTRIES: usize = 2_000;
pub const MAX_DATABASE_ENTRIES: usize = 5_000;
/// Largest probe payload once `{host}` is filled in with the longest name (253 bytes).
pub const MAX_PROBE_BYTES: usize = 64 << 10;
/// Longest text `{host}` stands for: a DNS name (a bracketed IPv6 address is shorter).
pub const MAX_HOST_BYTES: usize = 253;

/// One problem in a fingerprint file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    probe: Vec<RawProbe>,
    #[serde(default)]
    rule: Vec<RawRule>,
    #[serde(default)]
    os: Vec<RawOsRule>,
    #[serde(default)]
    disclosure: Vec<RawDisclosure>,
    #[serde(default)]
    fix: Vec<RawFix>,
    generic: Option<RawGeneric>,
}

/// `[generic]`: word lists of generic identification (see fingerprints/generic.toml).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGeneric {
    #[serde(default)]
    http_skip: Vec<String>,
    #[serde(default)]
    not_product: Vec<String>,
    #[serde(default)]
    greeting_stop: Vec<String>,
    #[serde(default)]
    greeting_generic: Vec<String>,
    #[serde(default)]
    version_suffix: Vec<String>,
    #[serde(default)]
    service_words: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDisclosure {
    id: Spanned<String>,
    topic: String,
    severity: String,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    probes: Vec<String>,
    source: Option<String>,
    #[serde(rename = "match")]
    pattern: Spanned<String>,
    what: String,
    field: Option<String>,
    label: String,
    #[serde(default)]
    counter: Vec<Spanned<String>>,
    #[serde(default)]
    example: Vec<RawDisclosureExample>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDisclosureExample {
    response: Spanned<String>,
    evidence: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFix {
    topic: Spanned<String>,
    product: Option<String>,
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProbe {
    name: Spanned<String>,
    send: Spanned<String>,
    #[serde(default)]
    ports: Vec<u16>,
    #[serde(default)]
    tls_ports: Vec<u16>,
    #[serde(default = "default_wait")]
    wait_ms: u64,
    #[serde(default)]
    after_silence: bool,
    #[serde(default)]
    then: Vec<Spanned<String>>,
    #[serde(default)]
    /// For people reading the probe file: what the probe asks and why (required, not used).
    #[serde(rename = "description")]
    _description: String,
}

/// Most follow-up payloads of a dialogue.
pub const MAX_THEN: usize = 4;

fn default_wait() -> u64 {
    1500
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    service: String,
    #[serde(default)]
    probes: Vec<String>,
    field: Option<String>,
    #[serde(rename = "match")]
    pattern: Spanned<String>,
    #[serde(default)]
    soft: bool,
    vendor: Option<String>,
    product: Option<String>,
    version: Option<String>,
    revision: Option<String>,
    info: Option<String>,
    hostname: Option<String>,
    os: Option<String>,
    device: Option<String>,
    cpe: Option<Vec<String>>,
    #[serde(default)]
    example: Vec<RawExample>,
    #[serde(default)]
    counter: Vec<Spanned<String>>,
}

/// Identity fields, as templates in rules and as expected values in examples.
#[derive(Default, Clone, Debug)]
pub struct RawFields {
    pub vendor: Option<String>,
    pub product: Option<String>,
    pub version: Option<String>,
    pub revision: Option<String>,
    pub info: Option<String>,
    pub hostname: Option<String>,
    pub os: Option<String>,
    pub device: Option<String>,
    pub cpe: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExample {
    response: Spanned<String>,
    probe: Option<String>,
    source: Option<String>,
    service: Option<String>,
    vendor: Option<String>,
    product: Option<String>,
    version: Option<String>,
    revision: Option<String>,
    info: Option<String>,
    hostname: Option<String>,
    os: Option<String>,
    device: Option<String>,
    cpe: Option<Vec<String>>,
}

/// Fields given in a rule or example, gathered (serde's flatten cannot deny unknown keys).
macro_rules! fields_of {
    ($raw:expr) => {
        RawFields {
            vendor: $raw.vendor.clone(),
            product: $raw.product.clone(),
            version: $raw.version.clone(),
            revision: $raw.revision.clone(),
            info: $raw.info.clone(),
            hostname: $raw.hostname.clone(),
            os: $raw.os.clone(),
            device: $raw.device.clone(),
            cpe: $raw.cpe.clone(),
        }
    };
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOsRule {
    id: Spanned<String>,
    product: Option<String>,
    version: Option<String>,
    field: String,
    #[serde(rename = "match")]
    pattern: Spanned<String>,
    os: String,
    cpe: Option<String>,
    #[serde(default)]
    example: Vec<RawOsExample>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOsExample {
    product: Option<String>,
    version: Option<String>,
    revision: Option<String>,
    info: Option<String>,
    expect: Spanned<String>,
}

/// What one file contributed.
#[derive(Default)]
pub struct Loaded {
    pub probes: Vec<Probe>,
    pub rules: Vec<Rule>,
    pub os_rules: Vec<OsRule>,
    pub disclosures: Vec<DisclosureRule>,
    pub fixes: Vec<Fix>,
    pub generic: Option<super::GenericWords>,
}

/// Line number (1-based) of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Parses a rule pattern as `compile_pattern` would read it; returns its number of capture
/// groups and what the matcher needs from its syntax (literals, anchored prefix), so the
/// pattern is parsed once. Cheaper than compiling: the database checks every rule this way
/// when it loads.
pub fn parse_pattern(pattern: &str) -> Result<(usize, super::prefilter::Analysis), String> {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .map(|hir| {
            (
                hir.properties().explicit_captures_len(),
                super::prefilter::analyze_hir(&hir),
            )
        })
        .map_err(|e| format!("invalid regex: {}", e.to_string().replace('\n', " ")))
}

/// Compiles a rule pattern: bytes, no Unicode (banners are bytes), bounded size.
pub fn compile_pattern(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            let text = e.to_string();
            if text.contains("exceeds size limit") {
                format!(
                    "regex too large once compiled (limit {} KiB): simplify it",
                    REGEX_SIZE_LIMIT >> 10
                )
            } else {
                format!("invalid regex: {}", text.replace('\n', " "))
            }
        })
}

struct Ctx<'a> {
    file: &'a str,
    /// Offsets of the file's line ends, so a line number is a binary search, not a count from
    /// the start of the file for every entry (files hold hundreds of rules).
    newlines: Vec<usize>,
    problems: &'a mut Vec<Problem>,
}

impl Ctx<'_> {
    /// Line number (1-based) of a byte offset.
    fn line(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&nl| nl < offset) + 1
    }

    /// Unescapes counter-examples (bytes and line); a malformed one is a problem, not a panic.
    fn counters(&mut self, raw: Vec<Spanned<String>>) -> Vec<(Vec<u8>, usize)> {
        let mut out = Vec::new();
        for c in raw {
            match unescape(c.get_ref()) {
                Some(bytes) => out.push((bytes, self.line(c.span().start))),
                None => self.problem(c.span().start, "counter-example: malformed escape"),
            }
        }
        out
    }

    fn problem(&mut self, offset: usize, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.to_string(),
            line: self.line(offset),
            message: message.into(),
        });
    }
}

/// Parses one file. Problems are appended; what is sound is returned.
pub fn load_file(file: &str, text: &str, problems: &mut Vec<Problem>) -> Loaded {
    let raw: RawFile = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            problems.push(Problem {
                file: file.to_string(),
                line,
                message: format!("TOML: {}", e.message()),
            });
            return Loaded::default();
        }
    };
    let newlines = text
        .bytes()
        .enumerate()
        .filter(|&(_, b)| b == b'\n')
        .map(|(i, _)| i)
        .collect();
    let mut cx = Ctx {
        file,
        newlines,
        problems,
    };
    // Each entry is checked on its own: a bad one is reported and skipped, the rest load.
    let mut loaded = Loaded {
        probes: raw.probe.into_iter().filter_map(|p| probe(&mut cx, p)).collect(),
        rules: raw.rule.into_iter().filter_map(|r| rule(&mut cx, r)).collect(),
        os_rules: raw.os.into_iter().filter_map(|o| os_rule(&mut cx, o)).collect(),
        disclosures: raw
            .disclosure
            .into_iter()
            .filter_map(|d| disclosure(&mut cx, d))
            .collect(),
        fixes: Vec::new(),
        generic: raw.generic.map(|g| super::GenericWords {
            http_skip: g.http_skip,
            not_product: g.not_product,
            greeting_stop: g.greeting_stop,
            greeting_generic: g.greeting_generic,
            version_suffix: g.version_suffix,
            service_words: g.service_words,
        }),
    };
    for f in raw.fix {
        let product = match f.product.as_deref().map(compile_pattern).transpose() {
            Ok(p) => p,
            Err(e) => {
                cx.problem(
                    f.topic.span().start,
                    format!("fix for '{}': product {e}", f.topic.get_ref()),
                );
                continue;
            }
        };
        loaded.fixes.push(Fix {
            topic: f.topic.into_inner(),
            product,
            text: f.text,
        });
    }
    loaded
}

fn disclosure(cx: &mut Ctx, d: RawDisclosure) -> Option<DisclosureRule> {
    let at = d.pattern.span().start;
    let id = d.id.get_ref().clone();
    let severity = match d.severity.parse::<Severity>() {
        Ok(s) => s,
        Err(e) => {
            cx.problem(at, format!("disclosure '{id}': {e}"));
            return None;
        }
    };
    let source = match d.source.as_deref() {
        None | Some("response") => DisclosureSource::Response,
        Some("tls-subject") => DisclosureSource::TlsSubject,
        Some(other) => {
            cx.problem(
                at,
                format!("disclosure '{id}': source '{other}' is not response or tls-subject"),
            );
            return None;
        }
    };
    let regex = match compile_pattern(d.pattern.get_ref()) {
        Ok(r) => r,
        Err(e) => {
            cx.problem(at, format!("disclosure '{id}': {e}"));
            return None;
        }
    };
    if regex.captures_len() < 2 {
        cx.problem(
            at,
            format!("disclosure '{id}': the pattern needs a group 1 (the evidence)"),
        );
        return None;
    }
    let what = match Template::parse(&d.what) {
        Ok(t) if t.max_group() <= 1 => t,
        Ok(_) => {
            cx.problem(at, format!("disclosure '{id}': `what` may only use $1"));
            return None;
        }
        Err(e) => {
            cx.problem(at, format!("disclosure '{id}': what: {e}"));
            return None;
        }
    };
    if d.example.is_empty() {
        cx.problem(
            d.id.span().start,
            format!("disclosure '{id}': needs at least one [[disclosure.example]]"),
        );
        return None;
    }
    if let Some(field) = d.field.as_deref().filter(|f| !super::decode::is_known_field(f)) {
        cx.problem(
            at,
            format!("disclosure '{id}': field '{field}' is not one a decoder produces"),
        );
        return None;
    }
    let mut examples = Vec::new();
    for ex in d.example {
        match (unescape(ex.response.get_ref()), unescape(&ex.evidence)) {
            (Some(response), Some(evidence)) => {
                examples.push((response, evidence, cx.line(ex.response.span().start)))
            }
            _ => cx.problem(ex.response.span().start, "disclosure example: malformed escape"),
        }
    }
    let counters = cx.counters(d.counter);
    Some(DisclosureRule {
        id,
        topic: d.topic,
        severity,
        services: d.services,
        probes: d.probes,
        source,
        regex,
        what,
        field: d.field,
        label: d.label,
        examples,
        counters,
        file: cx.file.to_string(),
        line: cx.line(at),
    })
}

fn probe(cx: &mut Ctx, p: RawProbe) -> Option<Probe> {
    let Some(payload) = unescape(p.send.get_ref()) else {
        cx.problem(
            p.send.span().start,
            "probe 'send': malformed escape (use \\r \\n \\t \\0 \\\\ \\xNN)",
        );
        return None;
    };
    if p.name.get_ref().is_empty() {
        cx.problem(p.name.span().start, "probe name is empty");
        return None;
    }
    let mut then = Vec::new();
    for step in &p.then {
        match unescape(step.get_ref()) {
            Some(b) if !b.is_empty() => then.push(b),
            Some(_) => {
                cx.problem(step.span().start, "probe 'then': a follow-up payload is empty");
                return None;
            }
            None => {
                cx.problem(
                    step.span().start,
                    "probe 'then': malformed escape (use \\r \\n \\t \\0 \\\\ \\xNN)",
                );
                return None;
            }
        }
    }
    if !then.is_empty() && payload.is_empty() {
        cx.problem(
            p.send.span().start,
            "probe 'then': a probe that sends nothing has no dialogue",
        );
        return None;
    }
    if then.len() > MAX_THEN {
        cx.problem(
            p.send.span().start,
            format!("probe 'then': at most {MAX_THEN} follow-up payloads"),
        );
        return None;
    }
    Some(Probe {
        then,
        name: p.name.into_inner(),
        payload,
        ports: p.ports,
        tls_ports: p.tls_ports,
        wait: Duration::from_millis(p.wait_ms.clamp(10, 30_000)),
        after_silence: p.after_silence,
        location: format!("{}:{}", cx.file, cx.line(p.send.span().start)),
    })
}

/// The template with each `${…}` replaced by one character, so its colons do not count.
fn without_braced_groups(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        out.push('X');
        rest = rest[start..].find('}').map_or("", |end| &rest[start + end + 1..]);
    }
    out.push_str(rest);
    out
}

/// Parses every template of `fields`, checking group numbers against `groups`.
pub(super) fn templates(fields: &RawFields, groups: usize) -> Result<super::Templates, String> {
    let one = |name: &str, t: &Option<String>| -> Result<Option<Template>, String> {
        let Some(text) = t else { return Ok(None) };
        let tpl = Template::parse(text).map_err(|e| format!("{name}: {e}"))?;
        if tpl.max_group() > groups {
            return Err(format!(
                "{name} template '{text}' uses group {} but the pattern has {groups}",
                tpl.max_group()
            ));
        }
        Ok(Some(tpl))
    };
    let mut cpe = Vec::new();
    for c in fields.cpe.iter().flatten() {
        if !c.starts_with("cpe:2.3:") || without_braced_groups(c).split(':').count() != 13 {
            return Err(format!(
                "cpe '{c}' is not a CPE 2.3 string (cpe:2.3:part:vendor:product:version:update:…, 13 fields)"
            ));
        }
        cpe.extend(one("cpe", &Some(c.clone()))?);
    }
    let mut templates = super::Templates {
        cpe,
        ..Default::default()
    };
    for f in super::IdField::ALL {
        *templates.field_mut(f) = one(f.name(), fields.field(f))?;
    }
    Ok(templates)
}

fn rule(cx: &mut Ctx, r: RawRule) -> Option<Rule> {
    let at = r.pattern.span().start;
    // Parsed now (syntax and capture groups checked), compiled when first needed.
    let (groups, analysis) = match parse_pattern(r.pattern.get_ref()) {
        Ok(parsed) => parsed,
        Err(e) => {
            cx.problem(at, format!("rule '{}': {e}", r.id.get_ref()));
            return None;
        }
    };
    // Raw responses and HTTP bodies can be long: a lazy DFA rejects them quickly even when the
    // pattern is anchored (see LazyRegex).
    let long_input = r.field.as_deref().is_none_or(|f| f == "http.body");
    let regex = super::LazyRegex::new(r.pattern.get_ref().clone(), long_input);
    let templates = match templates(&fields_of!(r), groups) {
        Ok(t) => t,
        Err(e) => {
            cx.problem(at, format!("rule '{}': {e}", r.id.get_ref()));
            return None;
        }
    };
    if r.service.is_empty() || r.service.contains(char::is_whitespace) {
        cx.problem(
            r.id.span().start,
            format!("rule '{}': service must be one word", r.id.get_ref()),
        );
        return None;
    }
    if r.example.is_empty() {
        cx.problem(
            r.id.span().start,
            format!("rule '{}': needs at least one [[rule.example]]", r.id.get_ref()),
        );
        return None;
    }
    let mut examples = Vec::new();
    for ex in r.example {
        let expect = fields_of!(ex);
        let line = cx.line(ex.response.span().start);
        match unescape(ex.response.get_ref()) {
            Some(response) => examples.push(Example {
                response,
                probe: ex.probe,
                service: ex.service,
                expect,
                source: ex.source,
                line,
            }),
            None => cx.problem(ex.response.span().start, "example response: malformed escape"),
        }
    }
    if let Some(field) = r.field.as_deref().filter(|f| !super::decode::is_known_field(f)) {
        cx.problem(
            at,
            format!(
                "rule '{}': field '{field}' is not one a decoder produces ({})",
                r.id.get_ref(),
                super::decode::field_hint(field)
            ),
        );
        return None;
    }
    let counters = cx.counters(r.counter);
    // A raw rule reads the grammars its own examples are in (see Rule::reads).
    let mut protocols: Vec<super::Protocol> = examples
        .iter()
        .map(|e| super::decode::decode(&e.response).protocol)
        .collect();
    protocols.sort_by_key(|p| p.as_str());
    protocols.dedup();
    Some(Rule {
        id: r.id.into_inner(),
        service: r.service,
        probes: r.probes,
        field: r.field,
        analysis,
        protocols,
        pattern: r.pattern.into_inner(),
        regex,
        soft: r.soft,
        templates,
        examples,
        counters,
        file: cx.file.to_string(),
        line: cx.line(at),
    })
}

fn os_rule(cx: &mut Ctx, o: RawOsRule) -> Option<OsRule> {
    let at = o.pattern.span().start;
    use super::IdField;
    // The OS is inferred from what the service said of itself, never from another inference.
    let field = match IdField::from_name(&o.field) {
        Some(f @ (IdField::Revision | IdField::Info | IdField::Version | IdField::Product)) => f,
        _ => {
            cx.problem(
                at,
                format!(
                    "os rule '{}': field must be revision, info, version or product",
                    o.id.get_ref()
                ),
            );
            return None;
        }
    };
    let regex = match compile_pattern(o.pattern.get_ref()) {
        Ok(re) => re,
        Err(e) => {
            cx.problem(at, format!("os rule '{}': {e}", o.id.get_ref()));
            return None;
        }
    };
    let version = match o.version.as_deref().map(compile_pattern).transpose() {
        Ok(v) => v,
        Err(e) => {
            cx.problem(at, format!("os rule '{}': version {e}", o.id.get_ref()));
            return None;
        }
    };
    let groups = regex.captures_len() - 1;
    let fields = RawFields {
        os: Some(o.os),
        cpe: o.cpe.map(|c| vec![c]),
        ..Default::default()
    };
    let templates = match templates(&fields, groups) {
        Ok(t) => t,
        Err(e) => {
            cx.problem(at, format!("os rule '{}': {e}", o.id.get_ref()));
            return None;
        }
    };
    let examples = o
        .example
        .into_iter()
        .map(|e| OsExample {
            product: e.product,
            version: e.version,
            revision: e.revision,
            info: e.info,
            line: cx.line(e.expect.span().start),
            expect: e.expect.into_inner(),
        })
        .collect();
    Some(OsRule {
        id: o.id.into_inner(),
        product: o.product,
        version,
        field,
        regex,
        templates,
        examples,
        file: cx.file.to_string(),
        line: cx.line(at),
    })
}

/// Reads every `*.toml` below `dir` (sorted). Only regular files are read (a FIFO or a device
/// behind a name or a symlink is refused, never opened for long), each read is capped, and a
/// directory reached twice through symlinks (a loop) is walked once.
pub fn read_dir_files(dir: &Path, problems: &mut Vec<Problem>) -> Vec<(String, String)> {
    use std::os::unix::fs::MetadataExt;
    let mut paths = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    // Directories by (device, inode): a symlink loop leads back to one already seen.
    let mut seen = HashSet::new();
    if let Ok(m) = std::fs::metadata(dir) {
        seen.insert((m.dev(), m.ino()));
    }
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) => {
                problems.push(Problem {
                    file: d.display().to_string(),
                    line: 0,
                    message: format!("cannot read directory: {e}"),
                });
                continue;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            // Follows symlinks: a link to a directory is walked, once.
            let Ok(meta) = std::fs::metadata(&path) else {
                if path.extension().is_some_and(|e| e == "toml") {
                    paths.push(path); // dangling: reported when read
                }
                continue;
            };
            if meta.is_dir() {
                if seen.insert((meta.dev(), meta.ino())) {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "toml") {
                paths.push(path);
            }
        }
    }
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        match read_regular_capped(&path) {
            Ok(text) => files.push((name, text)),
            Err(message) => problems.push(Problem {
                file: name,
                line: 0,
                message,
            }),
        }
    }
    files
}

/// Reads a regular file of at most [`MAX_FILE_BYTES`] as UTF-8. The file is opened without
/// blocking (a FIFO swapped in after the check cannot hang us) and checked again once open.
fn read_regular_capped(path: &Path) -> Result<String, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let not_regular = || "not a regular file: refused".to_string();
    if !std::fs::metadata(path)
        .map_err(|e| format!("cannot read: {e}"))?
        .is_file()
    {
        return Err(not_regular());
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("cannot read: {e}"))?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(not_regular());
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("file larger than {} MiB: refused", MAX_FILE_BYTES >> 20));
    }
    String::from_utf8(bytes).map_err(|_| "cannot read: stream did not contain valid UTF-8".to_string())
}

/// Only what the bounds need from a file: entry counts and probe payloads (unknown fields are
/// ignored here; `load_file` reports them).
#[derive(Deserialize, Default)]
struct RawSizes {
    #[serde(default)]
    probe: Vec<RawProbeSize>,
    #[serde(default)]
    rule: Vec<serde::de::IgnoredAny>,
    #[serde(default)]
    os: Vec<serde::de::IgnoredAny>,
    #[serde(default)]
    disclosure: Vec<serde::de::IgnoredAny>,
    #[serde(default)]
    fix: Vec<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct RawProbeSize {
    name: String,
    send: Spanned<String>,
}

/// Checks the cost bounds before anything is compiled: entries per file and in all, and each
/// probe's size with `{host}` expanded. Returns false (with problems) when loading must not go on.
pub fn check_bounds(sources: &[(String, String)], problems: &mut Vec<Problem>) -> bool {
    let before = problems.len();
    let mut total = 0usize;
    for (file, text) in sources {
        // A file that does not parse is reported by `load_file`.
        let Ok(raw) = toml::from_str::<RawSizes>(text) else {
            continue;
        };
        let entries = raw.probe.len() + raw.rule.len() + raw.os.len() + raw.disclosure.len() + raw.fix.len();
        total += entries;
        if entries > MAX_FILE_ENTRIES {
            problems.push(Problem {
                file: file.clone(),
                line: 0,
                message: format!("{entries} entries in one file: at most {MAX_FILE_ENTRIES} are allowed"),
            });
        }
        for p in &raw.probe {
            let Some(payload) = unescape(p.send.get_ref()) else {
                continue;
            };
            let hosts = payload.windows(6).filter(|w| w == b"{host}").count();
            let expanded = payload.len() + hosts * (MAX_HOST_BYTES - b"{host}".len());
            if expanded > MAX_PROBE_BYTES {
                problems.push(Problem {
                    file: file.clone(),
                    line: line_of(text, p.send.span().start),
                    message: format!(
                        "probe '{}': up to {expanded} bytes once {{host}} is filled in: at most {} KiB are allowed",
                        p.name,
                        MAX_PROBE_BYTES >> 10
                    ),
                });
            }
        }
    }
    if total > MAX_DATABASE_ENTRIES {
        problems.push(Problem {
            file: sources.first().map_or_else(String::new, |s| s.0.clone()),
            line: 0,
            message: format!(
                "the database would have {total} entries: at most {MAX_DATABASE_ENTRIES} are allowed (shipped and yours together)"
            ),
        });
    }
    problems.len() == before
}
