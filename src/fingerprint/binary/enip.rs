//! EtherNet/IP's ListIdentity reply (CIP Vol. 2 §2-3 encapsulation header, §2-4.2
//! ListIdentity command 0x63 and its CIP Identity item 0x0C): vendor, device type, product
//! code, revision, serial number and product name of the device, named from
//! fingerprints/cip-ids.txt where known.

use super::{capped, num, Fields, Reader};

/// Vendor and device type names, as data (fingerprints/cip-ids.txt).
const IDS: &str = include_str!("../../../fingerprints/cip-ids.txt");
/// The ListIdentity command and the CIP Identity item type.
const LIST_IDENTITY: u16 = 0x63;
const IDENTITY_ITEM: u16 = 0x0c;

/// The name of `kind` (`vendor`, `device`) number `n`, if fingerprints/cip-ids.txt has it.
fn name(kind: &str, n: u16) -> Option<&'static str> {
    IDS.lines().find_map(|l| {
        let rest = l.strip_prefix(kind)?.strip_prefix(' ')?;
        let (num, name) = rest.split_once(' ')?;
        (num.parse::<u16>().ok()? == n).then_some(name.trim())
    })
}

pub fn decode(b: &[u8]) -> Option<Fields> {
    let mut r = Reader::new(b);
    let command = r.u16_le()?;
    let len = usize::from(r.u16_le()?);
    let _session = r.u32_le()?;
    let status = r.u32_le()?;
    let _context = r.take(8)?;
    let options = r.u32_le()?;
    if command != LIST_IDENTITY || options != 0 || status > 0x69 || len > r.rest().len() || len < 2 {
        return None;
    }
    let data = r.take(len)?;
    let mut d = Reader::new(data);
    let count = d.u16_le()?;
    if count == 0 || count > 16 {
        return None;
    }
    let kind = d.u16_le()?;
    let item_len = usize::from(d.u16_le()?);
    if kind != IDENTITY_ITEM || item_len > d.rest().len() || item_len < 33 {
        return None;
    }
    let mut i = Reader::new(d.take(item_len)?);
    let _protocol = i.u16_le()?;
    // The socket address is sockaddr_in in network byte order.
    let family = i.u16_be()?;
    let port = i.u16_be()?;
    let addr = i.take(4)?;
    i.take(8)?;
    if family != 2 {
        return None;
    }
    let vendor = i.u16_le()?;
    let device = i.u16_le()?;
    let product = i.u16_le()?;
    let (major, minor) = (i.u8()?, i.u8()?);
    let dev_status = i.u16_le()?;
    let serial = i.u32_le()?;
    let name_len = usize::from(i.u8()?);
    let product_name = i.take(name_len)?;
    let mut fields = Fields::new();
    fields.push(("enip.vendor_id", num(vendor)));
    if let Some(v) = name("vendor", vendor) {
        fields.push(("enip.vendor", v.as_bytes().to_vec()));
    }
    let device = match name("device", device) {
        Some(n) => format!("{n} ({device})"),
        None => device.to_string(),
    };
    fields.push(("enip.device_type", device.into_bytes()));
    fields.push(("enip.product_code", num(product)));
    fields.push(("enip.revision", format!("{major}.{minor:03}").into_bytes()));
    fields.push(("enip.serial", format!("0x{serial:08x}").into_bytes()));
    fields.push(("enip.product_name", capped(product_name)));
    fields.push(("enip.status", format!("0x{dev_status:04x}").into_bytes()));
    fields.push((
        "enip.address",
        format!("{}.{}.{}.{}:{port}", addr[0], addr[1], addr[2], addr[3]).into_bytes(),
    ));
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ListIdentity reply as CIP Vol. 2 §2-4.2 lays it out.
    pub(crate) fn reply(
        vendor: u16,
        device: u16,
        product: u16,
        rev: (u8, u8),
        serial: u32,
        name: &[u8],
    ) -> Vec<u8> {
        let mut item = 1u16.to_le_bytes().to_vec();
        item.extend_from_slice(&[0, 2, 0xaf, 0x12, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        for v in [vendor, device, product] {
            item.extend_from_slice(&v.to_le_bytes());
        }
        item.extend_from_slice(&[rev.0, rev.1, 0x30, 0x00]);
        item.extend_from_slice(&serial.to_le_bytes());
        item.push(name.len() as u8);
        item.extend_from_slice(name);
        item.push(3);
        let mut data = 1u16.to_le_bytes().to_vec();
        data.extend_from_slice(&IDENTITY_ITEM.to_le_bytes());
        data.extend_from_slice(&(item.len() as u16).to_le_bytes());
        data.extend(item);
        let mut out = LIST_IDENTITY.to_le_bytes().to_vec();
        out.extend_from_slice(&(data.len() as u16).to_le_bytes());
        out.extend_from_slice(&[0; 20]);
        out.extend(data);
        out
    }

    use crate::fingerprint::binary::field_text as get;

    #[test]
    fn list_identity() {
        let b = reply(1, 14, 89, (20, 11), 0x00c0_ffee, b"1756-L61/B LOGIX5561");
        let f = decode(&b).unwrap();
        assert_eq!(
            get(&f, "enip.vendor").as_deref(),
            Some("Rockwell Automation/Allen-Bradley")
        );
        assert_eq!(
            get(&f, "enip.device_type").as_deref(),
            Some("Programmable Logic Controller (14)")
        );
        assert_eq!(get(&f, "enip.product_code").as_deref(), Some("89"));
        assert_eq!(get(&f, "enip.revision").as_deref(), Some("20.011"));
        assert_eq!(get(&f, "enip.serial").as_deref(), Some("0x00c0ffee"));
        assert_eq!(
            get(&f, "enip.product_name").as_deref(),
            Some("1756-L61/B LOGIX5561")
        );
        assert_eq!(get(&f, "enip.address").as_deref(), Some("127.0.0.1:44818"));
        for cut in 0..b.len() - 1 {
            assert!(decode(&b[..cut]).is_none(), "{cut}");
        }
        let f = decode(&reply(9999, 77, 1, (1, 1), 1, b"x")).unwrap();
        assert_eq!(get(&f, "enip.vendor"), None);
        assert_eq!(get(&f, "enip.device_type").as_deref(), Some("77"));
    }
}
