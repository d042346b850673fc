//! Scans bigger than one machine or one sitting (issue 17): `--shard I/N` splits, `--randomize`
//! orders, `--resume` continues after SIGTERM, and the GNU parallel / Slurm recipes in
//! examples/shards/ give the same ports as one process. Everything runs inside namespaces built
//! by tests/testbed/shards.sh (127.0.0.16/28, every state) or netns.sh (no route out at all).

use crate::common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};

/// The scan every test splits: 16 addresses x 201 ports, quick and in every state.
const SCAN: &str = "127.0.0.16/28 -p 1-200,8080 -z --timeout 300ms --retries 0";

/// (ip, port, proto, state): what must be the same however the scan is cut.
type Pair = (String, u16, String, String);

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portprobe-shards-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

/// Every record of a JSON Lines file (each line must be whole JSON).
fn records(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: bad line {l:?}: {e}", path.display()))
        })
        .collect()
}

/// The port records of a file, in file order.
fn pairs(path: &Path) -> Vec<Pair> {
    records(path)
        .iter()
        .filter(|r| r.get("type").is_none_or(|t| t == "port"))
        .map(|r| {
            let s = |k: &str| {
                r[k].as_str()
                    .unwrap_or_else(|| panic!("no {k} in {r}"))
                    .to_string()
            };
            let port = r["port"].as_u64().unwrap_or_else(|| panic!("no port in {r}")) as u16;
            (s("ip"), port, s("proto"), s("state"))
        })
        .collect()
}

/// The set of pairs of some files together; fails when a pair appears twice.
fn union(files: &[PathBuf]) -> BTreeSet<Pair> {
    let mut set = BTreeSet::new();
    for f in files {
        for p in pairs(f) {
            assert!(
                set.insert(p.clone()),
                "{p:?} reported twice (second time in {})",
                f.display()
            );
        }
    }
    set
}

/// Runs a bash snippet in the shards test bed with `$SCAN` and `$D` set; it must exit 0.
fn in_bed(dir: &Path, snippet: &str) -> String {
    let script = format!("set -u\nSCAN='{SCAN}'\nD='{}'\n{snippet}", dir.display());
    let out = shell_in("shards.sh", &script);
    assert_eq!(
        out.status.code(),
        Some(0),
        "snippet:\n{script}\n--- stdout\n{}--- stderr\n{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// The uninterrupted, unsharded scan, checked to hold every state the bed sets up.
fn baseline(dir: &Path) -> BTreeSet<Pair> {
    let all = union(&[dir.join("all.jsonl")]);
    let state = |ip: &str, port: u16| {
        all.iter()
            .find(|p| p.0 == ip && p.1 == port)
            .map(|p| p.3.clone())
            .unwrap_or_else(|| panic!("{ip}:{port} missing from the unsharded scan"))
    };
    assert_eq!(all.len(), 16 * 201);
    assert_eq!(state("127.0.0.21", 8080), "open");
    assert_eq!(state("127.0.0.17", 8080), "closed");
    assert_eq!(state("127.0.0.30", 22), "open");
    assert_eq!(state("127.0.0.19", 8), "filtered");
    assert_eq!(state("127.0.0.23", 22), "filtered");
    assert_eq!(state("127.0.0.23", 100), "filtered");
    assert_eq!(state("127.0.0.16", 100), "closed");
    all
}

#[test]
fn shards_together_equal_one_scan() {
    if !require_namespaces("shards_together_equal_one_scan") {
        return;
    }
    let dir = scratch("split");
    in_bed(
        &dir,
        r#"
$PORTPROBE scan $SCAN --json > $D/all.jsonl
$PORTPROBE scan $SCAN --json --randomize --seed 11 > $D/rnd-1-1.jsonl
# The same hosts as nmap octet ranges, and an exclusion, in random order.
$PORTPROBE scan ${SCAN/127.0.0.16\/28/127.0.0.16-31} --json --randomize --seed 4 > $D/octets.jsonl
$PORTPROBE scan $SCAN --json --randomize --seed 4 --exclude 127.0.0.20 --shard 1/2 > $D/ex-1.jsonl
$PORTPROBE scan $SCAN --json --randomize --seed 4 --exclude 127.0.0.20 --shard 2/2 > $D/ex-2.jsonl
for n in 2 3 5; do
    for i in $(seq 1 $n); do
        $PORTPROBE scan $SCAN --json --shard $i/$n > $D/seq-$n-$i.jsonl
        $PORTPROBE scan $SCAN --json --shard $i/$n --randomize --seed 11 > $D/rnd-$n-$i.jsonl
    done
done
"#,
    );
    let all = baseline(&dir);
    assert_eq!(
        union(&[dir.join("rnd-1-1.jsonl")]),
        all,
        "randomized, one process"
    );
    assert_eq!(union(&[dir.join("octets.jsonl")]), all, "randomized octet ranges");
    let without: BTreeSet<Pair> = all.iter().filter(|p| p.0 != "127.0.0.20").cloned().collect();
    assert_eq!(
        union(&[dir.join("ex-1.jsonl"), dir.join("ex-2.jsonl")]),
        without,
        "randomized shards with --exclude"
    );
    // Randomized, the first results already come from many hosts (in target order, from one).
    let first: BTreeSet<String> = pairs(&dir.join("rnd-1-1.jsonl"))[..50]
        .iter()
        .map(|p| p.0.clone())
        .collect();
    assert!(
        first.len() >= 8,
        "first 50 results of a random order from {first:?}"
    );
    for n in [2usize, 3, 5] {
        for order in ["seq", "rnd"] {
            let files: Vec<PathBuf> = (1..=n)
                .map(|i| dir.join(format!("{order}-{n}-{i}.jsonl")))
                .collect();
            assert_eq!(union(&files), all, "{order} order, {n} shards");
            for f in &files {
                // Each shard is spread over every host and many ports, not a block of hosts.
                let mine = pairs(f);
                let hosts: BTreeSet<&String> = mine.iter().map(|p| &p.0).collect();
                let ports: BTreeSet<u16> = mine.iter().map(|p| p.1).collect();
                assert_eq!(hosts.len(), 16, "{}", f.display());
                assert!(ports.len() > 150, "{}: {} ports", f.display(), ports.len());
                let share = all.len() / n;
                assert!(
                    mine.len().abs_diff(share) <= 16 * 2,
                    "{}: {} pairs",
                    f.display(),
                    mine.len()
                );
            }
        }
    }
}

/// Milliseconds to wait before a kill, different on every run (several runs per test).
fn random_delays(count: usize) -> Vec<u64> {
    let state = std::collections::hash_map::RandomState::new();
    (0..count).map(|i| 30 + state.hash_one(i) % 700).collect()
}

#[test]
fn sigterm_then_resume_gives_the_uninterrupted_result() {
    if !require_namespaces("sigterm_then_resume") {
        return;
    }
    let dir = scratch("resume");
    // Each variant: killed twice at random moments (0.03 - 0.73 s; each scan takes about 1 s at
    // its rate), then resumed to the end with the same command line.
    let variants = [
        ("plain", "--rate 3000"),
        ("random", "--rate 3000 --randomize --seed 3"),
        ("shard", "--rate 1000 --shard 2/3 --randomize --seed 3"),
        ("seqshard", "--rate 1500 --shard 1/2"),
    ];
    let delays = random_delays(variants.len() * 2);
    let mut snippet = String::from(
        r#"
$PORTPROBE scan $SCAN --json > $D/all.jsonl
$PORTPROBE scan $SCAN --json --shard 2/3 --randomize --seed 3 > $D/shard-whole.jsonl
$PORTPROBE scan $SCAN --json --shard 1/2 > $D/seqshard-whole.jsonl
interrupt() { # NAME DELAY EXTRA...: starts the scan, SIGTERM after DELAY, says how it ended
    local name=$1 delay=$2; shift 2
    $PORTPROBE scan $SCAN --resume $D/$name.jsonl "$@" 2>>$D/$name.err & local pid=$!
    sleep $delay; kill -TERM $pid; wait $pid; echo "$name rc=$? lines=$(wc -l < $D/$name.jsonl)"
}
"#,
    );
    for (k, (name, extra)) in variants.iter().enumerate() {
        let (d1, d2) = (delays[2 * k], delays[2 * k + 1]);
        snippet += &format!(
            "interrupt {name} {}.{:03} {extra}\n\
             printf '{{\"type\":\"port\",\"ip\":\"127.0.0.1' >> $D/{name}.jsonl  # torn like a kill -9\n\
             interrupt {name} {}.{:03} {extra}\n\
             $PORTPROBE scan $SCAN --resume $D/{name}.jsonl {extra} 2>>$D/{name}.err; echo \"{name} final rc=$?\"\n",
            d1 / 1000,
            d1 % 1000,
            d2 / 1000,
            d2 % 1000
        );
    }
    let log = in_bed(&dir, &snippet);
    let context = format!("delays {delays:?}\n{log}");
    let all = baseline(&dir);
    let mut interrupted = 0;
    for (name, _) in variants {
        let expected = match name {
            "shard" => union(&[dir.join("shard-whole.jsonl")]),
            "seqshard" => union(&[dir.join("seqshard-whole.jsonl")]),
            _ => all.clone(),
        };
        assert!(!expected.is_empty() && expected.is_subset(&all));
        let file = dir.join(format!("{name}.jsonl"));
        assert_eq!(union(std::slice::from_ref(&file)), expected, "{name}: {context}");
        // One first record saying which scan this is, and only one.
        let recs = records(&file);
        let starts: Vec<usize> = recs
            .iter()
            .enumerate()
            .filter(|(_, r)| r["type"] == "start")
            .map(|(i, _)| i)
            .collect();
        assert_eq!(starts, [0], "{name}: {context}");
        // One closing summary: those of the interrupted runs were cut when resuming.
        let summaries: Vec<usize> = recs
            .iter()
            .enumerate()
            .filter(|(_, r)| r["type"] == "summary")
            .map(|(i, _)| i)
            .collect();
        assert_eq!(summaries, [recs.len() - 1], "{name}: {context}");
        assert_eq!(
            recs[0]["scan"]["targets"],
            serde_json::json!(["127.0.0.16/28"]),
            "{name}"
        );
        assert!(log.contains(&format!("{name} final rc=0")), "{name}: {context}");
        interrupted += log
            .lines()
            .filter(|l| l.starts_with(&format!("{name} rc=143")))
            .count();
        let err = std::fs::read_to_string(dir.join(format!("{name}.err"))).unwrap_or_default();
        for line in err.lines() {
            assert!(
                line.starts_with(&format!("portprobe: resuming {}: ", file.display()))
                    && line.ends_with(" pairs already reported are skipped"),
                "{name}: unexpected stderr line {line:?}\n{context}"
            );
        }
    }
    // The kills must have landed mid-scan for the test to mean anything (most of them do).
    assert!(
        interrupted >= variants.len(),
        "only {interrupted} runs were interrupted: {context}"
    );
}

#[test]
fn gnu_parallel_and_slurm_recipes_equal_one_scan() {
    if !require_namespaces("gnu_parallel_recipe") {
        return;
    }
    let dir = scratch("recipes");
    let recipes = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/shards");
    let snippet = format!(
        r#"
$PORTPROBE scan $SCAN --json > $D/all.jsonl
PORTPROBE=$PORTPROBE {r}/parallel.sh 4 $D/local $SCAN --randomize --seed 5
PORTPROBE=$PORTPROBE SSHLOGIN=: {r}/parallel.sh 3 $D/ssh $SCAN
# Run again: every shard's file is complete, so the resumed shards add nothing.
PORTPROBE=$PORTPROBE {r}/parallel.sh 4 $D/local $SCAN --randomize --seed 5
for i in 1 2 3; do
    SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_COUNT=3 RESULTS=$D/slurm PORTPROBE=$PORTPROBE {r}/slurm-array.sh $SCAN
done
cat $D/slurm/shard-*.jsonl > $D/slurm-all.jsonl
"#,
        r = recipes.display()
    );
    in_bed(&dir, &snippet);
    let all = baseline(&dir);
    for merged in ["local/all.jsonl", "ssh/all.jsonl", "slurm-all.jsonl"] {
        assert_eq!(union(&[dir.join(merged)]), all, "{merged}");
    }
    for i in 1..=4 {
        let shard = pairs(&dir.join(format!("local/shard-{i}-of-4.jsonl")));
        assert!(
            shard.len() > 700 && shard.len() < 900,
            "shard {i}: {}",
            shard.len()
        );
    }
}

#[test]
fn randomized_slash8_all_ports_keeps_memory_flat() {
    if !require_namespaces("randomized_slash8") {
        return;
    }
    let dir = scratch("slash8");
    // An empty namespace: no route to 10/8, so every connect fails at once (net-unreach) and no
    // packet leaves; the walk over 2^24 x 65535 pairs must keep going in flat memory.
    let snippet = format!(
        r#"
D='{d}'
tx0=$(cat /sys/class/net/lo/statistics/tx_packets)
$PORTPROBE scan 10.0.0.0/8 -p - --randomize --seed 1 --json -z --timeout 200ms --retries 0 > $D/out.jsonl 2>$D/err & pid=$!
for t in 1 2 3 4 5; do
    sleep 1
    echo "hwm $(awk '/VmHWM/ {{print $2}}' /proc/$pid/status) lines $(wc -l < $D/out.jsonl)"
done
kill -TERM $pid; wait $pid; echo "rc=$?"
echo "tx $(( $(cat /sys/class/net/lo/statistics/tx_packets) - tx0 ))"
"#,
        d = dir.display()
    );
    let out = shell_in("netns.sh", &snippet);
    let log = stdout(&out);
    assert!(log.contains("rc=143\n"), "{log}\n{}", stderr(&out));
    assert!(log.contains("tx 0\n"), "traffic left on loopback: {log}");
    let samples: Vec<(u64, u64)> = log
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() == 4 && w[0] == "hwm").then(|| (w[1].parse().unwrap(), w[3].parse().unwrap()))
        })
        .collect();
    assert_eq!(samples.len(), 5, "{log}");
    let (first, last) = (samples[0], samples[4]);
    // Still progressing at the end, and the peak resident size did not grow with it.
    assert!(last.1 > first.1 + 1000, "the scan stalled: {log}");
    assert!(last.0 < 64 * 1024, "peak RSS {} KiB: {log}", last.0);
    assert!(
        last.0 <= first.0 + 4 * 1024,
        "RSS grew from {} to {} KiB: {log}",
        first.0,
        last.0
    );
    // What was reported is inside the block, every port an unreachable network.
    let recs = pairs(&dir.join("out.jsonl"));
    assert!(recs.len() as u64 + 1 >= last.1);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for r in records(&dir.join("out.jsonl"))
        .into_iter()
        .filter(|r| r["type"] == "port")
    {
        *reasons
            .entry(r["reason"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
        let ip: std::net::Ipv4Addr = r["ip"].as_str().unwrap().parse().unwrap();
        assert_eq!(ip.octets()[0], 10, "{r}");
    }
    assert_eq!(reasons.keys().collect::<Vec<_>>(), ["net-unreach"], "{reasons:?}");
    // Random order: the first thousand pairs hit nearly a thousand different hosts.
    let hosts: BTreeSet<&String> = recs[..1000].iter().map(|p| &p.0).collect();
    assert!(hosts.len() > 990, "{} hosts in the first 1000 pairs", hosts.len());
}

#[test]
fn bad_shard_seed_and_resume_files_are_refused_before_any_packet() {
    let out = portprobe_expect(&["scan", "127.0.0.1", "--shard", "0/4"], 2);
    assert_eq!(
        stderr(&out).lines().next(),
        Some(
            "error: invalid value '0/4' for '--shard <I/N>': expected I/N with 1 <= I <= N \
             (1/4 is the first of four shares), not '0/4'"
        )
    );
    let out = portprobe_expect(&["scan", "127.0.0.1", "--shard", "1/2", "--randomize"], 2);
    assert_eq!(
        stderr(&out),
        "portprobe: --shard with --randomize needs --seed N: every shard must walk the same order\n"
    );
    let dir = scratch("refused");
    let other = dir.join("other.jsonl");
    std::fs::write(
        &other,
        "{\"type\":\"start\",\"scan\":{\"targets\":[\"127.0.0.2\"],\"ports\":\"22\"}}\n",
    )
    .unwrap();
    let other_arg = other.display().to_string();
    let out = portprobe_expect(&["scan", "127.0.0.1", "-p", "22", "--resume", &other_arg], 2);
    assert_eq!(
        stderr(&out),
        format!(
            "portprobe: --resume {other_arg}: the file is from another scan (targets 127.0.0.2, ports 22); \
             this one is targets 127.0.0.1, ports 22\n"
        )
    );
    let garbage = dir.join("garbage.jsonl");
    std::fs::write(&garbage, "{\"type\":\"start\"}\nnot json\n").unwrap();
    let garbage_arg = garbage.display().to_string();
    let out = portprobe_expect(&["scan", "127.0.0.1", "-p", "22", "--resume", &garbage_arg], 2);
    assert_eq!(
        stderr(&out),
        format!("portprobe: --resume {garbage_arg}: line 2 is not a JSON record\n")
    );
    // Refused files are left as they were.
    assert_eq!(
        std::fs::read_to_string(&garbage).unwrap(),
        "{\"type\":\"start\"}\nnot json\n"
    );
}
