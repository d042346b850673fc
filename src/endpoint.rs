//! `connect` and `listen`: open the connection (TCP, STARTTLS, TLS) or accept it, say what
//! happened, and hand the stream to the session. Also the `-k` hub that serves many
//! connections from one stdin and stdout.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::escape::say;
use crate::net::connect::{connect, ConnectOptions, PortState, Reason};
use crate::net::starttls::{self, StartTls};
use crate::net::tls::{NameChoice, TlsClient, TlsFacts};
use crate::session::{self, SessionEnd, SessionOptions, CHUNK};

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
        status: String,
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
    pub addr: SocketAddr,
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
    let addr = plan.addr;
    let opts = ConnectOptions {
        timeout: plan.timeout,
        zero_linger: plan.zero,
        bind: plan.bind,
    };
    let attempt = tokio::select! {
        a = connect(addr, &opts) => a.map_err(|e| EndpointError::Local { addr, message: e.to_string() })?,
        _ = cancel.cancelled() => return Ok(SessionEnd::Interrupted),
    };
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
            status: v.status.clone(),
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
        return Ok(keep_open(listener, plan, cancel).await);
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

/// `-k`: every connection's input goes to stdout; stdin goes to every connection. A client that
/// falls behind stdin by more than the buffer misses that data (it is told on stderr).
async fn keep_open(listener: TcpListener, plan: &ListenPlan, cancel: &CancellationToken) -> SessionEnd {
    let (stdin_tx, _) = broadcast::channel::<Arc<Vec<u8>>>(256);
    let (stdout_tx, stdout_rx) = mpsc::channel::<Vec<u8>>(16);
    let stdout_thread = std::thread::spawn(move || {
        use std::io::Write;
        let mut rx = stdout_rx;
        let mut out = std::io::stdout().lock();
        while let Some(chunk) = rx.blocking_recv() {
            if out.write_all(&chunk).and_then(|_| out.flush()).is_err() {
                return;
            }
        }
    });
    if !plan.session.recv_only {
        let tx = stdin_tx.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut stdin = std::io::stdin().lock();
            let mut buf = vec![0u8; CHUNK];
            while let Ok(n) = stdin.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let _ = tx.send(Arc::new(buf[..n].to_vec()));
            }
            let _ = tx.send(Arc::new(Vec::new())); // empty chunk: stdin ended
        });
    }
    let active = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let end = loop {
        let (stream, peer) = tokio::select! {
            a = listener.accept() => match a { Ok(a) => a, Err(_) => continue },
            _ = cancel.cancelled() => break SessionEnd::Interrupted,
        };
        if active.load(std::sync::atomic::Ordering::SeqCst) >= plan.max_conns {
            eprintln!(
                "portprobe: {peer}: refused, --max-conns {} reached",
                plan.max_conns
            );
            drop(stream);
            continue;
        }
        if plan.verbose {
            eprintln!("portprobe: connection from {peer}");
        }
        active.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (rx, out, active, tls, send_only) = (
            stdin_tx.subscribe(),
            stdout_tx.clone(),
            active.clone(),
            plan.tls.clone(),
            plan.session.send_only,
        );
        tokio::spawn(async move {
            match tls {
                None => serve_one(stream, rx, out, send_only, peer).await,
                Some(config) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(config);
                    if let Ok(Ok(s)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await
                    {
                        serve_one(s, rx, out, send_only, peer).await;
                    }
                }
            }
            active.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        });
    };
    drop(stdout_tx);
    let _ = tokio::task::spawn_blocking(move || stdout_thread.join()).await;
    end
}

async fn serve_one<S>(
    stream: S,
    mut stdin: broadcast::Receiver<Arc<Vec<u8>>>,
    stdout: mpsc::Sender<Vec<u8>>,
    send_only: bool,
    peer: SocketAddr,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let up = async move {
        loop {
            match stdin.recv().await {
                Ok(chunk) if chunk.is_empty() => {
                    let _ = wr.shutdown().await;
                    return;
                }
                Ok(chunk) => {
                    if wr.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    eprintln!("portprobe: {peer}: too slow, missed {n} chunks of stdin");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; CHUNK];
        while let Ok(n) = rd.read(&mut buf).await {
            if n == 0 {
                break;
            }
            if !send_only && stdout.send(buf[..n].to_vec()).await.is_err() {
                break;
            }
        }
    };
    // The connection is done when the client closes; what we still had to send is moot.
    tokio::select! {
        _ = down => {}
        _ = async { up.await; std::future::pending::<()>().await } => {}
    }
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
