//! Raw SYN probes (nmap -sS, hping3 -S): SYN segments built and replies parsed without I/O,
//! and the raw sockets that send them and read the SYN-ACK, RST and ICMP answers.
//!
//! The kernel builds the IPv4 header (no `IP_HDRINCL`); we build the TCP header with its
//! checksum. A SYN-ACK reaches no socket of ours, so the kernel answers it with a reset itself:
//! the half-open connection never completes.

use std::collections::HashMap;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::oneshot;

use super::connect::{LocalError, PortState, Reason};

/// TCP flag bits.
pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;
pub const URG: u8 = 0x20;

/// The window our SYN offers (as nmap's, small: we never send data).
const SYN_WINDOW: u16 = 1024;
/// The MSS our SYN offers: real stacks answer SYNs without options less readily.
const SYN_MSS: u16 = 1460;
/// Length of the SYN segment we send: a 20-byte TCP header and the 4-byte MSS option.
pub const SYN_LEN: usize = 24;

/// One SYN to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynSpec {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
}

/// The TCP segment of a SYN (header and MSS option), checksummed over the IPv4 pseudo-header.
pub fn build_syn(spec: &SynSpec) -> [u8; SYN_LEN] {
    let mut seg = [0u8; SYN_LEN];
    seg[0..2].copy_from_slice(&spec.sport.to_be_bytes());
    seg[2..4].copy_from_slice(&spec.dport.to_be_bytes());
    seg[4..8].copy_from_slice(&spec.seq.to_be_bytes());
    // ack 0; data offset 6 words (24 bytes)
    seg[12] = ((SYN_LEN / 4) as u8) << 4;
    seg[13] = SYN;
    seg[14..16].copy_from_slice(&SYN_WINDOW.to_be_bytes());
    // checksum 16..18 computed below; urgent pointer 0
    seg[20] = 2; // MSS option kind
    seg[21] = 4; // its length
    seg[22..24].copy_from_slice(&SYN_MSS.to_be_bytes());
    let sum = tcp_checksum(spec.src, spec.dst, &seg);
    seg[16..18].copy_from_slice(&sum.to_be_bytes());
    seg
}

/// The Internet checksum (RFC 1071) of a TCP segment with its IPv4 pseudo-header.
pub fn tcp_checksum(src: Ipv4Addr, dst: Ipv4Addr, segment: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut add = |bytes: &[u8]| {
        for pair in bytes.chunks(2) {
            let hi = u64::from(pair[0]) << 8;
            let lo = pair.get(1).map_or(0, |&b| u64::from(b));
            sum += hi | lo;
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&[0, 6]);
    add(&(segment.len() as u16).to_be_bytes());
    add(segment);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A TCP segment's facts, from a packet that starts with its IPv4 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpReply {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub ttl: u8,
    pub ip_id: u16,
    /// The IPv4 "don't fragment" bit.
    pub df: bool,
    /// The IP packet's total length.
    pub len: u16,
}

impl TcpReply {
    /// hping3's flag letters: `SA` for a SYN-ACK, `RA` for a reset.
    pub fn flag_letters(&self) -> String {
        [
            (FIN, 'F'),
            (SYN, 'S'),
            (RST, 'R'),
            (PSH, 'P'),
            (ACK, 'A'),
            (URG, 'U'),
        ]
        .iter()
        .filter(|(bit, _)| self.flags & bit != 0)
        .map(|(_, c)| *c)
        .collect()
    }
}

/// The ICMP destination-unreachable codes a SYN can meet (RFC 792, RFC 1812).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreachable {
    Net,
    Host,
    Proto,
    Port,
    NetProhibited,
    HostProhibited,
    AdminProhibited,
}

impl Unreachable {
    fn from_code(code: u8) -> Option<Unreachable> {
        Some(match code {
            0 | 6 | 11 => Unreachable::Net,
            1 | 7 | 12 => Unreachable::Host,
            2 => Unreachable::Proto,
            3 => Unreachable::Port,
            9 => Unreachable::NetProhibited,
            10 => Unreachable::HostProhibited,
            13 => Unreachable::AdminProhibited,
            _ => return None,
        })
    }

    pub fn reason(self) -> Reason {
        match self {
            Unreachable::Net => Reason::NetUnreach,
            Unreachable::Host => Reason::HostUnreach,
            Unreachable::Proto => Reason::ProtoUnreach,
            Unreachable::Port => Reason::PortUnreach,
            Unreachable::NetProhibited => Reason::NetProhibited,
            Unreachable::HostProhibited => Reason::HostProhibited,
            Unreachable::AdminProhibited => Reason::AdminProhibited,
        }
    }
}

/// An ICMP error about a TCP segment we sent, with the quoted segment's addressing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpReply {
    /// Who sent the error (the target or a router/firewall on the way).
    pub from: Ipv4Addr,
    pub kind: Unreachable,
    pub ttl: u8,
    /// The quoted segment: to `dst:dport` from our `sport`, with our sequence number.
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
}

/// Splits an IPv4 packet into (header facts, payload) when it is well formed enough.
struct Ipv4<'a> {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    ttl: u8,
    id: u16,
    df: bool,
    total_len: u16,
    payload: &'a [u8],
}

fn parse_ipv4(packet: &[u8]) -> Option<Ipv4<'_>> {
    let first = *packet.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(first & 0x0f) * 4;
    if ihl < 20 || packet.len() < ihl {
        return None;
    }
    let total_len = u16::from_be_bytes([packet[2], packet[3]]);
    // The kernel hands the packet whole; a quoted header (in ICMP) may claim more than is quoted.
    let end = usize::from(total_len).clamp(ihl, packet.len());
    let addr = |at: usize| Ipv4Addr::new(packet[at], packet[at + 1], packet[at + 2], packet[at + 3]);
    Some(Ipv4 {
        src: addr(12),
        dst: addr(16),
        proto: packet[9],
        ttl: packet[8],
        id: u16::from_be_bytes([packet[4], packet[5]]),
        df: packet[6] & 0x40 != 0,
        total_len,
        payload: &packet[ihl..end],
    })
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// Reads a TCP segment from a packet as a raw `IPPROTO_TCP` socket delivers it (IPv4 header
/// first). `None` for anything else or anything truncated.
pub fn parse_tcp(packet: &[u8]) -> Option<TcpReply> {
    let ip = parse_ipv4(packet)?;
    if ip.proto != 6 {
        return None;
    }
    let t = ip.payload;
    if t.len() < 20 {
        return None;
    }
    Some(TcpReply {
        src: ip.src,
        dst: ip.dst,
        sport: be16(t, 0)?,
        dport: be16(t, 2)?,
        seq: be32(t, 4)?,
        ack: be32(t, 8)?,
        flags: t[13],
        window: be16(t, 14)?,
        ttl: ip.ttl,
        ip_id: ip.id,
        df: ip.df,
        len: ip.total_len,
    })
}

/// Reads an ICMP destination-unreachable about a TCP segment from a packet as a raw
/// `IPPROTO_ICMP` socket delivers it. `None` for any other ICMP message or anything truncated.
pub fn parse_icmp(packet: &[u8]) -> Option<IcmpReply> {
    let ip = parse_ipv4(packet)?;
    if ip.proto != 1 {
        return None;
    }
    let icmp = ip.payload;
    if *icmp.first()? != 3 {
        return None;
    }
    let kind = Unreachable::from_code(*icmp.get(1)?)?;
    // The quoted IP header and (at least) the first 8 bytes of what we sent.
    let quoted = parse_ipv4(icmp.get(8..)?)?;
    if quoted.proto != 6 {
        return None;
    }
    let t = quoted.payload;
    Some(IcmpReply {
        from: ip.src,
        kind,
        ttl: ip.ttl,
        dst: quoted.dst,
        sport: be16(t, 0)?,
        dport: be16(t, 2)?,
        seq: be32(t, 4)?,
    })
}

/// What answered a SYN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Tcp(TcpReply),
    Icmp(IcmpReply),
}

impl Answer {
    /// The port state and reason, in the connect scan's vocabulary made exact.
    pub fn verdict(&self) -> (PortState, Reason) {
        match self {
            Answer::Tcp(t) if t.flags & RST != 0 => (PortState::Closed, Reason::Reset),
            Answer::Tcp(_) => (PortState::Open, Reason::SynAck),
            Answer::Icmp(i) => (PortState::Filtered, i.kind.reason()),
        }
    }

    /// The SYN-ACK's TTL and window, for OS hints.
    pub fn facts(&self) -> Option<SynFacts> {
        match self {
            Answer::Tcp(t) if t.flags & (SYN | ACK) == SYN | ACK => Some(SynFacts {
                ttl: t.ttl,
                win: t.window,
            }),
            _ => None,
        }
    }
}

/// Per-port facts of a SYN scan (`"syn": {"ttl": 64, "win": 65495}` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SynFacts {
    pub ttl: u8,
    pub win: u16,
}

/// Why the raw sockets cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum SynError {
    #[error(
        "--syn needs raw sockets (CAP_NET_RAW): run it as root, or grant the capability once: \
         sudo setcap cap_net_raw+ep {binary}"
    )]
    NotPermitted { binary: String },
    #[error("cannot open a raw socket for SYN probes: {0}")]
    Other(io::Error),
}

/// Where a reply goes: the probe waiting for (target, port, our sequence number).
type Key = (Ipv4Addr, u16, u32);

struct Shared {
    waiters: Mutex<HashMap<Key, oneshot::Sender<(Answer, Instant)>>>,
    stop: AtomicBool,
}

/// The raw sockets and the threads reading them; probes from any thread share one engine.
pub struct SynEngine {
    tcp: Arc<Socket>,
    shared: Arc<Shared>,
    sport: u16,
    next_seq: AtomicU32,
    /// The last (destination, source address) route looked up: scans go host by host.
    route: Mutex<Option<(Ipv4Addr, Ipv4Addr)>>,
    replies: Replies,
}

/// How the TCP replies are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replies {
    /// A thread blocks on the socket and hands each reply over as it arrives: exact round-trip
    /// times, one thread switch per reply (`ping --syn`).
    AsTheyCome,
    /// Each probe takes what is queued right after it sends (on a busy scan the replies to
    /// earlier probes, on loopback its own), and a thread looks every millisecond for the
    /// rest: no thread switch per reply. A reply nobody sends after may be timed up to a
    /// millisecond late.
    Batched,
}

/// How often the reader of [`Replies::Batched`] looks.
const POLL_TICK: Duration = Duration::from_millis(1);

thread_local! {
    /// Each worker's UDP socket for route look-ups (connect, read the source, disconnect).
    static ROUTE_SOCKET: std::cell::RefCell<Option<UdpSocket>> = const { std::cell::RefCell::new(None) };
    /// Each worker's raw socket for sending (see [`send_socket`]); `None` inside: none could be
    /// opened, the engine's own is used.
    static SEND_SOCKET: std::cell::OnceCell<Option<Socket>> = const { std::cell::OnceCell::new() };
}

/// A raw TCP socket for this thread's SYNs, which reads nothing (a filter drops every packet):
/// the kernel holds a raw socket's lock while a segment goes out — on loopback, through the
/// whole receive path and the reply — so workers sharing one socket would take turns.
fn send_socket() -> Option<Socket> {
    let socket = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::TCP)).ok()?;
    let drop_all = [socket2::SockFilter::new(0x06, 0, 0, 0)]; // ret 0: drop
    socket.attach_filter(&drop_all).ok()?;
    Some(socket)
}

/// How long a reader blocks before it looks whether the engine is gone.
const READ_TICK: Duration = Duration::from_millis(100);
/// The receive buffer asked for: a full-speed scan's replies arrive in bursts.
const RCVBUF: usize = 8 << 20;

fn open_raw(proto: Protocol) -> Result<Socket, SynError> {
    let socket = Socket::new(Domain::IPV4, Type::RAW, Some(proto)).map_err(|e| match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => SynError::NotPermitted {
            binary: std::env::current_exe()
                .map(|p| crate::escape::escape_str(&p.display().to_string()))
                .unwrap_or_else(|_| "portprobe".into()),
        },
        _ => SynError::Other(e),
    })?;
    socket
        .set_read_timeout(Some(READ_TICK))
        .map_err(SynError::Other)?;
    // SO_RCVBUFFORCE passes rmem_max where we hold CAP_NET_ADMIN; otherwise take what we may.
    let forced = rustix::net::sockopt::set_socket_recv_buffer_size_force(&socket, RCVBUF).is_ok();
    if !forced {
        let _ = socket.set_recv_buffer_size(RCVBUF);
    }
    Ok(socket)
}

impl SynEngine {
    /// Opens the raw sockets (this is where a missing CAP_NET_RAW shows) and starts the readers.
    pub fn new(replies: Replies) -> Result<Arc<SynEngine>, SynError> {
        let tcp = Arc::new(open_raw(Protocol::TCP)?);
        let icmp = open_raw(Protocol::ICMPV4)?;
        let seed = seed();
        // A source port per run, away from the usual ephemeral range's start.
        let sport = 40_000 + (seed % 20_000) as u16;
        // Best effort: without the filter the reader sees every TCP packet and drops them itself.
        let _ = attach_reply_filter(&tcp, sport);
        let shared = Arc::new(Shared {
            waiters: Mutex::new(HashMap::new()),
            stop: AtomicBool::new(false),
        });
        let engine = Arc::new(SynEngine {
            tcp: tcp.clone(),
            shared: shared.clone(),
            sport,
            next_seq: AtomicU32::new(seed),
            route: Mutex::new(None),
            replies,
        });
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map(|_| ())
                .map_err(SynError::Other)
        };
        let s = shared.clone();
        let tick = match replies {
            Replies::AsTheyCome => None,
            Replies::Batched => Some(POLL_TICK),
        };
        spawn(
            "syn-tcp",
            Box::new(move || read_loop(&tcp, &s, parse_tcp_answer, sport, tick)),
        )?;
        spawn(
            "syn-icmp",
            Box::new(move || read_loop(&icmp, &shared, parse_icmp_answer, sport, None)),
        )?;
        Ok(engine)
    }

    /// The source port of this run's SYNs.
    pub fn source_port(&self) -> u16 {
        self.sport
    }

    /// The source address the kernel uses towards `dst` (a UDP connect sends nothing).
    fn source_for(&self, dst: Ipv4Addr) -> io::Result<Ipv4Addr> {
        if let Ok(guard) = self.route.lock() {
            if let Some((d, s)) = *guard {
                if d == dst {
                    return Ok(s);
                }
            }
        }
        let src = ROUTE_SOCKET.with(|cell| -> io::Result<Ipv4Addr> {
            let mut slot = cell.borrow_mut();
            let udp = match slot.take() {
                Some(udp) => udp,
                None => route_socket()?,
            };
            udp.connect((dst, 9))?;
            let local = udp.local_addr()?;
            // Disconnect (AF_UNSPEC) so the next connect picks its source afresh: a connected
            // UDP socket keeps the first source address it was given.
            let rc = rustix::net::connect_unspec(&udp);
            if rc.is_ok() {
                *slot = Some(udp); // reusable; otherwise dropped and made anew next time
            }
            match local.ip() {
                IpAddr::V4(v4) => Ok(v4),
                IpAddr::V6(_) => Err(io::Error::other("no IPv4 source address")),
            }
        })?;
        if let Ok(mut guard) = self.route.lock() {
            *guard = Some((dst, src));
        }
        Ok(src)
    }

    /// Sends one SYN to `addr` and waits up to `timeout` for its answer (`None`: no answer).
    pub async fn probe(
        &self,
        addr: SocketAddr,
        timeout: Duration,
    ) -> Result<Option<(Answer, Duration)>, LocalError> {
        let IpAddr::V4(dst) = addr.ip() else {
            return Err(LocalError::Other(io::Error::other(
                "SYN probes are IPv4 only for now: scan IPv6 targets without --syn",
            )));
        };
        let src = self.source_for(dst).map_err(classify_send)?;
        let seq = self.next_seq.fetch_add(0x9e37_79b9, Ordering::Relaxed);
        let key = (dst, addr.port(), seq);
        let (tx, rx) = oneshot::channel();
        let guard = WaiterGuard {
            shared: &self.shared,
            key,
        };
        self.shared
            .waiters
            .lock()
            .map_err(|_| LocalError::Other(io::Error::other("SYN engine failed")))?
            .insert(key, tx);
        let segment = build_syn(&SynSpec {
            src,
            dst,
            sport: self.sport,
            dport: addr.port(),
            seq,
        });
        let sent = Instant::now();
        let to = SocketAddrV4::new(dst, 0).into();
        SEND_SOCKET
            .with(|own| match own.get_or_init(send_socket) {
                Some(own) => own.send_to(&segment, &to),
                None => self.tcp.send_to(&segment, &to),
            })
            .map_err(classify_send)?;
        if self.replies == Replies::Batched {
            let mut batch = Vec::new();
            take_batch(&self.tcp, parse_tcp_answer, self.sport, false, &mut batch);
            deliver(&self.shared, &mut batch);
        }
        let answer = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok((answer, at))) => Some((answer, at.saturating_duration_since(sent))),
            _ => None,
        };
        drop(guard);
        Ok(answer)
    }
}

impl std::fmt::Debug for SynEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SynEngine")
            .field("sport", &self.sport)
            .finish_non_exhaustive()
    }
}

impl Drop for SynEngine {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

/// Removes a probe's waiter however the probe ends (answer, timeout, cancellation).
struct WaiterGuard<'a> {
    shared: &'a Shared,
    key: Key,
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut w) = self.shared.waiters.lock() {
            w.remove(&self.key);
        }
    }
}

/// A UDP socket for route look-ups, bound to a port of its own choosing: a port named in
/// `bind` survives the disconnect after each look-up, while an automatic one is given back and
/// searched for again on every connect.
fn route_socket() -> io::Result<UdpSocket> {
    let port = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?.local_addr()?.port();
    UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port)).or_else(|_| UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)))
}

fn classify_send(e: io::Error) -> LocalError {
    match e.raw_os_error() {
        Some(libc::ENOBUFS | libc::ENOMEM | libc::EAGAIN | libc::EMFILE | libc::ENFILE) => {
            LocalError::Exhausted(e)
        }
        _ => LocalError::Other(e),
    }
}

/// Lets only segments to our source port with ACK set reach the TCP raw socket (classic BPF,
/// run by the kernel on the packet from its IPv4 header): on loopback the socket would
/// otherwise also queue our own SYNs and the kernel's resets, tripling the reader's work.
fn attach_reply_filter(socket: &Socket, sport: u16) -> io::Result<()> {
    let op = socket2::SockFilter::new;
    let program = [
        op(0xb1, 0, 0, 0),                // ldxb 4*([0]&0xf): X = IP header length
        op(0x48, 0, 0, 2),                // ldh [x+2]: destination port
        op(0x15, 0, 3, u32::from(sport)), // jeq #sport, else drop
        op(0x50, 0, 0, 13),               // ldb [x+13]: flags
        op(0x45, 0, 1, u32::from(ACK)),   // jset #ACK, else drop
        op(0x06, 0, 0, 0xffff),           // ret: keep the packet
        op(0x06, 0, 0, 0),                // ret: drop it
    ];
    socket.attach_filter(&program)
}

/// A per-run seed for sequence numbers and the source port (not secret: it tells our replies
/// from stray packets).
fn seed() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let x = t ^ (u64::from(std::process::id()) << 32);
    (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9) as u32
}

/// Most packets one read takes before it hands the answers over.
const BATCH: usize = 128;

fn parse_tcp_answer(packet: &[u8]) -> Option<Answer> {
    parse_tcp(packet).map(Answer::Tcp)
}

fn parse_icmp_answer(packet: &[u8]) -> Option<Answer> {
    parse_icmp(packet).map(Answer::Icmp)
}

/// A reply on its way to the probe waiting for `Key`.
type Reply = (Key, Answer, Instant);

/// Reads one raw socket until the engine is dropped, handing each reply to its probe: blocking
/// (`tick` = None), or looking every `tick` (see [`Replies`]).
fn read_loop(
    socket: &Socket,
    shared: &Shared,
    parse: fn(&[u8]) -> Option<Answer>,
    sport: u16,
    tick: Option<Duration>,
) {
    let mut batch: Vec<Reply> = Vec::with_capacity(BATCH);
    while !shared.stop.load(Ordering::Relaxed) {
        match tick {
            Some(tick) => {
                std::thread::sleep(tick);
                while take_batch(socket, parse, sport, false, &mut batch) {
                    deliver(shared, &mut batch);
                }
            }
            None => {
                take_batch(socket, parse, sport, true, &mut batch);
            }
        }
        deliver(shared, &mut batch);
    }
}

/// Reads up to [`BATCH`] packets into `batch`: the first blocking (up to the socket's read
/// timeout) when `block`, the rest only if already queued. True when the batch filled up
/// (more may be waiting).
fn take_batch(
    socket: &Socket,
    parse: fn(&[u8]) -> Option<Answer>,
    sport: u16,
    block: bool,
    batch: &mut Vec<Reply>,
) -> bool {
    let mut buf = [0u8; 2048];
    let mut blocking = block;
    for _ in 0..BATCH {
        let got = if blocking {
            (&*socket).read(&mut buf)
        } else {
            rustix::net::recv(socket, &mut buf, rustix::net::RecvFlags::DONTWAIT)
                .map(|(n, _)| n)
                .map_err(io::Error::from)
        };
        let n = match got {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) =>
            {
                return false
            }
            Err(_) => {
                if blocking {
                    std::thread::sleep(READ_TICK);
                }
                return false;
            }
        };
        blocking = false;
        let at = Instant::now();
        let Some(answer) = parse(&buf[..n]) else { continue };
        let key = match answer {
            // Our own SYNs (seen on loopback) and the kernel's resets carry neither mark.
            Answer::Tcp(t) if t.dport == sport && t.flags & (SYN | RST) != 0 && t.flags & ACK != 0 => {
                (t.src, t.sport, t.ack.wrapping_sub(1))
            }
            Answer::Icmp(i) if i.sport == sport => (i.dst, i.dport, i.seq),
            _ => continue,
        };
        batch.push((key, answer, at));
    }
    true
}

/// Hands each reply of `batch` to the probe waiting for it: one lock of the waiters per batch,
/// the wake-ups outside it.
fn deliver(shared: &Shared, batch: &mut Vec<Reply>) {
    if batch.is_empty() {
        return;
    }
    let senders: Vec<_> = match shared.waiters.lock() {
        Ok(mut w) => batch
            .drain(..)
            .filter_map(|(key, answer, at)| w.remove(&key).map(|tx| (tx, answer, at)))
            .collect(),
        Err(_) => {
            batch.clear();
            return;
        }
    };
    for (tx, answer, at) in senders {
        let _ = tx.send((answer, at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4(proto: u8, src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0];
        p.extend_from_slice(&src.octets());
        p.extend_from_slice(&dst.octets());
        p.extend_from_slice(payload);
        let len = p.len() as u16;
        p[2..4].copy_from_slice(&len.to_be_bytes());
        p
    }

    const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 7);

    #[test]
    fn a_syn_carries_its_fields_and_a_valid_checksum() {
        let spec = SynSpec {
            src: A,
            dst: B,
            sport: 40_001,
            dport: 22,
            seq: 0xdead_beef,
        };
        let seg = build_syn(&spec);
        // A segment with its checksum in place sums to zero (RFC 1071).
        assert_eq!(tcp_checksum(A, B, &seg), 0);
        let reply = parse_tcp(&ipv4(6, A, B, &seg)).expect("parses");
        assert_eq!((reply.sport, reply.dport, reply.seq), (40_001, 22, 0xdead_beef));
        assert_eq!(reply.flags, SYN);
        assert_eq!(reply.flag_letters(), "S");
        assert_eq!(
            (reply.window, reply.ttl, reply.ip_id, reply.df),
            (1024, 64, 0x1234, true)
        );
    }

    #[test]
    fn known_checksum() {
        // Worked by hand: the pseudo-header and segment words summed, folded, inverted.
        let seg = [0u8; 20];
        let sum = tcp_checksum(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2), &seg);
        // 0x0a00+0x0001+0x0a00+0x0002+0x0006+0x0014 = 0x141d → !0x141d
        assert_eq!(sum, !0x141d);
    }

    #[test]
    fn syn_ack_and_reset_verdicts() {
        let mut seg = build_syn(&SynSpec {
            src: B,
            dst: A,
            sport: 22,
            dport: 40_001,
            seq: 7,
        });
        seg[13] = SYN | ACK;
        seg[14..16].copy_from_slice(&65_495u16.to_be_bytes());
        let t = parse_tcp(&ipv4(6, B, A, &seg)).expect("parses");
        let a = Answer::Tcp(t);
        assert_eq!(a.verdict(), (PortState::Open, Reason::SynAck));
        assert_eq!(a.facts(), Some(SynFacts { ttl: 64, win: 65_495 }));
        assert_eq!(t.flag_letters(), "SA");
        seg[13] = RST | ACK;
        let a = Answer::Tcp(parse_tcp(&ipv4(6, B, A, &seg)).expect("parses"));
        assert_eq!(a.verdict(), (PortState::Closed, Reason::Reset));
        assert_eq!(a.facts(), None);
    }

    #[test]
    fn icmp_unreachable_names_the_code_and_quotes_our_segment() {
        let syn = build_syn(&SynSpec {
            src: A,
            dst: B,
            sport: 40_001,
            dport: 138,
            seq: 99,
        });
        let quoted = ipv4(6, A, B, &syn[..8]);
        for (code, reason) in [
            (13, Reason::AdminProhibited),
            (10, Reason::HostProhibited),
            (3, Reason::PortUnreach),
            (0, Reason::NetUnreach),
            (1, Reason::HostUnreach),
            (2, Reason::ProtoUnreach),
        ] {
            let mut icmp = vec![3, code, 0, 0, 0, 0, 0, 0];
            icmp.extend_from_slice(&quoted);
            let r = parse_icmp(&ipv4(1, B, A, &icmp)).expect("parses");
            assert_eq!((r.dst, r.sport, r.dport, r.seq), (B, 40_001, 138, 99));
            assert_eq!(Answer::Icmp(r).verdict(), (PortState::Filtered, reason));
        }
        // Echo reply, and an unreachable with an unknown code: not ours to read.
        let echo = ipv4(1, B, A, &[0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(parse_icmp(&echo), None);
        let mut odd = vec![3, 200, 0, 0, 0, 0, 0, 0];
        odd.extend_from_slice(&quoted);
        assert_eq!(parse_icmp(&ipv4(1, B, A, &odd)), None);
    }

    #[test]
    fn truncated_and_odd_packets_are_refused_without_panic() {
        let syn = build_syn(&SynSpec {
            src: A,
            dst: B,
            sport: 1,
            dport: 2,
            seq: 3,
        });
        let full = ipv4(6, A, B, &syn);
        for n in 0..full.len() {
            let _ = parse_tcp(&full[..n]);
            let _ = parse_icmp(&full[..n]);
        }
        assert_eq!(parse_tcp(&full[..39]), None, "a TCP header needs 20 bytes");
        let mut bad_ihl = full.clone();
        bad_ihl[0] = 0x4f; // 60-byte header in a 44-byte packet
        assert_eq!(parse_tcp(&bad_ihl), None);
        let mut v6 = full.clone();
        v6[0] = 0x60;
        assert_eq!(parse_tcp(&v6), None);
        // A total length beyond the buffer is clamped, not trusted.
        let mut long = full;
        long[2..4].copy_from_slice(&u16::MAX.to_be_bytes());
        assert!(parse_tcp(&long).is_some());
    }
}
