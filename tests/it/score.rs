//! How a file of real-world cases (`tests/corpus/*.toml`, `benches/banners/*.toml`) is read and
//! scored: shared by the corpus test and `examples/banner_eval.rs` (which includes this file).

use portprobe::fingerprint::{Confidence, Identity};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub response: String,
    pub probe: String,
    /// Where the bytes were seen; read by people, not by the scoring.
    #[allow(dead_code)]
    pub source: String,
    pub service: String,
    pub product: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub version: String,
}

/// Lower-case letters and digits only: `Microsoft-IIS` and `Microsoft IIS` compare equal.
fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Words that name no product on their own.
const FILLER: &[&str] = &[
    "server",
    "service",
    "daemon",
    "http",
    "httpd",
    "https",
    "web",
    "ftp",
    "ftpd",
    "smtp",
    "smtpd",
    "mail",
    "pop3",
    "pop3d",
    "imap",
    "imapd",
    "imap4",
    "ssh",
    "sshd",
    "the",
    "for",
    "and",
    "microsoft",
    "apache",
    "gnu",
    "linux",
];

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .map(str::to_ascii_lowercase)
        .filter(|w| w.len() >= 3 && !FILLER.contains(&w.as_str()))
        .collect()
}

/// A product answer is right when, normalised, it equals the expected name or an alias, one
/// contains the other (`OpenSSH` for `OpenSSH for Windows` is less precise, not wrong), or they
/// share a word that names something (`FileZilla ftpd` for `FileZilla Server`).
pub fn same_product(got: &str, want: &str, aliases: &[String]) -> bool {
    let g = norm(got);
    if g.len() < 2 {
        return false;
    }
    let gw = words(got);
    std::iter::once(want)
        .chain(aliases.iter().map(String::as_str))
        .any(|w| {
            let n = norm(w);
            n.len() >= 2
                && (g == n || g.contains(&n) || n.contains(&g) || words(w).iter().any(|x| gw.contains(x)))
        })
}

/// A version answer is right when it equals the expected one, or extends it (`0.9.33 beta` for
/// `0.9.33`), or the expected one extends it at a separator.
pub fn same_version(got: &str, want: &str) -> bool {
    let (g, w) = (got.to_ascii_lowercase(), want.to_ascii_lowercase());
    g == w
        || g.strip_prefix(&w)
            .is_some_and(|rest| rest.starts_with(|c: char| !c.is_ascii_digit()))
        || w.strip_prefix(&g)
            .is_some_and(|rest| rest.starts_with(|c: char| !c.is_ascii_digit()))
}

/// What one case's answer was, when it was not simply right or rightly silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Right,
    /// A product that is not the case's, or the right one with a wrong version.
    Wrong,
    /// Nothing said where the case names a product.
    Missed,
    Silent,
}

/// Counts over a set of cases (one service, or all).
#[derive(Default)]
pub struct Tally {
    pub cases: usize,
    pub with_product: usize,
    pub product_right: usize,
    pub with_version: usize,
    pub version_right: usize,
    pub claims: usize,
    pub wrong: usize,
    pub generic: usize,
}

impl Tally {
    /// Scores `got` for `case` and counts it.
    pub fn record(&mut self, case: &Case, got: Option<&Identity>) -> Verdict {
        let product = got.and_then(|g| g.product.as_deref()).filter(|p| !p.is_empty());
        let version = got.and_then(|g| g.version.as_deref()).filter(|v| !v.is_empty());
        self.cases += 1;
        self.generic += usize::from(got.is_some_and(|g| g.confidence == Confidence::Generic));
        self.with_product += usize::from(!case.product.is_empty());
        self.with_version += usize::from(!case.version.is_empty());
        let right = product
            .is_some_and(|p| !case.product.is_empty() && same_product(p, &case.product, &case.aliases));
        let version_right =
            version.is_some_and(|v| !case.version.is_empty() && same_version(v, &case.version));
        if right && version_right {
            self.version_right += 1;
        }
        if product.is_none() {
            return if case.product.is_empty() {
                Verdict::Silent
            } else {
                Verdict::Missed
            };
        }
        self.claims += 1;
        let version_wrong = version.is_some() && !case.version.is_empty() && !version_right;
        if right {
            self.product_right += 1;
        }
        if !right || version_wrong {
            self.wrong += 1;
            return Verdict::Wrong;
        }
        Verdict::Right
    }

    pub fn add(&mut self, t: &Tally) {
        self.cases += t.cases;
        self.with_product += t.with_product;
        self.product_right += t.product_right;
        self.with_version += t.with_version;
        self.version_right += t.version_right;
        self.claims += t.claims;
        self.wrong += t.wrong;
        self.generic += t.generic;
    }

    /// The table's heading.
    pub fn heading() {
        println!(
            "{:<8} {:>6} {:>16} {:>16} {:>8} {:>7} {:>8}",
            "service", "cases", "product", "version", "claims", "wrong", "generic"
        );
    }

    /// One row of the table BENCHMARKS.md records.
    pub fn print(&self, label: &str) {
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
pub fn pct(a: usize, b: usize) -> f64 {
    if b == 0 {
        100.0
    } else {
        100.0 * a as f64 / b as f64
    }
}

/// Prints the table: a row per service, then all of them; returns the total.
pub fn print_table(tallies: &std::collections::BTreeMap<String, Tally>) -> Tally {
    Tally::heading();
    let mut all = Tally::default();
    for (service, t) in tallies {
        t.print(service);
        all.add(t);
    }
    all.print("all");
    all
}
