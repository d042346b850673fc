//! The scheduler: expands targets lazily, runs connects with bounded concurrency and an optional
//! rate, retries filtered ports, backs off when the machine runs out of sockets, and streams
//! results to the report as they are known.

use std::cell::Cell;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::net::connect::{connect, ConnectOptions, LocalError, PortState};
use crate::net::dialer::Dialer;
use crate::net::syn::{SynEngine, SynFacts};
use crate::net::udp::{self, UdpAttempt, UdpOptions};
use crate::order::{PairSpace, ShardSpec, SpaceWalk};
use crate::pipeline::{Pipeline, PortResult, ProbeError, Probed};
use crate::ports::{PortSet, Proto};
use crate::resume::Done;
use crate::target::{resolve, CidrIter, Exclusions, Family, Host, HostSpec, TargetReader};
use crate::udp_detect::{for_host, UdpPlan};

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
    /// Randomized order: how many hosts the scan covers, told before any port. Hosts get no
    /// `HostEnd` then (their pairs are spread over the whole run).
    Hosts(u64),
}

/// How the scan runs (the semantic part of the command line).
#[derive(Debug, Clone)]
pub struct ScanPlan {
    /// TCP ports.
    pub ports: Arc<PortSet>,
    /// UDP ports (scanned after a host's TCP ports).
    pub udp_ports: Arc<PortSet>,
    /// The protocol of a target's own port (`host:53`).
    pub target_proto: Proto,
    pub family: Family,
    pub timeout: Duration,
    pub retries: u32,
    pub concurrency: usize,
    /// Threads driving connects (each an event loop over its share of the pairs).
    pub workers: usize,
    pub rate: Option<f64>,
    /// `--host-timeout`: no more of a host's ports are issued after this long.
    pub host_timeout: Option<Duration>,
    /// `--exclude`, `--excludefile`: hosts never scanned.
    pub exclude: Arc<Exclusions>,
    pub resolve_timeout: Duration,
    /// What happens to each port after the connect (detection, audit).
    pub pipeline: Pipeline,
    /// `--shard I/N`: the share of the (host, port) pairs this process scans.
    pub shard: ShardSpec,
    /// `--randomize`: the seed of the order of the pairs; `None` scans in target order.
    pub seed: Option<u64>,
    /// `--resume`: pairs an earlier run reported, not scanned again.
    pub done: Option<Arc<Done>>,
    /// Pairs issued so far, for the progress bar (results received are the report's count).
    pub issued: Arc<AtomicU64>,
    /// `--syn`: probe with raw SYNs instead of connects (open ports still get a connect when
    /// detection is on).
    pub syn: Option<Arc<SynEngine>>,
    /// Direct connects, or through the `--proxy` (states then as seen from the proxy).
    pub dialer: Dialer,
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
    let mut sources: Vec<Source> = Vec::with_capacity(workers);
    let mut producer = None;
    if let Some(seed) = plan.seed {
        // A random order needs the whole pair space numbered first: the targets (not their
        // addresses) are read up front, then each worker walks its positions of the permutation.
        let space = Arc::new(pair_space(plan, targets, report, cancel)?);
        report(Event::Hosts(space.hosts()))?;
        for index in 0..workers {
            sources.push(Source::Walk(SpaceWalk::new(
                space.clone(),
                seed,
                plan.shard,
                index,
                workers,
            )));
        }
    } else {
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..workers).map(|_| mpsc::channel::<Work>(64)).unzip();
        sources.extend(receivers.into_iter().map(Source::Targets));
        // Target reading and name resolution block (a pipe that never ends, /dev/zero), so they
        // live on a thread of their own that is not joined after a signal: it may sit in read(2).
        let cancel = cancel.clone();
        let (family, resolve_timeout) = (plan.family, plan.resolve_timeout);
        let exclude = plan.exclude.clone();
        producer = Some(
            std::thread::Builder::new()
                .name("targets".into())
                .spawn(move || {
                    produce(
                        workers,
                        targets,
                        (family, &exclude),
                        resolve_timeout,
                        &senders,
                        &cancel,
                    )
                })?,
        );
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = sources
            .into_iter()
            .zip(runtimes)
            .enumerate()
            .map(|(index, (mut source, rt))| {
                std::thread::Builder::new()
                    .name(format!("scan-{index}"))
                    .spawn_scoped(scope, move || -> io::Result<()> {
                        let shard = Shard { index, of: workers };
                        let result = rt.block_on(drive(plan, shard, &mut source, report, cancel));
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
        } else if let Some(producer) = producer {
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

/// Where a worker's pairs come from: hosts from the target thread (each worker takes its share
/// of their ports), or its own walk of the randomized pair space (already split).
enum Source {
    Targets(mpsc::Receiver<Work>),
    Walk(SpaceWalk),
}

impl Source {
    /// The next host from the target thread; never, for a walk (it is read synchronously).
    async fn recv(&mut self) -> Option<Work> {
        match self {
            Source::Targets(rx) => rx.recv().await,
            Source::Walk(_) => std::future::pending().await,
        }
    }
}

struct CurrentHost {
    host: Arc<Host>,
    /// (position in the port list, protocol, port).
    ports: Box<dyn Iterator<Item = (usize, Proto, u16)> + Send>,
    /// The UDP probes with this host's name filled in.
    udp: Arc<UdpPlan>,
    /// This host's UDP retry pacing (its ICMP rate limit), shared by its ports in this worker.
    gate: Rc<udp::RetryGate>,
    issued: usize,
    /// Absent for a randomized pair: its host does not end here.
    issue: Option<Arc<HostIssue>>,
    /// The ports still need the `--shard` and worker split (hosts from the target thread).
    split: bool,
    /// `--host-timeout`: when this worker stops issuing the host's ports.
    deadline: Option<tokio::time::Instant>,
}

/// Reads every target up front (only the target list is held) and numbers its pairs for a
/// randomized order; a target that cannot be used is reported and left out.
fn pair_space(
    plan: &ScanPlan,
    targets: TargetReader,
    report: &ReportFn<'_>,
    cancel: &CancellationToken,
) -> io::Result<PairSpace> {
    let mut space = PairSpace::new(plan.ports.iter().collect());
    for (origin, spec) in targets {
        if cancel.is_cancelled() {
            break;
        }
        let spec = match spec {
            Ok(spec) => spec,
            Err(msg) => {
                report(Event::InputError(format!("{origin}: {msg}")))?;
                continue;
            }
        };
        let typed = origin_text(&spec);
        let added = match &spec.host {
            HostSpec::Addr(ip) | HostSpec::Cidr { network: ip, .. } => {
                if let Err(e) = plan.family.check_literal(ip, &typed) {
                    report(Event::InputError(format!("{origin}: {e}")))?;
                    continue;
                }
                let prefix = match spec.host {
                    HostSpec::Cidr { prefix, .. } => prefix,
                    _ if ip.is_ipv4() => 32,
                    _ => 128,
                };
                space.add(&typed, *ip, prefix, None, spec.port)
            }
            HostSpec::Range(ranges) => {
                if let Err(e) = plan.family.check_literal(&ranges.first(), &typed) {
                    report(Event::InputError(format!("{origin}: {e}")))?;
                    continue;
                }
                space.add_octets(&typed, ranges.clone(), spec.port)
            }
            HostSpec::Name(name) => match resolve(name, plan.family, plan.resolve_timeout) {
                Ok(ips) => ips.into_iter().try_for_each(|ip| {
                    let bits = if ip.is_ipv4() { 32 } else { 128 };
                    space.add(&typed, ip, bits, Some(name.clone()), spec.port)
                }),
                Err(e) => {
                    report(Event::InputError(format!("{origin}: {e}")))?;
                    continue;
                }
            },
        };
        if let Err(e) = added {
            report(Event::InputError(format!("{origin}: {e}")))?;
        }
    }
    Ok(space)
}

async fn drive(
    plan: &ScanPlan,
    shard: Shard,
    source: &mut Source,
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
    let port_list: Arc<[(Proto, u16)]> = plan
        .ports
        .iter()
        .map(|p| (Proto::Tcp, p))
        .chain(plan.udp_ports.iter().map(|p| (Proto::Udp, p)))
        .collect();
    let no_udp = Arc::new(UdpPlan {
        probes: Vec::new(),
        opts: UdpOptions::default(),
        all_on_retry: false,
    });
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
            if let (None, Source::Walk(walk)) = (&current, &mut *source) {
                match walk.next() {
                    Some((host, _)) if plan.exclude.contains(&host.ip, host.name.as_deref()) => continue,
                    Some((host, port)) => {
                        current = Some(CurrentHost {
                            host: Arc::new(host),
                            ports: Box::new(std::iter::once((0, Proto::Tcp, port))),
                            udp: no_udp.clone(),
                            gate: Rc::new(udp::RetryGate::default()),
                            issued: 0,
                            issue: None,
                            split: false,
                            deadline: None,
                        })
                    }
                    None => no_more_work = true,
                }
            }
            let Some(cur) = current.as_mut() else { break };
            if let Some(at) = pacer.as_mut().and_then(Pacer::must_wait) {
                pacer_wait = Some(at);
                break;
            }
            let (ip, host_number, split) = (cur.host.ip, cur.host.id.saturating_sub(1), cur.split);
            let next = if cur.deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                // Out of time for this host: skip its other ports, keeping the pair count every
                // worker shares in step (it counts this process's share only).
                pair += cur
                    .ports
                    .by_ref()
                    .filter(|&(position, _, _)| !split || plan.shard.takes(host_number, position))
                    .count();
                None
            } else {
                cur.ports.by_ref().find(|&(position, proto, port)| {
                    if split {
                        // This process's share (--shard), then this worker's share of that.
                        if !plan.shard.takes(host_number, position) {
                            return false;
                        }
                        pair += 1;
                        if (pair - 1) % shard.of != shard.index {
                            return false;
                        }
                    }
                    // Reported by the run being resumed: not issued, so the host's count stays
                    // right. The resume file's pairs are TCP ones: UDP ports are scanned again.
                    !(proto == Proto::Tcp && plan.done.as_ref().is_some_and(|d| d.contains(ip, port)))
                })
            };
            let Some((_, proto, port)) = next else {
                if let Some(done) = current.take() {
                    if let Some(issued) = done.issue.and_then(|issue| issue.done(done.issued)) {
                        report(Event::HostEnd {
                            host: done.host,
                            issued,
                        })?;
                    }
                }
                if matches!(source, Source::Walk(_)) {
                    continue; // the next pair of the walk
                }
                break;
            };
            if let Some(p) = pacer.as_mut() {
                p.advance();
            }
            cur.issued += 1;
            plan.issued.fetch_add(1, Ordering::Relaxed);
            let host = cur.host.clone();
            let udp_plan = cur.udp.clone();
            let gate = cur.gate.clone();
            let exhausted = exhausted.clone();
            inflight.push(async move {
                let addr = SocketAddr::new(host.ip, port);
                if proto == Proto::Udp {
                    let payloads = udp_plan.payloads(port);
                    let (first, more) = (payloads.first_bytes(), payloads.more_bytes());
                    let attempt = tokio::select! {
                        a = probe_udp(addr, &first, &more, &udp_plan.opts, &gate, &exhausted) => a,
                        _ = cancel.cancelled() => return None,
                    };
                    let sent: Vec<_> = payloads.first.iter().chain(&payloads.more).copied().collect();
                    return Some(plan.pipeline.examine_udp(host, port, attempt, &sent));
                }
                // A connect still in flight at a signal is unknown: it is dropped.
                let probing = async {
                    match &plan.syn {
                        Some(engine) => {
                            let detect = plan.pipeline.detect.is_some();
                            syn_probe(engine, addr, &opts, plan.retries, &exhausted, detect).await
                        }
                        None => (
                            probe(&plan.dialer, addr, &opts, plan.retries, &exhausted).await,
                            None,
                        ),
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
            work = source.recv(), if want_work && matches!(source, Source::Targets(_)) => match work {
                None => no_more_work = true,
                // Every worker sees every item; one of them reports input errors.
                Some(Work::Error(msg)) if shard.index == 0 => report(Event::InputError(msg))?,
                Some(Work::Error(_)) => {}
                Some(Work::Host { host, port, issue }) => {
                    let ports: Box<dyn Iterator<Item = (usize, Proto, u16)> + Send> = match port {
                        Some(p) => Box::new(std::iter::once((0, plan.target_proto, p))),
                        None => {
                            let list = port_list.clone();
                            Box::new((0..list.len()).map(move |i| (i, list[i].0, list[i].1)))
                        }
                    };
                    let udp = match &plan.pipeline.udp {
                        Some(u) => for_host(u, &host.probe_name()),
                        None => no_udp.clone(),
                    };
                    let gate = Rc::new(udp::RetryGate::default());
                    let deadline = plan.host_timeout.map(|t| tokio::time::Instant::now() + t);
                    current = Some(CurrentHost {
                        host,
                        ports,
                        udp,
                        gate,
                        issued: 0,
                        issue: Some(issue),
                        split: true,
                        deadline,
                    });
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
    dialer: &Dialer,
    addr: SocketAddr,
    opts: &ConnectOptions,
    retries: u32,
    exhausted: &Cell<u32>,
) -> Result<(Probed, Option<TcpStream>), ProbeError> {
    let mut tries_left = retries;
    let mut backoff = Duration::from_millis(5);
    let mut waited = Duration::ZERO;
    loop {
        match dialer.connect(addr, opts).await {
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

/// Probes a UDP port, waiting out local exhaustion as [`probe`] does.
async fn probe_udp(
    addr: SocketAddr,
    first: &[&[u8]],
    more: &[&[u8]],
    opts: &UdpOptions,
    gate: &udp::RetryGate,
    exhausted: &Cell<u32>,
) -> Result<UdpAttempt, ProbeError> {
    let mut backoff = Duration::from_millis(5);
    let mut waited = Duration::ZERO;
    loop {
        match udp::probe_paced(addr, first, more, opts, gate).await {
            Ok(a) => return Ok(a),
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
    (family, exclude): (Family, &Exclusions),
    resolve_timeout: Duration,
    txs: &[mpsc::Sender<Work>],
    cancel: &CancellationToken,
) {
    let mut next_id = 0u64;
    let mut send_host = |name: Option<String>, ip: IpAddr, port: Option<u16>| -> bool {
        if exclude.contains(&ip, name.as_deref()) {
            return !cancel.is_cancelled();
        }
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
            HostSpec::Range(ref r) => Some(r.first()),
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
            HostSpec::Range(r) => r.iter().all(|ip| send_host(None, ip, spec.port)),
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
        HostSpec::Range(r) => r.to_string(),
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
