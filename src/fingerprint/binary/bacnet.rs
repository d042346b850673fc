//! BACnet/IP (ASHRAE 135 Annex J, clauses 6, 20, 21): the BVLC header, the NPDU, and an APDU
//! answer — a ComplexACK to ReadProperty(Multiple) naming the device, or an Error, Reject or Abort.

use super::{capped, num, Fields, Reader};

/// Most tags read from one answer; a datagram is at most ~1.5 kB, this bounds pathological ones.
const MAX_TAGS: usize = 512;

pub fn decode(b: &[u8]) -> Option<Fields> {
    let mut r = Reader::new(b);
    // BVLC (Annex J.2): type 0x81, function, length of the whole message.
    if r.u8()? != 0x81 {
        return None;
    }
    let function = r.u8()?;
    if usize::from(r.u16_be()?) != b.len() {
        return None;
    }
    match function {
        0x0a | 0x0b => {}
        // Forwarded-NPDU: the original source's B/IP address (4 + 2 bytes) first.
        0x04 => {
            r.take(6)?;
        }
        _ => return None,
    }
    // NPDU (clause 6.2): version 1, control; a network layer message carries no APDU.
    if r.u8()? != 1 {
        return None;
    }
    let control = r.u8()?;
    if control & 0x80 != 0 || control & 0x50 != 0 {
        return None;
    }
    if control & 0x20 != 0 {
        // DNET, DLEN, DADR.
        r.u16_be()?;
        let len = r.u8()?;
        r.take(usize::from(len))?;
    }
    if control & 0x08 != 0 {
        // SNET, SLEN, SADR.
        r.u16_be()?;
        let len = r.u8()?;
        if len == 0 {
            return None;
        }
        r.take(usize::from(len))?;
    }
    if control & 0x20 != 0 {
        r.u8()?; // hop count
    }
    apdu(&mut r)
}

/// The APDU (clause 20.1): only the answers to a confirmed request.
fn apdu(r: &mut Reader) -> Option<Fields> {
    let first = r.u8()?;
    let mut fields = Fields::new();
    match first >> 4 {
        3 => {
            r.u8()?; // invoke ID
            if first & 0x08 != 0 {
                // Segmented: sequence number, proposed window size; only the first segment
                // is here, read what it holds.
                r.take(2)?;
            }
            let service = r.u8()?;
            fields.push(("bacnet.apdu", b"complex-ack".to_vec()));
            match service {
                12 => read_property_ack(r, &mut fields),
                14 => read_property_multiple_ack(r, &mut fields),
                _ => {}
            }
        }
        5 if first & 0x0f == 0 => {
            r.u8()?;
            r.u8()?; // service choice
            fields.push(("bacnet.apdu", b"error".to_vec()));
            if let Some((class, code)) = error_pair(r) {
                fields.push(("bacnet.error", format!("class {class} code {code}").into_bytes()));
            }
        }
        6 if first & 0x0f == 0 => {
            r.u8()?;
            let reason = r.u8()?;
            fields.push(("bacnet.apdu", b"reject".to_vec()));
            fields.push(("bacnet.reason", num(reason)));
        }
        7 if first & 0x0e == 0 => {
            r.u8()?;
            let reason = r.u8()?;
            fields.push(("bacnet.apdu", b"abort".to_vec()));
            fields.push(("bacnet.reason", num(reason)));
        }
        _ => return None,
    }
    Some(fields)
}

/// One tag (clause 20.2.1): its number, whether context-specific, and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag<'a> {
    Value {
        number: u8,
        context: bool,
        data: &'a [u8],
    },
    /// An application Boolean keeps its value in the tag itself.
    Boolean,
    Open(u8),
    Close(u8),
}

fn tag<'a>(r: &mut Reader<'a>) -> Option<Tag<'a>> {
    let first = r.u8()?;
    let mut number = first >> 4;
    let context = first & 0x08 != 0;
    if number == 15 {
        number = r.u8()?;
        if number == 255 {
            return None;
        }
    }
    let lvt = first & 0x07;
    if context && lvt == 6 {
        return Some(Tag::Open(number));
    }
    if context && lvt == 7 {
        return Some(Tag::Close(number));
    }
    if !context && number == 1 {
        return Some(Tag::Boolean);
    }
    let len = match lvt {
        0..=4 => usize::from(lvt),
        5 => match r.u8()? {
            254 => usize::from(r.u16_be()?),
            255 => usize::try_from(r.u32_be()?).ok()?,
            n => usize::from(n),
        },
        _ => return None,
    };
    Some(Tag::Value {
        number,
        context,
        data: r.take(len)?,
    })
}

/// An unsigned number of up to four bytes (clause 20.2.4).
fn unsigned(data: &[u8]) -> Option<u32> {
    if data.is_empty() || data.len() > 4 {
        return None;
    }
    Some(data.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)))
}

/// Two application-tagged enumerations: an Error's class and code (clause 21, Error).
fn error_pair(r: &mut Reader) -> Option<(u32, u32)> {
    let mut enumerated = || loop {
        match tag(r)? {
            Tag::Value {
                number: 9,
                context: false,
                data,
            } => return unsigned(data),
            // Some errors wrap the pair in a context tag (clause 21, e.g. [0] errorType).
            Tag::Open(_) => continue,
            _ => return None,
        }
    };
    Some((enumerated()?, enumerated()?))
}

/// A CharacterString (clause 20.2.9) as UTF-8 where the character set allows.
fn text(data: &[u8]) -> Option<Vec<u8>> {
    let (&set, rest) = data.split_first()?;
    let s: String = match set {
        0 => return Some(capped(rest)),
        // ISO 8859-1.
        5 => rest.iter().map(|&b| char::from(b)).collect(),
        // UCS-2, big-endian.
        4 => char::decode_utf16(rest.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])))
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect(),
        _ => return None,
    };
    Some(capped(s.as_bytes()))
}

/// The field a Device property is read into.
fn field_of(property: u32) -> Option<&'static str> {
    Some(match property {
        121 => "bacnet.vendor_name",
        70 => "bacnet.model_name",
        44 => "bacnet.firmware",
        12 => "bacnet.software_version",
        77 => "bacnet.object_name",
        _ => return None,
    })
}

/// The object identifier's instance (clause 20.2.14) if it names a Device (type 8).
fn device_instance(data: &[u8]) -> Option<u32> {
    let id = unsigned(data).filter(|_| data.len() == 4)?;
    (id >> 22 == 8).then_some(id & 0x3f_ffff)
}

/// Reads the value between an opening and a closing tag `number`: the first CharacterString
/// in it, if any.
fn value(r: &mut Reader, number: u8, count: &mut usize) -> Option<Option<Vec<u8>>> {
    let mut found = None;
    let mut depth = 0usize;
    loop {
        *count += 1;
        if *count > MAX_TAGS {
            return None;
        }
        match tag(r)? {
            Tag::Close(n) if depth == 0 && n == number => return Some(found),
            Tag::Close(_) => depth = depth.checked_sub(1)?,
            Tag::Open(_) => depth += 1,
            Tag::Value {
                number: 7,
                context: false,
                data,
            } if found.is_none() && depth == 0 => found = text(data),
            _ => {}
        }
    }
}

/// Keeps the first value of each field: one answer, one device.
fn push_once(fields: &mut Fields, name: &'static str, value: Vec<u8>) {
    if !fields.iter().any(|(n, _)| *n == name) {
        fields.push((name, value));
    }
}

fn push_value(fields: &mut Fields, property: Option<u32>, value: Option<Vec<u8>>) {
    if let (Some(name), Some(v)) = (property.and_then(field_of), value) {
        push_once(fields, name, v);
    }
}

/// ReadProperty-ACK (clause 15.5.1.3): [0] object, [1] property, [2] index?, [3] value.
fn read_property_ack(r: &mut Reader, fields: &mut Fields) {
    let mut property = None;
    let mut count = 0;
    while let Some(t) = tag(r) {
        match t {
            Tag::Value {
                number: 0,
                context: true,
                data,
            } => {
                if let Some(i) = device_instance(data) {
                    push_once(fields, "bacnet.instance", num(i));
                }
            }
            Tag::Value {
                number: 1,
                context: true,
                data,
            } => property = unsigned(data),
            Tag::Open(3) => {
                if let Some(v) = value(r, 3, &mut count) {
                    push_value(fields, property, v);
                }
                return;
            }
            _ => {}
        }
    }
}

/// ReadPropertyMultiple-ACK (clause 15.7.1.3): ReadAccessResults, each [0] object and
/// [1] results; a result is [2] property, [3] index?, then [4] value or [5] access error.
fn read_property_multiple_ack(r: &mut Reader, fields: &mut Fields) {
    let mut property = None;
    let mut count = 0usize;
    while let Some(t) = tag(r) {
        count += 1;
        if count > MAX_TAGS {
            return;
        }
        match t {
            Tag::Value {
                number: 0,
                context: true,
                data,
            } => {
                if let Some(i) = device_instance(data) {
                    push_once(fields, "bacnet.instance", num(i));
                }
            }
            Tag::Value {
                number: 2,
                context: true,
                data,
            } => property = unsigned(data),
            Tag::Open(n @ (4 | 5)) => match value(r, n, &mut count) {
                Some(v) if n == 4 => push_value(fields, property, v),
                Some(_) => {}
                None => return,
            },
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BVLC and NPDU (no routing) around `apdu`.
    fn frame(apdu: &[u8]) -> Vec<u8> {
        let mut m = vec![0x81, 0x0a, 0, 0, 1, 0];
        m.extend_from_slice(apdu);
        let len = (m.len() as u16).to_be_bytes();
        m[2..4].copy_from_slice(&len);
        m
    }

    fn get<'a>(f: &'a Fields, name: &str) -> Option<&'a [u8]> {
        f.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_slice())
    }

    #[test]
    fn read_property_multiple_ack_names_the_device() {
        let mut apdu = b"\x30\x01\x0e\x0c\x02\x00\x04\xd2\x1e".to_vec();
        for (prop, s) in [(121u8, "Acme Controls"), (70, "AC-100"), (44, "2.1.0")] {
            apdu.extend_from_slice(&[0x29, prop, 0x4e, 0x75, s.len() as u8 + 1, 0]);
            apdu.extend_from_slice(s.as_bytes());
            apdu.push(0x4f);
        }
        // application-software-version unknown: a property access error.
        apdu.extend_from_slice(b"\x29\x0c\x5e\x91\x02\x91\x20\x5f\x1f");
        let f = decode(&frame(&apdu)).unwrap();
        assert_eq!(get(&f, "bacnet.apdu"), Some(&b"complex-ack"[..]));
        assert_eq!(get(&f, "bacnet.instance"), Some(&b"1234"[..]));
        assert_eq!(get(&f, "bacnet.vendor_name"), Some(&b"Acme Controls"[..]));
        assert_eq!(get(&f, "bacnet.model_name"), Some(&b"AC-100"[..]));
        assert_eq!(get(&f, "bacnet.firmware"), Some(&b"2.1.0"[..]));
        assert_eq!(get(&f, "bacnet.software_version"), None);
        // Cut anywhere: never a panic; the frame length no longer fits.
        let whole = frame(&apdu);
        for n in 0..whole.len() {
            assert!(decode(&whole[..n]).is_none());
        }
    }

    #[test]
    fn read_property_ack_and_refusals() {
        let f = decode(&frame(
            b"\x30\x07\x0c\x0c\x02\x3f\xff\xff\x19\x4d\x3e\x75\x05\x00dev1\x3f",
        ))
        .unwrap();
        assert_eq!(get(&f, "bacnet.object_name"), Some(&b"dev1"[..]));
        assert_eq!(get(&f, "bacnet.instance"), Some(&b"4194303"[..]));
        let f = decode(&frame(b"\x50\x01\x0e\x91\x02\x91\x20")).unwrap();
        assert_eq!(get(&f, "bacnet.apdu"), Some(&b"error"[..]));
        assert_eq!(get(&f, "bacnet.error"), Some(&b"class 2 code 32"[..]));
        let f = decode(&frame(b"\x60\x01\x09")).unwrap();
        assert_eq!(get(&f, "bacnet.apdu"), Some(&b"reject"[..]));
        assert_eq!(get(&f, "bacnet.reason"), Some(&b"9"[..]));
        let f = decode(&frame(b"\x71\x01\x04")).unwrap();
        assert_eq!(get(&f, "bacnet.apdu"), Some(&b"abort"[..]));
        // Our own request is not an answer.
        assert!(decode(&frame(b"\x00\x05\x01\x0e\x0c\x02\x3f\xff\xff\x1e\x09\x79\x1f")).is_none());
        // Routed answer: SNET/SLEN/SADR before the APDU.
        let mut m = vec![0x81, 0x0a, 0, 13, 1, 0x08, 0, 5, 1, 9, 0x60, 1, 9];
        assert!(decode(&m).is_some());
        m[8] = 0; // SLEN 0 is not allowed for a source
        assert!(decode(&m).is_none());
    }
}
