//! STUN (RFC 8489 §5, §14): a Binding success or error response with the magic cookie; the
//! SOFTWARE attribute names the server, the error code says why a request was refused.

use super::{capped, num, Fields, Reader};

const MAGIC: u32 = 0x2112_a442;

pub fn decode(b: &[u8]) -> Option<Fields> {
    let mut r = Reader::new(b);
    let kind = r.u16_be()?;
    let len = usize::from(r.u16_be()?);
    // Binding success (0x0101) or error (0x0111) response, the cookie, a length that is the rest.
    if !matches!(kind, 0x0101 | 0x0111) || r.u32_be()? != MAGIC || len % 4 != 0 {
        return None;
    }
    r.take(12)?;
    if r.rest().len() != len {
        return None;
    }
    let mut fields = Fields::new();
    fields.push((
        "stun.class",
        if kind == 0x0101 {
            b"success".to_vec()
        } else {
            b"error".to_vec()
        },
    ));
    while !r.rest().is_empty() {
        let attr = r.u16_be()?;
        let alen = usize::from(r.u16_be()?);
        let value = r.take(alen)?;
        r.take((4 - alen % 4) % 4)?;
        match attr {
            0x8022 => fields.push(("stun.software", capped(value))),
            0x0009 if value.len() >= 4 => {
                let code = u32::from(value[2] & 7) * 100 + u32::from(value[3]);
                fields.push(("stun.error_code", num(code)));
            }
            _ => {}
        }
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_response_with_software() {
        let mut msg = b"\x01\x01\x00\x18\x21\x12\xa4\x42portprobe-tx".to_vec();
        msg.extend_from_slice(b"\x80\x22\x00\x14Coturn-4.6.1 'Gorst'");
        let f = decode(&msg).unwrap();
        assert_eq!(f[1], ("stun.software", b"Coturn-4.6.1 'Gorst'".to_vec()));
        assert!(decode(&msg[..msg.len() - 4]).is_none());
        // Our request is not an answer.
        assert!(decode(b"\x00\x01\x00\x00\x21\x12\xa4\x42portprobe-tx").is_none());
    }
}
