//! Scores identification on a file of real banners (the format and the scoring of
//! `tests/corpus/*.toml`): `cargo run --example banner_eval -- benches/banners/greet-knowledge.toml`.
//! `G=1` scores the generic reader alone (no rules); `V=1` lists every miss, not only wrong claims.

use std::collections::BTreeMap;
use std::error::Error;

use portprobe::escape::unescape;
use portprobe::fingerprint::{decode, generic, Database, Matcher};

#[path = "../tests/it/score.rs"]
mod score;
use score::{print_table, File, Tally, Verdict};

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
        let verdict = tallies
            .entry(case.service.clone())
            .or_default()
            .record(&case, got.as_ref());
        let status = match verdict {
            Verdict::Wrong => "WRONG",
            Verdict::Missed => "missed",
            Verdict::Right | Verdict::Silent => "",
        };
        if verdict == Verdict::Wrong || (verbose && !status.is_empty()) {
            println!(
                "{status:<7} {:?} -> {:?} {:?} (want {:?} {:?}; {})",
                case.response,
                got.as_ref().and_then(|g| g.product.as_deref()),
                got.as_ref().and_then(|g| g.version.as_deref()),
                case.product,
                case.version,
                got.as_ref().and_then(|g| g.rule.as_deref()).unwrap_or_default()
            );
        }
    }
    print_table(&tallies);
    Ok(())
}
