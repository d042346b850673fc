//! DNS responses over TCP (RFC 1035 §4.2.2: a 2-byte length before each message) or as one UDP
//! datagram (§4.2.1; mDNS legacy unicast answers, RFC 6762 §6.7, are the same format): answers
//! to CHAOS TXT queries for `version.bind` and `version.server` (the names servers answer with
//! their version, RFC 4892 §2), and PTR answers. Each message's header (§4.1.1: QR set, RCODE,
//! flags) and question are read; a TXT answer's strings (§3.3.14) become the field named after
//! the question. A TCP dialogue's answers come concatenated; each is found by its length. A
//! datagram has no length, so it is taken only when every section parses to its last byte.

use super::{capped, joined, Fields, Reader};

/// Most messages, answers and TXT strings read.
const MAX_MESSAGES: usize = 4;
const MAX_ANSWERS: usize = 8;
const MAX_STRINGS: usize = 16;
/// Most records of one section in a datagram (one with more is not decoded).
const MAX_RECORDS: u16 = 64;

/// RCODE names (RFC 1035 §4.1.1, RFC 6895 §2.3).
fn rcode(c: u8) -> String {
    match c {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        other => other.to_string(),
    }
}

/// Header flag names (RFC 1035 §4.1.1; AD and CD from RFC 4035 §3.2), space-separated.
fn flags(f: u16) -> Vec<u8> {
    const NAMES: [(u16, &str); 6] = [
        (0x0400, "aa"),
        (0x0200, "tc"),
        (0x0100, "rd"),
        (0x0080, "ra"),
        (0x0020, "ad"),
        (0x0010, "cd"),
    ];
    let names: Vec<&str> = NAMES
        .iter()
        .filter(|(b, _)| f & b != 0)
        .map(|(_, n)| *n)
        .collect();
    names.join(" ").into_bytes()
}

/// A domain name at `r` (labels, then maybe a compression pointer, RFC 1035 §4.1.4, followed
/// within `msg` at most 16 times), in lower case; `r` ends up after the name's own bytes.
fn name(msg: &[u8], r: &mut Reader) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur = *r;
    let mut jumped = false;
    let mut hops = 0;
    loop {
        let len = cur.u8()?;
        match len {
            0 => break,
            1..=63 => {
                if !out.is_empty() {
                    out.push(b'.');
                }
                out.extend(cur.take(usize::from(len))?.iter().map(u8::to_ascii_lowercase));
                if out.len() > 255 {
                    return None;
                }
            }
            0xc0..=0xff => {
                let at = usize::from(len & 0x3f) << 8 | usize::from(cur.u8()?);
                hops += 1;
                if hops > 16 || at >= msg.len() {
                    return None;
                }
                if !jumped {
                    r.pos = cur.pos;
                    jumped = true;
                }
                cur = Reader { buf: msg, pos: at };
            }
            _ => return None,
        }
    }
    if !jumped {
        r.pos = cur.pos;
    }
    Some(out)
}

/// The header of the message at `b` (after its length): ID, flags, and the four counts.
fn header(b: &[u8]) -> Option<(u16, u16, [u16; 4])> {
    let mut r = Reader::new(b);
    let id = r.u16_be()?;
    let flags = r.u16_be()?;
    let counts = [r.u16_be()?, r.u16_be()?, r.u16_be()?, r.u16_be()?];
    Some((id, flags, counts))
}

/// Whether `msg` (one message, no length prefix) is a response to a standard query (QR set,
/// opcode 0) with one question whose name parses.
fn response_with_question(msg: &[u8]) -> bool {
    let Some((_, flags, [qd, _, _, _])) = header(msg) else {
        return false;
    };
    let mut q = Reader { buf: msg, pos: 12 };
    flags & 0x8000 != 0
        && flags & 0x7800 == 0
        && qd == 1
        && name(msg, &mut q).is_some()
        && q.take(4).is_some()
}

/// Whether `b` starts like a DNS response over TCP: a whole first message, QR set, a standard
/// query (opcode 0), one question whose name parses.
fn looks_like_tcp(b: &[u8]) -> bool {
    let mut r = Reader::new(b);
    let Some(len) = r.u16_be() else { return false };
    let Some(msg) = r.take(usize::from(len)) else {
        return false;
    };
    response_with_question(msg)
}

/// Whether `b` is exactly one DNS response datagram: a response with one question, at most
/// [`MAX_RECORDS`] records per section, and every record (header, name, RDATA length) ending
/// within the datagram, the last one at its last byte.
fn is_datagram(b: &[u8]) -> bool {
    let Some((_, _, [qd, an, ns, ar])) = header(b) else {
        return false;
    };
    if !response_with_question(b) || [an, ns, ar].iter().any(|&c| c > MAX_RECORDS) {
        return false;
    }
    let mut r = Reader { buf: b, pos: 12 };
    for _ in 0..qd {
        if name(b, &mut r).is_none() || r.take(4).is_none() {
            return false;
        }
    }
    for _ in 0..(u32::from(an) + u32::from(ns) + u32::from(ar)) {
        let Some(rdlen) = name(b, &mut r).and_then(|_| r.take(8)).and_then(|_| r.u16_be()) else {
            return false;
        };
        if r.take(usize::from(rdlen)).is_none() {
            return false;
        }
    }
    r.rest().is_empty()
}

/// Whether `b` is a DNS response, over TCP or as one datagram.
pub fn looks_like(b: &[u8]) -> bool {
    looks_like_tcp(b) || is_datagram(b)
}

/// One message: its fields pushed; the question name decides the TXT field's name.
fn message(msg: &[u8], first: bool, fields: &mut Fields) -> Option<()> {
    let (_, f, [qd, an, ns, _]) = header(msg)?;
    if f & 0x8000 == 0 || qd != 1 {
        return None;
    }
    let mut r = Reader { buf: msg, pos: 12 };
    let qname = name(msg, &mut r)?;
    let (_qtype, _qclass) = (r.u16_be()?, r.u16_be()?);
    let (txt_field, rcode_field): (&'static str, &'static str) = match qname.as_slice() {
        b"version.bind" => ("dns.version_bind", "dns.version_bind_rcode"),
        b"version.server" => ("dns.version_server", "dns.version_server_rcode"),
        _ => ("dns.txt", "dns.txt_rcode"),
    };
    if first {
        fields.push(("dns.rcode", rcode((f & 0x0f) as u8).into_bytes()));
        fields.push(("dns.flags", flags(f)));
    }
    fields.push((rcode_field, rcode((f & 0x0f) as u8).into_bytes()));
    let mut txt = false;
    let mut ptr = Vec::new();
    for i in 0..(an.min(MAX_ANSWERS as u16) + ns.min(MAX_ANSWERS as u16)) {
        name(msg, &mut r)?;
        let (rtype, _class, ttl, rdlen) = (r.u16_be()?, r.u16_be()?, r.u32_be()?, r.u16_be()?);
        let start = r.pos;
        let rdata = r.take(usize::from(rdlen))?;
        if i < an && rtype == 16 && !txt {
            txt = true;
            // The character-strings of one TXT record are one text cut into pieces of at most
            // 255 bytes (RFC 7208 §3.3 reads them so too): joined without a separator.
            let mut t = Reader::new(rdata);
            let mut text = Vec::new();
            for _ in 0..MAX_STRINGS {
                let Some(n) = t.u8() else { break };
                text.extend_from_slice(t.take(usize::from(n)).unwrap_or_else(|| t.rest()));
            }
            fields.push((txt_field, capped(&text)));
            if first {
                fields.push(("dns.ttl", ttl.to_string().into_bytes()));
            }
        } else if i < an && rtype == 12 && first {
            // PTR (RFC 1035 §3.3.12): mDNS service enumeration (RFC 6763 §9) answers the
            // service types so.
            let mut p = Reader { buf: msg, pos: start };
            if let Some(target) = name(msg, &mut p) {
                ptr.push(capped(&target));
            }
        } else if i >= an && rtype == 6 && first {
            // An SOA in the authority section (a server that hides the answer but not its
            // zone): MNAME and RNAME.
            let mut s = Reader { buf: msg, pos: start };
            let (Some(mname), Some(rname)) = (name(msg, &mut s), name(msg, &mut s)) else {
                continue;
            };
            let mut v = mname;
            v.push(b' ');
            v.extend(rname);
            fields.push(("dns.authority_soa", capped(&v)));
        }
    }
    if !ptr.is_empty() {
        fields.push(("dns.ptr", joined(ptr, b'\n')));
    }
    Some(())
}

/// The fields of a DNS response over TCP (its first few messages) or of one datagram.
pub fn decode(b: &[u8]) -> Option<Fields> {
    let mut fields = Fields::new();
    if looks_like_tcp(b) {
        let mut r = Reader::new(b);
        for i in 0..MAX_MESSAGES {
            let Some(len) = r.u16_be() else { break };
            let Some(msg) = r.take(usize::from(len)) else {
                break;
            };
            if message(msg, i == 0, &mut fields).is_none() {
                break;
            }
        }
    } else if is_datagram(b) {
        message(b, true, &mut fields)?;
    }
    (!fields.is_empty()).then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIND: &[u8] = include_bytes!("testdata/named-9.18-version-bind-server.bin");
    const BIND_HIDDEN: &[u8] = include_bytes!("testdata/named-9.18-version-none.bin");
    const UNBOUND: &[u8] = include_bytes!("testdata/unbound-1.17-version-bind-server.bin");

    fn get<'a>(f: &'a Fields, n: &str) -> Option<&'a str> {
        f.iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| std::str::from_utf8(v).unwrap())
    }

    #[test]
    fn bind_answers_version_bind_only() {
        let f = decode(BIND).unwrap();
        assert_eq!(get(&f, "dns.rcode"), Some("NOERROR"));
        assert_eq!(get(&f, "dns.flags"), Some("aa"));
        assert_eq!(get(&f, "dns.version_bind"), Some("9.18.49-1~deb12u3-Debian"));
        assert_eq!(get(&f, "dns.ttl"), Some("0"));
        assert_eq!(get(&f, "dns.version_server_rcode"), Some("REFUSED"));
        assert_eq!(get(&f, "dns.version_server"), None);
        for cut in 0..BIND.len() {
            let _ = decode(&BIND[..cut]);
        }
    }

    #[test]
    fn hidden_version_leaves_the_zone_soa() {
        let f = decode(BIND_HIDDEN).unwrap();
        assert_eq!(get(&f, "dns.version_bind"), None);
        assert_eq!(
            get(&f, "dns.authority_soa"),
            Some("version.bind hostmaster.version.bind")
        );
        let f = decode(UNBOUND).unwrap();
        assert_eq!(get(&f, "dns.version_bind"), Some("unbound 1.17.1"));
        assert_eq!(get(&f, "dns.version_server"), Some("unbound 1.17.1"));
        assert_eq!(get(&f, "dns.flags"), Some("ra"));
    }

    #[test]
    fn queries_and_loops_are_not_answers() {
        // Our own query (QR clear) is not an answer.
        let q = b"\x00\x1ePP\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind\x00\x00\x10\x00\x03";
        assert_eq!(decode(q), None);
        // A compression pointer to itself ends, without an answer.
        let l = b"\x00\x12PP\x80\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x10\x00\x03";
        assert_eq!(decode(l), None);
    }

    #[test]
    fn one_datagram_without_a_length() {
        // As unbound 1.17.1 answers `version.bind CH TXT` over UDP (compressed owner name).
        let msg = b"pp\x84\x00\x00\x01\x00\x01\x00\x00\x00\x00\x07version\x04bind\x00\x00\x10\x00\x03\xc0\x0c\x00\x10\x00\x03\x00\x00\x00\x00\x00\x0f\x0eunbound 1.17.1";
        let f = decode(msg).unwrap();
        assert_eq!(get(&f, "dns.rcode"), Some("NOERROR"));
        assert_eq!(get(&f, "dns.flags"), Some("aa"));
        assert_eq!(get(&f, "dns.version_bind"), Some("unbound 1.17.1"));
        // One byte short or one too many: not a whole datagram.
        assert_eq!(decode(&msg[..msg.len() - 1]), None);
        let mut long = msg.to_vec();
        long.push(0);
        assert_eq!(decode(&long), None);
        for cut in 0..msg.len() {
            let _ = decode(&msg[..cut]);
        }
        // A refusal carries only the question.
        let refused = b"pp\x80\x05\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind\x00\x00\x10\x00\x03";
        let f = decode(refused).unwrap();
        assert_eq!(get(&f, "dns.rcode"), Some("REFUSED"));
        assert_eq!(get(&f, "dns.version_bind_rcode"), Some("REFUSED"));
        // Our own query (QR clear) is not an answer, over UDP either.
        assert_eq!(
            decode(b"pp\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind\x00\x00\x10\x00\x03"),
            None
        );
        // Counts beyond the bound are not decoded.
        let many = b"pp\x80\x00\x00\x01\xff\xff\x00\x00\x00\x00\x07version\x04bind\x00\x00\x10\x00\x03";
        assert_eq!(decode(many), None);
    }

    #[test]
    fn mdns_service_types_are_ptr_targets() {
        // RFC 6762 §6.7 legacy unicast answer to PTR _services._dns-sd._udp.local (RFC 6763 §9).
        let msg = b"pq\x84\x00\x00\x01\x00\x02\x00\x00\x00\x00\x09_services\x07_dns-sd\x04_udp\x05local\x00\x00\x0c\x00\x01\xc0\x0c\x00\x0c\x00\x01\x00\x00\x00\x0a\x00\x0c\x04_ssh\x04_tcp\xc0\x23\xc0\x0c\x00\x0c\x00\x01\x00\x00\x00\x0a\x00\x0c\x04_ipp\x04_tcp\xc0\x23";
        let f = decode(msg).unwrap();
        assert_eq!(get(&f, "dns.ptr"), Some("_ssh._tcp.local\n_ipp._tcp.local"));
        assert_eq!(get(&f, "dns.rcode"), Some("NOERROR"));
    }
}
