//! AMQP brokers' first answer (AMQP 0-9-1 specification §4.2.3 general frame format, §1.4.2.1
//! Connection.Start, §4.2.5.5 field tables with RabbitMQ's errata type codes; AMQP 1.0 §2.2
//! protocol header): the server-properties table of Connection.Start (`product`, `version`,
//! `platform`, `cluster_name`), or the protocol header a broker sends back when it speaks
//! another version.

use super::{capped, Fields, Reader};

/// Most table entries read.
const MAX_ENTRIES: usize = 64;
/// Deepest nesting of tables and arrays skipped over.
const MAX_DEPTH: usize = 4;

/// Whether `b` starts with an AMQP protocol header or a method frame on channel 0 carrying
/// Connection.Start (class 10, method 10).
pub fn looks_like(b: &[u8]) -> bool {
    header(b).is_some() || (b.len() >= 11 && b[0] == 1 && b[1..3] == [0, 0] && b[7..11] == [0, 10, 0, 10])
}

/// `AMQP` and four octets: 0-9-1 style (`0 0 9 1`, 0-8's `1 1 8 0`) or 1.0's protocol id and
/// version (`id 1 0 0`, id 0 AMQP, 2 TLS, 3 SASL).
fn header(b: &[u8]) -> Option<Vec<u8>> {
    let h = b.strip_prefix(b"AMQP")?.get(..4)?;
    match h {
        [id @ 0..=3, 1, 0, 0] => Some(format!("1.0.0 id {id}").into_bytes()),
        [0, major, minor, rev] if *major <= 1 && *minor <= 20 => {
            Some(format!("{major}-{minor}-{rev}").into_bytes())
        }
        [1, 1, major, minor] if *major <= 20 && *minor <= 20 => Some(format!("{major}-{minor}").into_bytes()),
        _ => None,
    }
}

pub fn decode(b: &[u8]) -> Option<Fields> {
    let mut fields = Fields::new();
    if let Some(protocol) = header(b) {
        fields.push(("amqp.protocol", protocol));
        return Some(fields);
    }
    if !looks_like(b) {
        return None;
    }
    let mut r = Reader::new(b);
    r.take(3)?;
    let size = usize::try_from(r.u32_be()?).ok()?;
    if !(4..=16 * 1024 * 1024).contains(&size) {
        return None;
    }
    // A frame cut by the read cap is read as far as it goes.
    let payload = r.take(size.min(r.rest().len()))?;
    let mut p = Reader::new(payload);
    p.take(4)?;
    let major = p.u8()?;
    let minor = p.u8()?;
    fields.push(("amqp.protocol", format!("{major}-{minor}").into_bytes()));
    let table_len = usize::try_from(p.u32_be()?).ok()?;
    let table = p.take(table_len.min(p.rest().len()))?;
    let mut t = Reader::new(table);
    for _ in 0..MAX_ENTRIES {
        let Some(name_len) = t.u8() else { break };
        let Some(name) = t.take(usize::from(name_len)) else {
            break;
        };
        let Some(kind) = t.u8() else { break };
        let field = match name {
            b"product" => Some("amqp.product"),
            b"version" => Some("amqp.version"),
            b"platform" => Some("amqp.platform"),
            b"cluster_name" => Some("amqp.cluster_name"),
            b"copyright" => Some("amqp.copyright"),
            _ => None,
        };
        if kind == b'S' {
            let Some(len) = t.u32_be() else { break };
            let Some(s) = t.take(usize::try_from(len).unwrap_or(usize::MAX)) else {
                break;
            };
            if let Some(f) = field {
                if fields.iter().all(|(n, _)| *n != f) {
                    fields.push((f, capped(s)));
                }
            }
        } else if skip_value(&mut t, kind, 0).is_none() {
            break;
        }
    }
    // mechanisms and locales: long strings, space-separated lists.
    if table.len() == table_len {
        if let Some(len) = p.u32_be() {
            if let Some(m) = p.take(usize::try_from(len).unwrap_or(usize::MAX)) {
                fields.push(("amqp.mechanisms", capped(m)));
            }
        }
    }
    Some(fields)
}

/// Skips one field value of type `kind` (0-9-1 field tables as RabbitMQ and Qpid write them).
fn skip_value(t: &mut Reader, kind: u8, depth: usize) -> Option<()> {
    let fixed = match kind {
        b't' | b'b' | b'B' => 1,
        b's' | b'u' => 2,
        b'I' | b'i' | b'f' => 4,
        b'l' | b'd' | b'T' => 8,
        b'D' => 5,
        b'V' => 0,
        b'S' | b'x' => {
            let len = t.u32_be()?;
            t.take(usize::try_from(len).ok()?)?;
            return Some(());
        }
        b'F' | b'A' => {
            if depth >= MAX_DEPTH {
                return None;
            }
            let len = usize::try_from(t.u32_be()?).ok()?;
            let inner = t.take(len)?;
            let mut i = Reader::new(inner);
            for _ in 0..MAX_ENTRIES {
                if i.rest().is_empty() {
                    break;
                }
                if kind == b'F' {
                    let n = i.u8()?;
                    i.take(usize::from(n))?;
                }
                let k = i.u8()?;
                skip_value(&mut i, k, depth + 1)?;
            }
            return Some(());
        }
        _ => return None,
    };
    t.take(fixed).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Connection.Start as the 0-9-1 specification lays it out, properties as RabbitMQ names them.
    fn start(props: &[u8]) -> Vec<u8> {
        let mut payload = vec![0, 10, 0, 10, 0, 9];
        payload.extend_from_slice(&(props.len() as u32).to_be_bytes());
        payload.extend_from_slice(props);
        payload.extend_from_slice(b"\x00\x00\x00\x0ePLAIN AMQPLAIN\x00\x00\x00\x05en_US");
        let mut f = vec![1, 0, 0];
        f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        f.extend(payload);
        f.push(0xce);
        f
    }

    #[test]
    fn connection_start() {
        let props = b"\x0ccapabilitiesF\x00\x00\x00\x23\x12publisher_confirmst\x01\x06nestedA\x00\x00\x00\x02b\x07\x0ccluster_nameS\x00\x00\x00\x0drabbit@bed-01\x07productS\x00\x00\x00\x08RabbitMQ\x07versionS\x00\x00\x00\x063.10.8\x08platformS\x00\x00\x00\x0fErlang/OTP 25.2";
        let b = start(props);
        let f = decode(&b).unwrap();
        let get = |n: &str| {
            f.iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        };
        assert_eq!(get("amqp.protocol").as_deref(), Some("0-9"));
        assert_eq!(get("amqp.product").as_deref(), Some("RabbitMQ"));
        assert_eq!(get("amqp.version").as_deref(), Some("3.10.8"));
        assert_eq!(get("amqp.platform").as_deref(), Some("Erlang/OTP 25.2"));
        assert_eq!(get("amqp.cluster_name").as_deref(), Some("rabbit@bed-01"));
        assert_eq!(get("amqp.mechanisms").as_deref(), Some("PLAIN AMQPLAIN"));
        for cut in 0..b.len() {
            let _ = decode(&b[..cut]);
        }
        let real = decode(include_bytes!("testdata/rabbitmq-3.10.8-connection-start.bin")).unwrap();
        assert!(real.contains(&("amqp.version", b"3.10.8".to_vec())), "{real:?}");
        assert!(
            real.contains(&("amqp.platform", b"Erlang/OTP 25.2.3".to_vec())),
            "{real:?}"
        );
    }

    #[test]
    fn protocol_headers() {
        let one = |b: &[u8]| decode(b).map(|f| String::from_utf8_lossy(&f[0].1).into_owned());
        assert_eq!(one(b"AMQP\x03\x01\x00\x00").as_deref(), Some("1.0.0 id 3"));
        assert_eq!(one(b"AMQP\x00\x00\x09\x01").as_deref(), Some("0-9-1"));
        assert_eq!(one(b"AMQP\x01\x01\x08\x00").as_deref(), Some("8-0"));
        assert_eq!(one(b"AMQP\x07\x07\x07\x07"), None);
        assert_eq!(one(b"AMQ"), None);
        assert_eq!(one(b"\x01\x00\x00\x00\x00\x00\x04\x00\x0a\x00\x0b"), None);
    }
}
