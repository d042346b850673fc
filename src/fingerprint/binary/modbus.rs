//! Modbus/TCP answers (Modbus Messaging on TCP/IP Implementation Guide V1.0b §3.1.3 MBAP
//! header; Modbus Application Protocol V1.1b3 §6.21 function 43 / MEI 14 Read Device
//! Identification, §7 exception responses): the device's vendor, product code and revision
//! objects, or the exception a device without that function answers.

use super::{capped, Fields, Reader};

/// Function 43 (Encapsulated Interface Transport) and its MEI type 14.
const MEI: u8 = 0x2b;
const READ_DEVICE_ID: u8 = 0x0e;

pub fn decode(b: &[u8]) -> Option<Fields> {
    let mut r = Reader::new(b);
    let _transaction = r.u16_be()?;
    let protocol = r.u16_be()?;
    let len = usize::from(r.u16_be()?);
    // The length counts the unit id and the PDU (at most 253 bytes, §4.1).
    if protocol != 0 || !(3..=254).contains(&len) || r.rest().len() != len {
        return None;
    }
    let unit = r.u8()?;
    let function = r.u8()?;
    let mut fields = Fields::new();
    fields.push(("modbus.unit", unit.to_string().into_bytes()));
    if function & 0x80 != 0 {
        let code = r.u8()?;
        let name = match code {
            1 => "illegal function",
            2 => "illegal data address",
            3 => "illegal data value",
            4 => "server device failure",
            5 => "acknowledge",
            6 => "server device busy",
            8 => "memory parity error",
            10 => "gateway path unavailable",
            11 => "gateway target device failed to respond",
            _ => return None,
        };
        if len != 3 {
            return None;
        }
        fields.push((
            "modbus.exception",
            format!("{code} {name} (function {})", function & 0x7f).into_bytes(),
        ));
        return Some(fields);
    }
    if function != MEI || r.u8()? != READ_DEVICE_ID {
        return None;
    }
    let _code = r.u8()?;
    let conformity = r.u8()?;
    let _more = r.u8()?;
    let _next = r.u8()?;
    let count = r.u8()?;
    fields.push(("modbus.conformity", format!("0x{conformity:02x}").into_bytes()));
    for _ in 0..count {
        let (Some(id), Some(n)) = (r.u8(), r.u8()) else {
            return None;
        };
        let value = r.take(usize::from(n))?;
        let name = match id {
            0 => "modbus.vendor",
            1 => "modbus.product_code",
            2 => "modbus.revision",
            3 => "modbus.vendor_url",
            4 => "modbus.product_name",
            5 => "modbus.model_name",
            _ => continue,
        };
        if fields.iter().all(|(f, _)| *f != name) {
            fields.push((name, capped(value)));
        }
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fingerprint::binary::field_text as get;

    #[test]
    fn device_identification() {
        // MBAP (transaction 0x5050, protocol 0, length 0x21, unit 0), 43/14, basic objects.
        let b = b"\x50\x50\x00\x00\x00\x25\x00\x2b\x0e\x01\x01\x00\x00\x03\x00\x09Schneider\x01\x0aBMX P34 20\x02\x04v3.1";
        let f = decode(b).unwrap();
        assert_eq!(get(&f, "modbus.vendor").as_deref(), Some("Schneider"));
        assert_eq!(get(&f, "modbus.product_code").as_deref(), Some("BMX P34 20"));
        assert_eq!(get(&f, "modbus.revision").as_deref(), Some("v3.1"));
        assert_eq!(get(&f, "modbus.conformity").as_deref(), Some("0x01"));
        for cut in 0..b.len() {
            assert!(decode(&b[..cut]).is_none());
        }
        let e = decode(b"\x50\x50\x00\x00\x00\x03\x01\xab\x01").unwrap();
        assert_eq!(
            get(&e, "modbus.exception").as_deref(),
            Some("1 illegal function (function 43)")
        );
        assert!(decode(b"\x50\x50\x00\x01\x00\x03\x01\xab\x01").is_none());
        assert!(decode(b"\x50\x50\x00\x00\x00\x03\x01\xab\x07").is_none());
    }
}
