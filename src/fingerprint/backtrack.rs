//! A small backtracking matcher for the simple patterns most rules are, compiled into one flat
//! program per rule. A scan meets thousands of rules, each only now and then, so a rule is
//! always cold: the general engine walks a dozen separately allocated structures per search
//! (cache pool, NFA, one-pass table, capture slots), this one reads a few cache lines.
//!
//! The semantics are the regex crate's (leftmost-first, the priority order a backtracker
//! explores). Patterns it cannot run the same way (Unicode word boundaries, repetitions of
//! what can match empty, large programs) are not compiled, and a search that runs past its
//! step budget gives up: the caller then asks the general engine.

use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// Largest program compiled (instructions); bigger patterns use the general engine.
const MAX_INSTS: usize = 600;

/// Steps one search may take (on top of one per haystack byte per start position tried);
/// past it the search gives up rather than explore exponentially many paths.
const STEP_BUDGET: usize = 20_000;

/// No class.
const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
enum Inst {
    /// These bytes, exactly (`Program::bytes[at..at + len]`).
    Lit {
        at: u32,
        len: u32,
    },
    /// One byte of class `Program::classes[n]`.
    Class(u32),
    /// `min..=max` bytes of a class, greedy or lazy, then the next instruction.
    Rep {
        class: u32,
        min: u32,
        max: u32,
        greedy: bool,
        /// The class of bytes what follows can start with (`NONE`: anything, it can be
        /// empty): the repetition only stops before such a byte.
        next: u32,
    },
    /// Try the first target; if it fails, the second.
    Split(u32, u32),
    Jmp(u32),
    /// Record the position in capture slot n.
    Save(u32),
    Look(Look),
    Match,
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Program {
    insts: Vec<Inst>,
    bytes: Vec<u8>,
    classes: Vec<[u64; 4]>,
    /// Matches can only start at the haystack's start.
    anchored: bool,
    /// The bytes a match can start with (`None`: it can be empty); the search tries no other
    /// start position.
    first: Option<[u64; 4]>,
    /// Capture slots (two per group, group 0 included).
    slots: usize,
}

/// What a search found.
pub enum Found {
    No,
    /// The match; capture slots (start, end) per group, `usize::MAX` when a group did not
    /// take part.
    Yes,
    /// The step budget ran out: ask the general engine.
    GaveUp,
}

fn class_has(c: &[u64; 4], b: u8) -> bool {
    c[usize::from(b >> 6)] & (1u64 << (b & 63)) != 0
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

struct Compiler {
    insts: Vec<Inst>,
    bytes: Vec<u8>,
    classes: Vec<[u64; 4]>,
}

impl Compiler {
    fn push(&mut self, i: Inst) -> Option<u32> {
        if self.insts.len() >= MAX_INSTS {
            return None;
        }
        self.insts.push(i);
        u32::try_from(self.insts.len() - 1).ok()
    }

    fn pc(&self) -> u32 {
        self.insts.len() as u32
    }

    fn class(&mut self, hir: &Hir) -> Option<u32> {
        let mut bits = [0u64; 4];
        match hir.kind() {
            HirKind::Class(Class::Bytes(c)) => {
                for r in c.iter() {
                    for b in r.start()..=r.end() {
                        bits[usize::from(b >> 6)] |= 1 << (b & 63);
                    }
                }
            }
            HirKind::Class(Class::Unicode(c)) => {
                for r in c.iter() {
                    // Only ASCII ranges are single bytes.
                    let (s, e) = (u32::from(r.start()), u32::from(r.end()));
                    if e > 0x7f {
                        return None;
                    }
                    for b in s..=e {
                        bits[(b >> 6) as usize] |= 1 << (b & 63);
                    }
                }
            }
            HirKind::Literal(l) if l.0.len() == 1 => {
                let b = l.0[0];
                bits[usize::from(b >> 6)] |= 1 << (b & 63);
            }
            _ => return None,
        }
        if let Some(at) = self.classes.iter().position(|c| *c == bits) {
            return u32::try_from(at).ok();
        }
        self.classes.push(bits);
        u32::try_from(self.classes.len() - 1).ok()
    }

    fn compile(&mut self, hir: &Hir) -> Option<()> {
        match hir.kind() {
            HirKind::Empty => {}
            HirKind::Literal(l) => {
                let at = u32::try_from(self.bytes.len()).ok()?;
                self.bytes.extend_from_slice(&l.0);
                self.push(Inst::Lit {
                    at,
                    len: u32::try_from(l.0.len()).ok()?,
                })?;
            }
            HirKind::Class(_) => {
                let c = self.class(hir)?;
                self.push(Inst::Class(c))?;
            }
            HirKind::Look(look) => {
                let supported = matches!(
                    look,
                    Look::Start
                        | Look::End
                        | Look::StartLF
                        | Look::EndLF
                        | Look::StartCRLF
                        | Look::EndCRLF
                        | Look::WordAscii
                        | Look::WordAsciiNegate
                        | Look::WordStartAscii
                        | Look::WordEndAscii
                        | Look::WordStartHalfAscii
                        | Look::WordEndHalfAscii
                );
                if !supported {
                    return None;
                }
                self.push(Inst::Look(*look))?;
            }
            HirKind::Capture(c) => {
                let slot = c.index.checked_mul(2)?;
                self.push(Inst::Save(slot))?;
                self.compile(&c.sub)?;
                self.push(Inst::Save(slot + 1))?;
            }
            HirKind::Concat(subs) => {
                for s in subs {
                    self.compile(s)?;
                }
            }
            HirKind::Alternation(subs) => {
                // Split(a, next) a Jmp(end) next: Split(b, next2) b Jmp(end) … last
                let mut jumps = Vec::new();
                for (k, s) in subs.iter().enumerate() {
                    if k + 1 < subs.len() {
                        let split = self.push(Inst::Split(0, 0))?;
                        self.compile(s)?;
                        jumps.push(self.push(Inst::Jmp(0))?);
                        let next = self.pc();
                        self.insts[split as usize] = Inst::Split(split + 1, next);
                    } else {
                        self.compile(s)?;
                    }
                }
                let end = self.pc();
                for j in jumps {
                    self.insts[j as usize] = Inst::Jmp(end);
                }
            }
            HirKind::Repetition(r) => {
                // What can match empty repeats differently in a backtracker: leave it out.
                if r.sub.properties().minimum_len().is_none_or(|m| m == 0) {
                    return None;
                }
                if let Some(class) = self.class(&r.sub) {
                    self.push(Inst::Rep {
                        class,
                        min: r.min,
                        max: r.max.unwrap_or(u32::MAX),
                        greedy: r.greedy,
                        next: NONE,
                    })?;
                    return Some(());
                }
                // The general shape: the sub-pattern `min` times, then optional copies.
                if r.min > 32 || r.max.is_some_and(|m| m > 32) {
                    return None;
                }
                for _ in 0..r.min {
                    self.compile(&r.sub)?;
                }
                match r.max {
                    None => {
                        let split = self.push(Inst::Split(0, 0))?;
                        self.compile(&r.sub)?;
                        self.push(Inst::Jmp(split))?;
                        let out = self.pc();
                        self.insts[split as usize] = if r.greedy {
                            Inst::Split(split + 1, out)
                        } else {
                            Inst::Split(out, split + 1)
                        };
                    }
                    Some(max) => {
                        let mut splits = Vec::new();
                        for _ in r.min..max {
                            splits.push(self.push(Inst::Split(0, 0))?);
                            self.compile(&r.sub)?;
                        }
                        let out = self.pc();
                        for s in splits {
                            self.insts[s as usize] = if r.greedy {
                                Inst::Split(s + 1, out)
                            } else {
                                Inst::Split(out, s + 1)
                            };
                        }
                    }
                }
            }
        }
        Some(())
    }
}

impl Program {
    /// Compiles `hir` (parsed as the rules are: bytes, no Unicode), or `None` when it holds
    /// something this matcher does not run as the regex crate would.
    pub fn new(hir: &Hir, groups: usize) -> Option<Program> {
        let mut c = Compiler {
            insts: Vec::new(),
            bytes: Vec::new(),
            classes: Vec::new(),
        };
        c.push(Inst::Save(0))?;
        c.compile(hir)?;
        c.push(Inst::Save(1))?;
        c.push(Inst::Match)?;
        let anchored = hir.properties().look_set_prefix().contains(Look::Start);
        let first = first_bytes(&c.insts, &c.bytes, &c.classes, 0);
        for pc in 0..c.insts.len() {
            if let Inst::Rep { next, .. } = &c.insts[pc] {
                debug_assert_eq!(*next, NONE);
                let Some(set) = first_bytes(&c.insts, &c.bytes, &c.classes, pc as u32 + 1) else {
                    continue;
                };
                let at = match c.classes.iter().position(|k| *k == set) {
                    Some(at) => at,
                    None => {
                        c.classes.push(set);
                        c.classes.len() - 1
                    }
                };
                if let Inst::Rep { next, .. } = &mut c.insts[pc] {
                    *next = u32::try_from(at).ok()?;
                }
            }
        }
        Some(Program {
            first,
            insts: c.insts,
            bytes: c.bytes,
            classes: c.classes,
            anchored,
            slots: groups * 2,
        })
    }

    /// Capture slots a search fills (two per group).
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Searches `hay` for the leftmost-first match; fills `slots` (at least [`Self::slots`]
    /// long) on a match.
    pub fn search(&self, hay: &[u8], slots: &mut [usize]) -> Found {
        thread_local! {
            // One stack per thread, kept: a search should not cost an allocation.
            static STACK: std::cell::RefCell<Vec<Frame>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        STACK.with(|stack| {
            let Ok(mut stack) = stack.try_borrow_mut() else {
                return self.search_with(hay, slots, &mut Vec::new());
            };
            self.search_with(hay, slots, &mut stack)
        })
    }

    fn search_with(&self, hay: &[u8], slots: &mut [usize], stack: &mut Vec<Frame>) -> Found {
        let mut budget = STEP_BUDGET;
        let last = if self.anchored { 0 } else { hay.len() };
        for start in 0..=last {
            if let Some(first) = &self.first {
                if !hay.get(start).is_some_and(|&b| class_has(first, b)) {
                    continue;
                }
            }
            slots.iter_mut().for_each(|s| *s = usize::MAX);
            match self.run(hay, start, slots, stack, &mut budget) {
                Some(true) => return Found::Yes,
                Some(false) => {}
                None => return Found::GaveUp,
            }
        }
        Found::No
    }

    fn look(look: Look, hay: &[u8], at: usize) -> bool {
        let before = at.checked_sub(1).and_then(|i| hay.get(i)).copied();
        let after = hay.get(at).copied();
        let word_before = before.is_some_and(is_word);
        let word_after = after.is_some_and(is_word);
        match look {
            Look::Start => at == 0,
            Look::End => at == hay.len(),
            Look::StartLF => at == 0 || before == Some(b'\n'),
            Look::EndLF => at == hay.len() || after == Some(b'\n'),
            Look::StartCRLF => {
                at == 0 || before == Some(b'\n') || (before == Some(b'\r') && after != Some(b'\n'))
            }
            Look::EndCRLF => {
                at == hay.len() || after == Some(b'\r') || (after == Some(b'\n') && before != Some(b'\r'))
            }
            Look::WordAscii => word_before != word_after,
            Look::WordAsciiNegate => word_before == word_after,
            Look::WordStartAscii => !word_before && word_after,
            Look::WordEndAscii => word_before && !word_after,
            Look::WordStartHalfAscii => !word_before,
            Look::WordEndHalfAscii => !word_after,
            _ => false,
        }
    }

    /// Whether what follows a repetition may start at `at` (its first byte is in class `next`).
    fn may_follow(&self, hay: &[u8], at: usize, next: u32) -> bool {
        next == NONE
            || hay
                .get(at)
                .is_some_and(|&b| class_has(&self.classes[next as usize], b))
    }

    /// The first position of `lo..=hi` (from `hi` down when `down`, else from `lo` up) where
    /// what follows a repetition may start.
    fn stop(&self, hay: &[u8], lo: usize, hi: usize, next: u32, down: bool) -> Option<usize> {
        if next == NONE {
            return Some(if down { hi } else { lo });
        }
        if down {
            (lo..=hi).rev().find(|&at| self.may_follow(hay, at, next))
        } else {
            (lo..=hi).find(|&at| self.may_follow(hay, at, next))
        }
    }

    /// One backtracking run from `start`: `Some(found)`, or `None` when the budget ran out.
    fn run(
        &self,
        hay: &[u8],
        start: usize,
        slots: &mut [usize],
        stack: &mut Vec<Frame>,
        budget: &mut usize,
    ) -> Option<bool> {
        stack.clear();
        stack.push(Frame::Step { pc: 0, at: start });
        while let Some(frame) = stack.pop() {
            let (mut pc, mut at) = match frame {
                Frame::Step { pc, at } => (pc, at),
                Frame::Restore { slot, value } => {
                    slots[slot as usize] = value;
                    continue;
                }
                Frame::Greedy { pc, lo, at, next } => {
                    // The repetition gives back bytes until what follows can start.
                    let Some(at) = self.stop(hay, lo, at, next, true) else {
                        continue;
                    };
                    if at > lo {
                        stack.push(Frame::Greedy {
                            pc,
                            lo,
                            at: at - 1,
                            next,
                        });
                    }
                    (pc, at)
                }
                Frame::Lazy { pc, hi, at, next } => {
                    // The repetition takes bytes until what follows can start.
                    let Some(at) = self.stop(hay, at, hi, next, false) else {
                        continue;
                    };
                    if at < hi {
                        stack.push(Frame::Lazy {
                            pc,
                            hi,
                            at: at + 1,
                            next,
                        });
                    }
                    (pc, at)
                }
            };
            loop {
                *budget = budget.checked_sub(1)?;
                match self.insts[pc as usize] {
                    Inst::Lit { at: b, len } => {
                        let lit = &self.bytes[b as usize..(b + len) as usize];
                        if hay.get(at..at + lit.len()) != Some(lit) {
                            break;
                        }
                        at += lit.len();
                        pc += 1;
                    }
                    Inst::Class(c) => {
                        if !hay
                            .get(at)
                            .is_some_and(|&b| class_has(&self.classes[c as usize], b))
                        {
                            break;
                        }
                        at += 1;
                        pc += 1;
                    }
                    Inst::Rep {
                        class,
                        min,
                        max,
                        greedy,
                        next,
                    } => {
                        let class = &self.classes[class as usize];
                        let room = (hay.len() - at).min(max as usize);
                        let run = hay[at..at + room]
                            .iter()
                            .position(|&b| !class_has(class, b))
                            .unwrap_or(room);
                        *budget = budget.checked_sub(run / 8)?;
                        if run < min as usize {
                            break;
                        }
                        let (lo, hi) = (at + min as usize, at + run);
                        if greedy {
                            if hi > lo {
                                stack.push(Frame::Greedy {
                                    pc: pc + 1,
                                    lo,
                                    at: hi - 1,
                                    next,
                                });
                            }
                            at = hi;
                            if !self.may_follow(hay, at, next) {
                                break;
                            }
                        } else {
                            if hi > lo {
                                stack.push(Frame::Lazy {
                                    pc: pc + 1,
                                    hi,
                                    at: lo + 1,
                                    next,
                                });
                            }
                            at = lo;
                            if !self.may_follow(hay, at, next) {
                                break;
                            }
                        }
                        pc += 1;
                    }
                    Inst::Split(a, b) => {
                        stack.push(Frame::Step { pc: b, at });
                        pc = a;
                    }
                    Inst::Jmp(t) => pc = t,
                    Inst::Save(slot) => {
                        if let Some(s) = slots.get_mut(slot as usize) {
                            stack.push(Frame::Restore { slot, value: *s });
                            *s = at;
                        }
                        pc += 1;
                    }
                    Inst::Look(look) => {
                        if !Self::look(look, hay, at) {
                            break;
                        }
                        pc += 1;
                    }
                    Inst::Match => return Some(true),
                }
            }
        }
        Some(false)
    }
}

/// The bytes a match of the program from `start` can start with, or `None` if it can match empty.
fn first_bytes(insts: &[Inst], bytes: &[u8], classes: &[[u64; 4]], start: u32) -> Option<[u64; 4]> {
    let mut set = [0u64; 4];
    let mut seen = vec![false; insts.len()];
    let mut todo = vec![start];
    while let Some(pc) = todo.pop() {
        let Some(done) = seen.get_mut(pc as usize) else {
            continue;
        };
        if std::mem::replace(done, true) {
            continue;
        }
        match insts[pc as usize] {
            Inst::Lit { at, .. } => {
                let b = bytes[at as usize];
                set[usize::from(b >> 6)] |= 1 << (b & 63);
            }
            Inst::Class(c) => (0..4).for_each(|i| set[i] |= classes[c as usize][i]),
            Inst::Rep { class, min, .. } => {
                (0..4).for_each(|i| set[i] |= classes[class as usize][i]);
                if min == 0 {
                    todo.push(pc + 1);
                }
            }
            Inst::Split(a, b) => todo.extend([a, b]),
            Inst::Jmp(t) => todo.push(t),
            Inst::Save(_) | Inst::Look(_) => todo.push(pc + 1),
            Inst::Match => return None,
        }
    }
    Some(set)
}

#[derive(Debug, Clone, Copy)]
enum Frame {
    Step {
        pc: u32,
        at: usize,
    },
    Restore {
        slot: u32,
        value: usize,
    },
    /// A greedy repetition may still end at `at`, then at every position down to `lo`.
    Greedy {
        pc: u32,
        lo: usize,
        at: usize,
        next: u32,
    },
    /// A lazy repetition may still end at `at`, then at every position up to `hi`.
    Lazy {
        pc: u32,
        hi: usize,
        at: usize,
        next: u32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(p: &str) -> Hir {
        regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(p)
            .expect("pattern")
    }

    /// Both engines on one input: the same match and the same groups, or the program declines.
    fn same(pattern: &str, hay: &[u8]) {
        let hir = parse(pattern);
        let re = regex::bytes::RegexBuilder::new(pattern)
            .unicode(false)
            .build()
            .expect("regex");
        let Some(prog) = Program::new(&hir, re.captures_len()) else {
            panic!("{pattern}: not compiled");
        };
        let mut slots = vec![usize::MAX; prog.slots()];
        let got = match prog.search(hay, &mut slots) {
            Found::GaveUp => return,
            Found::No => None,
            Found::Yes => Some(
                (0..re.captures_len())
                    .map(|g| (slots[2 * g] != usize::MAX).then(|| (slots[2 * g], slots[2 * g + 1])))
                    .collect::<Vec<_>>(),
            ),
        };
        let want = re.captures(hay).map(|c| {
            (0..re.captures_len())
                .map(|g| c.get(g).map(|m| (m.start(), m.end())))
                .collect::<Vec<_>>()
        });
        assert_eq!(got, want, "{pattern} on {:?}", String::from_utf8_lossy(hay));
    }

    #[test]
    fn agrees_with_the_regex_crate() {
        let cases: &[(&str, &[&[u8]])] = &[
            (
                r"^Apache(?:/(\d[\w.]*))?(?: \(([^)]*)\))?",
                &[b"Apache/2.4.62 (Debian)", b"Apache", b"Apachex", b"xApache"],
            ),
            (
                r"(?i)server: *(\S+)",
                &[b"HTTP/1.1 200\r\nSERVER:  nginx\r\n", b"none"],
            ),
            (
                r"^220[ -](.*?) ESMTP(?: (\S+))?",
                &[b"220 mail ESMTP Exim 4.96", b"220-a ESMTP ESMTP x"],
            ),
            (r"(?m)^Version: (\d+)$", &[b"a\nVersion: 12\nb", b"Version: 1x"]),
            (r"\bfoo\b|bar+?", &[b"a foo b", b"foobar", b"barrr", b"xfoo"]),
            (r"(a|ab)(c|bcd)(d*)", &[b"abcd", b"abcdd"]),
            (r"^(?:x(\d)){2,3}y", &[b"x1x2y", b"x1x2x3y", b"x1y", b"x1x2x3x4y"]),
            (
                r"(?s)^HTTP/1\.[01] .*<title>([^<]*)</title>",
                &[
                    b"HTTP/1.1 200 OK\r\n\r\n<title>Hi</title>",
                    b"HTTP/1.0 404\n<title></title>",
                ],
            ),
            (r"(?R)^a$", &[b"a\r\n", b"a"]),
            (r"[\x80-\xff]+", &[b"ab\xc3\xa9c", b"abc"]),
            (r"(?:a|b)*?c", &[b"ababc", b"abab"]),
        ];
        for (p, hays) in cases {
            for h in *hays {
                same(p, h);
            }
        }
    }

    #[test]
    fn declines_what_it_would_run_differently() {
        for p in [r"(a*)*b", r"(a?)+", r"(?u:\b)x"] {
            let hir = parse(p);
            assert!(Program::new(&hir, 2).is_none(), "{p}");
        }
    }

    #[test]
    fn gives_up_rather_than_run_forever() {
        let p = r"^(?:a|a)*(?:a|a)*(?:a|a)*(?:a|a)*b";
        let prog = Program::new(&parse(p), 1).expect("compiled");
        let mut slots = vec![0; prog.slots()];
        assert!(matches!(prog.search(&[b'a'; 40], &mut slots), Found::GaveUp));
    }
}
