//! The scheduler: expands targets lazily, runs connects with bounded concurrency and an optional
//! rate, retries filtered ports, backs off when the machine runs out of sockets, and streams
//! results to the report as they are known.

use std::cell::Cell;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::net::connect::{connect, ConnectOptions, LocalError, PortState};
use crate::net::syn::{SynEngine, SynFacts};
use crate::pipeline::{Pipeline, PortResult, ProbeError, Probed};
use crate::ports::PortSet;
use crate::target::{resolve, CidrIter, Family, Host, HostSpec, TargetReader};

/// What the scheduler tells the report.
#[derive(Debug)]
pub enum Event {
    Port(PortResult),
    /// All ports of the host have been issued, once per host: `issued` results arrive in total
    /// (some may still be in flight).
    HostEnd {
        host: Arc<Host>,
        issued: usize,
    },
    /// A target could not be used (bad syntax in a file, a name that does not resolve).
    InputError(String),
}

/// How the scan runs (the semantic part of the command line).
#[derive(Debug, Clone)]
pub struct ScanPlan {
    pub ports: Arc<PortSet>,
    pub family: Family,
    pub timeout: Duration,
    pub retries: u32,
    pub concurrency: usize,
    /// Threads driving connects (each an event loop over its share of the pairs).
    pub workers: usize,
    pub rate: Option<f64>,
    pub resolve_timeout: Duration,
    /// What happens to each port after the connect (detection, audit).
    pub pipeline: Pipeline,
    /// `--syn`: probe with raw SYNs instead of connects (open ports still get a connect when
    /// detection is on).
    pub syn: Option<Arc<SynEngine>>,
}

#[derive(Clone)]
enum Work {
    Host {
        host: Arc<Host>,
        port: Option<u16>,
        issue: Arc<HostIssue>,
    },
    Error(String),
}

/// The workers' shared count of a host's issued pairs: the last worker done with the host
/// announces its end, so the report hears of each host's end once.
#[derive(Debug)]
struct HostIssue {
    workers_left: AtomicUsize,
    issued: AtomicUsize,
}

impl HostIssue {
    /// Adds this worker's share; the total when it was the last worker with the host.
    fn done(&self, issued: usize) -> Option<usize> {
        self.issued.fetch_add(issued, Ordering::AcqRel);
        (self.workers_left.fetch_sub(1, Ordering::AcqRel) == 1).then(|| self.issued.load(Ordering::Acquire))
    }
}

/// Hands scan events to the report; shared by the worker threads.
pub type ReportFn<'a> = dyn Fn(Event) -> io::Result<()> + Sync + 'a;

/// Runs the scan until the targets are done or `cancel` fires, handing each event to `report`
/// as it happens. Probes in flight at cancellation are dropped (their sockets reset); the report
/// shows what was known.
///
/// Each worker thread drives its share of the (host, port) pairs with a single-threaded event
/// loop: on loopback a connect costs a few microseconds of kernel time, so the work is split by
/// pair across cores rather than handed between threads per result.
pub fn run(
    plan: &ScanPlan,
    runtimes: Vec<tokio::runtime::Runtime>,
    targets: TargetReader,
    report: &ReportFn<'_>,
    cancel: &CancellationToken,
) -> io::Result<()> {
    let workers = runtimes.len();
    if workers == 0 {
        return Err(io::Error::other("no worker runtime"));
    }
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..workers).map(|_| mpsc::channel::<Work>(64)).unzip();
    // Target reading and name resolution block (a pipe that never ends, /dev/zero), so they
    // live on a thread of their own that is not joined after a signal: it may sit in read(2).
    let producer = {
        let cancel = cancel.clone();
        let (family, resolve_timeout) = (plan.family, plan.resolve_timeout);
        std::thread::Builder::new()
            .name("targets".into())
            .spawn(move || produce(workers, targets, family, resolve_timeout, &senders, &cancel))?
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = receivers
            .into_iter()
            .zip(runtimes)
            .enumerate()
            .map(|(index, (mut rx, rt))| {
                std::thread::Builder::new()
                    .name(format!("scan-{index}"))
                    .spawn_scoped(scope, move || -> io::Result<()> {
                        let shard = Shard { index, of: workers };
                        let result = rt.block_on(drive(plan, shard, &mut rx, report, cancel));
                        if result.is_err() {
                            cancel.cancel(); // an output error ends every worker and the producer
                        }
                        result
                    })
            })
            .collect();
        let mut result = Ok(());
        for handle in handles {
            let outcome = match handle {
                Ok(h) => h
                    .join()
                    .unwrap_or_else(|_| Err(io::Error::other("scan worker panicked"))),
                Err(e) => {
                    cancel.cancel(); // its share of the work would never be done
                    Err(e)
                }
            };
            if result.is_ok() {
                result = outcome;
            }
        }
        if cancel.is_cancelled() {
            // Interrupted or failed: the producer stops at its next send; do not wait for it.
            drop(producer);
        } else {
            // The workers saw the end of the work, so the producer is done.
            let _ = producer.join();
        }
        result
    })
}

/// The workers' event loops, built before the scan starts: as many as asked, fewer when the
/// descriptors run out (each needs a few), never none without an error.
pub fn worker_runtimes(wanted: usize) -> io::Result<Vec<tokio::runtime::Runtime>> {
    let mut runtimes = Vec::with_capacity(wanted);
    for _ in 0..wanted.max(1) {
        match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => runtimes.push(rt),
            Err(e) if runtimes.is_empty() => return Err(e),
            Err(_) => break,
        }
    }
    Ok(runtimes)
}

/// Which of the (host, port) pairs a worker probes: every `of`-th, starting at `index`.
#[derive(Debug, Clone, Copy)]
struct Shard {
    index: usize,
    of: usize,
}

struct CurrentHost {
    host: Arc<Host>,
    ports: Box<dyn Iterator<Item = u16> + Send>,
    issued: usize,
    issue: Arc<HostIssue>,
}

async fn drive(
    plan: &ScanPlan,
    shard: Shard,
    work_rx: &mut mpsc::Receiver<Work>,
    report: &ReportFn<'_>,
    cancel: &CancellationToken,
) -> io::Result<()> {
    let opts = ConnectOptions {
        timeout: plan.timeout,
        zero_linger: true,
        bind: None,
    };
    let exhausted = Rc::new(Cell::new(0u32));
    // The ports once, as a list: walking the bitmap for every host costs 65,536 checks each.
    let port_list: Arc<[u16]> = plan.ports.iter().collect();
    // --concurrency is a global bound: the workers split it (the plan has no more workers than
    // connections allowed), the first ones taking the remainder.
    let initial =
        (plan.concurrency / shard.of + usize::from(shard.index < plan.concurrency % shard.of)).max(1);
    let mut limit = initial;
    let mut pacer = plan.rate.map(|r| Pacer::new(r / shard.of as f64));
    let mut inflight = FuturesUnordered::new();
    let mut current: Option<CurrentHost> = None;
    let mut no_more_work = false;
    // Position in the global sequence of pairs, the same in every worker.
    let mut pair = 0usize;
    loop {
        if exhausted.take() > 0 {
            // Out of descriptors or ports: fewer connects in flight from now on.
            limit = (limit - limit / 8 - 1).max(MIN_CONCURRENCY.min(initial));
        }
        let mut pacer_wait = None;
        while inflight.len() < limit {
            let Some(cur) = current.as_mut() else { break };
            if let Some(at) = pacer.as_mut().and_then(Pacer::must_wait) {
                pacer_wait = Some(at);
                break;
            }
            let next = cur.ports.by_ref().find(|_| {
                pair += 1;
                (pair - 1) % shard.of == shard.index
            });
            let Some(port) = next else {
                if let Some(done) = current.take() {
                    if let Some(issued) = done.issue.done(done.issued) {
                        report(Event::HostEnd {
                            host: done.host,
                            issued,
                        })?;
                    }
                }
                break;
            };
            if let Some(p) = pacer.as_mut() {
                p.advance();
            }
            cur.issued += 1;
            let host = cur.host.clone();
            let exhausted = exhausted.clone();
            inflight.push(async move {
                let addr = SocketAddr::new(host.ip, port);
                // A connect still in flight at a signal is unknown: it is dropped.
                let probing = async {
                    match &plan.syn {
                        Some(engine) => {
                            let detect = plan.pipeline.detect.is_some();
                            syn_probe(engine, addr, &opts, plan.retries, &exhausted, detect).await
                        }
                        None => (probe(addr, &opts, plan.retries, &exhausted).await, None),
                    }
                };
                let (attempt, syn) = tokio::select! {
                    a = probing => a,
                    _ = cancel.cancelled() => return None,
                };
                let mut result = plan.pipeline.examine(host, port, attempt, cancel).await;
                result.syn = syn;
                Some(result)
            });
        }
        if current.is_none() && no_more_work && inflight.is_empty() {
            return Ok(());
        }
        let want_work = current.is_none() && !no_more_work && inflight.len() < limit;
        tokio::select! {
            biased;
            _ = cancel.cancelled() => {
                // Every probe in flight ends at once on cancellation; report what was known.
                let drain = async {
                    while let Some(result) = inflight.next().await {
                        if let Some(r) = result {
                            report(Event::Port(r))?;
                        }
                    }
                    Ok::<(), io::Error>(())
                };
                return tokio::time::timeout(Duration::from_secs(2), drain).await.unwrap_or(Ok(()));
            }
            Some(result) = inflight.next(), if !inflight.is_empty() => {
                if let Some(r) = result {
                    report(Event::Port(r))?;
                }
            }
            work = work_rx.recv(), if want_work => match work {
                None => no_more_work = true,
                // Every worker sees every item; one of them reports input errors.
                Some(Work::Error(msg)) if shard.index == 0 => report(Event::InputError(msg))?,
                Some(Work::Error(_)) => {}
                Some(Work::Host { host, port, issue }) => {
                    let ports: Box<dyn Iterator<Item = u16> + Send> = match port {
                        Some(p) => Box::new(std::iter::once(p)),
                        None => {
                            let list = port_list.clone();
                            Box::new((0..list.len()).map(move |i| list[i]))
                        }
                    };
                    current = Some(CurrentHost { host, ports, issued: 0, issue });
                }
            },
            _ = sleep_until_opt(pacer_wait), if pacer_wait.is_some() => {}
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at.into()).await;
    }
}

/// Connects, retrying filtered answers `retries` times and waiting out local exhaustion.
async fn probe(
    addr: SocketAddr,
    opts: &ConnectOptions,
    retries: u32,
    exhausted: &Cell<u32>,
) -> Result<(Probed, Option<TcpStream>), ProbeError> {
    let mut tries_left = retries;
    let mut backoff = Duration::from_millis(5);
    let mut waited = Duration::ZERO;
    loop {
        match connect(addr, opts).await {
            Ok(a) if a.state == PortState::Filtered && tries_left > 0 => tries_left -= 1,
            Ok(a) => {
                let probed = Probed {
                    state: a.state,
                    reason: a.reason,
                    rtt: a.rtt,
                };
                return Ok((probed, a.stream));
            }
            Err(LocalError::Exhausted(e)) => {
                exhausted.set(exhausted.get() + 1);
                if waited > Duration::from_secs(60) {
                    let source = LocalError::Exhausted(e);
                    return Err(ProbeError::GaveUp { addr, source });
                }
                tokio::time::sleep(backoff).await;
                waited += backoff;
                backoff = (backoff * 2).min(Duration::from_millis(500));
            }
            Err(source) => return Err(ProbeError::Local { addr, source }),
        }
    }
}

/// Probes with a raw SYN, retrying unanswered ones `retries` times; an open port gets a connect
/// for detection when `detect` (the SYN-ACK itself was answered with a reset by the kernel).
async fn syn_probe(
    engine: &SynEngine,
    addr: SocketAddr,
    opts: &ConnectOptions,
    retries: u32,
    exhausted: &Cell<u32>,
    detect: bool,
) -> (Result<(Probed, Option<TcpStream>), ProbeError>, Option<SynFacts>) {
    let mut tries_left = retries;
    let mut backoff = Duration::from_millis(5);
    let mut waited = Duration::ZERO;
    loop {
        match engine.probe(addr, opts.timeout).await {
            Ok(None) if tries_left > 0 => tries_left -= 1,
            Ok(None) => {
                let probed = Probed {
                    state: PortState::Filtered,
                    reason: crate::net::connect::Reason::NoResponse,
                    rtt: opts.timeout,
                };
                return (Ok((probed, None)), None);
            }
            Ok(Some((answer, rtt))) => {
                let (state, reason) = answer.verdict();
                let stream = if state == PortState::Open && detect {
                    connect(addr, opts).await.ok().and_then(|a| a.stream)
                } else {
                    None
                };
                return (Ok((Probed { state, reason, rtt }, stream)), answer.facts());
            }
            Err(LocalError::Exhausted(e)) => {
                exhausted.set(exhausted.get() + 1);
                if waited > Duration::from_secs(60) {
                    let source = LocalError::Exhausted(e);
                    return (Err(ProbeError::GaveUp { addr, source }), None);
                }
                tokio::time::sleep(backoff).await;
                waited += backoff;
                backoff = (backoff * 2).min(Duration::from_millis(500));
            }
            Err(source) => return (Err(ProbeError::Local { addr, source }), None),
        }
    }
}

/// Sends every work item to every worker (each takes its share); false once nobody listens.
fn broadcast(txs: &[mpsc::Sender<Work>], work: Work) -> bool {
    let mut delivered = false;
    for tx in txs {
        delivered |= tx.blocking_send(work.clone()).is_ok();
    }
    delivered
}

fn produce(
    workers: usize,
    targets: TargetReader,
    family: Family,
    resolve_timeout: Duration,
    txs: &[mpsc::Sender<Work>],
    cancel: &CancellationToken,
) {
    let mut next_id = 0u64;
    let mut send_host = |name: Option<String>, ip: IpAddr, port: Option<u16>| -> bool {
        next_id += 1;
        let host = Arc::new(Host {
            id: next_id,
            name,
            ip,
        });
        let issue = Arc::new(HostIssue {
            workers_left: AtomicUsize::new(workers),
            issued: AtomicUsize::new(0),
        });
        !cancel.is_cancelled() && broadcast(txs, Work::Host { host, port, issue })
    };
    for (origin, spec) in targets {
        let spec = match spec {
            Ok(spec) => spec,
            Err(msg) => {
                if !broadcast(txs, Work::Error(format!("{origin}: {msg}"))) {
                    return;
                }
                continue;
            }
        };
        let literal = match spec.host {
            HostSpec::Addr(ip) | HostSpec::Cidr { network: ip, .. } => Some(ip),
            HostSpec::Name(_) => None,
        };
        if let Some(Err(e)) = literal.map(|ip| family.check_literal(&ip, &origin_text(&spec))) {
            if !broadcast(txs, Work::Error(format!("{origin}: {e}"))) {
                return;
            }
            continue;
        }
        let keep_going = match spec.host {
            HostSpec::Addr(ip) => send_host(None, ip, spec.port),
            HostSpec::Cidr { network, prefix } => {
                CidrIter::new(network, prefix).all(|ip| send_host(None, ip, spec.port))
            }
            HostSpec::Name(name) => match resolve(&name, family, resolve_timeout) {
                Ok(ips) => ips
                    .into_iter()
                    .all(|ip| send_host(Some(name.clone()), ip, spec.port)),
                Err(e) => broadcast(txs, Work::Error(format!("{origin}: {e}"))),
            },
        };
        if !keep_going {
            return;
        }
    }
}

/// The target as it would be typed, for messages.
fn origin_text(spec: &crate::target::TargetSpec) -> String {
    let host = match &spec.host {
        HostSpec::Addr(ip) => ip.to_string(),
        HostSpec::Cidr { network, prefix } => format!("{network}/{prefix}"),
        HostSpec::Name(name) => name.clone(),
    };
    match spec.port {
        Some(p) if host.contains(':') => format!("[{host}]:{p}"),
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

/// Concurrency never shrinks below this when the machine runs out of sockets.
const MIN_CONCURRENCY: usize = 8;

/// Spaces connects `1/rate` seconds apart without bursting after a stall.
struct Pacer {
    interval: Duration,
    next: Instant,
}

impl Pacer {
    fn new(rate: f64) -> Self {
        Pacer {
            // `--rate` is bounded by the parser; a value that still does not fit waits a day.
            interval: Duration::try_from_secs_f64(1.0 / rate).unwrap_or(Duration::from_secs(86_400)),
            next: Instant::now(),
        }
    }

    /// When the next connect may start, if that is still ahead.
    fn must_wait(&mut self) -> Option<Instant> {
        let now = Instant::now();
        if self.next > now {
            return Some(self.next);
        }
        if now - self.next > Duration::from_secs(1) {
            self.next = now;
        }
        None
    }

    fn advance(&mut self) {
        self.next += self.interval;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pacer_spaces_connects() {
        let mut p = Pacer::new(200.0);
        let start = Instant::now();
        for _ in 0..21 {
            if let Some(at) = p.must_wait() {
                tokio::time::sleep_until(at.into()).await;
            }
            p.advance();
        }
        assert!(
            start.elapsed() >= Duration::from_millis(95),
            "{:?}",
            start.elapsed()
        );
    }
}
