//! Reports: the reporter owns each host's state (tallies, the rows to list) while its results
//! arrive; the formats (sinks) only render what it hands them.

pub mod audit;
pub mod csv;
pub mod grepable;
pub mod html;
pub mod jsonl;
pub mod nmap_xml;
pub mod run;
pub mod sarif;
pub mod table;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

use crate::escape::TerminalSafe;
use crate::fingerprint::{Confidence, Severity};
use crate::net::connect::{PortState, Reason};
use crate::pipeline::PortResult;
use crate::ports::Proto;
use crate::scan::Event;
use crate::target::Host;

/// More ports than this in one non-open state are counted, not listed, unless `-v` (as nmap).
const LIST_LIMIT: usize = 25;

/// Which format goes to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The nmap-like table.
    Table,
    /// JSON Lines, one record per port.
    Jsonl,
    /// The audit's findings per host and port.
    AuditText,
}

/// A format written to a file (or to stdout, for the path `-`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// The table (nmap's "normal" output, -oN).
    Normal,
    /// nmap XML (-oX).
    Xml,
    /// nmap's greppable lines (-oG).
    Grepable,
    /// JSON Lines (-oJ).
    Jsonl,
    /// One CSV row per port.
    Csv,
    /// SARIF 2.1.0: one result per finding.
    Sarif,
}

impl FileFormat {
    /// The extension `-oA BASE` gives the format.
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Normal => "nmap",
            FileFormat::Xml => "xml",
            FileFormat::Grepable => "gnmap",
            FileFormat::Jsonl => "jsonl",
            FileFormat::Csv => "csv",
            FileFormat::Sarif => "sarif",
        }
    }
}

/// One report file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub format: FileFormat,
    /// `-` is stdout (which then carries this format instead of the table).
    pub path: PathBuf,
}

/// What the report needs to know, decided when the plan is built.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub format: Format,
    /// Only open ports are listed (the counts still cover every port).
    pub open_only: bool,
    pub verbose: bool,
    /// Detection ran: the table has a VERSION column.
    pub versions: bool,
    /// Ports to probe in total, when it can be known up front (for the progress bar).
    pub total_ports: Option<u64>,
    /// `--fail-on`: a finding at or above this level makes the run fail (exit 3).
    pub fail_on: Option<Severity>,
    /// Ports arrive in random order (`--randomize`): every port streams to the format, per-host
    /// state is kept only for hosts with an open port to list, and those end together at the end.
    pub stream: bool,
    /// Files to write besides stdout (-oN, -oX, -oG, -oJ, -oA, --csv, --sarif).
    pub files: Vec<OutputFile>,
    /// Colour the table on stdout (`--color`, decided with NO_COLOR and the terminal).
    pub color: bool,
    /// The run as a whole, for formats that state it (XML, greppable, JSON summary).
    pub run: Arc<run::RunInfo>,
    /// The proxy the scan went through ("the SOCKS5 proxy 127.0.0.1:1080"): the table says
    /// the states are as seen from it.
    pub proxy: Option<String>,
}

/// A report file that cannot be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write report file '{path}': {source}")]
pub struct OutputError {
    pub path: String,
    pub source: io::Error,
}

impl ReportOptions {
    /// Every format asked for, fanned out: stdout's (the table, JSON Lines or the audit text,
    /// unless a file format was sent to `-`) and one sink per file, all fed the same events.
    pub fn sink(&self) -> Result<Box<dyn Sink>, OutputError> {
        let mut sinks = self.sinks()?;
        Ok(match sinks.len() {
            1 => sinks.remove(0),
            _ => Box::new(FanOut(sinks)),
        })
    }

    /// Stdout's sink and the files', one by one (`--resume` adds its own to them).
    pub fn sinks(&self) -> Result<Vec<Box<dyn Sink>>, OutputError> {
        let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
        let stdout_taken = self.files.iter().any(|f| f.path == Path::new("-"));
        if !stdout_taken {
            let stdout = BufWriter::with_capacity(64 * 1024, io::stdout());
            sinks.push(match self.format {
                Format::Jsonl => Box::new(jsonl::JsonlSink::new(stdout, self.run.clone(), self.fail_on)),
                Format::AuditText => Box::new(audit::AuditSink::new(TerminalSafe(stdout))),
                Format::Table => Box::new(
                    table::TableSink::new(stdout, self.verbose, self.versions)
                        .with_color(self.color)
                        .with_proxy(self.proxy.clone()),
                ),
            });
        }
        for file in &self.files {
            let out: Box<dyn Write + Send> = if file.path == Path::new("-") {
                Box::new(io::stdout())
            } else {
                Box::new(File::create(&file.path).map_err(|source| OutputError {
                    path: crate::escape::escape_str(&file.path.display().to_string()),
                    source,
                })?)
            };
            let out = BufWriter::with_capacity(64 * 1024, out);
            let run = self.run.clone();
            sinks.push(match file.format {
                // -oN is what the terminal shows: the audit's report for `audit`, else the table.
                FileFormat::Normal => match self.format {
                    Format::AuditText => Box::new(audit::AuditSink::new(TerminalSafe(out))),
                    _ => Box::new(
                        table::TableSink::new(out, self.verbose, self.versions)
                            .with_proxy(self.proxy.clone()),
                    ),
                },
                FileFormat::Xml => Box::new(nmap_xml::XmlSink::new(out, run)),
                FileFormat::Grepable => Box::new(grepable::GrepableSink::new(out, run)),
                FileFormat::Jsonl => Box::new(jsonl::JsonlSink::new(out, run, self.fail_on)),
                FileFormat::Csv => Box::new(csv::CsvSink::new(out)),
                FileFormat::Sarif => Box::new(sarif::SarifSink::new(out, run)),
            });
        }
        Ok(sinks)
    }
}

/// Several formats fed the same events, in order.
pub struct FanOut(pub Vec<Box<dyn Sink>>);

impl Sink for FanOut {
    fn port(&mut self, result: &PortResult) -> io::Result<()> {
        self.0.iter_mut().try_for_each(|s| s.port(result))
    }
    fn host_done(&mut self, host: &HostReport, interrupted: bool) -> io::Result<()> {
        self.0.iter_mut().try_for_each(|s| s.host_done(host, interrupted))
    }
    fn finish(&mut self, summary: &ScanSummary) -> io::Result<()> {
        self.0.iter_mut().try_for_each(|s| s.finish(summary))
    }
}

/// The SERVICE label of a port: `ssh`, `ssl/http` inside TLS, `http?` when only the port
/// table suggests it, `unknown`.
pub fn service_label(result: &PortResult) -> String {
    let Some(d) = &result.service else {
        return result.port_name.unwrap_or("unknown").to_string();
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

/// At least this many open ports, nearly all alike, make a host one that accepts every port.
const PSEUDO_MIN_OPEN: usize = 64;

/// A host that accepts connections on (nearly) every port and answers them all alike: a
/// firewall, a load balancer or a tarpit answering SYN-ACK everywhere, not that many services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PseudoService {
    /// Open ports seen, and how many of them answered the same way.
    pub open: usize,
    pub alike: usize,
    /// What they all said: the same first bytes, or nothing.
    pub answer: Option<Vec<u8>>,
}

impl PseudoService {
    /// Whether `row` is one of the look-alike ports (listed in the summary, not one by one).
    pub fn covers(&self, row: &PortResult) -> bool {
        tcp_open(row) && look_alike(row).is_some_and(|a| a == self.answer.as_deref())
    }
}

/// An open TCP port: what the pseudo-service test counts (a UDP answer, and a UDP port's
/// open|filtered silence, says nothing about a host accepting every connection).
fn tcp_open(row: &PortResult) -> bool {
    row.proto == Proto::Tcp && row.state() == Some(PortState::Open)
}

/// The answer of an open port that nothing identified (`None` when something did).
fn look_alike(row: &PortResult) -> Option<Option<&[u8]>> {
    match &row.service {
        None => Some(None),
        Some(d) if matches!(d.confidence, Confidence::PortTable) || d.identity.service == "tcpwrapped" => {
            Some(d.banner.as_deref())
        }
        Some(_) => None,
    }
}

/// One host while its results arrive: counts, and the rows to list when it is done.
#[derive(Debug)]
pub struct HostReport {
    pub host: Arc<Host>,
    pub by_state: BTreeMap<PortState, usize>,
    pub by_reason: BTreeMap<(PortState, Reason), usize>,
    pub errors: usize,
    /// The ports to list: every open one; others up to 25 of a state (all with -v).
    pub rows: Vec<PortResult>,
    /// States with more ports than are listed: counted only.
    pub hidden: BTreeSet<PortState>,
    /// Set when the host is done, if it accepts every port.
    pub pseudo: Option<PseudoService>,
    received: usize,
    /// Known once the scheduler has issued all the host's ports.
    issued: Option<usize>,
    /// Randomized order: only the open ports were kept for this host (flat memory).
    pub only_open: bool,
}

impl HostReport {
    fn new(host: Arc<Host>) -> Self {
        HostReport {
            host,
            by_state: BTreeMap::new(),
            by_reason: BTreeMap::new(),
            errors: 0,
            rows: Vec::new(),
            hidden: BTreeSet::new(),
            pseudo: None,
            received: 0,
            issued: None,
            only_open: false,
        }
    }

    pub fn count(&self, state: PortState) -> usize {
        self.by_state.get(&state).copied().unwrap_or(0)
    }

    /// `1 open, 65533 closed, 2 filtered (stealth: 1 no-response, 1 host-unreach)`.
    pub fn summary_line(&self) -> String {
        if self.only_open {
            let open = self.count(PortState::Open);
            return format!("{open} open (random order: other states are counted in the totals only)");
        }
        let mut parts = Vec::new();
        for state in [
            PortState::Open,
            PortState::Closed,
            PortState::Filtered,
            PortState::OpenFiltered,
        ] {
            let n = self.count(state);
            if state == PortState::OpenFiltered && n == 0 {
                continue;
            }
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
        self.issued == Some(self.received)
    }

    /// Whether nine in ten of many open ports answered alike with nothing identified.
    fn find_pseudo_service(&self) -> Option<PseudoService> {
        // Every open port is kept in `rows`, so they count the open TCP ports.
        let open = self.rows.iter().filter(|r| tcp_open(r)).count();
        if open < PSEUDO_MIN_OPEN {
            return None;
        }
        let mut alike: HashMap<Option<&[u8]>, usize> = HashMap::new();
        for row in self.rows.iter().filter(|r| tcp_open(r)) {
            if let Some(answer) = look_alike(row) {
                *alike.entry(answer).or_default() += 1;
            }
        }
        let (answer, n) = alike.into_iter().max_by_key(|(_, n)| *n)?;
        (n * 10 >= open * 9).then(|| PseudoService {
            open,
            alike: n,
            answer: answer.map(<[u8]>::to_vec),
        })
    }

    /// Keeps a row to list, or only counts it when its state has too many to list.
    fn keep(&mut self, result: PortResult, state: PortState, verbose: bool) {
        let seen = self.by_state.get(&state).copied().unwrap_or(0);
        if verbose || state == PortState::Open || seen <= LIST_LIMIT {
            self.rows.push(result);
        } else if self.hidden.insert(state) {
            self.rows.retain(|r| r.state() != Some(state));
        }
    }
}

/// Totals for the whole run.
#[derive(Debug, Clone, Default)]
pub struct ScanSummary {
    pub hosts: usize,
    pub ports: usize,
    pub open: usize,
    pub closed: usize,
    pub filtered: usize,
    /// UDP ports that gave no answer (open|filtered).
    pub open_filtered: usize,
    /// Ports not probed: this machine's errors.
    pub errors: usize,
    pub input_errors: usize,
    pub elapsed: Duration,
    pub interrupted: bool,
    /// Disclosure findings by severity (when auditing).
    pub findings: BTreeMap<Severity, usize>,
}

impl ScanSummary {
    /// Whether a finding reached `--fail-on`'s level.
    pub fn fails(&self, level: Option<Severity>) -> bool {
        level.is_some_and(|level| self.findings.iter().any(|(sev, n)| *sev >= level && *n > 0))
    }

    /// Why the run ends as it does (the exit code's reason), as the JSON summary states it.
    pub fn exit_reason(&self, fail_on: Option<Severity>) -> ExitReason {
        if self.interrupted {
            ExitReason::Interrupted
        } else if self.fails(fail_on) {
            ExitReason::Findings
        } else if self.input_errors > 0 {
            ExitReason::InputErrors
        } else if self.hosts == 0 {
            ExitReason::NoTargets
        } else {
            ExitReason::Success
        }
    }
}

/// How a scan ended: `success` (exit 0), `findings` (3), `input-errors` (2), `no-targets` (2),
/// `interrupted` (130/143).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExitReason {
    Success,
    Findings,
    InputErrors,
    NoTargets,
    Interrupted,
}

/// One output format: renders what the reporter hands it, keeps no per-host state.
pub trait Sink: Send {
    /// Every port to report (after the open-only filter) as soon as it is known.
    fn port(&mut self, _result: &PortResult) -> io::Result<()> {
        Ok(())
    }
    /// A host once its ports are all known, or cut short (`interrupted`).
    fn host_done(&mut self, host: &HostReport, interrupted: bool) -> io::Result<()>;
    fn finish(&mut self, summary: &ScanSummary) -> io::Result<()>;
}

/// Prints a problem on stderr.
fn warn(msg: &str) {
    crate::escape::say(msg);
}

/// A progress bar on stderr for long scans, only when stderr is a terminal: ports answered of
/// the total, the rate as a whole number, and how many are in flight — the figure that moves
/// when every port is still waiting for its answer. `issued` is the scheduler's count.
pub fn progress_bar(total_ports: Option<u64>, issued: Arc<AtomicU64>) -> Option<ProgressBar> {
    if !io::stderr().is_terminal() || total_ports.is_some_and(|n| n < 1000) {
        return None;
    }
    let bar = match total_ports {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
    let template = "{spinner} {pos}/{len} ports answered, {inflight} in flight  {rate}  eta {left}  {msg}";
    let style = ProgressStyle::with_template(template)
        .map(|s| {
            s.with_key("rate", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} ports/s", state.per_sec());
            })
            .with_key("left", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                // Before the first answer there is no rate to estimate from.
                let _ = match state.pos() {
                    0 => write!(w, "?"),
                    _ => write!(w, "{}s", state.eta().as_secs()),
                };
            })
            .with_key(
                "inflight",
                move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(
                        w,
                        "{}",
                        issued.load(Ordering::Relaxed).saturating_sub(state.pos())
                    );
                },
            )
        })
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

/// Turns scan events into calls on a format, owning each host's state until it is done.
pub struct Reporter<'a> {
    sink: &'a mut dyn Sink,
    open_only: bool,
    verbose: bool,
    progress: Option<ProgressBar>,
    hosts: HashMap<u64, HostReport>,
    summary: ScanSummary,
    started: Instant,
    stream: bool,
    /// Hosts in the scan, when the scheduler knows them up front (randomized order).
    space_hosts: Option<u64>,
}

impl<'a> Reporter<'a> {
    pub fn new(sink: &'a mut dyn Sink, opts: &ReportOptions, progress: Option<ProgressBar>) -> Self {
        Reporter {
            sink,
            open_only: opts.open_only,
            verbose: opts.verbose,
            progress,
            hosts: HashMap::new(),
            summary: ScanSummary::default(),
            started: Instant::now(),
            stream: opts.stream,
            space_hosts: None,
        }
    }

    /// Runs `f` with the progress bar (if any) out of the way of the output.
    fn quiet<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.progress {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    fn finish_host(&mut self, mut host: HostReport, cut: bool) -> io::Result<()> {
        self.summary.hosts += 1;
        if host.received == 0 && !cut {
            return Ok(()); // none of its pairs were this run's (another shard's, or resumed)
        }
        host.pseudo = host.find_pseudo_service();
        if self.open_only && !host.by_state.contains_key(&PortState::Open) {
            return Ok(()); // nothing to list
        }
        match &self.progress {
            Some(bar) => bar.suspend(|| self.sink.host_done(&host, cut)),
            None => self.sink.host_done(&host, cut),
        }
    }

    fn host(&mut self, host: &Arc<Host>) -> &mut HostReport {
        let only_open = self.stream;
        self.hosts.entry(host.id).or_insert_with(|| HostReport {
            only_open,
            ..HostReport::new(host.clone())
        })
    }

    pub fn handle(&mut self, event: Event) -> io::Result<()> {
        match event {
            Event::InputError(msg) => {
                self.summary.input_errors += 1;
                // Messages escape what came from outside (target text, file names) where they quote it.
                self.quiet(|| warn(&msg));
            }
            Event::Port(result) => self.port(result)?,
            Event::Hosts(n) => self.space_hosts = Some(n),
            Event::HostEnd { host, issued } => {
                let entry = self.host(&host);
                entry.issued = Some(issued);
                if entry.complete() {
                    if let Some(done) = self.hosts.remove(&host.id) {
                        self.finish_host(done, false)?;
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
        self.summary.ports += 1;
        for f in result.findings.iter().flatten() {
            *self.summary.findings.entry(f.severity).or_default() += 1;
        }
        let state = match &result.outcome {
            Ok(p) => {
                match p.state {
                    PortState::Open => self.summary.open += 1,
                    PortState::Closed => self.summary.closed += 1,
                    PortState::Filtered => self.summary.filtered += 1,
                    PortState::OpenFiltered => self.summary.open_filtered += 1,
                }
                Some((p.state, p.reason))
            }
            Err(e) => {
                self.summary.errors += 1;
                self.quiet(|| warn(&e.to_string()));
                None
            }
        };
        let (open_only, verbose) = (self.open_only, self.verbose);
        let host_id = result.host.id;
        let listed = state.is_some_and(|(s, _)| !open_only || s == PortState::Open);
        if listed {
            match &self.progress {
                Some(bar) => bar.suspend(|| self.sink.port(&result))?,
                None => self.sink.port(&result)?,
            }
        }
        if self.stream && !(listed && state.is_some_and(|(s, _)| s == PortState::Open)) {
            return Ok(()); // streamed; no host state for hosts without an open port
        }
        let entry = self.host(&result.host);
        entry.received += 1;
        match state {
            Some((s, reason)) => {
                *entry.by_state.entry(s).or_default() += 1;
                *entry.by_reason.entry((s, reason)).or_default() += 1;
                if listed {
                    entry.keep(result, s, verbose);
                }
            }
            None => entry.errors += 1,
        }
        if entry.complete() {
            if let Some(done) = self.hosts.remove(&host_id) {
                self.finish_host(done, false)?;
            }
        }
        Ok(())
    }

    /// Flushes hosts cut short (oldest first), then the totals.
    pub fn finish(mut self, interrupted: bool) -> io::Result<ScanSummary> {
        let mut left: Vec<HostReport> = std::mem::take(&mut self.hosts).into_values().collect();
        left.sort_by_key(|t| t.host.id);
        // Randomized, hosts end here and are whole unless the run was cut.
        let cut = !self.stream || interrupted;
        for host in left {
            self.finish_host(host, cut)?;
        }
        if let Some(n) = self.space_hosts {
            self.summary.hosts = usize::try_from(n).unwrap_or(usize::MAX);
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
