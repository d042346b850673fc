//! Cassandra's CQL native protocol (native_protocol_v4.spec §2 frame header, §4.1.3 OPTIONS,
//! §4.2.4 SUPPORTED, §4.2.1 ERROR): the SUPPORTED answer's string multimap — CQL versions,
//! compression algorithms, protocol versions and any vendor keys (ScyllaDB's `SCYLLA_*`) — or
//! the error a server sends when it does not speak the version asked for.

use super::{capped, joined, num, Fields, Reader};

/// Most multimap entries, and values per entry, read.
const MAX_ENTRIES: usize = 64;

/// Whether `b` starts with a response frame header (direction bit set, protocol 1 to 6) of
/// opcode SUPPORTED (6) or ERROR (0) whose body length is plausible.
pub fn looks_like(b: &[u8]) -> bool {
    let Some(h) = b.get(..9) else { return false };
    let len = u32::from_be_bytes([h[5], h[6], h[7], h[8]]);
    (0x81..=0x86).contains(&h[0])
        && h[1] & !0x1f == 0
        && matches!(h[4], 0 | 6)
        && (4..=1 << 20).contains(&len)
}

pub fn decode(b: &[u8]) -> Option<Fields> {
    if !looks_like(b) {
        return None;
    }
    let mut r = Reader::new(b);
    let version = r.u8()? & 0x7f;
    r.take(3)?;
    let opcode = r.u8()?;
    let len = usize::try_from(r.u32_be()?).ok()?;
    let body = r.take(len.min(r.rest().len()))?;
    let mut r = Reader::new(body);
    let mut fields = Fields::new();
    fields.push(("cql.protocol", num(version)));
    if opcode == 0 {
        let code = r.u32_be()?;
        let len = usize::from(r.u16_be()?);
        let msg = r.take(len)?;
        if msg.is_empty() || !msg.iter().all(|&c| c >= 0x20 && c != 0x7f) {
            return None;
        }
        fields.push(("cql.error_code", format!("0x{code:04x}").into_bytes()));
        fields.push(("cql.error", capped(msg)));
        return Some(fields);
    }
    let n = usize::from(r.u16_be()?);
    if n == 0 || n > MAX_ENTRIES {
        return None;
    }
    let mut keys = Vec::new();
    for _ in 0..n {
        let Some(key) = string(&mut r) else { break };
        let Some(count) = r.u16_be() else { break };
        let mut values = Vec::new();
        for _ in 0..usize::from(count).min(MAX_ENTRIES) {
            let Some(v) = string(&mut r) else { break };
            values.push(v.to_vec());
        }
        let field = match key {
            b"CQL_VERSION" => Some("cql.versions"),
            b"COMPRESSION" => Some("cql.compression"),
            b"PROTOCOL_VERSIONS" => Some("cql.protocol_versions"),
            _ => None,
        };
        if let Some(f) = field {
            if fields.iter().all(|(k, _)| *k != f) {
                fields.push((f, joined(values, b' ')));
            }
        }
        keys.push(key.to_vec());
    }
    if keys.is_empty()
        || !keys
            .iter()
            .all(|k| !k.is_empty() && k.iter().all(u8::is_ascii_graphic))
    {
        return None;
    }
    fields.push(("cql.options", joined(keys, b' ')));
    Some(fields)
}

/// A `[string]`: a 2-byte length and that many bytes.
fn string<'a>(r: &mut Reader<'a>) -> Option<&'a [u8]> {
    let len = usize::from(r.u16_be()?);
    r.take(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SUPPORTED frame as native_protocol_v4.spec lays it out.
    pub(crate) fn supported(entries: &[(&str, &[&str])]) -> Vec<u8> {
        let s = |out: &mut Vec<u8>, v: &str| {
            out.extend_from_slice(&(v.len() as u16).to_be_bytes());
            out.extend_from_slice(v.as_bytes());
        };
        let mut body = (entries.len() as u16).to_be_bytes().to_vec();
        for (k, vs) in entries {
            s(&mut body, k);
            body.extend_from_slice(&(vs.len() as u16).to_be_bytes());
            for v in *vs {
                s(&mut body, v);
            }
        }
        let mut out = vec![0x84, 0, 0, 1, 6];
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend(body);
        out
    }

    #[test]
    fn supported_and_error() {
        let b = supported(&[
            ("PROTOCOL_VERSIONS", &["3/v3", "4/v4", "5/v5", "6/v6-beta"]),
            ("COMPRESSION", &["snappy", "lz4"]),
            ("CQL_VERSION", &["3.4.7"]),
        ]);
        let f = decode(&b).unwrap();
        let get = |n: &str| {
            f.iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        };
        assert_eq!(get("cql.protocol").as_deref(), Some("4"));
        assert_eq!(get("cql.versions").as_deref(), Some("3.4.7"));
        assert_eq!(get("cql.compression").as_deref(), Some("snappy lz4"));
        assert_eq!(
            get("cql.protocol_versions").as_deref(),
            Some("3/v3 4/v4 5/v5 6/v6-beta")
        );
        assert_eq!(
            get("cql.options").as_deref(),
            Some("PROTOCOL_VERSIONS COMPRESSION CQL_VERSION")
        );
        for cut in 0..b.len() {
            let _ = decode(&b[..cut]);
        }
        let msg = b"Invalid or unsupported protocol version (4); the lowest supported version is 5 and the greatest is 6";
        let mut e = vec![0x85, 0, 0, 1, 0];
        e.extend_from_slice(&((6 + msg.len()) as u32).to_be_bytes());
        e.extend_from_slice(&0x000au32.to_be_bytes());
        e.extend_from_slice(&(msg.len() as u16).to_be_bytes());
        e.extend_from_slice(msg);
        let f = decode(&e).unwrap();
        assert_eq!(f[1], ("cql.error_code", b"0x000a".to_vec()));
        assert_eq!(f[2].1, msg.to_vec());
        assert!(decode(b"\x04\x00\x00\x01\x05\x00\x00\x00\x00").is_none());
    }
}
