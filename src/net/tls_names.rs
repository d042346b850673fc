//! Names of TLS protocol values as people read them, from rustls' and x509-parser's own tables:
//! one place for both the handshake facts and the legacy diagnosis.

use rustls::{AlertDescription, CipherSuite, ProtocolVersion};

/// `TLSv1.2` for 0x0303, `SSLv3` for 0x0300, `0x7f17` for what nobody named.
pub fn version_name(v: u16) -> String {
    match ProtocolVersion::from(v).as_str() {
        Some(name) => name.replace('_', "."),
        None => format!("0x{v:04x}"),
    }
}

/// The IANA name of a cipher suite (`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`; TLS 1.3's as IANA
/// spells them, `TLS_AES_128_GCM_SHA256`), or its number.
pub fn suite_name(id: u16) -> String {
    match CipherSuite::from(id).as_str() {
        Some(name) => match name.strip_prefix("TLS13_") {
            Some(rest) => format!("TLS_{rest}"),
            None => name.to_string(),
        },
        None => format!("0x{id:04x}"),
    }
}

/// The RFC 8446 name of an alert (`handshake_failure`), or `alert N`.
pub fn alert_name(d: u8) -> String {
    let Some(camel) = AlertDescription::from(d).as_str() else {
        return format!("alert {d}");
    };
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The short name of a signature algorithm OID (`sha256WithRSAEncryption`), or the OID.
pub fn signature_name(oid: &x509_parser::oid_registry::Oid) -> String {
    x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry())
        .map_or_else(|_| oid.to_id_string(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_the_rfcs_spell_them() {
        assert_eq!(version_name(0x0303), "TLSv1.2");
        assert_eq!(version_name(0x0300), "SSLv3");
        assert_eq!(version_name(0x7f17), "0x7f17");
        assert_eq!(suite_name(0x1301), "TLS_AES_128_GCM_SHA256");
        assert_eq!(suite_name(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(suite_name(0x0004), "TLS_RSA_WITH_RC4_128_MD5");
        assert_eq!(suite_name(0x5a5a), "0x5a5a");
        assert_eq!(alert_name(40), "handshake_failure");
        assert_eq!(alert_name(70), "protocol_version");
        assert_eq!(alert_name(200), "alert 200");
        let oid = x509_parser::oid_registry::OID_PKCS1_SHA256WITHRSA;
        assert_eq!(signature_name(&oid), "sha256WithRSAEncryption");
    }
}
