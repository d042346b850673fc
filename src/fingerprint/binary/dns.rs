//! DNS messages over UDP (RFC 1035 §4.1; mDNS legacy unicast answers, RFC 6762 §6.7, are the
//! same format): a response whose every section parses to the last byte. Gives the response
//! code, the first question, TXT strings (`version.bind` in class CHAOS) and PTR targets.

use super::{capped, joined, num, Fields, Reader};

/// Most records read per section (a response with more is not decoded).
const MAX_RECORDS: u16 = 64;

/// A domain name at `pos` (labels and compression pointers, RFC 1035 §4.1.4), in dotted form,
/// and the position after it in the message.
fn name(msg: &[u8], mut pos: usize) -> Option<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    let mut after = None;
    for _ in 0..128 {
        let len = *msg.get(pos)?;
        match len {
            0 => {
                return Some((out, after.unwrap_or(pos + 1)));
            }
            1..=63 => {
                let label = msg.get(pos + 1..pos + 1 + usize::from(len))?;
                if !out.is_empty() {
                    out.push(b'.');
                }
                out.extend_from_slice(label);
                if out.len() > 255 {
                    return None;
                }
                pos += 1 + usize::from(len);
            }
            0xc0..=0xff => {
                let low = *msg.get(pos + 1)?;
                after.get_or_insert(pos + 2);
                pos = (usize::from(len & 0x3f) << 8) | usize::from(low);
            }
            _ => return None,
        }
    }
    None
}

const RCODES: [&str; 11] = [
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET",
    "NOTAUTH", "NOTZONE",
];

pub fn decode(b: &[u8]) -> Option<Fields> {
    let mut r = Reader::new(b);
    let _id = r.u16_be()?;
    let flags = r.u16_be()?;
    let counts = [r.u16_be()?, r.u16_be()?, r.u16_be()?, r.u16_be()?];
    // A response (QR), opcode QUERY, at least one record, few of them.
    if flags & 0x8000 == 0 || (flags >> 11) & 0xf != 0 || counts.iter().all(|&c| c == 0) {
        return None;
    }
    if counts.iter().any(|&c| c > MAX_RECORDS) {
        return None;
    }
    let mut fields = Fields::new();
    let rcode = usize::from(flags & 0xf);
    fields.push((
        "dns.rcode",
        RCODES
            .get(rcode)
            .map_or_else(|| num(rcode), |s| s.as_bytes().to_vec()),
    ));
    let mut pos = 12;
    for i in 0..counts[0] {
        let (qname, next) = name(b, pos)?;
        b.get(next..next + 4)?;
        if i == 0 {
            fields.push(("dns.question", capped(&qname)));
        }
        pos = next + 4;
    }
    let (mut txt, mut ptr) = (Vec::new(), Vec::new());
    for _ in 0..(u32::from(counts[1]) + u32::from(counts[2]) + u32::from(counts[3])) {
        let (_, next) = name(b, pos)?;
        let mut rr = Reader { buf: b, pos: next };
        let rtype = rr.u16_be()?;
        let _class = rr.u16_be()?;
        let _ttl = rr.u32_be()?;
        let len = usize::from(rr.u16_be()?);
        let start = rr.pos;
        let rdata = rr.take(len)?;
        match rtype {
            16 => {
                // TXT: one or more <character-string>s (RFC 1035 §3.3.14).
                let mut t = Reader::new(rdata);
                while let Some(n) = t.u8() {
                    txt.push(capped(t.take(usize::from(n))?));
                }
            }
            12 => ptr.push(capped(&name(b, start)?.0)),
            _ => {}
        }
        pos = rr.pos;
    }
    if pos != b.len() {
        return None;
    }
    if !txt.is_empty() {
        fields.push(("dns.txt", joined(txt, b'\n')));
    }
    if !ptr.is_empty() {
        fields.push(("dns.ptr", joined(ptr, b'\n')));
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(f: &'a Fields, k: &str) -> Option<&'a [u8]> {
        f.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_slice())
    }

    #[test]
    fn version_bind_answer() {
        // As unbound 1.17.1 answers `version.bind CH TXT` (compressed owner name).
        let msg = b"pp\x84\x00\x00\x01\x00\x01\x00\x00\x00\x00\x07version\x04bind\x00\x00\x10\x00\x03\xc0\x0c\x00\x10\x00\x03\x00\x00\x00\x00\x00\x0f\x0eunbound 1.17.1";
        let f = decode(msg).unwrap();
        assert_eq!(get(&f, "dns.rcode"), Some(&b"NOERROR"[..]));
        assert_eq!(get(&f, "dns.question"), Some(&b"version.bind"[..]));
        assert_eq!(get(&f, "dns.txt"), Some(&b"unbound 1.17.1"[..]));
    }

    #[test]
    fn queries_truncations_and_loops_are_refused() {
        let query = b"pp\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind\x00\x00\x10\x00\x03";
        assert!(decode(query).is_none());
        let refused = b"pp\x80\x05\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind\x00\x00\x10\x00\x03";
        assert_eq!(get(&decode(refused).unwrap(), "dns.rcode"), Some(&b"REFUSED"[..]));
        assert!(decode(&refused[..refused.len() - 1]).is_none());
        let looped = b"pp\x80\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x10\x00\x03";
        assert!(decode(looped).is_none());
        assert!(decode(b"").is_none());
    }
}
