//! MongoDB wire protocol replies ("MongoDB Wire Protocol" reference: standard message header,
//! OP_MSG 2013 with a kind-0 body section, legacy OP_REPLY 1): top-level string and number
//! elements of the first BSON document (BSON specification 1.1) — `version` and `gitVersion`
//! of buildInfo, `errmsg`/`codeName` of a refusal, `ok`.

use super::{capped, Fields, Reader};

/// Most BSON elements read.
const MAX_ELEMENTS: usize = 64;

/// Whether `b` starts with a message header of a reply opcode whose length fits.
pub fn looks_like(b: &[u8]) -> bool {
    let mut r = Reader::new(b);
    let (Some(len), Some(_), Some(_), Some(op)) = (r.u32_le(), r.u32_le(), r.u32_le(), r.u32_le()) else {
        return false;
    };
    (op == 2013 || op == 1) && (21..=48_000_000).contains(&len)
}

pub fn decode(b: &[u8]) -> Option<Fields> {
    if !looks_like(b) {
        return None;
    }
    let mut r = Reader::new(b);
    r.take(12)?;
    let doc = match r.u32_le()? {
        2013 => {
            let _flags = r.u32_le()?;
            let 0 = r.u8()? else { return None };
            r.rest()
        }
        _ => {
            r.take(4 + 8 + 4 + 4)?;
            r.rest()
        }
    };
    let mut fields = Fields::new();
    let mut d = Reader::new(doc);
    let total = usize::try_from(d.u32_le()?).ok()?;
    if total < 5 {
        return None;
    }
    // A document cut by the read cap is read as far as it goes.
    let mut e = Reader::new(doc.get(4..total.min(doc.len()))?);
    for _ in 0..MAX_ELEMENTS {
        let Some(kind) = e.u8() else { break };
        if kind == 0 {
            break;
        }
        let rest = e.rest();
        let Some(nul) = rest.iter().position(|&c| c == 0) else {
            break;
        };
        let name = &rest[..nul];
        e.take(nul + 1);
        let field = match name {
            b"version" => Some("mongodb.version"),
            b"gitVersion" => Some("mongodb.git_version"),
            b"allocator" => Some("mongodb.allocator"),
            b"errmsg" => Some("mongodb.errmsg"),
            b"codeName" => Some("mongodb.code_name"),
            b"ok" => Some("mongodb.ok"),
            b"maxWireVersion" => Some("mongodb.max_wire_version"),
            _ => None,
        };
        let value: Option<Vec<u8>> = match kind {
            0x01 => e.take(8).map(|v| {
                let f = f64::from_le_bytes(v.try_into().unwrap_or([0; 8]));
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    format!("{}", f as i64).into_bytes()
                } else {
                    format!("{f}").into_bytes()
                }
            }),
            0x02 | 0x0d | 0x0e => {
                let Some(len) = e.u32_le() else { break };
                let Some(s) = e.take(usize::try_from(len).unwrap_or(usize::MAX)) else {
                    break;
                };
                Some(capped(s.strip_suffix(b"\0").unwrap_or(s)))
            }
            0x03 | 0x04 => {
                let Some(len) = e.u32_le() else { break };
                let Some(_) = e.take(usize::try_from(len).unwrap_or(usize::MAX).saturating_sub(4)) else {
                    break;
                };
                None
            }
            0x05 => {
                let Some(len) = e.u32_le() else { break };
                let Some(_) = e.take(usize::try_from(len).unwrap_or(usize::MAX).saturating_add(1)) else {
                    break;
                };
                None
            }
            0x07 => e.take(12).map(|_| Vec::new()).filter(|_| false),
            0x08 => e.u8().map(|v| {
                if v == 0 {
                    b"false".to_vec()
                } else {
                    b"true".to_vec()
                }
            }),
            0x09 | 0x11 => e.take(8).map(|_| Vec::new()).filter(|_| false),
            0x0a | 0x06 | 0x7f | 0xff => None,
            0x10 => e.u32_le().map(|v| (v as i32).to_string().into_bytes()),
            0x12 => e.take(8).map(|v| {
                i64::from_le_bytes(v.try_into().unwrap_or([0; 8]))
                    .to_string()
                    .into_bytes()
            }),
            0x13 => e.take(16).map(|_| Vec::new()).filter(|_| false),
            _ => break,
        };
        if let (Some(f), Some(v)) = (field, value) {
            if fields.iter().all(|(n, _)| *n != f) {
                fields.push((f, v));
            }
        }
    }
    (!fields.is_empty()).then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An OP_MSG reply built per the wire protocol reference, body from buildInfo.
    pub(crate) fn reply(elements: &[u8]) -> Vec<u8> {
        let mut doc = ((elements.len() + 5) as u32).to_le_bytes().to_vec();
        doc.extend_from_slice(elements);
        doc.push(0);
        let mut m = ((16 + 4 + 1 + doc.len()) as u32).to_le_bytes().to_vec();
        m.extend_from_slice(b"\x11\x22\x00\x00PP\x00\x00\xdd\x07\x00\x00\x00\x00\x00\x00\x00");
        m.extend_from_slice(&doc);
        m
    }

    #[test]
    fn buildinfo() {
        let b = reply(b"\x02version\x00\x06\x00\x00\x007.0.4\x00\x02gitVersion\x00\x05\x00\x00\x00abcd\x00\x04versionArray\x00\x0c\x00\x00\x00\x10\x30\x00\x07\x00\x00\x00\x00\x01ok\x00\x00\x00\x00\x00\x00\x00\xf0\x3f");
        let f = decode(&b).unwrap();
        assert_eq!(f[0], ("mongodb.version", b"7.0.4".to_vec()));
        assert_eq!(f[1], ("mongodb.git_version", b"abcd".to_vec()));
        assert_eq!(f[2], ("mongodb.ok", b"1".to_vec()));
        for cut in 0..b.len() {
            let _ = decode(&b[..cut]);
        }
    }
}
