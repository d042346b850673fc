//! Scores identification on a file of real banners (the format and the scoring of
//! `tests/corpus/*.toml`): `cargo run --example banner_eval -- benches/banners/greet-knowledge.toml`.
//! `G=1` scores the generic reader alone (no rules); `V=1` lists every miss, not only wrong claims.

use std::collections::BTreeMap;
use std::error::Error;

use portprobe::escape::unescape;
use portprobe::fingerprint::{decode, generic, Database, Matcher};

#[path = "../tests/it/score.rs"]
mod score;
use score::{same_product, same_version, File};

#[derive(Default)]
struct Tally {
    cases: usize,
    with_product: usize,
    product_right: usize,
    with_version: usize,
    version_right: usize,
    claims: usize,
    wrong: usize,
}

fn pct(a: usize, b: usize) -> f64 {
    if b == 0 {
        100.0
    } else {
        100.0 * a as f64 / b as f64
    }
}

fn row(label: &str, t: &Tally) {
    println!(
        "{label:<6} {:>5} {:>4}/{:<4}{:>5.1}% {:>4}/{:<4}{:>5.1}% {:>6} {:>5}",
        t.cases,
        t.product_right,
        t.with_product,
        pct(t.product_right, t.with_product),
        t.version_right,
        t.with_version,
        pct(t.version_right, t.with_version),
        t.claims,
        t.wrong
    );
}

fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args().nth(1).ok_or("usage: banner_eval FILE.toml")?;
    let verbose = std::env::var_os("V").is_some();
    let generic_only = std::env::var_os("G").is_some();
    let mut problems = Vec::new();
    let db = Database::from_sources(&Database::shipped_sources(), &mut problems);
    if !problems.is_empty() {
        return Err(format!("{} problem(s) in the shipped fingerprints", problems.len()).into());
    }
    let generic_words = db.generic.clone();
    let matcher = Matcher::new(db);
    let file: File = toml::from_str(&std::fs::read_to_string(&path)?)?;
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for case in file.case {
        let response =
            unescape(&case.response).ok_or_else(|| format!("bad escape in {:?}", case.response))?;
        let got = if generic_only {
            generic::identify(&decode::decode(&response), None, &generic_words)
        } else {
            matcher.identify(&response, &case.probe)
        };
        let product = got
            .as_ref()
            .and_then(|g| g.product.clone())
            .filter(|p| !p.is_empty());
        let version = got
            .as_ref()
            .and_then(|g| g.version.clone())
            .filter(|v| !v.is_empty());
        let t = tallies.entry(case.service.clone()).or_default();
        t.cases += 1;
        t.with_product += usize::from(!case.product.is_empty());
        t.with_version += usize::from(!case.version.is_empty());
        let right_product = product
            .as_deref()
            .is_some_and(|p| !case.product.is_empty() && same_product(p, &case.product, &case.aliases));
        let mut status = "";
        if product.is_some() {
            t.claims += 1;
            let wrong_version = match (&version, case.version.is_empty()) {
                (Some(v), false) => !same_version(v, &case.version),
                _ => false,
            };
            if right_product {
                t.product_right += 1;
            }
            if !right_product || wrong_version {
                t.wrong += 1;
                status = "WRONG";
            }
        } else if !case.product.is_empty() {
            status = "missed";
        }
        if let (Some(v), false) = (&version, case.version.is_empty()) {
            if right_product && same_version(v, &case.version) {
                t.version_right += 1;
            }
        }
        if status == "WRONG" || (verbose && !status.is_empty()) {
            println!(
                "{status:<7} {:?} -> {:?} {:?} (want {:?} {:?}; {})",
                case.response,
                product,
                version,
                case.product,
                case.version,
                got.and_then(|g| g.rule).unwrap_or_default()
            );
        }
    }
    println!(
        "{:<6} {:>5} {:>14} {:>14} {:>6} {:>5}",
        "svc", "cases", "product", "version", "claims", "wrong"
    );
    let mut all = Tally::default();
    for (service, t) in &tallies {
        row(service, t);
        all.cases += t.cases;
        all.with_product += t.with_product;
        all.product_right += t.product_right;
        all.with_version += t.with_version;
        all.version_right += t.version_right;
        all.claims += t.claims;
        all.wrong += t.wrong;
    }
    row("all", &all);
    Ok(())
}
