//! Matching throughput: banners per second against the whole shipped database, through the
//! same `identify` the scanner uses (decoding included). The inputs are every example response
//! in the database, every real-world response of `tests/corpus/` (kept apart from the rules),
//! and as many responses no rule knows, of the shapes a scan meets (a raw line, a greeting, an
//! HTTP answer from an unknown server). They are run round-robin, so each rule is as cold as it
//! is in a scan of many different hosts, not warmed by the same banner a thousand times.
//! `cargo bench --bench match_throughput`; under `cargo test` it runs briefly as a smoke test.
//!
//! Two rates are printed: per wall-clock second, and per second of CPU time of the matching
//! thread (what a core delivers when it is not shared; on a busy machine the wall rate also
//! counts the time other processes held the core). Then the same with one matching thread per
//! core sharing one `Matcher`, as a scan's worker threads do (`THREADS=n` to choose): what the
//! machine delivers.

use std::time::{Duration, Instant};

use portprobe::fingerprint::{Database, Matcher};

/// CPU time used by this thread so far.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The real-world responses of `tests/corpus/*.toml`: (response, probe).
fn corpus() -> Vec<(Vec<u8>, String)> {
    #[derive(serde::Deserialize)]
    struct File {
        case: Vec<Case>,
    }
    #[derive(serde::Deserialize)]
    struct Case {
        response: String,
        probe: String,
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file: File = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for case in file.case {
            let response = portprobe::escape::unescape(&case.response)
                .unwrap_or_else(|| panic!("{}: malformed escape", path.display()));
            out.push((response, case.probe));
        }
    }
    out
}

/// A response no rule knows, of one of the shapes a scan meets.
fn unknown(i: usize) -> (Vec<u8>, String) {
    let text = match i % 3 {
        0 => format!("XYZZY-{i} unknown service banner {i}\r\n"),
        1 => format!("220 host{i}.example.net Qzxv service {i} at your disposal\r\n"),
        _ => format!(
            "HTTP/1.1 200 OK\r\nDate: Thu, 26 Nov 2026 08:00:00 GMT\r\nContent-Type: text/html\r\nContent-Length: 44\r\n\r\n<html><body>device {i} status page</body></html>"
        ),
    };
    let probe = if i % 3 == 2 { "http-get" } else { "null" };
    (text.into_bytes(), probe.to_string())
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let mut problems = Vec::new();
    let db = Database::from_sources(&Database::shipped_sources(), &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    let rules = db.rules.len();
    let mut inputs: Vec<(Vec<u8>, String)> = Vec::new();
    for rule in &db.rules {
        for ex in &rule.examples {
            let probe = ex
                .probe
                .clone()
                .or_else(|| rule.probes.first().cloned())
                .unwrap_or("null".into());
            inputs.push((ex.response.clone(), probe));
        }
    }
    let examples = inputs.len();
    let real = corpus();
    let corpus_cases = real.len();
    inputs.extend(real);
    // Unknown responses cost a full prefilter pass too: include as many as known ones.
    let known = inputs.len();
    inputs.extend((0..known).map(unknown));
    let matcher = Matcher::new(db);
    // One round to compile the patterns the inputs need (a scan pays that once per rule).
    for (bytes, probe) in &inputs {
        std::hint::black_box(matcher.identify(bytes, probe));
    }
    let budget = if full {
        Duration::from_secs(5)
    } else {
        Duration::from_millis(200)
    };
    let (start, cpu_start) = (Instant::now(), thread_cpu());
    let (mut done, mut identified) = (0u64, 0u64);
    while start.elapsed() < budget {
        for (bytes, probe) in &inputs {
            identified += u64::from(matcher.identify(bytes, probe).is_some());
            done += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = (thread_cpu() - cpu_start).as_secs_f64();
    println!(
        "match throughput: {:.0} banners/s wall, {:.0} banners/s of CPU time ({done} banners in {secs:.2} s, {cpu:.2} s CPU; {rules} rules; {} distinct inputs: {examples} rule examples, {corpus_cases} corpus responses, {} unknown; {:.0}% identified)",
        done as f64 / secs,
        done as f64 / cpu,
        inputs.len(),
        inputs.len() - known,
        100.0 * identified as f64 / done as f64
    );
    let threads = std::env::var("THREADS")
        .ok()
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads < 2 {
        return;
    }
    // Every thread goes round the inputs from its own starting point, so no two read the same
    // response at the same time.
    let start = Instant::now();
    let (done, cpu): (u64, f64) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (matcher, inputs) = (&matcher, &inputs);
                s.spawn(move || {
                    let cpu_start = thread_cpu();
                    let offset = t * inputs.len() / threads;
                    let mut done = 0u64;
                    while start.elapsed() < budget {
                        for k in 0..inputs.len() {
                            let (bytes, probe) = &inputs[(k + offset) % inputs.len()];
                            std::hint::black_box(matcher.identify(bytes, probe));
                            done += 1;
                        }
                    }
                    (done, (thread_cpu() - cpu_start).as_secs_f64())
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("matching thread"))
            .fold((0, 0.0), |(d, c), (d2, c2)| (d + d2, c + c2))
    });
    let secs = start.elapsed().as_secs_f64();
    println!(
        "match throughput, {threads} threads: {:.0} banners/s wall, {:.0} banners/s per second of CPU time ({done} banners in {secs:.2} s, {cpu:.2} s CPU)",
        done as f64 / secs,
        done as f64 / cpu
    );
}
