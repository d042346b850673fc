//! Siemens S7comm over ISO-on-TCP (RFC 1006 TPKT, ISO 8073 COTP connection confirm and data
//! TPDUs; the S7 PDU as public protocol descriptions give it: protocol id 0x32, ROSCTR, setup
//! communication 0xF0, user data reads of system status lists): the negotiated PDU size, the
//! module's order number and firmware (SZL 0x0011), and its names, serial number and module
//! type (SZL 0x001C). Answers of a dialogue are read one TPKT after the other.

use super::{capped, num, Fields, Reader};

/// Most TPKTs read from one answer.
const MAX_FRAMES: usize = 16;
/// Most SZL records read from one list.
const MAX_RECORDS: usize = 32;

/// The text of a fixed-size SZL string: up to the first NUL, trailing spaces dropped.
fn text(b: &[u8]) -> Vec<u8> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let t = &b[..end];
    let end = t.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
    capped(&t[..end])
}

pub fn decode(b: &[u8]) -> Option<Fields> {
    let mut r = Reader::new(b);
    let mut fields = Fields::new();
    let mut s7_frames = 0;
    for n in 0..MAX_FRAMES {
        if r.rest().is_empty() {
            break;
        }
        // TPKT: version 3, reserved, length of the whole packet.
        let (Some(3), Some(0), Some(len)) = (r.u8(), r.u8(), r.u16_be()) else {
            return None;
        };
        let len = usize::from(len);
        if len < 7 {
            return None;
        }
        // A packet cut by the read cap is read as far as it goes, but only after the first.
        let tpdu = match r.take(len - 4) {
            Some(t) => t,
            None if n > 0 => {
                let t = r.rest();
                r.pos = r.buf.len();
                t
            }
            None => return None,
        };
        let mut t = Reader::new(tpdu);
        let li = usize::from(t.u8()?);
        let header = t.take(li)?;
        match header.first().map(|c| c & 0xf0) {
            Some(0xd0) if n == 0 => {
                // CC: dst-ref, src-ref, class, then parameters; an S7 CC names the TSAPs.
                let params = header.get(6..)?;
                if !has_tsap(params) {
                    return None;
                }
                fields.push(("s7.cotp", b"connection-confirm".to_vec()));
            }
            Some(0x80) if n == 0 => {
                fields.push(("s7.cotp", b"disconnect-request".to_vec()));
                return has_tsap(header.get(6..).unwrap_or_default()).then_some(fields);
            }
            Some(0xf0) => {
                if s7(t.rest(), &mut fields).is_some() {
                    s7_frames += 1;
                } else if n == 0 {
                    return None;
                }
            }
            _ if n == 0 => return None,
            _ => break,
        }
        if r.pos >= r.buf.len() {
            break;
        }
    }
    (!fields.is_empty() && (s7_frames > 0 || fields.iter().any(|f| f.0 == "s7.cotp"))).then_some(fields)
}

/// Whether COTP parameters hold a calling (0xC1) or called (0xC2) TSAP, as S7 connections do.
fn has_tsap(params: &[u8]) -> bool {
    let mut p = Reader::new(params);
    for _ in 0..8 {
        let (Some(code), Some(len)) = (p.u8(), p.u8()) else {
            return false;
        };
        if (code == 0xc1 || code == 0xc2) && len == 2 {
            return true;
        }
        if p.take(usize::from(len)).is_none() {
            return false;
        }
    }
    false
}

/// One S7 PDU: a setup communication answer, an error, or an SZL read answer.
fn s7(pdu: &[u8], fields: &mut Fields) -> Option<()> {
    let mut p = Reader::new(pdu);
    if p.u8()? != 0x32 {
        return None;
    }
    let rosctr = p.u8()?;
    p.take(4)?; // reserved, PDU reference
    let plen = usize::from(p.u16_be()?);
    let dlen = usize::from(p.u16_be()?);
    if !matches!(rosctr, 1 | 2 | 3 | 7) {
        return None;
    }
    if rosctr == 2 || rosctr == 3 {
        let (class, code) = (p.u8()?, p.u8()?);
        if class != 0 || code != 0 {
            fields.push((
                "s7.error",
                format!("class 0x{class:02x} code 0x{code:02x}").into_bytes(),
            ));
        }
    }
    let params = p.take(plen)?;
    let data = p.take(dlen.min(p.rest().len()))?;
    if rosctr == 3 && params.first() == Some(&0xf0) && params.len() >= 8 {
        let size = u16::from_be_bytes([params[6], params[7]]);
        fields.push(("s7.pdu_size", num(size)));
    }
    if rosctr == 7 {
        szl(params, data, fields);
    }
    Some(())
}

/// A user data answer to "read SZL" (function group 4, subfunction 1): the records of lists
/// 0x0011 and 0x001C.
fn szl(params: &[u8], data: &[u8], fields: &mut Fields) -> Option<()> {
    // Parameter head 00 01 12, length, method 0x12, type|group, subfunction.
    if params.len() < 8 || params[..3] != [0, 1, 0x12] || params[5] & 0x0f != 4 || params[6] != 1 {
        return None;
    }
    let mut d = Reader::new(data);
    if d.u8()? != 0xff {
        return None; // the PLC refused the read
    }
    let _transport = d.u8()?;
    let _len = d.u16_be()?;
    let id = d.u16_be()?;
    let _index = d.u16_be()?;
    let size = usize::from(d.u16_be()?);
    let count = usize::from(d.u16_be()?);
    if size < 2 {
        return None;
    }
    for _ in 0..count.min(MAX_RECORDS) {
        let Some(rec) = d.take(size) else { break };
        let index = u16::from_be_bytes([rec[0], rec[1]]);
        let body = &rec[2..];
        match (id & 0x00ff, index) {
            (0x11, 1) if body.len() >= 26 => {
                push_once(fields, "s7.order_number", text(&body[..20]));
                push_once(fields, "s7.module_version", version(&body[22..26]));
            }
            (0x11, 7) if body.len() >= 26 => {
                push_once(fields, "s7.firmware", version(&body[22..26]));
            }
            (0x1c, i) => {
                let name = match i {
                    1 => "s7.system_name",
                    2 => "s7.module_name",
                    3 => "s7.plant_id",
                    4 => "s7.copyright",
                    5 => "s7.serial",
                    7 => "s7.module_type",
                    _ => continue,
                };
                let t = text(body);
                if !t.is_empty() {
                    push_once(fields, name, t);
                }
            }
            _ => {}
        }
    }
    Some(())
}

/// Ausbg/Ausbe of an SZL 0x0011 record: `V` and three numbers (firmware), or a number.
fn version(b: &[u8]) -> Vec<u8> {
    if b[0] == b'V' {
        format!("V{}.{}.{}", b[1], b[2], b[3]).into_bytes()
    } else {
        num(u16::from_be_bytes([b[2], b[3]]))
    }
}

fn push_once(fields: &mut Fields, name: &'static str, value: Vec<u8>) {
    if fields.iter().all(|(n, _)| *n != name) {
        fields.push((name, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fingerprint::binary::field_text as get;

    fn tpkt(body: &[u8]) -> Vec<u8> {
        let mut out = vec![3, 0];
        out.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    fn szl_answer(id: u16, records: &[Vec<u8>]) -> Vec<u8> {
        let size = records.first().map_or(0, Vec::len) as u16;
        let mut data = vec![0xff, 0x09];
        let mut list = id.to_be_bytes().to_vec();
        list.extend_from_slice(&[0, 0]);
        list.extend_from_slice(&size.to_be_bytes());
        list.extend_from_slice(&(records.len() as u16).to_be_bytes());
        for r in records {
            list.extend_from_slice(r);
        }
        data.extend_from_slice(&(list.len() as u16).to_be_bytes());
        data.extend(list);
        let params = [0, 1, 0x12, 8, 0x12, 0x84, 1, 1, 0, 0, 0, 0];
        let mut pdu = vec![0x02, 0xf0, 0x80, 0x32, 7, 0, 0, 0, 1];
        pdu.extend_from_slice(&(params.len() as u16).to_be_bytes());
        pdu.extend_from_slice(&(data.len() as u16).to_be_bytes());
        pdu.extend_from_slice(&params);
        pdu.extend(data);
        tpkt(&pdu)
    }

    #[test]
    fn dialogue() {
        let mut b = tpkt(b"\x11\xd0\x00\x01\x00\x01\x00\xc0\x01\x0a\xc1\x02\x01\x00\xc2\x02\x01\x02");
        b.extend(tpkt(
            b"\x02\xf0\x80\x32\x03\x00\x00\x00\x00\x00\x08\x00\x00\x00\x00\xf0\x00\x00\x01\x00\x01\x00\xf0",
        ));
        let mut order = vec![0, 1];
        order.extend_from_slice(b"6ES7 315-2EH14-0AB0 ");
        order.extend_from_slice(&[0, 0xc0, 0, 4, 0, 1]);
        let mut fw = vec![0, 7];
        fw.extend_from_slice(&[b' '; 20]);
        fw.extend_from_slice(&[0, 0xc0, b'V', 3, 2, 6]);
        b.extend(szl_answer(0x0011, &[order, fw]));
        let rec = |i: u8, t: &str| {
            let mut r = vec![0, i];
            let mut s = t.as_bytes().to_vec();
            s.resize(32, 0);
            r.extend(s);
            r
        };
        b.extend(szl_answer(
            0x001c,
            &[
                rec(1, "SIMATIC 300(1)"),
                rec(2, "CPU 315-2 PN/DP"),
                rec(5, "S C-X4U421302009"),
                rec(7, "CPU 315-2 PN/DP"),
            ],
        ));
        let f = decode(&b).unwrap();
        assert_eq!(get(&f, "s7.cotp").as_deref(), Some("connection-confirm"));
        assert_eq!(get(&f, "s7.pdu_size").as_deref(), Some("240"));
        assert_eq!(get(&f, "s7.order_number").as_deref(), Some("6ES7 315-2EH14-0AB0"));
        assert_eq!(get(&f, "s7.module_version").as_deref(), Some("1"));
        assert_eq!(get(&f, "s7.firmware").as_deref(), Some("V3.2.6"));
        assert_eq!(get(&f, "s7.system_name").as_deref(), Some("SIMATIC 300(1)"));
        assert_eq!(get(&f, "s7.serial").as_deref(), Some("S C-X4U421302009"));
        assert_eq!(get(&f, "s7.module_type").as_deref(), Some("CPU 315-2 PN/DP"));
        for cut in 0..b.len() {
            let _ = decode(&b[..cut]);
        }
        // An RDP connection confirm (no TSAPs) is not S7.
        assert!(
            decode(b"\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x1f\x08\x00\x02\x00\x00\x00").is_none()
        );
    }
}
