//! NetBIOS name service node status (RFC 1002 §4.2.18): the names a node has registered
//! (computer, workgroup, services by suffix) and the unit ID (the MAC address; Samba sends
//! zeros).

use super::{joined, Fields, Reader};

pub fn decode(b: &[u8]) -> Option<Fields> {
    let mut r = Reader::new(b);
    let _id = r.u16_be()?;
    let flags = r.u16_be()?;
    let (qd, an) = (r.u16_be()?, r.u16_be()?);
    let _ = (r.u16_be()?, r.u16_be()?);
    // A response to a query, one answer.
    if flags & 0x8000 == 0 || (flags >> 11) & 0xf != 0 || qd != 0 || an != 1 {
        return None;
    }
    // The RR name: one 32-byte encoded label and the root (RFC 1001 §14.1).
    if r.u8()? != 0x20 {
        return None;
    }
    let encoded = r.take(32)?;
    if !encoded.iter().all(|c| (b'A'..=b'P').contains(c)) || r.u8()? != 0 {
        return None;
    }
    // NBSTAT (0x21), class IN.
    if r.u16_be()? != 0x21 || r.u16_be()? != 1 {
        return None;
    }
    let _ttl = r.u32_be()?;
    let len = usize::from(r.u16_be()?);
    let mut d = Reader::new(r.take(len)?);
    let count = d.u8()?;
    let mut names = Vec::new();
    let (mut computer, mut workgroup) = (None, None);
    for _ in 0..count {
        let entry = d.take(18)?;
        let text: Vec<u8> = entry[..15].iter().copied().take_while(|&c| c != 0).collect();
        let text = trim_end(&text).to_vec();
        if !text.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
            return None;
        }
        let suffix = entry[15];
        let group = entry[16] & 0x80 != 0;
        if suffix == 0 && !group && computer.is_none() {
            computer = Some(text.clone());
        }
        if suffix == 0 && group && workgroup.is_none() {
            workgroup = Some(text.clone());
        }
        let mut item = text;
        item.extend_from_slice(format!("<{suffix:02x}>{}", if group { " group" } else { "" }).as_bytes());
        names.push(item);
    }
    let mut fields = Fields::new();
    fields.push(("netbios.names", joined(names, b'\n')));
    if let Some(c) = computer {
        fields.push(("netbios.computer", c));
    }
    if let Some(w) = workgroup {
        fields.push(("netbios.workgroup", w));
    }
    if let Some(mac) = d.take(6) {
        let text: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
        fields.push(("netbios.mac", text.join(":").into_bytes()));
    }
    Some(fields)
}

fn trim_end(b: &[u8]) -> &[u8] {
    let end = b.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
    &b[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(f: &'a Fields, k: &str) -> Option<&'a [u8]> {
        f.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_slice())
    }

    fn entry(name: &str, suffix: u8, group: bool) -> Vec<u8> {
        let mut e = format!("{name:<15}").into_bytes();
        e.push(suffix);
        e.extend_from_slice(&[if group { 0x84 } else { 0x04 }, 0]);
        e
    }

    #[test]
    fn node_status_names_and_mac() {
        let mut data = vec![3];
        data.extend(entry("BED", 0x00, false));
        data.extend(entry("BED", 0x20, false));
        data.extend(entry("TESTGROUP", 0x00, true));
        data.extend_from_slice(&[0; 6]);
        data.extend_from_slice(&[0; 40]);
        let mut msg = b"pp\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00\x20CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x00\x00\x21\x00\x01\x00\x00\x00\x00".to_vec();
        msg.extend_from_slice(&(data.len() as u16).to_be_bytes());
        msg.extend_from_slice(&data);
        let f = decode(&msg).unwrap();
        assert_eq!(get(&f, "netbios.computer"), Some(&b"BED"[..]));
        assert_eq!(get(&f, "netbios.workgroup"), Some(&b"TESTGROUP"[..]));
        assert_eq!(get(&f, "netbios.mac"), Some(&b"00:00:00:00:00:00"[..]));
        assert_eq!(
            get(&f, "netbios.names"),
            Some(&b"BED<00>\nBED<20>\nTESTGROUP<00> group"[..])
        );
        assert!(decode(&msg[..60]).is_none());
        assert!(decode(b"").is_none());
    }
}
