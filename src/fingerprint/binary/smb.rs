//! SMB2/3 over direct TCP (MS-SMB2 §2.1: a 4-byte length before each message): the NEGOTIATE
//! response (§2.2.4: dialect, security mode, server GUID) and, in a dialogue, the SESSION_SETUP
//! response (§2.2.6) whose security buffer carries the NTLMSSP challenge (see [`super::ntlm`]).
//! The answers of a dialogue come concatenated; each message is found by its length.

use super::{ntlm, Fields, Reader};

/// Most messages read.
const MAX_MESSAGES: usize = 8;
const HEADER: usize = 64;

/// Whether `b` starts like a direct-TCP SMB2 message.
pub fn looks_like(b: &[u8]) -> bool {
    b.len() >= 8 && b[0] == 0 && &b[4..8] == b"\xfeSMB"
}

pub fn decode(b: &[u8]) -> Option<Fields> {
    if !looks_like(b) {
        return None;
    }
    let mut fields = Fields::new();
    let mut r = Reader::new(b);
    for _ in 0..MAX_MESSAGES {
        let Some(head) = r.take(4) else { break };
        let len = usize::from(head[1]) << 16 | usize::from(head[2]) << 8 | usize::from(head[3]);
        // A message cut short by the read cap is read as far as it goes.
        let msg = r.take(len).unwrap_or_else(|| r.rest());
        if head[0] != 0 || !msg.starts_with(b"\xfeSMB") || msg.len() < HEADER {
            break;
        }
        message(msg, &mut fields);
        if r.rest().is_empty() {
            break;
        }
    }
    (!fields.is_empty()).then_some(fields)
}

fn message(msg: &[u8], fields: &mut Fields) {
    let mut h = Reader::new(msg);
    let (Some(_), Some(_), Some(_), Some(status), Some(command)) =
        (h.take(4), h.u16_le(), h.u16_le(), h.u32_le(), h.u16_le())
    else {
        return;
    };
    let body = &msg[HEADER..];
    match command {
        0 => negotiate(body, fields),
        1 => {
            fields.push(("smb.session_status", format!("0x{status:08x}").into_bytes()));
            let mut r = Reader::new(body);
            let (Some(_size), Some(_flags), Some(offset), Some(len)) =
                (r.u16_le(), r.u16_le(), r.u16_le(), r.u16_le())
            else {
                return;
            };
            let offset = usize::from(offset);
            let buf = msg
                .get(offset..offset + usize::from(len))
                .or_else(|| msg.get(offset..))
                .unwrap_or(body);
            if let Some(more) = ntlm::decode(buf) {
                fields.extend(more);
            }
        }
        _ => {}
    }
}

fn negotiate(body: &[u8], fields: &mut Fields) {
    let mut r = Reader::new(body);
    let (Some(65), Some(mode), Some(dialect), Some(_), Some(guid)) =
        (r.u16_le(), r.u16_le(), r.u16_le(), r.u16_le(), r.take(16))
    else {
        return;
    };
    let dialect = match dialect {
        0x0202 => "2.0.2".to_string(),
        0x0210 => "2.1".to_string(),
        0x0300 => "3.0".to_string(),
        0x0302 => "3.0.2".to_string(),
        0x0311 => "3.1.1".to_string(),
        0x02ff => "2.???".to_string(),
        other => format!("0x{other:04x}"),
    };
    fields.push(("smb.dialect", dialect.into_bytes()));
    let signing = if mode & 2 != 0 {
        "required"
    } else if mode & 1 != 0 {
        "enabled"
    } else {
        "disabled"
    };
    fields.push(("smb.signing", signing.into()));
    // GUID text (RFC 4122 layout; the first three groups little-endian on the wire).
    let g = guid;
    let text = format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]
    );
    fields.push(("smb.server_guid", text.into_bytes()));
    if let Some(caps) = r.u32_le() {
        fields.push(("smb.capabilities", format!("0x{caps:08x}").into_bytes()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMBA: &[u8] = include_bytes!("testdata/smbd-4.17-negotiate-session-setup.bin");

    fn get<'a>(f: &'a Fields, n: &str) -> Option<&'a str> {
        f.iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| std::str::from_utf8(v).unwrap())
    }

    #[test]
    fn samba_negotiate_and_challenge() {
        let f = decode(SAMBA).unwrap();
        assert_eq!(get(&f, "smb.dialect"), Some("3.1.1"));
        assert_eq!(get(&f, "smb.signing"), Some("enabled"));
        assert_eq!(
            get(&f, "smb.server_guid"),
            Some("656c6966-7273-0076-0000-000000000000")
        );
        assert_eq!(get(&f, "smb.session_status"), Some("0xc0000016"));
        assert_eq!(get(&f, "ntlm.os_version"), Some("6.1.0"));
        assert_eq!(get(&f, "ntlm.netbios_computer"), Some("FILESRV"));
        assert_eq!(get(&f, "ntlm.netbios_domain"), Some("FILESRV"));
        assert_eq!(get(&f, "ntlm.dns_computer"), Some("vm"));
        assert_eq!(get(&f, "ntlm.dns_domain"), Some(""));
    }

    #[test]
    fn negotiate_alone_and_cut_anywhere() {
        let first = 4 + usize::from(SAMBA[3]) + (usize::from(SAMBA[2]) << 8);
        let f = decode(&SAMBA[..first]).unwrap();
        assert_eq!(get(&f, "smb.dialect"), Some("3.1.1"));
        assert_eq!(get(&f, "ntlm.os_version"), None);
        for cut in 0..SAMBA.len() {
            let _ = decode(&SAMBA[..cut]);
        }
        assert_eq!(decode(b"\0\0\0\x04\xfeSMB"), None);
        assert_eq!(decode(b"\0\0\0\x45\xffSMBr"), None);
    }
}
