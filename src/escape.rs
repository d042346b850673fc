//! Escaping for terminals: remote bytes never reach a terminal raw (`\x1b`, `\r`, `\xff`).

/// Escapes bytes as printable ASCII: printable characters stay, `\\` doubles, and everything else
/// becomes `\n`, `\r`, `\t`, `\0` or `\xNN`. Never fails, never panics.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0 => out.push_str("\\0"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
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
    fn malformed_escapes_are_rejected() {
        assert_eq!(unescape("\\"), None);
        assert_eq!(unescape("\\x4"), None);
        assert_eq!(unescape("\\q"), None);
    }
}
