//! The human table, like nmap's: `PORT STATE SERVICE REASON`, a summary line per host and the
//! elapsed time. Rows of a state with many ports are counted instead of listed unless `-v`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Write};

use super::audit::finding_lines;
use super::{HostTally, ScanSummary, Sink};
use crate::audit::Finding;
use crate::detect::{Detection, TlsOutcome};
use crate::escape::{escape_bytes, escape_str};
use crate::fingerprint::Confidence;
use crate::net::connect::{PortState, Reason};
use crate::portdb::service_name;
use crate::scan::PortResult;

/// More ports than this in one non-open state are summarised, not listed (nmap does the same).
const LIST_LIMIT: usize = 25;

pub struct TableSink<W: Write> {
    out: W,
    verbose: bool,
    open_only: bool,
    /// Detection is on: show the VERSION column.
    versions: bool,
    /// Some row's product came from generic identification: explain the `*` at the end.
    saw_generic: bool,
    hosts: HashMap<u64, HostRows>,
}

struct Row {
    port: u16,
    state: PortState,
    reason: Reason,
    service: Option<Box<Detection>>,
    findings: Vec<Finding>,
}

#[derive(Default)]
struct HostRows {
    rows: Vec<Row>,
    seen: BTreeMap<PortState, usize>,
    hidden: BTreeSet<PortState>,
}

impl<W: Write> TableSink<W> {
    pub fn new(out: W, verbose: bool, open_only: bool, versions: bool) -> Self {
        TableSink {
            out,
            verbose,
            open_only,
            versions,
            saw_generic: false,
            hosts: HashMap::new(),
        }
    }
}

/// The SERVICE column: the detected name, `name?` when only the port suggests it.
fn service_cell(row: &Row) -> String {
    let Some(d) = &row.service else {
        return service_name(row.port).unwrap_or("unknown").to_string();
    };
    let tunnel = if d.tunnel.is_some() && d.identity.service != "ssl" {
        "ssl/"
    } else {
        ""
    };
    let unsure = if d.confidence == Confidence::PortTable {
        "?"
    } else {
        ""
    };
    format!("{tunnel}{}{unsure}", d.identity.service)
}

/// Lines under a row that tell what TLS showed.
pub fn tls_lines(tls: &TlsOutcome) -> Vec<String> {
    let mut lines = Vec::new();
    let label = if tls.via == "starttls" { "starttls" } else { "tls" };
    match (&tls.facts, tls.offered) {
        (_, Some(false)) => {
            let why = tls
                .error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            lines.push(format!("starttls: not offered{why}"));
            return lines;
        }
        (Some(f), _) => {
            let sni = f.sni.as_deref().map(|s| format!(", sni {s}")).unwrap_or_default();
            lines.push(format!("{label}: {}{sni}", f.summary()));
            if let Some(leaf) = f.chain.first() {
                let san = if leaf.san.is_empty() {
                    String::new()
                } else {
                    format!("; SAN {}", leaf.san.join(", "))
                };
                lines.push(format!("cert: {}; issuer {}{san}", leaf.subject, leaf.issuer));
                let left = if leaf.days_left < 0 {
                    format!("expired {} days ago", -leaf.days_left)
                } else {
                    format!("{} days left", leaf.days_left)
                };
                lines.push(format!(
                    "cert: valid {} to {} ({left}); {}; {}serial {}",
                    leaf.not_before,
                    leaf.not_after,
                    leaf.signature_algorithm,
                    leaf.public_key
                        .as_deref()
                        .map(|k| format!("{k}; "))
                        .unwrap_or_default(),
                    leaf.serial
                ));
                lines.push(format!("cert: sha256 {}", leaf.sha256));
            }
            let v = &f.verification;
            let also = if v.problems.len() > 1 {
                format!(" (also {})", v.problems[1..].join(", "))
            } else {
                String::new()
            };
            lines.push(format!("verify: {} for {}{also}", v.status, v.name));
        }
        (None, _) => {}
    }
    if let Some(e) = &tls.error {
        lines.push(format!("{label} error: {e}"));
    }
    lines
}

/// A rule to start from, for a response no rule knows: paste it into a file in a
/// `--fingerprints` directory and fill in the fields.
pub fn rule_skeleton(port: u16, probe: &str, banner: &[u8]) -> String {
    let first_line: Vec<u8> = banner
        .iter()
        .copied()
        .take_while(|&b| b != b'\n')
        .take(48)
        .collect();
    let mut pattern = String::from("^");
    for &b in &first_line {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b' ' | b'_' | b'-' | b'/' | b':' | b',' | b'=' => {
                pattern.push(b as char)
            }
            0x21..=0x7e => pattern.push_str(&regex::escape(&(b as char).to_string())),
            _ => pattern.push_str(&format!("\\x{b:02x}")),
        }
    }
    let example: Vec<u8> = banner.iter().copied().take(256).collect();
    format!(
        "[[rule]]\nid = \"my-service-{port}\"\nservice = \"{service}\"\nprobes = [\"{probe}\"]\nmatch = \'{pattern}\'\n\
         product = \"\"\n# version = \"$1\"   (capture it in the pattern first)\n\n[[rule.example]]\n\
         response = \'{}\'\nproduct = \"\"\n",
        escape_bytes(&example).replace('\'', "\\x27"),
        service = service_name(port).unwrap_or("unknown"),
    )
}

impl<W: Write + Send> Sink for TableSink<W> {
    fn port(&mut self, result: &PortResult) -> io::Result<()> {
        let Ok(p) = &result.outcome else {
            return Ok(());
        };
        if self.open_only && p.state != PortState::Open {
            return Ok(());
        }
        let host = self.hosts.entry(result.host.id).or_default();
        let seen = host.seen.entry(p.state).or_default();
        *seen += 1;
        let listed = self.verbose || p.state == PortState::Open || *seen <= LIST_LIMIT;
        if listed {
            host.rows.push(Row {
                port: result.port,
                state: p.state,
                reason: p.reason,
                service: result.service.clone(),
                findings: result.findings.clone().unwrap_or_default(),
            });
        } else if host.hidden.insert(p.state) {
            host.rows.retain(|r| r.state != p.state);
        }
        Ok(())
    }

    fn host_done(&mut self, tally: &HostTally, interrupted: bool) -> io::Result<()> {
        let mut rows = self.hosts.remove(&tally.host.id).unwrap_or_default();
        if self.open_only && tally.count(PortState::Open) == 0 {
            return Ok(());
        }
        let out = &mut self.out;
        writeln!(out, "Scan report for {}", tally.host.display())?;
        rows.rows.sort_unstable_by_key(|r| r.port);
        if !rows.rows.is_empty() {
            let version = if self.versions { "   VERSION" } else { "" };
            writeln!(
                out,
                "{:<9} {:<9} {:<16} {:<13}{version}",
                "PORT", "STATE", "SERVICE", "REASON"
            )?;
        }
        let mut oses: Vec<String> = Vec::new();
        let mut hostnames: Vec<String> = Vec::new();
        for row in &rows.rows {
            let version = match &row.service {
                Some(d) if d.confidence == Confidence::Generic => {
                    self.saw_generic = true;
                    format!("{} *", d.identity.version_line())
                }
                Some(d) => d.identity.version_line(),
                None => String::new(),
            };
            let line = format!(
                "{:<9} {:<9} {:<16} {:<13}   {version}",
                format!("{}/tcp", row.port),
                row.state,
                service_cell(row),
                row.reason
            );
            writeln!(out, "{}", line.trim_end())?;
            for f in &row.findings {
                for l in finding_lines(f) {
                    writeln!(out, "  ! {l}")?;
                }
            }
            let Some(d) = &row.service else { continue };
            for (list, value) in [
                (&mut oses, &d.identity.os),
                (&mut hostnames, &d.identity.hostname),
            ] {
                if let Some(v) = value {
                    if !list.contains(v) {
                        list.push(v.clone());
                    }
                }
            }
            if let Some(tls) = &d.tls {
                for l in tls_lines(tls) {
                    writeln!(out, "  | {l}")?;
                }
            }
            let unknown = d.confidence == Confidence::PortTable;
            if let (Some(banner), true) = (&d.banner, unknown || self.verbose) {
                let limit = if self.verbose { 2000 } else { 160 };
                let shown: String = escape_bytes(banner).chars().take(limit).collect();
                writeln!(out, "  | banner: {shown}")?;
                if self.verbose {
                    // What the decoders read in it: the fields rules can match.
                    let (_, fields) = crate::fingerprint::Matcher::fields(banner);
                    for (name, value) in fields.iter().filter(|(n, _)| n != "http.body") {
                        let shown: String = escape_bytes(value).chars().take(200).collect();
                        writeln!(out, "  | {}: {shown}", escape_str(name))?;
                    }
                }
                if unknown && self.verbose {
                    let probe = d.probe.as_deref().unwrap_or("null");
                    for l in rule_skeleton(row.port, probe, banner).lines() {
                        writeln!(out, "  | {l}")?;
                    }
                }
            }
        }
        let mut info = Vec::new();
        if !oses.is_empty() {
            info.push(format!("OS: {}", oses.join(", ")));
        }
        if !hostnames.is_empty() {
            info.push(format!("Host: {}", hostnames.join(", ")));
        }
        if !info.is_empty() {
            writeln!(out, "Service info: {}", info.join("; "))?;
        }
        let hidden: Vec<String> = rows
            .hidden
            .iter()
            .map(|state| {
                let reasons: Vec<String> = tally
                    .by_reason
                    .iter()
                    .filter(|((s, _), _)| s == state)
                    .map(|((_, r), n)| format!("{n} {r}"))
                    .collect();
                format!("{} {state} ({})", tally.count(*state), reasons.join(", "))
            })
            .collect();
        if !hidden.is_empty() {
            writeln!(out, "Not shown: {}", hidden.join("; "))?;
        }
        writeln!(out, "Ports: {}", tally.summary_line())?;
        if interrupted {
            writeln!(out, "(interrupted: the ports not listed here were not finished)")?;
        }
        writeln!(out)?;
        out.flush()
    }

    fn finish(&mut self, s: &ScanSummary) -> io::Result<()> {
        if s.hosts == 0 && !s.interrupted {
            return Ok(()); // nothing was scanned; the caller reports why
        }
        let hosts = if s.hosts == 1 { "host" } else { "hosts" };
        write!(
            self.out,
            "Done: {} {hosts}, {} {} in {:.2} s",
            s.hosts,
            s.ports,
            if s.ports == 1 { "port" } else { "ports" },
            s.elapsed.as_secs_f64()
        )?;
        if s.interrupted {
            write!(self.out, " (interrupted)")?;
        }
        writeln!(self.out)?;
        if s.filtered > 0 {
            writeln!(
                self.out,
                "Filtered ports are stealth: nothing answered (the firewall dropped the SYN) or a \
                 firewall rejected it with ICMP; a closed port answers with a reset."
            )?;
        }
        if self.saw_generic {
            writeln!(
                self.out,
                "* generic: the product and version are read from the protocol's own grammar (a Server \
                 header, the SSH software version, a greeting); no rule vouches for them."
            )?;
        }
        self.out.flush()
    }
}
