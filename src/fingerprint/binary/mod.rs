//! Decoders of binary protocols: each turns one answer (or a dialogue's answers, concatenated)
//! into named fields. They read wire formats only (what a value means is the rules' business),
//! check every length against the bytes they were given, never panic, and bound what they
//! produce: at most [`MAX_VALUE`] bytes per value and [`MAX_LIST`] items per list.

pub mod amqp;
pub mod bacnet;
pub mod cql;
pub mod dcerpc;
pub mod dnp3;
pub mod dns;
pub mod enip;
pub mod jdwp;
pub mod jrmi;
pub mod kafka;
pub mod kerberos;
pub mod ldap;
pub mod modbus;
pub mod mongodb;
pub mod mysql;
pub mod netbios;
pub mod ntlm;
pub mod ntp;
pub mod openwire;
pub mod rdp;
pub mod rfb;
pub mod rpc;
pub mod s7;
pub mod smb;
pub mod snmp;
pub mod stun;
pub mod tds;
pub mod tns;
pub mod x11;

/// Fields a binary decoder found, in the order found.
pub type Fields = Vec<(&'static str, Vec<u8>)>;

/// Most bytes kept of one value.
pub const MAX_VALUE: usize = 1024;
/// Most items of a list-valued field (naming contexts, security types).
pub const MAX_LIST: usize = 64;

/// A bounds-checked cursor over a byte slice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    pub fn u16_le(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    pub fn u16_be(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn u32_le(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn u32_be(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }
}

/// One BER element (X.690 §8.1, definite lengths of up to 4 bytes, one-byte tags): its tag and
/// contents. LDAP and Kerberos use DER/BER so restricted.
pub(crate) fn ber<'a>(r: &mut Reader<'a>) -> Option<(u8, &'a [u8])> {
    let tag = r.u8()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let first = r.u8()?;
    let len = match first {
        0..=0x7f => usize::from(first),
        0x81..=0x84 => {
            let mut n = 0usize;
            for &b in r.take(usize::from(first & 0x7f))? {
                n = n << 8 | usize::from(b);
            }
            n
        }
        _ => return None, // indefinite length: not DER, and not allowed in LDAP (RFC 4511 §5.1)
    };
    Some((tag, r.take(len)?))
}

/// `b` cut to [`MAX_VALUE`] bytes.
pub(crate) fn capped(b: &[u8]) -> Vec<u8> {
    b[..b.len().min(MAX_VALUE)].to_vec()
}

/// UTF-16LE text as UTF-8 (unpaired surrogates replaced), cut to [`MAX_VALUE`] bytes.
pub(crate) fn utf16le(b: &[u8]) -> Vec<u8> {
    let units = b
        .chunks_exact(2)
        .take(MAX_VALUE)
        .map(|c| u16::from_le_bytes([c[0], c[1]]));
    let s: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    capped(s.as_bytes())
}

/// Items joined by `sep`, at most [`MAX_LIST`] of them, the whole cut to [`MAX_VALUE`] bytes.
pub(crate) fn joined<I: IntoIterator<Item = Vec<u8>>>(items: I, sep: u8) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, item) in items.into_iter().take(MAX_LIST).enumerate() {
        if i > 0 {
            out.push(sep);
        }
        out.extend_from_slice(&item);
        if out.len() >= MAX_VALUE {
            break;
        }
    }
    out.truncate(MAX_VALUE);
    out
}

/// Decimal text of a number.
pub(crate) fn num(n: impl std::fmt::Display) -> Vec<u8> {
    n.to_string().into_bytes()
}

/// A decoded field's value as text, for the decoders' unit tests.
#[cfg(test)]
pub(crate) fn field_text(f: &Fields, name: &str) -> Option<String> {
    f.iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
}
