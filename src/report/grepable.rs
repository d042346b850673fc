//! nmap's greppable format (`-oG`): one `Host:` line per host with its ports as
//! `port/state/protocol/owner/service/rpc/version/` entries, between `#` comment lines.

use std::io::{self, Write};
use std::sync::Arc;
use std::time::SystemTime;

use super::run::{ctime, RunInfo};
use super::{HostReport, ScanSummary, Sink};
use crate::escape::escape_str;
use crate::net::connect::PortState;
use crate::pipeline::PortResult;

pub struct GrepableSink<W: Write> {
    out: W,
    run: Arc<RunInfo>,
    started: bool,
}

impl<W: Write> GrepableSink<W> {
    pub fn new(out: W, run: Arc<RunInfo>) -> Self {
        GrepableSink {
            out,
            run,
            started: false,
        }
    }

    fn start(&mut self) -> io::Result<()> {
        if !self.started {
            self.started = true;
            writeln!(
                self.out,
                "# portprobe {} scan initiated {} as: {}",
                env!("CARGO_PKG_VERSION"),
                ctime(self.run.started),
                escape_str(&self.run.args)
            )?;
        }
        Ok(())
    }
}

/// A field: escaped, and without the characters the format uses as separators (nmap writes
/// `|` for `/` inside a field).
fn field(text: &str) -> String {
    escape_str(text)
        .replace('/', "|")
        .replace(',', ";")
        .replace('\t', " ")
}

/// `22/open/tcp//ssh//OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)/`.
pub fn port_entry(row: &PortResult) -> Option<String> {
    let p = row.outcome.as_ref().ok()?;
    let (service, version) = match &row.service {
        Some(d) => {
            let name = match d.tunnel {
                Some(_) => format!("ssl|{}", d.identity.service),
                None => d.identity.service.clone(),
            };
            (field(&name), field(&d.identity.version_line()))
        }
        None => (row.port_name.map(field).unwrap_or_default(), String::new()),
    };
    Some(format!("{}/{}/tcp//{service}//{version}/", row.port, p.state))
}

impl<W: Write + Send> Sink for GrepableSink<W> {
    fn host_done(&mut self, host: &HostReport, _interrupted: bool) -> io::Result<()> {
        self.start()?;
        let h = &host.host;
        let who = format!("{} ({})", h.ip, h.name.as_deref().map(field).unwrap_or_default());
        writeln!(self.out, "Host: {who}\tStatus: Up")?;
        let mut rows: Vec<&PortResult> = host.rows.iter().collect();
        rows.sort_unstable_by_key(|r| r.port);
        let entries: Vec<String> = rows.into_iter().filter_map(port_entry).collect();
        let mut line = format!("Host: {who}\tPorts: {}", entries.join(", "));
        // The states counted but not listed, as nmap's "Ignored State".
        let ignored: Vec<String> = [PortState::Closed, PortState::Filtered]
            .iter()
            .filter_map(|&state| {
                let listed = host.rows.iter().filter(|r| r.state() == Some(state)).count();
                let n = host.count(state) - listed.min(host.count(state));
                (n > 0).then(|| format!("{state} ({n})"))
            })
            .collect();
        if !ignored.is_empty() {
            line.push_str(&format!("\tIgnored State: {}", ignored.join(", ")));
        }
        writeln!(self.out, "{line}")?;
        self.out.flush()
    }

    fn finish(&mut self, s: &ScanSummary) -> io::Result<()> {
        self.start()?;
        writeln!(
            self.out,
            "# portprobe done at {} -- {} IP address{} ({} host{} up) scanned in {:.2} seconds{}",
            ctime(SystemTime::now()),
            s.hosts,
            if s.hosts == 1 { "" } else { "es" },
            s.hosts,
            if s.hosts == 1 { "" } else { "s" },
            s.elapsed.as_secs_f64(),
            if s.interrupted { " (interrupted)" } else { "" }
        )?;
        self.out.flush()
    }
}
