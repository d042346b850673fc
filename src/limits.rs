//! Process limits: raise the open-file limit to its hard maximum and size concurrency from it.

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force.
pub fn raise_nofile_limit() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    // Some systems report an unlimited hard limit that setrlimit refuses; cap it.
    let hard = lim.maximum.unwrap_or(u64::MAX).min(1 << 20);
    let soft = lim.current.unwrap_or(u64::MAX);
    if soft < hard {
        let raised = Rlimit {
            current: Some(hard),
            maximum: lim.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            return hard;
        }
    }
    soft.min(1 << 20)
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

/// Least address space portprobe asks for (`ulimit -v`): its threads, stacks and runtimes.
pub const MIN_ADDRESS_SPACE: u64 = 64 << 20;

/// Why the address-space limit is too low to run, if it is: said up front, instead of a thread
/// or an allocation failing half-way.
pub fn address_space_problem() -> Option<String> {
    let current = rustix::process::getrlimit(rustix::process::Resource::As).current?;
    (current < MIN_ADDRESS_SPACE).then(|| {
        format!(
            "the address-space limit (ulimit -v {}) is below the {} MiB portprobe needs; raise it",
            current / 1024,
            MIN_ADDRESS_SPACE >> 20
        )
    })
}

/// Descriptors a scan needs free once started: a connection, detection's reconnect, and
/// room for the target list and the report.
pub const MIN_FREE_DESCRIPTORS: u64 = 4;

/// Descriptors one event loop costs (epoll, its waker, the signal driver's).
pub const RUNTIME_DESCRIPTORS: u64 = 5;

/// Descriptors open now (stdio, event loops, files), counted in /proc/self/fd.
pub fn open_descriptors() -> Option<u64> {
    // The directory handle read_dir holds is one of the entries.
    std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| (d.count() as u64).saturating_sub(1))
}

/// The message for an open-file limit too low to scan, given the descriptors open at the start
/// (`base`: stdio and whatever was inherited): the signal watcher's and one worker's event loops
/// and room for connections come on top.
pub fn descriptor_problem(nofile: u64, base: u64) -> String {
    let needed = base + 2 * RUNTIME_DESCRIPTORS + MIN_FREE_DESCRIPTORS;
    format!("the open-file limit (ulimit -n {nofile}) is too low: a scan needs at least {needed}; raise it")
}

/// Why a scan cannot run with the descriptors left, if it cannot.
pub fn descriptors_left_problem(nofile: u64, base: u64) -> Option<String> {
    let open = open_descriptors()?;
    (nofile.saturating_sub(open) < MIN_FREE_DESCRIPTORS).then(|| descriptor_problem(nofile, base))
}

/// Default number of connects in flight: what the descriptor limit allows after a reserve for
/// stdio, the runtime and sessions, capped where more stops helping.
pub fn default_concurrency(nofile: u64) -> usize {
    const RESERVE: u64 = 64;
    const CAP: u64 = 4096;
    if nofile < RESERVE + 8 {
        // A tiny limit: what is left after stdio and the event loops, one at least.
        return nofile.saturating_sub(16).clamp(1, 8) as usize;
    }
    nofile.saturating_sub(RESERVE).clamp(8, CAP) as usize
}

/// Below this open-file limit a scan runs one worker: each event loop costs descriptors.
pub const LOW_NOFILE: u64 = 128;

/// Worker threads for a scan: up to `cores` (at most 4), one under a low open-file limit.
pub fn scan_workers(cores: usize, nofile: u64) -> usize {
    if nofile < LOW_NOFILE {
        1
    } else {
        cores.clamp(1, 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_follows_the_limit() {
        assert_eq!(default_concurrency(256), 192);
        assert_eq!(default_concurrency(20), 4);
        assert_eq!(default_concurrency(12), 1);
        assert_eq!(default_concurrency(100), 36);
        assert_eq!(default_concurrency(70), 8);
        assert_eq!(scan_workers(8, 20), 1);
        assert_eq!(scan_workers(8, 1024), 4);
        assert_eq!(default_concurrency(1 << 20), 4096);
        assert!(raise_nofile_limit() >= 8);
    }
}
