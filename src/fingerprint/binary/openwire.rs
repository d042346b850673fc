//! ActiveMQ OpenWire's WireFormatInfo, which a broker sends as soon as a client connects
//! (ActiveMQ OpenWire specification: size prefix, command type 1, the 8-byte magic
//! `ActiveMQ`, the wire format version, then a marshalled properties map whose value types
//! are ActiveMQ's MarshallingSupport codes): `ProviderName`, `ProviderVersion`,
//! `PlatformDetails` and the negotiation options.

use super::{capped, joined, num, Fields, Reader, MAX_LIST};

/// WireFormatInfo's command type.
const WIREFORMAT_INFO: u8 = 1;
/// Most map entries read.
const MAX_ENTRIES: usize = 64;

pub fn decode(b: &[u8]) -> Option<Fields> {
    let mut r = Reader::new(b);
    let size = usize::try_from(r.u32_be()?).ok()?;
    if !(13..=1 << 20).contains(&size) || r.u8()? != WIREFORMAT_INFO || r.take(8)? != b"ActiveMQ" {
        return None;
    }
    let version = r.u32_be()?;
    if version > 1000 {
        return None;
    }
    let mut fields = Fields::new();
    fields.push(("openwire.version", num(version)));
    // Loose encoding: a not-null flag, then the byte array of the marshalled map.
    if r.u8() != Some(1) {
        return Some(fields);
    }
    let Some(len) = r.u32_be().and_then(|l| usize::try_from(l).ok()) else {
        return Some(fields);
    };
    let map = r.take(len.min(r.rest().len()))?;
    let mut m = Reader::new(map);
    let count = m.u32_be().unwrap_or(0) as usize;
    let mut options = Vec::new();
    for _ in 0..count.min(MAX_ENTRIES) {
        let Some(key) = m.u16_be().and_then(|n| m.take(usize::from(n))) else {
            break;
        };
        let Some(value) = value(&mut m) else { break };
        let field = match key {
            b"ProviderName" => Some("openwire.provider_name"),
            b"ProviderVersion" => Some("openwire.provider_version"),
            b"PlatformDetails" => Some("openwire.platform_details"),
            _ => None,
        };
        match field {
            Some(f) => fields.push((f, capped(&value))),
            None if options.len() < MAX_LIST => {
                let mut o = capped(key);
                o.push(b'=');
                o.extend_from_slice(&value);
                options.push(o);
            }
            None => {}
        }
    }
    if !options.is_empty() {
        fields.push(("openwire.options", joined(options, b' ')));
    }
    Some(fields)
}

/// One typed map value as text (numbers in decimal, booleans `true`/`false`); `None` when
/// it cannot be read (and the rest of the map with it).
fn value(m: &mut Reader) -> Option<Vec<u8>> {
    let kind = m.u8()?;
    Some(match kind {
        0 => b"null".to_vec(),
        1 => (if m.u8()? != 0 { "true" } else { "false" }).as_bytes().to_vec(),
        2 => num(m.u8()?),
        3 | 4 => num(m.u16_be()?),
        5 => num(m.u32_be()? as i32),
        6 => {
            let b = m.take(8)?;
            num(i64::from_be_bytes(b.try_into().ok()?))
        }
        7 => {
            m.take(8)?;
            b"double".to_vec()
        }
        8 => {
            m.take(4)?;
            b"float".to_vec()
        }
        9 => {
            let n = usize::from(m.u16_be()?);
            capped(m.take(n)?)
        }
        10 | 13 => {
            let n = usize::try_from(m.u32_be()?).ok()?;
            let v = m.take(n)?;
            if kind == 13 {
                capped(v)
            } else {
                format!("{n} bytes").into_bytes()
            }
        }
        // Nested maps and lists do not occur in WireFormatInfo: stop reading.
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fingerprint::binary::field_text as get;

    #[test]
    fn wire_format_info() {
        let b = b"\x00\x00\x01\x1c\x01ActiveMQ\x00\x00\x00\x0c\x01\x00\x00\x00\x5e\x00\x00\x00\x04\x00\x0cCacheEnabled\x01\x01\x00\x0cProviderName\x09\x00\x08ActiveMQ\x00\x0fProviderVersion\x09\x00\x065.17.2\x00\x0cMaxFrameSize\x06\x00\x00\x00\x00\x06\x40\x00\x00";
        let f = decode(b).unwrap();
        assert_eq!(get(&f, "openwire.version").as_deref(), Some("12"));
        assert_eq!(get(&f, "openwire.provider_name").as_deref(), Some("ActiveMQ"));
        assert_eq!(get(&f, "openwire.provider_version").as_deref(), Some("5.17.2"));
        assert_eq!(
            get(&f, "openwire.options").as_deref(),
            Some("CacheEnabled=true MaxFrameSize=104857600")
        );
        for cut in 0..b.len() {
            let _ = decode(&b[..cut]);
        }
        assert!(decode(b"\x00\x00\x01\x1c\x02ActiveMQ\x00\x00\x00\x0c").is_none());
        assert!(decode(b"\x00\x00\x01\x1c\x01ActiveMX\x00\x00\x00\x0c").is_none());
    }
}
