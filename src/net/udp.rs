//! The UDP engine: probe datagrams on a connected socket; a reply means open, an ICMP port
//! unreachable (ECONNREFUSED on the connected socket) closed, other ICMP errors filtered, and
//! silence after the retries open|filtered. No raw sockets needed.

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use super::connect::{classify_connect_error, classify_local, LocalError, PortState, Reason};

/// How a UDP port is probed.
#[derive(Debug, Clone, Copy)]
pub struct UdpOptions {
    /// How long to wait for an answer after each round of datagrams.
    pub timeout: Duration,
    /// Extra rounds when nothing came back.
    pub retries: u32,
    /// Once a reply arrived, this much silence ends the collecting (other probes of the round
    /// may still be answered).
    pub reply_gap: Duration,
    /// Most bytes kept of one datagram.
    pub read_cap: usize,
    /// Most datagrams kept.
    pub max_replies: usize,
}

impl Default for UdpOptions {
    fn default() -> Self {
        UdpOptions {
            timeout: Duration::from_millis(1000),
            retries: 1,
            reply_gap: Duration::from_millis(150),
            read_cap: 64 * 1024,
            max_replies: 16,
        }
    }
}

/// What one UDP port said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpAttempt {
    pub state: PortState,
    pub reason: Reason,
    /// Time from the first datagram to the first answer (or to giving up).
    pub rtt: Duration,
    /// The datagrams that came back, in arrival order, each cut to `read_cap`.
    pub replies: Vec<Vec<u8>>,
    /// Rounds of datagrams sent (1 + the retries used).
    pub rounds: u32,
}

/// One host's retry pacing. Hosts rate-limit their ICMP errors (Linux: about one port
/// unreachable per second per source, after a small burst), so a closed port can stay silent
/// the first time. When a retry brings the port unreachable the first try did not, the silence
/// was the limit, not a firewall: from then on this host's retries are spaced (doubling up to
/// 1 s apart) and get extra rounds, so closed ports are still found closed; a host that answers
/// every first try keeps full speed.
#[derive(Debug)]
pub struct RetryGate {
    interval: Cell<Duration>,
    next: Cell<tokio::time::Instant>,
}

/// Most spacing between one host's retries (about the rate Linux allows its ICMP errors).
const MAX_RETRY_SPACING: Duration = Duration::from_secs(1);
/// Extra rounds for a silent port of a host seen rate-limiting its ICMP errors.
const LIMITED_EXTRA_ROUNDS: u32 = 3;

impl Default for RetryGate {
    fn default() -> Self {
        RetryGate {
            interval: Cell::new(Duration::ZERO),
            next: Cell::new(tokio::time::Instant::now()),
        }
    }
}

impl RetryGate {
    /// Whether the host was seen rate-limiting.
    pub fn limited(&self) -> bool {
        !self.interval.get().is_zero()
    }

    /// Waits for this host's next retry slot (at once while it is not limited).
    pub async fn slot(&self) {
        let interval = self.interval.get();
        if interval.is_zero() {
            return;
        }
        let at = self.next.get().max(tokio::time::Instant::now());
        self.next.set(at + interval);
        tokio::time::sleep_until(at).await;
    }

    /// A port unreachable came only on a retry: the host limits its ICMP errors.
    pub fn saw_late_unreach(&self) {
        let now = self.interval.get();
        let next = if now.is_zero() {
            Duration::from_millis(50)
        } else {
            (now * 2).min(MAX_RETRY_SPACING)
        };
        self.interval.set(next);
    }
}

/// A connected UDP socket to `addr` (never connected to itself, as can happen on loopback
/// when the kernel picks the target port as the source port).
pub fn connected_socket(addr: SocketAddr, bind: Option<SocketAddr>) -> Result<UdpSocket, LocalError> {
    for _ in 0..8 {
        let socket = Socket::new(
            Domain::for_address(addr),
            Type::DGRAM.nonblocking(),
            Some(Protocol::UDP),
        )
        .map_err(classify_local)?;
        if let Some(bind) = bind {
            socket.set_reuse_address(true).map_err(LocalError::Other)?;
            socket.bind(&bind.into()).map_err(|e| match e.raw_os_error() {
                Some(libc::EADDRNOTAVAIL) => LocalError::Bind {
                    addr: bind,
                    source: e,
                },
                _ => classify_local(e),
            })?;
        }
        socket.connect(&addr.into()).map_err(classify_local)?;
        let socket = UdpSocket::from_std(std::net::UdpSocket::from(socket)).map_err(classify_local)?;
        if socket.local_addr().ok() != Some(addr) {
            return Ok(socket);
        }
    }
    Err(LocalError::Other(io::Error::other(
        "the kernel connected the socket to itself on every try",
    )))
}

/// A socket for probing `addr`: unconnected, so that an answer from another port of the host
/// is heard (a TFTP server answers from a port of its own, RFC 1350 §4), with IP_RECVERR so
/// that ICMP errors still surface as errors of the next receive, as on a connected socket.
/// Never bound to the target's own port on loopback (it would hear itself).
fn probe_socket(addr: SocketAddr) -> Result<UdpSocket, LocalError> {
    for _ in 0..8 {
        let socket = Socket::new(
            Domain::for_address(addr),
            Type::DGRAM.nonblocking(),
            Some(Protocol::UDP),
        )
        .map_err(classify_local)?;
        let (level, name) = if addr.is_ipv4() {
            (libc::IPPROTO_IP, libc::IP_RECVERR)
        } else {
            (libc::IPPROTO_IPV6, libc::IPV6_RECVERR)
        };
        let on: libc::c_int = 1;
        // SAFETY: a valid descriptor, and a pointer to an int with its size, as setsockopt wants.
        let rc = unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&socket),
                level,
                name,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(LocalError::Other(io::Error::last_os_error()));
        }
        let any: SocketAddr = if addr.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        socket.bind(&any.into()).map_err(classify_local)?;
        let socket = UdpSocket::from_std(std::net::UdpSocket::from(socket)).map_err(classify_local)?;
        if socket.local_addr().map(|l| l.port()).ok() != Some(addr.port()) {
            return Ok(socket);
        }
    }
    Err(LocalError::Other(io::Error::other(
        "the kernel bound the socket to the target's port on every try",
    )))
}

/// Maps an error of a connected UDP socket to the port's answer: ECONNREFUSED is the ICMP
/// port unreachable; host/net unreachable and prohibited are a firewall's or router's ICMP.
pub fn classify_udp_error(e: io::Error) -> Result<(PortState, Reason), LocalError> {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => Ok((PortState::Closed, Reason::PortUnreach)),
        _ => classify_connect_error(e),
    }
}

/// Sends `first` (one datagram each; an empty list sends one empty datagram), then collects
/// answers; when none comes before `timeout`, sends `first` and `more` again, up to `retries`
/// more rounds.
pub async fn probe(
    addr: SocketAddr,
    first: &[&[u8]],
    more: &[&[u8]],
    opts: &UdpOptions,
) -> Result<UdpAttempt, LocalError> {
    probe_paced(addr, first, more, opts, &RetryGate::default()).await
}

/// [`probe`], with the retries paced by the host's `gate` (and extra rounds while the host is
/// seen rate-limiting its ICMP errors).
pub async fn probe_paced(
    addr: SocketAddr,
    first: &[&[u8]],
    more: &[&[u8]],
    opts: &UdpOptions,
    gate: &RetryGate,
) -> Result<UdpAttempt, LocalError> {
    let socket = probe_socket(addr)?;
    let start = Instant::now();
    let mut replies: Vec<Vec<u8>> = Vec::new();
    let mut rtt = None;
    let mut buf = vec![0u8; opts.read_cap.clamp(16, 65_536)];
    let empty: [&[u8]; 1] = [b""];
    let first = if first.is_empty() { &empty[..] } else { first };
    let answer = |state, reason, rtt: Option<Duration>, replies, rounds| UdpAttempt {
        state,
        reason,
        rtt: rtt.unwrap_or_else(|| start.elapsed()),
        replies,
        rounds,
    };
    let mut round = 0;
    loop {
        let rounds = opts.retries + if gate.limited() { LIMITED_EXTRA_ROUNDS } else { 0 };
        if round > rounds {
            break;
        }
        if round > 0 {
            gate.slot().await;
        }
        let extra = if round == 0 { &[][..] } else { more };
        for payload in first.iter().chain(extra) {
            if let Err(e) = socket.send_to(payload, addr).await {
                // An ICMP error from an earlier datagram surfaces on the next send.
                let (state, reason) = classify_udp_error(e)?;
                if round > 0 && state == PortState::Closed {
                    gate.saw_late_unreach();
                }
                return Ok(answer(state, reason, None, replies, round + 1));
            }
        }
        let mut deadline = tokio::time::Instant::now() + opts.timeout;
        loop {
            match tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await {
                // Only the target host's answers count (any of its ports).
                Ok(Ok((_, from))) if from.ip() != addr.ip() => {}
                Ok(Ok((n, _))) => {
                    rtt.get_or_insert_with(|| start.elapsed());
                    replies.push(buf[..n].to_vec());
                    if replies.len() >= opts.max_replies {
                        break;
                    }
                    deadline = deadline.min(tokio::time::Instant::now() + opts.reply_gap);
                }
                Ok(Err(e)) if replies.is_empty() => {
                    let (state, reason) = classify_udp_error(e)?;
                    if round > 0 && state == PortState::Closed {
                        gate.saw_late_unreach();
                    }
                    return Ok(answer(state, reason, None, replies, round + 1));
                }
                // An ICMP error after an answer (another probe refused): the answer stands.
                Ok(Err(_)) | Err(_) => break,
            }
        }
        if !replies.is_empty() {
            return Ok(answer(
                PortState::Open,
                Reason::UdpResponse,
                rtt,
                replies,
                round + 1,
            ));
        }
        round += 1;
    }
    Ok(answer(
        PortState::OpenFiltered,
        Reason::NoResponse,
        None,
        replies,
        round,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> UdpOptions {
        UdpOptions {
            timeout: Duration::from_millis(300),
            retries: 1,
            ..UdpOptions::default()
        }
    }

    #[tokio::test]
    async fn a_reply_is_open_and_kept() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 64];
            if let Ok((n, from)) = server.recv_from(&mut buf).await {
                let mut reply = b"re:".to_vec();
                reply.extend_from_slice(&buf[..n]);
                let _ = server.send_to(&reply, from).await;
            }
        });
        let a = probe(addr, &[b"ping"], &[], &opts()).await.unwrap();
        assert_eq!((a.state, a.reason), (PortState::Open, Reason::UdpResponse));
        assert_eq!(a.replies, vec![b"re:ping".to_vec()]);
    }

    #[tokio::test]
    async fn a_port_nobody_listens_on_is_closed_by_icmp() {
        let gone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = gone.local_addr().unwrap();
        drop(gone);
        let a = probe(addr, &[], &[], &opts()).await.unwrap();
        assert_eq!((a.state, a.reason), (PortState::Closed, Reason::PortUnreach));
    }

    #[tokio::test]
    async fn silence_is_open_filtered_after_the_retries() {
        // Bound but never answering: as a service that ignores the probe.
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let a = probe(addr, &[b"x"], &[b"y"], &opts()).await.unwrap();
        assert_eq!(
            (a.state, a.reason, a.rounds),
            (PortState::OpenFiltered, Reason::NoResponse, 2)
        );
        // Both rounds arrived, the second with the extra payload.
        let mut buf = [0u8; 8];
        let mut got = Vec::new();
        for _ in 0..3 {
            let n = silent.recv(&mut buf).await.unwrap();
            got.push(buf[..n].to_vec());
        }
        assert_eq!(got, vec![b"x".to_vec(), b"x".to_vec(), b"y".to_vec()]);
    }

    #[tokio::test]
    async fn an_answer_from_another_port_of_the_host_counts() {
        // As TFTP: the server answers from a port of its own.
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 64];
            if let Ok((_, from)) = server.recv_from(&mut buf).await {
                let other = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                let _ = other.send_to(b"\x00\x05\x00\x01File not found\x00", from).await;
            }
        });
        let a = probe(addr, &[b"\x00\x01f\x00octet\x00"], &[], &opts())
            .await
            .unwrap();
        assert_eq!(a.state, PortState::Open);
        assert_eq!(a.replies[0], b"\x00\x05\x00\x01File not found\x00");
    }

    #[tokio::test]
    async fn a_flood_of_answers_is_bounded() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 64];
            if let Ok((_, from)) = server.recv_from(&mut buf).await {
                for _ in 0..200 {
                    let _ = server.send_to(&[b'x'; 2000], from).await;
                }
            }
        });
        let opts = UdpOptions {
            read_cap: 100,
            max_replies: 16,
            ..opts()
        };
        let a = probe(addr, &[b"go"], &[], &opts).await.unwrap();
        assert_eq!(a.state, PortState::Open);
        assert_eq!(a.replies.len(), 16);
        assert!(a.replies.iter().all(|r| r.len() == 100));
    }

    #[tokio::test]
    async fn a_limited_host_gets_spaced_retries() {
        let gate = RetryGate::default();
        assert!(!gate.limited());
        let start = tokio::time::Instant::now();
        gate.slot().await;
        gate.slot().await;
        assert!(
            start.elapsed() < Duration::from_millis(40),
            "not limited: no wait"
        );
        for _ in 0..10 {
            gate.saw_late_unreach();
        }
        assert!(gate.limited());
        assert_eq!(gate.interval.get(), MAX_RETRY_SPACING);
        let gate = RetryGate::default();
        gate.saw_late_unreach(); // 50 ms apart
        let start = tokio::time::Instant::now();
        for _ in 0..3 {
            gate.slot().await;
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(100) && took < Duration::from_millis(400),
            "{took:?}"
        );
    }

    #[test]
    fn icmp_errors_map_to_nmap_reasons() {
        let map = |n| classify_udp_error(io::Error::from_raw_os_error(n)).ok();
        assert_eq!(
            map(libc::ECONNREFUSED),
            Some((PortState::Closed, Reason::PortUnreach))
        );
        assert_eq!(
            map(libc::EHOSTUNREACH),
            Some((PortState::Filtered, Reason::HostUnreach))
        );
        assert_eq!(
            map(libc::EACCES),
            Some((PortState::Filtered, Reason::AdminProhibited))
        );
    }
}
