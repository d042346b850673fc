//! Field templates of fingerprint rules: `$1` or `${1}` inserts capture group 1, `${1:-text}`
//! inserts `text` when the group is absent or empty, `$$` is a literal dollar.
//! Inserted bytes are escaped, so a template never produces control characters.

use crate::escape::escape_bytes_into;

/// Literal template text with control characters escaped (a rule file is outside input too).
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                format!("\\x{:02x}", c as u32 & 0xff)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    /// A capture group, and the text (escaped already) when it is absent or empty.
    Group {
        index: usize,
        default: Option<String>,
    },
}

/// A parsed template, ready to expand against captures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses a template; the error says what is wrong and where.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(pos) = rest.find('$') {
            literal.push_str(&rest[..pos]);
            rest = &rest[pos + 1..];
            if let Some(after) = rest.strip_prefix('$') {
                literal.push('$');
                rest = after;
                continue;
            }
            let (index, default, after) = if let Some(inner) = rest.strip_prefix('{') {
                let end = inner
                    .find('}')
                    .ok_or_else(|| format!("unclosed '${{' in template '{text}'"))?;
                let body = &inner[..end];
                let (num, default) = match body.split_once(":-") {
                    Some((n, d)) => (n, Some(clean(d))),
                    None => (body, None),
                };
                let index = num.parse::<usize>().map_err(|_| {
                    format!("'${{{body}}}' in template '{text}': expected ${{N}} or ${{N:-default}}")
                })?;
                (index, default, &inner[end + 1..])
            } else {
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                if digits == 0 {
                    return Err(format!(
                        "'$' in template '{text}' must be followed by a group number, '{{' or '$'"
                    ));
                }
                let index = rest[..digits].parse::<usize>().map_err(|e| e.to_string())?;
                (index, None, &rest[digits..])
            };
            if index == 0 {
                return Err(format!("template '{text}' uses $0; groups start at 1"));
            }
            if !literal.is_empty() {
                pieces.push(Piece::Text(clean(&std::mem::take(&mut literal))));
            }
            pieces.push(Piece::Group { index, default });
            rest = after;
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(clean(&literal)));
        }
        Ok(Template { pieces })
    }

    /// The highest group number the template refers to (0 if none).
    pub fn max_group(&self) -> usize {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Group { index, .. } => *index,
                Piece::Text(_) => 0,
            })
            .max()
            .unwrap_or(0)
    }

    /// Expands against `group(i)`; whitespace is collapsed and trimmed. `None` when empty.
    pub fn expand<'a>(&self, group: impl Fn(usize) -> Option<&'a [u8]>) -> Option<String> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Group { index, default } => match group(*index).filter(|g| !g.is_empty()) {
                    Some(bytes) => escape_bytes_into(bytes, &mut out),
                    None => out.push_str(default.as_deref().unwrap_or("")),
                },
            }
        }
        // Most values have no whitespace to collapse: keep them as built.
        let tidy = out.is_ascii()
            && !out.starts_with(' ')
            && !out.ends_with(' ')
            && !out.contains("  ")
            && !out.bytes().any(|b| b.is_ascii_whitespace() && b != b' ');
        if tidy {
            return (!out.is_empty()).then_some(out);
        }
        let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
        (!collapsed.is_empty()).then_some(collapsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(t: &str, groups: &[&str]) -> Option<String> {
        Template::parse(t)
            .unwrap()
            .expand(|i| groups.get(i.wrapping_sub(1)).map(|g| g.as_bytes()))
    }

    #[test]
    fn groups_defaults_and_literals() {
        assert_eq!(expand("$1$2", &["9.2", "p1"]), Some("9.2p1".into()));
        assert_eq!(expand("protocol ${1}", &["2.0"]), Some("protocol 2.0".into()));
        assert_eq!(expand("cpe:x:${2:-*}:y", &["9.2"]), Some("cpe:x:*:y".into()));
        assert_eq!(expand("cpe:x:${2:-*}:y", &["9.2", ""]), Some("cpe:x:*:y".into()));
        assert_eq!(expand("$$5", &[]), Some("$5".into()));
        assert_eq!(expand("  $1  ", &[""]), None);
        assert_eq!(expand("a $1 b", &["x\x1b[0m"]), Some("a x\\x1b[0m b".into()));
        assert_eq!(
            expand("a $1 b", &["\u{ff}\x00\\"]),
            Some("a \\xc3\\xbf\\0\\\\ b".into())
        );
        assert_eq!(expand("${1:-\u{7} x}", &[]), Some("\\x07 x".into()));
        assert_eq!(expand("a\u{a0} $1", &["b"]), Some("a b".into()));
        assert_eq!(Template::parse("$3 ${7:-x}").unwrap().max_group(), 7);
    }

    #[test]
    fn malformed_templates_are_errors() {
        assert!(Template::parse("${1").unwrap_err().contains("unclosed"));
        assert!(Template::parse("$x").unwrap_err().contains("must be followed"));
        assert!(Template::parse("${a}").unwrap_err().contains("expected ${N}"));
        assert!(Template::parse("$0").unwrap_err().contains("groups start at 1"));
    }
}
