//! DCE/RPC connection-oriented PDUs (C706 §12.6, with MS-RPCE §2.2.2 extensions): the answer to
//! a bind — bind_ack (fragment sizes, association group, the secondary address, one result per
//! presentation context offered, with the bind time feature negotiation answer of MS-RPCE
//! §3.3.1.5.3) or bind_nak (the rejection reason) — or a fault.

use super::{capped, joined, num, Fields, Reader};

/// Most presentation context results read.
const MAX_RESULTS: usize = 16;

const NDR: [u8; 16] = *b"\x04\x5d\x88\x8a\xeb\x1c\xc9\x11\x9f\xe8\x08\x00\x2b\x10\x48\x60";
const NDR64: [u8; 16] = *b"\x33\x05\x71\x71\xba\xbe\x37\x49\x83\x19\xb5\xdb\xef\x9c\xcc\x36";

/// Whether `b` starts like a connection-oriented DCE/RPC answer: version 5.0, a bind_ack,
/// bind_nak, alter_context_resp or fault, a frag_length of at least a header.
pub fn looks_like(b: &[u8]) -> bool {
    b.len() >= 16
        && b[0] == 5
        && b[1] == 0
        && matches!(b[2], 3 | 12 | 13 | 15)
        && b[3] & 0x03 != 0
        && matches!(b[4], 0x00 | 0x10)
        && {
            let len = if b[4] == 0x10 {
                u16::from_le_bytes([b[8], b[9]])
            } else {
                u16::from_be_bytes([b[8], b[9]])
            };
            len >= 16
        }
}

/// A bind_nak reason (C706 §12.6.4.4 p_reject_reason_t, MS-RPCE §2.2.2.5).
fn reject_reason(r: u16) -> String {
    match r {
        0 => "reason-not-specified".into(),
        1 => "temporary-congestion".into(),
        2 => "local-limit-exceeded".into(),
        4 => "protocol-version-not-supported".into(),
        8 => "authentication-type-not-recognized".into(),
        9 => "invalid-checksum".into(),
        other => other.to_string(),
    }
}

pub fn decode(b: &[u8]) -> Option<Fields> {
    if !looks_like(b) {
        return None;
    }
    let little = b[4] == 0x10;
    let mut r = Reader::new(b);
    r.take(8)?;
    let u16_ = |r: &mut Reader| if little { r.u16_le() } else { r.u16_be() };
    let u32_ = |r: &mut Reader| if little { r.u32_le() } else { r.u32_be() };
    let frag = usize::from(u16_(&mut r)?);
    let (_auth_len, _call_id) = (u16_(&mut r)?, u32_(&mut r)?);
    let body = b.get(16..frag).unwrap_or(&b[16..]);
    let mut r = Reader::new(body);
    let mut fields = Fields::new();
    fields.push(("dcerpc.version", b"5.0".to_vec()));
    match b[2] {
        12 | 15 => {
            fields.push((
                "dcerpc.ptype",
                if b[2] == 12 {
                    "bind_ack"
                } else {
                    "alter_context_resp"
                }
                .into(),
            ));
            fields.push(("dcerpc.max_xmit", num(u16_(&mut r)?)));
            fields.push(("dcerpc.max_recv", num(u16_(&mut r)?)));
            fields.push((
                "dcerpc.assoc_group",
                format!("0x{:08x}", u32_(&mut r)?).into_bytes(),
            ));
            // port_any_t: a length (with the NUL) and the port spec, then 4-byte alignment
            // from the start of the PDU.
            let len = usize::from(u16_(&mut r)?);
            let spec = r.take(len)?;
            let spec = spec.strip_suffix(b"\0").unwrap_or(spec);
            fields.push(("dcerpc.secondary_address", capped(spec)));
            let pad = (4 - (16 + r.pos) % 4) % 4;
            r.take(pad)?;
            let n = usize::from(r.u8()?);
            r.take(3)?;
            let mut results = Vec::new();
            for _ in 0..n.min(MAX_RESULTS) {
                let (result, reason) = (u16_(&mut r)?, u16_(&mut r)?);
                let syntax = r.take(16)?;
                let _syntax_version = u32_(&mut r)?;
                let text: Vec<u8> = match result {
                    0 => {
                        let name: &[u8] = if syntax == NDR {
                            b"ndr"
                        } else if syntax == NDR64 {
                            b"ndr64"
                        } else {
                            b"other"
                        };
                        fields.push(("dcerpc.transfer_syntax", name.to_vec()));
                        b"acceptance".to_vec()
                    }
                    1 => b"user-rejection".to_vec(),
                    2 => b"provider-rejection".to_vec(),
                    3 => {
                        // MS-RPCE §2.2.2.14: the reason field holds the features the server
                        // supports.
                        fields.push((
                            "dcerpc.bind_time_features",
                            format!("0x{reason:04x}").into_bytes(),
                        ));
                        b"negotiate-ack".to_vec()
                    }
                    other => num(other),
                };
                results.push(text);
            }
            fields.push(("dcerpc.results", joined(results, b' ')));
        }
        13 => {
            fields.push(("dcerpc.ptype", b"bind_nak".to_vec()));
            fields.push(("dcerpc.reject_reason", reject_reason(u16_(&mut r)?).into_bytes()));
        }
        _ => {
            fields.push(("dcerpc.ptype", b"fault".to_vec()));
            let (_alloc, _ctx, _count, _reserved) = (u32_(&mut r)?, u16_(&mut r)?, r.u8()?, r.u8()?);
            fields.push((
                "dcerpc.fault_status",
                format!("0x{:08x}", u32_(&mut r)?).into_bytes(),
            ));
        }
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMBA: &[u8] = include_bytes!("testdata/samba-dcerpcd-4.17-epm-bind-ack.bin");

    fn get<'a>(f: &'a Fields, n: &str) -> Option<&'a str> {
        f.iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| std::str::from_utf8(v).unwrap())
    }

    #[test]
    fn samba_bind_ack() {
        let f = decode(SAMBA).unwrap();
        assert_eq!(get(&f, "dcerpc.ptype"), Some("bind_ack"));
        assert_eq!(get(&f, "dcerpc.max_xmit"), Some("4280"));
        assert_eq!(get(&f, "dcerpc.max_recv"), Some("4280"));
        assert_eq!(get(&f, "dcerpc.secondary_address"), Some("135"));
        assert_eq!(
            get(&f, "dcerpc.results"),
            Some("acceptance provider-rejection negotiate-ack")
        );
        assert_eq!(get(&f, "dcerpc.transfer_syntax"), Some("ndr"));
        assert_eq!(get(&f, "dcerpc.bind_time_features"), Some("0x0003"));
        for cut in 0..SAMBA.len() {
            let _ = decode(&SAMBA[..cut]);
        }
    }

    #[test]
    fn nak_and_not_rpc() {
        let nak = b"\x05\x00\x0d\x03\x10\x00\x00\x00\x18\x00\x00\x00\x01\x00\x00\x00\x04\x00\x01\x05\x00\x00\x00\x00";
        let f = decode(nak).unwrap();
        assert_eq!(get(&f, "dcerpc.ptype"), Some("bind_nak"));
        assert_eq!(
            get(&f, "dcerpc.reject_reason"),
            Some("protocol-version-not-supported")
        );
        // Our own bind (PTYPE 11) is not an answer.
        assert_eq!(
            decode(b"\x05\x00\x0b\x03\x10\x00\x00\x00\xa0\x00\x00\x00PPPP"),
            None
        );
    }
}
