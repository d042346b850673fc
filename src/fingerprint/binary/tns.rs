//! Oracle TNS (Transparent Network Substrate), the listener's answer to a CONNECT packet: an
//! 8-byte header (packet length, packet checksum, type, flags, header checksum) and, by type,
//! ACCEPT (2: the protocol version agreed), REFUSE (4: reasons and a text such as
//! `(DESCRIPTION=(TMP=)(VSNNUM=318767104)(ERR=12514)…)`), REDIRECT (5: an address to go to)
//! or RESEND (11: send the CONNECT again; a dialogue does, and the next answer follows).
//! VSNNUM is the listener's version as one number: major in the top byte, then a 4-bit
//! maintenance release, an 8-bit application server release, a 4-bit component release and an
//! 8-bit platform release (0x13000000 is 19.0.0.0.0).

use super::{capped, num, Fields, Reader};

/// Most packets read.
const MAX_PACKETS: usize = 4;

/// Packet type names.
fn kind(t: u8) -> Option<&'static str> {
    Some(match t {
        2 => "accept",
        4 => "refuse",
        5 => "redirect",
        11 => "resend",
        _ => return None,
    })
}

/// Whether `b` starts like a TNS answer: a header with a sane length, zero checksums, and one
/// of the types a listener answers a CONNECT with.
pub fn looks_like(b: &[u8]) -> bool {
    b.len() >= 8
        && usize::from(u16::from_be_bytes([b[0], b[1]])) >= 8
        && b[2..4] == [0, 0]
        && kind(b[4]).is_some()
        && b[6..8] == [0, 0]
}

/// The value of `(KEY=value)` in a TNS descriptor.
fn param<'a>(text: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let at = text.windows(key.len() + 2).position(|w| {
        w[0] == b'(' && w[1..=key.len()].eq_ignore_ascii_case(key) && w[key.len() + 1] == b'='
    })?;
    let rest = &text[at + key.len() + 2..];
    let end = rest.iter().position(|&c| c == b')').unwrap_or(rest.len());
    Some(&rest[..end])
}

/// VSNNUM as a dotted five-part version.
fn version(vsnnum: u32) -> String {
    format!(
        "{}.{}.{}.{}.{}",
        vsnnum >> 24,
        (vsnnum >> 20) & 0xf,
        (vsnnum >> 12) & 0xff,
        (vsnnum >> 8) & 0xf,
        vsnnum & 0xff
    )
}

pub fn decode(b: &[u8]) -> Option<Fields> {
    if !looks_like(b) {
        return None;
    }
    let mut fields = Fields::new();
    let mut r = Reader::new(b);
    for _ in 0..MAX_PACKETS {
        let start = r.pos;
        let Some(len) = r.u16_be() else { break };
        let len = usize::from(len);
        let (Some(_), Some(t), Some(_), Some(_)) = (r.u16_be(), r.u8(), r.u8(), r.u16_be()) else {
            break;
        };
        let Some(name) = kind(t).filter(|_| len >= 8) else {
            break;
        };
        // A packet cut by the read cap is read as far as it goes.
        let body = b.get(start + 8..start + len).unwrap_or_else(|| r.rest());
        r.pos = (start + len).min(b.len());
        if t == 11 {
            fields.push(("tns.resend", b"yes".to_vec()));
            continue;
        }
        fields.push(("tns.packet_type", name.into()));
        let mut p = Reader::new(body);
        let text = match t {
            2 => {
                if let Some(v) = p.u16_be() {
                    fields.push(("tns.version", num(v)));
                }
                None
            }
            4 => {
                let (_user, _system) = (p.u8(), p.u8());
                p.u16_be()
                    .map(|n| p.take(usize::from(n)).unwrap_or_else(|| p.rest()))
            }
            _ => p
                .u16_be()
                .map(|n| p.take(usize::from(n)).unwrap_or_else(|| p.rest())),
        };
        if let Some(text) = text {
            fields.push(("tns.data", capped(text)));
            if let Some(err) = param(text, b"ERR") {
                fields.push(("tns.error", capped(err)));
            }
            if let Some(n) =
                param(text, b"VSNNUM").and_then(|v| std::str::from_utf8(v).ok()?.parse::<u32>().ok())
            {
                fields.push(("tns.vsnnum", num(n)));
                fields.push(("tns.oracle_version", version(n).into_bytes()));
            }
        }
        break;
    }
    (!fields.is_empty()).then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(f: &'a Fields, n: &str) -> Option<&'a str> {
        f.iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| std::str::from_utf8(v).unwrap())
    }

    fn refuse(text: &[u8]) -> Vec<u8> {
        let mut p = ((12 + text.len()) as u16).to_be_bytes().to_vec();
        p.extend_from_slice(&[0, 0, 4, 0, 0, 0, 0x22, 0]);
        p.extend_from_slice(&(text.len() as u16).to_be_bytes());
        p.extend_from_slice(text);
        p
    }

    #[test]
    fn resend_then_refuse_with_version() {
        let mut b = b"\x00\x08\x00\x00\x0b\x00\x00\x00".to_vec();
        b.extend(refuse(
            b"(DESCRIPTION=(TMP=)(VSNNUM=318767104)(ERR=12514)(ERROR_STACK=(ERROR=(CODE=12514)(EMFI=4))))",
        ));
        let f = decode(&b).unwrap();
        assert_eq!(get(&f, "tns.resend"), Some("yes"));
        assert_eq!(get(&f, "tns.packet_type"), Some("refuse"));
        assert_eq!(get(&f, "tns.error"), Some("12514"));
        assert_eq!(get(&f, "tns.vsnnum"), Some("318767104"));
        assert_eq!(get(&f, "tns.oracle_version"), Some("19.0.0.0.0"));
        // 11.2.0.2.0 is 0x0b200200.
        assert_eq!(version(0x0b20_0200), "11.2.0.2.0");
        for cut in 0..b.len() {
            let _ = decode(&b[..cut]);
        }
    }

    #[test]
    fn accept_and_not_tns() {
        let f = decode(
            b"\x00\x20\x00\x00\x02\x00\x00\x00\x01\x3a\x0c\x41\x20\x00\xff\xff\x01\x00\x00\x00\x00\x20",
        )
        .unwrap();
        assert_eq!(get(&f, "tns.packet_type"), Some("accept"));
        assert_eq!(get(&f, "tns.version"), Some("314"));
        // Our own CONNECT (type 1) is not an answer.
        assert_eq!(decode(b"\x00\xb0\x00\x00\x01\x00\x00\x00\x01\x3a"), None);
    }
}
