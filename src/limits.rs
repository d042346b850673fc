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
