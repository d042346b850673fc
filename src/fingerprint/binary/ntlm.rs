//! NTLMSSP CHALLENGE_MESSAGE (MS-NLMP §2.2.1.2): the server's OS version (§2.2.2.10 VERSION)
//! and the names in its target information (§2.2.2.1 AV_PAIR). Found by its signature
//! anywhere in the bytes given, so it reads a raw challenge or one wrapped in SPNEGO, SMB2,
//! HTTP or CredSSP alike.

use super::{num, utf16le, Fields, Reader};

const SIGNATURE: &[u8] = b"NTLMSSP\0";
const NEGOTIATE_VERSION: u32 = 0x0200_0000;
/// Most AV pairs read.
const MAX_PAIRS: usize = 32;

/// The fields of the first CHALLENGE_MESSAGE in `b`.
pub fn decode(b: &[u8]) -> Option<Fields> {
    let mut from = 0;
    // The first NTLMSSP message of type 2; a few tries at most.
    for _ in 0..8 {
        let at = from
            + b.get(from..)?
                .windows(SIGNATURE.len())
                .position(|w| w == SIGNATURE)?;
        let msg = &b[at..];
        if msg.get(8..12) == Some(&[2, 0, 0, 0]) {
            return challenge(msg);
        }
        from = at + 1;
    }
    None
}

/// A security buffer (length, max length, offset from the message start).
fn buffer<'a>(msg: &'a [u8], r: &mut Reader) -> Option<&'a [u8]> {
    let len = usize::from(r.u16_le()?);
    let _max = r.u16_le()?;
    let offset = usize::try_from(r.u32_le()?).ok()?;
    msg.get(offset..offset.checked_add(len)?)
}

fn challenge(msg: &[u8]) -> Option<Fields> {
    let mut r = Reader::new(msg);
    r.take(12)?;
    let target = buffer(msg, &mut r);
    let flags = r.u32_le()?;
    let _challenge = r.take(8)?;
    let _reserved = r.take(8)?;
    let mut fields = Fields::new();
    // A message that ends before the target info is an NTLMv1-era challenge: no names.
    let info = buffer(msg, &mut r);
    if flags & NEGOTIATE_VERSION != 0 {
        if let Some(v) = r.take(8) {
            let build = u16::from_le_bytes([v[2], v[3]]);
            fields.push((
                "ntlm.os_version",
                format!("{}.{}.{}", v[0], v[1], build).into_bytes(),
            ));
            fields.push(("ntlm.revision", num(v[7])));
        }
    }
    if let Some(t) = target.filter(|t| !t.is_empty()) {
        fields.push(("ntlm.target_name", utf16le(t)));
    }
    if let Some(info) = info {
        let mut r = Reader::new(info);
        for _ in 0..MAX_PAIRS {
            let (Some(id), Some(len)) = (r.u16_le(), r.u16_le()) else {
                break;
            };
            let Some(value) = r.take(usize::from(len)) else {
                break;
            };
            let name = match id {
                0 => break,
                1 => "ntlm.netbios_computer",
                2 => "ntlm.netbios_domain",
                3 => "ntlm.dns_computer",
                4 => "ntlm.dns_domain",
                5 => "ntlm.dns_tree",
                _ => continue,
            };
            if fields.iter().all(|(n, _)| *n != name) {
                fields.push((name, utf16le(value)));
            }
        }
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CHALLENGE_MESSAGE built field by field as MS-NLMP §2.2.1.2 lays it out.
    pub(crate) fn challenge_bytes(version: [u8; 8], pairs: &[(u16, &str)]) -> Vec<u8> {
        let u16s = |s: &str| s.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>();
        let target = u16s(pairs.iter().find(|p| p.0 == 2).map_or("", |p| p.1));
        let mut info = Vec::new();
        for (id, v) in pairs {
            let v = u16s(v);
            info.extend_from_slice(&id.to_le_bytes());
            info.extend_from_slice(&(v.len() as u16).to_le_bytes());
            info.extend_from_slice(&v);
        }
        info.extend_from_slice(&[0, 0, 0, 0]);
        let mut m = b"NTLMSSP\0\x02\0\0\0".to_vec();
        m.extend_from_slice(&(target.len() as u16).to_le_bytes());
        m.extend_from_slice(&(target.len() as u16).to_le_bytes());
        m.extend_from_slice(&56u32.to_le_bytes());
        m.extend_from_slice(&0xe28a_8215u32.to_le_bytes());
        m.extend_from_slice(&[0x11; 8]);
        m.extend_from_slice(&[0; 8]);
        m.extend_from_slice(&(info.len() as u16).to_le_bytes());
        m.extend_from_slice(&(info.len() as u16).to_le_bytes());
        m.extend_from_slice(&((56 + target.len()) as u32).to_le_bytes());
        m.extend_from_slice(&version);
        m.extend_from_slice(&target);
        m.extend_from_slice(&info);
        m
    }

    #[test]
    fn windows_server_2019_challenge() {
        let m = challenge_bytes(
            [10, 0, 0x63, 0x45, 0, 0, 0, 15],
            &[
                (2, "CORP"),
                (1, "DC01"),
                (4, "corp.example"),
                (3, "dc01.corp.example"),
                (5, "corp.example"),
            ],
        );
        let f = decode(&m).unwrap();
        let get = |n: &str| {
            f.iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        };
        assert_eq!(get("ntlm.os_version").as_deref(), Some("10.0.17763"));
        assert_eq!(get("ntlm.revision").as_deref(), Some("15"));
        assert_eq!(get("ntlm.target_name").as_deref(), Some("CORP"));
        assert_eq!(get("ntlm.netbios_domain").as_deref(), Some("CORP"));
        assert_eq!(get("ntlm.netbios_computer").as_deref(), Some("DC01"));
        assert_eq!(get("ntlm.dns_domain").as_deref(), Some("corp.example"));
        assert_eq!(get("ntlm.dns_computer").as_deref(), Some("dc01.corp.example"));
    }

    #[test]
    fn truncated_and_hostile() {
        let m = challenge_bytes([6, 1, 0xb1, 0x1d, 0, 0, 0, 15], &[(1, "X")]);
        for cut in 0..m.len() {
            let _ = decode(&m[..cut]);
        }
        assert_eq!(decode(b"NTLMSSP\0\x01\0\0\0"), None);
        let mut bad = m.clone();
        bad[44..48].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&bad).is_some());
    }
}
