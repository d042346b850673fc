//! Runs each subcommand: builds the plan, the runtime, the signal watch and the report, and says
//! how the run ended (which `main` turns into an exit code).

use std::io::{self, Write};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use crate::cli::{
    CheckArgs, Cli, Command, ConnectArgs, FingerprintsCommand, ListenArgs, MatchArgs, PingArgs, PortArgs,
    ScanArgs,
};
use crate::config::{self, ConfigError};
use crate::endpoint::{self, EndpointError};
use crate::escape::TerminalSafe;
use crate::limits::raise_nofile_limit;
use crate::report::{self, Reporter};
use crate::session::SessionEnd;
use crate::{offline, ping, scan};

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The question was answered (exit 0).
    Success,
    /// The answer is negative, e.g. `ping` never connected (exit 1).
    Negative,
    /// The run finished but some input was bad, e.g. a name did not resolve (exit 2).
    InputErrors,
    /// Stopped by a signal: 130 for SIGINT, 143 for SIGTERM.
    Interrupted(i32),
    /// `--fail-on`: a finding at or above the level exists (exit 3).
    Findings,
}

impl Outcome {
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Success => 0,
            Outcome::Negative => 1,
            Outcome::InputErrors => 2,
            Outcome::Interrupted(code) => code,
            Outcome::Findings => 3,
        }
    }
}

/// Errors that end a command before it answers.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Usage(#[from] ConfigError),
    #[error("cannot start: {0}")]
    Runtime(io::Error),
    #[error("cannot start a thread: {0} (is the memory limit, ulimit -v, too low?)")]
    Thread(io::Error),
    #[error("cannot start: {0}")]
    Limit(String),
    #[error("cannot write output: {0}")]
    Output(io::Error),
    #[error(transparent)]
    Report(#[from] report::OutputError),
    #[error("cannot read {what}: {source}")]
    Input { what: String, source: io::Error },
    #[error(transparent)]
    Port(#[from] crate::portkb::QueryError),
    #[error("cannot write report '{path}': {source}")]
    HtmlReport { path: String, source: io::Error },
}

impl CommandError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CommandError::Usage(_)
            | CommandError::Input { .. }
            | CommandError::Port(_)
            | CommandError::HtmlReport { .. } => 2,
            CommandError::Runtime(_)
            | CommandError::Thread(_)
            | CommandError::Limit(_)
            | CommandError::Output(_)
            | CommandError::Report(_) => 1,
        }
    }
}

pub fn run(cli: Cli) -> Result<Outcome, CommandError> {
    if let Some(problem) = crate::limits::address_space_problem() {
        return Err(CommandError::Limit(problem));
    }
    match cli.command {
        Command::Scan(args) => scan_command(&args, false),
        Command::Audit(args) => scan_command(&args, true),
        Command::Ping(args) => ping_command(&args),
        Command::Connect(args) => connect_command(&args),
        Command::Listen(args) => listen_command(&args),
        Command::Match(args) => match_command(&args),
        Command::Fingerprints(FingerprintsCommand::Check(args)) => check_command(&args),
        Command::Completions(args) => {
            // Generated from the same clap definitions that parse the command line.
            let mut out = io::stdout().lock();
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut cmd, "portprobe", &mut out);
            out.flush().map_err(CommandError::Output)?;
            Ok(Outcome::Success)
        }
        Command::Manpage(args) => manpage_command(args.dir.as_deref()),
        Command::Port(args) => port_command(&args),
    }
}

/// `portprobe port`: every query is parsed first, so a typo fails (exit 2) before anything is
/// printed; a port the knowledge base does not know is a negative answer (exit 1).
fn port_command(args: &PortArgs) -> Result<Outcome, CommandError> {
    use crate::portkb::{self, Answer, Proto};
    let flag = match (args.tcp, args.udp) {
        (true, _) => Some(Proto::Tcp),
        (_, true) => Some(Proto::Udp),
        _ => None,
    };
    let kb = portkb::shipped();
    let queries = args
        .ports
        .iter()
        .map(|text| portkb::parse_query(text, flag))
        .collect::<Result<Vec<_>, _>>()?;
    let answers = queries
        .iter()
        .map(|q| kb.answer(q))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = io::stdout().lock();
    let mut outcome = Outcome::Success;
    let mut first = true;
    for answer in answers {
        match answer {
            Answer::Found(entries) => {
                for e in entries {
                    if args.json {
                        writeln!(out, "{}", portkb::to_json(e)).map_err(CommandError::Output)?;
                    } else {
                        if !first {
                            writeln!(out).map_err(CommandError::Output)?;
                        }
                        portkb::write_text(&mut TerminalSafe(&mut out), e).map_err(CommandError::Output)?;
                    }
                    first = false;
                }
            }
            Answer::Unknown(message) => {
                crate::escape::say(message);
                outcome = Outcome::Negative;
            }
        }
    }
    out.flush().map_err(CommandError::Output)?;
    Ok(outcome)
}

/// One thread drives all network I/O; blocking work (name lookups, stdin) has its own threads.
fn current_thread_runtime() -> Result<tokio::runtime::Runtime, CommandError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CommandError::Runtime)
}

/// Cancels `token` on SIGINT or SIGTERM and remembers the exit code that signal asks for.
fn watch_signals(rt: &tokio::runtime::Runtime, token: CancellationToken) -> Arc<AtomicI32> {
    let code = Arc::new(AtomicI32::new(0));
    let seen = code.clone();
    rt.spawn(async move {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return,
        };
        let signal_code = tokio::select! {
            _ = tokio::signal::ctrl_c() => 130,
            _ = term.recv() => 143,
        };
        seen.store(signal_code, Ordering::SeqCst);
        token.cancel();
    });
    code
}

fn scan_command(args: &ScanArgs, audit_command: bool) -> Result<Outcome, CommandError> {
    let nofile = raise_nofile_limit();
    // Descriptors open before we add any: what a too-low limit message counts from.
    let base = crate::limits::open_descriptors().unwrap_or(3);
    let fd_problem = || crate::limits::descriptor_problem(nofile, base);
    let (mut plan, targets, opts) = config::scan_plan(args, nofile, audit_command)?;
    let cancel = CancellationToken::new();
    let signal = watch_signals_in_background(cancel.clone(), fd_problem)?;
    // Event loops and descriptors are checked before any packet: at a low `ulimit -n` the scan
    // runs with fewer workers, and below what it needs it says so instead of losing ports.
    let runtimes = scan::worker_runtimes(plan.workers).map_err(|e| match e.raw_os_error() {
        Some(libc::EMFILE) | Some(libc::ENFILE) => CommandError::Limit(fd_problem()),
        _ => CommandError::Runtime(e),
    })?;
    plan.workers = runtimes.len();
    if let Some(problem) = crate::limits::descriptors_left_problem(nofile, base) {
        return Err(CommandError::Limit(problem));
    }
    let mut sink = match &args.resume {
        Some(path) => {
            let mut sinks = vec![resumable_sink(&opts, &mut plan, path)?];
            sinks.extend(opts.sinks()?);
            Box::new(report::FanOut(sinks))
        }
        None => opts.sink()?,
    };
    if let Some(path) = &args.html {
        // Created before the scan, so a bad path fails before any packet.
        let html = report::html::html_file(path).map_err(|source| CommandError::HtmlReport {
            path: crate::escape::escape_str(&path.display().to_string()),
            source,
        })?;
        sink = Box::new(report::FanOut(vec![sink, Box::new(html)]));
    }
    let reporter = Mutex::new(Reporter::new(
        sink.as_mut(),
        &opts,
        report::progress_bar(opts.total_ports, plan.issued.clone()),
    ));
    let report = |event| match reporter.lock() {
        Ok(mut r) => r.handle(event),
        Err(_) => Err(io::Error::other("report failed")),
    };
    scan::run(&plan, runtimes, targets, &report, &cancel).map_err(CommandError::Output)?;
    let code = signal.load(Ordering::SeqCst);
    let summary = reporter
        .into_inner()
        .map_err(|_| CommandError::Output(io::Error::other("report failed")))?
        .finish(code != 0)
        .map_err(CommandError::Output)?;
    Ok(if code != 0 {
        Outcome::Interrupted(code)
    } else if summary.fails(opts.fail_on) {
        Outcome::Findings
    } else if summary.input_errors > 0 {
        Outcome::InputErrors
    } else if summary.hosts == 0 {
        return Err(ConfigError::NoTargets.into());
    } else {
        Outcome::Success
    })
}

/// `--resume FILE`: JSON Lines appended to FILE (besides stdout's format and the report
/// files), skipping the pairs it already reports.
fn resumable_sink(
    opts: &report::ReportOptions,
    plan: &mut scan::ScanPlan,
    path: &std::path::Path,
) -> Result<Box<dyn report::Sink>, CommandError> {
    let scan = opts.run.scan.clone().unwrap_or_default();
    let resumed = crate::resume::open(path, &scan).map_err(ConfigError::from)?;
    let out = io::BufWriter::with_capacity(64 * 1024, resumed.file);
    let mut sink = report::jsonl::JsonlSink::new(out, opts.run.clone(), opts.fail_on);
    if !resumed.fresh {
        sink = sink.continuing();
        crate::escape::say(format!(
            "resuming {}: {} pairs already reported are skipped",
            path.display(),
            resumed.done.len()
        ));
    }
    if !resumed.done.is_empty() {
        plan.done = Some(Arc::new(resumed.done));
    }
    Ok(Box::new(sink))
}

/// Watches for SIGINT/SIGTERM on a thread of its own (the scan's threads run their own loops).
fn watch_signals_in_background(
    cancel: CancellationToken,
    fd_problem: impl Fn() -> String,
) -> Result<Arc<AtomicI32>, CommandError> {
    let rt = current_thread_runtime().map_err(|e| match e {
        CommandError::Runtime(e) if matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE)) => {
            CommandError::Limit(fd_problem())
        }
        e => e,
    })?;
    let code = watch_signals(&rt, cancel.clone());
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || rt.block_on(cancel.cancelled()))
        .map_err(CommandError::Thread)?;
    Ok(code)
}

fn ping_command(args: &PingArgs) -> Result<Outcome, CommandError> {
    let plan = config::ping_plan(args)?;
    let syn = if args.syn {
        if plan.ip.is_ipv6() {
            return Err(ConfigError::SynIpv6(crate::escape::escape_str(&args.host)).into());
        }
        Some(
            crate::net::syn::SynEngine::new(crate::net::syn::Replies::AsTheyCome)
                .map_err(ConfigError::from)?,
        )
    } else {
        None
    };
    let rt = current_thread_runtime()?;
    let cancel = CancellationToken::new();
    watch_signals(&rt, cancel.clone());
    let mut out = io::stdout();
    if let Some(engine) = syn {
        let stats = rt
            .block_on(crate::ping_syn::run(
                &plan,
                &engine,
                &mut out as &mut dyn Write,
                &cancel,
            ))
            .map_err(CommandError::Output)?;
        rt.shutdown_background();
        return Ok(if stats.iter().any(|s| s.received > 0) {
            Outcome::Success
        } else {
            Outcome::Negative
        });
    }
    let stats = rt
        .block_on(ping::run(&plan, &mut out as &mut dyn Write, &cancel))
        .map_err(CommandError::Output)?;
    rt.shutdown_background();
    // Like ping(8): Ctrl-C is the normal end of `-c 0`, so the exit code says whether it connected.
    Ok(if stats.iter().any(|s| s.successful > 0) {
        Outcome::Success
    } else {
        Outcome::Negative
    })
}

fn match_command(args: &MatchArgs) -> Result<Outcome, CommandError> {
    let matcher = config::load_matcher(&args.db)?;
    if matcher.db.probe(&args.probe).is_none() {
        let known: Vec<&str> = matcher.db.probes.iter().map(|p| p.name.as_str()).collect();
        return Err(ConfigError::UnknownProbe {
            given: crate::escape::escape_str(&args.probe),
            known: known.join(", "),
        }
        .into());
    }
    let response = offline::read_input(args.file.as_deref()).map_err(|e| CommandError::Input {
        what: args.file.as_ref().map_or("stdin".into(), |f| {
            crate::escape::escape_str(&f.display().to_string())
        }),
        source: e,
    })?;
    let report = offline::identify(&matcher, &response, &args.probe, args.port);
    let mut out = io::stdout().lock();
    if args.json {
        writeln!(out, "{}", offline::match_json(&report)).map_err(CommandError::Output)?;
    } else {
        offline::print_match(&report, &mut TerminalSafe(&mut out)).map_err(CommandError::Output)?;
    }
    Ok(if report.identity.is_some() {
        Outcome::Success
    } else {
        Outcome::Negative
    })
}

fn check_command(args: &CheckArgs) -> Result<Outcome, CommandError> {
    // A folder that is not there is an input error (exit 2), not a database problem.
    if let Some(dir) = &args.dir {
        let what = format!(
            "fingerprint folder '{}'",
            crate::escape::escape_str(&dir.display().to_string())
        );
        match std::fs::metadata(dir) {
            Err(source) => return Err(CommandError::Input { what, source }),
            Ok(m) if !m.is_dir() => {
                let source = io::Error::other("not a directory");
                return Err(CommandError::Input { what, source });
            }
            Ok(_) => {}
        }
    }
    let mut out = io::stdout().lock();
    // The port knowledge base is shipped only (no user folder), checked alongside.
    let kb = crate::portkb::check();
    let written = match (offline::check(args.dir.as_ref()), kb) {
        (Ok(s), Ok(k)) => writeln!(
            out,
            "fingerprints OK: {} probes, {} rules ({} soft) for {} services, {} OS rules, {} disclosure rules, {} examples checked; \
             port knowledge: {} entries ({} with exposure and securing advice) covering the {} ranked TCP and {} ranked UDP ports",
            s.probes, s.rules, s.soft, s.services, s.os_rules, s.disclosures, s.examples,
            k.entries, k.rich, k.tcp_ranked, k.udp_ranked
        )
        .map(|_| Outcome::Success),
        (rules, kb) => {
            let mut problems = rules.err().unwrap_or_default();
            problems.extend(kb.err().unwrap_or_default());
            for p in &problems {
                eprintln!("{}", crate::escape::for_terminal(&p.to_string()));
            }
            writeln!(out, "fingerprints check: {} problem(s)", problems.len()).map(|_| Outcome::Negative)
        }
    };
    written.map_err(CommandError::Output)
}

/// The exit answer for how a session ended.
fn session_outcome(end: Result<SessionEnd, EndpointError>, signal: &AtomicI32) -> Outcome {
    match end {
        Err(e) => {
            crate::escape::say(&e);
            Outcome::Negative
        }
        Ok(SessionEnd::Interrupted) => Outcome::Interrupted(match signal.load(Ordering::SeqCst) {
            0 => 130,
            code => code,
        }),
        Ok(SessionEnd::Idle) => {
            eprintln!("portprobe: idle timeout: nothing sent or received");
            Outcome::Negative
        }
        Ok(SessionEnd::OutputFailed(code)) => {
            let why = code.map_or_else(|| io::Error::other("stdout closed"), io::Error::from_raw_os_error);
            crate::escape::say(format!("cannot write output: {why}"));
            Outcome::Negative
        }
        Ok(SessionEnd::NoneOpen) => Outcome::Negative,
        Ok(SessionEnd::SendFailed) => {
            eprintln!("portprobe: the connection failed while sending (reset by the peer?)");
            Outcome::Negative
        }
        Ok(_) => Outcome::Success,
    }
}

/// The runtime, cancellation token and signal watcher of a session (for UDP sessions).
fn signal_runtime() -> Result<(tokio::runtime::Runtime, CancellationToken, Arc<AtomicI32>), CommandError> {
    let rt = current_thread_runtime()?;
    let cancel = CancellationToken::new();
    let signal = watch_signals(&rt, cancel.clone());
    Ok((rt, cancel, signal))
}

fn connect_command(args: &ConnectArgs) -> Result<Outcome, CommandError> {
    if args.udp {
        return crate::udp_session::connect_command(args, &signal_runtime);
    }
    use std::io::IsTerminal;
    let interactive = args.telnet && io::stdin().is_terminal();
    let plan = config::connect_plan(args, interactive)?;
    let rt = current_thread_runtime()?;
    let cancel = CancellationToken::new();
    let signal = watch_signals(&rt, cancel.clone());
    // The terminal goes raw once connected, and is restored when the session ends, however.
    let end = rt.block_on(endpoint::connect_and_run(&plan, &cancel));
    let outcome = session_outcome(end, &signal);
    rt.shutdown_background();
    Ok(outcome)
}

fn listen_command(args: &ListenArgs) -> Result<Outcome, CommandError> {
    if args.udp {
        return crate::udp_session::listen_command(args, &signal_runtime);
    }
    let plan = config::listen_plan(args)?;
    let rt = current_thread_runtime()?;
    let cancel = CancellationToken::new();
    let signal = watch_signals(&rt, cancel.clone());
    let end = rt.block_on(endpoint::listen_and_run(&plan, &cancel));
    let outcome = session_outcome(end, &signal);
    rt.shutdown_background();
    Ok(outcome)
}

/// The man pages, generated from the clap definitions: `portprobe.1` on stdout, or it and one
/// page per command (`portprobe-scan.1` …) written into `dir`.
fn manpage_command(dir: Option<&std::path::Path>) -> Result<Outcome, CommandError> {
    let cmd = <Cli as clap::CommandFactory>::command();
    let Some(dir) = dir else {
        let mut out = io::stdout().lock();
        clap_mangen::Man::new(cmd)
            .render(&mut out)
            .and_then(|_| out.flush())
            .map_err(CommandError::Output)?;
        return Ok(Outcome::Success);
    };
    let mut pages = vec![(String::from("portprobe"), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("portprobe-{}", sub.get_name());
        pages.push((
            name.clone(),
            sub.clone()
                .name(name)
                .display_name(format!("portprobe {}", sub.get_name())),
        ));
    }
    for (name, page) in pages {
        let path = dir.join(format!("{name}.1"));
        let mut buf = Vec::new();
        clap_mangen::Man::new(page)
            .render(&mut buf)
            .and_then(|_| std::fs::write(&path, &buf))
            .map_err(|e| {
                CommandError::Output(io::Error::new(
                    e.kind(),
                    format!("{}: {e}", crate::escape::escape_str(&path.display().to_string())),
                ))
            })?;
        println!("{}", crate::escape::escape_str(&path.display().to_string()));
    }
    Ok(Outcome::Success)
}
