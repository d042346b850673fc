//! RDP connection start (MS-RDPBCGR §2.2.1.2): a TPKT (RFC 1006: version 3, length) holding an
//! X.224 Connection Confirm (X.224 §13.4, code 0xD0), whose variable part carries the server's
//! RDP Negotiation Response (§2.2.1.2.1: selected security protocol, flags) or Negotiation
//! Failure (§2.2.1.2.2: failure code); nothing there means a server older than RDP 5.2 or one
//! that ignored our request. Bytes after the first TPKT (a TLS alert …) are not read.

use super::{Fields, Reader};

/// Whether `b` starts with a TPKT holding an X.224 Connection Confirm.
pub fn looks_like(b: &[u8]) -> bool {
    b.len() >= 11
        && b[0] == 3
        && b[1] == 0
        && usize::from(u16::from_be_bytes([b[2], b[3]])) >= 11
        // X.224 length indicator: the TPDU header after this byte (TPKT length − 5).
        && usize::from(b[4]) + 5 == usize::from(u16::from_be_bytes([b[2], b[3]]))
        && b[5] & 0xf0 == 0xd0
}

/// Security protocol names (MS-RDPBCGR §2.2.1.2.1 selectedProtocol).
fn protocol(p: u32) -> String {
    match p {
        0 => "rdp".into(),
        1 => "ssl".into(),
        2 => "hybrid".into(),
        4 => "rdstls".into(),
        8 => "hybrid-ex".into(),
        0x10 => "rdsaad".into(),
        other => format!("0x{other:08x}"),
    }
}

/// Negotiation response flag names (§2.2.1.2.1), in bit order, space-separated.
fn flags(f: u8) -> Vec<u8> {
    const NAMES: [&str; 5] = [
        "extended-client-data",
        "dynvc-gfx",
        "reserved",
        "restricted-admin",
        "redirected-auth",
    ];
    let mut out: Vec<String> = NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| f & (1 << i) != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    if f & 0xe0 != 0 {
        out.push(format!("0x{:02x}", f & 0xe0));
    }
    out.join(" ").into_bytes()
}

/// Failure code names (§2.2.1.2.2).
fn failure(code: u32) -> String {
    match code {
        1 => "ssl-required".into(),
        2 => "ssl-not-allowed".into(),
        3 => "ssl-cert-not-on-server".into(),
        4 => "inconsistent-flags".into(),
        5 => "hybrid-required".into(),
        6 => "ssl-with-user-auth-required".into(),
        other => format!("0x{other:08x}"),
    }
}

pub fn decode(b: &[u8]) -> Option<Fields> {
    if !looks_like(b) {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
    let tpdu = b.get(4..len).unwrap_or(&b[4..]);
    let mut r = Reader::new(tpdu);
    // LI, code, DST-REF, SRC-REF, class option.
    let (Some(_), Some(_), Some(_), Some(src), Some(_)) = (r.u8(), r.u8(), r.u16_be(), r.u16_be(), r.u8())
    else {
        return None;
    };
    let mut fields = Fields::new();
    fields.push(("rdp.source_ref", format!("0x{src:04x}").into_bytes()));
    let neg = r.rest();
    let mut n = Reader::new(neg);
    match (n.u8(), n.u8(), n.u16_le(), n.u32_le()) {
        (Some(2), Some(f), Some(8), Some(selected)) => {
            fields.push(("rdp.negotiation", b"response".to_vec()));
            fields.push(("rdp.selected_protocol", protocol(selected).into_bytes()));
            fields.push(("rdp.flags", flags(f)));
        }
        (Some(3), Some(_), Some(8), Some(code)) => {
            fields.push(("rdp.negotiation", b"failure".to_vec()));
            fields.push(("rdp.failure_code", failure(code).into_bytes()));
        }
        _ if neg.is_empty() => fields.push(("rdp.negotiation", b"none".to_vec())),
        _ => fields.push(("rdp.negotiation", b"malformed".to_vec())),
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    const XRDP: &[u8] = include_bytes!("testdata/xrdp-0.9.21-connection-confirm.bin");

    fn get<'a>(f: &'a Fields, n: &str) -> Option<&'a str> {
        f.iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| std::str::from_utf8(v).unwrap())
    }

    #[test]
    fn xrdp_selects_tls() {
        let f = decode(XRDP).unwrap();
        assert_eq!(get(&f, "rdp.source_ref"), Some("0x1234"));
        assert_eq!(get(&f, "rdp.negotiation"), Some("response"));
        assert_eq!(get(&f, "rdp.selected_protocol"), Some("ssl"));
        assert_eq!(get(&f, "rdp.flags"), Some("extended-client-data"));
        for cut in 0..XRDP.len() {
            let _ = decode(&XRDP[..cut]);
        }
    }

    #[test]
    fn failure_and_legacy_and_flags() {
        // MS-RDPBCGR §2.2.1.2.2: HYBRID_REQUIRED_BY_SERVER.
        let f =
            decode(b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x03\x00\x08\x00\x05\x00\x00\x00").unwrap();
        assert_eq!(get(&f, "rdp.negotiation"), Some("failure"));
        assert_eq!(get(&f, "rdp.failure_code"), Some("hybrid-required"));
        let f = decode(b"\x03\x00\x00\x0b\x06\xd0\x00\x00\x12\x34\x00").unwrap();
        assert_eq!(get(&f, "rdp.negotiation"), Some("none"));
        let f =
            decode(b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\xff\x08\x00\x02\x00\x00\x00").unwrap();
        assert_eq!(get(&f, "rdp.selected_protocol"), Some("hybrid"));
        assert_eq!(
            get(&f, "rdp.flags"),
            Some("extended-client-data dynvc-gfx reserved restricted-admin redirected-auth 0xe0")
        );
        // Our own Connection Request (0xE0) is not a confirm.
        assert_eq!(
            decode(b"\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x03\x00\x00\x00"),
            None
        );
    }
}
