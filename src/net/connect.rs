//! The connect engine: one TCP connect with a deadline gives a port state and the reason for it,
//! in nmap's connect-scan vocabulary.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Serialize;
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::net::TcpStream;

/// What a port is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum PortState {
    Open,
    Closed,
    /// Nothing answered, or a firewall answered with an ICMP error: a *stealth* port.
    Filtered,
    /// UDP only: no answer after the retries. An open service that ignores the probe and a
    /// firewall that drops it look the same.
    #[serde(rename = "open|filtered")]
    OpenFiltered,
}

impl PortState {
    pub fn as_str(self) -> &'static str {
        match self {
            PortState::Open => "open",
            PortState::Closed => "closed",
            PortState::Filtered => "filtered",
            PortState::OpenFiltered => "open|filtered",
        }
    }
}

impl fmt::Display for PortState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Why a port is in its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    SynAck,
    ConnRefused,
    NoResponse,
    HostUnreach,
    NetUnreach,
    AdminProhibited,
    ProtoUnreach,
    /// The kernel connected the socket to itself on every try (no listener there).
    SelfConnect,
    /// A SYN probe met a TCP reset (`--syn`; a connect sees it as conn-refused).
    Reset,
    /// ICMP destination unreachable codes only a raw socket can tell apart (`--syn`).
    HostProhibited,
    NetProhibited,
    /// UDP: a datagram came back.
    UdpResponse,
    /// UDP: ICMP port unreachable (ECONNREFUSED on a connected socket).
    PortUnreach,
    /// The proxy connected us to the port (open as seen from the proxy).
    ProxyConnected,
    /// The proxy says the port refused its connection (closed as seen from the proxy).
    ProxyRefused,
    /// The proxy could not reach the port, or its rules forbid it (filtered as seen from it).
    ProxyUnreach,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SynAck => "syn-ack",
            Reason::ConnRefused => "conn-refused",
            Reason::NoResponse => "no-response",
            Reason::HostUnreach => "host-unreach",
            Reason::NetUnreach => "net-unreach",
            Reason::AdminProhibited => "admin-prohibited",
            Reason::ProtoUnreach => "proto-unreach",
            Reason::SelfConnect => "self-connect",
            Reason::Reset => "reset",
            Reason::HostProhibited => "host-prohibited",
            Reason::NetProhibited => "net-prohibited",
            Reason::UdpResponse => "udp-response",
            Reason::PortUnreach => "port-unreach",
            Reason::ProxyConnected => "proxy-connected",
            Reason::ProxyRefused => "proxy-refused",
            Reason::ProxyUnreach => "proxy-unreach",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The answer to one connect.
#[derive(Debug)]
pub struct Attempt {
    pub state: PortState,
    pub reason: Reason,
    pub rtt: Duration,
    /// The connection, when the port is open (for banner reading or a session).
    pub stream: Option<TcpStream>,
}

/// Why no answer could be had from the network at all.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// Out of file descriptors, ephemeral ports or buffers: try again later, more slowly.
    #[error("out of local resources: {0}")]
    Exhausted(io::Error),
    #[error("cannot connect from this host: {0}")]
    Other(io::Error),
    /// The source address asked for (`-s`) is not one of this host's.
    #[error("cannot use local address {addr}: it is not an address of this host ({source})")]
    Bind { addr: SocketAddr, source: io::Error },
    /// The proxy is down or turned us away: no port can be probed through it.
    #[error("proxy {proxy}: {reason}")]
    Proxy { proxy: SocketAddr, reason: String },
}

/// How to make the connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectOptions {
    pub timeout: Duration,
    /// Close with RST (SO_LINGER 0) so probes leave no TIME_WAIT behind.
    pub zero_linger: bool,
    pub bind: Option<SocketAddr>,
}

/// Connects once and classifies the outcome. A self-connect is retried a few times (it happens
/// when the kernel picks the target port as the source port on loopback) and never reported open.
pub async fn connect(addr: SocketAddr, opts: &ConnectOptions) -> Result<Attempt, LocalError> {
    for _ in 0..8 {
        let attempt = connect_raw(addr, opts).await?;
        match &attempt.stream {
            Some(stream) if is_self_connect(stream) => continue,
            _ => return Ok(attempt),
        }
    }
    Ok(Attempt {
        state: PortState::Closed,
        reason: Reason::SelfConnect,
        rtt: Duration::ZERO,
        stream: None,
    })
}

/// Delay before the next address is tried while an attempt is still pending (RFC 8305's
/// "Connection Attempt Delay").
pub const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Orders addresses for Happy Eyeballs: families alternate, starting with the first address's
/// family (RFC 8305 section 4), each family keeping the resolver's order.
pub fn interleave(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    let Some(first) = addrs.first() else {
        return Vec::new();
    };
    let (mut same, mut other): (Vec<SocketAddr>, Vec<SocketAddr>) = addrs
        .iter()
        .copied()
        .partition(|a| a.is_ipv4() == first.is_ipv4());
    same.reverse();
    other.reverse();
    let mut out = Vec::with_capacity(addrs.len());
    while !same.is_empty() || !other.is_empty() {
        out.extend(same.pop());
        out.extend(other.pop());
    }
    out
}

/// Connects to the first address that answers, like nc and browsers (Happy Eyeballs, RFC 8305):
/// the addresses are tried in turn, the next one as soon as an attempt fails or after
/// [`ATTEMPT_DELAY`] while it is still pending; the first open connection wins. When none
/// opens, the answer of the first address is returned (with that address).
pub async fn connect_first(
    addrs: &[SocketAddr],
    opts: &ConnectOptions,
) -> Option<(SocketAddr, Result<Attempt, LocalError>)> {
    use futures_util::stream::{FuturesUnordered, StreamExt};
    let addrs = interleave(addrs);
    let mut pending = FuturesUnordered::new();
    let start = |i: usize| {
        let addr = addrs[i];
        async move { (i, addr, connect(addr, opts).await) }
    };
    let mut next = 0;
    let mut failed: Option<(usize, SocketAddr, Result<Attempt, LocalError>)> = None;
    loop {
        if pending.is_empty() {
            if next >= addrs.len() {
                return failed.map(|(_, addr, r)| (addr, r));
            }
            pending.push(start(next));
            next += 1;
        }
        tokio::select! {
            Some((i, addr, r)) = pending.next() => {
                if matches!(&r, Ok(a) if a.state == PortState::Open) {
                    return Some((addr, r)); // the others are dropped (and closed)
                }
                if failed.as_ref().is_none_or(|(j, _, _)| i < *j) {
                    failed = Some((i, addr, r));
                }
            }
            _ = tokio::time::sleep(ATTEMPT_DELAY), if next < addrs.len() => {
                pending.push(start(next));
                next += 1;
            }
        }
    }
}

fn is_self_connect(stream: &TcpStream) -> bool {
    matches!((stream.local_addr(), stream.peer_addr()), (Ok(l), Ok(p)) if l == p)
}

async fn connect_raw(addr: SocketAddr, opts: &ConnectOptions) -> Result<Attempt, LocalError> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )
    .map_err(classify_local)?;
    if let Some(bind) = opts.bind {
        socket.set_reuse_address(true).map_err(LocalError::Other)?;
        socket.bind(&bind.into()).map_err(|e| match e.raw_os_error() {
            Some(libc::EADDRNOTAVAIL) => LocalError::Bind {
                addr: bind,
                source: e,
            },
            _ => classify_local(e),
        })?;
    }
    let start = Instant::now();
    let answer = |state, reason, stream| Attempt {
        state,
        reason,
        rtt: start.elapsed(),
        stream,
    };
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => {
            let (state, reason) = classify_connect_error(e)?;
            return Ok(answer(state, reason, None));
        }
    }
    // On loopback the answer is often there already: skip the poller for it.
    let mut reset_early = false;
    if let Some(e) = socket.take_error().map_err(LocalError::Other)? {
        if !is_reset(&e) {
            let (state, reason) = classify_connect_error(e)?;
            return Ok(answer(state, reason, None));
        }
        reset_early = true;
    }
    let stream = TcpStream::from_std(std::net::TcpStream::from(socket)).map_err(classify_local)?;
    if reset_early {
        // Accepted, then reset before we looked: the handshake completed, so the port is open;
        // detection will find the connection dead (tcpwrapped).
        return Ok(answer(PortState::Open, Reason::SynAck, Some(stream)));
    }
    let deadline = tokio::time::Instant::from_std(start) + opts.timeout;
    loop {
        if tokio::time::timeout_at(deadline, stream.writable())
            .await
            .is_err()
        {
            return Ok(answer(PortState::Filtered, Reason::NoResponse, None));
        }
        if let Some(e) = stream.take_error().map_err(LocalError::Other)? {
            if is_reset(&e) {
                return Ok(answer(PortState::Open, Reason::SynAck, Some(stream)));
            }
            let (state, reason) = classify_connect_error(e)?;
            return Ok(answer(state, reason, None));
        }
        match stream.peer_addr() {
            Ok(_) => {
                // Only an established connection can leave TIME_WAIT, so only it needs the RST
                // close; setting linger here saves a syscall on every closed port.
                if opts.zero_linger {
                    SockRef::from(&stream)
                        .set_linger(Some(Duration::ZERO))
                        .map_err(LocalError::Other)?;
                }
                return Ok(answer(PortState::Open, Reason::SynAck, Some(stream)));
            }
            // Writable before the handshake finished (spurious wake-up): wait again.
            Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Err(e) => {
                let (state, reason) = classify_connect_error(e)?;
                return Ok(answer(state, reason, None));
            }
        }
    }
}

/// A reset during connect means the handshake completed (a refusal is ECONNREFUSED).
fn is_reset(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ECONNRESET)
}

/// Maps a connect error to a state, or to a local error when the network never said anything.
/// Linux reports ICMP admin-prohibited as EHOSTUNREACH, so it reads as host-unreach, as in nmap.
pub fn classify_connect_error(e: io::Error) -> Result<(PortState, Reason), LocalError> {
    let answer = match e.raw_os_error() {
        Some(libc::ECONNREFUSED) | Some(libc::ECONNRESET) => (PortState::Closed, Reason::ConnRefused),
        Some(libc::ETIMEDOUT) => (PortState::Filtered, Reason::NoResponse),
        Some(libc::EHOSTUNREACH) | Some(libc::EHOSTDOWN) => (PortState::Filtered, Reason::HostUnreach),
        Some(libc::ENETUNREACH) => (PortState::Filtered, Reason::NetUnreach),
        Some(libc::ENOPROTOOPT) => (PortState::Filtered, Reason::ProtoUnreach),
        // A local firewall (nft/iptables OUTPUT reject) or an ICMP "administratively prohibited".
        Some(libc::EACCES) | Some(libc::EPERM) => (PortState::Filtered, Reason::AdminProhibited),
        _ => return Err(classify_local(e)),
    };
    Ok(answer)
}

pub(crate) fn classify_local(e: io::Error) -> LocalError {
    match e.raw_os_error() {
        Some(
            libc::EMFILE | libc::ENFILE | libc::EADDRNOTAVAIL | libc::ENOBUFS | libc::ENOMEM | libc::EAGAIN,
        ) => LocalError::Exhausted(e),
        _ => LocalError::Other(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_mapping_matches_nmap_vocabulary() {
        let map = |n| classify_connect_error(io::Error::from_raw_os_error(n)).ok();
        assert_eq!(
            map(libc::ECONNREFUSED),
            Some((PortState::Closed, Reason::ConnRefused))
        );
        assert_eq!(
            map(libc::EHOSTUNREACH),
            Some((PortState::Filtered, Reason::HostUnreach))
        );
        assert_eq!(
            map(libc::ENETUNREACH),
            Some((PortState::Filtered, Reason::NetUnreach))
        );
        assert_eq!(
            map(libc::EPERM),
            Some((PortState::Filtered, Reason::AdminProhibited))
        );
        assert!(matches!(
            classify_connect_error(io::Error::from_raw_os_error(libc::EMFILE)),
            Err(LocalError::Exhausted(_))
        ));
        assert!(matches!(
            classify_connect_error(io::Error::from_raw_os_error(libc::EINVAL)),
            Err(LocalError::Other(_))
        ));
    }

    #[tokio::test]
    async fn loopback_open_and_closed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap();
        let opts = ConnectOptions {
            timeout: Duration::from_secs(2),
            zero_linger: true,
            bind: None,
        };
        let a = connect(open, &opts).await.unwrap();
        assert_eq!((a.state, a.reason), (PortState::Open, Reason::SynAck));
        drop(listener);
        let a = connect(open, &opts).await.unwrap();
        assert_eq!((a.state, a.reason), (PortState::Closed, Reason::ConnRefused));
    }
}
