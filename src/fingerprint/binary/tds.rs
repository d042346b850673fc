//! MS-TDS PRELOGIN response (MS-TDS §2.2.6.5): a packet of type 0x04 whose option table
//! (token, offset, length; 0xFF ends it) points at VERSION (UL_VERSION: major, minor, build
//! big-endian; US_SUBBUILD) and ENCRYPTION.

use super::{num, Fields, Reader};

/// Most option table entries read.
const MAX_OPTIONS: usize = 16;

pub fn decode(b: &[u8]) -> Option<Fields> {
    let mut h = Reader::new(b);
    // Header: type 0x04 (tabular result), status with EOM, length (big-endian) ≥ 8.
    let (Some(0x04), Some(status), Some(len)) = (h.u8(), h.u8(), h.u16_be()) else {
        return None;
    };
    if status & !0x1f != 0 || usize::from(len) < 8 + 6 || usize::from(len) > b.len() {
        return None;
    }
    let data = &b[8..usize::from(len)];
    let mut r = Reader::new(data);
    let mut version = None;
    let mut encryption = None;
    let mut terminated = false;
    for _ in 0..MAX_OPTIONS {
        let token = r.u8()?;
        if token == 0xff {
            terminated = true;
            break;
        }
        let offset = usize::from(r.u16_be()?);
        let len = usize::from(r.u16_be()?);
        let value = data.get(offset..offset + len)?;
        match token {
            0x00 if len >= 6 => version = Some(value),
            0x01 if len >= 1 => encryption = Some(value[0]),
            _ => {}
        }
    }
    let version = version.filter(|_| terminated)?;
    let mut fields = Fields::new();
    let build = u16::from_be_bytes([version[2], version[3]]);
    fields.push((
        "mssql.version",
        format!("{}.{}.{}", version[0], version[1], build).into_bytes(),
    ));
    fields.push((
        "mssql.subbuild",
        num(u16::from_le_bytes([version[4], version[5]])),
    ));
    if let Some(e) = encryption {
        let text: &[u8] = match e {
            0 => b"off",
            1 => b"on",
            2 => b"not-supported",
            3 => b"required",
            _ => b"other",
        };
        fields.push(("mssql.encryption", text.to_vec()));
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQL Server 2019 RTM (15.0.2000) answering PRELOGIN, laid out per MS-TDS §2.2.6.5 and
    /// the §4.1 example: VERSION, ENCRYPTION (off), INSTOPT, THREADID, MARS, terminator.
    pub(crate) const SQL2019: &[u8] = b"\x04\x01\x00\x2b\x00\x00\x01\x00\x00\x00\x1a\x00\x06\x01\x00\x20\x00\x01\x02\x00\x21\x00\x01\x03\x00\x22\x00\x00\x04\x00\x22\x00\x01\xff\x0f\x00\x07\xd0\x00\x00\x00\x00\x00";

    #[test]
    fn prelogin_version() {
        let f = decode(SQL2019).unwrap();
        assert_eq!(f[0], ("mssql.version", b"15.0.2000".to_vec()));
        assert_eq!(f[1], ("mssql.subbuild", b"0".to_vec()));
        assert_eq!(f[2], ("mssql.encryption", b"off".to_vec()));
        for cut in 0..SQL2019.len() {
            let _ = decode(&SQL2019[..cut]);
        }
        assert_eq!(decode(b"\x04\x01\x00\x08\x00\x00\x01\x00"), None);
    }
}
