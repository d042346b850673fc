//! DNP3 data link frames (IEEE 1815-2012 §9.2: start bytes 0x05 0x64, length, control,
//! destination and source addresses little-endian, header CRC): who answered (the source
//! address), in which direction, and with which link function.

use super::{num, Fields, Reader};

/// DNP3's CRC (IEEE 1815 §9.2.2: polynomial 0x3D65, reflected, complemented), as sent: low
/// byte first.
pub fn crc(data: &[u8]) -> [u8; 2] {
    let mut c: u16 = 0;
    for &b in data {
        c ^= u16::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0xa6bc } else { c >> 1 };
        }
    }
    (!c).to_le_bytes()
}

pub fn decode(b: &[u8]) -> Option<Fields> {
    let mut r = Reader::new(b);
    let header = r.take(8)?;
    let check = r.take(2)?;
    if header[..2] != [0x05, 0x64] || header[2] < 5 || crc(header) != [check[0], check[1]] {
        return None;
    }
    let control = header[3];
    let dest = u16::from_le_bytes([header[4], header[5]]);
    let src = u16::from_le_bytes([header[6], header[7]]);
    let primary = control & 0x40 != 0;
    let function = match (primary, control & 0x0f) {
        (true, 0) => "reset-link-states",
        (true, 2) => "test-link-states",
        (true, 3) => "confirmed-user-data",
        (true, 4) => "unconfirmed-user-data",
        (true, 9) => "request-link-status",
        (false, 0) => "ack",
        (false, 1) => "nack",
        (false, 11) => "link-status",
        (false, 15) => "not-supported",
        _ => return None,
    };
    let mut fields = Fields::new();
    fields.push(("dnp3.function", function.as_bytes().to_vec()));
    let from = if control & 0x80 != 0 {
        "master"
    } else {
        "outstation"
    };
    fields.push(("dnp3.direction", format!("from {from}").into_bytes()));
    fields.push(("dnp3.source", num(src)));
    fields.push(("dnp3.destination", num(dest)));
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_status() {
        // IEEE 1815's own example header: 05 64 05 C0 01 00 00 04 with CRC E9 21.
        assert_eq!(crc(b"\x05\x64\x05\xc0\x01\x00\x00\x04"), [0xe9, 0x21]);
        let f = decode(b"\x05\x64\x05\x0b\x00\x00\x01\x00\xba\xf0").unwrap();
        assert!(f.contains(&("dnp3.function", b"link-status".to_vec())), "{f:?}");
        assert!(f.contains(&("dnp3.source", b"1".to_vec())), "{f:?}");
        assert!(
            f.contains(&("dnp3.direction", b"from outstation".to_vec())),
            "{f:?}"
        );
        assert!(decode(b"\x05\x64\x05\x0b\x00\x00\x01\x00\xba\xf1").is_none());
        let f = decode(b"\x05\x64\x05\xc9\x01\x00\x00\x00\xde\x8e").unwrap();
        assert!(
            f.contains(&("dnp3.function", b"request-link-status".to_vec())),
            "{f:?}"
        );
    }
}
