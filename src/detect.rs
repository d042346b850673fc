//! Service detection on an open port: read what the server says, send the probes most likely for
//! the port first, match each response against the database; where the port speaks TLS, do the
//! handshake and detect again inside the tunnel; where the service offers STARTTLS, upgrade and
//! record the handshake. One deadline for the whole port, one byte cap per read, an idle gap
//! that ends a response; nothing waits longer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

use crate::fingerprint::{Confidence, Identity, Matcher, Probe};
use crate::net::connect::{ConnectOptions, PortState};
use crate::net::dialer::Dialer;
use crate::net::starttls::{self, StartTls, StartTlsError};
use crate::net::tls::{HandshakeError, NameChoice, TlsClient, TlsFacts};
use crate::net::tls_diag;

/// Limits of detection, owned here rather than sprinkled through helpers.
#[derive(Debug, Clone, Copy)]
pub struct DetectLimits {
    /// Everything for one port: reads, probes, handshakes and their reconnects.
    pub deadline: Duration,
    /// Most bytes kept from one response.
    pub read_cap: usize,
    /// Once data arrived, this much silence ends the response.
    pub idle_gap: Duration,
    /// Connect deadline for the fresh connections some probes need.
    pub connect_timeout: Duration,
    /// Deadline of one TLS handshake (or STARTTLS dialogue plus handshake).
    pub tls_timeout: Duration,
    /// `--version-intensity`: after the probes that list the port, at most this many others
    /// (`None`: all of them).
    pub other_probes: Option<usize>,
}

impl Default for DetectLimits {
    fn default() -> Self {
        DetectLimits {
            deadline: Duration::from_secs(5),
            read_cap: 64 * 1024,
            idle_gap: Duration::from_millis(250),
            connect_timeout: Duration::from_secs(2),
            tls_timeout: Duration::from_secs(3),
            other_probes: None,
        }
    }
}

/// The database and limits detection runs with.
#[derive(Clone)]
pub struct DetectPlan {
    pub matcher: Arc<Matcher>,
    pub limits: DetectLimits,
    /// TLS handshakes (tunnels and STARTTLS); `None` skips them.
    pub tls: Option<TlsSettings>,
    /// How the probes that need a fresh connection get one: directly or through the proxy.
    pub dialer: Dialer,
}

impl std::fmt::Debug for DetectPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DetectPlan({} rules, {:?})",
            self.matcher.db.rules.len(),
            self.limits
        )
    }
}

/// What is known of a port before detection starts, worked out once by the pipeline.
#[derive(Debug, Clone)]
pub struct PortFacts {
    pub addr: SocketAddr,
    /// The name used in probes (HTTP Host) and for TLS: the typed name or the address.
    pub probe_host: String,
    /// The port table's name for the port, the answer when nothing better is found.
    pub port_name: Option<&'static str>,
}

/// TLS settings for detection: the trust store and the names to use.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub client: TlsClient,
    /// `--sni NAME`: send and verify this name instead of the target's.
    pub sni: Option<String>,
    /// `--no-sni`: send no server name.
    pub no_sni: bool,
}

/// How TLS was reached on a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsVia {
    /// TLS from the first byte (443, 993 …).
    Tunnel,
    /// A plain protocol's upgrade command (SMTP, IMAP, POP3, FTP …).
    StartTls,
}

/// The layer a service was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tunnel {
    Tls,
}

/// What TLS showed on a port: in a tunnel (TLS from the first byte) or after STARTTLS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsOutcome {
    pub via: TlsVia,
    /// For STARTTLS: whether the service offers it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offered: Option<bool>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub facts: Option<TlsFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What detection learned about a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detection {
    #[serde(flatten)]
    pub identity: Identity,
    pub confidence: Confidence,
    /// The probe whose response identified the service (or gave the first bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<String>,
    /// `tls` when the service was found inside a TLS tunnel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<Tunnel>,
    /// The first response the port gave, raw.
    #[serde(skip)]
    pub banner: Option<Vec<u8>>,
    /// The probe that elicited `banner`.
    #[serde(skip)]
    pub banner_probe: Option<String>,
    #[serde(skip)]
    pub tls: Option<TlsOutcome>,
}

impl Detection {
    fn guess(port_name: Option<&str>, banner: Option<(String, Vec<u8>)>) -> Detection {
        let (probe, banner) = banner.map_or((None, None), |(p, b)| (Some(p), Some(b)));
        Detection {
            identity: Identity {
                service: port_name.unwrap_or("unknown").to_string(),
                ..Default::default()
            },
            confidence: Confidence::PortTable,
            probe: probe.clone(),
            tunnel: None,
            banner,
            banner_probe: probe,
            tls: None,
        }
    }
}

/// Probes for a port: the ones that list it first, then the rest, each in database order.
pub fn probe_order(probes: &[Probe], port: u16) -> Vec<&Probe> {
    let tcp = probes.iter().filter(|p| p.proto == crate::ports::Proto::Tcp);
    let (likely, rest): (Vec<&Probe>, Vec<&Probe>) = tcp.partition(|p| p.ports.contains(&port));
    likely.into_iter().chain(rest).collect()
}

/// Keeps the probes that list the port (they come first in `order`) and at most `others` more.
fn within_budget(order: Vec<&Probe>, own: impl Fn(&Probe) -> bool, others: Option<usize>) -> Vec<&Probe> {
    let Some(others) = others else { return order };
    let mine = order.iter().take_while(|p| own(p)).count();
    order.into_iter().take(mine.saturating_add(others)).collect()
}

/// Probes inside a TLS tunnel: those listing the port in `tls_ports` first; no TLS hello.
fn tls_probe_order(probes: &[Probe], port: u16) -> Vec<&Probe> {
    let usable = probes
        .iter()
        .filter(|p| p.name != TLS_PROBE && p.proto == crate::ports::Proto::Tcp);
    let (likely, rest): (Vec<&Probe>, Vec<&Probe>) = usable.partition(|p| p.tls_ports.contains(&port));
    likely.into_iter().chain(rest).collect()
}

/// A connection closed without a byte sooner than this after it opened is a wrapper's (tcpd
/// closes at once); later, it is a service that gave up waiting for the client to speak.
const WRAPPER_CLOSE: Duration = Duration::from_millis(300);

/// The probe whose answer says "TLS" and the service name rules give to TLS.
const TLS_PROBE: &str = "tls-hello";
const TLS_SERVICE: &str = "ssl";

/// Replaces `{host}` in a payload with the name used for the target.
fn payload(probe: &Probe, host: &str) -> Vec<u8> {
    let marker = b"{host}";
    let mut out = Vec::with_capacity(probe.payload.len() + host.len());
    let mut rest = probe.payload.as_slice();
    while let Some(pos) = rest.windows(marker.len()).position(|w| w == marker) {
        out.extend_from_slice(&rest[..pos]);
        out.extend_from_slice(host.as_bytes());
        rest = &rest[pos + marker.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// A connection detection can talk over: plain TCP, TLS, or an in-memory pipe in tests.
pub trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Conn for T {}
pub type BoxConn = Box<dyn Conn>;

/// How to open another connection to the port.
enum Dial<'a> {
    Plain,
    Tls(&'a TlsClient, NameChoice),
}

struct Ctx<'a> {
    addr: SocketAddr,
    host: &'a str,
    matcher: &'a Matcher,
    limits: &'a DetectLimits,
    /// The TLS names (SNI and the name verified), chosen once for the port.
    names: Option<NameChoice>,
    deadline: Instant,
    dialer: &'a Dialer,
}

impl Ctx<'_> {
    async fn tcp(&self) -> Option<TcpStream> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        let opts = ConnectOptions {
            timeout: self.limits.connect_timeout.min(left),
            zero_linger: true,
            bind: None,
        };
        match self.dialer.connect(self.addr, &opts).await {
            Ok(a) if a.state == PortState::Open => a.stream,
            _ => None,
        }
    }

    async fn dial(&self, dial: &Dial<'_>) -> Option<BoxConn> {
        let tcp = self.tcp().await?;
        match dial {
            Dial::Plain => Some(Box::new(tcp)),
            Dial::Tls(client, names) => {
                let until = self.deadline.min(Instant::now() + self.limits.tls_timeout);
                let (stream, _) = client.handshake(tcp, names, until).await.ok()?;
                Some(Box::new(stream))
            }
        }
    }
}

/// One response: bytes, whether the peer closed, and the identity if it matched.
struct Response {
    bytes: Vec<u8>,
    /// Bytes this read added.
    new: usize,
    closed: bool,
    identity: Option<Identity>,
}

/// Reads until a hard match (when `stop_on_hard`), the byte cap, an idle gap after data, EOF,
/// or `until`, appending to `bytes` (the earlier answers of a dialogue, matched with this one).
async fn read_response(
    stream: &mut BoxConn,
    mut bytes: Vec<u8>,
    until: Instant,
    cx: &Ctx<'_>,
    probe: &str,
    stop_on_hard: bool,
) -> Response {
    let mut chunk = vec![0u8; 16 * 1024];
    let mut identity = None;
    let mut closed = false;
    let before = bytes.len();
    while bytes.len() < cx.limits.read_cap {
        let wait_until = if bytes.len() == before {
            until
        } else {
            until.min(Instant::now() + cx.limits.idle_gap)
        };
        let room = (cx.limits.read_cap - bytes.len()).min(chunk.len());
        match timeout_at(wait_until, stream.read(&mut chunk[..room])).await {
            Err(_) => break,
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => {
                bytes.extend_from_slice(&chunk[..n]);
                identity = cx.matcher.identify(&bytes, probe);
                if stop_on_hard
                    && identity
                        .as_ref()
                        .is_some_and(|id| id.confidence == Confidence::Hard)
                    && !crate::fingerprint::decode::http_awaits_more(&bytes)
                {
                    break;
                }
            }
        }
    }
    Response {
        new: bytes.len() - before,
        bytes,
        closed,
        identity,
    }
}

/// Sends a probe's follow-up payloads (its dialogue), each after the previous answer, on the
/// same connection and inside the deadline. Stops at the first step that gets no answer or
/// that the peer closed; the answers accumulate in `response`.
async fn dialogue(stream: &mut BoxConn, probe: &Probe, mut response: Response, cx: &Ctx<'_>) -> Response {
    for (i, step) in probe.then.iter().enumerate() {
        if response.new == 0 || response.closed || Instant::now() >= cx.deadline {
            break;
        }
        match timeout_at(cx.deadline, stream.write_all(step)).await {
            Ok(Ok(())) => {}
            _ => break,
        }
        let until = cx.deadline.min(Instant::now() + probe.wait);
        let last = i + 1 == probe.then.len();
        let before = response.identity.take();
        response = read_response(stream, response.bytes, until, cx, &probe.name, last).await;
        if response.new == 0 {
            // No answer to this step: what the earlier answers said stands.
            response.identity = before;
        }
    }
    response
}

/// What a round of probes found.
#[derive(Default)]
struct Found {
    hard: Option<(Identity, String)>,
    /// Named by the protocol's grammar, not by a rule: kept unless a rule names it later.
    generic: Option<(Identity, String)>,
    soft: Option<(Identity, String)>,
    first_response: Option<(String, Vec<u8>)>,
    wrapped: bool,
    /// The server closed the silent null-probe connection after a while, not at once.
    closed_idle: bool,
}

impl Found {
    fn says_tls(&self) -> bool {
        let is_tls =
            |x: &Option<(Identity, String)>| x.as_ref().is_some_and(|(id, _)| id.service == TLS_SERVICE);
        is_tls(&self.hard) || (self.hard.is_none() && is_tls(&self.soft))
    }

    fn into_detection(self, port_name: Option<&str>) -> Detection {
        if self.wrapped {
            return Detection {
                identity: Identity {
                    service: "tcpwrapped".into(),
                    ..Default::default()
                },
                confidence: Confidence::Soft,
                probe: Some("null".into()),
                tunnel: None,
                banner: None,
                banner_probe: None,
                tls: None,
            };
        }
        let banner = self.first_response.as_ref().map(|(_, b)| b.clone());
        let banner_probe = self.first_response.as_ref().map(|(p, _)| p.clone());
        let Some(found) = self.hard.or(self.generic).or(self.soft) else {
            return Detection::guess(port_name, self.first_response);
        };
        let confidence = found.0.confidence;
        Detection {
            identity: found.0,
            confidence,
            probe: Some(found.1),
            tunnel: None,
            banner,
            banner_probe,
            tls: None,
        }
    }
}

/// How many probes of one port may run at once, each on its own connection: a port that stays
/// silent then costs about the longest probe wait, not their sum (90 probes: two rounds).
const PARALLEL_PROBES: usize = 48;

/// Silence on the first probe for this long starts the others in parallel. Services that greet
/// do so well within it, so they never see the extra connections.
const SILENCE_GRACE: Duration = Duration::from_millis(400);

/// How long a TLS-first port's guessed handshake waits before the plain probes take over.
const TLS_GUESS_WAIT: Duration = Duration::from_millis(1000);

/// Probes meant for other ports wait at most this long for an answer.
const RARE_PROBE_WAIT: Duration = Duration::from_millis(1000);

/// What one probe got on its own connection.
struct Answer {
    /// The probe's place in the round's order: earlier probes are preferred.
    index: usize,
    response: Response,
    /// Our own bytes came back (an echo service).
    echoed: bool,
    /// The null probe's connection closed without a word: at once (a wrapper) or after a while.
    closed_at_once: bool,
    closed_idle: bool,
}

/// Sends one probe (and its dialogue) on `conn`, or on a fresh connection, and reads the answer.
async fn run_probe(
    index: usize,
    conn: Option<BoxConn>,
    probe: &Probe,
    likely: bool,
    dial: &Dial<'_>,
    cx: &Ctx<'_>,
) -> Option<Answer> {
    let mut stream = match conn {
        Some(s) => s,
        None => cx.dial(dial).await?,
    };
    let data = payload(probe, cx.host);
    if !probe.is_null() && !matches!(timeout_at(cx.deadline, stream.write_all(&data)).await, Ok(Ok(()))) {
        return None;
    }
    let started = Instant::now();
    let wait = if likely {
        probe.wait
    } else {
        probe.wait.min(RARE_PROBE_WAIT)
    };
    let until = cx.deadline.min(started + wait);
    let dialogue_next = !probe.then.is_empty();
    let mut response = read_response(&mut stream, Vec::new(), until, cx, &probe.name, !dialogue_next).await;
    // Our own bytes came back: an echo service (RFC 862), whatever the probe looked like.
    let echoed =
        !data.is_empty() && response.bytes.len() >= data.len().min(16) && data.starts_with(&response.bytes);
    if dialogue_next && !response.bytes.is_empty() && !echoed {
        response = dialogue(&mut stream, probe, response, cx).await;
    }
    let silent_close = response.bytes.is_empty() && response.closed && probe.is_null();
    let quick = started.elapsed() < WRAPPER_CLOSE;
    Some(Answer {
        index,
        response,
        echoed,
        closed_at_once: silent_close && quick,
        closed_idle: silent_close && !quick,
    })
}

/// Sends the probes in `order` until a hard match or the deadline: the first on `first` (the
/// scan's own connection, on which nothing was sent or heard), the others each on a connection
/// of its own, several at once once the first has answered or stayed silent for a moment.
/// Where several answer, the earlier probe in `order` is preferred.
async fn probe_round(first: Option<BoxConn>, dial: &Dial<'_>, order: &[&Probe], cx: &Ctx<'_>) -> Found {
    let port = cx.addr.port();
    let likely = |p: &Probe| p.is_null() || p.ports.contains(&port) || p.tls_ports.contains(&port);
    let mut found = Found::default();
    // The order index behind each kept finding, so a later probe never displaces an earlier one.
    let (mut generic_at, mut soft_at, mut first_at) = (usize::MAX, usize::MAX, usize::MAX);
    let mut running = FuturesUnordered::new();
    let mut next = 0;
    if let Some(p) = order.first() {
        running.push(run_probe(0, first, p, true, dial, cx));
        next = 1;
    }
    let mut widen_at = Some(Instant::now() + SILENCE_GRACE);
    let mut soft_tries = 0;
    loop {
        if widen_at.is_none() {
            while running.len() < PARALLEL_PROBES && next < order.len() && Instant::now() < cx.deadline {
                let (index, probe) = (next, order[next]);
                next += 1;
                if let Some((known, _)) = found.generic.as_ref().or(found.soft.as_ref()) {
                    // Knowing the service, only probes with a hard rule for it can say more.
                    let useful = cx.matcher.db.rules.iter().any(|r| {
                        r.service == known.service && !r.soft && r.probes.iter().any(|p| p == &probe.name)
                    });
                    if !useful || soft_tries >= 2 {
                        continue;
                    }
                    soft_tries += 1;
                }
                running.push(run_probe(index, None, probe, likely(probe), dial, cx));
            }
        }
        if running.is_empty() {
            break;
        }
        let wake = widen_at.unwrap_or(cx.deadline);
        let answer = tokio::select! {
            answer = running.next() => answer,
            _ = tokio::time::sleep_until(wake) => {
                if widen_at.take().is_some() {
                    continue;
                }
                break;
            }
        };
        widen_at = None;
        let Some(Some(answer)) = answer else { continue };
        let Answer {
            index,
            response,
            echoed,
            closed_at_once,
            closed_idle,
        } = answer;
        let probe = &order[index].name;
        if response.bytes.is_empty() {
            if closed_at_once && first_at == usize::MAX && index == 0 {
                // Accepted, then closed at once without a word: a wrapper (tcpd, a firewall proxy).
                found.wrapped = true;
                return found;
            }
            // Closed after waiting for us (an idle timeout, as Monit's): a service that wants
            // the client to speak first.
            found.closed_idle |= closed_idle;
            continue;
        }
        if index < first_at {
            first_at = index;
            found.first_response = Some((probe.clone(), response.bytes.clone()));
        }
        if echoed && found.hard.is_none() {
            let echo = Identity {
                service: "echo".into(),
                confidence: Confidence::Soft,
                rule: Some("echo".into()),
                ..Default::default()
            };
            found.soft = Some((echo, probe.clone()));
            return found;
        }
        match response.identity {
            Some(id) if id.confidence == Confidence::Hard => {
                found.hard = Some((id, probe.clone()));
                return found;
            }
            Some(id) if id.confidence == Confidence::Generic && index < generic_at => {
                generic_at = index;
                found.generic = Some((id, probe.clone()));
            }
            Some(id) if id.confidence == Confidence::Generic => {}
            Some(id) if index < soft_at => {
                soft_at = index;
                let tls = id.service == TLS_SERVICE;
                found.soft = Some((id, probe.clone()));
                if tls {
                    return found; // the caller goes on inside TLS
                }
            }
            _ => {}
        }
    }
    // Closed on us and no probe got a word out of it: a wrapper after all.
    found.wrapped = found.closed_idle && found.first_response.is_none();
    found
}

/// Handshakes (on `first` or a fresh connection) and detects inside the tunnel. `None` when
/// the port turned out not to speak TLS at all.
async fn detect_in_tls(
    first: Option<BoxConn>,
    tls: &TlsSettings,
    port_name: Option<&str>,
    cx: &Ctx<'_>,
) -> Option<Detection> {
    let port = cx.addr.port();
    let order = within_budget(
        tls_probe_order(&cx.matcher.db.probes, port),
        |p| p.tls_ports.contains(&port),
        cx.limits.other_probes,
    );
    let mut client = tls.client.clone();
    // Offer HTTP/1.1 by ALPN only where HTTP is expected, so other services are not put off.
    client.alpn = match order.first() {
        Some(p) if p.name == "http-get" => vec![b"http/1.1".to_vec()],
        _ => Vec::new(),
    };
    let names = cx.names.clone()?;
    // On the scan's own connection TLS is only the port's guess: a short wait, and a port that
    // stays silent goes on to the plain probes (whose TLS hello brings us back here if needed).
    let wait = if first.is_some() {
        cx.limits.tls_timeout.min(TLS_GUESS_WAIT)
    } else {
        cx.limits.tls_timeout
    };
    let tcp = match first {
        Some(s) => s,
        None => Box::new(cx.tcp().await?),
    };
    let until = cx.deadline.min(Instant::now() + wait);
    match client.handshake(tcp, &names, until).await {
        Ok((stream, facts)) => {
            let dial = Dial::Tls(&client, names);
            let found = probe_round(Some(Box::new(stream)), &dial, &order, cx).await;
            let mut d = found.into_detection(port_name);
            d.tunnel = Some(Tunnel::Tls);
            d.tls = Some(TlsOutcome {
                via: TlsVia::Tunnel,
                offered: None,
                facts: Some(facts),
                error: None,
            });
            Some(d)
        }
        // Silence to a ClientHello: not a TLS service (a TLS server answers at once); the plain
        // probes get the rest of the deadline.
        Err(HandshakeError::Timeout) => None,
        Err(e) => {
            let sni = names.send_sni.then_some(names.name.as_str());
            let until = cx.deadline.min(Instant::now() + cx.limits.tls_timeout);
            let why = tls_diag::diagnose(cx.dialer, cx.addr, sni, until).await;
            if !why.speaks_tls() {
                return None;
            }
            let mut d = Detection::guess(Some(TLS_SERVICE), None);
            d.confidence = Confidence::Soft;
            d.tunnel = Some(Tunnel::Tls);
            d.tls = Some(TlsOutcome {
                via: TlsVia::Tunnel,
                offered: None,
                facts: None,
                error: Some(format!("{e}: {why}")),
            });
            Some(d)
        }
    }
}

/// Checks whether a plain service offers STARTTLS, and if so upgrades and records the handshake.
async fn check_starttls(proto: StartTls, tls: &TlsSettings, cx: &Ctx<'_>) -> Option<TlsOutcome> {
    let mut tcp = cx.tcp().await?;
    let until = cx.deadline.min(Instant::now() + cx.limits.tls_timeout);
    let outcome = |offered, facts, error| TlsOutcome {
        via: TlsVia::StartTls,
        offered: Some(offered),
        facts,
        error,
    };
    match starttls::upgrade(&mut tcp, proto, until).await {
        Err(StartTlsError::NotOffered(_)) => return Some(outcome(false, None, None)),
        Err(e) => return Some(outcome(false, None, Some(e.to_string()))),
        Ok(()) => {}
    }
    let names = cx.names.as_ref()?;
    match tls.client.handshake(tcp, names, until).await {
        Ok((_, facts)) => Some(outcome(true, Some(facts), None)),
        Err(e) => Some(outcome(true, None, Some(e.to_string()))),
    }
}

/// Identifies what answers the port, starting with the scan's own connection `first`. Never
/// errors: what is not known stays unknown.
pub async fn detect(first: BoxConn, port: &PortFacts, plan: &DetectPlan) -> Detection {
    let tls = plan.tls.as_ref();
    let cx = Ctx {
        addr: port.addr,
        host: &port.probe_host,
        matcher: &plan.matcher,
        limits: &plan.limits,
        names: tls.map(|t| NameChoice::for_target(&port.probe_host, t.sni.as_deref(), t.no_sni)),
        deadline: Instant::now() + plan.limits.deadline,
        dialer: &plan.dialer,
    };
    let port_name = port.port_name;
    let number = port.addr.port();
    let order = within_budget(
        probe_order(&cx.matcher.db.probes, number),
        |p| p.ports.contains(&number),
        cx.limits.other_probes,
    );
    let mut first = Some(first);
    if let Some(tls) = tls {
        // A TLS-first port (443, 993 …): handshake on the scan's own connection.
        if order.first().is_some_and(|p| p.name == TLS_PROBE) {
            if let Some(d) = detect_in_tls(first.take(), tls, port_name, &cx).await {
                return d;
            }
        }
    }
    let found = probe_round(first, &Dial::Plain, &order, &cx).await;
    if let (Some(tls), true) = (tls, found.says_tls()) {
        if let Some(d) = detect_in_tls(None, tls, port_name, &cx).await {
            return d;
        }
    }
    let mut detection = found.into_detection(port_name);
    if let (Some(tls), Some(proto)) = (tls, StartTls::for_service(&detection.identity.service)) {
        if detection.confidence != Confidence::PortTable {
            detection.tls = check_starttls(proto, tls, &cx).await;
        }
    }
    detection
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(name: &str, ports: &[u16], payload: &[u8]) -> Probe {
        Probe {
            name: name.into(),
            payload: payload.to_vec(),
            then: Vec::new(),
            ports: ports.to_vec(),
            tls_ports: Vec::new(),
            wait: Duration::from_millis(100),
            after_silence: false,
            proto: crate::ports::Proto::Tcp,
            location: String::new(),
        }
    }

    #[test]
    fn version_intensity_keeps_the_ports_own_probes_and_n_others() {
        let probes = [
            probe("null", &[], b""),
            probe("http-get", &[80], b"GET"),
            probe("a", &[], b"a"),
            probe("b", &[80], b"b"),
            probe("c", &[], b"c"),
        ];
        let names = |others: Option<usize>| -> Vec<String> {
            within_budget(probe_order(&probes, 80), |p| p.ports.contains(&80), others)
                .iter()
                .map(|p| p.name.clone())
                .collect()
        };
        assert_eq!(names(None), ["http-get", "b", "null", "a", "c"]);
        assert_eq!(names(Some(0)), ["http-get", "b"]);
        assert_eq!(names(Some(2)), ["http-get", "b", "null", "a"]);
        assert_eq!(names(Some(9)).len(), 5);
    }

    #[test]
    fn likely_probes_come_first() {
        let probes = [
            probe("null", &[22], b""),
            probe("http", &[80], b"GET"),
            probe("x", &[], b"x"),
        ];
        let names = |port| {
            probe_order(&probes, port)
                .iter()
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(80), ["http", "null", "x"]);
        assert_eq!(names(22), ["null", "http", "x"]);
        assert_eq!(names(9), ["null", "http", "x"]);
    }

    #[test]
    fn tls_order_skips_the_hello_and_prefers_tls_ports() {
        let mut http = probe("http-get", &[80], b"GET");
        http.tls_ports = vec![443];
        let probes = [probe("null", &[22], b""), probe(TLS_PROBE, &[443], b"\x16"), http];
        let names: Vec<String> = tls_probe_order(&probes, 443)
            .iter()
            .map(|p| p.name.clone())
            .collect();
        assert_eq!(names, ["http-get", "null"]);
    }

    #[test]
    fn host_is_substituted() {
        let p = probe("http", &[], b"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n");
        assert_eq!(
            payload(&p, "example.org"),
            b"GET / HTTP/1.0\r\nHost: example.org\r\n\r\n"
        );
        assert_eq!(payload(&probe("n", &[], b"{hos"), "x"), b"{hos");
    }
}
