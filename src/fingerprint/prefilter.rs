//! A literal prefilter for a group of rules: each pattern's longest literal that every match must
//! contain goes into one Aho-Corasick automaton, so a response is searched once for all of them
//! and only the rules whose literal occurs are run. Patterns without such a literal are run as one
//! `RegexSet`. This keeps matching fast as the database grows into thousands of rules.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::{RegexSet, RegexSetBuilder};
use regex_syntax::hir::{Class, Hir, HirKind};

/// Compiled size limit of the set of patterns without a literal.
const SET_SIZE_LIMIT: usize = 256 << 20;

/// Shortest literal worth searching for; shorter ones put the pattern in the always-run set.
const MIN_LITERAL: usize = 3;

/// The literal prefilter over a group's patterns (indices are positions in the group).
pub struct Prefilter {
    /// Required literals, lower-cased and matched ASCII case-insensitively (a superset of what
    /// the patterns accept; the patterns themselves decide).
    ac: Option<AhoCorasick>,
    /// For each literal, the patterns that require it.
    by_literal: Vec<Vec<usize>>,
    /// Patterns without a usable literal, and their combined set.
    always: Vec<usize>,
    always_set: Option<RegexSet>,
}

impl Prefilter {
    /// A prefilter over `patterns`, given the [`required_literals`] of each (computed once per
    /// rule by the caller: a raw rule is in several groups).
    pub fn new(patterns: &[&str], all: &[&[Vec<u8>]]) -> Prefilter {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut by_literal: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        // Each pattern's candidates; the one fewest other patterns share is the most selective
        // (` esmtp ` is in a hundred mail rules, `exim` in a few).
        let mut shared: std::collections::HashMap<&[u8], usize> = std::collections::HashMap::new();
        for lits in all {
            for l in lits.iter() {
                *shared.entry(l.as_slice()).or_default() += 1;
            }
        }
        let chosen: Vec<Option<Vec<u8>>> = all
            .iter()
            .map(|lits| {
                lits.iter()
                    .min_by_key(|l| (shared[l.as_slice()], std::cmp::Reverse(l.len())))
                    .cloned()
            })
            .collect();
        for (k, lit) in chosen.into_iter().enumerate() {
            match lit {
                Some(lit) => match literals.iter().position(|l| *l == lit) {
                    Some(at) => by_literal[at].push(k),
                    None => {
                        literals.push(lit);
                        by_literal.push(vec![k]);
                    }
                },
                None => always.push(k),
            }
        }
        let ac = (!literals.is_empty())
            .then(|| {
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&literals)
                    .ok()
            })
            .flatten();
        if ac.is_none() {
            // No automaton: every pattern is run through the set.
            always = (0..patterns.len()).collect();
            by_literal.clear();
        }
        let always_set = (!always.is_empty())
            .then(|| {
                RegexSetBuilder::new(always.iter().map(|&k| patterns[k]))
                    .unicode(false)
                    .size_limit(SET_SIZE_LIMIT)
                    .dfa_size_limit(SET_SIZE_LIMIT)
                    .build()
                    .ok()
            })
            .flatten();
        Prefilter {
            ac,
            by_literal,
            always,
            always_set,
        }
    }

    /// Positions of the patterns that may match `hay` (unordered): those of the always-run set
    /// that match, and those whose literal occurs in it (unchecked).
    pub fn matches(&self, hay: &[u8], is_match: &dyn Fn(usize) -> bool, out: &mut Vec<usize>) {
        match &self.always_set {
            // One pass: `is_match` first would scan a matching response twice.
            Some(set) => out.extend(set.matches(hay).into_iter().map(|i| self.always[i])),
            None => out.extend(self.always.iter().copied().filter(|&k| is_match(k))),
        }
        let Some(ac) = &self.ac else { return };
        let start = out.len();
        for m in ac.find_overlapping_iter(hay) {
            for &k in &self.by_literal[m.pattern().as_usize()] {
                if !out[start..].contains(&k) {
                    out.push(k);
                }
            }
        }
        // Patterns whose literal occurs are candidates, not matches: the caller runs them in
        // priority order and stops at the first that names the product, so most are never run.
    }
}

/// What a pattern's syntax tells the matcher before it runs the pattern.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// The literals (lower-cased) that every match contains and that are long enough to be
    /// worth searching for.
    pub literals: Vec<Vec<u8>>,
    /// The bytes every match starts with when the pattern is anchored at the start of its
    /// input (`^Apache/`): a candidate whose value does not start so is rejected without
    /// running the pattern.
    pub prefix: Prefix,
}

/// Bytes an input must start with; each byte exact, or either ASCII case of a letter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefix(Vec<(u8, bool)>);

/// Longest prefix kept: enough to tell rules apart, short enough to compare in a few cycles.
const MAX_PREFIX: usize = 16;

impl Prefix {
    /// Whether `hay` starts with this prefix (always, for an empty one).
    pub fn admits(&self, hay: &[u8]) -> bool {
        hay.len() >= self.0.len()
            && self.0.iter().zip(hay).all(|(&(want, fold), &got)| {
                if fold {
                    want == got.to_ascii_lowercase()
                } else {
                    want == got
                }
            })
    }
}

/// Parses `pattern` for its literals and its anchored prefix (nothing for a pattern that does
/// not parse: `fingerprints check` reports it, and it never matches).
pub fn analyze(pattern: &str) -> Analysis {
    match regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
    {
        Ok(hir) => analyze_hir(&hir),
        Err(_) => Analysis::default(),
    }
}

/// [`analyze`] of a pattern already parsed (the loader parses each rule's pattern once).
pub fn analyze_hir(hir: &Hir) -> Analysis {
    let mut found = Vec::new();
    required(hir, &mut found);
    found.retain(|l| l.len() >= MIN_LITERAL);
    found.sort();
    found.dedup();
    Analysis {
        literals: found,
        prefix: anchored_prefix(hir),
    }
}

/// The literals (lower-cased) that every match of `pattern` contains and that are long enough
/// to be worth searching for.
pub fn required_literals(pattern: &str) -> Vec<Vec<u8>> {
    analyze(pattern).literals
}

/// The bytes after a leading `^` (start of input, not of a line) that every match begins with.
fn anchored_prefix(hir: &Hir) -> Prefix {
    let HirKind::Concat(subs) = hir.kind() else {
        return Prefix::default();
    };
    let Some((first, rest)) = subs.split_first() else {
        return Prefix::default();
    };
    if !matches!(first.kind(), HirKind::Look(regex_syntax::hir::Look::Start)) {
        return Prefix::default();
    }
    let mut out = Vec::new();
    'items: for sub in rest {
        match sub.kind() {
            HirKind::Literal(l) => {
                for &b in l.0.iter() {
                    if out.len() == MAX_PREFIX {
                        break 'items;
                    }
                    out.push((b, false));
                }
            }
            _ => match exact_byte(sub) {
                Some(b) if out.len() < MAX_PREFIX => out.push(b),
                _ => break,
            },
        }
    }
    Prefix(out)
}

/// One byte this HIR matches: a literal (exact), or a class of exactly one byte (exact) or of
/// both cases of one ASCII letter (folded, stored lower-case).
fn exact_byte(hir: &Hir) -> Option<(u8, bool)> {
    match hir.kind() {
        HirKind::Literal(l) if l.0.len() == 1 => Some((l.0[0], false)),
        HirKind::Class(Class::Bytes(c)) => {
            let bytes: Vec<u8> = c
                .ranges()
                .iter()
                .flat_map(|r| r.start()..=r.end())
                .take(3)
                .collect();
            match bytes.as_slice() {
                [b] => Some((*b, false)),
                [a, b] if a.is_ascii_uppercase() && a.to_ascii_lowercase() == *b => Some((*b, true)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The longest of [`required_literals`].
pub fn required_literal(pattern: &str) -> Option<Vec<u8>> {
    required_literals(pattern).into_iter().max_by_key(|l| l.len())
}

/// A single byte this HIR matches, case-folded: a literal byte, or a class holding exactly an
/// ASCII letter in both cases.
fn one_byte(hir: &Hir) -> Option<u8> {
    match hir.kind() {
        HirKind::Literal(l) if l.0.len() == 1 => Some(l.0[0].to_ascii_lowercase()),
        HirKind::Class(Class::Bytes(c)) => {
            let ranges = c.ranges();
            let bytes: Vec<u8> = ranges.iter().flat_map(|r| r.start()..=r.end()).take(3).collect();
            match bytes.as_slice() {
                [b] => Some(b.to_ascii_lowercase()),
                [a, b] if a.is_ascii_alphabetic() && a.eq_ignore_ascii_case(b) => {
                    Some(a.to_ascii_lowercase())
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Appends the literals every match of `hir` contains (runs of consecutive literal bytes).
fn required(hir: &Hir, out: &mut Vec<Vec<u8>>) {
    match hir.kind() {
        HirKind::Literal(l) => out.push(l.0.to_ascii_lowercase()),
        HirKind::Capture(c) => required(&c.sub, out),
        HirKind::Repetition(r) if r.min >= 1 => required(&r.sub, out),
        HirKind::Concat(subs) => {
            let mut run: Vec<u8> = Vec::new();
            for sub in subs {
                if let HirKind::Literal(l) = sub.kind() {
                    run.extend(l.0.to_ascii_lowercase());
                    continue;
                }
                if let Some(b) = one_byte(sub) {
                    run.push(b);
                    continue;
                }
                if !run.is_empty() {
                    out.push(std::mem::take(&mut run));
                }
                required(sub, out);
            }
            if !run.is_empty() {
                out.push(run);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::bytes::Regex;

    fn lit(p: &str) -> Option<String> {
        required_literal(p).map(|l| String::from_utf8_lossy(&l).into_owned())
    }

    #[test]
    fn literals_every_match_contains() {
        assert_eq!(lit(r"^kangle/(\d[\w.]*)").as_deref(), Some("kangle/"));
        assert_eq!(
            lit(r"(?i)^Microsoft-IIS/([\d.]+)").as_deref(),
            Some("microsoft-iis/")
        );
        assert_eq!(
            lit(r"^\S+ ESMTP Exim (\d[\w.]*)").as_deref(),
            Some(" esmtp exim ")
        );
        assert_eq!(lit(r"^(?:foo|bar)baz").as_deref(), Some("baz"));
        assert_eq!(lit(r"^(?:foo|bar)ba"), None);
        assert_eq!(lit(r"^\d{3}$"), None);
        assert_eq!(lit(r"^(?:abc)?xyzw").as_deref(), Some("xyzw"));
        assert_eq!(
            lit(r"(?s)^.{8}PP\x00\x00\xdd\x07").as_deref(),
            Some("pp\x00\x00\u{fffd}\x07")
        );
    }

    #[test]
    fn anchored_prefixes_reject_only_what_the_pattern_rejects() {
        type Case<'a> = (&'a str, &'a [&'a [u8]], &'a [&'a [u8]]);
        let cases: [Case; 6] = [
            (
                r"^Apache/(\d+)",
                &[b"Apache/2"],
                &[b"apache/2", b"xApache/2", b"Apach"],
            ),
            (
                r"(?i)^nginx/",
                &[b"nginx/1", b"NGINX/1", b"NgInX/"],
                &[b"ngin", b"engine"],
            ),
            (r"^SSH-[12]\.", &[b"SSH-2.0", b"SSH-1.5"], &[b"ssh-2.0"]),
            (r"^\x00\x01a", &[b"\x00\x01ab"], &[b"\x00\x02a"]),
            (r"(?m)^foo", &[b"foo", b"x\nfoo", b"xfoo"], &[]),
            (r"^(?:foo|bar)", &[b"foo", b"bar", b"baz"], &[]),
        ];
        for (pattern, admitted, rejected) in cases {
            let prefix = analyze(pattern).prefix;
            let re = Regex::new(pattern).unwrap();
            for hay in admitted {
                assert!(prefix.admits(hay), "{pattern} on {hay:?}");
            }
            for hay in rejected {
                assert!(!prefix.admits(hay), "{pattern} on {hay:?}");
                assert!(!re.is_match(hay), "{pattern} matches {hay:?}");
            }
        }
        assert_eq!(analyze(r"(?m)^foo").prefix, Prefix::default());
    }

    #[test]
    fn prefilter_finds_what_the_patterns_match() {
        let patterns = [r"^kangle/(\d+)", r"(?i)^nginx", r"^\d{3}$", r"Exim \d"];
        let regexes: Vec<Regex> = patterns.iter().map(|p| Regex::new(p).unwrap()).collect();
        let lits: Vec<Vec<Vec<u8>>> = patterns.iter().map(|p| required_literals(p)).collect();
        let lits: Vec<&[Vec<u8>]> = lits.iter().map(|l| l.as_slice()).collect();
        let pf = Prefilter::new(&patterns, &lits);
        // Candidates are a superset; the patterns decide (as the matcher does).
        let run = |hay: &[u8]| {
            let mut out = Vec::new();
            pf.matches(hay, &|k| regexes[k].is_match(hay), &mut out);
            let candidates = out.len();
            out.retain(|&k| regexes[k].is_match(hay));
            out.sort_unstable();
            (out, candidates)
        };
        assert_eq!(run(b"kangle/3"), (vec![0], 1));
        assert_eq!(run(b"NGINX/1.2"), (vec![1], 1));
        assert_eq!(run(b"200"), (vec![2], 1));
        assert_eq!(run(b"mail ESMTP Exim 4"), (vec![3], 1));
        // The literal occurs (case folded), the pattern does not match: a candidate only.
        assert_eq!(run(b"Kangle/3"), (vec![], 1));
        assert_eq!(run(b"something else"), (vec![], 0));
    }
}
