//! MySQL client/server protocol, the server's first packet (MySQL source documentation,
//! "Protocol::HandshakeV10" and "ERR_Packet"; MariaDB's "Connection" page): a 3-byte length,
//! sequence 0, then protocol version 10 and the NUL-terminated server version, or 0xFF, an
//! error code and message when the server refuses the client.

use super::{capped, num, Fields, Reader};

pub fn looks_like(b: &[u8]) -> bool {
    b.len() >= 6 && b[3] == 0 && (b[4] == 10 || b[4] == 0xff) && {
        let len = usize::from(b[0]) | usize::from(b[1]) << 8 | usize::from(b[2]) << 16;
        len >= 2 && len <= b.len() + 1024 * 1024
    }
}

pub fn decode(b: &[u8]) -> Option<Fields> {
    if !looks_like(b) {
        return None;
    }
    let len = usize::from(b[0]) | usize::from(b[1]) << 8 | usize::from(b[2]) << 16;
    let body = &b[4..(4 + len).min(b.len())];
    let mut fields = Fields::new();
    let mut r = Reader::new(body);
    if r.u8()? == 0xff {
        let code = r.u16_le()?;
        let mut msg = r.rest();
        // Since 4.1 a SQL state may follow: `#` and five characters.
        if msg.first() == Some(&b'#') && msg.len() >= 6 {
            msg = &msg[6..];
        }
        if msg.is_empty() || !msg.iter().all(|&c| c >= 0x20 || c == b'\t') {
            return None;
        }
        fields.push(("mysql.error_code", num(code)));
        fields.push(("mysql.error", capped(msg)));
        return Some(fields);
    }
    let rest = r.rest();
    let nul = rest.iter().position(|&c| c == 0)?;
    let version = &rest[..nul];
    if version.is_empty() || !version.iter().all(|c| c.is_ascii_graphic()) {
        return None;
    }
    fields.push(("mysql.protocol", b"10".to_vec()));
    fields.push(("mysql.version", capped(version)));
    r.take(nul + 1)?;
    // connection id, auth data part 1, filler, capability flags (lower), charset, status,
    // capability flags (upper), auth data length, reserved (10), auth data part 2, plugin.
    let _conn = r.u32_le();
    let _ = r.take(8 + 1);
    let low = r.u16_le().unwrap_or(0);
    let _ = r.take(1 + 2);
    let high = r.u16_le().unwrap_or(0);
    let caps = u32::from(high) << 16 | u32::from(low);
    let auth_len = r.u8().unwrap_or(0);
    if r.take(10).is_some() && caps & 0x0008_0000 != 0 {
        let part2 = usize::from(auth_len).saturating_sub(8).max(13);
        if r.take(part2).is_some() {
            let rest = r.rest();
            let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
            if end > 0 && rest[..end].iter().all(|c| c.is_ascii_graphic()) {
                fields.push(("mysql.auth_plugin", capped(&rest[..end])));
            }
        }
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What mariadbd 10.11 (Debian 12) sends first, captured on loopback.
    const MARIADB: &[u8] = b"d\x00\x00\x00\x0a5.5.5-10.11.19-MariaDB-0+deb12u1\x00\x04\x00\x00\x00$lt#L9wk\x00\xfe\xf7\x08\x02\x00\xff\x81\x15\x00\x00\x00\x00\x00\x00\x1d\x00\x00\x006f#uHEa99Ssk\x00mysql_native_password\x00";

    #[test]
    fn handshake_and_error() {
        let f = decode(MARIADB).unwrap();
        assert_eq!(f[0], ("mysql.protocol", b"10".to_vec()));
        assert_eq!(
            f[1],
            ("mysql.version", b"5.5.5-10.11.19-MariaDB-0+deb12u1".to_vec())
        );
        assert_eq!(f[2], ("mysql.auth_plugin", b"mysql_native_password".to_vec()));
        let f = decode(
            b"H\x00\x00\x00\xffj\x04Host '192.0.2.7' is not allowed to connect to this MariaDB server",
        )
        .unwrap();
        assert_eq!(f[0], ("mysql.error_code", b"1130".to_vec()));
        for cut in 0..MARIADB.len() {
            let _ = decode(&MARIADB[..cut]);
        }
    }
}
