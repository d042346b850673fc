//! Process limits: raise the open-file limit to its hard maximum and size concurrency from it.

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force.
pub fn raise_nofile_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let mut raised = lim;
            // Some systems report an unlimited hard limit that setrlimit refuses; cap it.
            raised.rlim_cur = lim.rlim_max.min(1 << 20);
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return raised.rlim_cur;
            }
        }
    }
    lim.rlim_cur
}

/// Most bytes of a CA file, certificate chain or private key (real ones are a few KiB).
pub const PEM_FILE_CAP: u64 = 4 << 20;
/// Longest line of a baseline (one port's JSON record).
pub const BASELINE_LINE_CAP: usize = 1 << 20;
/// Most bytes of a baseline file in all.
pub const BASELINE_FILE_CAP: u64 = 256 << 20;

/// `4 MiB`, `512 KiB`, `100 bytes`: a size limit as people read it.
pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// Reads a whole file of at most `cap` bytes. A directory, or anything larger (an endless
/// device such as /dev/zero included), is an error instead of an allocation without end.
pub fn read_capped(path: &std::path::Path, cap: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    if file.metadata()?.is_dir() {
        return Err(std::io::Error::other("it is a directory"));
    }
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(std::io::Error::other(format!(
            "it is larger than {}",
            human_size(cap)
        )));
    }
    Ok(bytes)
}

/// Default number of connects in flight: what the descriptor limit allows after a reserve for
/// stdio, the runtime and sessions, capped where more stops helping.
pub fn default_concurrency(nofile: u64) -> usize {
    const RESERVE: u64 = 64;
    const CAP: u64 = 4096;
    nofile.saturating_sub(RESERVE).clamp(8, CAP) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_follows_the_limit() {
        assert_eq!(default_concurrency(256), 192);
        assert_eq!(default_concurrency(20), 8);
        assert_eq!(default_concurrency(1 << 20), 4096);
        assert!(raise_nofile_limit() >= 8);
    }
}
