//! LDAPv3 answers to a root DSE search (RFC 4511 §4.5.2, BER per X.690 as RFC 4511 §5.1
//! restricts it): SearchResultEntry attributes named in RFC 4512 §5.1 (namingContexts,
//! supportedLDAPVersion), RFC 3045 (vendorName, vendorVersion) and by Active Directory
//! (MS-ADTS §3.1.1.3.2: domainFunctionality, forestFunctionality …), and the result code of
//! SearchResultDone or any other response.

use super::{capped, joined, num, Fields, Reader};

/// Most messages, attributes and values read.
const MAX_MESSAGES: usize = 8;
const MAX_ATTRS: usize = 64;
const MAX_VALUES: usize = 64;

use super::ber as element;

/// Field name for a root DSE attribute (matched case-insensitively, RFC 4512 §2.5).
fn field_of(attr: &[u8]) -> Option<&'static str> {
    const NAMES: &[(&str, &str)] = &[
        ("vendorname", "ldap.vendor_name"),
        ("vendorversion", "ldap.vendor_version"),
        ("namingcontexts", "ldap.naming_contexts"),
        ("supportedldapversion", "ldap.supported_ldap_version"),
        ("domainfunctionality", "ldap.domain_functionality"),
        ("forestfunctionality", "ldap.forest_functionality"),
        ("domaincontrollerfunctionality", "ldap.dc_functionality"),
        ("objectclass", "ldap.object_class"),
        ("structuralobjectclass", "ldap.object_class"),
        ("dnshostname", "ldap.dns_host_name"),
        ("defaultnamingcontext", "ldap.default_naming_context"),
        ("servername", "ldap.server_name"),
    ];
    NAMES
        .iter()
        .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(attr))
        .map(|(_, f)| *f)
}

/// Whether `b` starts like an LDAPMessage answering a request (a SEQUENCE holding an INTEGER
/// message ID and an [APPLICATION n] response).
pub fn looks_like(b: &[u8]) -> bool {
    let mut r = Reader::new(b);
    let Some(0x30) = r.u8() else { return false };
    let Some(first) = r.u8() else { return false };
    if first > 0x84 || first == 0x80 {
        return false;
    }
    if first & 0x80 != 0 && r.take(usize::from(first & 0x7f)).is_none() {
        return false;
    }
    matches!(
        (r.u8(), r.u8(), r.take(1), r.u8()),
        (Some(0x02), Some(1..=4), Some(_), Some(0x61 | 0x64 | 0x65 | 0x78))
    )
}

pub fn decode(b: &[u8]) -> Option<Fields> {
    if !looks_like(b) {
        return None;
    }
    let mut fields = Fields::new();
    let mut r = Reader::new(b);
    for _ in 0..MAX_MESSAGES {
        let Some((0x30, msg)) = element(&mut r) else { break };
        let mut m = Reader::new(msg);
        let Some((0x02, _id)) = element(&mut m) else { break };
        let Some((op, body)) = element(&mut m) else { break };
        match op {
            0x64 => entry(body, &mut fields),
            // Any LDAPResult (bind 0x61, search done 0x65, extended 0x78): resultCode first.
            0x61 | 0x65 | 0x78 => {
                let mut b = Reader::new(body);
                if let Some((0x0a, code)) = element(&mut b) {
                    let code = code.iter().take(4).fold(0u32, |n, &c| n << 8 | u32::from(c));
                    fields.push(("ldap.result_code", num(code)));
                    let _matched = element(&mut b);
                    if let Some((0x04, msg)) = element(&mut b).filter(|(_, m)| !m.is_empty()) {
                        fields.push(("ldap.diagnostic", capped(msg)));
                    }
                }
                break;
            }
            _ => break,
        }
    }
    (!fields.is_empty()).then_some(fields)
}

fn entry(body: &[u8], fields: &mut Fields) {
    let mut r = Reader::new(body);
    let Some((0x04, _dn)) = element(&mut r) else {
        return;
    };
    let Some((0x30, attrs)) = element(&mut r) else {
        return;
    };
    let mut a = Reader::new(attrs);
    for _ in 0..MAX_ATTRS {
        let Some((0x30, attr)) = element(&mut a) else {
            break;
        };
        let mut p = Reader::new(attr);
        let (Some((0x04, name)), Some((0x31, set))) = (element(&mut p), element(&mut p)) else {
            continue;
        };
        let Some(field) = field_of(name) else { continue };
        let mut s = Reader::new(set);
        let mut values = Vec::new();
        while values.len() < MAX_VALUES {
            let Some((0x04, v)) = element(&mut s) else { break };
            values.push(capped(v));
        }
        // Multi-valued attributes: naming contexts one per line, others space-separated.
        let sep = if field == "ldap.naming_contexts" {
            b'\n'
        } else {
            b' '
        };
        match fields.iter_mut().find(|(n, _)| *n == field) {
            Some((_, v)) => {
                let old = std::mem::take(v);
                *v = joined(std::iter::once(old).chain(values), sep);
            }
            None => fields.push((field, joined(values, sep))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DER of a root DSE entry and its SearchResultDone (RFC 4511 §4.5.2), short lengths.
    pub(crate) fn root_dse(attrs: &[(&str, &[&str])]) -> Vec<u8> {
        fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
            let mut v = vec![tag];
            if body.len() < 0x80 {
                v.push(body.len() as u8);
            } else {
                v.push(0x82);
                v.extend_from_slice(&(body.len() as u16).to_be_bytes());
            }
            v.extend_from_slice(body);
            v
        }
        let mut list = Vec::new();
        for (name, vals) in attrs {
            let set: Vec<u8> = vals.iter().flat_map(|v| tlv(0x04, v.as_bytes())).collect();
            let mut a = tlv(0x04, name.as_bytes());
            a.extend(tlv(0x31, &set));
            list.extend(tlv(0x30, &a));
        }
        let mut e = tlv(0x04, b"");
        e.extend(tlv(0x30, &list));
        let mut m = tlv(0x02, &[1]);
        m.extend(tlv(0x64, &e));
        let mut out = tlv(0x30, &m);
        out.extend_from_slice(b"\x30\x0c\x02\x01\x01\x65\x07\x0a\x01\x00\x04\x00\x04\x00");
        out
    }

    fn get<'a>(f: &'a Fields, n: &str) -> Option<&'a str> {
        f.iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| std::str::from_utf8(v).unwrap())
    }

    #[test]
    fn active_directory_root_dse() {
        let b = root_dse(&[
            ("domainFunctionality", &["7"]),
            ("forestFunctionality", &["7"]),
            ("domainControllerFunctionality", &["7"]),
            (
                "namingContexts",
                &["DC=corp,DC=example", "CN=Configuration,DC=corp,DC=example"],
            ),
            ("supportedLDAPVersion", &["3", "2"]),
            ("dnsHostName", &["dc01.corp.example"]),
        ]);
        let f = decode(&b).unwrap();
        assert_eq!(get(&f, "ldap.forest_functionality"), Some("7"));
        assert_eq!(get(&f, "ldap.dc_functionality"), Some("7"));
        assert_eq!(
            get(&f, "ldap.naming_contexts"),
            Some("DC=corp,DC=example\nCN=Configuration,DC=corp,DC=example")
        );
        assert_eq!(get(&f, "ldap.supported_ldap_version"), Some("3 2"));
        assert_eq!(get(&f, "ldap.dns_host_name"), Some("dc01.corp.example"));
        assert_eq!(get(&f, "ldap.result_code"), Some("0"));
        for cut in 0..b.len() {
            let _ = decode(&b[..cut]);
        }
    }

    #[test]
    fn refusal_and_not_ldap() {
        let f = decode(b"\x30\x0c\x02\x01\x01\x65\x07\x0a\x01\x20\x04\x00\x04\x00").unwrap();
        assert_eq!(get(&f, "ldap.result_code"), Some("32"));
        assert_eq!(decode(b"0 OK\r\n"), None);
        assert_eq!(decode(b"\x30\x80\x02\x01\x01\x65"), None);
    }
}

#[cfg(test)]
mod captured {
    use super::*;

    #[test]
    fn slapd_root_dse() {
        let b = include_bytes!("testdata/slapd-2.5.13-root-dse.bin");
        let f = decode(b).unwrap();
        let get = |n: &str| f.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_slice());
        assert_eq!(
            get("ldap.object_class"),
            Some(&b"top OpenLDAProotDSE OpenLDAProotDSE"[..])
        );
        assert_eq!(get("ldap.naming_contexts"), Some(&b"dc=testbed,dc=example"[..]));
        assert_eq!(get("ldap.supported_ldap_version"), Some(&b"3"[..]));
        assert_eq!(get("ldap.result_code"), Some(&b"0"[..]));
        assert_eq!(get("ldap.vendor_name"), None);
    }
}
