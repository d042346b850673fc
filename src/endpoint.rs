//! `connect` and `listen`: open the connection (TCP, STARTTLS, TLS) or accept it, say what
//! happened, and hand the stream to the session. Also the `-k` hub that serves many
//! connections from one stdin and stdout.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::escape::say;
use crate::net::access::AccessList;
use crate::net::connect::{connect_first, ConnectOptions, PortState, Reason};
use crate::net::proxy::{self, ProxyAuth, ProxyKind, ProxyTarget};
use crate::net::starttls::{self, StartTls};
use crate::net::tls::{NameChoice, TlsClient, TlsFacts};
use crate::session::{self, RawTerminal, SessionEnd, SessionOptions};

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
    #[error("{peer}: {message}")]
    TlsPeer { peer: String, message: String },
    #[error("{addr}: TLS certificate not accepted (--tls-verify): {status} for {name}: {detail}")]
    Untrusted {
        addr: SocketAddr,
        status: crate::net::tls::VerifyStatus,
        name: String,
        detail: String,
    },
    #[error("cannot listen on {addr}: {message}")]
    Bind { addr: String, message: String },
    #[error("proxy {0}")]
    ProxyConnect(Box<EndpointError>),
    #[error("proxy {proxy}: {source}")]
    Proxy {
        proxy: SocketAddr,
        source: crate::net::proxy::ProxyError,
    },
    #[error("{path}: {message}")]
    Unix { path: String, message: String },
    #[error("{path}: no connection after {}", secs(*.after))]
    UnixTimeout { path: String, after: Duration },
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
    /// Every address of the host, in the resolver's order (an IP literal has one; empty when a
    /// proxy resolves the name).
    pub ips: Vec<IpAddr>,
    /// The ports to connect to (several only with `-z`).
    pub ports: Vec<u16>,
    /// The name the user typed (for SNI and messages).
    pub host: String,
    /// `-U PATH`: a Unix-domain stream socket instead of host and port.
    pub unix: Option<PathBuf>,
    /// Through a proxy.
    pub proxy: Option<ProxyPlan>,
    pub timeout: Duration,
    pub bind: Option<SocketAddr>,
    pub zero: bool,
    pub verbose: bool,
    pub tls: Option<TlsPlan>,
    pub session: SessionOptions,
}

/// `-x`/`--proxy`: the proxy and how to talk to it.
pub struct ProxyPlan {
    /// The proxy's addresses (its name is resolved here).
    pub addrs: Vec<SocketAddr>,
    pub kind: ProxyKind,
    pub auth: Option<ProxyAuth>,
    /// Let the proxy resolve the host name (SOCKS5 and HTTP: what curl calls socks5h).
    pub remote_names: bool,
}

/// TLS for `connect`.
pub struct TlsPlan {
    pub client: TlsClient,
    pub names: NameChoice,
    pub starttls: Option<StartTls>,
    pub verify: bool,
    pub insecure: bool,
}

/// A connected stream of any kind (TCP, through a proxy or not; Unix), for the session.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

impl ConnectPlan {
    /// The first address of the host for `port`, if known here.
    fn first_addr(&self, port: u16) -> Option<SocketAddr> {
        self.ips.first().map(|&ip| SocketAddr::new(ip, port))
    }

    /// How the target is named in messages: its address, or the name the proxy resolves.
    fn shown(&self, port: u16) -> String {
        match self.first_addr(port) {
            Some(a) => a.to_string(),
            None => format!("{}:{port}", crate::escape::escape_str(&self.host)),
        }
    }
}

/// Connects TCP to `port` (directly or through the proxy); `Ok(None)` when interrupted.
async fn open_tcp(
    plan: &ConnectPlan,
    port: u16,
    cancel: &CancellationToken,
) -> Result<Option<(TcpStream, Duration)>, EndpointError> {
    let opts = ConnectOptions {
        timeout: plan.timeout,
        zero_linger: plan.zero && plan.proxy.is_none(),
        bind: plan.bind,
    };
    let addrs: Vec<SocketAddr> = match &plan.proxy {
        Some(p) => p.addrs.clone(),
        None => plan.ips.iter().map(|&ip| SocketAddr::new(ip, port)).collect(),
    };
    let started = Instant::now();
    // Every address of the name, in turn (Happy Eyeballs); errors name the first address.
    let first = tokio::select! {
        a = connect_first(&addrs, &opts) => a,
        _ = cancel.cancelled() => return Ok(None),
    };
    let fallback = addrs
        .first()
        .copied()
        .unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    let (addr, attempt) = first.unwrap_or((
        fallback,
        Err(crate::net::connect::LocalError::Other(std::io::Error::other(
            "no address to connect to",
        ))),
    ));
    let direct = async {
        let attempt = attempt.map_err(|e| EndpointError::Local {
            addr,
            message: e.to_string(),
        })?;
        match (attempt.state, attempt.reason, attempt.stream) {
            (PortState::Open, _, Some(s)) => Ok((s, attempt.rtt)),
            (PortState::Closed, _, _) => Err(EndpointError::Closed { addr }),
            (_, Reason::NoResponse, _) => Err(EndpointError::NoResponse {
                addr,
                after: plan.timeout,
            }),
            (_, reason, _) => Err(EndpointError::Filtered { addr, reason }),
        }
    }
    .await;
    let Some(proxy) = &plan.proxy else {
        return direct.map(Some);
    };
    let (stream, _) = direct.map_err(|e| EndpointError::ProxyConnect(Box::new(e)))?;
    if plan.verbose {
        say(format!("connected to the {} proxy {addr}", proxy.kind));
    }
    let target = match plan.first_addr(port) {
        Some(a) if !proxy.remote_names || plan.host.parse::<IpAddr>().is_ok() => ProxyTarget::Addr(a),
        _ => ProxyTarget::Name(plan.host.clone(), port),
    };
    let deadline = started + plan.timeout;
    let tunnelled = tokio::select! {
        r = proxy::tunnel(stream, proxy.kind, &target, proxy.auth.as_ref(), deadline) => r,
        _ = cancel.cancelled() => return Ok(None),
    };
    let stream = tunnelled.map_err(|source| EndpointError::Proxy { proxy: addr, source })?;
    Ok(Some((stream, started.elapsed())))
}

/// Opens the connection (TCP, then STARTTLS and TLS if asked) and runs the session; with `-z`
/// and several ports, says on stdout how each port answered.
pub async fn connect_and_run(
    plan: &ConnectPlan,
    cancel: &CancellationToken,
) -> Result<SessionEnd, EndpointError> {
    if let Some(path) = &plan.unix {
        let shown = crate::escape::escape_str(&path.display().to_string());
        let stream = tokio::select! {
            r = tokio::time::timeout(plan.timeout, UnixStream::connect(path)) => r,
            _ = cancel.cancelled() => return Ok(SessionEnd::Interrupted),
        };
        let stream = stream
            .map_err(|_| EndpointError::UnixTimeout {
                path: shown.clone(),
                after: plan.timeout,
            })?
            .map_err(|e| EndpointError::Unix {
                path: shown.clone(),
                message: e.to_string(),
            })?;
        if plan.verbose {
            say(format!("connected to {shown}"));
        }
        let _raw = terminal_for(plan, &shown);
        return Ok(session::run(stream, &plan.session, cancel).await);
    }
    if plan.zero && plan.ports.len() > 1 {
        return zero_scan(plan, cancel).await;
    }
    let port = plan.ports.first().copied().unwrap_or(0);
    let Some((mut stream, rtt)) = open_tcp(plan, port, cancel).await? else {
        return Ok(SessionEnd::Interrupted);
    };
    let addr = stream
        .peer_addr()
        .unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    if plan.verbose {
        let via = if plan.proxy.is_some() {
            format!(" through the proxy {addr}")
        } else {
            String::new()
        };
        say(format!(
            "connected to {}{via} ({:.3} ms)",
            plan.shown(port),
            rtt.as_secs_f64() * 1e3
        ));
    }
    if plan.zero {
        return Ok(SessionEnd::StdinClosed);
    }
    let Some(tls) = &plan.tls else {
        let _raw = terminal_for(plan, &plan.shown(port));
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
    let _raw = terminal_for(plan, &plan.shown(port));
    Ok(session::run(tls_stream, &plan.session, cancel).await)
}

/// An interactive session's terminal goes raw only once the connection exists (so Ctrl-C
/// works while connecting, and "connected" is only said when true); restored on drop.
fn terminal_for(plan: &ConnectPlan, shown: &str) -> Option<RawTerminal> {
    if !plan.session.interactive {
        return None;
    }
    let raw = RawTerminal::enable()?;
    let key = match plan.session.escape_key {
        Some(k) => format!("escape key is {}", session::key_name(k)),
        None => "no escape key".to_string(),
    };
    eprint!("portprobe: connected to {shown}; {key}\r\n");
    Some(raw)
}

/// `connect -z HOST 20-25 80`: one line per port on stdout, in port order; `StdinClosed`
/// (exit 0) when any port is open, `NoneOpen` (exit 1) otherwise.
async fn zero_scan(plan: &ConnectPlan, cancel: &CancellationToken) -> Result<SessionEnd, EndpointError> {
    let mut any_open = false;
    let mut out = std::io::stdout().lock();
    for &port in &plan.ports {
        let line = match open_tcp(plan, port, cancel).await {
            Ok(None) => return Ok(SessionEnd::Interrupted),
            Ok(Some((_, rtt))) => {
                any_open = true;
                format!("{}: open ({:.3} ms)", plan.shown(port), rtt.as_secs_f64() * 1e3)
            }
            Err(e) => e.to_string(),
        };
        if let Err(e) = writeln!(out, "{}", crate::escape::for_terminal(&line)) {
            return Ok(SessionEnd::OutputFailed(e.raw_os_error()));
        }
    }
    Ok(if any_open {
        SessionEnd::StdinClosed
    } else {
        SessionEnd::NoneOpen
    })
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

/// Where `listen` listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenOn {
    Tcp(SocketAddr),
    /// `-U PATH`: a Unix-domain stream socket, created here and removed at exit.
    Unix(PathBuf),
}

/// What `listen` serves with.
pub struct ListenPlan {
    pub on: ListenOn,
    pub keep_open: bool,
    pub max_conns: usize,
    pub verbose: bool,
    /// `--allow`/`--deny`: peers not permitted are closed on arrival.
    pub access: AccessList,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub session: SessionOptions,
}

/// Who connected.
#[derive(Debug, Clone, Copy)]
enum Peer {
    Ip(SocketAddr),
    Unix,
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Peer::Ip(a) => write!(f, "{a}"),
            Peer::Unix => f.write_str("a local process (unix socket)"),
        }
    }
}

/// A bound listener of either kind; a Unix socket's file is removed when it drops.
enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Listener {
    async fn bind(on: &ListenOn) -> Result<Listener, EndpointError> {
        match on {
            ListenOn::Tcp(addr) => {
                TcpListener::bind(addr)
                    .await
                    .map(Listener::Tcp)
                    .map_err(|e| EndpointError::Bind {
                        addr: addr.to_string(),
                        message: e.to_string(),
                    })
            }
            // An existing file is never replaced: it may be someone else's socket.
            ListenOn::Unix(path) => {
                let shown = crate::escape::escape_str(&path.display().to_string());
                if std::fs::symlink_metadata(path).is_ok() {
                    return Err(EndpointError::Bind {
                        addr: shown,
                        message: "the file exists; remove it first (an existing file is never replaced)"
                            .into(),
                    });
                }
                UnixListener::bind(path)
                    .map(|l| Listener::Unix(l, path.clone()))
                    .map_err(|e| EndpointError::Bind {
                        addr: shown,
                        message: e.to_string(),
                    })
            }
        }
    }

    fn shown(&self, on: &ListenOn) -> String {
        match (self, on) {
            (Listener::Tcp(l), ListenOn::Tcp(a)) => l.local_addr().map_or(*a, |a| a).to_string(),
            (_, ListenOn::Unix(p)) | (Listener::Unix(_, p), _) => {
                crate::escape::escape_str(&p.display().to_string())
            }
        }
    }

    async fn accept(&self) -> std::io::Result<(Box<dyn Io>, Peer)> {
        match self {
            Listener::Tcp(l) => l
                .accept()
                .await
                .map(|(s, a)| (Box::new(s) as Box<dyn Io>, Peer::Ip(a))),
            Listener::Unix(l, _) => l
                .accept()
                .await
                .map(|(s, _)| (Box::new(s) as Box<dyn Io>, Peer::Unix)),
        }
    }
}

/// Whether `--allow`/`--deny` let `peer` in; a refusal is said with `-v`.
fn admitted(plan: &ListenPlan, peer: Peer) -> bool {
    let ok = match peer {
        Peer::Ip(a) => plan.access.permits(a.ip()),
        Peer::Unix => true,
    };
    if !ok && plan.verbose {
        say(format!("{peer}: refused by --allow/--deny"));
    }
    ok
}

/// Accepts one connection (or many with `-k`) and pipes it to stdin/stdout.
pub async fn listen_and_run(
    plan: &ListenPlan,
    cancel: &CancellationToken,
) -> Result<SessionEnd, EndpointError> {
    let listener = Listener::bind(&plan.on).await?;
    if plan.verbose {
        say(format!("listening on {}", listener.shown(&plan.on)));
    }
    if plan.keep_open {
        // Sessions are single-threaded futures (not Send): -k runs them on a local set.
        let local = tokio::task::LocalSet::new();
        return Ok(local.run_until(keep_open(&listener, plan, cancel)).await);
    }
    let (stream, peer) = loop {
        let (stream, peer) = tokio::select! {
            a = listener.accept() => a.map_err(|e| EndpointError::Bind { addr: listener.shown(&plan.on), message: e.to_string() })?,
            _ = cancel.cancelled() => return Ok(SessionEnd::Interrupted),
        };
        // A refused peer is closed, and the listener waits for the next one (as ncat does).
        if admitted(plan, peer) {
            break (stream, peer);
        }
    };
    drop(listener);
    if plan.verbose {
        say(format!("connection from {peer}"));
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
                .map_err(|_| EndpointError::TlsPeer {
                    peer: peer.to_string(),
                    message: "TLS handshake timed out".into(),
                })?
                .map_err(|e| EndpointError::TlsPeer {
                    peer: peer.to_string(),
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
async fn keep_open(listener: &Listener, plan: &ListenPlan, cancel: &CancellationToken) -> SessionEnd {
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
        if !admitted(plan, peer) {
            drop(stream);
            continue;
        }
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
    peer: Peer,
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
