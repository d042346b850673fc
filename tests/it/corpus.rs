//! The measurement corpus (`tests/corpus/*.toml`): real-world responses from public sources with
//! the identity a careful reader takes from them, kept apart from the rules' own examples so a
//! rule is not only tested on the text it was written from. Reports product and version recall
//! and wrong claims per protocol (`cargo test --test it corpus -- --nocapture` prints the table that
//! BENCHMARKS.md records) and fails when wrong claims pass 1 % of claims or recall falls below
//! the floors recorded here.

use std::collections::BTreeMap;

use crate::score::{pct, print_table, File, Tally, Verdict};
use portprobe::escape::unescape;
use portprobe::fingerprint::{Database, Matcher};

#[test]
fn corpus_recall_and_wrong_claims() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus files in {}", dir.display());
    let mut problems = Vec::new();
    let db = Database::from_sources(&Database::shipped_sources(), &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    let matcher = Matcher::new(db);
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut missed = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file: File = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for case in file.case {
            assert!(
                !case.source.is_empty(),
                "{}: a case without a source",
                path.display()
            );
            let response = unescape(&case.response)
                .unwrap_or_else(|| panic!("{}: malformed escape in {:?}", path.display(), case.response));
            let got = matcher.identify(&response, &case.probe);
            let line = format!(
                "{:?} -> {:?} {:?} (want {:?} {:?}; {})",
                case.response,
                got.as_ref().and_then(|g| g.product.as_deref()),
                got.as_ref().and_then(|g| g.version.as_deref()),
                case.product,
                case.version,
                case.source
            );
            match tallies
                .entry(case.service.clone())
                .or_default()
                .record(&case, got.as_ref())
            {
                Verdict::Wrong => wrong.push(line),
                Verdict::Missed => missed.push(line),
                Verdict::Right | Verdict::Silent => {}
            }
        }
    }
    let all = print_table(&tallies);
    if std::env::var_os("CORPUS_VERBOSE").is_some() {
        for m in &missed {
            println!("missed: {m}");
        }
    }
    for w in &wrong {
        println!("wrong:  {w}");
    }
    let wrong_rate = pct(all.wrong, all.claims);
    assert!(
        wrong_rate <= 1.0,
        "wrong claims {wrong_rate:.1}% of {} claims:\n{}",
        all.claims,
        wrong.join("\n")
    );
    // Floors a little under the figures in BENCHMARKS.md: a change that loses knowledge fails.
    let product = pct(all.product_right, all.with_product);
    let version = pct(all.version_right, all.with_version);
    assert!(
        product >= PRODUCT_FLOOR,
        "product recall {product:.1}% is below {PRODUCT_FLOOR}%"
    );
    assert!(
        version >= VERSION_FLOOR,
        "version recall {version:.1}% is below {VERSION_FLOOR}%"
    );
}

const PRODUCT_FLOOR: f64 = 95.0;
const VERSION_FLOOR: f64 = 90.0;
