//! `connect` and `listen`: open the connection (TCP, STARTTLS, TLS) or accept it, say what
//! happened, and hand the stream to the session. Also the `-k` hub that serves many
//! connections from one stdin and stdout.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::escape::say;
use crate::net::connect::{connect_first, ConnectOptions, PortState, Reason};
use crate::net::starttls::{self, StartTls};
use crate::net::tls::{NameChoice, TlsClient, TlsFacts};
use crate::session::{self, SessionEnd, SessionOptions};

/// Why a connect or listen did not give a session.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("{addr}: closed: connection refused")]
    Closed { addr: SocketAddr },
    #[error("{addr}: filtered: no response after {}", secs(*.after))]
    NoResponse { addr: SocketAddr, after: Duration },
    #[error("{addr}: filtered: {reason}")]
    Filtered { addr: SocketAddr, reason: Reason },
    #[error("{addr}: {message}")]
    Local { addr: SocketAddr, message: String },
    #[error("{addr}: STARTTLS ({proto}): {message}")]
    StartTls {
        addr: SocketAddr,
        proto: StartTls,
        message: String,
    },
    #[error("{addr}: {message}")]
    Tls { addr: SocketAddr, message: String },
    #[error("{addr}: TLS certificate not accepted (--tls-verify): {status} for {name}: {detail}")]
    Untrusted {
        addr: SocketAddr,
        status: crate::net::tls::VerifyStatus,
        name: String,
        detail: String,
    },
    #[error("cannot listen on {addr}: {message}")]
    Bind { addr: SocketAddr, message: String },
    #[error("invalid listen address '{0}': use PORT, ADDR:PORT or [V6ADDR]:PORT")]
    BadListenAddress(String),
}

fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// How to reach the server.
pub struct ConnectPlan {
    /// The first address of the host (for messages before connecting).
    pub addr: SocketAddr,
    /// Every address to try, in the resolver's order (an IP literal has one).
    pub addrs: Vec<SocketAddr>,
    /// The name the user typed (for SNI and messages).
    pub host: String,
    pub timeout: Duration,
    pub bind: Option<SocketAddr>,
    pub zero: bool,
    pub verbose: bool,
    pub tls: Option<TlsPlan>,
    pub session: SessionOptions,
}

/// TLS for `connect`.
pub struct TlsPlan {
    pub client: TlsClient,
    pub names: NameChoice,
    pub starttls: Option<StartTls>,
    pub verify: bool,
    pub insecure: bool,
}

/// Opens the connection (TCP, then STARTTLS and TLS if asked) and runs the session.
pub async fn connect_and_run(
    plan: &ConnectPlan,
    cancel: &CancellationToken,
) -> Result<SessionEnd, EndpointError> {
    let opts = ConnectOptions {
        timeout: plan.timeout,
        zero_linger: plan.zero,
        bind: plan.bind,
    };
    // Every address of the name, in turn (Happy Eyeballs); errors name the first address.
    let first = tokio::select! {
        a = connect_first(&plan.addrs, &opts) => a,
        _ = cancel.cancelled() => return Ok(SessionEnd::Interrupted),
    };
    let (addr, attempt) = first.unwrap_or((
        plan.addr,
        Err(crate::net::connect::LocalError::Other(std::io::Error::other(
            "no address to connect to",
        ))),
    ));
    let attempt = attempt.map_err(|e| EndpointError::Local {
        addr,
        message: e.to_string(),
    })?;
    let mut stream = match (attempt.state, attempt.reason, attempt.stream) {
        (PortState::Open, _, Some(s)) => s,
        (PortState::Closed, _, _) => return Err(EndpointError::Closed { addr }),
        (_, Reason::NoResponse, _) => {
            return Err(EndpointError::NoResponse {
                addr,
                after: plan.timeout,
            })
        }
        (_, reason, _) => return Err(EndpointError::Filtered { addr, reason }),
    };
    if plan.verbose {
        eprintln!(
            "portprobe: connected to {addr} ({:.3} ms)",
            attempt.rtt.as_secs_f64() * 1e3
        );
    }
    if plan.zero {
        return Ok(SessionEnd::StdinClosed);
    }
    let Some(tls) = &plan.tls else {
        return Ok(session::run(stream, &plan.session, cancel).await);
    };
    let deadline = Instant::now() + plan.timeout;
    // The dialogue and the handshake end at a signal too, not only at the -w deadline.
    if let Some(proto) = tls.starttls {
        tokio::select! {
            r = starttls::upgrade(&mut stream, proto, deadline) => r.map_err(|e| EndpointError::StartTls {
                addr,
                proto,
                message: e.to_string(),
            })?,
            _ = cancel.cancelled() => return Ok(SessionEnd::Interrupted),
        };
        if plan.verbose {
            eprintln!("portprobe: STARTTLS ({proto}) accepted");
        }
    }
    let (tls_stream, facts) = tokio::select! {
        r = tls.client.handshake(stream, &tls.names, deadline) => r.map_err(|e| EndpointError::Tls {
            addr,
            message: e.to_string(),
        })?,
        _ = cancel.cancelled() => return Ok(SessionEnd::Interrupted),
    };
    // With --tls-verify a bad certificate is an error below; a warning first would say it twice.
    report_tls(&facts, plan.verbose, tls.insecure || tls.verify);
    let v = &facts.verification;
    if tls.verify && !v.is_valid() {
        return Err(EndpointError::Untrusted {
            addr,
            status: v.status,
            name: v.name.clone(),
            detail: v.detail.clone(),
        });
    }
    Ok(session::run(tls_stream, &plan.session, cancel).await)
}

fn report_tls(facts: &TlsFacts, verbose: bool, insecure: bool) {
    if verbose {
        say(format!("TLS {}", facts.summary()));
        if let Some(leaf) = facts.chain.first() {
            say(format!(
                "certificate {}; issuer {}; valid until {} ({} days); sha256 {}",
                leaf.subject, leaf.issuer, leaf.not_after, leaf.days_left, leaf.sha256
            ));
        }
    }
    let v = &facts.verification;
    if !v.is_valid() && !insecure {
        say(format!(
            "warning: certificate {} for {} ({}); --tls-verify refuses it, --insecure silences this",
            v.status, v.name, v.detail
        ));
    } else if verbose {
        say(format!("certificate {} for {}", v.status, v.name));
    }
}

/// Parses `PORT`, `ADDR:PORT` or `[V6]:PORT`; a bare port listens on every address of the family.
pub fn listen_address(text: &str, v6: bool) -> Result<SocketAddr, EndpointError> {
    let bad = || EndpointError::BadListenAddress(crate::escape::escape_str(text));
    if let Ok(port) = text.parse::<u16>() {
        let ip = if v6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        };
        return Ok(SocketAddr::new(ip, port));
    }
    text.parse::<SocketAddr>().map_err(|_| bad())
}

/// What `listen` serves with.
pub struct ListenPlan {
    pub addr: SocketAddr,
    pub keep_open: bool,
    pub max_conns: usize,
    pub verbose: bool,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub session: SessionOptions,
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, EndpointError> {
    TcpListener::bind(addr).await.map_err(|e| EndpointError::Bind {
        addr,
        message: e.to_string(),
    })
}

/// Accepts one connection (or many with `-k`) and pipes it to stdin/stdout.
pub async fn listen_and_run(
    plan: &ListenPlan,
    cancel: &CancellationToken,
) -> Result<SessionEnd, EndpointError> {
    let listener = bind(plan.addr).await?;
    if plan.verbose {
        let local = listener.local_addr().map_or(plan.addr, |a| a);
        eprintln!("portprobe: listening on {local}");
    }
    if plan.keep_open {
        // Sessions are single-threaded futures (not Send): -k runs them on a local set.
        let local = tokio::task::LocalSet::new();
        return Ok(local.run_until(keep_open(listener, plan, cancel)).await);
    }
    let (stream, peer) = tokio::select! {
        a = listener.accept() => a.map_err(|e| EndpointError::Bind { addr: plan.addr, message: e.to_string() })?,
        _ = cancel.cancelled() => return Ok(SessionEnd::Interrupted),
    };
    drop(listener);
    if plan.verbose {
        eprintln!("portprobe: connection from {peer}");
    }
    match &plan.tls {
        None => Ok(session::run(stream, &plan.session, cancel).await),
        Some(config) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(config.clone());
            let handshake = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream));
            let tls = tokio::select! {
                r = handshake => r,
                _ = cancel.cancelled() => return Ok(SessionEnd::Interrupted),
            };
            let tls = tls
                .map_err(|_| EndpointError::Tls {
                    addr: peer,
                    message: "TLS handshake timed out".into(),
                })?
                .map_err(|e| EndpointError::Tls {
                    addr: peer,
                    message: format!("TLS handshake failed: {e}"),
                })?;
            Ok(session::run(tls, &plan.session, cancel).await)
        }
    }
}

/// `-k`: every connection's input goes to stdout; stdin goes to every connection. Each
/// connection runs the same session pump as a single `listen` (so `--escape`, `-C`, `-i`,
/// `--send-only` apply to each); `--max-conns` is a semaphore whose permit each connection
/// holds until it ends. A client that falls behind stdin by more than the buffer misses that
/// data (it is told on stderr).
async fn keep_open(listener: TcpListener, plan: &ListenPlan, cancel: &CancellationToken) -> SessionEnd {
    let (out_failed_tx, mut out_failed) = tokio::sync::oneshot::channel::<()>();
    let stdout = match session::stdout_writer(Some(out_failed_tx)) {
        Ok(w) => w,
        Err(e) => return SessionEnd::OutputFailed(e.raw_os_error()),
    };
    let (stdin_tx, _) = broadcast::channel::<Arc<Vec<u8>>>(256);
    // Set once stdin has ended, so a client that arrives later is half-closed at once.
    let stdin_ended = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if !plan.session.recv_only {
        let (tx, ended) = (stdin_tx.clone(), stdin_ended.clone());
        let spawned = std::thread::Builder::new().name("stdin".into()).spawn(move || {
            while let Some(chunk) = session::read_stdin_chunk() {
                let _ = tx.send(Arc::new(chunk));
            }
            ended.store(true, std::sync::atomic::Ordering::SeqCst);
            let _ = tx.send(Arc::new(Vec::new())); // empty chunk: stdin ended
        });
        if let Err(e) = spawned {
            return SessionEnd::OutputFailed(e.raw_os_error());
        }
    }
    let permits = Arc::new(Semaphore::new(plan.max_conns));
    let mut sessions = tokio::task::JoinSet::new();
    let end = loop {
        let (stream, peer) = tokio::select! {
            _ = cancel.cancelled() => break SessionEnd::Interrupted,
            _ = &mut out_failed => break SessionEnd::OutputFailed(None),
            // Reap finished sessions so the set does not grow with every client served.
            Some(_) = sessions.join_next(), if !sessions.is_empty() => continue,
            a = listener.accept() => match a { Ok(a) => a, Err(_) => continue },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            say(format!("{peer}: refused, --max-conns {} reached", plan.max_conns));
            drop(stream);
            continue;
        };
        if plan.verbose {
            say(format!("connection from {peer}"));
        }
        let stdin = if plan.session.recv_only {
            None
        } else {
            Some(forward_stdin(
                stdin_tx.subscribe(),
                stdin_ended.load(std::sync::atomic::Ordering::SeqCst),
                peer,
            ))
        };
        let (out, opts, tls, cancel) = (
            stdout.tx.clone(),
            plan.session.clone(),
            plan.tls.clone(),
            cancel.clone(),
        );
        sessions.spawn_local(async move {
            let _permit = permit; // released when this connection ends, however it ends
            let end = match tls {
                None => session::run_with(stream, &opts, &cancel, stdin, out).await,
                Some(config) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(config);
                    let handshake = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream));
                    tokio::select! {
                        r = handshake => match r {
                            Ok(Ok(s)) => session::run_with(s, &opts, &cancel, stdin, out).await,
                            Ok(Err(e)) => {
                                say(format!("{peer}: TLS handshake failed: {e}"));
                                return;
                            }
                            Err(_) => {
                                say(format!("{peer}: TLS handshake timed out"));
                                return;
                            }
                        },
                        _ = cancel.cancelled() => return,
                    }
                }
            };
            if end == SessionEnd::Idle {
                say(format!("{peer}: idle timeout: nothing sent or received; closed"));
            }
        });
    };
    // Sessions see the cancellation (or their stdout is gone) and end promptly; give them a
    // bounded time to finish, then let the writer drain what they sent.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while sessions.join_next().await.is_some() {}
    })
    .await;
    sessions.abort_all();
    drop(sessions);
    let session::StdoutWriter { tx, done } = stdout;
    drop(tx);
    match tokio::time::timeout(Duration::from_secs(5), done).await {
        Ok(Ok(result)) => session::with_output_result(end, result),
        _ => end,
    }
}

/// Feeds one `-k` connection from the shared stdin broadcast; the channel ends at stdin EOF
/// (at once when stdin had ended before the client came).
fn forward_stdin(
    mut rx: broadcast::Receiver<Arc<Vec<u8>>>,
    already_ended: bool,
    peer: SocketAddr,
) -> mpsc::Receiver<Vec<u8>> {
    let (tx, out) = mpsc::channel::<Vec<u8>>(4);
    if already_ended {
        return out;
    }
    tokio::task::spawn_local(async move {
        loop {
            let chunk = tokio::select! {
                c = rx.recv() => c,
                _ = tx.closed() => return, // the session ended
            };
            match chunk {
                Ok(chunk) if chunk.is_empty() => return,
                Ok(chunk) => {
                    if tx.send(chunk.to_vec()).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    say(format!("{peer}: too slow, missed {n} chunks of stdin"));
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        assert_eq!(
            listen_address("9000", false).unwrap(),
            "0.0.0.0:9000".parse().unwrap()
        );
        assert_eq!(
            listen_address("9000", true).unwrap(),
            "[::]:9000".parse().unwrap()
        );
        assert_eq!(
            listen_address("127.0.0.1:9000", false).unwrap(),
            "127.0.0.1:9000".parse().unwrap()
        );
        assert_eq!(
            listen_address("[::1]:9", false).unwrap(),
            "[::1]:9".parse().unwrap()
        );
        assert!(listen_address("localhost:x", false).is_err());
        assert!(listen_address("70000", false).is_err());
    }
}
