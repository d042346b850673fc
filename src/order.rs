//! Which (host, port) pairs a process scans and in what order: `--shard I/N` splits, and
//! `--randomize` walks a seeded permutation of the whole pair space, both computed lazily.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::sync::Arc;

use thiserror::Error;

use crate::escape::escape_str;
use crate::target::{Host, OctetRanges};

/// `--shard I/N`, kept 0-based: this process scans the pairs of share `index` out of `of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    pub index: u64,
    pub of: u64,
}

impl ShardSpec {
    /// The whole scan: one share.
    pub const WHOLE: ShardSpec = ShardSpec { index: 0, of: 1 };

    /// In sequential order: pair (host number `host`, port position `port`) belongs to share
    /// `(host + port) mod N`, so every share has every host (when there are N ports or more) and
    /// every port (when there are N hosts or more), not a block of hosts.
    pub fn takes(&self, host: u64, port: usize) -> bool {
        self.of == 1 || (host % self.of + port as u64 % self.of) % self.of == self.index
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.of)
    }
}

/// What was wrong with a `--shard` value.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("expected I/N with 1 <= I <= N (1/4 is the first of four shares), not '{0}'")]
pub struct ShardError(String);

impl FromStr for ShardSpec {
    type Err = ShardError;

    fn from_str(text: &str) -> Result<Self, ShardError> {
        let bad = || ShardError(escape_str(text));
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(i) || !digits(n) {
            return Err(bad());
        }
        let (i, n): (u64, u64) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        if i == 0 || n == 0 || i > n {
            return Err(bad());
        }
        Ok(ShardSpec { index: i - 1, of: n })
    }
}

/// A keyed bijection of `0..size`: a balanced Feistel network over the smallest power-of-four
/// domain holding `size`, cycle-walked back into range (fewer than four steps on average), so
/// no list of positions is ever held.
#[derive(Debug, Clone)]
pub struct Permutation {
    size: u64,
    half_bits: u32,
    keys: [u64; ROUNDS],
}

const ROUNDS: usize = 6;

/// A 64-bit mixer (SplitMix64's finaliser): every input bit affects every output bit.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Permutation {
    pub fn new(size: u64, seed: u64) -> Self {
        // 2 * half_bits bits cover size - 1 (at least one bit per half).
        let needed = 64 - size.saturating_sub(1).leading_zeros();
        let half_bits = needed.div_ceil(2).max(1);
        let mut keys = [0u64; ROUNDS];
        let mut state = seed;
        for k in &mut keys {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            *k = mix(state);
        }
        Permutation {
            size,
            half_bits,
            keys,
        }
    }

    fn half_mask(&self) -> u64 {
        if self.half_bits >= 64 {
            u64::MAX
        } else {
            (1u64 << self.half_bits) - 1
        }
    }

    /// One pass of the network over the whole power-of-four domain.
    fn encrypt(&self, x: u64) -> u64 {
        let mask = self.half_mask();
        let (mut left, mut right) = (x >> self.half_bits, x & mask);
        for key in self.keys {
            let f = mix(right ^ key) & mask;
            (left, right) = (right, left ^ f);
        }
        (left << self.half_bits) | right
    }

    /// The position `i` maps to; `i` must be below the size.
    pub fn apply(&self, i: u64) -> u64 {
        let mut x = self.encrypt(i);
        // The domain is a bijection onto itself, so walking the cycle from `i` must come back
        // into range (at the latest at `i` itself).
        while x >= self.size {
            x = self.encrypt(x);
        }
        x
    }
}

/// One target of a randomized scan: a block of consecutive addresses and the ports each gets.
#[derive(Debug, Clone)]
struct Segment {
    /// Position of the segment's first pair in the whole space.
    first_pair: u64,
    /// Number of the segment's first host among all hosts (host ids are this + 1 onward).
    first_host: u64,
    block: Block,
    hosts: u64,
    name: Option<String>,
    /// `host:port` targets have one port; others have the scan's port list.
    port: Option<u16>,
}

/// The addresses of a segment, in the order the sequential scan visits them.
#[derive(Debug, Clone)]
enum Block {
    /// Consecutive addresses from `first` (a CIDR block or one address).
    Consecutive { first: u128, v4: bool },
    /// nmap's octet ranges (`10.0-3.*.1`): address `n` is `n` in mixed radix, one digit per octet.
    Octets(OctetRanges),
}

impl Block {
    fn nth(&self, n: u64) -> Option<IpAddr> {
        match self {
            Block::Consecutive { first, v4: true } => Some(IpAddr::V4(Ipv4Addr::from(
                u32::try_from(first + u128::from(n)).ok()?,
            ))),
            Block::Consecutive { first, v4: false } => {
                Some(IpAddr::V6(Ipv6Addr::from(first + u128::from(n))))
            }
            Block::Octets(ranges) => {
                let mut rest = n;
                let mut octets = [0u8; 4];
                for (i, list) in ranges.0.iter().enumerate().rev() {
                    let size: u64 = list.iter().map(|(lo, hi)| u64::from(hi - lo) + 1).sum();
                    let mut digit = rest % size.max(1);
                    rest /= size.max(1);
                    for &(lo, hi) in list {
                        let len = u64::from(hi - lo) + 1;
                        if digit < len {
                            octets[i] = lo + digit as u8;
                            break;
                        }
                        digit -= len;
                    }
                }
                (rest == 0).then(|| IpAddr::V4(Ipv4Addr::from(octets)))
            }
        }
    }
}

/// Why the pair space could not be built.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SpaceError {
    #[error("{0}: too many addresses to randomize (at most 2^62 host-port pairs in all)")]
    TooLarge(String),
}

/// Every (host, port) pair of a scan, numbered `0..total` in target order, turned into a host and
/// a port on demand; the targets themselves are the only list held (one entry per target).
#[derive(Debug, Clone)]
pub struct PairSpace {
    segments: Vec<Segment>,
    ports: Arc<[u16]>,
    total: u64,
    hosts: u64,
}

/// The most pairs a randomized scan may have: positions stay far from `u64` overflow.
const MAX_PAIRS: u64 = 1 << 62;

impl PairSpace {
    pub fn new(ports: Arc<[u16]>) -> Self {
        PairSpace {
            segments: Vec::new(),
            ports,
            total: 0,
            hosts: 0,
        }
    }

    /// Adds a block of `2^(bits - prefix)` addresses from `network` (one address: prefix = bits).
    pub fn add(
        &mut self,
        origin: &str,
        network: IpAddr,
        prefix: u8,
        name: Option<String>,
        port: Option<u16>,
    ) -> Result<(), SpaceError> {
        let (value, bits, v4) = match network {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32u32, true),
            IpAddr::V6(a) => (u128::from(a), 128, false),
        };
        let host_bits = bits - u32::from(prefix).min(bits);
        let too_large = || SpaceError::TooLarge(escape_str(origin));
        if host_bits >= 63 {
            return Err(too_large());
        }
        let hosts = 1u64 << host_bits;
        let first = value & !((1u128 << host_bits) - 1);
        self.push(origin, Block::Consecutive { first, v4 }, hosts, name, port)
    }

    /// Adds an nmap octet-range block (`192.168.1-3.*`).
    pub fn add_octets(
        &mut self,
        origin: &str,
        ranges: OctetRanges,
        port: Option<u16>,
    ) -> Result<(), SpaceError> {
        let hosts = ranges.count();
        self.push(origin, Block::Octets(ranges), hosts, None, port)
    }

    fn push(
        &mut self,
        origin: &str,
        block: Block,
        hosts: u64,
        name: Option<String>,
        port: Option<u16>,
    ) -> Result<(), SpaceError> {
        let too_large = || SpaceError::TooLarge(escape_str(origin));
        let each = if port.is_some() {
            1
        } else {
            self.ports.len() as u64
        };
        let pairs = hosts.checked_mul(each).ok_or_else(too_large)?;
        let total = self
            .total
            .checked_add(pairs)
            .filter(|t| *t <= MAX_PAIRS)
            .ok_or_else(too_large)?;
        self.segments.push(Segment {
            first_pair: self.total,
            first_host: self.hosts,
            block,
            hosts,
            name,
            port,
        });
        self.total = total;
        self.hosts += hosts;
        Ok(())
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn hosts(&self) -> u64 {
        self.hosts
    }

    /// Pair number `n` (below the total): the host and the port.
    pub fn pair(&self, n: u64) -> Option<(Host, u16)> {
        let at = self
            .segments
            .partition_point(|s| s.first_pair <= n)
            .checked_sub(1)?;
        let seg = &self.segments[at];
        let offset = n - seg.first_pair;
        let (host, port) = match seg.port {
            Some(p) => (offset, p),
            None => {
                let each = self.ports.len() as u64;
                let port = *self.ports.get((offset % each) as usize)?;
                (offset / each, port)
            }
        };
        if host >= seg.hosts {
            return None;
        }
        let ip = seg.block.nth(host)?;
        Some((
            Host {
                id: seg.first_host + host + 1,
                name: seg.name.clone(),
                ip,
            },
            port,
        ))
    }
}

/// The pairs one worker thread of one shard scans, in permuted order: positions
/// `shard + N * (worker + workers * j)` of the permutation.
#[derive(Debug, Clone)]
pub struct SpaceWalk {
    space: Arc<PairSpace>,
    perm: Permutation,
    next: Option<u64>,
    step: u64,
}

impl SpaceWalk {
    pub fn new(space: Arc<PairSpace>, seed: u64, shard: ShardSpec, worker: usize, workers: usize) -> Self {
        let step = shard.of.saturating_mul(workers as u64);
        let start = shard
            .of
            .checked_mul(worker as u64)
            .and_then(|s| s.checked_add(shard.index));
        SpaceWalk {
            perm: Permutation::new(space.total(), seed),
            next: start.filter(|s| *s < space.total()),
            step,
            space,
        }
    }
}

impl Iterator for SpaceWalk {
    type Item = (Host, u16);

    fn next(&mut self) -> Option<(Host, u16)> {
        let position = self.next?;
        self.next = position
            .checked_add(self.step)
            .filter(|n| *n < self.space.total());
        self.space.pair(self.perm.apply(position))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn shard_parses_one_based() {
        assert_eq!("1/4".parse(), Ok(ShardSpec { index: 0, of: 4 }));
        assert_eq!("4/4".parse(), Ok(ShardSpec { index: 3, of: 4 }));
        for bad in ["0/4", "5/4", "1/0", "1", "a/b", "1/4/2", "-1/4", "", "/"] {
            assert_eq!(
                bad.parse::<ShardSpec>().map_err(|e| e.to_string()),
                Err(format!(
                    "expected I/N with 1 <= I <= N (1/4 is the first of four shares), not '{bad}'"
                ))
            );
        }
    }

    #[test]
    fn permutation_is_a_bijection() {
        for size in [1u64, 2, 3, 4, 5, 17, 255, 256, 257, 1000, 4099] {
            for seed in [0u64, 1, 42] {
                let p = Permutation::new(size, seed);
                let seen: HashSet<u64> = (0..size).map(|i| p.apply(i)).collect();
                assert_eq!(seen.len() as u64, size, "size {size} seed {seed}");
                assert!(seen.iter().all(|x| *x < size));
            }
        }
    }

    #[test]
    fn permutation_depends_on_the_seed_and_shuffles() {
        let a: Vec<u64> = (0..1000).map(|i| Permutation::new(1000, 1).apply(i)).collect();
        let b: Vec<u64> = (0..1000).map(|i| Permutation::new(1000, 2).apply(i)).collect();
        assert_ne!(a, b);
        let in_place = a.iter().enumerate().filter(|(i, x)| *i as u64 == **x).count();
        assert!(in_place < 20, "{in_place} fixed points");
    }

    #[test]
    fn huge_space_maps_in_range() {
        // 10.0.0.0/8 x 65535 ports: positions are computed, not listed.
        let ports: Arc<[u16]> = (1..=65535u16).collect();
        let mut space = PairSpace::new(ports);
        space
            .add("10.0.0.0/8", "10.0.0.0".parse().unwrap(), 8, None, None)
            .unwrap();
        assert_eq!(space.total(), (1 << 24) * 65535);
        let walk = SpaceWalk::new(Arc::new(space), 7, ShardSpec::WHOLE, 0, 1);
        for (host, port) in walk.take(10_000) {
            let IpAddr::V4(v4) = host.ip else { panic!("v6") };
            assert_eq!(v4.octets()[0], 10);
            assert!(port >= 1);
        }
    }

    #[test]
    fn shards_and_workers_cover_the_space_once() {
        let ports: Arc<[u16]> = [22u16, 80, 443].into_iter().collect();
        let mut space = PairSpace::new(ports);
        space
            .add("a", "192.0.2.0".parse().unwrap(), 28, None, None)
            .unwrap();
        space
            .add(
                "b",
                "198.51.100.7".parse().unwrap(),
                32,
                Some("b".into()),
                Some(8080),
            )
            .unwrap();
        let space = Arc::new(space);
        let all: HashSet<(IpAddr, u16)> = (0..space.total())
            .map(|n| space.pair(n).map(|(h, p)| (h.ip, p)).unwrap())
            .collect();
        assert_eq!(all.len(), 16 * 3 + 1);
        for of in [1u64, 2, 3, 7] {
            let mut seen = Vec::new();
            for index in 0..of {
                for worker in 0..3 {
                    let shard = ShardSpec { index, of };
                    seen.extend(SpaceWalk::new(space.clone(), 99, shard, worker, 3).map(|(h, p)| (h.ip, p)));
                }
            }
            assert_eq!(seen.len(), all.len(), "N={of}");
            assert_eq!(seen.into_iter().collect::<HashSet<_>>(), all, "N={of}");
        }
    }

    #[test]
    fn octet_ranges_number_like_the_sequential_walk() {
        let spec: crate::target::TargetSpec = "10.1-2.0,7.1-3".parse().unwrap();
        let crate::target::HostSpec::Range(ranges) = spec.host else {
            panic!("{spec:?}")
        };
        let mut space = PairSpace::new([22u16].into_iter().collect());
        space.add_octets("r", ranges.clone(), None).unwrap();
        let numbered: Vec<IpAddr> = (0..space.total()).map(|n| space.pair(n).unwrap().0.ip).collect();
        assert_eq!(numbered, ranges.iter().collect::<Vec<_>>());
        assert_eq!(numbered.len(), 12);
    }

    #[test]
    fn sequential_shards_spread_over_hosts_and_ports() {
        let shard = ShardSpec { index: 1, of: 3 };
        let pairs: Vec<(u64, usize)> = (0..6u64)
            .flat_map(|h| (0..5usize).map(move |p| (h, p)))
            .filter(|(h, p)| shard.takes(*h, *p))
            .collect();
        let hosts: HashSet<u64> = pairs.iter().map(|x| x.0).collect();
        let ports: HashSet<usize> = pairs.iter().map(|x| x.1).collect();
        assert_eq!(hosts.len(), 6);
        assert_eq!(ports.len(), 5);
    }
}
