//! Storage, backup, database, cluster and version-control daemons of Debian (tests/testbed/
//! storage.sh: Bacula, Tarantool, Apt-Cacher NG, Fossil, hg serve, brz serve, glusterd, tgt,
//! MooseFS, XRootD, Pgpool-II, apt-cacher, csync2, a Ceph monitor,
//! MIT kadmind) in a
//! namespace of their own: one scan must name each with what it discloses, and claim nothing
//! it does not. Expected versions come from the installed packages (dpkg), never from constants.

use crate::common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::process::{Command, Stdio};

/// The programs of the bed, for the skip message.
const BED: [&str; 16] = [
    "/usr/sbin/bacula-dir",
    "/usr/sbin/bacula-fd",
    "/usr/sbin/bacula-sd",
    "/usr/bin/tarantool",
    "/usr/sbin/apt-cacher-ng",
    "/usr/bin/fossil",
    "/usr/bin/hg",
    "/usr/bin/brz",
    "/usr/sbin/glusterd",
    "/usr/sbin/tgtd",
    "/usr/sbin/mfsmaster",
    "/usr/bin/xrootd",
    "/usr/sbin/apt-cacher",
    "/usr/sbin/csync2",
    "/usr/bin/ceph-mon",
    "/usr/sbin/kadmind",
];

/// The Python release Debian's hg runs on (/usr/bin/python3, package python3.11 in Debian 12),
/// which hgweb's Server header names.
fn debian_python3_version() -> String {
    let out = std::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg("import platform; print(platform.python_version())")
        .output()
        .expect("/usr/bin/python3");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn storage_daemons_are_named() {
    if !require_bed_programs("testbed_storage", &BED) {
        return;
    }
    let ports_arg =
        "3301,3142,8080,8000,4155,9101,9102,9103,24007,3260,9419,9420,9421,1094,9999,3143,30865,3300,6789,464";
    let snippet = format!("\"$PORTPROBE\" scan 127.0.0.1 -p {ports_arg} --json && echo --- && \"$PORTPROBE\" scan 127.0.0.1 -p 9101,24007");
    // Pgpool-II runs unpacked: fetched first, outside the namespace.
    let fetch = Command::new(testbed("storage.sh"))
        .arg("--fetch")
        .stdin(Stdio::null())
        .output()
        .expect("run storage.sh --fetch");
    assert_eq!(
        fetch.status.code(),
        Some(0),
        "storage.sh --fetch: {}",
        stderr(&fetch)
    );
    let out = shell_in_testbed("storage.sh", &snippet);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\nstderr: {}", stderr(&out));
    let (json, table) = text.split_once("---\n").expect("both scans ran");
    let ports: HashMap<u64, Value> = json_records(json)
        .into_iter()
        .filter(|v| v["type"] == "port")
        .filter_map(|v| Some((v["port"].as_u64()?, v)))
        .collect();

    let mut wants = vec![
        want(3301, "name", "tarantool"),
        want(3301, "product", "Tarantool"),
        want(3301, "version", deb_version("tarantool").0),
        want(3301, "info", "Binary"),
        want(3142, "name", "http"),
        want(3142, "product", "Apt-Cacher NG"),
        want(3142, "version", deb_version("apt-cacher-ng").0),
        want(8080, "name", "http"),
        want(8080, "product", "Fossil SCM http server"),
        want(8000, "name", "http"),
        want(8000, "product", "Mercurial hgweb"),
        want(
            8000,
            "info",
            format!("hg serve, Python {}", debian_python3_version()),
        ),
        want(4155, "name", "bzr"),
        want(4155, "product", "Bazaar smart server"),
        want(9101, "name", "bacula-dir"),
        want(9101, "product", "Bacula Director"),
        want(9101, "info", "director testbed-dir, TLS level 0"),
        want(9101, "probe", "bacula-hello"),
        want(24007, "name", "glusterfs"),
        want(24007, "product", "GlusterFS glusterd"),
        want(24007, "probe", "gluster-dump"),
        // tgt's login response negotiates, but names no product.
        want(3260, "name", "iscsi"),
        want(3260, "confidence", "soft"),
        want(3260, "probe", "iscsi-login"),
        want(1094, "name", "xrootd"),
        want(1094, "product", "XRootD"),
        want(1094, "info", "data server"),
        // Pgpool-II without a backend answers with its own error, naming its own source file.
        want(9999, "name", "postgresql"),
        want(9999, "product", "Pgpool-II"),
        want(9999, "probe", "pg-startup"),
        want(3143, "name", "http"),
        want(3143, "product", "apt-cacher"),
        want(3143, "version", deb_version("apt-cacher").0),
        want(30865, "name", "csync2"),
        want(30865, "product", "csync2"),
        want(3300, "name", "ceph"),
        want(3300, "product", "Ceph"),
        want(3300, "info", "messenger v2"),
        want(6789, "name", "ceph"),
        want(6789, "product", "Ceph"),
        want(6789, "info", "messenger v1"),
        want(464, "name", "kpasswd"),
        want(464, "product", "MIT Kerberos kpasswd"),
        want(464, "info", "kadmind, realm TESTBED.EXAMPLE"),
    ];
    let moosefs = deb_version("moosefs-master").0;
    for port in [9419, 9420, 9421] {
        wants.push(want(port, "name", "moosefs"));
        wants.push(want(port, "product", "MooseFS"));
        wants.push(want(port, "version", moosefs.clone()));
        wants.push(want(port, "probe", "moosefs-version"));
    }
    let mut bad = mismatches(&ports, &wants);
    for (port, v) in &ports {
        // Bacula's file and storage daemons answer only a director that names itself: silent.
        let silent = matches!(port, 9102 | 9103);
        if v["state"] != "open" {
            bad.push(format!("{port}/tcp: not open: {v}"));
        } else if silent {
            if !v["service"]["product"].is_null() || v["service"]["confidence"] != "port-table" {
                bad.push(format!(
                    "{port}/tcp: a silent daemon must only get the port's name: {v}"
                ));
            }
        } else if *port != 3260 && v["service"]["confidence"] != "hard" {
            bad.push(format!("{port}/tcp: not a hard match: {v}"));
        }
        // None of these daemons disclose a version but Tarantool, the two APT caches and MooseFS.
        if !matches!(port, 3301 | 3142 | 3143 | 9419..=9421) && !v["service"]["version"].is_null() {
            bad.push(format!("{port}/tcp: a version nobody sent: {v}"));
        }
    }
    if ports.len() != 20 {
        bad.push(format!("{} ports reported, want 20", ports.len()));
    }
    let line = "24007/tcp open      glusterfs        syn-ack         GlusterFS glusterd (management daemon)";
    if !table.lines().any(|l| l == line) {
        bad.push(format!("no table line {line:?}"));
    }
    assert!(bad.is_empty(), "{}\n\n{text}", bad.join("\n"));
}
