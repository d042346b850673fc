//! SNMP (RFC 1157, RFC 1901 community framing; RFC 3412/3414 for v3): a GetResponse gives the
//! version, the community it accepted and the first variable (sysDescr.0 names the system);
//! a v3 Report gives the authoritative engine ID, whose first four bytes name the
//! implementation's IANA enterprise number (RFC 3411 §5, SnmpEngineID).

use super::{capped, num, Fields};

/// A BER TLV at `b[pos..]`: (tag, content, position after it); definite lengths only.
fn tlv(b: &[u8], pos: usize) -> Option<(u8, &[u8], usize)> {
    let tag = *b.get(pos)?;
    let first = *b.get(pos + 1)?;
    let (len, start) = if first < 0x80 {
        (usize::from(first), pos + 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 3 {
            return None;
        }
        let bytes = b.get(pos + 2..pos + 2 + n)?;
        (
            bytes.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x)),
            pos + 2 + n,
        )
    };
    let end = start.checked_add(len)?;
    Some((tag, b.get(start..end)?, end))
}

fn int(content: &[u8]) -> Option<i64> {
    if content.is_empty() || content.len() > 8 {
        return None;
    }
    let mut v: i64 = if content[0] & 0x80 != 0 { -1 } else { 0 };
    for &c in content {
        v = (v << 8) | i64::from(c);
    }
    Some(v)
}

fn oid(content: &[u8]) -> Option<String> {
    let (&first, rest) = content.split_first()?;
    let mut parts = vec![u64::from(first / 40), u64::from(first % 40)];
    let mut acc: u64 = 0;
    for &c in rest {
        acc = acc.checked_mul(128)? | u64::from(c & 0x7f);
        if c & 0x80 == 0 {
            parts.push(acc);
            acc = 0;
        }
    }
    Some(parts.iter().map(u64::to_string).collect::<Vec<_>>().join("."))
}

const SYS_DESCR: &str = "1.3.6.1.2.1.1.1.0";

const ERRORS: [&str; 19] = [
    "noError",
    "tooBig",
    "noSuchName",
    "badValue",
    "readOnly",
    "genErr",
    "noAccess",
    "wrongType",
    "wrongLength",
    "wrongEncoding",
    "wrongValue",
    "noCreation",
    "inconsistentValue",
    "resourceUnavailable",
    "commitFailed",
    "undoFailed",
    "authorizationError",
    "notWritable",
    "inconsistentName",
];

pub fn decode(b: &[u8]) -> Option<Fields> {
    let (tag, msg, end) = tlv(b, 0)?;
    if tag != 0x30 || end != b.len() {
        return None;
    }
    let (vtag, version, pos) = tlv(msg, 0)?;
    if vtag != 0x02 {
        return None;
    }
    let mut fields = Fields::new();
    match int(version)? {
        v @ (0 | 1) => {
            let (ctag, community, pos) = tlv(msg, pos)?;
            let (ptag, pdu, after) = tlv(msg, pos)?;
            // GetResponse (0xa2) or Report (0xa8), and nothing after it.
            if ctag != 0x04 || !matches!(ptag, 0xa2 | 0xa8) || after != msg.len() {
                return None;
            }
            fields.push((
                "snmp.version",
                if v == 0 { b"1".to_vec() } else { b"2c".to_vec() },
            ));
            fields.push(("snmp.community", capped(community)));
            pdu_fields(pdu, &mut fields)?;
        }
        3 => {
            let (gtag, _, pos) = tlv(msg, pos)?;
            let (stag, sec, pos) = tlv(msg, pos)?;
            if gtag != 0x30 || stag != 0x04 {
                return None;
            }
            fields.push(("snmp.version", b"3".to_vec()));
            // UsmSecurityParameters: SEQUENCE { engineID, boots, time, user, auth, priv }.
            let (utag, usm, _) = tlv(sec, 0)?;
            if utag != 0x30 {
                return None;
            }
            let (etag, engine, p) = tlv(usm, 0)?;
            let (_, boots, p) = tlv(usm, p)?;
            let (_, time, _) = tlv(usm, p)?;
            if etag != 0x04 {
                return None;
            }
            if !engine.is_empty() {
                fields.push(("snmp.engine_id", hex::encode(engine).into_bytes()));
                if engine.len() >= 5 && engine[0] & 0x80 != 0 {
                    let enterprise = u32::from_be_bytes([engine[0] & 0x7f, engine[1], engine[2], engine[3]]);
                    fields.push(("snmp.engine_enterprise", num(enterprise)));
                }
            }
            fields.push(("snmp.engine_boots", num(int(boots)?)));
            fields.push(("snmp.engine_time", num(int(time)?)));
            // The scoped PDU, in clear text when the message is not encrypted: then it must be
            // a Response or a Report (a request is not an answer).
            if let Some((0x30, scoped, _)) = tlv(msg, pos) {
                let (_, _, p) = tlv(scoped, 0)?;
                let (_, _, p) = tlv(scoped, p)?;
                match tlv(scoped, p)? {
                    (0xa2 | 0xa8, pdu, _) => pdu_fields(pdu, &mut fields)?,
                    _ => return None,
                }
            }
        }
        _ => return None,
    }
    Some(fields)
}

/// request-id, error-status, error-index, then the variable bindings: the first OID and a
/// printable value; sysDescr.0 as its own field.
fn pdu_fields(pdu: &[u8], fields: &mut Fields) -> Option<()> {
    let (t1, _, p) = tlv(pdu, 0)?;
    let (t2, status, p) = tlv(pdu, p)?;
    let (t3, _, p) = tlv(pdu, p)?;
    let (t4, binds, _) = tlv(pdu, p)?;
    if (t1, t2, t3, t4) != (0x02, 0x02, 0x02, 0x30) {
        return None;
    }
    let status = int(status)?;
    let name = usize::try_from(status).ok().and_then(|s| ERRORS.get(s));
    fields.push((
        "snmp.error_status",
        name.map_or_else(|| num(status), |n| n.as_bytes().to_vec()),
    ));
    if let Some((0x30, bind, _)) = tlv(binds, 0) {
        let (otag, o, p) = tlv(bind, 0)?;
        let (vtag, value, _) = tlv(bind, p)?;
        if otag != 0x06 {
            return None;
        }
        let o = oid(o)?;
        // Only an OCTET STRING is text; NULL and the v2 exceptions (0x80-0x82) carry none.
        if vtag == 0x04 && o == SYS_DESCR {
            fields.push(("snmp.sysdescr", capped(value)));
        }
        fields.push(("snmp.oid", o.into_bytes()));
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(f: &'a Fields, k: &str) -> Option<&'a [u8]> {
        f.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_slice())
    }

    #[test]
    fn a_get_response_with_sysdescr() {
        let descr = b"Linux bed 6.1.0-28-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 x86_64";
        let mut bind = vec![0x06, 0x08, 0x2b, 6, 1, 2, 1, 1, 1, 0, 0x04, descr.len() as u8];
        bind.extend_from_slice(descr);
        let mut binds = vec![0x30, bind.len() as u8];
        binds.extend_from_slice(&bind);
        let mut list = vec![0x30, binds.len() as u8];
        list.extend_from_slice(&binds);
        let mut pdu = vec![0x02, 0x04, b'p', b'p', 0, 1, 0x02, 1, 0, 0x02, 1, 0];
        pdu.extend_from_slice(&list);
        let mut body = b"\x02\x01\x01\x04\x06public\xa2".to_vec();
        body.push(pdu.len() as u8);
        body.extend_from_slice(&pdu);
        let mut msg = vec![0x30, 0x81, body.len() as u8];
        msg.extend_from_slice(&body);
        let f = decode(&msg).unwrap();
        assert_eq!(get(&f, "snmp.version"), Some(&b"2c"[..]));
        assert_eq!(get(&f, "snmp.community"), Some(&b"public"[..]));
        assert_eq!(get(&f, "snmp.sysdescr"), Some(&descr[..]));
        assert_eq!(get(&f, "snmp.error_status"), Some(&b"noError"[..]));
        assert!(decode(&msg[..msg.len() - 1]).is_none());
        // Our own request (GetRequest, 0xa0) is not an answer.
        let mut req = msg.clone();
        req[3 + 11] = 0xa0;
        assert!(decode(&req).is_none());
    }

    #[test]
    fn junk_is_refused() {
        assert!(decode(b"").is_none());
        assert!(decode(b"\x30\x84\xff\xff\xff\xff").is_none());
        assert!(decode(b"\x30\x03\x02\x01\x09").is_none());
    }
}
