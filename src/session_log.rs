//! `--output FILE` and `--hex-dump FILE`: a record of everything a session sent and received
//! (ncat's `-o` and `-x`), the raw bytes in one file and a hex dump in the other.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Which way bytes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Sent,
    Received,
}

struct Files {
    raw: Option<BufWriter<File>>,
    hex: Option<BufWriter<File>>,
    /// Offsets of the hex dump, per direction.
    sent: u64,
    received: u64,
}

/// The log of a session (shared by every connection of `listen -k`). A failed write stops the
/// logging with one warning, never the session.
#[derive(Clone)]
pub struct SessionLog {
    files: Arc<Mutex<Files>>,
}

impl std::fmt::Debug for SessionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionLog")
    }
}

/// The log files could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {flag} '{path}': {source}")]
pub struct LogError {
    pub flag: &'static str,
    pub path: String,
    pub source: std::io::Error,
}

fn create(flag: &'static str, path: &Path) -> Result<BufWriter<File>, LogError> {
    File::create(path).map(BufWriter::new).map_err(|source| LogError {
        flag,
        path: crate::escape::escape_str(&path.display().to_string()),
        source,
    })
}

impl SessionLog {
    /// Creates (truncates) the files asked for; `None` when neither is.
    pub fn open(raw: Option<&Path>, hex: Option<&Path>) -> Result<Option<SessionLog>, LogError> {
        if raw.is_none() && hex.is_none() {
            return Ok(None);
        }
        let files = Files {
            raw: raw.map(|p| create("--output", p)).transpose()?,
            hex: hex.map(|p| create("--hex-dump", p)).transpose()?,
            sent: 0,
            received: 0,
        };
        Ok(Some(SessionLog {
            files: Arc::new(Mutex::new(files)),
        }))
    }

    /// Records `bytes` that went `dir` (flushed at once: the session may end by a signal).
    pub fn record(&self, dir: Direction, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let Ok(mut f) = self.files.lock() else { return };
        let f = &mut *f;
        if let Some(raw) = &mut f.raw {
            if raw.write_all(bytes).and_then(|_| raw.flush()).is_err() {
                crate::escape::say("cannot write --output; logging stopped");
                f.raw = None;
            }
        }
        let offset = match dir {
            Direction::Sent => &mut f.sent,
            Direction::Received => &mut f.received,
        };
        if let Some(hex) = &mut f.hex {
            let text = hex_dump(dir, *offset, bytes);
            if hex.write_all(text.as_bytes()).and_then(|_| hex.flush()).is_err() {
                crate::escape::say("cannot write --hex-dump; logging stopped");
                f.hex = None;
            }
        }
        *offset += bytes.len() as u64;
    }
}

/// `> 00000000  68 65 6c 6c 6f 0a                                 |hello.|`: 16 bytes a line,
/// `>` for sent, `<` for received, offsets counted per direction.
pub fn hex_dump(dir: Direction, start: u64, bytes: &[u8]) -> String {
    let mark = match dir {
        Direction::Sent => '>',
        Direction::Received => '<',
    };
    let mut out = String::with_capacity(bytes.len() * 5);
    for (i, row) in bytes.chunks(16).enumerate() {
        out.push_str(&format!("{mark} {:08x} ", start + i as u64 * 16));
        for j in 0..16 {
            match row.get(j) {
                Some(b) => out.push_str(&format!(" {b:02x}")),
                None => out.push_str("   "),
            }
        }
        out.push_str("  |");
        out.extend(
            row.iter()
                .map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { '.' }),
        );
        out.push_str("|\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_dump_lines() {
        assert_eq!(
            hex_dump(Direction::Received, 16, b"hello\n\x1b"),
            "< 00000010  68 65 6c 6c 6f 0a 1b                             |hello..|\n"
        );
        let two = hex_dump(Direction::Sent, 0, &[b'a'; 17]);
        assert_eq!(two.lines().count(), 2);
        assert!(two.lines().nth(1).unwrap().starts_with("> 00000010  61 "));
    }
}
