//! The human table, like nmap's: `PORT STATE SERVICE REASON`, a summary line per host and the
//! elapsed time. Rows of a state with many ports are counted instead of listed unless `-v`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Write};

use super::{HostTally, ScanSummary, Sink};
use crate::net::connect::{PortState, Reason};
use crate::portdb::service_name;
use crate::scan::PortResult;

/// More ports than this in one non-open state are summarised, not listed (nmap does the same).
const LIST_LIMIT: usize = 25;

pub struct TableSink<W: Write> {
    out: W,
    verbose: bool,
    open_only: bool,
    hosts: HashMap<u64, HostRows>,
}

#[derive(Default)]
struct HostRows {
    rows: Vec<(u16, PortState, Reason)>,
    seen: BTreeMap<PortState, usize>,
    hidden: BTreeSet<PortState>,
}

impl<W: Write> TableSink<W> {
    pub fn new(out: W, verbose: bool, open_only: bool) -> Self {
        TableSink {
            out,
            verbose,
            open_only,
            hosts: HashMap::new(),
        }
    }
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
            host.rows.push((result.port, p.state, p.reason));
        } else if host.hidden.insert(p.state) {
            host.rows.retain(|(_, s, _)| *s != p.state);
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
        rows.rows.sort_unstable_by_key(|r| r.0);
        if !rows.rows.is_empty() {
            writeln!(out, "{:<9} {:<9} {:<16} REASON", "PORT", "STATE", "SERVICE")?;
        }
        for (port, state, reason) in &rows.rows {
            let service = service_name(*port).unwrap_or("unknown");
            writeln!(
                out,
                "{:<9} {:<9} {:<16} {}",
                format!("{port}/tcp"),
                state,
                service,
                reason
            )?;
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
        self.out.flush()
    }
}
