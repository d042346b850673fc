//! The visual report (`-oH FILE`): one self-contained HTML page, no scripts and no fetches, with
//! per host a state chart and a port table (services, versions, TLS, findings, port notes) and,
//! for several hosts, a summary grid.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::audit::finding_lines;
use super::table::tls_lines;
use super::{service_label, HostReport, ScanSummary, Sink};
use crate::net::connect::PortState;
use crate::portkb::{self, Proto};

/// Escapes text for HTML element content and attribute values; control characters (which a
/// banner may hold) become `\xNN` so nothing invisible reaches the page.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// One host, rendered when it is done (the page is written at the end, summary first).
struct HostSection {
    label: String,
    /// The section's `id`, for the summary grid's links.
    anchor: String,
    counts: [usize; 3],
    html: String,
}

/// Collects the hosts' sections and writes the page at the end of the scan.
pub struct HtmlSink<W: Write + Send> {
    out: W,
    hosts: Vec<HostSection>,
}

/// Opens (creates or truncates) the report file.
pub fn html_file(path: &Path) -> io::Result<HtmlSink<BufWriter<File>>> {
    Ok(HtmlSink::new(BufWriter::new(File::create(path)?)))
}

impl<W: Write + Send> HtmlSink<W> {
    pub fn new(out: W) -> Self {
        HtmlSink {
            out,
            hosts: Vec::new(),
        }
    }
}

const STATES: [PortState; 3] = [PortState::Open, PortState::Closed, PortState::Filtered];

/// The page's look: state colours, tables, bars. No external fonts or images.
const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222;background:#fff}\
h1{font-size:1.4em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:.25em .5em;\
text-align:left;vertical-align:top}th{background:#eee}\
.open{background:#c8f0c8}.closed{background:#f6d0d0}.filtered{background:#e4e4e4}\
td.st{font-weight:bold}pre{margin:0;white-space:pre-wrap;font-size:.85em}\
details summary{cursor:pointer}.note{font-size:.85em;color:#444}\
.finding{color:#7a2e00}.legend span{display:inline-block;padding:0 .5em;margin-right:.5em}\
.grid td.n{text-align:right}";

impl<W: Write + Send> Sink for HtmlSink<W> {
    fn host_done(&mut self, host: &HostReport, interrupted: bool) -> io::Result<()> {
        let counts = STATES.map(|s| host.count(s));
        let label = host.host.display();
        let mut h = String::new();
        let id = format!("host-{}", host.host.id);
        let _ = write!(
            h,
            "<section id=\"{id}\"><h2>{}</h2>\n<p>Ports: {}{}</p>\n",
            escape_html(&label),
            escape_html(&host.summary_line()),
            if interrupted {
                " <strong>(interrupted: incomplete)</strong>"
            } else {
                ""
            }
        );
        h.push_str(&bar_chart(&counts, 360));
        if let Some(p) = &host.pseudo {
            let _ = writeln!(
                h,
                "<p class=\"note\">This host accepts connections on nearly every port ({} open, {} answering alike): \
                 a firewall or tarpit, not that many services.</p>",
                p.open, p.alike
            );
        }
        let mut rows: Vec<_> = host.rows.iter().collect();
        rows.sort_unstable_by_key(|r| r.port);
        if !rows.is_empty() {
            h.push_str(
                "<table class=\"ports\"><tr><th>Port</th><th>State</th><th>Service</th><th>Reason</th>\
                 <th>Version</th><th>Details</th><th>About the port</th></tr>\n",
            );
        }
        for row in rows {
            let Ok(probed) = &row.outcome else { continue };
            let state = probed.state.as_str();
            let version = row
                .service
                .as_ref()
                .map(|d| d.identity.version_line())
                .unwrap_or_default();
            let mut details = String::new();
            if let Some(syn) = row.syn {
                let _ = write!(details, "<div>SYN-ACK ttl {} win {}</div>", syn.ttl, syn.win);
            }
            if let Some(tls) = row.service.as_ref().and_then(|d| d.tls.as_ref()) {
                let _ = write!(
                    details,
                    "<pre class=\"tls\">{}</pre>",
                    escape_html(&tls_lines(tls).join("\n"))
                );
            }
            for f in row.findings.iter().flatten() {
                let fix = f
                    .fix
                    .as_deref()
                    .map(|x| format!("<div><b>Fix:</b> {}</div>", escape_html(x)))
                    .unwrap_or_default();
                let _ = write!(
                    details,
                    "<div class=\"finding\"><pre>{}</pre>{fix}</div>",
                    // The finding and where it is; the fix follows in its own line.
                    escape_html(
                        &finding_lines(f)
                            .into_iter()
                            .take(2)
                            .collect::<Vec<_>>()
                            .join("\n")
                    )
                );
            }
            let _ = writeln!(
                h,
                "<tr class=\"{state}\" id=\"{id}-p{port}\"><td>{port}/tcp</td><td class=\"st\">{state}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{details}</td><td>{}</td></tr>",
                escape_html(&service_label(row)),
                probed.reason,
                escape_html(&version),
                port_note(row.port),
                port = row.port,
            );
        }
        if host.rows.iter().any(|r| r.outcome.is_ok()) {
            h.push_str("</table>\n");
        }
        for s in &host.hidden {
            let _ = writeln!(
                h,
                "<p class=\"note\">{} {s} ports not listed (counted only; -v lists every port).</p>",
                host.count(*s)
            );
        }
        h.push_str("</section>\n");
        self.hosts.push(HostSection {
            label,
            anchor: id,
            counts,
            html: h,
        });
        Ok(())
    }

    fn finish(&mut self, summary: &ScanSummary) -> io::Result<()> {
        let out = &mut self.out;
        writeln!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
             <title>portprobe report</title><style>{STYLE}</style></head><body>"
        )?;
        writeln!(
            out,
            "<h1>portprobe report</h1>\n<p>{} host{}, {} ports probed ({} open, {} filtered) in {:.2} s{}.</p>",
            summary.hosts,
            if summary.hosts == 1 { "" } else { "s" },
            summary.ports,
            summary.open,
            summary.filtered,
            summary.elapsed.as_secs_f64(),
            if summary.interrupted {
                "; <strong>interrupted</strong>"
            } else {
                ""
            }
        )?;
        writeln!(
            out,
            "<p class=\"legend\"><span class=\"open\">open</span><span class=\"closed\">closed</span>\
             <span class=\"filtered\">filtered (stealth)</span></p>"
        )?;
        if self.hosts.len() > 1 {
            writeln!(
                out,
                "<h2>Summary</h2>\n<table class=\"grid\"><tr><th>Host</th><th>Open</th><th>Closed</th>\
                 <th>Filtered</th><th>States</th></tr>"
            )?;
            for (i, host) in self.hosts.iter().enumerate() {
                let [open, closed, filtered] = host.counts;
                writeln!(
                    out,
                    "<tr{}><td><a href=\"#{}\">{}</a></td><td class=\"n\">{open}</td><td class=\"n\">{closed}</td>\
                     <td class=\"n\">{filtered}</td><td>{}</td></tr>",
                    if open > 0 { " class=\"open\"" } else { "" },
                    host.anchor,
                    escape_html(&host.label),
                    bar_chart(&host.counts, 160),
                )?;
                if i > 0 && i % 4096 == 0 {
                    out.flush()?;
                }
            }
            writeln!(out, "</table>")?;
        }
        for host in &self.hosts {
            out.write_all(host.html.as_bytes())?;
        }
        writeln!(
            out,
            "<p class=\"note\">Written by portprobe {}. Port notes come from its port knowledge base \
             (<code>portprobe port N</code>).</p></body></html>",
            env!("CARGO_PKG_VERSION")
        )?;
        out.flush()
    }
}

/// A horizontal bar of open/closed/filtered shares, as inline SVG with a text fallback.
fn bar_chart(counts: &[usize; 3], width: u32) -> String {
    let total: usize = counts.iter().sum();
    let mut svg = format!(
        "<svg class=\"chart\" width=\"{width}\" height=\"18\" role=\"img\" aria-label=\"{} open, {} closed, {} filtered\">",
        counts[0], counts[1], counts[2]
    );
    let colours = ["#2e9b2e", "#c83c3c", "#8a8a8a"];
    let mut x = 0.0f64;
    for (i, &n) in counts.iter().enumerate() {
        if n == 0 || total == 0 {
            continue;
        }
        // Any state present gets at least 2 px so one open port among 65,535 still shows.
        let w = (f64::from(width) * n as f64 / total as f64).max(2.0);
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"0\" width=\"{w:.1}\" height=\"18\" fill=\"{}\"><title>{n} {}</title></rect>",
            colours[i],
            STATES[i]
        );
        x += w;
    }
    svg.push_str("</svg>\n");
    svg
}

/// The knowledge base's text for a port: name and summary, with exposure and securing advice
/// folded (a `<details>` element opens without JavaScript).
fn port_note(port: u16) -> String {
    let Some(e) = portkb::lookup(port, Proto::Tcp) else {
        return String::new();
    };
    let mut more = String::new();
    if let Some(x) = &e.exposure {
        let _ = write!(more, "<p><b>Exposure:</b> {}</p>", escape_html(x));
    }
    if let Some(x) = &e.securing {
        let _ = write!(more, "<p><b>Securing:</b> {}</p>", escape_html(x));
    }
    format!(
        "<details class=\"note\"><summary>{}: {}</summary>{more}</details>",
        escape_html(&e.name),
        escape_html(&e.summary)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_from_outside_is_escaped() {
        assert_eq!(
            escape_html("<script>alert('x')</script> & \"q\"\x1b[31m"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;\\x1b[31m"
        );
    }

    #[test]
    fn the_chart_shows_every_state_present() {
        let svg = bar_chart(&[1, 65_533, 1], 360);
        assert_eq!(svg.matches("<rect").count(), 3, "{svg}");
        assert!(svg.contains("<title>1 open</title>"));
        assert_eq!(bar_chart(&[0, 0, 0], 100).matches("<rect").count(), 0);
    }

    #[test]
    fn port_notes_come_from_the_knowledge_base() {
        let note = port_note(22);
        assert!(
            note.starts_with("<details class=\"note\"><summary>ssh: "),
            "{note}"
        );
        assert_eq!(port_note(0), "");
    }
}
