//! X11 connection setup reply (X Window System Protocol, "Connection Setup"): the first byte
//! says Failed (0), Success (1) or Authenticate (2); then the protocol version and, on success,
//! the release number and vendor string; on failure, the reason. The byte order is the one the
//! client chose: our probe sends `l` (little-endian); `B` answers are read too.

use super::{capped, num, Fields, Reader};

/// Whether `b` starts like a setup reply to a little- or big-endian request for X11.0.
fn order(b: &[u8]) -> Option<bool> {
    if b.len() < 8 || b[0] > 2 {
        return None;
    }
    if b[2..6] == [11, 0, 0, 0] {
        Some(true) // little-endian
    } else if b[2..6] == [0, 11, 0, 0] {
        Some(false)
    } else {
        None
    }
}

pub fn looks_like(b: &[u8]) -> bool {
    order(b).is_some()
}

pub fn decode(b: &[u8]) -> Option<Fields> {
    let le = order(b)?;
    let u16_at = |r: &mut Reader| if le { r.u16_le() } else { r.u16_be() };
    let u32_at = |r: &mut Reader| if le { r.u32_le() } else { r.u32_be() };
    let mut r = Reader::new(b);
    let status = r.u8()?;
    let reason_len = usize::from(r.u8()?);
    let major = u16_at(&mut r)?;
    let minor = u16_at(&mut r)?;
    let _extra = u16_at(&mut r)?;
    let mut fields = Fields::new();
    fields.push(("x11.protocol", format!("{major}.{minor}").into_bytes()));
    let state: &[u8] = match status {
        0 => b"failed",
        1 => b"success",
        _ => b"authenticate",
    };
    fields.push(("x11.status", state.to_vec()));
    match status {
        1 => {
            let release = u32_at(&mut r)?;
            fields.push(("x11.release", num(release)));
            r.take(12)?; // resource-id base and mask, motion buffer size
            let vendor_len = usize::from(u16_at(&mut r)?);
            r.take(2 + 2 + 6 + 4)?; // max request length … max keycode, unused
            let vendor = r.take(vendor_len).unwrap_or_else(|| r.rest());
            fields.push(("x11.vendor", capped(vendor)));
        }
        0 => {
            let reason = r.take(reason_len).unwrap_or_else(|| r.rest());
            fields.push(("x11.reason", capped(reason)));
        }
        _ => {
            // Authenticate: the reason is padded to 4 bytes and its length is the extra words.
            let reason = r.rest();
            let end = reason.iter().position(|&c| c == 0).unwrap_or(reason.len());
            fields.push(("x11.reason", capped(&reason[..end])));
        }
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal() {
        let f = decode(b"\x00\x16\x0b\x00\x00\x00\x06\x00No protocol specified\n\x00\x00").unwrap();
        assert_eq!(f[0], ("x11.protocol", b"11.0".to_vec()));
        assert_eq!(f[1], ("x11.status", b"failed".to_vec()));
        assert_eq!(f[2], ("x11.reason", b"No protocol specified\n".to_vec()));
        assert_eq!(decode(b"\x03\x16\x0b\x00\x00\x00\x06\x00"), None);
        assert_eq!(decode(b"\x00\x16\x0c\x00\x00\x00\x06\x00"), None);
    }
}

#[cfg(test)]
mod captured {
    use super::*;

    #[test]
    fn xvfb_success_reply() {
        let b = include_bytes!("testdata/xvfb-21.1.7-setup-reply.bin");
        let f = decode(b).unwrap();
        assert_eq!(f[0], ("x11.protocol", b"11.0".to_vec()));
        assert_eq!(f[1], ("x11.status", b"success".to_vec()));
        assert_eq!(f[2], ("x11.release", b"12101007".to_vec()));
        assert_eq!(f[3], ("x11.vendor", b"The X.Org Foundation".to_vec()));
        for cut in 0..64 {
            let _ = decode(&b[..cut]);
        }
    }
}
