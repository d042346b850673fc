//! UDP detection: which probe datagrams go to a port (from the `proto = "udp"` probes of the
//! database), and what the datagrams that came back say (rules, echo, the port table).

use std::sync::Arc;

use crate::detect::Detection;
use crate::fingerprint::{Confidence, Database, Identity, Matcher};
use crate::net::udp::UdpOptions;
use crate::ports::Proto;

/// One datagram to send, ready for the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpProbe {
    pub name: String,
    pub payload: Vec<u8>,
    /// Ports where this probe goes in the first round.
    pub ports: Vec<u16>,
}

/// How UDP ports are probed and identified.
#[derive(Debug, Clone)]
pub struct UdpPlan {
    pub probes: Vec<UdpProbe>,
    pub opts: UdpOptions,
    /// After a silent first round, every other probe is sent too (service detection on), so a
    /// service on an unusual port still answers.
    pub all_on_retry: bool,
}

/// The datagrams for one port: the probes that list it (an empty datagram when none does),
/// and the others, sent with the retries when detection is on.
pub struct Payloads<'a> {
    pub first: Vec<&'a UdpProbe>,
    pub more: Vec<&'a UdpProbe>,
}

impl<'a> Payloads<'a> {
    pub fn first_bytes(&self) -> Vec<&'a [u8]> {
        self.first.iter().map(|p| p.payload.as_slice()).collect()
    }
    pub fn more_bytes(&self) -> Vec<&'a [u8]> {
        self.more.iter().map(|p| p.payload.as_slice()).collect()
    }
}

impl UdpPlan {
    /// The UDP probes of `db`, with `{host}` left for [`for_host`] and SNMP
    /// communities replaced by `community` when given.
    pub fn from_db(db: &Database, opts: UdpOptions, all_on_retry: bool, community: Option<&str>) -> UdpPlan {
        let probes = db
            .probes
            .iter()
            .filter(|p| p.proto == Proto::Udp && !p.payload.is_empty())
            .map(|p| {
                let payload = community
                    .and_then(|c| snmp_with_community(&p.payload, c.as_bytes()))
                    .unwrap_or_else(|| p.payload.clone());
                UdpProbe {
                    name: p.name.clone(),
                    payload,
                    ports: p.ports.clone(),
                }
            })
            .collect();
        UdpPlan {
            probes,
            opts,
            all_on_retry,
        }
    }

    pub fn payloads(&self, port: u16) -> Payloads<'_> {
        let (first, rest): (Vec<&UdpProbe>, Vec<&UdpProbe>) =
            self.probes.iter().partition(|p| p.ports.contains(&port));
        let more = if self.all_on_retry { rest } else { Vec::new() };
        Payloads { first, more }
    }
}

/// The plan with `{host}` filled in (SIP and SSDP name the host they talk to).
pub fn for_host(plan: &Arc<UdpPlan>, host: &str) -> Arc<UdpPlan> {
    let marker = b"{host}";
    if !plan.probes.iter().any(|p| contains(&p.payload, marker)) {
        return plan.clone();
    }
    let mut filled = (**plan).clone();
    for p in &mut filled.probes {
        p.payload = replace(&p.payload, marker, host.as_bytes());
    }
    Arc::new(filled)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn replace(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len() + with.len());
    let mut rest = hay;
    while let Some(pos) = rest.windows(needle.len()).position(|w| w == needle) {
        out.extend_from_slice(&rest[..pos]);
        out.extend_from_slice(with);
        rest = &rest[pos + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

fn rank(c: Confidence) -> u8 {
    match c {
        Confidence::Hard => 0,
        Confidence::Generic => 1,
        Confidence::Soft => 2,
        Confidence::PortTable => 3,
    }
}

/// What the datagrams say: each reply is read as the answer to each probe sent (a datagram does
/// not say which one it answers; decoders recognise protocols by their framing), the surest
/// identity wins; a reply that is one of our payloads is an echo service.
pub fn identify(
    matcher: &Matcher,
    port_name: Option<&str>,
    replies: &[Vec<u8>],
    sent: &[&UdpProbe],
) -> Detection {
    let mut best: Option<(Identity, String, &[u8])> = None;
    'replies: for reply in replies.iter().filter(|r| !r.is_empty()) {
        for probe in sent {
            let Some(id) = matcher.identify(reply, &probe.name) else {
                continue;
            };
            if best
                .as_ref()
                .is_none_or(|(b, _, _)| rank(id.confidence) < rank(b.confidence))
            {
                let hard = id.confidence == Confidence::Hard;
                best = Some((id, probe.name.clone(), reply));
                if hard {
                    break 'replies;
                }
            }
        }
    }
    let echoed = || {
        replies.iter().find_map(|r| {
            sent.iter()
                .find(|p| !r.is_empty() && p.payload == *r)
                .map(|p| (p.name.clone(), r.as_slice()))
        })
    };
    let (identity, probe, banner) = match best {
        Some((id, probe, reply)) if id.confidence != Confidence::Soft => (id, probe, reply),
        soft => match echoed() {
            Some((probe, reply)) => {
                let echo = Identity {
                    service: "echo".into(),
                    rule: Some("echo".into()),
                    confidence: Confidence::Soft,
                    ..Identity::default()
                };
                (echo, probe, reply)
            }
            None => match soft {
                Some((id, probe, reply)) => (id, probe, reply),
                None => {
                    let identity = Identity {
                        service: port_name.unwrap_or("unknown").to_string(),
                        confidence: Confidence::PortTable,
                        ..Identity::default()
                    };
                    let probe = sent
                        .first()
                        .map(|p| p.name.clone())
                        .unwrap_or_else(|| "empty".into());
                    let banner = replies.first().map(Vec::as_slice).unwrap_or_default();
                    (identity, probe, banner)
                }
            },
        },
    };
    Detection {
        confidence: identity.confidence,
        identity,
        probe: Some(probe.clone()),
        tunnel: None,
        banner: (!banner.is_empty()).then(|| banner.to_vec()),
        banner_probe: Some(probe),
        tls: None,
    }
}

/// A BER length (X.690 §8.1.3): short form below 128, else long form.
fn ber_len(n: usize, out: &mut Vec<u8>) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Reads a BER TLV header at `b[pos..]`: (tag, content start, content end).
fn ber_tlv(b: &[u8], pos: usize) -> Option<(u8, usize, usize)> {
    let tag = *b.get(pos)?;
    let first = *b.get(pos + 1)?;
    let (len, start) = if first < 0x80 {
        (usize::from(first), pos + 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = b.get(pos + 2..pos + 2 + n)?;
        (
            bytes.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x)),
            pos + 2 + n,
        )
    };
    let end = start.checked_add(len)?;
    (end <= b.len()).then_some((tag, start, end))
}

/// An SNMP message (RFC 3416 over RFC 1157/1901 framing: SEQUENCE { version, community, PDU })
/// with another community string; `None` when `msg` is not one.
pub fn snmp_with_community(msg: &[u8], community: &[u8]) -> Option<Vec<u8>> {
    let (tag, start, end) = ber_tlv(msg, 0)?;
    if tag != 0x30 || end != msg.len() {
        return None;
    }
    let (vtag, _, vend) = ber_tlv(msg, start)?;
    let (ctag, _, cend) = ber_tlv(msg, vend)?;
    if vtag != 0x02 || ctag != 0x04 {
        return None;
    }
    let mut body = msg[start..vend].to_vec();
    body.push(0x04);
    ber_len(community.len(), &mut body);
    body.extend_from_slice(community);
    body.extend_from_slice(&msg[cend..end]);
    let mut out = vec![0x30];
    ber_len(body.len(), &mut out);
    out.extend_from_slice(&body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SNMPv1 GetRequest sysDescr.0, community "public" (RFC 1157 §4.1.2, RFC 1213 sysDescr).
    const GET_PUBLIC: &[u8] = b"\x30\x29\x02\x01\x00\x04\x06public\xa0\x1c\x02\x04\x70\x70\x00\x01\x02\x01\x00\x02\x01\x00\x30\x0e\x30\x0c\x06\x08\x2b\x06\x01\x02\x01\x01\x01\x00\x05\x00";

    #[test]
    fn the_community_is_replaced_and_lengths_follow() {
        let out = snmp_with_community(GET_PUBLIC, b"s3cret-community").unwrap();
        assert_eq!(out[1] as usize, out.len() - 2);
        assert_eq!(&out[5..7], b"\x04\x10");
        assert_eq!(&out[7..23], b"s3cret-community");
        assert_eq!(&out[23..], &GET_PUBLIC[13..]);
        // Back to public gives the original bytes.
        assert_eq!(snmp_with_community(&out, b"public").unwrap(), GET_PUBLIC);
        // A long community needs the long length form.
        let long = snmp_with_community(GET_PUBLIC, &[b'x'; 200]).unwrap();
        assert_eq!((long[1], usize::from(long[2])), (0x81, long.len() - 3));
        assert_eq!(&long[6..9], b"\x04\x81\xc8");
        assert!(snmp_with_community(b"\x30\x05hello", b"x").is_none());
        assert!(snmp_with_community(b"", b"x").is_none());
    }

    #[test]
    fn host_names_fill_the_payloads() {
        let plan = Arc::new(UdpPlan {
            probes: vec![UdpProbe {
                name: "sip".into(),
                payload: b"OPTIONS sip:{host} SIP/2.0".to_vec(),
                ports: vec![5060],
            }],
            opts: UdpOptions::default(),
            all_on_retry: false,
        });
        let filled = for_host(&plan, "pbx.example");
        assert_eq!(filled.probes[0].payload, b"OPTIONS sip:pbx.example SIP/2.0");
        let p = filled.payloads(5060);
        assert_eq!(p.first.len(), 1);
        assert!(filled.payloads(53).first.is_empty());
    }
}
