//! Targets: IP literals, CIDR blocks, DNS names and `host:port` items, read lazily from arguments,
//! files and stdin, and expanded lazily into addresses (a /8 is never held in memory).

use std::fmt;
use std::io::BufRead;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::str::FromStr;
use std::sync::mpsc;
use std::time::Duration;

use thiserror::Error;

use crate::escape::escape_str;
use crate::ports::{parse_port, PortError};

/// One address to scan, with the name the user typed for it (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub id: u64,
    pub name: Option<String>,
    pub ip: IpAddr,
}

impl Host {
    /// `localhost (127.0.0.1)` or `127.0.0.1`.
    pub fn display(&self) -> String {
        match &self.name {
            Some(name) => format!("{name} ({})", self.ip),
            None => self.ip.to_string(),
        }
    }

    /// The name the user typed, or the address.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.ip.to_string())
    }

    /// The name to put in probes (HTTP Host): the typed name, or the address (IPv6 bracketed).
    pub fn probe_name(&self) -> String {
        match (&self.name, self.ip) {
            (Some(name), _) => name.clone(),
            (None, IpAddr::V6(v6)) => format!("[{v6}]"),
            (None, ip) => ip.to_string(),
        }
    }
}

/// What was wrong with one target.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("empty target")]
    Empty,
    #[error("invalid CIDR '{spec}': prefix length {prefix} is larger than {max} (allowed: /0 to /{max})")]
    CidrPrefix { spec: String, prefix: String, max: u8 },
    #[error("invalid CIDR '{spec}': prefix length '{prefix}' is not a whole number (allowed: /0 to /{max})")]
    CidrPrefixNotNumber { spec: String, prefix: String, max: u8 },
    #[error("invalid CIDR '{spec}': '{base}' is not an IP address")]
    CidrBase { spec: String, base: String },
    #[error("invalid port in target '{spec}': {source}")]
    Port { spec: String, source: PortError },
    #[error("'{0}' looks like an IPv6 address with a port: write it as [addr]:port")]
    Ipv6NeedsBrackets(String),
    #[error("'{0}' is not an IP address, CIDR block or host name")]
    Invalid(String),
    #[error("invalid range '{spec}': {why} (each octet is N, N-M, N,M or *, from 0 to 255)")]
    Range { spec: String, why: String },
}

/// The host part of a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostSpec {
    Addr(IpAddr),
    Cidr {
        network: IpAddr,
        prefix: u8,
    },
    /// nmap's octet ranges: `192.168.1.1-20`, `10.0.0-3.*`, `10.1.*.1`.
    Range(OctetRanges),
    Name(String),
}

/// An IPv4 block written octet by octet; each octet is a list of inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OctetRanges(pub [Vec<(u8, u8)>; 4]);

impl OctetRanges {
    /// Parses `10.0.0-3.*`; `None` when the text is not four octet specs with one range in it
    /// (a plain address or a name is not a range).
    fn parse(text: &str) -> Option<Result<OctetRanges, TargetError>> {
        let parts: Vec<&str> = text.split('.').collect();
        let octet_chars = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'*' | b','))
        };
        if parts.len() != 4
            || !parts.iter().all(|p| octet_chars(p))
            || parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        Some(Self::octets(text, &parts))
    }

    fn octets(text: &str, parts: &[&str]) -> Result<OctetRanges, TargetError> {
        let bad = |why: String| TargetError::Range {
            spec: escape_str(text),
            why,
        };
        let number = |n: &str| -> Result<u8, TargetError> {
            n.parse::<u8>()
                .map_err(|_| bad(format!("'{}' is not an octet", escape_str(n))))
        };
        let mut octets: [Vec<(u8, u8)>; 4] = Default::default();
        for (slot, part) in octets.iter_mut().zip(parts) {
            for item in part.split(',') {
                let range = match item {
                    "*" => (0, 255),
                    _ => match item.split_once('-') {
                        // nmap: an open end means to 255, an open start from 0.
                        Some((lo, hi)) => (
                            if lo.is_empty() { 0 } else { number(lo)? },
                            if hi.is_empty() { 255 } else { number(hi)? },
                        ),
                        None => {
                            let n = number(item)?;
                            (n, n)
                        }
                    },
                };
                if range.0 > range.1 {
                    return Err(bad(format!("'{}' runs backwards", escape_str(item))));
                }
                slot.push(range);
            }
        }
        Ok(OctetRanges(octets))
    }

    /// How many addresses the block holds.
    pub fn count(&self) -> u64 {
        self.0
            .iter()
            .map(|o| o.iter().map(|(lo, hi)| u64::from(hi - lo) + 1).sum::<u64>())
            .product()
    }

    /// The first address (for family checks and messages).
    pub fn first(&self) -> IpAddr {
        let o = |i: usize| self.0[i].first().map_or(0, |r| r.0);
        IpAddr::V4(Ipv4Addr::new(o(0), o(1), o(2), o(3)))
    }

    /// Every address, in order, computed one at a time.
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let octet = |i: usize| self.0[i].iter().flat_map(|&(lo, hi)| lo..=hi);
        octet(0).flat_map(move |a| {
            octet(1).flat_map(move |b| {
                octet(2).flat_map(move |c| octet(3).map(move |d| IpAddr::V4(Ipv4Addr::new(a, b, c, d))))
            })
        })
    }

    /// Whether `ip` is in the block.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        let IpAddr::V4(v4) = ip else { return false };
        v4.octets()
            .iter()
            .zip(&self.0)
            .all(|(o, ranges)| ranges.iter().any(|(lo, hi)| (lo..=hi).contains(&o)))
    }
}

impl fmt::Display for OctetRanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|o| {
                o.iter()
                    .map(|(lo, hi)| match (lo, hi) {
                        (0, 255) => "*".to_string(),
                        (lo, hi) if lo == hi => lo.to_string(),
                        (lo, hi) => format!("{lo}-{hi}"),
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        f.write_str(&parts.join("."))
    }
}

/// One target as the user wrote it: a host part and an optional port that overrides `-p`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    pub host: HostSpec,
    pub port: Option<u16>,
}

impl FromStr for TargetSpec {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Self, TargetError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(TargetError::Empty);
        }
        let port_of = |p: &str| {
            parse_port(p).map_err(|source| TargetError::Port {
                spec: escape_str(text),
                source,
            })
        };
        // [v6] or [v6]:port
        if let Some(rest) = text.strip_prefix('[') {
            let (inside, after) = rest
                .split_once(']')
                .ok_or_else(|| TargetError::Invalid(escape_str(text)))?;
            let host = parse_host(inside, text)?;
            let port = match after {
                "" => None,
                _ => Some(port_of(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| TargetError::Invalid(escape_str(text)))?,
                )?),
            };
            return Ok(TargetSpec { host, port });
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(TargetSpec {
                host: HostSpec::Addr(ip),
                port: None,
            });
        }
        match text.matches(':').count() {
            0 => Ok(TargetSpec {
                host: parse_host(text, text)?,
                port: None,
            }),
            1 => {
                let (host, port) = text.split_once(':').unwrap_or((text, ""));
                Ok(TargetSpec {
                    host: parse_host(host, text)?,
                    port: Some(port_of(port)?),
                })
            }
            _ => match text.rsplit_once(':') {
                // A bare IPv6 CIDR (fe80::/64) is fine; anything else with colons wants brackets.
                _ if text.contains('/') => Ok(TargetSpec {
                    host: parse_host(text, text)?,
                    port: None,
                }),
                Some((addr, _)) if addr.parse::<Ipv6Addr>().is_ok() => {
                    Err(TargetError::Ipv6NeedsBrackets(escape_str(text)))
                }
                _ => Err(TargetError::Invalid(escape_str(text))),
            },
        }
    }
}

fn parse_host(host: &str, whole: &str) -> Result<HostSpec, TargetError> {
    if let Some(range) = OctetRanges::parse(host) {
        return range.map(HostSpec::Range);
    }
    if let Some((base, prefix)) = host.split_once('/') {
        let network: IpAddr = base.parse().map_err(|_| TargetError::CidrBase {
            spec: escape_str(whole),
            base: escape_str(base),
        })?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let bad_prefix = || TargetError::CidrPrefix {
            spec: escape_str(whole),
            prefix: escape_str(prefix),
            max,
        };
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TargetError::CidrPrefixNotNumber {
                spec: escape_str(whole),
                prefix: escape_str(prefix),
                max,
            });
        }
        // All digits: too large to parse is too large for the family.
        let prefix: u8 = prefix.parse().map_err(|_| bad_prefix())?;
        if prefix > max {
            return Err(bad_prefix());
        }
        return Ok(HostSpec::Cidr { network, prefix });
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(HostSpec::Addr(ip));
    }
    let valid_name = !host.is_empty()
        && host.len() <= 253
        && host
            .split('.')
            .all(|label| !label.is_empty() && label.len() <= 63)
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        && !host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if valid_name {
        Ok(HostSpec::Name(host.to_ascii_lowercase()))
    } else {
        Err(TargetError::Invalid(escape_str(whole)))
    }
}

/// Targets not to scan (`--exclude`, `--excludefile`): blocks, addresses, and names (which
/// also exclude the addresses they resolved to when the plan was made).
#[derive(Debug, Clone, Default)]
pub struct Exclusions {
    pub blocks: Vec<HostSpec>,
}

impl Exclusions {
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Whether a host (its address, and the name it was found by) is excluded.
    pub fn contains(&self, ip: &IpAddr, name: Option<&str>) -> bool {
        self.blocks.iter().any(|spec| match spec {
            HostSpec::Addr(a) => a == ip,
            HostSpec::Cidr { network, prefix } => in_cidr(ip, network, *prefix),
            HostSpec::Range(r) => r.contains(ip),
            HostSpec::Name(n) => name == Some(n.as_str()),
        })
    }
}

fn in_cidr(ip: &IpAddr, network: &IpAddr, prefix: u8) -> bool {
    let (a, b, bits) = match (ip, network) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(*a) as u128, u32::from(*b) as u128, 32u32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(*a), u128::from(*b), 128),
        _ => return false,
    };
    let host_bits = bits - u32::from(prefix).min(bits);
    let mask = if host_bits >= 128 {
        0
    } else {
        u128::MAX << host_bits
    };
    a & mask == b & mask
}

/// Addresses of a CIDR block, first to last, computed one at a time.
#[derive(Debug, Clone)]
pub struct CidrIter {
    next: Option<u128>,
    last: u128,
    v4: bool,
}

impl CidrIter {
    pub fn new(network: IpAddr, prefix: u8) -> Self {
        let (value, bits, v4) = match network {
            IpAddr::V4(a) => (u32::from(a) as u128, 32u32, true),
            IpAddr::V6(a) => (u128::from(a), 128, false),
        };
        let host_bits = bits - u32::from(prefix.min(bits as u8));
        let span = if host_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        let first = value & !span;
        CidrIter {
            next: Some(first),
            last: first | span,
            v4,
        }
    }
}

impl Iterator for CidrIter {
    type Item = IpAddr;

    /// Skips ahead in O(1), so `--resume`-style offsets into huge blocks stay cheap.
    fn nth(&mut self, n: usize) -> Option<IpAddr> {
        let current = self.next?;
        match current.checked_add(n as u128) {
            Some(target) if target <= self.last => {
                self.next = Some(target);
                self.next()
            }
            _ => {
                self.next = None;
                None
            }
        }
    }

    fn next(&mut self) -> Option<IpAddr> {
        let current = self.next?;
        self.next = if current < self.last {
            Some(current + 1)
        } else {
            None
        };
        Some(if self.v4 {
            IpAddr::V4(Ipv4Addr::from(current as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from(current))
        })
    }
}

/// Which address families a DNS name may resolve to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    #[default]
    Any,
    V4,
    V6,
}

impl Family {
    /// Refuses an address literal of the other family (`-4 ::1`): nc users expect the flag to
    /// hold, and quietly ignoring it would connect over the family they excluded.
    pub fn check_literal(self, ip: &IpAddr, typed: &str) -> Result<(), FamilyMismatch> {
        if self.allows(ip) {
            return Ok(());
        }
        let (flag, want, have) = if ip.is_ipv4() {
            ("-6", "IPv6", "IPv4")
        } else {
            ("-4", "IPv4", "IPv6")
        };
        Err(FamilyMismatch {
            flag,
            want,
            have,
            typed: escape_str(typed),
        })
    }

    pub fn allows(self, ip: &IpAddr) -> bool {
        match self {
            Family::Any => true,
            Family::V4 => ip.is_ipv4(),
            Family::V6 => ip.is_ipv6(),
        }
    }
}

/// Why a name gave no address.
/// `-4`/`-6` given with an address of the other family.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{flag} asks for {want}, but '{typed}' is an {have} address: drop {flag} or give an {want} address")]
pub struct FamilyMismatch {
    flag: &'static str,
    want: &'static str,
    have: &'static str,
    typed: String,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ResolveError {
    #[error("cannot resolve '{name}': {reason}")]
    Failed { name: String, reason: String },
    #[error("cannot resolve '{name}': it has no {family} address")]
    NoAddress { name: String, family: &'static str },
    #[error("cannot resolve '{name}': no answer within {seconds} s")]
    Timeout { name: String, seconds: u64 },
}

/// Resolves a name with the system resolver, bounded by `deadline` (the lookup thread is left to
/// finish on its own if the resolver hangs).
pub fn resolve(name: &str, family: Family, deadline: Duration) -> Result<Vec<IpAddr>, ResolveError> {
    let (tx, rx) = mpsc::channel();
    let owned = name.to_string();
    // getaddrinfo blocks without a deadline, so it runs on a thread we can stop waiting for.
    std::thread::Builder::new()
        .name("resolve".into())
        .spawn(move || {
            let _ = tx.send(
                (owned.as_str(), 0)
                    .to_socket_addrs()
                    .map(|a| a.collect::<Vec<_>>()),
            );
        })
        .map_err(|e| ResolveError::Failed {
            name: escape_str(name),
            reason: format!("cannot start a thread: {e}"),
        })?;
    let answer = rx.recv_timeout(deadline).map_err(|_| ResolveError::Timeout {
        name: name.to_string(),
        seconds: deadline.as_secs(),
    })?;
    let addrs: Vec<SocketAddr> = answer.map_err(|e| ResolveError::Failed {
        name: name.to_string(),
        reason: e.to_string(),
    })?;
    let mut ips: Vec<IpAddr> = Vec::new();
    for ip in addrs.into_iter().map(|a| a.ip()) {
        if family.allows(&ip) && !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    if ips.is_empty() {
        return Err(ResolveError::NoAddress {
            name: name.to_string(),
            family: match family {
                Family::V4 => "IPv4",
                Family::V6 => "IPv6",
                Family::Any => "IP",
            },
        });
    }
    Ok(ips)
}

/// Where a target came from, for error messages (`targets.txt:12`, `argument 3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(pub String);

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One source of target text: a command-line argument, or a file/stdin read line by line.
pub enum Source {
    Arg(String),
    Lines {
        name: String,
        reader: Box<dyn BufRead + Send>,
        line: usize,
    },
}

/// Reads target words lazily from sources in order; comments (`#`) and blank lines are skipped,
/// and a line may hold several whitespace-separated targets.
pub struct TargetReader {
    sources: std::collections::VecDeque<Source>,
    pending: std::collections::VecDeque<(Origin, String)>,
    args_seen: usize,
}

impl TargetReader {
    pub fn new(sources: Vec<Source>) -> Self {
        TargetReader {
            sources: sources.into(),
            pending: Default::default(),
            args_seen: 0,
        }
    }
}

impl Iterator for TargetReader {
    type Item = (Origin, Result<TargetSpec, String>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((origin, word)) = self.pending.pop_front() {
                let parsed = word.parse::<TargetSpec>().map_err(|e| e.to_string());
                return Some((origin, parsed));
            }
            match self.sources.front_mut()? {
                Source::Arg(text) => {
                    self.args_seen += 1;
                    let origin = Origin(format!("argument {}", self.args_seen));
                    let text = std::mem::take(text);
                    self.sources.pop_front();
                    return Some((origin, text.parse().map_err(|e: TargetError| e.to_string())));
                }
                Source::Lines { name, reader, line } => {
                    let mut text = Vec::new();
                    // Lines are capped so a file without newlines cannot exhaust memory.
                    match read_line_capped(reader.as_mut(), &mut text, 4096) {
                        Ok(0) => {
                            self.sources.pop_front();
                        }
                        Ok(_) => {
                            *line += 1;
                            let origin = Origin(format!("{name}:{line}"));
                            let text = String::from_utf8_lossy(&text);
                            let text = text.split('#').next().unwrap_or("");
                            for word in text.split_whitespace() {
                                self.pending.push_back((origin.clone(), word.to_string()));
                            }
                        }
                        Err(e) => {
                            let origin = Origin(name.clone());
                            self.sources.pop_front();
                            return Some((origin, Err(format!("cannot read: {e}"))));
                        }
                    }
                }
            }
        }
    }
}

/// Reads up to and including `\n`, keeping at most `cap` bytes of the line (the rest is skipped).
fn read_line_capped(reader: &mut dyn BufRead, out: &mut Vec<u8>, cap: usize) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(total);
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let room = cap.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = chunk.len();
        total += used;
        reader.consume(used);
        if done {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> TargetSpec {
        text.parse().unwrap()
    }

    #[test]
    fn literals_names_and_ports() {
        assert_eq!(
            spec("127.0.0.1").host,
            HostSpec::Addr("127.0.0.1".parse().unwrap())
        );
        assert_eq!(spec("::1").host, HostSpec::Addr("::1".parse().unwrap()));
        let t = spec("[::1]:8080");
        assert_eq!(
            (t.host, t.port),
            (HostSpec::Addr("::1".parse().unwrap()), Some(8080))
        );
        let t = spec("Example.COM:443");
        assert_eq!(
            (t.host, t.port),
            (HostSpec::Name("example.com".into()), Some(443))
        );
        assert_eq!(spec("localhost").port, None);
        assert_eq!(
            spec("10.0.0.0/30").host,
            HostSpec::Cidr {
                network: "10.0.0.0".parse().unwrap(),
                prefix: 30
            }
        );
        assert_eq!(
            spec("fe80::/120").host,
            HostSpec::Cidr {
                network: "fe80::".parse().unwrap(),
                prefix: 120
            }
        );
    }

    #[test]
    fn bad_targets_say_what_is_wrong() {
        let err = |s: &str| s.parse::<TargetSpec>().unwrap_err().to_string();
        assert!(err("10.0.0.0/33").contains("prefix length 33 is larger than 32"));
        assert!(err("::/129").contains("larger than 128"));
        assert!(err("host:0").contains("port 0 is out of range"));
        assert!(err("host:99999").contains("out of range"));
        assert!(err("2001:db8::1:2:3:4:5:80").contains("write it as [addr]:port"));
        assert!(err("2001:db8::zz:80").contains("not an IP address"));
        assert!(err("bad host!").contains("not an IP address, CIDR block or host name"));
        assert!(err("1.2.3.4.5").contains("not an IP address"));
        assert!(err("a\x1b[31m").contains("\\x1b"), "control bytes are escaped");
    }

    #[test]
    fn nmap_octet_ranges() {
        let all = |t: &str| -> Vec<String> {
            match spec(t).host {
                HostSpec::Range(r) => r.iter().map(|ip| ip.to_string()).collect(),
                other => panic!("{t}: not a range: {other:?}"),
            }
        };
        assert_eq!(
            all("192.168.1.1-3"),
            ["192.168.1.1", "192.168.1.2", "192.168.1.3"]
        );
        assert_eq!(all("10.0.0-1.*").len(), 512);
        assert_eq!(all("10.0.0-1.*")[256], "10.0.1.0");
        assert_eq!(all("10.1.*.1")[255], "10.1.255.1");
        assert_eq!(
            all("127.0.0.1,3,5-6"),
            ["127.0.0.1", "127.0.0.3", "127.0.0.5", "127.0.0.6"]
        );
        assert_eq!(
            all("127.0.0.250-"),
            [
                "127.0.0.250",
                "127.0.0.251",
                "127.0.0.252",
                "127.0.0.253",
                "127.0.0.254",
                "127.0.0.255"
            ]
        );
        let t = spec("127.0.0.1-2:8080");
        assert_eq!(t.port, Some(8080));
        let HostSpec::Range(r) = t.host else {
            panic!("not a range")
        };
        assert_eq!((r.count(), r.to_string()), (2, "127.0.0.1-2".to_string()));
        assert!(r.contains(&"127.0.0.2".parse().unwrap()));
        assert!(!r.contains(&"127.0.0.3".parse().unwrap()));
        let err = |s: &str| s.parse::<TargetSpec>().unwrap_err().to_string();
        assert_eq!(
            err("10.0.0.5-3"),
            "invalid range '10.0.0.5-3': '5-3' runs backwards (each octet is N, N-M, N,M or *, from 0 to 255)"
        );
        assert_eq!(
            err("10.0.0.1-300"),
            "invalid range '10.0.0.1-300': '300' is not an octet (each octet is N, N-M, N,M or *, from 0 to 255)"
        );
        // Names with dashes and plain addresses are not ranges.
        assert_eq!(
            spec("my-host.example").host,
            HostSpec::Name("my-host.example".into())
        );
    }

    #[test]
    fn exclusions_match_addresses_blocks_ranges_and_names() {
        let ex = Exclusions {
            blocks: ["127.0.0.5", "10.0.0.0/30", "192.168.1.1-3", "db.example"]
                .iter()
                .map(|t| spec(t).host)
                .collect(),
        };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(ex.contains(&ip("127.0.0.5"), None));
        assert!(ex.contains(&ip("10.0.0.3"), None));
        assert!(!ex.contains(&ip("10.0.0.4"), None));
        assert!(ex.contains(&ip("192.168.1.2"), None));
        assert!(ex.contains(&ip("127.0.0.9"), Some("db.example")));
        assert!(!ex.contains(&ip("::1"), None));
    }

    #[test]
    fn cidr_expands_lazily_and_fully() {
        let all: Vec<IpAddr> = CidrIter::new("10.0.0.1".parse().unwrap(), 30).collect();
        let want: Vec<IpAddr> = ["10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(all, want);
        assert_eq!(CidrIter::new("::1".parse().unwrap(), 128).count(), 1);
        assert_eq!(CidrIter::new("255.255.255.255".parse().unwrap(), 32).count(), 1);
        // A whole IPv6 space is an iterator, not a vector: taking a few is instant.
        assert_eq!(CidrIter::new("::".parse().unwrap(), 0).take(3).count(), 3);
        assert_eq!(
            CidrIter::new("0.0.0.0".parse().unwrap(), 0).nth(1 << 31),
            Some("128.0.0.0".parse().unwrap())
        );
    }

    #[test]
    fn reader_skips_comments_and_numbers_lines() {
        let text = "# list\n127.0.0.1 127.0.0.2\n\nbad/99 # note\n";
        let reader = TargetReader::new(vec![
            Source::Arg("::1".into()),
            Source::Lines {
                name: "list.txt".into(),
                reader: Box::new(std::io::Cursor::new(text)),
                line: 0,
            },
        ]);
        let items: Vec<_> = reader.collect();
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].0, Origin("argument 1".into()));
        assert_eq!(items[2].0, Origin("list.txt:2".into()));
        assert_eq!(items[3].0, Origin("list.txt:4".into()));
        assert!(items[3].1.is_err());
    }
}
