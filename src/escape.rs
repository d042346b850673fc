//! Escaping for terminals: remote bytes never reach a terminal raw (`\x1b`, `\r`, `\xff`).
//!
//! One rule decides what may reach a terminal as is: printable ASCII (and, for display, newline
//! and tab). Every other byte is written as an escape, so C0/C1 controls, DEL, invalid UTF-8 and
//! every non-ASCII character (Unicode bidi overrides U+202A–U+202E and isolates U+2066–U+2069,
//! zero-width U+200B–U+200F among them) arrive as `\xNN` text.

use std::io::{self, Write};

/// May this byte reach a terminal as is? Printable ASCII only.
fn is_safe(b: u8) -> bool {
    (0x20..=0x7e).contains(&b)
}

/// Escapes bytes as printable ASCII: printable characters stay, `\\` doubles, and everything else
/// becomes `\n`, `\r`, `\t`, `\0` or `\xNN`. Never fails, never panics.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    escape_bytes_into(bytes, &mut out);
    out
}

/// [`escape_bytes`], appended to `out`.
pub fn escape_bytes_into(bytes: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0 => out.push_str("\\0"),
            b if is_safe(b) => out.push(b as char),
            _ => {
                out.push_str("\\x");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
        }
    }
}

/// Escapes bytes for display on a terminal: printable ASCII, newlines and tabs stay (backslash
/// too, so text escaped already passes unchanged), `\r` and everything else become `\r` and
/// `\xNN`. Used for `connect --escape`, and for every line portprobe prints that may carry
/// outside text (tables, `match`, messages on stderr).
pub fn escape_for_display(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    for &b in input {
        match b {
            b'\n' | b'\t' => out.push(b),
            b if is_safe(b) => out.push(b),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out
}

/// [`escape_for_display`] for text.
pub fn for_terminal(text: &str) -> String {
    String::from_utf8_lossy(&escape_for_display(text.as_bytes())).into_owned()
}

/// Prints `portprobe: MESSAGE` on stderr, escaped for the terminal.
pub fn say(message: impl std::fmt::Display) {
    eprintln!("portprobe: {}", for_terminal(&message.to_string()));
}

/// A writer that escapes everything written through it for the terminal (the last line of
/// defence of the table, `match` and audit text output: nothing raw gets past it).
pub struct TerminalSafe<W: Write>(pub W);

impl<W: Write> Write for TerminalSafe<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.iter().all(|&b| is_safe(b) || b == b'\n' || b == b'\t') {
            self.0.write_all(buf)?;
        } else {
            self.0.write_all(&escape_for_display(buf))?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Escapes a string that came from outside (a file, a DNS name, a server) for display.
pub fn escape_str(text: &str) -> String {
    escape_bytes(text.as_bytes())
}

/// Reverses [`escape_bytes`] (and accepts the same escapes written by hand, as in rule examples).
/// Returns `None` on a malformed escape.
pub fn unescape(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next()? {
            b'\\' => out.push(b'\\'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'0' => out.push(0),
            b'x' => {
                let hi = (bytes.next()? as char).to_digit(16)?;
                let lo = (bytes.next()? as char).to_digit(16)?;
                out.push((hi * 16 + lo) as u8);
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_bytes_are_escaped_and_round_trip() {
        let raw = b"SSH-2.0-x\r\n\x1b]0;pwned\x07\\\xff\x00";
        let shown = escape_bytes(raw);
        assert_eq!(shown, "SSH-2.0-x\\r\\n\\x1b]0;pwned\\x07\\\\\\xff\\0");
        assert!(shown.bytes().all(|b| (0x20..0x7f).contains(&b)));
        assert_eq!(unescape(&shown).unwrap(), raw.to_vec());
        let every: Vec<u8> = (0..=255).collect();
        assert_eq!(unescape(&escape_bytes(&every)).unwrap(), every);
    }

    #[test]
    fn display_escaping_covers_controls_bidi_and_zero_width() {
        assert_eq!(
            escape_for_display(b"ok\n\x1b[31m\r\xff\\x"),
            b"ok\n\\x1b[31m\\r\\xff\\x"
        );
        // U+202E (right-to-left override), U+2066 (isolate), U+200B (zero width), C1 CSI.
        let shown = for_terminal("a\u{202e}b\u{2066}c\u{200b}d\u{9b}e\u{7f}");
        assert_eq!(
            shown,
            "a\\xe2\\x80\\xaeb\\xe2\\x81\\xa6c\\xe2\\x80\\x8bd\\xc2\\x9be\\x7f"
        );
        // Text escaped once passes unchanged.
        let once = escape_bytes(b"\x1b]0;x\x07");
        assert_eq!(for_terminal(&once), once);
    }

    #[test]
    fn malformed_escapes_are_rejected() {
        assert_eq!(unescape("\\"), None);
        assert_eq!(unescape("\\x4"), None);
        assert_eq!(unescape("\\q"), None);
    }
}
