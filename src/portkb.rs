//! The port knowledge base behind `portprobe port`: what a port usually is, what exposing it means and how it is secured (data in `fingerprints/ports/`).

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::OnceLock;

use serde::Deserialize;
use thiserror::Error;
use toml::Spanned;

use crate::escape::escape_str;
use crate::fingerprint::Problem;
use crate::portdb;
pub use crate::ports::Proto;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/port_kb.rs"));
}

/// Largest knowledge base file accepted: the shipped ones are a few hundred KiB.
pub const MAX_FILE_BYTES: usize = 4 << 20;
/// Most entries in one file.
pub const MAX_FILE_ENTRIES: usize = 20_000;
/// Longest text field (summary, exposure, securing) in bytes: a paragraph, not an essay.
pub const MAX_TEXT_BYTES: usize = 1_200;
/// Longest service name or alias.
pub const MAX_NAME_BYTES: usize = 40;
/// Width the text output wraps at.
const WIDTH: usize = 96;

/// What the knowledge base says about one port number (on one or both protocols).
#[derive(Debug, Clone)]
pub struct PortEntry {
    pub port: u16,
    pub protocols: Vec<Proto>,
    /// The service name (IANA's where it has one; for TCP the same as `port-names.txt`).
    pub name: String,
    /// Other names the service goes by (`portprobe port sunrpc` finds rpcbind).
    pub aliases: Vec<String>,
    /// What the service does.
    pub summary: String,
    /// Other software commonly found on the port.
    pub also: Vec<String>,
    /// What exposing it means (rich entries only).
    pub exposure: Option<String>,
    /// How it is usually secured or closed (rich entries only).
    pub securing: Option<String>,
    /// RFCs and specifications.
    pub refs: Vec<String>,
    pub file: String,
    pub line: usize,
}

impl PortEntry {
    /// A rich entry says what exposure means and how to secure the service.
    pub fn is_rich(&self) -> bool {
        self.exposure.is_some() && self.securing.is_some()
    }

    pub fn has(&self, proto: Proto) -> bool {
        self.protocols.contains(&proto)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    port: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    port: Spanned<i64>,
    proto: Vec<String>,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    summary: String,
    #[serde(default)]
    also: Vec<String>,
    exposure: Option<String>,
    securing: Option<String>,
    #[serde(default)]
    refs: Vec<String>,
}

/// The loaded knowledge base: entries in file order, indexed by (port, protocol).
#[derive(Debug, Default)]
pub struct KnowledgeBase {
    entries: Vec<PortEntry>,
    index: HashMap<(u16, Proto), usize>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Plain text: printable ASCII, no leading, trailing or doubled spaces.
fn plain_problem(what: &str, text: &str, cap: usize) -> Option<String> {
    if text.trim().is_empty() {
        return Some(format!("{what} is empty"));
    }
    if text.len() > cap {
        return Some(format!("{what} is {} bytes long: at most {cap}", text.len()));
    }
    if let Some(b) = text.bytes().find(|b| !(0x20..=0x7e).contains(b)) {
        return Some(format!(
            "{what} holds the byte 0x{b:02x}: only printable ASCII is allowed"
        ));
    }
    if text.trim() != text || text.contains("  ") {
        return Some(format!("{what} has stray spaces"));
    }
    None
}

fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.' || b == b'_')
}

fn entry(file: &str, text: &str, raw: RawEntry, problems: &mut Vec<Problem>) -> Option<PortEntry> {
    let line = line_of(text, raw.port.span().start);
    let mut bad = |message: String| {
        problems.push(Problem {
            file: file.to_string(),
            line,
            message,
        })
    };
    let number = *raw.port.get_ref();
    let Some(port) = u16::try_from(number).ok().filter(|&p| p != 0) else {
        bad(format!("port {number}: out of range (1-65535)"));
        return None;
    };
    let before = problems.len();
    let mut bad = |message: String| {
        problems.push(Problem {
            file: file.to_string(),
            line,
            message: format!("port {port}: {message}"),
        })
    };
    let mut protocols = Vec::new();
    for p in &raw.proto {
        match p.as_str() {
            "tcp" if !protocols.contains(&Proto::Tcp) => protocols.push(Proto::Tcp),
            "udp" if !protocols.contains(&Proto::Udp) => protocols.push(Proto::Udp),
            "tcp" | "udp" => bad(format!("protocol '{p}' given twice")),
            other => bad(format!("unknown protocol '{}' (tcp or udp)", escape_str(other))),
        }
    }
    if raw.proto.is_empty() {
        bad("no protocol: give proto = [\"tcp\"], [\"udp\"] or both".into());
    }
    for n in std::iter::once(&raw.name).chain(&raw.aliases) {
        if !name_ok(n) {
            bad(format!(
                "name '{}': one lower-case word of letters, digits, '-', '.', '_' (at most {MAX_NAME_BYTES} bytes)",
                escape_str(n)
            ));
        }
    }
    if raw.aliases.contains(&raw.name) {
        bad(format!("alias '{}' repeats the name", raw.name));
    }
    let texts = [
        ("summary", Some(&raw.summary)),
        ("exposure", raw.exposure.as_ref()),
        ("securing", raw.securing.as_ref()),
    ];
    for (what, text) in texts {
        if let Some(msg) = text.and_then(|t| plain_problem(what, t, MAX_TEXT_BYTES)) {
            bad(msg);
        }
    }
    for (what, list) in [("also", &raw.also), ("refs", &raw.refs)] {
        for item in list {
            if let Some(msg) = plain_problem(what, item, 200) {
                bad(msg);
            }
        }
    }
    if raw.exposure.is_some() != raw.securing.is_some() {
        bad("exposure and securing go together: give both or neither".into());
    }
    if problems.len() != before {
        return None;
    }
    Some(PortEntry {
        port,
        protocols,
        name: raw.name,
        aliases: raw.aliases,
        summary: raw.summary,
        also: raw.also,
        exposure: raw.exposure,
        securing: raw.securing,
        refs: raw.refs,
        file: file.to_string(),
        line,
    })
}

impl KnowledgeBase {
    /// Loads files given as (name, text), appending problems (file:line) for what is unsound.
    pub fn from_sources(sources: &[(String, String)], problems: &mut Vec<Problem>) -> KnowledgeBase {
        let mut kb = KnowledgeBase::default();
        for (file, text) in sources {
            if text.len() > MAX_FILE_BYTES {
                problems.push(Problem {
                    file: file.clone(),
                    line: 0,
                    message: format!("file larger than {} MiB: refused", MAX_FILE_BYTES >> 20),
                });
                continue;
            }
            let raw: RawFile = match toml::from_str(text) {
                Ok(raw) => raw,
                Err(e) => {
                    problems.push(Problem {
                        file: file.clone(),
                        line: e.span().map_or(1, |s| line_of(text, s.start)),
                        message: format!("TOML: {}", e.message()),
                    });
                    continue;
                }
            };
            if raw.port.len() > MAX_FILE_ENTRIES {
                problems.push(Problem {
                    file: file.clone(),
                    line: 0,
                    message: format!(
                        "{} entries in one file: at most {MAX_FILE_ENTRIES} are allowed",
                        raw.port.len()
                    ),
                });
                continue;
            }
            for raw in raw.port {
                let Some(e) = entry(file, text, raw, problems) else {
                    continue;
                };
                let at = kb.entries.len();
                let mut fresh = true;
                for &proto in &e.protocols {
                    if let Some(&first) = kb.index.get(&(e.port, proto)) {
                        let f = &kb.entries[first];
                        problems.push(Problem {
                            file: e.file.clone(),
                            line: e.line,
                            message: format!(
                                "{}/{proto} is described twice (first at {}:{})",
                                e.port, f.file, f.line
                            ),
                        });
                        fresh = false;
                    }
                }
                if fresh {
                    for &proto in &e.protocols {
                        kb.index.insert((e.port, proto), at);
                    }
                    kb.entries.push(e);
                }
            }
        }
        kb
    }

    /// The shipped knowledge base, as embedded in the binary.
    pub fn shipped_sources() -> Vec<(String, String)> {
        embedded::PORT_KB
            .iter()
            .map(|(name, text)| (format!("fingerprints/{name}"), text.to_string()))
            .collect()
    }

    /// Every entry, in file order.
    pub fn entries(&self) -> &[PortEntry] {
        &self.entries
    }

    /// The entry for a port on a protocol.
    pub fn get(&self, port: u16, proto: Proto) -> Option<&PortEntry> {
        self.index.get(&(port, proto)).map(|&i| &self.entries[i])
    }

    /// Entries whose name or alias is `name` (case-insensitive), in port order.
    pub fn by_name(&self, name: &str) -> Vec<&PortEntry> {
        let name = name.to_ascii_lowercase();
        let mut found: Vec<&PortEntry> = self
            .entries
            .iter()
            .filter(|e| e.name == name || e.aliases.contains(&name))
            .collect();
        found.sort_by_key(|e| e.port);
        found
    }

    /// The coverage checks on top of the per-entry ones: every ranked port has an entry, and a
    /// TCP entry's name is the one `port-names.txt` gives (scan and `port` must agree).
    pub fn coverage_problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let at = |what: &str, message: String| Problem {
            file: format!("fingerprints/{what}"),
            line: 0,
            message,
        };
        for (list, proto, file) in [
            (portdb::top_ports(), Proto::Tcp, "top-ports.txt"),
            (portdb::top_udp_ports(), Proto::Udp, "top-ports-udp.txt"),
        ] {
            for &port in list {
                if self.get(port, proto).is_none() {
                    problems.push(at(
                        file,
                        format!("ranked port {port}/{proto} has no entry in ports/"),
                    ));
                }
            }
        }
        for &port in portdb::top_ports() {
            if portdb::service_name(port).is_none() {
                problems.push(at(
                    "port-names.txt",
                    format!("ranked port {port}/tcp has no name"),
                ));
            }
        }
        for e in self.entries.iter().filter(|e| e.has(Proto::Tcp)) {
            if let Some(table) = portdb::service_name(e.port) {
                if table != e.name {
                    problems.push(Problem {
                        file: e.file.clone(),
                        line: e.line,
                        message: format!(
                            "port {}: named '{}' here but '{table}' in port-names.txt",
                            e.port, e.name
                        ),
                    });
                }
            }
        }
        problems
    }
}

/// The shipped knowledge base (checked by the unit tests and `fingerprints check`).
pub fn shipped() -> &'static KnowledgeBase {
    static KB: OnceLock<KnowledgeBase> = OnceLock::new();
    KB.get_or_init(|| KnowledgeBase::from_sources(&KnowledgeBase::shipped_sources(), &mut Vec::new()))
}

/// The shipped entry for a port on a protocol: what `scan -v` and reports link an open or
/// closed port to.
pub fn lookup(port: u16, proto: Proto) -> Option<&'static PortEntry> {
    shipped().get(port, proto)
}

/// The UDP ports the shipped knowledge base names `name` (or has it as an alias), ascending:
/// `-p U:snmp`.
pub fn udp_ports_named(name: &str) -> Vec<u16> {
    let mut ports: Vec<u16> = shipped()
        .by_name(name)
        .into_iter()
        .filter(|e| e.has(Proto::Udp))
        .map(|e| e.port)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// The service name of a UDP port in the shipped knowledge base.
pub fn udp_service_name(port: u16) -> Option<&'static str> {
    lookup(port, Proto::Udp).map(|e| e.name.as_str())
}

/// Figures `fingerprints check` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KbSummary {
    pub entries: usize,
    pub rich: usize,
    pub tcp_ranked: usize,
    pub udp_ranked: usize,
}

/// Checks the shipped knowledge base: every entry sound, every ranked port covered.
pub fn check() -> Result<KbSummary, Vec<Problem>> {
    let mut problems = Vec::new();
    let kb = KnowledgeBase::from_sources(&KnowledgeBase::shipped_sources(), &mut problems);
    problems.extend(kb.coverage_problems());
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(KbSummary {
        entries: kb.entries.len(),
        rich: kb.entries.iter().filter(|e| e.is_rich()).count(),
        tcp_ranked: portdb::top_ports().len(),
        udp_ranked: portdb::top_udp_ports().len(),
    })
}

/// What the user asked about: a port number or a service name, maybe with `/tcp` or `/udp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    Port(u16, Option<Proto>),
    Name(String, Option<Proto>),
}

/// Why a query cannot be answered at all (exit 2).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum QueryError {
    #[error("port {0}: out of range, give 1-65535")]
    OutOfRange(String),
    #[error("'{given}': unknown protocol '{proto}', give tcp or udp (as in 53/udp)")]
    Protocol { given: String, proto: String },
    #[error("'{0}': not a port number (1-65535) or a service name")]
    Malformed(String),
    #[error(
        "'{0}': no service of that name in the port knowledge base; give a port number or a name such as ssh"
    )]
    UnknownName(String),
    #[error("'{given}' asks for {asked}, but --{flag} was given")]
    Conflict {
        given: String,
        asked: Proto,
        flag: Proto,
    },
}

/// Parses `111`, `ssh`, `53/udp`, `domain/tcp`; `flag` is --tcp/--udp, which `/proto` must not
/// contradict.
pub fn parse_query(text: &str, flag: Option<Proto>) -> Result<Query, QueryError> {
    let (what, proto) = match text.rsplit_once('/') {
        None => (text, None),
        Some((what, p)) => match p.to_ascii_lowercase().as_str() {
            "tcp" => (what, Some(Proto::Tcp)),
            "udp" => (what, Some(Proto::Udp)),
            _ => {
                return Err(QueryError::Protocol {
                    given: escape_str(text),
                    proto: escape_str(p),
                })
            }
        },
    };
    let proto = match (proto, flag) {
        (Some(asked), Some(flag)) if asked != flag => {
            return Err(QueryError::Conflict {
                given: escape_str(text),
                asked,
                flag,
            })
        }
        (p, f) => p.or(f),
    };
    if !what.is_empty() && what.bytes().all(|b| b.is_ascii_digit()) {
        return match what.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(Query::Port(n as u16, proto)),
            _ => Err(QueryError::OutOfRange(escape_str(what))),
        };
    }
    if what.is_empty() || what.len() > MAX_NAME_BYTES || !name_ok(&what.to_ascii_lowercase()) {
        return Err(QueryError::Malformed(escape_str(text)));
    }
    Ok(Query::Name(what.to_ascii_lowercase(), proto))
}

/// The answer to one query: the entries found, or the reason there is none (exit 1).
#[derive(Debug)]
pub enum Answer<'a> {
    Found(Vec<&'a PortEntry>),
    Unknown(String),
}

impl KnowledgeBase {
    /// Answers a parsed query; an unknown service name is an input error.
    pub fn answer(&self, query: &Query) -> Result<Answer<'_>, QueryError> {
        match query {
            Query::Port(port, Some(proto)) => Ok(match self.get(*port, *proto) {
                Some(e) => Answer::Found(vec![e]),
                None => Answer::Unknown(format!("{port}/{proto}: not in the port knowledge base")),
            }),
            Query::Port(port, None) => {
                let mut found: Vec<&PortEntry> = Vec::new();
                for proto in [Proto::Tcp, Proto::Udp] {
                    if let Some(e) = self.get(*port, proto) {
                        if !found.iter().any(|f| std::ptr::eq(*f, e)) {
                            found.push(e);
                        }
                    }
                }
                Ok(if found.is_empty() {
                    Answer::Unknown(format!("port {port}: not in the port knowledge base"))
                } else {
                    Answer::Found(found)
                })
            }
            Query::Name(name, proto) => {
                let all = self.by_name(name);
                if all.is_empty() {
                    return Err(QueryError::UnknownName(escape_str(name)));
                }
                let found: Vec<&PortEntry> = all
                    .into_iter()
                    .filter(|e| proto.is_none_or(|p| e.has(p)))
                    .collect();
                Ok(match (found.is_empty(), proto) {
                    (true, Some(p)) => Answer::Unknown(format!("{name}/{p}: not in the port knowledge base")),
                    _ => Answer::Found(found),
                })
            }
        }
    }
}

fn rank_of(list: &[u16], port: u16) -> Option<usize> {
    list.iter().position(|&p| p == port).map(|i| i + 1)
}

/// Where the port stands in the shipped ranked lists ("3 of 1000 TCP").
pub fn ranks(port: u16) -> Vec<(Proto, usize, usize)> {
    let mut out = Vec::new();
    for (proto, list) in [
        (Proto::Tcp, portdb::top_ports()),
        (Proto::Udp, portdb::top_udp_ports()),
    ] {
        if let Some(r) = rank_of(list, port) {
            out.push((proto, r, list.len()));
        }
    }
    out
}

/// Wraps `text` at word boundaries after a label column.
fn wrapped(out: &mut impl Write, label: &str, text: &str) -> io::Result<()> {
    let indent = 12;
    let mut line = format!("  {label:<width$}", width = indent - 2);
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.len() + 1 + word.len() > WIDTH {
            writeln!(out, "{line}")?;
            line = " ".repeat(indent);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    writeln!(out, "{line}")
}

/// Writes one entry as a readable block. Text comes from our own data, but it is escaped like
/// everything else that may have come from a file.
pub fn write_text(out: &mut impl Write, e: &PortEntry) -> io::Result<()> {
    let protos: Vec<String> = e.protocols.iter().map(|p| format!("{}/{p}", e.port)).collect();
    let mut head = format!("{} {}", protos.join(" "), escape_str(&e.name));
    if !e.aliases.is_empty() {
        head.push_str(&format!(" (also called {})", escape_str(&e.aliases.join(", "))));
    }
    writeln!(out, "{head}")?;
    wrapped(out, "service", &escape_str(&e.summary))?;
    if !e.also.is_empty() {
        wrapped(out, "also seen", &escape_str(&e.also.join(", ")))?;
    }
    if let Some(x) = &e.exposure {
        wrapped(out, "exposure", &escape_str(x))?;
    }
    if let Some(s) = &e.securing {
        wrapped(out, "securing", &escape_str(s))?;
    }
    if !e.refs.is_empty() {
        wrapped(out, "see", &escape_str(&e.refs.join(", ")))?;
    }
    let ranks: Vec<String> = ranks(e.port)
        .iter()
        .map(|(p, r, n)| format!("{r} of {n} {}", p.as_str().to_uppercase()))
        .collect();
    if !ranks.is_empty() {
        wrapped(out, "rank", &ranks.join("; "))?;
    }
    Ok(())
}

/// One entry as a JSON object.
pub fn to_json(e: &PortEntry) -> serde_json::Value {
    let ranks: serde_json::Map<String, serde_json::Value> = ranks(e.port)
        .into_iter()
        .map(|(p, r, _)| (p.as_str().to_string(), serde_json::Value::from(r)))
        .collect();
    serde_json::json!({
        "port": e.port,
        "protocols": e.protocols.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "name": e.name,
        "aliases": e.aliases,
        "summary": e.summary,
        "also": e.also,
        "exposure": e.exposure,
        "securing": e.securing,
        "refs": e.refs,
        "rank": ranks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> (KnowledgeBase, Vec<String>) {
        let mut problems = Vec::new();
        let kb = KnowledgeBase::from_sources(&[("t.toml".into(), text.into())], &mut problems);
        (kb, problems.iter().map(|p| p.to_string()).collect())
    }

    /// The shipped data loads cleanly and covers every ranked port (what `fingerprints check`
    /// reports too).
    #[test]
    fn shipped_knowledge_base_is_sound_and_covers_the_ranked_ports() {
        let summary = match check() {
            Ok(s) => s,
            Err(problems) => {
                let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
                panic!("{}", text.join("\n"));
            }
        };
        assert!(summary.tcp_ranked >= 1000, "{summary:?}");
        assert!(summary.udp_ranked >= 100, "{summary:?}");
        assert!(summary.entries >= 1000, "{summary:?}");
        assert!(summary.rich >= 150, "{summary:?}");
        let rpc = lookup(111, Proto::Udp).unwrap();
        assert_eq!(rpc.name, "rpcbind");
        assert!(rpc.is_rich());
    }

    #[test]
    fn problems_name_the_line() {
        let (_, p) = load(
            "[[port]]\nport = 22\nproto = [\"tcp\"]\nname = \"ssh\"\nsummary = \"Secure Shell.\"\n\n[[port]]\nport = 22\nproto = [\"tcp\"]\nname = \"ssh2\"\nsummary = \"Again.\"\n",
        );
        assert_eq!(p, ["t.toml:8: 22/tcp is described twice (first at t.toml:2)"]);
        let (_, p) = load("[[port]]\nport = 70000\nproto = [\"tcp\"]\nname = \"x\"\nsummary = \"X.\"\n");
        assert_eq!(p, ["t.toml:2: port 70000: out of range (1-65535)"]);
        let (_, p) = load("[[port]]\nport = 7\nproto = [\"sctp\"]\nname = \"Echo\"\nsummary = \"\"\n");
        assert_eq!(
            p,
            [
                "t.toml:2: port 7: unknown protocol 'sctp' (tcp or udp)",
                "t.toml:2: port 7: name 'Echo': one lower-case word of letters, digits, '-', '.', '_' (at most 40 bytes)",
                "t.toml:2: port 7: summary is empty",
            ]
        );
        let (_, p) = load("[[port]]\nport = 7\nproto = [\"tcp\"]\nname = \"echo\"\nsummary = \"Echo\\u001b[31m.\"\nexposure = \"x\"\n");
        assert_eq!(
            p,
            [
                "t.toml:2: port 7: summary holds the byte 0x1b: only printable ASCII is allowed",
                "t.toml:2: port 7: exposure and securing go together: give both or neither",
            ]
        );
        let (_, p) = load("[[port]]\nport = 7\nbogus = 1\n");
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("t.toml:3: TOML: unknown field `bogus`"), "{p:?}");
    }

    #[test]
    fn queries_parse() {
        assert_eq!(parse_query("111", None), Ok(Query::Port(111, None)));
        assert_eq!(parse_query("53/UDP", None), Ok(Query::Port(53, Some(Proto::Udp))));
        assert_eq!(
            parse_query("SSH", Some(Proto::Tcp)),
            Ok(Query::Name("ssh".into(), Some(Proto::Tcp)))
        );
        assert_eq!(parse_query("0", None), Err(QueryError::OutOfRange("0".into())));
        assert_eq!(
            parse_query("70000", None),
            Err(QueryError::OutOfRange("70000".into()))
        );
        assert_eq!(
            parse_query("22/sctp", None),
            Err(QueryError::Protocol {
                given: "22/sctp".into(),
                proto: "sctp".into()
            })
        );
        assert_eq!(parse_query("a b", None), Err(QueryError::Malformed("a b".into())));
        assert!(matches!(
            parse_query("53/tcp", Some(Proto::Udp)),
            Err(QueryError::Conflict { .. })
        ));
    }

    #[test]
    fn text_wraps_under_the_label() {
        let (kb, p) = load(
            "[[port]]\nport = 9\nproto = [\"tcp\", \"udp\"]\nname = \"discard\"\naliases = [\"sink\"]\nsummary = \"Throws away every byte it receives and never answers, a sink for testing (RFC 863); there is nothing to see.\"\n",
        );
        assert!(p.is_empty(), "{p:?}");
        let mut out = Vec::new();
        write_text(&mut out, kb.get(9, Proto::Udp).unwrap()).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "9/tcp 9/udp discard (also called sink)");
        assert_eq!(
            lines[1],
            "  service   Throws away every byte it receives and never answers, a sink for testing (RFC 863);"
        );
        assert_eq!(lines[2], "            there is nothing to see.");
        assert!(lines.iter().all(|l| l.len() <= WIDTH));
    }
}
