//! Java RMI's JRMP ProtocolAck (Java RMI specification §10.2.2: 0x4E, then the host name and
//! port the server sees the client at, as DataOutput writes them: a 2-byte length and
//! modified UTF-8, a 4-byte port).

use super::{capped, num, Fields, Reader};

pub fn decode(b: &[u8]) -> Option<Fields> {
    let mut r = Reader::new(b);
    if r.u8()? != 0x4e {
        return None;
    }
    let n = usize::from(r.u16_be()?);
    let host = r.take(n)?;
    let port = r.u32_be()?;
    // An address or host name, and nothing after the port (the server waits for the client).
    if !(1..=255).contains(&n) || port > 65535 || !r.rest().is_empty() {
        return None;
    }
    if !host
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || b".:-_%".contains(c))
    {
        return None;
    }
    let fields: Fields = vec![("rmi.client_host", capped(host)), ("rmi.client_port", num(port))];
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_ack() {
        let b = b"N\x00\x09127.0.0.1\x00\x00\xdb\xa6";
        let f = decode(b).unwrap();
        assert!(f.contains(&("rmi.client_host", b"127.0.0.1".to_vec())), "{f:?}");
        assert!(f.contains(&("rmi.client_port", b"56230".to_vec())), "{f:?}");
        for cut in 0..b.len() {
            assert!(decode(&b[..cut]).is_none());
        }
        assert!(decode(b"N\x00\x09127.0.0.1\x00\x00\xdb\xa6x").is_none());
        assert!(decode(b"N\x00\x03a b\x00\x00\x00\x01").is_none());
    }
}
