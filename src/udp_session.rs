//! UDP sessions, like `nc -u`: `connect -u` sends each stdin chunk as one datagram and writes
//! each datagram that comes back to stdout; `listen -u` writes what peers send and answers the
//! last peer (the first one only, without `-k`). Byte-exact both ways, with deadlines.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::atomic::AtomicI32;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::cli::{ConnectArgs, ListenArgs};
use crate::commands::{CommandError, Outcome};
use crate::config::{self, ConfigError};
use crate::escape::say;
use crate::net::access::AccessList;
use crate::net::connect::{LocalError, PortState, Reason};
use crate::net::udp::{self, classify_udp_error, connected_socket, UdpOptions};
use crate::session::{stdin_reader, EofMode, SessionOptions};
use crate::session_log::Direction;

/// Most bytes of one datagram (the UDP maximum).
const DATAGRAM_CAP: usize = 65_536;
/// After stdin EOF, how long replies are still awaited when `-q` is not given: UDP has no
/// close, so the end of input cannot be told to the peer.
pub const EOF_WAIT: Duration = Duration::from_secs(2);
/// Chunks read from stdin before `listen -u` knows a peer to send them to.
const PENDING_CAP: usize = 64;

/// Why a UDP session did not run or ended badly.
#[derive(Debug, thiserror::Error)]
pub enum UdpError {
    #[error("{addr}: closed: port unreachable (ICMP)")]
    Closed { addr: SocketAddr },
    #[error("{addr}: filtered: {reason}")]
    Filtered { addr: SocketAddr, reason: Reason },
    #[error("{addr}: open|filtered: no answer after {}", secs(*.after))]
    NoAnswer { addr: SocketAddr, after: Duration },
    #[error("{addr}: {source}")]
    Local { addr: SocketAddr, source: LocalError },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("idle timeout: nothing sent or received")]
    Idle,
    #[error("cannot write output: {0}")]
    Output(io::Error),
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// The one peer of a `connect -u`, or the listener's address and who may talk to it.
enum Side {
    Connect(SocketAddr),
    Listen {
        addr: SocketAddr,
        keep_open: bool,
        access: AccessList,
        verbose: bool,
    },
}

/// `connect -u`: a datagram session with HOST PORT, or with `-z` one probe of the port.
pub fn connect_command(args: &ConnectArgs, signal_rt: SignalRuntime) -> Result<Outcome, CommandError> {
    if let Some(flag) = connect_conflict(args) {
        return Err(ConfigError::UdpConflict(flag).into());
    }
    let plan = config::connect_plan(args, false)?;
    // A name resolves to several addresses; a datagram goes to the first (no connect to fail
    // over on), as nc -u does.
    let (Some(&ip), Some(&port)) = (plan.ips.first(), plan.ports.first()) else {
        return Err(ConfigError::Listen("connect -u needs HOST and PORT".into()).into());
    };
    let addr = SocketAddr::new(ip, port);
    let (rt, cancel, signal) = signal_rt()?;
    let verbose = args.session.verbose > 0;
    let result = rt.block_on(async {
        if args.zero {
            // -z with several ports: each in turn; success when one answers.
            let mut last = Ok(Outcome::Negative);
            for &port in &plan.ports {
                last = zero(SocketAddr::new(ip, port), plan.timeout, verbose, &cancel).await;
                if let Err(e) = &last {
                    if plan.ports.len() > 1 {
                        say(e.to_string());
                    }
                }
                if matches!(last, Ok(Outcome::Interrupted(_))) {
                    return last;
                }
            }
            return if plan.ports.len() > 1 {
                Ok(if last.is_ok() {
                    Outcome::Success
                } else {
                    Outcome::Negative
                })
            } else {
                last
            };
        }
        let socket = connected_socket(addr, plan.bind).map_err(|source| UdpError::Local { addr, source })?;
        if verbose {
            let local = socket.local_addr().map(|a| a.to_string()).unwrap_or_default();
            say(format!("UDP to {addr} from {local}"));
        }
        pump(socket, Side::Connect(addr), &plan.session, &cancel).await
    });
    rt.shutdown_background();
    Ok(outcome(result, &signal))
}

/// `listen -u`: datagrams from peers to stdout, stdin to the last peer.
pub fn listen_command(args: &ListenArgs, signal_rt: SignalRuntime) -> Result<Outcome, CommandError> {
    if args.tls || args.cert.is_some() || args.key.is_some() {
        return Err(ConfigError::UdpConflict("--tls").into());
    }
    if args.unix.is_some() {
        return Err(ConfigError::UdpConflict("-U").into());
    }
    let text = args.address.as_deref().unwrap_or_default();
    let addr = crate::endpoint::listen_address(text, args.family.ipv6)
        .map_err(|e| ConfigError::Listen(e.to_string()))?;
    let access = config::access_list(args)?;
    let session = config::session_options(&args.session, false, false)?;
    let (rt, cancel, signal) = signal_rt()?;
    let result = rt.block_on(async {
        let socket = std::net::UdpSocket::bind(addr)
            .and_then(|s| {
                s.set_nonblocking(true)?;
                UdpSocket::from_std(s)
            })
            .map_err(|source| UdpError::Bind { addr, source })?;
        if args.session.verbose > 0 {
            let local = socket.local_addr().map(|a| a.to_string()).unwrap_or_default();
            say(format!("listening on UDP {local}"));
        }
        let side = Side::Listen {
            addr,
            keep_open: args.keep_open,
            access,
            verbose: args.session.verbose > 0,
        };
        pump(socket, side, &session, &cancel).await
    });
    rt.shutdown_background();
    Ok(outcome(result, &signal))
}

/// Builds the runtime, the cancellation token and the signal watcher (from `commands`).
pub type SignalRuntime<'a> = &'a dyn Fn() -> Result<
    (
        tokio::runtime::Runtime,
        CancellationToken,
        std::sync::Arc<AtomicI32>,
    ),
    CommandError,
>;

/// The first option of `connect` that needs a stream, if one was given with `-u`.
fn connect_conflict(args: &ConnectArgs) -> Option<&'static str> {
    let t = &args.tls_args;
    [
        (args.tls, "--tls"),
        (args.starttls.is_some(), "--starttls"),
        (args.telnet, "--telnet"),
        (args.tls_verify, "--tls-verify"),
        (args.insecure, "--insecure"),
        (args.alpn.is_some(), "--alpn"),
        (t.ca_file.is_some(), "--ca-file"),
        (t.sni.is_some(), "--sni"),
        (t.no_sni, "--no-sni"),
        (args.unix.is_some(), "-U"),
        (args.proxy.proxy_nc.is_some(), "-x"),
        (args.proxy.proxy_ncat.is_some(), "--proxy"),
    ]
    .into_iter()
    .find_map(|(given, flag)| given.then_some(flag))
}

fn outcome(result: Result<Outcome, UdpError>, signal: &AtomicI32) -> Outcome {
    match result {
        Ok(Outcome::Interrupted(_)) => {
            Outcome::Interrupted(match signal.load(std::sync::atomic::Ordering::SeqCst) {
                0 => 130,
                code => code,
            })
        }
        Ok(o) => o,
        Err(e) => {
            say(e.to_string());
            Outcome::Negative
        }
    }
}

/// `connect -u -z`: the port's state, as `scan -u` finds it with the port's protocol payloads.
async fn zero(
    addr: SocketAddr,
    wait: Duration,
    verbose: bool,
    cancel: &CancellationToken,
) -> Result<Outcome, UdpError> {
    let db = crate::fingerprint::Database::load(&[]).map_err(|e| UdpError::Local {
        addr,
        source: LocalError::Other(io::Error::other(e.to_string())),
    })?;
    let opts = UdpOptions {
        timeout: wait
            .min(Duration::from_millis(1500))
            .max(Duration::from_millis(10)),
        ..UdpOptions::default()
    };
    let plan = crate::udp_detect::UdpPlan::from_db(&db, opts, false, None);
    let first = plan.payloads(addr.port()).first_bytes();
    let attempt = tokio::select! {
        a = udp::probe(addr, &first, &[], &opts) => a,
        _ = cancel.cancelled() => return Ok(Outcome::Interrupted(130)),
    }
    .map_err(|source| UdpError::Local { addr, source })?;
    match attempt.state {
        PortState::Open => {
            if verbose {
                say(format!("{addr}/udp open ({})", attempt.reason));
            }
            Ok(Outcome::Success)
        }
        PortState::Closed => Err(UdpError::Closed { addr }),
        PortState::OpenFiltered => Err(UdpError::NoAnswer {
            addr,
            after: opts.timeout * (opts.retries + 1),
        }),
        PortState::Filtered => Err(UdpError::Filtered {
            addr,
            reason: attempt.reason,
        }),
    }
}

/// Bare LF to CRLF (`-C`), `last_cr` carried across chunks.
fn crlf(input: &[u8], last_cr: &mut bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + 8);
    for &b in input {
        if b == b'\n' && !*last_cr {
            out.push(b'\r');
        }
        out.push(b);
        *last_cr = b == b'\r';
    }
    out
}

/// Moves datagrams between the socket and stdin/stdout until stdin ends (then `-q`, or
/// [`EOF_WAIT`]), `-i` passes idle, or a signal.
async fn pump(
    socket: UdpSocket,
    side: Side,
    opts: &SessionOptions,
    cancel: &CancellationToken,
) -> Result<Outcome, UdpError> {
    let mut stdin = if opts.recv_only {
        None
    } else {
        Some(stdin_reader().map_err(UdpError::Output)?)
    };
    let mut stdout = io::stdout().lock();
    let mut buf = vec![0u8; DATAGRAM_CAP];
    let mut peer: Option<SocketAddr> = match side {
        Side::Connect(addr) => Some(addr),
        Side::Listen { .. } => None,
    };
    let (listen_addr, keep_open) = match &side {
        Side::Listen { addr, keep_open, .. } => (Some(*addr), *keep_open),
        Side::Connect(_) => (None, false),
    };
    let mut pending: Vec<Vec<u8>> = Vec::new();
    let mut last_cr = false;
    let mut eof_deadline: Option<Instant> = None;
    let idle = opts.idle_timeout;
    let mut last_activity = Instant::now();
    loop {
        let idle_at = idle.map(|d| last_activity + d);
        let stop_at = match (eof_deadline, idle_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        tokio::select! {
            _ = cancel.cancelled() => return Ok(Outcome::Interrupted(130)),
            _ = sleep_until_opt(stop_at), if stop_at.is_some() => {
                if eof_deadline.is_some_and(|at| Instant::now() >= at) {
                    return Ok(Outcome::Success);
                }
                return Err(UdpError::Idle);
            }
            chunk = recv_opt(&mut stdin), if stdin.is_some() => match chunk {
                Some(data) => {
                    last_activity = Instant::now();
                    let data = if opts.crlf { crlf(&data, &mut last_cr) } else { data };
                    if let Some(log) = &opts.log {
                        log.record(Direction::Sent, &data);
                    }
                    match (&side, peer) {
                        (Side::Connect(addr), _) => {
                            if let Err(e) = socket.send(&data).await {
                                return Err(refused(*addr, e));
                            }
                        }
                        (Side::Listen { .. }, Some(to)) => {
                            // A peer that went away: the datagram is lost, as in nc.
                            let _ = socket.send_to(&data, to).await;
                        }
                        (Side::Listen { .. }, None) => {
                            if pending.len() < PENDING_CAP {
                                pending.push(data);
                            }
                        }
                    }
                }
                None => {
                    stdin = None;
                    match opts.eof {
                        EofMode::Close => return Ok(Outcome::Success),
                        EofMode::QuitAfter(d) => eof_deadline = Some(Instant::now() + d),
                        // A listener serves until a signal or -i, as `nc -l -u`; a client waits
                        // a little for the last answers.
                        EofMode::HalfClose if listen_addr.is_none() => eof_deadline = Some(Instant::now() + EOF_WAIT),
                        EofMode::HalfClose => {}
                    }
                    if opts.send_only {
                        return Ok(Outcome::Success);
                    }
                }
            },
            got = socket.recv_from(&mut buf) => match got {
                Ok((n, from)) => {
                    match (&side, peer) {
                        (Side::Connect(_), _) => {}
                        // --allow/--deny: a datagram from a peer not permitted is dropped.
                        (Side::Listen { access, verbose, .. }, _) if !access.permits(from.ip()) => {
                            if *verbose {
                                say(format!("{from}: refused by --allow/--deny"));
                            }
                            continue;
                        }
                        // Without -k the first peer is the only one, as nc -l -u.
                        (Side::Listen { .. }, Some(p)) if p != from && !keep_open => continue,
                        (Side::Listen { .. }, _) => {
                            if peer.is_none() {
                                for data in pending.drain(..) {
                                    let _ = socket.send_to(&data, from).await;
                                }
                            }
                            peer = Some(from);
                        }
                    }
                    last_activity = Instant::now();
                    if opts.send_only {
                        continue;
                    }
                    let data = &buf[..n];
                    if let Some(log) = &opts.log {
                        log.record(Direction::Received, data);
                    }
                    let shown;
                    let out = if opts.escape_output {
                        shown = crate::escape::escape_for_display(data);
                        &shown[..]
                    } else {
                        data
                    };
                    stdout.write_all(out).and_then(|_| stdout.flush()).map_err(UdpError::Output)?;
                }
                Err(e) => match &side {
                    Side::Connect(addr) => return Err(refused(*addr, e)),
                    // An ICMP error for a datagram to a peer that left: keep serving.
                    Side::Listen { .. } => {}
                },
            },
        }
    }
}

/// An error of the connected socket: the peer's ICMP answer, or a local problem.
fn refused(addr: SocketAddr, e: io::Error) -> UdpError {
    match classify_udp_error(e) {
        Ok((PortState::Closed, _)) => UdpError::Closed { addr },
        Ok((_, reason)) => UdpError::Filtered { addr, reason },
        Err(source) => UdpError::Local { addr, source },
    }
}

async fn recv_opt(rx: &mut Option<tokio::sync::mpsc::Receiver<Vec<u8>>>) -> Option<Vec<u8>> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_only_for_bare_lf() {
        let mut cr = false;
        assert_eq!(crlf(b"a\nb\r\n", &mut cr), b"a\r\nb\r\n");
        assert_eq!(crlf(b"x\r", &mut cr), b"x\r");
        assert_eq!(crlf(b"\ny", &mut cr), b"\ny");
    }
}
