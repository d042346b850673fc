//! NTP (RFC 5905 §7.3): a server's answer to a client (mode 4) gives version, stratum and
//! reference ID; a mode 6 control answer (RFC 9327 §2) to `readvar` gives the system
//! variables as text (`version="ntpd ntpsec-1.2.2 …", system="Linux/6.1.0", …`).

use super::{capped, num, Fields, Reader};

pub fn decode(b: &[u8]) -> Option<Fields> {
    let first = *b.first()?;
    let version = (first >> 3) & 7;
    let mode = first & 7;
    if !(1..=4).contains(&version) {
        return None;
    }
    let mut fields = Fields::new();
    match mode {
        4 | 5 => {
            // 48 bytes, then optional extension fields / a MAC (4 + 16 or 20 bytes).
            if !(b.len() == 48
                || b.len() == 68
                || b.len() == 72
                || (b.len() > 48 && b.len() % 4 == 0 && b.len() <= 1024))
            {
                return None;
            }
            let (stratum, poll, precision) = (b[1], b[2], b[3] as i8);
            if stratum > 16 || poll > 17 || !(-32..=0).contains(&precision) {
                return None;
            }
            fields.push(("ntp.version", num(version)));
            fields.push((
                "ntp.mode",
                if mode == 4 {
                    b"server".to_vec()
                } else {
                    b"broadcast".to_vec()
                },
            ));
            fields.push(("ntp.stratum", num(stratum)));
            let refid = &b[12..16];
            let text = if stratum <= 1 {
                // A source code of up to four ASCII characters (GPS, PPS, LOCL; KoD codes at 0).
                let end = refid.iter().position(|&c| c == 0).unwrap_or(4);
                let code = &refid[..end];
                if !code.iter().all(|c| c.is_ascii_alphanumeric()) {
                    return None;
                }
                code.to_vec()
            } else {
                format!("{}.{}.{}.{}", refid[0], refid[1], refid[2], refid[3]).into_bytes()
            };
            fields.push(("ntp.refid", text));
        }
        6 => {
            let mut r = Reader::new(b);
            r.u8()?;
            let op = r.u8()?;
            // The response bit, opcode 2 (read variables) or 1 (read status).
            if op & 0x80 == 0 || !matches!(op & 0x1f, 1 | 2) {
                return None;
            }
            let _seq = r.u16_be()?;
            let _status = r.u16_be()?;
            let _assoc = r.u16_be()?;
            let offset = r.u16_be()?;
            let count = usize::from(r.u16_be()?);
            let data = r.take(count)?;
            // Padding to 32 bits and an optional MAC only.
            if r.rest().len() > 28 || count > 468 {
                return None;
            }
            fields.push(("ntp.version", num(version)));
            fields.push(("ntp.mode", b"control".to_vec()));
            if op & 0x40 != 0 {
                fields.push(("ntp.error", num(_status >> 8)));
            }
            if offset == 0 && !data.is_empty() {
                fields.push(("ntp.vars", capped(data)));
            }
        }
        _ => return None,
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(f: &'a Fields, k: &str) -> Option<&'a [u8]> {
        f.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_slice())
    }

    #[test]
    fn server_and_control_answers() {
        let mut server = vec![0x24, 2, 6, 0xe9u8];
        server.extend_from_slice(&[0; 8]);
        server.extend_from_slice(&[127, 0, 0, 1]);
        server.extend_from_slice(&[0; 32]);
        let f = decode(&server).unwrap();
        assert_eq!(get(&f, "ntp.stratum"), Some(&b"2"[..]));
        assert_eq!(get(&f, "ntp.refid"), Some(&b"127.0.0.1"[..]));
        let text = b"version=\"ntpd ntpsec-1.2.2 2023-05-19T21:40:24Z\", processor=\"x86_64\"";
        let mut control = vec![0x16, 0x82, 0, 1, 6, 0x15, 0, 0, 0, 0, 0, text.len() as u8];
        control.extend_from_slice(text);
        control.extend_from_slice(&[0; 2]);
        let f = decode(&control).unwrap();
        assert_eq!(get(&f, "ntp.vars"), Some(&text[..]));
        assert_eq!(get(&f, "ntp.mode"), Some(&b"control"[..]));
    }

    #[test]
    fn other_bytes_are_not_ntp() {
        assert!(decode(b"").is_none());
        assert!(decode(&[0x24; 47]).is_none());
        assert!(decode(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10 fooo\r\n").is_none());
        // A control request (no response bit) is not an answer.
        assert!(decode(&[0x16, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]).is_none());
    }
}
