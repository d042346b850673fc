//! Port knowledge shipped as data in `fingerprints/`: service names by port, and the ranked list
//! behind `--top-ports`.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::ports::{parse_port, PortSet};

const PORT_NAMES: &str = include_str!("../fingerprints/port-names.txt");
const TOP_PORTS: &str = include_str!("../fingerprints/top-ports.txt");

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

/// The ranked list of common ports shipped with portprobe.
pub fn top_ports() -> &'static [u16] {
    static TOP: OnceLock<Vec<u16>> = OnceLock::new();
    TOP.get_or_init(|| parse_top_ports(TOP_PORTS).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_data_parses() {
        let names = parse_port_names(PORT_NAMES).unwrap();
        assert!(names.len() > 200);
        let top = parse_top_ports(TOP_PORTS).unwrap();
        assert!(top.len() >= 250);
        assert_eq!(&top[..3], &[80, 443, 22]);
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
