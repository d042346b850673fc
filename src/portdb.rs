//! Port knowledge shipped as data in `fingerprints/`: service names by port, and the ranked lists
//! behind `--top-ports` (TCP, and UDP for the UDP scan).

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::ports::{parse_port, PortSet};

const PORT_NAMES: &str = include_str!("../fingerprints/port-names.txt");
const TOP_PORTS: &str = include_str!("../fingerprints/top-ports.txt");
const TOP_UDP_PORTS: &str = include_str!("../fingerprints/top-ports-udp.txt");

/// How many of the ranked TCP ports a scan without `-p`/`--top-ports` tries: the length the list
/// had before it grew to 1,000, so a plain `scan` costs what it did.
pub const DEFAULT_TOP: usize = 270;
/// How many ranked ports nmap's `-F` (fast) means.
pub const FAST_TOP: usize = 100;

fn data_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.split('#').next().unwrap_or("").trim()))
        .filter(|(_, line)| !line.is_empty())
}

/// Parses `PORT NAME` lines; an error names the line.
pub fn parse_port_names(text: &str) -> Result<HashMap<u16, String>, String> {
    let mut names = HashMap::new();
    for (no, line) in data_lines(text) {
        let mut words = line.split_whitespace();
        let (Some(port), Some(name), None) = (words.next(), words.next(), words.next()) else {
            return Err(format!("line {no}: expected 'PORT NAME', found '{line}'"));
        };
        let port = parse_port(port).map_err(|e| format!("line {no}: {e}"))?;
        if names.insert(port, name.to_string()).is_some() {
            return Err(format!("line {no}: port {port} is named twice"));
        }
    }
    Ok(names)
}

/// Parses the ranked port list; duplicates are an error so the rank stays meaningful.
pub fn parse_top_ports(text: &str) -> Result<Vec<u16>, String> {
    let mut ranked = Vec::new();
    let mut seen = PortSet::new();
    for (no, line) in data_lines(text) {
        for word in line.split_whitespace() {
            let port = parse_port(word).map_err(|e| format!("line {no}: {e}"))?;
            if seen.contains(port) {
                return Err(format!("line {no}: port {port} is ranked twice"));
            }
            seen.insert(port);
            ranked.push(port);
        }
    }
    Ok(ranked)
}

fn names() -> &'static HashMap<u16, String> {
    static NAMES: OnceLock<HashMap<u16, String>> = OnceLock::new();
    // The shipped file is checked by a unit test, so an error here is a build mistake.
    NAMES.get_or_init(|| parse_port_names(PORT_NAMES).unwrap_or_default())
}

/// The service usually found on a TCP port, if the table knows one.
pub fn service_name(port: u16) -> Option<&'static str> {
    names().get(&port).map(String::as_str)
}

/// The ports the table names `name` (`ssh` → 22), for `-p ssh,http`; ascending.
pub fn ports_named(name: &str) -> Vec<u16> {
    let mut ports: Vec<u16> = names()
        .iter()
        .filter(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|(p, _)| *p)
        .collect();
    ports.sort_unstable();
    ports
}

/// The ranked list of common TCP ports shipped with portprobe.
pub fn top_ports() -> &'static [u16] {
    static TOP: OnceLock<Vec<u16>> = OnceLock::new();
    TOP.get_or_init(|| parse_top_ports(TOP_PORTS).unwrap_or_default())
}

/// The ranked list of common UDP ports (for the UDP scan).
pub fn top_udp_ports() -> &'static [u16] {
    static TOP: OnceLock<Vec<u16>> = OnceLock::new();
    TOP.get_or_init(|| parse_top_ports(TOP_UDP_PORTS).unwrap_or_default())
}

/// The first `n` ranked TCP ports, or `None` when `n` is 0 or beyond the list
/// (`--top-ports N`; `-F` is `top(FAST_TOP)`).
pub fn top(n: usize) -> Option<&'static [u16]> {
    let list = top_ports();
    (1..=list.len()).contains(&n).then(|| &list[..n])
}

/// The ports a scan tries when none are named.
pub fn default_ports() -> &'static [u16] {
    let list = top_ports();
    &list[..DEFAULT_TOP.min(list.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_data_parses() {
        let names = parse_port_names(PORT_NAMES).unwrap();
        assert!(names.len() > 200);
        let ranked = parse_top_ports(TOP_PORTS).unwrap();
        assert!(ranked.len() >= 1000);
        assert_eq!(&ranked[..3], &[80, 443, 22]);
        assert_eq!(default_ports().len(), DEFAULT_TOP);
        assert_eq!(top(FAST_TOP).map(<[u16]>::len), Some(100));
        assert_eq!(top(0), None);
        assert_eq!(top(ranked.len() + 1), None);
        assert_eq!(top(ranked.len()).map(<[u16]>::len), Some(ranked.len()));
        let udp = parse_top_ports(TOP_UDP_PORTS).unwrap();
        assert!(udp.len() >= 100);
        assert_eq!(&udp[..2], &[53, 123]);
        assert_eq!(service_name(22), Some("ssh"));
        assert_eq!(service_name(137), Some("netbios-ns"));
    }

    #[test]
    fn bad_data_names_the_line() {
        assert!(parse_port_names("22 ssh\n0 zero\n")
            .unwrap_err()
            .starts_with("line 2:"));
        assert!(parse_port_names("22 ssh extra\n")
            .unwrap_err()
            .contains("expected"));
        assert!(parse_top_ports("22 80\n# c\n22\n")
            .unwrap_err()
            .contains("line 3: port 22 is ranked twice"));
    }
}
