//! The Java Debug Wire Protocol's answer (JDK documentation, "Java Debug Wire Protocol":
//! the 14-byte handshake, then reply packets of length, id, flags 0x80 and error code; the
//! VirtualMachine.Version reply holds a description, the JDWP version and the VM's version
//! and name).

use super::{capped, Fields, Reader};

const HANDSHAKE: &[u8] = b"JDWP-Handshake";

/// A JDWP string: a 4-byte length and UTF-8.
fn string<'a>(r: &mut Reader<'a>) -> Option<&'a [u8]> {
    let n = usize::try_from(r.u32_be()?).ok()?;
    r.take(n)
}

pub fn decode(b: &[u8]) -> Option<Fields> {
    let rest = b.strip_prefix(HANDSHAKE)?;
    let mut fields = Fields::new();
    fields.push(("jdwp.handshake", b"JDWP-Handshake".to_vec()));
    if rest.is_empty() {
        return Some(fields);
    }
    let mut r = Reader::new(rest);
    let len = usize::try_from(r.u32_be()?).ok()?;
    let _id = r.u32_be()?;
    // Only a reply (flags 0x80) is an answer; a command packet after the handshake is a
    // client's (an echo of our own probe).
    if r.u8()? != 0x80 || !(11..=1 << 20).contains(&len) {
        return None;
    }
    let error = r.u16_be()?;
    if error != 0 {
        fields.push(("jdwp.error", error.to_string().into_bytes()));
        return Some(fields);
    }
    let Some(description) = string(&mut r) else {
        return Some(fields);
    };
    fields.push(("jdwp.description", capped(description)));
    let (Some(major), Some(minor)) = (r.u32_be(), r.u32_be()) else {
        return Some(fields);
    };
    fields.push(("jdwp.version", format!("{major}.{minor}").into_bytes()));
    if let Some(v) = string(&mut r) {
        fields.push(("jdwp.vm_version", capped(v)));
    }
    if let Some(n) = string(&mut r) {
        fields.push(("jdwp.vm_name", capped(n)));
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_reply() {
        let b = include_bytes!("testdata/openjdk-17.0.15-jdwp-version.bin");
        let f = decode(b).unwrap();
        assert!(f.contains(&("jdwp.version", b"17.0".to_vec())), "{f:?}");
        assert!(f.contains(&("jdwp.vm_version", b"17.0.15".to_vec())), "{f:?}");
        assert!(
            f.contains(&("jdwp.vm_name", b"OpenJDK 64-Bit Server VM".to_vec())),
            "{f:?}"
        );
        for cut in 0..b.len() {
            let _ = decode(&b[..cut]);
        }
        // Our own probe echoed: a command, not a reply.
        assert!(decode(b"JDWP-Handshake\x00\x00\x00\x0b\x00\x00\x00\x01\x00\x01\x01").is_none());
        assert_eq!(decode(b"JDWP-Handshake").map(|f| f.len()), Some(1));
    }
}
