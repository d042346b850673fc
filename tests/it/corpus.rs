//! The measurement corpus (`tests/corpus/*.toml`): real-world responses from public sources with
//! the identity a careful reader takes from them, kept apart from the rules' own examples so a
//! rule is not only tested on the text it was written from. Reports product and version recall
//! and wrong claims per protocol (`cargo test --test it corpus -- --nocapture` prints the table that
//! BENCHMARKS.md records) and fails when wrong claims pass 1 % of claims or recall falls below
//! the floors recorded here.

use std::collections::BTreeMap;

use crate::score::{same_product, same_version, File};
use portprobe::escape::unescape;
use portprobe::fingerprint::{Confidence, Database, Matcher};

#[derive(Default)]
struct Tally {
    cases: usize,
    with_product: usize,
    product_right: usize,
    with_version: usize,
    version_right: usize,
    claims: usize,
    wrong: usize,
    generic: usize,
}

impl Tally {
    fn add(&mut self, t: &Tally) {
        self.cases += t.cases;
        self.with_product += t.with_product;
        self.product_right += t.product_right;
        self.with_version += t.with_version;
        self.version_right += t.version_right;
        self.claims += t.claims;
        self.wrong += t.wrong;
        self.generic += t.generic;
    }

    /// One row of the table BENCHMARKS.md records.
    fn print(&self, label: &str) {
        println!(
            "{label:<8} {:>6} {:>5}/{:<4}{:>5.1}% {:>5}/{:<4}{:>5.1}% {:>8} {:>7} {:>8}",
            self.cases,
            self.product_right,
            self.with_product,
            pct(self.product_right, self.with_product),
            self.version_right,
            self.with_version,
            pct(self.version_right, self.with_version),
            self.claims,
            self.wrong,
            self.generic
        );
    }
}

/// A share in percent; an empty base counts as all.
fn pct(a: usize, b: usize) -> f64 {
    if b == 0 {
        100.0
    } else {
        100.0 * a as f64 / b as f64
    }
}

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
            let t = tallies.entry(case.service.clone()).or_default();
            t.cases += 1;
            let product = got
                .as_ref()
                .and_then(|g| g.product.clone())
                .filter(|p| !p.is_empty());
            let version = got
                .as_ref()
                .and_then(|g| g.version.clone())
                .filter(|v| !v.is_empty());
            if got.as_ref().is_some_and(|g| g.confidence == Confidence::Generic) {
                t.generic += 1;
            }
            if !case.product.is_empty() {
                t.with_product += 1;
            }
            if !case.version.is_empty() {
                t.with_version += 1;
            }
            let line = format!(
                "{:?} -> {:?} {:?} (want {:?} {:?}; {})",
                case.response, product, version, case.product, case.version, case.source
            );
            if let Some(p) = &product {
                t.claims += 1;
                let right = !case.product.is_empty() && same_product(p, &case.product, &case.aliases);
                let version_wrong = match (&version, case.version.is_empty()) {
                    (Some(v), false) => !same_version(v, &case.version),
                    _ => false,
                };
                if right {
                    t.product_right += 1;
                }
                if !right || version_wrong {
                    t.wrong += 1;
                    wrong.push(line.clone());
                }
            } else if !case.product.is_empty() {
                missed.push(line.clone());
            }
            if let (Some(v), false) = (&version, case.version.is_empty()) {
                if same_version(v, &case.version)
                    && product
                        .as_deref()
                        .is_some_and(|p| same_product(p, &case.product, &case.aliases))
                {
                    t.version_right += 1;
                }
            }
        }
    }
    println!(
        "{:<8} {:>6} {:>16} {:>16} {:>8} {:>7} {:>8}",
        "service", "cases", "product", "version", "claims", "wrong", "generic"
    );
    let mut all = Tally::default();
    for (service, t) in &tallies {
        t.print(service);
        all.add(t);
    }
    all.print("all");
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
