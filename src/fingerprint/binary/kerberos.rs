//! Kerberos V5 over TCP (RFC 4120 §7.2.2: a 4-byte big-endian length before each message): the
//! KDC's answer to an AS-REQ, a KRB-ERROR (§5.9.1: [APPLICATION 30] with the error code, the
//! server's time, the realm and principal the error is about, an optional e-text) or, from a
//! KDC that hands out tickets without pre-authentication, an AS-REP (§5.4.2, [APPLICATION 11]).

use super::{ber, capped, joined, num, Fields, Reader};

/// Most name components read.
const MAX_NAMES: usize = 8;

/// Whether `b` starts like a Kerberos message over TCP: a length with the reserved high bit
/// clear, then a KRB-ERROR or AS-REP tag.
pub fn looks_like(b: &[u8]) -> bool {
    b.len() >= 6 && b[0] & 0x80 == 0 && matches!(b[4], 0x7e | 0x6b) && b[5] & 0x7f != 0
}

/// RFC 4120 §7.5.9 error code names (and RFC 6806's WRONG_REALM).
fn error_name(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "KDC_ERR_NONE",
        1 => "KDC_ERR_NAME_EXP",
        2 => "KDC_ERR_SERVICE_EXP",
        3 => "KDC_ERR_BAD_PVNO",
        6 => "KDC_ERR_C_PRINCIPAL_UNKNOWN",
        7 => "KDC_ERR_S_PRINCIPAL_UNKNOWN",
        8 => "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
        12 => "KDC_ERR_POLICY",
        13 => "KDC_ERR_BADOPTION",
        14 => "KDC_ERR_ETYPE_NOSUPP",
        16 => "KDC_ERR_PADATA_TYPE_NOSUPP",
        18 => "KDC_ERR_CLIENT_REVOKED",
        23 => "KDC_ERR_KEY_EXPIRED",
        24 => "KDC_ERR_PREAUTH_FAILED",
        25 => "KDC_ERR_PREAUTH_REQUIRED",
        29 => "KDC_ERR_SVC_UNAVAILABLE",
        37 => "KRB_AP_ERR_SKEW",
        41 => "KRB_AP_ERR_MODIFIED",
        60 => "KRB_ERR_GENERIC",
        61 => "KRB_ERR_FIELD_TOOLONG",
        68 => "KDC_ERR_WRONG_REALM",
        _ => return None,
    })
}

/// A DER INTEGER of at most 8 bytes.
fn integer(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 8 {
        return None;
    }
    let mut v: i64 = if b[0] & 0x80 != 0 { -1 } else { 0 };
    for &x in b {
        v = v << 8 | i64::from(x);
    }
    Some(v)
}

/// The contents of an explicitly tagged `[n] INNER` field.
fn inner(b: &[u8], want: u8) -> Option<&[u8]> {
    let mut r = Reader::new(b);
    match ber(&mut r)? {
        (tag, v) if tag == want => Some(v),
        _ => None,
    }
}

/// PrincipalName (§5.2.2): its name strings joined by '/'.
fn principal(b: &[u8]) -> Option<Vec<u8>> {
    let mut r = Reader::new(inner(b, 0x30)?);
    let mut names = Vec::new();
    while let Some((tag, v)) = ber(&mut r) {
        if tag == 0xa1 {
            let mut s = Reader::new(inner(v, 0x30)?);
            while let Some((0x1b, n)) = ber(&mut s) {
                names.push(capped(n));
                if names.len() == MAX_NAMES {
                    break;
                }
            }
        }
    }
    Some(joined(names, b'/'))
}

pub fn decode(b: &[u8]) -> Option<Fields> {
    if !looks_like(b) {
        return None;
    }
    let mut outer = Reader::new(&b[4..]);
    let (app, body) = ber(&mut outer)?;
    let mut r = Reader::new(inner(body, 0x30)?);
    let mut fields = Fields::new();
    if app == 0x6b {
        // AS-REP: KDC-REP { pvno [0], msg-type [1], padata [2], crealm [3], cname [4], … }.
        let (Some((0xa0, pvno)), Some((0xa1, kind))) = (ber(&mut r), ber(&mut r)) else {
            return None;
        };
        if inner(pvno, 0x02).and_then(integer) != Some(5) || inner(kind, 0x02).and_then(integer) != Some(11) {
            return None;
        }
        fields.push(("krb.msg_type", b"as-rep".to_vec()));
        while let Some((tag, v)) = ber(&mut r) {
            if tag == 0xa3 {
                fields.push(("krb.realm", capped(inner(v, 0x1b)?)));
            }
        }
        return Some(fields);
    }
    let mut seen_type = false;
    while let Some((tag, v)) = ber(&mut r) {
        match tag {
            0xa0 if inner(v, 0x02).and_then(integer) != Some(5) => return None,
            0xa1 => {
                if inner(v, 0x02).and_then(integer) != Some(30) {
                    return None;
                }
                seen_type = true;
                fields.push(("krb.msg_type", b"krb-error".to_vec()));
            }
            0xa4 => {
                if let Some(t) = inner(v, 0x18) {
                    fields.push(("krb.server_time", capped(t)));
                }
            }
            0xa6 => {
                let code = inner(v, 0x02).and_then(integer)?;
                fields.push(("krb.error_code", num(code)));
                if let Some(name) = error_name(code) {
                    fields.push(("krb.error_name", name.into()));
                }
            }
            0xa9 => fields.push(("krb.realm", capped(inner(v, 0x1b)?))),
            0xaa => {
                if let Some(p) = principal(v) {
                    fields.push(("krb.sname", p));
                }
            }
            0xab => fields.push(("krb.error_text", capped(inner(v, 0x1b)?))),
            _ => {}
        }
    }
    seen_type.then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIT: &[u8] = include_bytes!("testdata/krb5kdc-1.20-as-req-error.bin");

    fn get<'a>(f: &'a Fields, n: &str) -> Option<&'a str> {
        f.iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| std::str::from_utf8(v).unwrap())
    }

    #[test]
    fn mit_client_not_found() {
        let f = decode(MIT).unwrap();
        assert_eq!(get(&f, "krb.msg_type"), Some("krb-error"));
        assert_eq!(get(&f, "krb.error_code"), Some("6"));
        assert_eq!(get(&f, "krb.error_name"), Some("KDC_ERR_C_PRINCIPAL_UNKNOWN"));
        assert_eq!(get(&f, "krb.realm"), Some(""));
        assert_eq!(get(&f, "krb.sname"), Some("krbtgt/"));
        assert_eq!(get(&f, "krb.error_text"), Some("CLIENT_NOT_FOUND"));
        assert!(get(&f, "krb.server_time").is_some_and(|t| t.len() == 15 && t.ends_with('Z')));
        for cut in 0..MIT.len() {
            let _ = decode(&MIT[..cut]);
        }
    }

    #[test]
    fn not_kerberos() {
        // An AS-REQ ([APPLICATION 10]) is our own request, not an answer.
        assert_eq!(
            decode(b"\0\0\0\x10\x6a\x0e\x30\x0c\xa1\x03\x02\x01\x05\xa2\x03\x02\x01\x0a"),
            None
        );
        // pvno 4 is not Kerberos V5.
        assert_eq!(
            decode(b"\0\0\0\x10\x7e\x0e\x30\x0c\xa0\x03\x02\x01\x04\xa1\x03\x02\x01\x1e"),
            None
        );
        assert_eq!(integer(&[0xff]), Some(-1));
        // An AS-REP: pvno 5, msg-type 11, padata, crealm.
        let f = decode(
            b"\0\0\0\x17\x6b\x15\x30\x13\xa0\x03\x02\x01\x05\xa1\x03\x02\x01\x0b\xa3\x07\x1b\x05CORP.",
        )
        .unwrap();
        assert_eq!(get(&f, "krb.msg_type"), Some("as-rep"));
        assert_eq!(get(&f, "krb.realm"), Some("CORP."));
        assert_eq!(
            decode(
                b"\0\0\0\x17\x6b\x15\x30\x13\xa0\x03\x02\x01\x05\xa1\x03\x02\x01\x0c\xa3\x07\x1b\x05CORP."
            ),
            None
        );
    }
}
