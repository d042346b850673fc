//! Databases, queues and caches that answer only when spoken to. Real Debian daemons in a
//! namespace of their own (tests/testbed/datastores.sh: RabbitMQ, ZooKeeper, NATS, beanstalkd,
//! gearmand, PgBouncer, etcd, InfluxDB, Sphinx searchd, ClickHouse), and, where Debian has no package (Kafka, Cassandra),
//! small servers written here from the protocol specifications, on ephemeral loopback ports.

use crate::common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write;
use std::net::TcpStream;

/// The binaries of the bed, for the skip message.
const BED: [&str; 10] = [
    "/usr/lib/rabbitmq/bin/rabbitmq-server",
    "/usr/share/java/zookeeper.jar",
    "/usr/sbin/nats-server",
    "/usr/bin/beanstalkd",
    "/usr/sbin/gearmand",
    "/usr/sbin/pgbouncer",
    "/usr/bin/etcd",
    "/usr/bin/influxd",
    "/usr/bin/searchd",
    "/usr/sbin/clickhouse-server",
];

fn require_datastore_bed(test: &str) -> bool {
    require_bed_programs(test, &BED)
}

#[test]
fn data_store_daemons_are_named_with_their_versions() {
    if !require_datastore_bed("testbed_datastores") {
        return;
    }
    let ports_arg = "5672,2181,4222,11300,4730,6432,2379,8086,9306,9312,8123,9000";
    let snippet = format!(
        "\"$PORTPROBE\" scan 127.0.0.1 -p {ports_arg} --json && echo --- && \"$PORTPROBE\" scan 127.0.0.1 -p 5672,2181"
    );
    let out = shell_in_testbed("datastores.sh", &snippet);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\nstderr: {}", stderr(&out));
    let (json, table) = text.split_once("---\n").expect("both scans ran");
    let ports: HashMap<u64, Value> = json
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .filter_map(|v| Some((v["port"].as_u64()?, v)))
        .collect();

    let upstream = |p: &str| deb_version(p).0;
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .to_string();
    // Debian repacks some sources (+ds) and marks pre-releases with ~: the daemons report the
    // upstream version before those.
    let plain = |v: String| v.split(['+', '~']).next().unwrap_or_default().to_string();
    let wants = [
        want(5672, "name", "amqp"),
        want(5672, "product", "RabbitMQ"),
        want(5672, "version", upstream("rabbitmq-server")),
        want(5672, "info", "AMQP 0-9-1"),
        want(5672, "probe", "amqp"),
        want(2181, "name", "zookeeper"),
        want(2181, "product", "Apache ZooKeeper"),
        want(2181, "version", plain(upstream("zookeeper"))),
        want(2181, "info", "mode standalone"),
        want(4222, "name", "nats"),
        want(4222, "product", "NATS server"),
        want(4222, "version", upstream("nats-server")),
        want(11300, "name", "beanstalkd"),
        want(11300, "product", "beanstalkd"),
        want(11300, "version", upstream("beanstalkd")),
        want(11300, "hostname", hostname),
        want(4730, "name", "gearman"),
        want(4730, "product", "gearmand"),
        want(4730, "version", plain(upstream("gearman-job-server"))),
        want(6432, "name", "postgresql"),
        want(6432, "product", "PgBouncer"),
        want(2379, "name", "etcd-client"),
        want(2379, "product", "etcd"),
        want(2379, "version", upstream("etcd-server")),
        want(8086, "name", "http"),
        want(8086, "product", "InfluxDB http API"),
        want(8086, "version", plain(upstream("influxdb"))),
        want(9306, "name", "mysql"),
        want(9306, "product", "Sphinx search server"),
        want(9306, "version", upstream("sphinxsearch")),
        want(9312, "name", "sphinx-api"),
        want(9312, "confidence", "soft"),
        want(8123, "name", "http"),
        want(8123, "product", "ClickHouse"),
        want(8123, "info", "HTTP interface"),
        want(9000, "name", "clickhouse"),
        want(9000, "product", "ClickHouse"),
    ];
    let mut bad = mismatches(&ports, &wants);
    // NATS names the Go release it was built with in its INFO line (Debian's golang of the day).
    let nats = ports.get(&4222);
    let banner = nats.and_then(|v| v["banner"].as_str()).unwrap_or_default();
    let go = banner
        .split("\"go\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("(no go in the banner)");
    bad.extend(mismatches(&ports, &[want(4222, "info", go)]));
    for (port, v) in &ports {
        let soft = *port == 9312;
        if v["state"] != "open" || (!soft && v["service"]["confidence"] != "hard") {
            bad.push(format!("{port}/tcp: not open with a hard match: {v}"));
        }
    }
    let rabbit = format!(
        "5672/tcp  open      amqp             syn-ack         RabbitMQ {} (AMQP 0-9-1)",
        upstream("rabbitmq-server")
    );
    if !table.lines().any(|l| l == rabbit) {
        bad.push(format!("no table line {rabbit:?}"));
    }
    assert!(bad.is_empty(), "{}\n\n{text}", bad.join("\n"));
}

// ---- Servers written from the specifications (no Debian package exists) ----

/// The APIs an Apache Kafka 3.x broker lists in ApiVersions (key, min, max), as the protocol
/// guide's request tables give them; the count and ApiVersions' own range are what the rule
/// reports.
const KAFKA_APIS: [(i16, i16, i16); 20] = [
    (0, 0, 9),
    (1, 0, 13),
    (2, 0, 7),
    (3, 0, 12),
    (8, 0, 8),
    (9, 0, 8),
    (10, 0, 4),
    (11, 0, 9),
    (12, 0, 4),
    (13, 0, 5),
    (14, 0, 5),
    (15, 0, 5),
    (16, 0, 4),
    (17, 0, 1),
    (18, 0, 3),
    (19, 0, 7),
    (20, 0, 6),
    (22, 0, 4),
    (32, 0, 4),
    (60, 0, 0),
];

/// Kafka protocol guide: a request is a 4-byte size and a header (api_key, api_version,
/// correlation_id, client_id). ApiVersions (18) is answered in version 0 layout with the
/// correlation id; a size beyond socket.request.max.bytes (100 MiB) or any other API closes
/// the connection, as a broker does with what it cannot parse.
fn kafka_answer(request: &[u8]) -> Option<Vec<u8>> {
    let size = u32::from_be_bytes(request.get(..4)?.try_into().ok()?);
    if !(8..=100 * 1024 * 1024).contains(&size) {
        return None;
    }
    let key = i16::from_be_bytes(request.get(4..6)?.try_into().ok()?);
    let version = i16::from_be_bytes(request.get(6..8)?.try_into().ok()?);
    if key != 18 {
        return None;
    }
    let mut body = request.get(8..12)?.to_vec();
    let error: i16 = if (0..=3).contains(&version) { 0 } else { 35 };
    body.extend_from_slice(&error.to_be_bytes());
    body.extend_from_slice(&(KAFKA_APIS.len() as u32).to_be_bytes());
    for (k, lo, hi) in KAFKA_APIS {
        for v in [k, lo, hi] {
            body.extend_from_slice(&v.to_be_bytes());
        }
    }
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend(body);
    Some(out)
}

fn kafka_server(mut s: TcpStream) {
    let Some(head) = read_n(&mut s, 4) else { return };
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    if size > 1024 * 1024 {
        return;
    }
    let Some(rest) = read_n(&mut s, size) else {
        return;
    };
    let request = [head, rest].concat();
    if let Some(reply) = kafka_answer(&request) {
        let _ = s.write_all(&reply);
        let _ = read_n(&mut s, 1);
    }
}

/// native_protocol_v4.spec: a 9-byte frame header (version, flags, stream, opcode, length).
/// OPTIONS (5) in versions 3 to 5 is answered SUPPORTED (6) on the same stream, as Apache
/// Cassandra 4.1 fills it in; any other version gets the protocol error (0x000A) a server
/// sends, and anything else closes the connection.
fn cql_answer(request: &[u8]) -> Option<Vec<u8>> {
    let h = request.get(..9)?;
    let (version, stream, opcode) = (h[0], &h[2..4], h[4]);
    let frame = |version: u8, opcode: u8, body: Vec<u8>| {
        let mut out = vec![0x80 | version, 0];
        out.extend_from_slice(stream);
        out.push(opcode);
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend(body);
        out
    };
    let string = |out: &mut Vec<u8>, s: &str| {
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    if !(3..=5).contains(&version) {
        if !(1..=0x7f).contains(&version) {
            return None;
        }
        let msg = format!(
            "Invalid or unsupported protocol version ({version}); supported versions are (3/v3, 4/v4, 5/v5)"
        );
        let mut body = 0x000au32.to_be_bytes().to_vec();
        string(&mut body, &msg);
        return Some(frame(4, 0, body));
    }
    if opcode != 5 {
        return None;
    }
    let entries: [(&str, &[&str]); 3] = [
        ("PROTOCOL_VERSIONS", &["3/v3", "4/v4", "5/v5"]),
        ("COMPRESSION", &["snappy", "lz4"]),
        ("CQL_VERSION", &["3.4.6"]),
    ];
    let mut body = (entries.len() as u16).to_be_bytes().to_vec();
    for (k, vs) in entries {
        string(&mut body, k);
        body.extend_from_slice(&(vs.len() as u16).to_be_bytes());
        for v in vs {
            string(&mut body, v);
        }
    }
    Some(frame(version, 6, body))
}

fn cql_server(mut s: TcpStream) {
    let Some(head) = read_n(&mut s, 9) else { return };
    if let Some(reply) = cql_answer(&head) {
        let _ = s.write_all(&reply);
        let _ = read_n(&mut s, 1);
    }
}

#[test]
fn spec_servers_answer_as_the_specifications_say() {
    let req = b"\x00\x00\x00\x13\x00\x12\x00\x00PP\x00\x00\x00\x09portprobe";
    let reply = kafka_answer(req).unwrap();
    assert_eq!(&reply[4..8], b"PP\0\0");
    let f = portprobe::fingerprint::binary::kafka::decode(&reply).unwrap();
    assert!(f.contains(&("kafka.api_count", b"20".to_vec())), "{f:?}");
    assert_eq!(kafka_answer(b"GET / HTTP/1.0\r\n\r\n"), None);
    let reply = cql_answer(b"\x04\x00\x00\x01\x05\x00\x00\x00\x00").unwrap();
    let f = portprobe::fingerprint::binary::cql::decode(&reply).unwrap();
    assert!(f.contains(&("cql.versions", b"3.4.6".to_vec())), "{f:?}");
    let reply = cql_answer(b"\x06\x00\x00\x01\x05\x00\x00\x00\x00").unwrap();
    let f = portprobe::fingerprint::binary::cql::decode(&reply).unwrap();
    assert!(f.contains(&("cql.error_code", b"0x000a".to_vec())), "{f:?}");
}

#[test]
fn kafka_and_cql_are_recognised_on_any_port() {
    let kafka = serve(kafka_server);
    let cql = serve(cql_server);
    let ports = format!("{kafka},{cql}");
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
    let (kafka, cql) = (u64::from(kafka), u64::from(cql));
    let wants = [
        want(kafka, "name", "kafka"),
        want(kafka, "confidence", "soft"),
        want(kafka, "info", "20 APIs, ApiVersions up to v3"),
        want(kafka, "probe", "kafka-apiversions"),
        want(cql, "name", "cassandra"),
        want(cql, "confidence", "soft"),
        want(cql, "info", "CQL 3.4.6"),
        want(cql, "probe", "cql-options"),
    ];
    let bad = mismatches(&got, &wants);
    assert!(bad.is_empty(), "{}\n\n{}", bad.join("\n"), explain(&args, &out));
}
