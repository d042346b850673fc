//! nmap XML (`-oX`): valid against nmap's DTD, so ndiff, python-libnmap and importers read it.
//! Our fields map to nmap's (`service@product/version/extrainfo/ostype/devicetype/method/conf/
//! tunnel`, `cpe`, `state@reason`); what nmap has no place for (TLS facts, findings, the
//! banner) goes in `<script>` elements, as NSE output does.

use std::io::{self, Write};
use std::sync::Arc;
use std::time::SystemTime;

use super::run::{ctime, epoch, RunInfo};
use super::table::tls_lines;
use super::{HostReport, ScanSummary, Sink};
use crate::audit::Finding;
use crate::escape::escape_bytes;
use crate::fingerprint::Confidence;
use crate::net::connect::PortState;
use crate::pipeline::PortResult;

pub struct XmlSink<W: Write> {
    out: W,
    run: Arc<RunInfo>,
    started: bool,
}

impl<W: Write> XmlSink<W> {
    pub fn new(out: W, run: Arc<RunInfo>) -> Self {
        XmlSink {
            out,
            run,
            started: false,
        }
    }

    fn start(&mut self) -> io::Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        let run = &self.run;
        let start = epoch(run.started);
        writeln!(self.out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(self.out, "<!DOCTYPE nmaprun>")?;
        // nmap's DTD requires scanner="nmap"; profile_name and the comment say who wrote it.
        writeln!(
            self.out,
            "<!-- portprobe {} scan initiated {} as: {} -->",
            env!("CARGO_PKG_VERSION"),
            ctime(run.started),
            comment(&run.args)
        )?;
        writeln!(
            self.out,
            r#"<nmaprun scanner="nmap" profile_name="portprobe" args="{}" start="{start}" startstr="{}" version="{}" xmloutputversion="1.05">"#,
            attr(&run.args),
            ctime(run.started),
            env!("CARGO_PKG_VERSION")
        )?;
        writeln!(
            self.out,
            r#"<scaninfo type="connect" protocol="tcp" numservices="{}" services="{}"/>"#,
            run.port_count,
            attr(&run.ports)
        )?;
        writeln!(self.out, r#"<verbose level="{}"/>"#, run.verbose)?;
        writeln!(self.out, r#"<debugging level="0"/>"#)
    }
}

/// Text for an XML attribute: markup escaped, and bytes XML cannot carry (control characters)
/// written as `\xNN`.
pub fn attr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#xa;"),
            '\t' => out.push_str("&#x9;"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Text inside a comment: no `--`.
fn comment(text: &str) -> String {
    attr(text).replace("--", "- -")
}

/// nmap's `conf` (0-10) and `method` for how sure we are.
fn conf(c: Confidence) -> (&'static str, u8) {
    match c {
        Confidence::Hard => ("probed", 10),
        Confidence::Generic => ("probed", 8),
        Confidence::Soft => ("probed", 7),
        Confidence::PortTable => ("table", 3),
    }
}

/// A CPE 2.3 name as the CPE 2.2 URI nmap writes: `cpe:2.3:a:openbsd:openssh:9.2p1:*:…` →
/// `cpe:/a:openbsd:openssh:9.2p1`. Other text is kept as it is.
pub fn cpe_uri(cpe: &str) -> String {
    let Some(rest) = cpe.strip_prefix("cpe:2.3:") else {
        return cpe.to_string();
    };
    let mut parts: Vec<&str> = rest.split(':').take(6).collect();
    while parts
        .last()
        .is_some_and(|p| *p == "*" || *p == "-" || p.is_empty())
    {
        parts.pop();
    }
    let parts: Vec<&str> = parts.into_iter().map(|p| if p == "*" { "" } else { p }).collect();
    format!("cpe:/{}", parts.join(":"))
}

fn script(out: &mut impl Write, id: &str, output: &str, elems: &[(&str, String)]) -> io::Result<()> {
    if elems.is_empty() {
        return writeln!(out, r#"<script id="{id}" output="{}"/>"#, attr(output));
    }
    writeln!(out, r#"<script id="{id}" output="{}">"#, attr(output))?;
    for (key, value) in elems {
        writeln!(out, r#"<elem key="{key}">{}</elem>"#, attr(value))?;
    }
    writeln!(out, "</script>")
}

fn findings_script(out: &mut impl Write, findings: &[Finding]) -> io::Result<()> {
    let text: Vec<String> = findings
        .iter()
        .flat_map(super::audit::finding_lines)
        .map(|l| format!("  {}", l.trim_end()))
        .collect();
    writeln!(
        out,
        r#"<script id="portprobe-audit" output="&#xa;{}">"#,
        attr(&text.join("\n"))
    )?;
    for f in findings {
        writeln!(out, "<table>")?;
        for (key, value) in [
            ("id", Some(f.id.as_str())),
            ("severity", Some(f.severity.as_str())),
            ("what", Some(f.what.as_str())),
            ("probe", f.location.probe.as_deref()),
            ("field", Some(f.location.field.as_str())),
            ("evidence", Some(f.evidence.as_str())),
            ("fix", f.fix.as_deref()),
        ] {
            if let Some(v) = value {
                writeln!(out, r#"<elem key="{key}">{}</elem>"#, attr(v))?;
            }
        }
        writeln!(out, "</table>")?;
    }
    writeln!(out, "</script>")
}

fn port(out: &mut impl Write, row: &PortResult) -> io::Result<()> {
    let Ok(p) = &row.outcome else { return Ok(()) };
    writeln!(out, r#"<port protocol="tcp" portid="{}">"#, row.port)?;
    writeln!(
        out,
        r#"<state state="{}" reason="{}" reason_ttl="0"/>"#,
        p.state,
        p.reason.as_str()
    )?;
    match &row.service {
        Some(d) => {
            let id = &d.identity;
            let (method, conf) = conf(d.confidence);
            let mut a = format!(r#"<service name="{}""#, attr(&id.service));
            if let Some(product) = &id.product {
                a.push_str(&format!(r#" product="{}""#, attr(product)));
            }
            let version: Vec<&str> = id
                .version
                .iter()
                .chain(&id.revision)
                .map(String::as_str)
                .collect();
            if !version.is_empty() {
                a.push_str(&format!(r#" version="{}""#, attr(&version.join(" "))));
            }
            for (name, value) in [
                ("extrainfo", &id.info),
                ("hostname", &id.hostname),
                ("ostype", &id.os),
                ("devicetype", &id.device),
            ] {
                if let Some(v) = value {
                    a.push_str(&format!(r#" {name}="{}""#, attr(v)));
                }
            }
            if d.tunnel.is_some() {
                a.push_str(r#" tunnel="ssl""#);
            }
            a.push_str(&format!(r#" method="{method}" conf="{conf}""#));
            if id.cpe.is_empty() {
                writeln!(out, "{a}/>")?;
            } else {
                writeln!(out, "{a}>")?;
                for cpe in &id.cpe {
                    writeln!(out, "<cpe>{}</cpe>", attr(&cpe_uri(cpe)))?;
                }
                writeln!(out, "</service>")?;
            }
            if let Some(tls) = &d.tls {
                let lines = tls_lines(tls);
                let mut elems = Vec::new();
                if let Some(f) = &tls.facts {
                    elems.push(("version", f.version.clone()));
                    elems.push(("cipher", f.cipher.clone()));
                    if let Some(leaf) = f.chain.first() {
                        elems.push(("subject", leaf.subject.clone()));
                        elems.push(("issuer", leaf.issuer.clone()));
                        elems.push(("notAfter", leaf.not_after.clone()));
                        elems.push(("sha256", leaf.sha256.clone()));
                    }
                    elems.push(("verify", f.verification.status.to_string()));
                }
                script(
                    out,
                    "portprobe-tls",
                    &format!("\n  {}", lines.join("\n  ")),
                    &elems,
                )?;
            }
            if let Some(banner) = &d.banner {
                script(out, "banner", &escape_bytes(banner), &[])?;
            }
        }
        None => {
            let name = row.port_name.unwrap_or("unknown");
            writeln!(out, r#"<service name="{}" method="table" conf="3"/>"#, attr(name))?;
        }
    }
    if let Some(findings) = row.findings.as_deref().filter(|f| !f.is_empty()) {
        findings_script(out, findings)?;
    }
    writeln!(out, "</port>")
}

impl<W: Write + Send> Sink for XmlSink<W> {
    fn host_done(&mut self, host: &HostReport, interrupted: bool) -> io::Result<()> {
        self.start()?;
        let h = &host.host;
        let now = epoch(SystemTime::now());
        let started = epoch(self.run.started);
        let out = &mut self.out;
        let timed_out = if interrupted { r#" timedout="true""# } else { "" };
        writeln!(out, r#"<host starttime="{started}" endtime="{now}"{timed_out}>"#)?;
        // No host discovery (nmap's -Pn): every host scanned is up by the user's word.
        writeln!(out, r#"<status state="up" reason="user-set" reason_ttl="0"/>"#)?;
        let family = if h.ip.is_ipv4() { "ipv4" } else { "ipv6" };
        writeln!(out, r#"<address addr="{}" addrtype="{family}"/>"#, h.ip)?;
        match &h.name {
            Some(name) => writeln!(
                out,
                r#"<hostnames><hostname name="{}" type="user"/></hostnames>"#,
                attr(name)
            )?,
            None => writeln!(out, "<hostnames/>")?,
        }
        writeln!(out, "<ports>")?;
        // States counted but not listed (many closed ports, or all but open with --open).
        for state in [PortState::Closed, PortState::Filtered, PortState::Open] {
            let count = host.count(state);
            let listed = host.rows.iter().filter(|r| r.state() == Some(state)).count();
            if count == 0 || listed == count {
                continue;
            }
            writeln!(out, r#"<extraports state="{state}" count="{}">"#, count - listed)?;
            for ((s, reason), n) in &host.by_reason {
                if *s == state {
                    // The reasons of the unlisted ports: all of them when none is listed.
                    let shown = host
                        .rows
                        .iter()
                        .filter(|r| {
                            r.outcome
                                .as_ref()
                                .is_ok_and(|p| p.state == state && p.reason == *reason)
                        })
                        .count();
                    if n > &shown {
                        writeln!(
                            out,
                            r#"<extrareasons reason="{}" count="{}"/>"#,
                            reason.as_str(),
                            n - shown
                        )?;
                    }
                }
            }
            writeln!(out, "</extraports>")?;
        }
        let mut rows: Vec<&PortResult> = host.rows.iter().collect();
        rows.sort_unstable_by_key(|r| r.port);
        for row in rows {
            port(out, row)?;
        }
        writeln!(out, "</ports>")?;
        writeln!(out, "</host>")?;
        out.flush()
    }

    fn finish(&mut self, s: &ScanSummary) -> io::Result<()> {
        self.start()?;
        let now = SystemTime::now();
        let summary = format!(
            "portprobe done at {}; {} IP address{} ({} host{} up) scanned in {:.2} seconds{}",
            ctime(now),
            s.hosts,
            if s.hosts == 1 { "" } else { "es" },
            s.hosts,
            if s.hosts == 1 { "" } else { "s" },
            s.elapsed.as_secs_f64(),
            if s.interrupted { " (interrupted)" } else { "" }
        );
        writeln!(self.out, "<runstats>")?;
        writeln!(
            self.out,
            r#"<finished time="{}" timestr="{}" elapsed="{:.2}" summary="{}" exit="{}"/>"#,
            epoch(now),
            ctime(now),
            s.elapsed.as_secs_f64(),
            attr(&summary),
            if s.interrupted { "error" } else { "success" }
        )?;
        writeln!(
            self.out,
            r#"<hosts up="{}" down="0" total="{}"/>"#,
            s.hosts, s.hosts
        )?;
        writeln!(self.out, "</runstats>")?;
        writeln!(self.out, "</nmaprun>")?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpe_23_becomes_22_uri() {
        assert_eq!(
            cpe_uri("cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*"),
            "cpe:/a:openbsd:openssh:9.2p1"
        );
        assert_eq!(
            cpe_uri("cpe:2.3:a:nginx:nginx:*:*:*:*:*:*:*:*"),
            "cpe:/a:nginx:nginx"
        );
        assert_eq!(cpe_uri("cpe:/o:linux:linux_kernel"), "cpe:/o:linux:linux_kernel");
    }

    #[test]
    fn attributes_carry_no_markup_or_control_bytes() {
        assert_eq!(attr("a<b & \"c\"\n\x1b"), "a&lt;b &amp; &quot;c&quot;&#xa;\\x1b");
    }
}
