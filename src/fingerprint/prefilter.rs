//! A literal prefilter for a group of rules: each pattern's most selective literal that every
//! match must contain is found by one pass over the response, and only the rules whose literal
//! occurs are run. Patterns without such a literal are candidates when the response starts
//! with a byte they can start with. This keeps matching fast as the database grows into
//! thousands of rules.
//!
//! The pass reads each position's next three bytes (ASCII case folded) and tests one bit of a
//! small table; only where the bit is set does it look the literals starting so up. A group's
//! tables fit in a few kilobytes, so a pass stays in the first-level caches where an automaton
//! over hundreds of literals would not (a scan meets each group cold, among many others).

use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// Shortest literal worth searching for; shorter ones make the pattern an always-candidate.
const MIN_LITERAL: usize = 3;

/// Bits of the table of three-byte starts (a power of two).
const GRAM_BITS: usize = 1 << 15;

/// ASCII case folding of a byte (what the literals are stored in).
fn fold(b: u8) -> u8 {
    b.to_ascii_lowercase()
}

/// Three folded bytes as one key.
fn gram(a: u8, b: u8, c: u8) -> u32 {
    (u32::from(fold(a)) << 16) | (u32::from(fold(b)) << 8) | u32::from(fold(c))
}

/// How common a (folded) byte is in banners, roughly: a literal is looked for by its three
/// bytes least common together, so that text most responses carry (`ser`, ` ve`) rarely
/// sends the pass to the table.
fn commonness(b: u8) -> u32 {
    match b {
        b' ' => 10,
        b'e' | b't' | b'a' | b'o' => 8,
        b'i' | b'n' | b's' | b'r' | b'h' => 7,
        b'l' | b'd' | b'c' | b'u' | b'\r' | b'\n' => 6,
        b'm' | b'f' | b'p' | b'g' | b'w' | b'y' | b'b' | b'.' | b',' | b'/' | b'-' | b':' => 5,
        b'0'..=b'9' | 0 => 4,
        b'v' | b'k' | b'x' | b'j' | b'q' | b'z' => 3,
        0x21..=0x7e => 2,
        _ => 1,
    }
}

/// Where in `lit` its least common three bytes start.
fn rarest_gram(lit: &[u8]) -> usize {
    (0..=lit.len() - MIN_LITERAL)
        .min_by_key(|&i| {
            lit[i..i + MIN_LITERAL]
                .iter()
                .map(|&b| commonness(b))
                .sum::<u32>()
        })
        .unwrap_or(0)
}

/// The bit of a key in the table.
fn gram_bit(key: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B1) >> 17) as usize & (GRAM_BITS - 1)
}

/// The literal prefilter over a group's patterns (indices are positions in the group).
pub struct Prefilter {
    /// A bit per three-byte start of some literal (hashed).
    grams: Vec<u64>,
    /// (key, literal index), sorted by key: the literals holding those three bytes at
    /// `offsets[literal]`.
    starts: Vec<(u32, u32)>,
    offsets: Vec<usize>,
    /// Required literals, lower-cased and matched ASCII case-insensitively (a superset of what
    /// the patterns accept; the patterns themselves decide).
    literals: Vec<Vec<u8>>,
    /// For each literal, the patterns that require it.
    by_literal: Vec<Vec<usize>>,
    /// Patterns without a usable literal, with the bytes their matches can start with when
    /// they are anchored at the start of the input (`None`: anywhere, anything).
    always: Vec<usize>,
    always_first: Vec<Option<[u64; 4]>>,
}

impl Prefilter {
    /// A prefilter over `analyses` (computed once per rule by the caller: a raw rule is in
    /// several groups).
    pub fn new(analyses: &[&Analysis]) -> Prefilter {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut by_literal: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        let mut always_first = Vec::new();
        // Each pattern's candidates; the one fewest other patterns share is the most selective
        // (` esmtp ` is in a hundred mail rules, `exim` in a few).
        // A set of alternatives counts as the sum of its members.
        let mut shared: std::collections::HashMap<&[u8], usize> = std::collections::HashMap::new();
        for a in analyses {
            for l in a.literals.iter().flatten() {
                *shared.entry(l.as_slice()).or_default() += 1;
            }
        }
        for (k, a) in analyses.iter().enumerate() {
            let chosen = a.literals.iter().min_by_key(|set| {
                let cost: usize = set.iter().map(|l| shared[l.as_slice()]).sum();
                (cost, std::cmp::Reverse(set.iter().map(Vec::len).min()))
            });
            let Some(set) = chosen else {
                always.push(k);
                always_first.push(a.first);
                continue;
            };
            for lit in set {
                match literals.iter().position(|l| l == lit) {
                    Some(at) => by_literal[at].push(k),
                    None => {
                        literals.push(lit.clone());
                        by_literal.push(vec![k]);
                    }
                }
            }
        }
        let mut grams = vec![0u64; GRAM_BITS / 64];
        let mut starts = Vec::new();
        let mut offsets = Vec::new();
        for (i, l) in literals.iter().enumerate() {
            let at = rarest_gram(l);
            let key = gram(l[at], l[at + 1], l[at + 2]);
            let bit = gram_bit(key);
            grams[bit / 64] |= 1 << (bit % 64);
            starts.push((key, i as u32));
            offsets.push(at);
        }
        starts.sort_unstable();
        Prefilter {
            grams,
            starts,
            offsets,
            literals,
            by_literal,
            always,
            always_first,
        }
    }

    /// Positions of the patterns that may match `hay` (unordered, unchecked): the
    /// always-candidates that can start as `hay` does, and those whose literal occurs in it.
    /// The caller runs them in priority order and stops at the first that names the product,
    /// so most are never run.
    pub fn matches(&self, hay: &[u8], out: &mut Vec<usize>) {
        for (&k, first) in self.always.iter().zip(&self.always_first) {
            let admits = match first {
                None => true,
                Some(set) => hay
                    .first()
                    .is_some_and(|&b| set[usize::from(b >> 6)] & (1 << (b & 63)) != 0),
            };
            if admits {
                out.push(k);
            }
        }
        if self.literals.is_empty() || hay.len() < MIN_LITERAL {
            return;
        }
        let start = out.len();
        // The key rolls: each position folds one new byte.
        let mut key = gram(0, hay[0], hay[1]);
        for i in 0..=hay.len() - MIN_LITERAL {
            key = ((key << 8) | u32::from(fold(hay[i + 2]))) & 0xff_ffff;
            let bit = gram_bit(key);
            if self.grams[bit / 64] & (1 << (bit % 64)) == 0 {
                continue;
            }
            let from = self.starts.partition_point(|&(k, _)| k < key);
            for &(_, lit) in self.starts[from..].iter().take_while(|&&(k, _)| k == key) {
                let lit = lit as usize;
                let want = &self.literals[lit];
                let found = i
                    .checked_sub(self.offsets[lit])
                    .and_then(|from| hay.get(from..from + want.len()))
                    .is_some_and(|got| got.iter().zip(want).all(|(&g, &w)| fold(g) == w));
                if !found {
                    continue;
                }
                for &k in &self.by_literal[lit] {
                    if !out[start..].contains(&k) {
                        out.push(k);
                    }
                }
            }
        }
    }
}

/// What a pattern's syntax tells the matcher before it runs the pattern.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// The literals (lower-cased) that every match contains and that are long enough to be
    /// worth searching for.
    /// Each entry is a set of which every match contains at least one (one literal: it
    /// contains that one; `(?:foo|bar)` gives both).
    pub literals: Vec<Vec<Vec<u8>>>,
    /// The bytes every match starts with when the pattern is anchored at the start of its
    /// input (`^Apache/`): a candidate whose value does not start so is rejected without
    /// running the pattern.
    pub prefix: Prefix,
    /// For a pattern anchored at the start of its input, the bytes a match can start with
    /// (`None`: unanchored, or it can match empty).
    pub first: Option<[u64; 4]>,
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
    found.retain(|set| set.iter().all(|l| l.len() >= MIN_LITERAL));
    found.sort();
    found.dedup();
    Analysis {
        literals: found,
        prefix: anchored_prefix(hir),
        first: anchored_first(hir),
    }
}

/// The bytes a match can start with when the pattern begins with `^` (start of input).
fn anchored_first(hir: &Hir) -> Option<[u64; 4]> {
    let HirKind::Concat(subs) = hir.kind() else {
        return None;
    };
    let (head, rest) = subs.split_first()?;
    if !matches!(head.kind(), HirKind::Look(Look::Start)) {
        return None;
    }
    let mut set = [0u64; 4];
    for sub in rest {
        if !first_set(sub, &mut set) {
            return Some(set);
        }
    }
    None
}

/// Adds the bytes a match of `hir` can start with to `set`; whether it can match empty (so
/// what follows it can start the match too). Zero-width assertions count as empty.
fn first_set(hir: &Hir, set: &mut [u64; 4]) -> bool {
    let mut add = |b: u8| set[usize::from(b >> 6)] |= 1 << (b & 63);
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(l) => {
            add(l.0[0]);
            false
        }
        HirKind::Class(Class::Bytes(c)) => {
            c.iter().flat_map(|r| r.start()..=r.end()).for_each(add);
            false
        }
        HirKind::Class(Class::Unicode(c)) => {
            // Any non-ASCII character can start with any byte of 0x80..=0xff: allow them all.
            for r in c.iter() {
                let (s, e) = (u32::from(r.start()), u32::from(r.end()));
                (s.min(0x80)..=e.min(0x80)).for_each(|b| add(b as u8));
                if e >= 0x80 {
                    (0x80..=0xffu8).for_each(&mut add);
                }
            }
            false
        }
        HirKind::Capture(c) => first_set(&c.sub, set),
        HirKind::Repetition(r) => first_set(&r.sub, set) || r.min == 0,
        HirKind::Concat(subs) => subs.iter().all(|s| first_set(s, set)),
        HirKind::Alternation(subs) => {
            // Every branch adds its bytes (no short cut).
            let mut empty = false;
            for s in subs {
                empty |= first_set(s, set);
            }
            empty
        }
    }
}

/// The literals (lower-cased) that every match of `pattern` contains and that are long enough
/// to be worth searching for.
pub fn required_literals(pattern: &str) -> Vec<Vec<u8>> {
    let sets = analyze(pattern).literals;
    sets.into_iter().filter(|set| set.len() == 1).flatten().collect()
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

/// Most alternatives an any-of set keeps; more are not worth a prefilter entry each.
const MAX_ANY_OF: usize = 8;

/// Appends the literals every match of `hir` contains (runs of consecutive literal bytes), as
/// sets of which a match contains at least one.
fn required(hir: &Hir, out: &mut Vec<Vec<Vec<u8>>>) {
    match hir.kind() {
        HirKind::Literal(l) => out.push(vec![l.0.to_ascii_lowercase()]),
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
                    out.push(vec![std::mem::take(&mut run)]);
                }
                required(sub, out);
            }
            if !run.is_empty() {
                out.push(vec![run]);
            }
        }
        HirKind::Alternation(subs) => {
            // Each branch's best requirement; a match contains one of them.
            let mut any = Vec::new();
            for sub in subs {
                let mut own = Vec::new();
                required(sub, &mut own);
                own.retain(|set| set.iter().all(|l| l.len() >= MIN_LITERAL));
                let best = own
                    .into_iter()
                    .min_by_key(|set| (set.len(), std::cmp::Reverse(set.iter().map(Vec::len).min())));
                let Some(best) = best else { return };
                any.extend(best);
            }
            any.sort();
            any.dedup();
            if any.len() <= MAX_ANY_OF {
                out.push(any);
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
        let sets = |p: &str| analyze(p).literals;
        assert_eq!(
            sets(r"^(?:foo|bar)ba"),
            vec![vec![b"bar".to_vec(), b"foo".to_vec()]]
        );
        assert_eq!(
            sets(r"^(?:220|421)[ -](?:\bMDaemon\b.*SMTP|SMTP.*\bMDaemon\b)"),
            vec![vec![b"220".to_vec(), b"421".to_vec()], vec![b"mdaemon".to_vec()]]
        );
        // A branch without a usable literal leaves the alternation without one.
        assert_eq!(sets(r"(?:foo|\d+)"), Vec::<Vec<Vec<u8>>>::new());
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
        let analyses: Vec<Analysis> = patterns.iter().map(|p| analyze(p)).collect();
        let pf = Prefilter::new(&analyses.iter().collect::<Vec<_>>());
        // Candidates are a superset; the patterns decide (as the matcher does).
        let run = |hay: &[u8]| {
            let mut out = Vec::new();
            pf.matches(hay, &mut out);
            let candidates = out.len();
            out.retain(|&k| regexes[k].is_match(hay));
            out.sort_unstable();
            (out, candidates)
        };
        assert_eq!(run(b"kangle/3"), (vec![0], 1));
        assert_eq!(run(b"NGINX/1.2"), (vec![1], 1));
        assert_eq!(run(b"200"), (vec![2], 1));
        // `^\d{3}$` has no literal: a candidate wherever the value starts with a digit.
        assert_eq!(run(b"2xx"), (vec![], 1));
        assert_eq!(run(b"mail ESMTP Exim 4"), (vec![3], 1));
        // The literal occurs (case folded), the pattern does not match: a candidate only.
        assert_eq!(run(b"Kangle/3"), (vec![], 1));
        assert_eq!(run(b"something else"), (vec![], 0));
        // A literal found twice, or in another case, is one candidate.
        assert_eq!(run(b"exim \xff EXIM 4"), (vec![], 1));
    }
}
