//! How a file of real-world cases (`tests/corpus/*.toml`, `benches/banners/*.toml`) is read and
//! scored: shared by the corpus test and `examples/banner_eval.rs` (which includes this file).

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
