//! The human table, like nmap's: `PORT STATE SERVICE REASON`, a summary line per host and the
//! elapsed time. Rows of a state with many ports are counted instead of listed unless `-v`.

use std::io::{self, Write};

use super::audit::finding_lines;
use super::{service_label, HostReport, ScanSummary, Sink};
use crate::detect::{TlsOutcome, TlsVia};
use crate::escape::{escape_bytes, escape_str, TerminalSafe};
use crate::fingerprint::{Confidence, Severity};
use crate::net::connect::PortState;

pub struct TableSink<W: Write> {
    /// Everything is written escaped; only the colour codes go to the inner writer.
    out: TerminalSafe<W>,
    verbose: bool,
    /// Detection is on: show the VERSION column.
    versions: bool,
    /// Some row's product came from generic identification: explain the `*` at the end.
    saw_generic: bool,
    color: bool,
    /// The scan went through this proxy: the legend says what the states mean then.
    proxy: Option<String>,
}

impl<W: Write> TableSink<W> {
    pub fn new(out: W, verbose: bool, versions: bool) -> Self {
        TableSink {
            out: TerminalSafe(out),
            verbose,
            versions,
            saw_generic: false,
            color: false,
            proxy: None,
        }
    }

    /// States seen through a proxy (`scan -x`): the legend says so.
    pub fn with_proxy(mut self, proxy: Option<String>) -> Self {
        self.proxy = proxy;
        self
    }

    /// Colours states and severities with ANSI codes (`--color`).
    pub fn with_color(mut self, color: bool) -> Self {
        self.color = color;
        self
    }
}

/// The ANSI colour of a port state: open green, closed red, filtered yellow, open|filtered
/// (UDP silence) cyan.
pub fn state_color(state: PortState) -> &'static str {
    match state {
        PortState::Open => "\x1b[32m",
        PortState::Closed => "\x1b[31m",
        PortState::Filtered => "\x1b[33m",
        PortState::OpenFiltered => "\x1b[36m",
    }
}

/// The ANSI colour of a finding's level: medium red, low yellow, info cyan.
pub fn severity_color(severity: Severity) -> &'static str {
    match severity {
        Severity::Medium => "\x1b[1;31m",
        Severity::Low => "\x1b[33m",
        Severity::Info => "\x1b[36m",
    }
}

const RESET: &str = "\x1b[0m";

/// Writes `text` (escaped) in `color` when colouring, plain otherwise; the codes bypass the
/// escaping writer, the text never does.
fn painted<W: Write>(out: &mut TerminalSafe<W>, color: Option<&str>, text: &str) -> io::Result<()> {
    match color {
        Some(c) => {
            out.0.write_all(c.as_bytes())?;
            out.write_all(text.as_bytes())?;
            out.0.write_all(RESET.as_bytes())
        }
        None => out.write_all(text.as_bytes()),
    }
}

/// Lines under a row that tell what TLS showed.
pub fn tls_lines(tls: &TlsOutcome) -> Vec<String> {
    let mut lines = Vec::new();
    let label = match tls.via {
        TlsVia::StartTls => "starttls",
        TlsVia::Tunnel => "tls",
    };
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
                let rest: Vec<&str> = v.problems[1..].iter().map(|p| p.as_str()).collect();
                format!(" (also {})", rest.join(", "))
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
pub fn rule_skeleton(port: u16, port_name: Option<&str>, probe: &str, banner: &[u8]) -> String {
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
        service = port_name.unwrap_or("unknown"),
    )
}

impl<W: Write + Send> Sink for TableSink<W> {
    fn host_done(&mut self, host: &HostReport, interrupted: bool) -> io::Result<()> {
        // A host that accepts every port: one line for the look-alikes, rows for the rest.
        let mut rows: Vec<_> = host
            .rows
            .iter()
            .filter(|r| !host.pseudo.as_ref().is_some_and(|p| p.covers(r)))
            .collect();
        let out = &mut self.out;
        writeln!(out, "Scan report for {}", host.host.display())?;
        rows.sort_unstable_by_key(|r| (r.proto, r.port));
        // Wide enough for open|filtered when a UDP port is in that state.
        let state_w = rows
            .iter()
            .filter_map(|r| r.state())
            .map(|s| s.as_str().len())
            .max()
            .unwrap_or(0)
            .max(9);
        if !rows.is_empty() {
            let version = if self.versions { "   VERSION" } else { "" };
            writeln!(
                out,
                "{:<9} {:<state_w$} {:<16} {:<13}{version}",
                "PORT", "STATE", "SERVICE", "REASON"
            )?;
        }
        let mut oses: Vec<String> = Vec::new();
        let mut hostnames: Vec<String> = Vec::new();
        for row in rows {
            let Ok(probed) = &row.outcome else { continue };
            let version = match &row.service {
                Some(d) if d.confidence == Confidence::Generic => {
                    self.saw_generic = true;
                    format!("{} *", d.identity.version_line())
                }
                Some(d) => d.identity.version_line(),
                None => String::new(),
            };
            // The reason column is 16 wide: 13-letter reasons keep three spaces, the proxy's
            // longer ones (proxy-connected) one.
            let rest = format!(" {:<16} {:<15} {version}", service_label(row), probed.reason);
            write!(out, "{:<9} ", format!("{}/{}", row.port, row.proto))?;
            let color = self.color.then(|| state_color(probed.state));
            painted(out, color, &format!("{:<state_w$}", probed.state))?;
            writeln!(out, "{}", rest.trim_end())?;
            for f in row.findings.iter().flatten() {
                for (i, l) in finding_lines(f).into_iter().enumerate() {
                    let color = (self.color && i == 0).then(|| severity_color(f.severity));
                    out.write_all(b"  ! ")?;
                    // The level word first (coloured), then the rest of the line.
                    let (head, tail) = l.split_at(if i == 0 { 6.min(l.len()) } else { 0 });
                    painted(out, color.filter(|_| !head.is_empty()), head)?;
                    writeln!(out, "{tail}")?;
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
                    for l in rule_skeleton(row.port, row.port_name, probe, banner).lines() {
                        writeln!(out, "  | {l}")?;
                    }
                }
            }
        }
        if let Some(p) = &host.pseudo {
            let answer = match &p.answer {
                Some(bytes) => {
                    let shown: String = escape_bytes(bytes).chars().take(80).collect();
                    format!("the same answer \"{shown}\"")
                }
                None => "nothing identifiable".to_string(),
            };
            writeln!(
                out,
                "Pseudo-service: {} of {} open ports accept and give {answer}: this host (or a firewall or \
                 tarpit before it) accepts every port; they are not {} services and are not listed",
                p.alike, p.open, p.alike
            )?;
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
        let hidden: Vec<String> = host
            .hidden
            .iter()
            .map(|state| {
                let reasons: Vec<String> = host
                    .by_reason
                    .iter()
                    .filter(|((s, _), _)| s == state)
                    .map(|((_, r), n)| format!("{n} {r}"))
                    .collect();
                format!("{} {state} ({})", host.count(*state), reasons.join(", "))
            })
            .collect();
        if !hidden.is_empty() {
            writeln!(out, "Not shown: {}", hidden.join("; "))?;
        }
        writeln!(out, "Ports: {}", host.summary_line())?;
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
        if let Some(proxy) = &self.proxy {
            // Through a proxy nothing is seen from here: only what the proxy says of its connect.
            writeln!(
                self.out,
                "States are as seen from {proxy}: open, it connected; closed, the port refused it; \
                 filtered, it could not reach the port or did not answer in time."
            )?;
        } else if s.filtered > 0 {
            writeln!(
                self.out,
                "Filtered ports are stealth: nothing answered (the firewall dropped the SYN) or a \
                 firewall rejected it with ICMP; a closed port answers with a reset."
            )?;
        }
        if s.open_filtered > 0 {
            writeln!(
                self.out,
                "open|filtered (UDP): nothing came back, after the retries, to a probe of the port's \
                 protocol: a service that ignores the probe and a firewall that drops it look the same; \
                 a closed UDP port answers with ICMP port unreachable."
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
