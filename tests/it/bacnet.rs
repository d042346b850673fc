//! BACnet/IP identification (`scan -u`): small BACnet/IP devices written here from ASHRAE 135
//! (Annex J BVLC, clause 6 NPDU, clause 15.7 ReadPropertyMultiple, clause 20 encoding) answer
//! on ephemeral loopback UDP ports, which no probe lists, so the silent-port retry sends them
//! every UDP probe; Debian has no BACnet daemon.

use crate::common::*;
use serde_json::Value;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

/// The device's Device object instance and its properties (clause 12.11).
const INSTANCE: u32 = 260_001;
const PROPERTIES: [(u32, &str); 5] = [
    (121, "Testbed Building Systems"),
    (70, "TB-DDC 400 Controller"),
    (44, "V5.3.2"),
    (12, "5.3.2-b17"),
    (77, "AHU-7 controller"),
];

/// A context-tagged unsigned property identifier (clause 20.2.4) of tag `number`.
fn context_unsigned(number: u8, value: u32) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take(3).take_while(|&&b| b == 0).count();
    let mut out = vec![number << 4 | 0x08 | (4 - skip) as u8];
    out.extend_from_slice(&bytes[skip..]);
    out
}

/// BVLC Original-Unicast-NPDU and an NPDU without routing around `apdu`.
fn frame(apdu: &[u8]) -> Vec<u8> {
    let mut m = vec![0x81, 0x0a, 0, 0, 0x01, 0x00];
    m.extend_from_slice(apdu);
    let len = u16::try_from(m.len()).expect("small").to_be_bytes();
    m[2..4].copy_from_slice(&len);
    m
}

/// The APDU of a confirmed request in `datagram`, if the BVLC and NPDU are well formed.
fn confirmed_request(datagram: &[u8]) -> Option<&[u8]> {
    let [0x81, 0x0a | 0x0b, hi, lo, 0x01, control, apdu @ ..] = datagram else {
        return None;
    };
    // Routed requests and network layer messages are not for this device.
    if usize::from(u16::from_be_bytes([*hi, *lo])) != datagram.len() || control & 0xa8 != 0 {
        return None;
    }
    (apdu.first()? & 0xf0 == 0).then_some(apdu)
}

/// A device's answer (or none) to one datagram; `rpm` says whether it implements
/// ReadPropertyMultiple (small devices reject it as an unrecognized service, clause 18.8).
fn answer(datagram: &[u8], rpm: bool) -> Option<Vec<u8>> {
    let apdu = confirmed_request(datagram)?;
    // Unsegmented requests only: type 0 without the SEG bit, max-APDU byte, invoke ID, service.
    let [0x00 | 0x02, _, invoke, service, rest @ ..] = apdu else {
        return None;
    };
    if *service != 14 || !rpm {
        return Some(frame(&[0x60, *invoke, 9]));
    }
    // ReadAccessSpecification: [0] object identifier, [1] list of property references.
    let [0x0c, a, b, c, d, 0x1e, refs @ .., 0x1f] = rest else {
        return Some(frame(&[0x60, *invoke, 4])); // invalid-parameter-data-type
    };
    let object = u32::from_be_bytes([*a, *b, *c, *d]);
    let instance = object & 0x3f_ffff;
    if object >> 22 != 8 || (instance != 4_194_303 && instance != INSTANCE) {
        // Error-PDU: class object (1), code unknown-object (31).
        return Some(frame(&[0x50, *invoke, 14, 0x91, 1, 0x91, 31]));
    }
    let mut ack = vec![0x30, *invoke, 14];
    // [0] the Device's object identifier (four bytes, clause 20.2.14), then [1] the results.
    ack.push(0x0c);
    ack.extend((8 << 22 | INSTANCE).to_be_bytes());
    ack.push(0x1e);
    let mut r = refs;
    while let [t, more @ ..] = r {
        // [0] property identifier, one or two bytes; no array index.
        let len = usize::from(t & 0x07);
        if t & 0xf8 != 0x08 || !(1..=2).contains(&len) || more.len() < len {
            return Some(frame(&[0x60, *invoke, 4]));
        }
        let property = more[..len].iter().fold(0u32, |n, &x| n << 8 | u32::from(x));
        r = &more[len..];
        ack.extend(context_unsigned(2, property));
        match PROPERTIES.iter().find(|(p, _)| *p == property) {
            Some((_, value)) => {
                // [4] CharacterString, ANSI X3.4 (character set 0), extended length.
                ack.extend([0x4e, 0x75, u8::try_from(value.len() + 1).expect("short"), 0]);
                ack.extend_from_slice(value.as_bytes());
                ack.push(0x4f);
            }
            // [5] class property (2), code unknown-property (32).
            None => ack.extend([0x5e, 0x91, 2, 0x91, 32, 0x5f]),
        }
    }
    ack.push(0x1f);
    Some(frame(&ack))
}

/// Serves `answer` on a loopback UDP port for a minute; returns the port.
fn serve_udp(rpm: bool) -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP port");
    let port = socket.local_addr().expect("its address").port();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("read timeout");
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut buf = [0u8; 1500];
        while Instant::now() < deadline {
            let Ok((n, peer)) = socket.recv_from(&mut buf) else {
                continue;
            };
            if let Some(reply) = answer(&buf[..n], rpm) {
                let _ = socket.send_to(&reply, peer);
            }
        }
    });
    port
}

#[test]
fn the_spec_device_answers_as_ashrae_135_says() {
    use portprobe::fingerprint::binary::bacnet;
    let request = b"\x81\x0a\x00\x1b\x01\x04\x00\x05\x01\x0e\x0c\x02\x3f\xff\xff\x1e\x09\x79\x09\x46\x09\x2c\x09\x0c\x09\x4d\x1f";
    let f = bacnet::decode(&answer(request, true).expect("an answer")).expect("decodes");
    let want: Vec<(&str, Vec<u8>)> = vec![
        ("bacnet.apdu", b"complex-ack".to_vec()),
        ("bacnet.instance", b"260001".to_vec()),
        ("bacnet.vendor_name", PROPERTIES[0].1.into()),
        ("bacnet.model_name", PROPERTIES[1].1.into()),
        ("bacnet.firmware", PROPERTIES[2].1.into()),
        ("bacnet.software_version", PROPERTIES[3].1.into()),
        ("bacnet.object_name", PROPERTIES[4].1.into()),
    ];
    assert_eq!(f, want);
    let f = bacnet::decode(&answer(request, false).expect("an answer")).expect("decodes");
    assert_eq!(
        f,
        vec![
            ("bacnet.apdu", b"reject".to_vec()),
            ("bacnet.reason", b"9".to_vec())
        ]
    );
    // Another device's object: an Error; a wrong length: silence.
    let mut other = request.to_vec();
    other[12] = 0x00;
    let f = bacnet::decode(&answer(&other, true).expect("an answer")).expect("decodes");
    assert_eq!(f[1], ("bacnet.error", b"class 1 code 31".to_vec()));
    assert_eq!(answer(&request[..26], true), None);
}

#[test]
fn bacnet_devices_are_named_on_any_udp_port() {
    let device = serve_udp(true);
    let small = serve_udp(false);
    let ports = format!("{device},{small}");
    let args = ["scan", "127.0.0.1", "-u", "-p", &ports, "--json"];
    let out = portprobe_expect(&args, 0);
    let got: Vec<Value> = json_lines(&out);
    let record = |port: u16| {
        got.iter()
            .find(|v| v["port"].as_u64() == Some(u64::from(port)))
            .unwrap_or_else(|| panic!("no record of port {port}\n{}", explain(&args, &out)))
    };
    let mut m = Vec::new();
    for (port, key, want) in [
        (device, "name", Some("bacnet")),
        (device, "vendor", Some("Testbed Building Systems")),
        (device, "product", Some("TB-DDC 400 Controller")),
        (device, "version", Some("5.3.2")),
        (device, "probe", Some("udp-bacnet-read")),
        (small, "name", Some("bacnet")),
        (small, "product", None),
        (small, "info", Some("BACnet reject to ReadPropertyMultiple")),
    ] {
        let v = record(port);
        if v["state"].as_str() != Some("open") {
            m.push(format!("port {port}: state {}", v["state"]));
        }
        let value = v["service"][key].as_str();
        if value != want {
            m.push(format!("port {port} {key}: got {value:?}, want {want:?}"));
        }
    }
    assert!(m.is_empty(), "{}\n{}", m.join("\n"), explain(&args, &out));
}
