//! `--resume FILE`: the scan's own JSON Lines output, read back to skip every pair it already
//! reports, checked against its first record, and reopened to append the rest.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::net::IpAddr;
use std::path::Path;

use serde_json::Value;
use thiserror::Error;

use crate::escape::escape_str;

/// A record longer than this is not portprobe's (certificates and findings stay far below).
const LINE_CAP: usize = 4 << 20;

/// The record types whose lines are not port results (other helpers' and future ones included).
const HEADER_TYPES: [&str; 2] = ["start", "scan"];

#[derive(Debug, Error)]
pub enum ResumeError {
    #[error("--resume {path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("--resume {path}: line {line} is not a JSON record")]
    NotJson { path: String, line: usize },
    #[error("--resume {path}: line {line} is longer than 4 MiB")]
    LineTooLong { path: String, line: usize },
    #[error("--resume {path}: the file is from another scan ({theirs}); this one is {ours}")]
    OtherScan {
        path: String,
        theirs: String,
        ours: String,
    },
}

/// The pairs a previous run reported, kept compact and sorted (8 bytes per IPv4 pair).
#[derive(Debug, Default, Clone)]
pub struct Done {
    v4: Vec<u64>,
    v6: Vec<(u128, u16)>,
}

impl Done {
    fn insert(&mut self, ip: IpAddr, port: u16) {
        match ip {
            IpAddr::V4(a) => self.v4.push(u64::from(u32::from(a)) << 16 | u64::from(port)),
            IpAddr::V6(a) => self.v6.push((u128::from(a), port)),
        }
    }

    fn seal(&mut self) {
        self.v4.sort_unstable();
        self.v4.dedup();
        self.v6.sort_unstable();
        self.v6.dedup();
    }

    /// Whether (ip, port) over TCP was reported already.
    pub fn contains(&self, ip: IpAddr, port: u16) -> bool {
        match ip {
            IpAddr::V4(a) => self
                .v4
                .binary_search(&(u64::from(u32::from(a)) << 16 | u64::from(port)))
                .is_ok(),
            IpAddr::V6(a) => self.v6.binary_search(&(u128::from(a), port)).is_ok(),
        }
    }

    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A resumable output file, read and ready to append to.
#[derive(Debug)]
pub struct Resume {
    pub done: Done,
    /// Positioned at the end, after any half-written line and a closing summary were cut.
    pub file: File,
    /// Nothing was in the file: the scan starts from the beginning and writes the first record.
    pub fresh: bool,
}

/// Opens (or creates) `path`, checks its first record against `scan` (what defines the pairs:
/// targets, ports, shard, order) and collects the TCP pairs its port records report.
///
/// A line cut short by a kill (no newline) is dropped, so its pair is scanned again; a closing
/// `summary` record is dropped, since the resumed run writes the one summary at its end.
pub fn open(path: &Path, scan: &Value) -> Result<Resume, ResumeError> {
    let shown = || escape_str(&path.display().to_string());
    let io_err = |source| ResumeError::Io {
        path: shown(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_err)?;
    let mut done = Done::default();
    let mut reader = BufReader::with_capacity(256 * 1024, &mut file);
    let (mut keep, mut offset, mut line_no) = (0u64, 0u64, 0usize);
    let mut buf = Vec::new();
    let mut saw_any = false;
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(LINE_CAP as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(io_err)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if buf.last() != Some(&b'\n') {
            if n > LINE_CAP {
                return Err(ResumeError::LineTooLong {
                    path: shown(),
                    line: line_no,
                });
            }
            break; // half-written by a killed run: cut below
        }
        let start = offset;
        offset += n as u64;
        let text = &buf[..buf.len() - 1];
        if text.iter().all(u8::is_ascii_whitespace) {
            keep = offset;
            continue;
        }
        let record: Value = serde_json::from_slice(text).map_err(|_| ResumeError::NotJson {
            path: shown(),
            line: line_no,
        })?;
        let kind = record.get("type").and_then(Value::as_str);
        if !saw_any {
            saw_any = true;
            if kind.is_some_and(|k| HEADER_TYPES.contains(&k)) {
                check_same_scan(&record, scan, &shown)?;
            }
        }
        keep = offset;
        match kind {
            None | Some("port") => {
                if let Some((ip, port)) = tcp_pair(&record) {
                    done.insert(ip, port);
                }
            }
            // The end of an interrupted run: the resumed run closes the file with its own.
            Some("summary") => keep = start,
            Some(_) => {}
        }
    }
    drop(reader);
    file.set_len(keep).map_err(io_err)?;
    file.seek(SeekFrom::End(0)).map_err(io_err)?;
    done.seal();
    Ok(Resume {
        done,
        file,
        fresh: keep == 0,
    })
}

/// The pair of a port record over TCP (records of other protocols are not skipped).
fn tcp_pair(record: &Value) -> Option<(IpAddr, u16)> {
    if record.get("proto").and_then(Value::as_str).unwrap_or("tcp") != "tcp" {
        return None;
    }
    let ip = record.get("ip")?.as_str()?.parse().ok()?;
    let port = u16::try_from(record.get("port")?.as_u64()?).ok()?;
    Some((ip, port))
}

fn check_same_scan(record: &Value, scan: &Value, shown: &dyn Fn() -> String) -> Result<(), ResumeError> {
    match record.get("scan") {
        // A first record without the scan's description (another writer's) is not checked.
        None => Ok(()),
        Some(theirs) if theirs == scan => Ok(()),
        Some(theirs) => Err(ResumeError::OtherScan {
            path: shown(),
            theirs: escape_str(&describe(theirs)),
            ours: escape_str(&describe(scan)),
        }),
    }
}

/// `targets 10.0.0.0/24, ports 1-1024, shard 1/4, seed 7` from the scan description.
pub fn describe(scan: &Value) -> String {
    let Some(fields) = scan.as_object() else {
        return scan.to_string();
    };
    // Targets first, as typed on the command line; then what else defines the pairs.
    const ORDER: [&str; 6] = ["targets", "input_lists", "ports", "family", "shard", "order"];
    let rank = |k: &str| ORDER.iter().position(|o| *o == k).unwrap_or(ORDER.len());
    let mut fields: Vec<(&String, &Value)> = fields.iter().collect();
    fields.sort_by_key(|(k, _)| rank(k));
    fields
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k} {s}"),
            Value::Array(items) => format!(
                "{k} {}",
                items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            other => format!("{k} {other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::path::PathBuf;

    /// A fresh directory for one test (unit tests have no tempfile crate).
    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("portprobe-resume-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn scan() -> Value {
        serde_json::json!({"targets": ["127.0.0.1"], "ports": "1-10"})
    }

    #[test]
    fn reads_pairs_cuts_torn_line_and_summary() {
        let path = dir("torn").join("out.jsonl");
        let header = serde_json::json!({"type": "start", "scan": scan()});
        let text = format!(
            "{header}\n{}\n{}\n{}\n{}\n{}",
            r#"{"type":"port","ip":"127.0.0.1","port":1,"proto":"tcp","state":"closed"}"#,
            r#"{"ip":"::1","port":2,"proto":"tcp","state":"open","extra":{"a":1}}"#,
            r#"{"type":"port","ip":"127.0.0.1","port":3,"proto":"udp","state":"open"}"#,
            r#"{"type":"host","ip":"127.0.0.1"}"#,
            r#"{"type":"summary","hosts":1}"#,
        ) + "\n{\"ip\":\"127.0.0.1\",\"po";
        std::fs::write(&path, &text).unwrap();
        let mut r = open(&path, &scan()).unwrap();
        assert!(!r.fresh);
        assert_eq!(r.done.len(), 2);
        assert!(r.done.contains("127.0.0.1".parse().unwrap(), 1));
        assert!(r.done.contains("::1".parse().unwrap(), 2));
        assert!(!r.done.contains("127.0.0.1".parse().unwrap(), 3));
        r.file.write_all(b"next\n").unwrap();
        let mut after = String::new();
        File::open(&path).unwrap().read_to_string(&mut after).unwrap();
        assert!(
            after.ends_with("{\"type\":\"host\",\"ip\":\"127.0.0.1\"}\nnext\n"),
            "{after}"
        );
    }

    #[test]
    fn refuses_another_scan_and_garbage() {
        let path = dir("other").join("out.jsonl");
        let other = serde_json::json!({"targets": ["127.0.0.2"], "ports": "1-10"});
        std::fs::write(
            &path,
            format!("{}\n", serde_json::json!({"type": "start", "scan": other})),
        )
        .unwrap();
        let err = open(&path, &scan()).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "--resume {}: the file is from another scan (targets 127.0.0.2, ports 1-10); this one is targets 127.0.0.1, ports 1-10",
                path.display()
            )
        );
        std::fs::write(&path, "{}\nnot json\n").unwrap();
        let err = open(&path, &scan()).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("--resume {}: line 2 is not a JSON record", path.display())
        );
    }

    #[test]
    fn a_missing_file_is_a_fresh_start() {
        let r = open(&dir("missing").join("new.jsonl"), &scan()).unwrap();
        assert!(r.fresh && r.done.is_empty());
    }
}
