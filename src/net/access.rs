//! `listen --allow/--deny`: which peers may connect, from addresses and CIDR blocks.

use std::net::IpAddr;
use std::path::Path;

use crate::escape::escape_str;

/// Largest allow/deny file read.
pub const ACCESS_FILE_CAP: u64 = 4 << 20;

/// An address block: the network and its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    net: IpAddr,
    prefix: u8,
}

/// A bad entry in an allow or deny list.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccessError {
    #[error("invalid {flag} entry '{entry}': give an address (192.0.2.7, ::1) or a CIDR block (10.0.0.0/8)")]
    BadEntry { flag: &'static str, entry: String },
    #[error("cannot read {flag} '{path}': {reason}")]
    File {
        flag: &'static str,
        path: String,
        reason: String,
    },
    #[error("{flag} '{path}', line {line}: '{entry}' is not an address or CIDR block")]
    BadLine {
        flag: &'static str,
        path: String,
        line: usize,
        entry: String,
    },
}

/// IPv4-mapped IPv6 peers (`::ffff:10.0.0.1` on a dual-stack socket) compare as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl Block {
    /// `10.0.0.0/8`, `::1`, `192.0.2.7`.
    pub fn parse(text: &str) -> Option<Block> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let net = canonical(addr.parse::<IpAddr>().ok()?);
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|&p| p <= max)?
            }
            Some(_) => return None,
        };
        Some(Block { net, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The peers `listen` accepts: with an allow list, only those in it; never those denied.
#[derive(Debug, Clone, Default)]
pub struct AccessList {
    allow: Option<Vec<Block>>,
    deny: Vec<Block>,
}

impl AccessList {
    pub fn is_empty(&self) -> bool {
        self.allow.is_none() && self.deny.is_empty()
    }

    /// Adds entries of `--allow` (`allow` true) or `--deny`.
    pub fn add(&mut self, allow: bool, entries: &[String]) -> Result<(), AccessError> {
        let flag = if allow { "--allow" } else { "--deny" };
        for e in entries {
            let block = Block::parse(e).ok_or_else(|| AccessError::BadEntry {
                flag,
                entry: escape_str(e),
            })?;
            self.push(allow, block);
        }
        Ok(())
    }

    fn push(&mut self, allow: bool, block: Block) {
        if allow {
            self.allow.get_or_insert_with(Vec::new).push(block);
        } else {
            self.deny.push(block);
        }
    }

    /// Adds the entries of an `--allowfile` or `--denyfile`: one a line, `#` starts a comment.
    pub fn add_file(&mut self, allow: bool, path: &Path) -> Result<(), AccessError> {
        let flag = if allow { "--allowfile" } else { "--denyfile" };
        let shown = escape_str(&path.display().to_string());
        let bytes = crate::limits::read_capped(path, ACCESS_FILE_CAP).map_err(|e| AccessError::File {
            flag,
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let text = String::from_utf8_lossy(&bytes);
        // An empty allow file allows nobody, as the user wrote it.
        if allow {
            self.allow.get_or_insert_with(Vec::new);
        }
        for (i, line) in text.lines().enumerate() {
            let entry = line.split('#').next().unwrap_or("").trim();
            if entry.is_empty() {
                continue;
            }
            let block = Block::parse(entry).ok_or_else(|| AccessError::BadLine {
                flag,
                path: shown.clone(),
                line: i + 1,
                entry: escape_str(entry),
            })?;
            self.push(allow, block);
        }
        Ok(())
    }

    pub fn permits(&self, ip: IpAddr) -> bool {
        let allowed = self
            .allow
            .as_ref()
            .is_none_or(|a| a.iter().any(|b| b.contains(ip)));
        allowed && !self.deny.iter().any(|b| b.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn blocks_match_their_members_only() {
        let b = Block::parse("10.1.0.0/16").unwrap();
        assert!(b.contains(ip("10.1.255.3")));
        assert!(!b.contains(ip("10.2.0.1")));
        assert!(b.contains(ip("::ffff:10.1.0.9")), "mapped IPv4 compares as IPv4");
        assert!(Block::parse("0.0.0.0/0").unwrap().contains(ip("203.0.113.1")));
        assert!(Block::parse("::1").unwrap().contains(ip("::1")));
        assert!(!Block::parse("::1").unwrap().contains(ip("127.0.0.1")));
        assert!(Block::parse("fe80::/10").unwrap().contains(ip("fe80::1")));
        for bad in ["10.0.0.0/33", "10.0.0.0/", "host", "::/129", "1.2.3.4/-1"] {
            assert_eq!(Block::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn allow_then_deny() {
        let mut a = AccessList::default();
        assert!(a.permits(ip("192.0.2.1")));
        a.add(true, &["127.0.0.0/8".into()]).unwrap();
        a.add(false, &["127.0.0.2".into()]).unwrap();
        assert!(a.permits(ip("127.0.0.1")));
        assert!(!a.permits(ip("127.0.0.2")));
        assert!(!a.permits(ip("192.0.2.1")));
        assert_eq!(
            a.add(false, &["nope\x1b".into()]).unwrap_err().to_string(),
            "invalid --deny entry 'nope\\x1b': give an address (192.0.2.7, ::1) or a CIDR block (10.0.0.0/8)"
        );
    }
}
