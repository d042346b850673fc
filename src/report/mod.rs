//! Reports: the tally every format shares, and the loop that feeds scan events to a format.

pub mod audit;
pub mod jsonl;
pub mod table;

use std::collections::{BTreeMap, HashMap};
use std::io::{self, IsTerminal};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::fingerprint::Severity;
use crate::net::connect::{PortState, Reason};
use crate::scan::{Event, Host, PortResult};

/// Per-host counts, kept while the host's results arrive.
#[derive(Debug, Clone)]
pub struct HostTally {
    pub host: Arc<Host>,
    pub by_state: BTreeMap<PortState, usize>,
    pub by_reason: BTreeMap<(PortState, Reason), usize>,
    pub errors: usize,
    received: usize,
    issued: usize,
    ends_missing: usize,
}

impl HostTally {
    fn new(host: Arc<Host>, workers: usize) -> Self {
        HostTally {
            host,
            by_state: BTreeMap::new(),
            by_reason: BTreeMap::new(),
            errors: 0,
            received: 0,
            issued: 0,
            ends_missing: workers,
        }
    }

    pub fn count(&self, state: PortState) -> usize {
        self.by_state.get(&state).copied().unwrap_or(0)
    }

    /// `1 open, 65533 closed, 2 filtered (stealth: 1 no-response, 1 host-unreach)`.
    pub fn summary_line(&self) -> String {
        let mut parts = Vec::new();
        for state in [PortState::Open, PortState::Closed, PortState::Filtered] {
            let n = self.count(state);
            if state == PortState::Filtered && n > 0 {
                let why: Vec<String> = self
                    .by_reason
                    .iter()
                    .filter(|((s, _), _)| *s == PortState::Filtered)
                    .map(|((_, r), n)| format!("{n} {r}"))
                    .collect();
                parts.push(format!("{n} filtered (stealth: {})", why.join(", ")));
            } else {
                parts.push(format!("{n} {state}"));
            }
        }
        if self.errors > 0 {
            parts.push(format!("{} not probed (local errors)", self.errors));
        }
        parts.join(", ")
    }

    fn complete(&self) -> bool {
        self.ends_missing == 0 && self.issued == self.received
    }
}

/// Totals for the whole run.
#[derive(Debug, Clone, Default)]
pub struct ScanSummary {
    pub hosts: usize,
    pub ports: usize,
    pub open: usize,
    pub filtered: usize,
    pub input_errors: usize,
    pub elapsed: Duration,
    pub interrupted: bool,
    /// Disclosure findings by severity (when auditing).
    pub findings: BTreeMap<Severity, usize>,
}

/// One output format.
pub trait Sink: Send {
    /// Called for every probed port as soon as it is known.
    fn port(&mut self, result: &PortResult) -> io::Result<()>;
    /// Called once a host's ports are all known (or the scan was interrupted).
    fn host_done(&mut self, tally: &HostTally, interrupted: bool) -> io::Result<()>;
    fn finish(&mut self, summary: &ScanSummary) -> io::Result<()>;
}

/// Prints a problem on stderr.
fn warn(msg: &str) {
    crate::escape::say(msg);
}

/// A progress bar on stderr for long scans, only when stderr is a terminal.
pub fn progress_bar(total_ports: Option<u64>) -> Option<ProgressBar> {
    if !io::stderr().is_terminal() || total_ports.is_some_and(|n| n < 1000) {
        return None;
    }
    let bar = match total_ports {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
    let style = ProgressStyle::with_template("{spinner} {pos}/{len} ports  {per_sec}  eta {eta}  {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

/// Turns scan events into calls on a format, keeping the per-host tallies.
pub struct Reporter<'a> {
    sink: &'a mut dyn Sink,
    /// Scan workers: a host is done when each has said so and all its results are in.
    workers: usize,
    progress: Option<ProgressBar>,
    hosts: HashMap<u64, HostTally>,
    summary: ScanSummary,
    started: Instant,
}

impl<'a> Reporter<'a> {
    pub fn new(sink: &'a mut dyn Sink, workers: usize, progress: Option<ProgressBar>) -> Self {
        Reporter {
            sink,
            workers: workers.max(1),
            progress,
            hosts: HashMap::new(),
            summary: ScanSummary::default(),
            started: Instant::now(),
        }
    }

    /// Runs `f` with the progress bar (if any) out of the way of the output.
    fn quiet<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.progress {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    fn finish_host(&mut self, tally: HostTally, cut: bool) -> io::Result<()> {
        self.summary.hosts += 1;
        match &self.progress {
            Some(bar) => bar.suspend(|| self.sink.host_done(&tally, cut)),
            None => self.sink.host_done(&tally, cut),
        }
    }

    pub fn handle(&mut self, event: Event) -> io::Result<()> {
        match event {
            Event::HostStart(host) => {
                let workers = self.workers;
                self.hosts
                    .entry(host.id)
                    .or_insert_with(|| HostTally::new(host, workers));
            }
            Event::InputError(msg) => {
                self.summary.input_errors += 1;
                // Messages escape what came from outside (target text, file names) where they quote it.
                self.quiet(|| warn(&msg));
            }
            Event::Port(result) => self.port(result)?,
            Event::HostEnd { host, issued } => {
                let done = self.hosts.get_mut(&host.id).map(|t| {
                    t.issued += issued;
                    t.ends_missing = t.ends_missing.saturating_sub(1);
                    t.complete()
                });
                if done == Some(true) {
                    if let Some(tally) = self.hosts.remove(&host.id) {
                        self.finish_host(tally, false)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn port(&mut self, result: PortResult) -> io::Result<()> {
        if let Some(bar) = &self.progress {
            bar.inc(1);
        }
        let Some(tally) = self.hosts.get_mut(&result.host.id) else {
            return Ok(());
        };
        tally.received += 1;
        self.summary.ports += 1;
        match &result.outcome {
            Ok(p) => {
                *tally.by_state.entry(p.state).or_default() += 1;
                *tally.by_reason.entry((p.state, p.reason)).or_default() += 1;
                match p.state {
                    PortState::Open => self.summary.open += 1,
                    PortState::Closed => {}
                    PortState::Filtered => self.summary.filtered += 1,
                }
            }
            Err(msg) => {
                tally.errors += 1;
                match &self.progress {
                    Some(bar) => bar.suspend(|| warn(msg)),
                    None => warn(msg),
                }
            }
        }
        for f in result.findings.iter().flatten() {
            *self.summary.findings.entry(f.severity).or_default() += 1;
        }
        let complete = tally.complete();
        match &self.progress {
            Some(bar) => bar.suspend(|| self.sink.port(&result))?,
            None => self.sink.port(&result)?,
        }
        if complete {
            if let Some(done) = self.hosts.remove(&result.host.id) {
                self.finish_host(done, false)?;
            }
        }
        Ok(())
    }

    /// Flushes hosts cut short (oldest first), then the totals.
    pub fn finish(mut self, interrupted: bool) -> io::Result<ScanSummary> {
        let mut left: Vec<HostTally> = std::mem::take(&mut self.hosts).into_values().collect();
        left.sort_by_key(|t| t.host.id);
        for tally in left {
            self.finish_host(tally, true)?;
        }
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
        self.summary.elapsed = self.started.elapsed();
        self.summary.interrupted = interrupted;
        self.sink.finish(&self.summary)?;
        Ok(self.summary)
    }
}
