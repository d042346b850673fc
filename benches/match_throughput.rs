//! Matching throughput: banners per second against the whole shipped database, using every
//! example response in it (plus as many non-matching ones), through the same `identify` the
//! scanner uses. `cargo bench --bench match_throughput`; under `cargo test` it runs briefly as
//! a smoke test.

use std::time::{Duration, Instant};

use portprobe::fingerprint::{Database, Matcher};

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
    // Unknown responses cost a full prefilter pass too: include as many as known ones.
    let unknown: Vec<(Vec<u8>, String)> = (0..inputs.len())
        .map(|i| {
            (
                format!("XYZZY-{i} unknown service banner {i}\r\n").into_bytes(),
                "null".to_string(),
            )
        })
        .collect();
    inputs.extend(unknown);
    let matcher = Matcher::new(db);
    let budget = if full {
        Duration::from_secs(5)
    } else {
        Duration::from_millis(200)
    };
    let start = Instant::now();
    let (mut done, mut identified) = (0u64, 0u64);
    while start.elapsed() < budget {
        for (bytes, probe) in &inputs {
            identified += u64::from(matcher.identify(bytes, probe).is_some());
            done += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "match throughput: {:.0} banners/s ({done} banners in {secs:.2} s; {rules} rules; {} distinct inputs, {:.0}% identified)",
        done as f64 / secs,
        inputs.len(),
        100.0 * identified as f64 / done as f64
    );
}
