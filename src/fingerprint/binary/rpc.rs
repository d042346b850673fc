//! ONC RPC port mapper's DUMP reply over TCP (RFC 5531 §9 messages and §11 record marking,
//! RFC 1833 §3.2 PMAPPROC_DUMP): the programs registered with rpcbind/portmap, named from
//! fingerprints/rpc-programs.txt, and what a port mapper that refuses the call says.

use super::{joined, num, Fields, Reader, MAX_LIST};

/// Program numbers and names, as data (fingerprints/rpc-programs.txt).
const PROGRAMS: &str = include_str!("../../../fingerprints/rpc-programs.txt");
/// The port mapper's own program number.
const PORTMAPPER: u32 = 100_000;
/// Most mappings read from one list (a busy NFS server registers about 40).
const MAX_MAPPINGS: usize = 512;

/// The usual name of an RPC program, if fingerprints/rpc-programs.txt knows it.
pub fn program_name(program: u32) -> Option<&'static str> {
    PROGRAMS
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .find(|(n, _)| n.parse::<u32>().ok() == Some(program))
        .map(|(_, name)| name.trim())
}

/// One registration: program, version, protocol number, port.
type Mapping = (u32, u32, u32, u32);

/// The reply body: every record-marked fragment of `b` joined (RFC 5531 §11), at most what
/// was received.
fn record(b: &[u8]) -> Option<Vec<u8>> {
    let mut r = Reader::new(b);
    let mut out = Vec::new();
    loop {
        let mark = r.u32_be()?;
        let len = usize::try_from(mark & 0x7fff_ffff).ok()?;
        // A reply is at least xid, REPLY, MSG_ACCEPTED/DENIED and a status; a fragment of
        // more than 1 MiB is no port mapper's (and rules out other length-prefixed formats,
        // whose next bytes would make the mark huge).
        if (out.is_empty() && len < 16) || len > 1 << 20 {
            return None;
        }
        let frag = r.take(len.min(r.rest().len()))?;
        out.extend_from_slice(frag);
        if mark & 0x8000_0000 != 0 || r.rest().is_empty() || out.len() >= 1 << 20 {
            return Some(out);
        }
    }
}

pub fn decode(b: &[u8]) -> Option<Fields> {
    let body = record(b)?;
    let mut r = Reader::new(&body);
    let _xid = r.u32_be()?;
    if r.u32_be()? != 1 {
        return None; // not a REPLY
    }
    let mut fields = Fields::new();
    match r.u32_be()? {
        0 => {}
        1 => {
            // MSG_DENIED: RPC_MISMATCH (low, high) or AUTH_ERROR (stat).
            let reason = match r.u32_be()? {
                0 => {
                    let (low, high) = (r.u32_be()?, r.u32_be()?);
                    if low > 1000 || high > 1000 {
                        return None;
                    }
                    format!("rpc-mismatch {low}-{high}")
                }
                1 => format!("auth-error {}", r.u32_be().filter(|s| *s <= 20)?),
                _ => return None,
            };
            fields.push(("rpc.reply", b"denied".to_vec()));
            fields.push(("rpc.error", reason.into_bytes()));
            return Some(fields);
        }
        _ => return None,
    }
    // Accepted: a verifier (flavor, opaque body of at most 400 bytes), then accept_stat.
    let flavor = r.u32_be()?;
    let vlen = usize::try_from(r.u32_be()?).ok()?;
    if flavor > 10 || vlen > 400 {
        return None;
    }
    r.take(vlen.div_ceil(4) * 4)?;
    let stat = r.u32_be()?;
    let status = match stat {
        0 => "success",
        1 => "prog-unavail",
        2 => "prog-mismatch",
        3 => "proc-unavail",
        4 => "garbage-args",
        5 => "system-err",
        _ => return None,
    };
    fields.push(("rpc.reply", b"accepted".to_vec()));
    if stat != 0 {
        fields.push(("rpc.error", status.as_bytes().to_vec()));
        return Some(fields);
    }
    // pmaplist: (value-follows, mapping)* 0 (RFC 1833 §3.1, XDR optional-data).
    let mut maps: Vec<Mapping> = Vec::new();
    loop {
        match r.u32_be() {
            Some(1) if maps.len() < MAX_MAPPINGS => {
                let (Some(prog), Some(vers), Some(prot), Some(port)) =
                    (r.u32_be(), r.u32_be(), r.u32_be(), r.u32_be())
                else {
                    break; // cut by the read cap: keep what came
                };
                if port > 65535 || vers > 1000 {
                    return None;
                }
                maps.push((prog, vers, prot, port));
            }
            Some(0) | None => break,
            Some(1) => break,
            Some(_) => return None,
        }
    }
    // An empty list, or one without the port mapper itself, is not a port mapper's DUMP.
    if !maps.iter().any(|m| m.0 == PORTMAPPER) {
        return None;
    }
    fields.push(("rpc.count", num(maps.len())));
    fields.push(("rpc.programs", programs(&maps)));
    let mut versions: Vec<u32> = maps.iter().filter(|m| m.0 == PORTMAPPER).map(|m| m.1).collect();
    versions.sort_unstable();
    versions.dedup();
    fields.push(("rpc.portmapper_versions", joined(versions.iter().map(num), b' ')));
    let mut numbers: Vec<u32> = maps.iter().map(|m| m.0).collect();
    numbers.sort_unstable();
    numbers.dedup();
    let names = numbers
        .iter()
        .take(MAX_LIST)
        .map(|&p| program_name(p).map_or_else(|| num(p), |n| n.as_bytes().to_vec()));
    fields.push(("rpc.program_names", joined(names, b' ')));
    Some(fields)
}

/// `100000 portmapper v2-4 tcp,udp 111, 100005 mountd v1-3 tcp 20048, …`: one item per
/// program and port, in the order registered.
fn programs(maps: &[Mapping]) -> Vec<u8> {
    let mut groups: Vec<(u32, u32, Vec<u32>, Vec<u32>)> = Vec::new();
    for &(prog, vers, prot, port) in maps {
        match groups.iter_mut().find(|g| g.0 == prog && g.1 == port) {
            Some(g) => {
                if !g.2.contains(&vers) {
                    g.2.push(vers);
                }
                if !g.3.contains(&prot) {
                    g.3.push(prot);
                }
            }
            None => groups.push((prog, port, vec![vers], vec![prot])),
        }
    }
    let items = groups.into_iter().map(|(prog, port, mut vers, prots)| {
        vers.sort_unstable();
        let (lo, hi) = (vers[0], vers[vers.len() - 1]);
        let contiguous = usize::try_from(hi - lo).ok() == Some(vers.len() - 1);
        let v = if lo == hi {
            format!("v{lo}")
        } else if contiguous {
            format!("v{lo}-{hi}")
        } else {
            format!(
                "v{}",
                vers.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
            )
        };
        let p: Vec<String> = prots
            .iter()
            .map(|p| match p {
                6 => "tcp".to_string(),
                17 => "udp".to_string(),
                other => format!("proto{other}"),
            })
            .collect();
        let name = program_name(prog).map(|n| format!(" {n}")).unwrap_or_default();
        format!("{prog}{name} {v} {} {port}", p.join(",")).into_bytes()
    });
    let mut out = Vec::new();
    for (i, item) in items.take(MAX_LIST).enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(&item);
        if out.len() >= super::MAX_VALUE {
            break;
        }
    }
    out.truncate(super::MAX_VALUE);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DUMP reply as RFC 5531 and RFC 1833 lay it out.
    pub(crate) fn reply(maps: &[Mapping]) -> Vec<u8> {
        let mut body: Vec<u8> = Vec::new();
        for w in [0x5050_0001u32, 1, 0, 0, 0, 0] {
            body.extend_from_slice(&w.to_be_bytes());
        }
        for m in maps {
            for w in [1, m.0, m.1, m.2, m.3] {
                body.extend_from_slice(&w.to_be_bytes());
            }
        }
        body.extend_from_slice(&0u32.to_be_bytes());
        let mut out = (0x8000_0000u32 | body.len() as u32).to_be_bytes().to_vec();
        out.extend(body);
        out
    }

    use crate::fingerprint::binary::field_text as get;

    #[test]
    fn dump_list() {
        let b = reply(&[
            (100000, 4, 6, 111),
            (100000, 3, 6, 111),
            (100000, 2, 6, 111),
            (100000, 4, 17, 111),
            (100005, 1, 6, 20048),
            (100005, 3, 6, 20048),
            (100003, 3, 6, 2049),
            (400123, 1, 6, 40000),
        ]);
        let f = decode(&b).unwrap();
        assert_eq!(get(&f, "rpc.count").as_deref(), Some("8"));
        assert_eq!(
            get(&f, "rpc.programs").as_deref(),
            Some("100000 portmapper v2-4 tcp,udp 111, 100005 mountd v1,3 tcp 20048, 100003 nfs v3 tcp 2049, 400123 v1 tcp 40000")
        );
        assert_eq!(get(&f, "rpc.portmapper_versions").as_deref(), Some("2 3 4"));
        assert_eq!(
            get(&f, "rpc.program_names").as_deref(),
            Some("portmapper nfs mountd 400123")
        );
        for cut in 0..b.len() {
            let _ = decode(&b[..cut]);
        }
        // No port mapper in the list, a call instead of a reply: not a DUMP.
        assert!(decode(&reply(&[(100003, 3, 6, 2049)])).is_none());
        let mut call = b.clone();
        call[11] = 0;
        assert!(decode(&call).is_none());
    }

    #[test]
    fn refusals() {
        let denied = b"\x80\x00\x00\x18\x50\x50\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x02";
        let f = decode(denied).unwrap();
        assert_eq!(get(&f, "rpc.error").as_deref(), Some("rpc-mismatch 2-2"));
        let unavail = b"\x80\x00\x00\x18\x50\x50\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01";
        let f = decode(unavail).unwrap();
        assert_eq!(get(&f, "rpc.error").as_deref(), Some("prog-unavail"));
        assert_eq!(program_name(100_021), Some("nlockmgr"));
        assert_eq!(program_name(7), None);
    }
}
