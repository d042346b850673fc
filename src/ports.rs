//! Port specifications (`22`, `20-25`, `22,80,443`, `-`) parsed into a compact set.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::escape::escape_str;

const HELP: &str = "use a port (22), a range (20-25), a list (22,80,443) or - for all ports";

/// What was wrong with a port specification.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PortError {
    #[error("empty port list: {HELP}")]
    Empty,
    #[error("port {0} is out of range: ports are 1-65535")]
    OutOfRange(String),
    #[error("port range '{0}' has no end: write it as {1}-65535, or use - for all ports")]
    OpenEnd(String, String),
    #[error("port range '{0}' has no start: write it as 1-{1}")]
    OpenStart(String, String),
    #[error("port range '{0}' runs backwards: write it as {2}-{1}")]
    Backwards(String, u16, u16),
    #[error("'{0}' is not a port: {HELP}")]
    NotAPort(String),
    #[error("'{0}' is neither a port nor a service name the port table knows: use a port (22), a name (ssh, http), a range (20-25), a list or - for all ports")]
    UnknownName(String),
    #[error("{}", crate::nmap_args::UDP_NOT_YET)]
    Udp,
}

/// A set of TCP ports, stored as a 65,536-bit map (8 KiB) so any spec costs the same.
#[derive(Clone, PartialEq, Eq)]
pub struct PortSet {
    bits: Box<[u64; 1024]>,
    len: usize,
}

impl PortSet {
    pub fn new() -> Self {
        PortSet {
            bits: Box::new([0; 1024]),
            len: 0,
        }
    }

    pub fn insert(&mut self, port: u16) {
        let (word, bit) = (port as usize / 64, port as usize % 64);
        if self.bits[word] & (1 << bit) == 0 {
            self.bits[word] |= 1 << bit;
            self.len += 1;
        }
    }

    pub fn insert_range(&mut self, start: u16, end: u16) {
        for port in start..=end {
            self.insert(port);
        }
    }

    pub fn contains(&self, port: u16) -> bool {
        self.bits[port as usize / 64] & (1 << (port % 64)) != 0
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Ports in ascending order (empty 64-port words are skipped whole).
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.bits.iter().enumerate().flat_map(|(w, &word)| {
            (0..64u16)
                .filter(move |b| word & (1 << b) != 0)
                .map(move |b| (w as u16) * 64 + b)
        })
    }
}

impl Default for PortSet {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for PortSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PortSet({} ports)", self.len)
    }
}

/// Parses one port number, with the messages users see for `0`, `70000` and `abc`.
pub fn parse_port(text: &str) -> Result<u16, PortError> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PortError::NotAPort(escape_str(text)));
    }
    match text.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
        _ => Err(PortError::OutOfRange(escape_str(text))),
    }
}

impl FromStr for PortSet {
    type Err = PortError;

    fn from_str(spec: &str) -> Result<Self, PortError> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(PortError::Empty);
        }
        let mut set = PortSet::new();
        for item in spec.split(',') {
            let mut item = item.trim();
            // nmap's protocol prefixes: T: (TCP) applies to what follows; U: asks for UDP.
            if let Some(rest) = item.strip_prefix("T:") {
                item = rest;
            } else if item.starts_with("U:") || item.starts_with("S:") {
                return Err(PortError::Udp);
            }
            if item.bytes().any(|b| b.is_ascii_alphabetic()) {
                let ports = crate::portdb::ports_named(item);
                if ports.is_empty() {
                    return Err(PortError::UnknownName(escape_str(item)));
                }
                ports.into_iter().for_each(|p| set.insert(p));
                continue;
            }
            if item == "-" {
                set.insert_range(1, 65535);
                continue;
            }
            match item.split_once('-') {
                None => set.insert(parse_port(item)?),
                Some((start, end)) => {
                    let (start, end) = (start.trim(), end.trim());
                    if end.is_empty() {
                        return Err(PortError::OpenEnd(escape_str(item), escape_str(start)));
                    }
                    if start.is_empty() {
                        return Err(PortError::OpenStart(escape_str(item), escape_str(end)));
                    }
                    let (lo, hi) = (parse_port(start)?, parse_port(end)?);
                    if lo > hi {
                        return Err(PortError::Backwards(escape_str(item), lo, hi));
                    }
                    set.insert_range(lo, hi);
                }
            }
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(spec: &str) -> Vec<u16> {
        spec.parse::<PortSet>().unwrap().iter().collect()
    }

    #[test]
    fn single_list_range_and_all() {
        assert_eq!(ports("22"), vec![22]);
        assert_eq!(ports("20-23"), vec![20, 21, 22, 23]);
        assert_eq!(ports("443,22,80,22"), vec![22, 80, 443]);
        assert_eq!(ports("1-3, 2-4"), vec![1, 2, 3, 4]);
        assert_eq!("-".parse::<PortSet>().unwrap().len(), 65535);
        assert_eq!("65535".parse::<PortSet>().unwrap().len(), 1);
    }

    #[test]
    fn bad_specs_name_the_value() {
        let err = |s: &str| s.parse::<PortSet>().unwrap_err().to_string();
        assert!(err("0").contains("port 0 is out of range"));
        assert!(err("70000").contains("port 70000 is out of range"));
        assert!(err("22-").contains("'22-' has no end"));
        assert!(err("abc").contains("'abc' is neither a port nor a service name"));
        assert!(err("25-20").contains("runs backwards"));
        assert!(err("22,,80").contains("'' is not a port"));
        assert!(err("").contains("empty port list"));
        assert!(err("-5").contains("has no start"));
        assert_eq!(err("T:22,U:53"), crate::nmap_args::UDP_NOT_YET);
    }

    #[test]
    fn service_names_and_tcp_prefix() {
        assert_eq!(ports("ssh,T:80,443"), vec![22, 80, 443]);
        assert_eq!(ports("T:20-21,smtp"), vec![20, 21, 25]);
        assert!(ports("http").contains(&80));
        assert_eq!(
            "nosuchservice".parse::<PortSet>().unwrap_err().to_string(),
            "'nosuchservice' is neither a port nor a service name the port table knows: use a port (22), a name (ssh, http), a range (20-25), a list or - for all ports"
        );
    }
}
