//! Services that answer only when spoken to in binary: ONC RPC and Java services from real
//! Debian daemons in a namespace of their own (tests/testbed/industrial.sh: rpcbind,
//! rmiregistry with a JDWP agent, tomcat10's AJP connector, activemq), and industrial
//! protocols (Modbus/TCP, Siemens S7comm, EtherNet/IP, DNP3), which Debian has no daemons
//! for, from small servers written here from the protocol specifications, on ephemeral
//! loopback ports.

use crate::common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write;
use std::net::TcpStream;

/// The binaries of the bed, for the skip message.
const BED: [&str; 4] = [
    "/usr/sbin/rpcbind",
    "/usr/bin/rmiregistry",
    "/usr/share/tomcat10/bin/catalina.sh",
    "/usr/share/java/activemq-run.jar",
];

fn require_industrial_bed(test: &str) -> bool {
    require_bed_programs(test, &BED)
}

#[test]
fn rpc_and_java_daemons_are_named() {
    if !require_industrial_bed("testbed_industrial") {
        return;
    }
    let snippet = "\"$PORTPROBE\" scan 127.0.0.1 -p 111,1099,5005,8009,8080,61616 --json && echo --- && \"$PORTPROBE\" scan 127.0.0.1 -p 111,5005";
    let out = shell_in_testbed("industrial.sh", snippet);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\nstderr: {}", stderr(&out));
    let (json, table) = text.split_once("---\n").expect("both scans ran");
    let ports: HashMap<u64, Value> = json
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .filter_map(|v| Some((v["port"].as_u64()?, v)))
        .collect();
    let upstream = |p: &str| deb_version(p).0;
    // Debian repacks some sources (+dfsg) and the JDK's upstream version carries its build
    // (+6): the daemons report the version before those.
    let plain = |v: String| v.split(['+', '~']).next().unwrap_or_default().to_string();
    let jdk = plain(upstream("openjdk-17-jre-headless"));
    let wants = [
        want(111, "name", "rpcbind"),
        want(111, "product", "rpcbind"),
        // The bed registers mountd and nfs as rpc.mountd and nfsd would.
        want(111, "info", "RPC programs: portmapper nfs mountd"),
        want(111, "probe", "rpc-portmap-dump"),
        want(1099, "name", "java-rmi"),
        want(1099, "product", "Java RMI"),
        want(1099, "probe", "java-rmi"),
        want(5005, "name", "jdwp"),
        want(5005, "product", "OpenJDK"),
        want(5005, "version", jdk.clone()),
        want(5005, "info", "Java Debug Wire Protocol; OpenJDK 64-Bit Server VM"),
        want(8009, "name", "ajp13"),
        want(8009, "confidence", "soft"),
        want(8009, "info", "AJP13 CPong"),
        want(8080, "name", "http"),
        want(8080, "product", "Apache Tomcat"),
        want(8080, "info", "Debian tomcat10 default page"),
        want(61616, "name", "activemq"),
        want(61616, "product", "Apache ActiveMQ"),
        want(61616, "version", plain(upstream("activemq"))),
        want(61616, "info", "OpenWire v12"),
    ];
    let mut bad = mismatches(&ports, &wants);
    for (port, v) in &ports {
        let soft = *port == 8009;
        if v["state"] != "open" || (!soft && v["service"]["confidence"] != "hard") {
            bad.push(format!("{port}/tcp: not open with a hard match: {v}"));
        }
    }
    let jdwp = format!(
        "5005/tcp  open      jdwp             syn-ack         OpenJDK {jdk} (Java Debug Wire Protocol; OpenJDK 64-Bit Server VM)"
    );
    if !table.lines().any(|l| l == jdwp) {
        bad.push(format!("no table line {jdwp:?}"));
    }
    assert!(bad.is_empty(), "{}\n\n{text}", bad.join("\n"));
}

// ---- Servers written from the specifications (no Debian package exists) ----

/// The device the Modbus server describes: VendorName, ProductCode, MajorMinorRevision
/// (basic), VendorUrl, ProductName, ModelName (regular).
const MODBUS_OBJECTS: [(u8, &str); 6] = [
    (0, "Testbed Automation"),
    (1, "TB-PLC 100"),
    (2, "V2.4.1"),
    (3, "http://testbed.invalid/"),
    (4, "Testbed PLC"),
    (5, "TB-100"),
];

/// Modbus Application Protocol §6.21 and §7: function 43 MEI 14 with read device id code
/// 1 (basic objects 0-2), 2 (regular, 0-5) or 4 (the one object asked for) is answered with
/// those objects; any other function gets exception 1 (illegal function), an unknown object
/// exception 2. `request` is the whole ADU (MBAP header and PDU).
fn modbus_answer(request: &[u8]) -> Option<Vec<u8>> {
    let (head, pdu) = (request.get(..7)?, request.get(7..)?);
    if head[2..4] != [0, 0] || usize::from(u16::from_be_bytes([head[4], head[5]])) != pdu.len() + 1 {
        return None;
    }
    let exception = |code: u8| vec![pdu[0] | 0x80, code];
    let reply = match pdu {
        [0x2b, 0x0e, code @ (1 | 2 | 4), object] => {
            let wanted: Vec<&(u8, &str)> = match code {
                1 => MODBUS_OBJECTS
                    .iter()
                    .filter(|o| o.0 <= 2 && o.0 >= *object)
                    .collect(),
                2 => MODBUS_OBJECTS.iter().filter(|o| o.0 >= *object).collect(),
                _ => MODBUS_OBJECTS.iter().filter(|o| o.0 == *object).collect(),
            };
            if wanted.is_empty() {
                exception(2)
            } else {
                let mut r = vec![0x2b, 0x0e, *code, 0x02, 0, 0, wanted.len() as u8];
                for (id, v) in wanted {
                    r.extend_from_slice(&[*id, v.len() as u8]);
                    r.extend_from_slice(v.as_bytes());
                }
                r
            }
        }
        [_, ..] => exception(1),
        [] => return None,
    };
    let mut out = head[..4].to_vec();
    out.extend_from_slice(&((reply.len() + 1) as u16).to_be_bytes());
    out.push(head[6]);
    out.extend(reply);
    Some(out)
}

fn modbus_server(mut s: TcpStream) {
    while let Some(head) = read_n(&mut s, 7) {
        let len = usize::from(u16::from_be_bytes([head[4], head[5]]));
        if !(2..=254).contains(&len) {
            return;
        }
        let Some(pdu) = read_n(&mut s, len - 1) else {
            return;
        };
        let Some(reply) = modbus_answer(&[head, pdu].concat()) else {
            return;
        };
        if s.write_all(&reply).is_err() {
            return;
        }
    }
}

/// A TPKT (RFC 1006) around `body`.
fn tpkt(body: &[u8]) -> Vec<u8> {
    let mut out = vec![3, 0];
    out.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// The CPU the S7 server describes: SZL 0x0011 (order number, firmware) and 0x001C
/// (automation system name, module name, serial number, module type).
const S7_ORDER: &str = "6ES7 315-2EH14-0AB0";
const S7_FIRMWARE: [u8; 3] = [3, 2, 6];
const S7_NAMES: [(u8, &str); 4] = [
    (1, "SIMATIC 300(1)"),
    (2, "CPU 315-2 PN/DP"),
    (5, "S C-H6U123452012"),
    (7, "CPU 315-2 PN/DP"),
];

/// One answer of an S7 CPU in `slot` of rack 0 as public S7comm descriptions give it: a COTP
/// connection request to a called TSAP in that slot is confirmed, one to another slot gets a
/// disconnect request; setup communication (job 0xF0) is acknowledged with a
/// PDU size of 240; user data "read SZL" of lists 0x0011 and 0x001C is answered with the
/// records, any other list with return code 0x0A (object does not exist).
fn s7_answer(tpdu: &[u8], slot: u8) -> Option<Vec<u8>> {
    let li = usize::from(*tpdu.first()?);
    let header = tpdu.get(1..=li)?;
    match header.first()? & 0xf0 {
        0xe0 => {
            let params = header.get(6..)?;
            let called = params.windows(4).find(|w| w[..2] == [0xc2, 0x02])?;
            if called[3] & 0x1f != slot {
                return Some(tpkt(&[6, 0x80, header[3], header[4], 0, 1, 0]));
            }
            // CC: the caller's reference as destination, ours as source, its parameters.
            let mut cc = vec![0xd0, header[3], header[4], 0x00, 0x01, 0x00];
            cc.extend_from_slice(params);
            let mut body = vec![cc.len() as u8];
            body.extend(cc);
            Some(tpkt(&body))
        }
        0xf0 => {
            let s7 = tpdu.get(li + 1..)?;
            if s7.first() != Some(&0x32) || s7.len() < 10 {
                return None;
            }
            let (rosctr, pdu_ref) = (s7[1], [s7[4], s7[5]]);
            let plen = usize::from(u16::from_be_bytes([s7[6], s7[7]]));
            let params = s7.get(10..10 + plen)?;
            let data = s7.get(10 + plen..)?;
            let mut out = vec![0x02, 0xf0, 0x80, 0x32];
            match (rosctr, params.first()) {
                (1, Some(0xf0)) => {
                    out.extend_from_slice(&[3, 0, 0, pdu_ref[0], pdu_ref[1], 0, 8, 0, 0, 0, 0]);
                    out.extend_from_slice(&[0xf0, 0, 0, 1, 0, 1, 0, 240]);
                }
                (7, Some(0)) if params.get(5) == Some(&0x44) && params.get(6) == Some(&1) => {
                    let id = u16::from_be_bytes([*data.get(4)?, *data.get(5)?]);
                    let records: Vec<Vec<u8>> = match id {
                        0x0011 => {
                            let mut order = vec![0, 1];
                            order.extend_from_slice(format!("{S7_ORDER:<20}").as_bytes());
                            order.extend_from_slice(&[0, 0xc0, 0, 4, 0, 1]);
                            let mut fw = vec![0, 7];
                            fw.extend_from_slice(&[b' '; 20]);
                            fw.extend_from_slice(&[0, 0xc0, b'V']);
                            fw.extend_from_slice(&S7_FIRMWARE);
                            vec![order, fw]
                        }
                        0x001c => S7_NAMES
                            .iter()
                            .map(|(i, t)| {
                                let mut r = vec![0, *i];
                                let mut s = t.as_bytes().to_vec();
                                s.resize(32, 0);
                                r.extend(s);
                                r
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    let data = if records.is_empty() {
                        vec![0x0a, 0, 0, 0]
                    } else {
                        let mut list = id.to_be_bytes().to_vec();
                        list.extend_from_slice(&[0, 0]);
                        list.extend_from_slice(&(records[0].len() as u16).to_be_bytes());
                        list.extend_from_slice(&(records.len() as u16).to_be_bytes());
                        for r in &records {
                            list.extend_from_slice(r);
                        }
                        let mut d = vec![0xff, 0x09];
                        d.extend_from_slice(&(list.len() as u16).to_be_bytes());
                        d.extend(list);
                        d
                    };
                    let params = [
                        0,
                        1,
                        0x12,
                        8,
                        0x12,
                        0x84,
                        1,
                        params.get(7).copied().unwrap_or(0),
                        0,
                        0,
                        0,
                        0,
                    ];
                    out.extend_from_slice(&[7, 0, 0, pdu_ref[0], pdu_ref[1]]);
                    out.extend_from_slice(&(params.len() as u16).to_be_bytes());
                    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
                    out.extend_from_slice(&params);
                    out.extend(data);
                }
                _ => return None,
            }
            Some(tpkt(&out))
        }
        _ => None,
    }
}

/// An S7-300 CPU in slot 2 (PG connections to TSAP 0x0102).
fn s7_server(s: TcpStream) {
    s7_serve(s, 2);
}

/// A CPU in slot 0 (TSAP 0x0200 reaches it).
fn s7_server_slot0(s: TcpStream) {
    s7_serve(s, 0);
}

fn s7_serve(mut s: TcpStream, slot: u8) {
    while let Some(head) = read_n(&mut s, 4) {
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        if head[..2] != [3, 0] || !(7..=2048).contains(&len) {
            return;
        }
        let Some(tpdu) = read_n(&mut s, len - 4) else {
            return;
        };
        let Some(reply) = s7_answer(&tpdu, slot) else {
            return;
        };
        if s.write_all(&reply).is_err() {
            return;
        }
    }
}

/// CIP Vol. 2 §2-4.2: ListIdentity (0x63) with no data is answered with one CIP Identity
/// item describing a ControlLogix controller; any other command closes the connection.
fn enip_answer(request: &[u8]) -> Option<Vec<u8>> {
    let h = request.get(..24)?;
    if h[..4] != [0x63, 0, 0, 0] {
        return None;
    }
    let name = b"1756-L61/B LOGIX5561";
    let mut item = 1u16.to_le_bytes().to_vec();
    item.extend_from_slice(&[0, 2, 0xaf, 0x12, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    for v in [1u16, 14, 89] {
        item.extend_from_slice(&v.to_le_bytes());
    }
    item.extend_from_slice(&[20, 11, 0x30, 0x00]);
    item.extend_from_slice(&0x60a1_b2c3u32.to_le_bytes());
    item.push(name.len() as u8);
    item.extend_from_slice(name);
    item.push(3);
    let mut data = 1u16.to_le_bytes().to_vec();
    data.extend_from_slice(&0x0cu16.to_le_bytes());
    data.extend_from_slice(&(item.len() as u16).to_le_bytes());
    data.extend(item);
    let mut out = 0x63u16.to_le_bytes().to_vec();
    out.extend_from_slice(&(data.len() as u16).to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&h[12..20]); // the sender context, returned as sent
    out.extend_from_slice(&[0; 4]);
    out.extend(data);
    Some(out)
}

fn enip_server(mut s: TcpStream) {
    let Some(head) = read_n(&mut s, 24) else { return };
    let len = usize::from(u16::from_le_bytes([head[2], head[3]]));
    if len > 0 && read_n(&mut s, len.min(4096)).is_none() {
        return;
    }
    if let Some(reply) = enip_answer(&head) {
        let _ = s.write_all(&reply);
        let _ = read_n(&mut s, 1);
    }
}

/// DNP3's header CRC (IEEE 1815 §9.2.2: polynomial 0x3D65, reflected, complemented, low
/// byte first).
fn dnp3_crc(data: &[u8]) -> [u8; 2] {
    let mut c: u16 = 0;
    for &b in data {
        c ^= u16::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0xa6bc } else { c >> 1 };
        }
    }
    (!c).to_le_bytes()
}

/// The outstation's address.
const DNP3_OUTSTATION: u16 = 1;

/// IEEE 1815 §9.2: a primary frame from a master (DIR and PRM set) with function 9 REQUEST
/// LINK STATUS, addressed to this outstation, with a good CRC, is answered LINK STATUS (11)
/// from the outstation back to the master's address; anything else is ignored.
fn dnp3_answer(request: &[u8]) -> Option<Vec<u8>> {
    let h = request.get(..10)?;
    if h[..3] != [0x05, 0x64, 0x05] || h[3] != 0xc9 || dnp3_crc(&h[..8]) != [h[8], h[9]] {
        return None;
    }
    let (dest, src) = (u16::from_le_bytes([h[4], h[5]]), [h[6], h[7]]);
    if dest != DNP3_OUTSTATION {
        return None;
    }
    let mut out = vec![0x05, 0x64, 0x05, 0x0b, src[0], src[1]];
    out.extend_from_slice(&DNP3_OUTSTATION.to_le_bytes());
    let crc = dnp3_crc(&out);
    out.extend_from_slice(&crc);
    Some(out)
}

fn dnp3_server(mut s: TcpStream) {
    while let Some(frame) = read_n(&mut s, 10) {
        let Some(reply) = dnp3_answer(&frame) else { return };
        if s.write_all(&reply).is_err() {
            return;
        }
    }
}

#[test]
fn spec_servers_answer_as_the_specifications_say() {
    use portprobe::fingerprint::binary::{enip, modbus, s7};
    let has = |f: &[(&str, Vec<u8>)], k: &str, v: &str| f.contains(&(k, v.as_bytes().to_vec()));
    let reply = modbus_answer(b"\x50\x50\x00\x00\x00\x05\xff\x2b\x0e\x01\x00").unwrap();
    let f = modbus::decode(&reply).unwrap();
    assert!(
        has(&f, "modbus.vendor", "Testbed Automation") && has(&f, "modbus.revision", "V2.4.1"),
        "{f:?}"
    );
    assert!(
        f.iter().all(|(k, _)| *k != "modbus.product_name"),
        "basic objects only: {f:?}"
    );
    let reply = modbus_answer(b"\x00\x01\x00\x00\x00\x06\x01\x03\x00\x00\x00\x01").unwrap();
    let f = modbus::decode(&reply).unwrap();
    assert!(
        has(&f, "modbus.exception", "1 illegal function (function 3)"),
        "{f:?}"
    );
    assert_eq!(modbus_answer(b"\x00\x01\x00\x07\x00\x02\x01\x03"), None);

    let cr = b"\x11\xe0\x00\x00\x00\x01\x00\xc0\x01\x0a\xc1\x02\x01\x00\xc2\x02\x01\x02";
    let setup = b"\x02\xf0\x80\x32\x01\x00\x00\x00\x00\x00\x08\x00\x00\xf0\x00\x00\x01\x00\x01\x01\xe0";
    let szl = |id: u8| {
        let mut r = b"\x02\xf0\x80\x32\x07\x00\x00\x00\x01\x00\x08\x00\x08\x00\x01\x12\x04\x11\x44\x01\x00\xff\x09\x00\x04\x00".to_vec();
        r.extend_from_slice(&[id, 0, 0]);
        r
    };
    let mut all = Vec::new();
    for req in [cr.to_vec(), setup.to_vec(), szl(0x11), szl(0x1c)] {
        all.extend(s7_answer(&req, 2).unwrap());
    }
    let f = s7::decode(&all).unwrap();
    assert!(
        has(&f, "s7.pdu_size", "240") && has(&f, "s7.firmware", "V3.2.6"),
        "{f:?}"
    );
    assert!(
        has(&f, "s7.order_number", S7_ORDER) && has(&f, "s7.serial", "S C-H6U123452012"),
        "{f:?}"
    );
    assert_eq!(
        s7_answer(b"\x06\xe0\x00\x00\x00\x01\x00", 2),
        None,
        "a CR without a called TSAP"
    );
    let refused = s7_answer(
        b"\x11\xe0\x00\x00\x00\x01\x00\xc0\x01\x0a\xc1\x02\x01\x00\xc2\x02\x02\x00",
        2,
    );
    assert_eq!(
        refused.as_deref(),
        Some(&b"\x03\x00\x00\x0b\x06\x80\x00\x01\x00\x01\x00"[..]),
        "a CR to another slot"
    );

    let reply =
        enip_answer(b"\x63\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00portprob\x00\x00\x00\x00").unwrap();
    assert_eq!(&reply[12..20], b"portprob");
    let f = enip::decode(&reply).unwrap();
    assert!(
        has(&f, "enip.product_name", "1756-L61/B LOGIX5561") && has(&f, "enip.revision", "20.011"),
        "{f:?}"
    );
    assert_eq!(
        enip_answer(b"\x65\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00portprob\x00\x00\x00\x00"),
        None
    );

    let link = dnp3_answer(b"\x05\x64\x05\xc9\x01\x00\x00\x00\xde\x8e").unwrap();
    assert_eq!(link, b"\x05\x64\x05\x0b\x00\x00\x01\x00\xba\xf0");
    assert_eq!(
        dnp3_answer(b"\x05\x64\x05\xc9\x01\x00\x00\x00\xde\x8f"),
        None,
        "a bad CRC"
    );
    assert_eq!(dnp3_answer(b"\x05\x64\x05\xc9\x02\x00\x00\x00\x00\x00"), None);
}

#[test]
fn industrial_protocols_are_recognised_on_any_port() {
    let modbus = serve(modbus_server);
    let s7 = serve(s7_server);
    let s7_slot0 = serve(s7_server_slot0);
    let enip = serve(enip_server);
    let dnp3 = serve(dnp3_server);
    let ports = format!("{modbus},{s7},{s7_slot0},{enip},{dnp3}");
    let args = [
        "scan",
        "127.0.0.1",
        "-p",
        &ports,
        "--json",
        "--detect-timeout",
        "20s",
    ];
    let out = portprobe_expect(&args, 0);
    let got = by_port(&out);
    let (modbus, s7, enip, dnp3) = (u64::from(modbus), u64::from(s7), u64::from(enip), u64::from(dnp3));
    let s7_slot0 = u64::from(s7_slot0);
    let wants = [
        want(modbus, "name", "modbus"),
        want(modbus, "vendor", "Testbed Automation"),
        want(modbus, "product", "TB-PLC 100"),
        want(modbus, "version", "2.4.1"),
        want(modbus, "probe", "modbus-device-id"),
        want(s7, "name", "iso-tsap"),
        want(s7, "vendor", "Siemens"),
        want(s7, "product", "Siemens S7 PLC CPU 315-2 PN/DP"),
        want(s7, "version", "3.2.6"),
        want(
            s7,
            "info",
            "order number 6ES7 315-2EH14-0AB0; serial S C-H6U123452012",
        ),
        want(s7, "probe", "s7comm"),
        want(s7_slot0, "product", "Siemens S7 PLC CPU 315-2 PN/DP"),
        want(s7_slot0, "version", "3.2.6"),
        want(s7_slot0, "probe", "s7comm-tsap0200"),
        want(enip, "name", "enip"),
        want(enip, "vendor", "Rockwell Automation/Allen-Bradley"),
        want(enip, "product", "1756-L61/B LOGIX5561"),
        want(enip, "version", "20.011"),
        want(enip, "info", "serial 0x60a1b2c3"),
        want(dnp3, "name", "dnp3"),
        want(dnp3, "confidence", "soft"),
        want(dnp3, "info", "DNP3 link layer, address 1"),
        want(dnp3, "probe", "dnp3-link-status"),
    ];
    let bad = mismatches(&got, &wants);
    assert!(bad.is_empty(), "{}\n\n{}", bad.join("\n"), explain(&args, &out));
}
