//! RFB (VNC, RFC 6143 §7.1): the server's ProtocolVersion line `RFB xxx.yyy\n`, then — once the
//! client answered with its own version — the security types it offers (§7.1.2: a count and
//! one byte each; version 3.3 servers send one 32-bit type, §7.1.2 / Appendix A), or a refusal
//! with its reason string.

use super::{capped, joined, num, Fields, Reader};

/// Whether `b` starts with an RFB ProtocolVersion line.
pub fn looks_like(b: &[u8]) -> bool {
    b.len() >= 12
        && b.starts_with(b"RFB ")
        && b[4..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'.'
        && b[8..11].iter().all(u8::is_ascii_digit)
        && b[11] == b'\n'
}

pub fn decode(b: &[u8]) -> Option<Fields> {
    if !looks_like(b) {
        return None;
    }
    let mut fields = Fields::new();
    fields.push(("rfb.version", b[4..11].to_vec()));
    let mut r = Reader::new(&b[12..]);
    let old = &b[4..11] == b"003.003";
    let types: Vec<u32> = if old {
        match r.u32_be() {
            Some(t) => vec![t],
            None => return Some(fields),
        }
    } else {
        match r.u8() {
            Some(n) => r
                .take(usize::from(n))
                .unwrap_or_else(|| r.rest())
                .iter()
                .map(|&t| u32::from(t))
                .collect(),
            None => return Some(fields),
        }
    };
    if types.is_empty() || types == [0] {
        // Refused: a reason string follows (§7.1.2).
        fields.push(("rfb.security_types", Vec::new()));
        if let Some(len) = r.u32_be() {
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            let reason = r.take(len).unwrap_or_else(|| r.rest());
            fields.push(("rfb.error", capped(reason)));
        }
    } else {
        fields.push(("rfb.security_types", joined(types.into_iter().map(num), b' ')));
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_and_types() {
        let f = decode(b"RFB 003.008\n\x02\x02\x10").unwrap();
        assert_eq!(
            f,
            vec![
                ("rfb.version", b"003.008".to_vec()),
                ("rfb.security_types", b"2 16".to_vec())
            ]
        );
        let f = decode(b"RFB 003.003\n\x00\x00\x00\x02").unwrap();
        assert_eq!(f[1], ("rfb.security_types", b"2".to_vec()));
        let f = decode(b"RFB 003.008\n\x00\x00\x00\x00\x0bToo many Xs").unwrap();
        assert_eq!(f[2], ("rfb.error", b"Too many Xs".to_vec()));
        let f = decode(b"RFB 003.889\n").unwrap();
        assert_eq!(f, vec![("rfb.version", b"003.889".to_vec())]);
        assert_eq!(decode(b"RFB 3.8\n"), None);
        assert_eq!(decode(b"RFB 003.008\n\xff").unwrap()[1].1, b"");
    }
}

#[cfg(test)]
mod captured {
    #[test]
    fn x11vnc_without_password() {
        let f = super::decode(include_bytes!("testdata/x11vnc-0.9.16-rfb.bin")).unwrap();
        assert_eq!(f[1], ("rfb.security_types", b"1".to_vec()));
    }
}
