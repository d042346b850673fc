//! What file formats state about the run as a whole: the command line, when it started, which
//! ports were asked for, and the clock text nmap's formats use.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::ports::PortSet;

/// Facts about the run, the same for every format.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// The command line as typed (escaped where needed by each format).
    pub args: String,
    pub started: SystemTime,
    /// `scan` or `audit`.
    pub command: &'static str,
    /// How many ports each host gets (0 when only `host:port` targets were given).
    pub port_count: usize,
    /// The ports, compressed to ranges: `1-1024,3306`.
    pub ports: String,
    pub verbose: u8,
    /// `--resume`: what defines the scan's pairs (targets, ports, shard, order), stated in the
    /// JSON Lines `start` record so a resume can check it continues the same scan.
    pub scan: Option<serde_json::Value>,
}

impl RunInfo {
    pub fn new(command: &'static str, ports: &PortSet, verbose: u8) -> Self {
        RunInfo {
            // As nmap does: the program by name, not by the path it was started from.
            args: std::iter::once("portprobe".to_string())
                .chain(std::env::args().skip(1))
                .collect::<Vec<_>>()
                .join(" "),
            started: SystemTime::now(),
            command,
            port_count: ports.len(),
            ports: compress(ports),
            verbose,
            scan: None,
        }
    }
}

/// `22,80-82,443` from a set of ports.
pub fn compress(ports: &PortSet) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut run: Option<(u16, u16)> = None;
    for p in ports.iter() {
        run = match run {
            Some((lo, hi)) if hi.checked_add(1) == Some(p) => Some((lo, p)),
            Some(r) => {
                parts.push(range_text(r));
                Some((p, p))
            }
            None => Some((p, p)),
        };
    }
    parts.extend(run.map(range_text));
    parts.join(",")
}

fn range_text((lo, hi): (u16, u16)) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}-{hi}")
    }
}

/// Seconds since 1970.
pub fn epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `Thu Nov 26 08:07:24 2026` (UTC), the ctime-like text nmap's formats carry.
pub fn ctime(t: SystemTime) -> String {
    let secs = epoch(t);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {day:2} {h:02}:{m:02}:{s:02} {year}",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ctime_text() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_680_444);
        assert_eq!(ctime(t), "Thu Nov 26 08:07:24 2026");
        assert_eq!(ctime(UNIX_EPOCH), "Thu Jan  1 00:00:00 1970");
        assert_eq!(
            ctime(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "Tue Feb 29 00:00:00 2000"
        );
    }

    #[test]
    fn ports_compress_to_ranges() {
        let set: PortSet = "22,80-82,443,1-3".parse().unwrap();
        assert_eq!(compress(&set), "1-3,22,80-82,443");
        assert_eq!(compress(&"-".parse().unwrap()), "1-65535");
    }
}
