//! Report files read by real consumers: nmap XML against nmap's DTD (xmllint), ndiff and
//! python-libnmap; the greppable, normal, CSV and SARIF files; JSON Lines against the JSON
//! Schema in the repository; colour in the table.

use crate::common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn ssh_banner(mut conn: std::net::TcpStream) {
    let _ = conn.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
    std::thread::sleep(Duration::from_secs(2));
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portprobe-outputs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Whether a tool the test needs is installed; in CI its absence fails the test.
fn require_tool(test: &str, tool: &str, check: &[&str]) -> bool {
    let ok = Command::new(tool)
        .args(check)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let why = format!("`{tool}` is not installed (scripts/test installs it as root)");
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: cannot run in CI: {why}"
        );
        eprintln!("skipping {test}: {why}");
    }
    ok
}

/// Debian's python3 (with python3-libnmap and python3-jsonschema), not a virtualenv's.
const PYTHON: &str = "/usr/bin/python3";

fn python(script: &str, args: &[&Path]) -> std::process::Output {
    Command::new(PYTHON)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python3")
}

fn dtd_valid(xml: &Path) -> std::process::Output {
    Command::new("xmllint")
        .args(["--noout", "--dtdvalid", "/usr/share/nmap/nmap.dtd"])
        .arg(xml)
        .output()
        .expect("run xmllint")
}

const LIBNMAP: &str = r#"
import sys
from libnmap.parser import NmapParser
r = NmapParser.parse_fromfile(sys.argv[1])
print("hosts", r.hosts_total, "up", r.hosts_up)
for h in r.hosts:
    print("host", h.address, h.status, ",".join(h.hostnames))
    for s in h.services:
        d = s.service_dict
        print("port", s.port, s.protocol, s.state, s.reason, s.service, "|", d.get("product"), "|",
              d.get("version"), "|", d.get("extrainfo"), "|", d.get("ostype"), "|",
              " ".join(c.cpestring for c in s.cpelist), "|", " ".join(sorted(x["id"] for x in s.scripts_results)))
"#;

#[test]
fn nmap_xml_is_dtd_valid_and_python_libnmap_reads_it() {
    if !require_tool("xml_libnmap", "xmllint", &["--version"])
        || !require_tool("xml_libnmap", PYTHON, &["-c", "import libnmap"])
    {
        return;
    }
    let port = serve(ssh_banner);
    let dir = scratch("xml");
    let xml = dir.join("scan.xml");
    let p = port.to_string();
    let normal = dir.join("scan.nmap");
    let args = [
        "audit",
        "localhost",
        "-4",
        "-p",
        &p,
        "-oX",
        xml.to_str().unwrap(),
        "-oN",
        normal.to_str().unwrap(),
    ];
    let out = portprobe_expect(&args, 0);
    // -oN holds what the terminal shows: the audit's report.
    assert_eq!(read(&normal), stdout(&out));
    // The terminal still shows the audit.
    assert!(
        stdout(&out).contains(&format!(
            "{port}/tcp  ssh  OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)\n"
        )),
        "\n{}",
        explain(&args, &out)
    );
    let valid = dtd_valid(&xml);
    assert!(valid.status.success(), "{}\n{}", stderr(&valid), read(&xml));
    let parsed = python(LIBNMAP, &[&xml]);
    assert_eq!(
        stdout(&parsed),
        format!(
            "hosts 1 up 1\nhost 127.0.0.1 up localhost\nport {port} tcp open syn-ack ssh | OpenSSH | 9.2p1 Debian 2+deb12u3 | protocol 2.0 | Debian 12 | cpe:/a:openbsd:openssh:9.2:p1 cpe:/o:debian:debian_linux:12 | banner portprobe-audit\n"
        ),
        "{}\n{}",
        stderr(&parsed),
        read(&xml)
    );
    let text = read(&xml);
    // The finding, as NSE output would carry it: a table of its fields.
    assert!(
        text.contains(r#"<elem key="id">ssh-software-version</elem>"#),
        "{text}"
    );
    assert!(
        text.contains(r#"<elem key="evidence">OpenSSH_9.2p1</elem>"#),
        "{text}"
    );
    assert!(
        text.contains(r#"<elem key="evidence">Debian-2+deb12u3</elem>"#),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn ndiff_reads_portprobe_like_nmap() {
    if !require_namespaces("ndiff")
        || !require_tool("ndiff", "ndiff", &["--help"])
        || !require_tool("ndiff", "nmap", &["--version"])
    {
        return;
    }
    let dir = scratch("ndiff");
    // nmap and portprobe on the same host, then portprobe again after a port opened.
    let snippet = format!(
        r#"cd {d}; ports=22,111,137,138
        nmap -sT -Pn -n --reason -p $ports 127.0.0.1 -oX nmap.xml >/dev/null
        "$PORTPROBE" scan -sT -Pn -n --reason -p $ports 127.0.0.1 -z --timeout 300ms -oX a.xml >/dev/null
        socat -u TCP-LISTEN:111,reuseaddr,fork OPEN:/dev/null </dev/null >/dev/null 2>&1 & s=$!; sleep 0.3
        "$PORTPROBE" scan -p $ports 127.0.0.1 -z --timeout 300ms -oX b.xml >/dev/null; kill $s
        ndiff nmap.xml a.xml | grep -v '^[-+]Nmap'; echo "rc=${{PIPESTATUS[0]}}"
        ndiff a.xml b.xml | grep -v '^[-+]Nmap'; echo "rc=${{PIPESTATUS[0]}}""#,
        d = dir.display()
    );
    let out = shell_in("seed.sh", &snippet);
    assert_eq!(
        stdout(&out),
        "rc=0\n\n 127.0.0.1:\n PORT    STATE  SERVICE VERSION\n-111/tcp closed rpcbind\n+111/tcp open   rpcbind\nrc=1\n",
        "{}",
        stderr(&out)
    );
    for f in ["a.xml", "b.xml"] {
        let valid = dtd_valid(&dir.join(f));
        assert!(valid.status.success(), "{f}: {}", stderr(&valid));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn oa_writes_every_format_and_the_terminal_keeps_the_table() {
    if !require_namespaces("output_all") {
        return;
    }
    let dir = scratch("oa");
    let base = dir.join("run");
    let csv = dir.join("run.csv");
    let args = [
        "scan",
        "127.0.0.1",
        "-p",
        "22,111,137,138",
        "-z",
        "--timeout",
        "300ms",
        "-oA",
        base.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
    ];
    let out = portprobe_in("seed.sh", &args);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&args, &out));
    let table = stdout(&out);
    assert_eq!(row(&table, 22), ["22/tcp", "open", "ssh", "syn-ack"]);
    // -oN holds the same table.
    assert_eq!(read(&dir.join("run.nmap")), table);
    let gnmap = read(&dir.join("run.gnmap"));
    let lines: Vec<&str> = gnmap.lines().collect();
    assert_eq!(lines.len(), 4, "{gnmap}");
    let started = format!("# portprobe {} scan initiated ", env!("CARGO_PKG_VERSION"));
    assert!(lines[0].starts_with(&started), "{gnmap}");
    let typed = format!(
        " as: portprobe scan 127.0.0.1 -p 22,111,137,138 -z --timeout 300ms -oA {} --csv {}",
        base.display(),
        csv.display()
    );
    assert!(lines[0].ends_with(&typed), "{gnmap}");
    assert_eq!(lines[1], "Host: 127.0.0.1 ()\tStatus: Up");
    assert_eq!(
        lines[2],
        "Host: 127.0.0.1 ()\tPorts: 22/open/tcp//ssh///, 111/closed/tcp//rpcbind///, 137/filtered/tcp//netbios-ns///, 138/filtered/tcp//netbios-dgm///"
    );
    assert!(lines[3].starts_with("# portprobe done at "), "{gnmap}");
    assert!(
        lines[3].contains(" -- 1 IP address (1 host up) scanned in "),
        "{gnmap}"
    );
    let records = json_records(&read(&dir.join("run.jsonl")));
    let types: Vec<&str> = records.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["start", "port", "port", "port", "port", "host", "summary"]
    );
    let csv = read(&csv);
    let mut rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows.remove(0),
        "host,ip,port,proto,state,reason,rtt_ms,service,product,version,info,os,cpe,tls,findings"
    );
    rows.sort();
    let cells: Vec<Vec<&str>> = rows.iter().map(|r| r.split(',').collect()).collect();
    let shape: Vec<String> = cells
        .iter()
        .map(|c| format!("{} {} {} {} {}", c[2], c[4], c[5], c[6].is_empty(), c[7]))
        .collect();
    assert_eq!(
        shape,
        [
            "111 closed conn-refused false rpcbind",
            "137 filtered no-response true netbios-ns",
            "138 filtered host-unreach false netbios-dgm",
            "22 open syn-ack false ssh",
        ]
    );
    assert!(read(&dir.join("run.xml")).ends_with("</nmaprun>\n"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn dash_sends_one_format_to_stdout_and_bad_paths_are_clear() {
    if !require_namespaces("output_stdout") {
        return;
    }
    let out = portprobe_in("seed.sh", &["scan", "127.0.0.1", "-p", "22", "-z", "-oX", "-"]);
    let text = stdout(&out);
    assert!(
        text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n"),
        "{text}"
    );
    assert!(text.ends_with("</runstats>\n</nmaprun>\n"), "{text}");
    assert!(
        !text.contains("Scan report for"),
        "no table mixed into the XML: {text}"
    );
    let out = portprobe_in("seed.sh", &["scan", "127.0.0.1", "-p", "22", "-z", "-oG", "-"]);
    assert!(
        stdout(&out).contains("Host: 127.0.0.1 ()\tPorts: 22/open/tcp//ssh///\n"),
        "{}",
        stdout(&out)
    );
    let args = ["scan", "127.0.0.1", "-p", "22", "-oX", "-", "-oG", "-"];
    let out = portprobe_expect(&args, 2);
    assert_eq!(
        stderr(&out),
        "portprobe: only one output format can go to stdout (-): give the others file names\n"
    );
    let args = ["scan", "127.0.0.1", "-p", "22", "-oX", "/nonexistent/dir/x.xml"];
    let out = portprobe_expect(&args, 1);
    assert_eq!(
        stderr(&out),
        "portprobe: cannot write report file '/nonexistent/dir/x.xml': No such file or directory (os error 2)\n"
    );
    assert_eq!(stdout(&out), "");
}

const VALIDATE: &str = r##"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
checker = jsonschema.FormatChecker()
whole = jsonschema.Draft202012Validator(schema, format_checker=checker)
bad = 0
for n, line in enumerate(open(sys.argv[2]), 1):
    record = json.loads(line)
    # A known type is checked against its own definition, for errors that name the field.
    kind = record.get("type") if isinstance(record, dict) else None
    v = whole
    if kind in schema["$defs"]:
        v = jsonschema.Draft202012Validator({"$ref": f"#/$defs/{kind}", "$defs": schema["$defs"]}, format_checker=checker)
    for e in v.iter_errors(record):
        bad += 1
        print(f"line {n}: {'/'.join(map(str, e.path))}: {e.message}")
print(f"{bad} errors")
"##;

fn schema_errors(schema: &str, records: &Path) -> String {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema").join(schema);
    let out = python(VALIDATE, &[&schema, records]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn json_lines_follow_the_schema_in_the_repository() {
    if !require_namespaces("json_schema")
        || !require_tool("json_schema", PYTHON, &["-c", "import jsonschema"])
    {
        return;
    }
    let dir = scratch("schema");
    // Every kind of record: detection with findings (audit), filtered ports, an interrupted run.
    let port = serve(ssh_banner);
    let audit = dir.join("audit.jsonl");
    let p = port.to_string();
    portprobe_expect(
        &[
            "audit",
            "127.0.0.1",
            "-p",
            &p,
            "--fail-on",
            "medium",
            "-oJ",
            audit.to_str().unwrap(),
        ],
        3,
    );
    let records = json_records(&read(&audit));
    let last = records.last().unwrap();
    assert_eq!(
        (last["exit"].as_str(), last["findings"]["medium"].as_u64()),
        (Some("findings"), Some(2))
    );
    assert_eq!(records[0]["schema"], 1);
    assert_eq!(schema_errors("portprobe.schema.json", &audit), "0 errors\n");
    let snippet = format!(
        r#"cd {d}; "$PORTPROBE" scan 127.0.0.1 -p 22,111,137,138 -z --timeout 300ms --json > seed.jsonl
        "$PORTPROBE" scan 127.0.0.1 -z -p 1-300 --json --timeout 20s --retries 0 > cut.jsonl & pid=$!
        sleep 0.7; kill -INT $pid; wait $pid; echo "rc=$?""#,
        d = dir.display()
    );
    let out = shell_in("seed.sh", &snippet);
    assert_eq!(stdout(&out), "rc=130\n", "{}", stderr(&out));
    for f in ["seed.jsonl", "cut.jsonl"] {
        assert_eq!(
            schema_errors("portprobe.schema.json", &dir.join(f)),
            "0 errors\n",
            "{f}"
        );
    }
    let cut = json_records(&read(&dir.join("cut.jsonl")));
    let summary = cut.last().unwrap();
    assert_eq!(
        (
            summary["type"].as_str(),
            summary["exit"].as_str(),
            summary["interrupted"].as_bool()
        ),
        (Some("summary"), Some("interrupted"), Some(true))
    );
    // A record that breaks the contract is caught (the validation can fail).
    let broken = dir.join("broken.jsonl");
    std::fs::write(&broken, r#"{"type":"port","host":"h","ip":"127.0.0.1","port":0,"proto":"tcp","state":"open","reason":"syn-ack"}"#.to_string() + "\n").unwrap();
    assert_eq!(
        schema_errors("portprobe.schema.json", &broken),
        "line 1: port: 0 is less than the minimum of 1\n1 errors\n"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn color_follows_the_flag_the_terminal_and_no_color() {
    if !require_namespaces("color") {
        return;
    }
    let green = "22/tcp    \x1b[32mopen     \x1b[0m ssh";
    let snippet = r#"
        "$PORTPROBE" scan 127.0.0.1 -p 22 -z --color always | grep '^22/tcp'
        "$PORTPROBE" scan 127.0.0.1 -p 22 -z | grep '^22/tcp'
        env -u NO_COLOR script -qec '"$PORTPROBE" scan 127.0.0.1 -p 22 -z' /dev/null | grep '^22/tcp'
        NO_COLOR=1 script -qec '"$PORTPROBE" scan 127.0.0.1 -p 22 -z' /dev/null | grep '^22/tcp'
        script -qec '"$PORTPROBE" scan 127.0.0.1 -p 22 -z --color never' /dev/null | grep '^22/tcp'"#;
    let out = shell_in("seed.sh", snippet);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    assert_eq!(lines.len(), 5, "{text}{}", stderr(&out));
    assert_eq!(lines[0], format!("{green}              syn-ack"));
    assert_eq!(lines[1], "22/tcp    open      ssh              syn-ack");
    assert_eq!(
        lines[2],
        format!("{green}              syn-ack"),
        "auto colours a terminal"
    );
    assert_eq!(
        lines[3], "22/tcp    open      ssh              syn-ack",
        "NO_COLOR"
    );
    assert_eq!(lines[4], "22/tcp    open      ssh              syn-ack");
}

const VALIDATE_SARIF: &str = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
v = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in v.iter_errors(json.load(open(sys.argv[2])))]
print("\n".join(errors + [f"{len(errors)} errors"]))
"#;

#[test]
fn sarif_has_one_result_per_finding_and_follows_sarif_2_1_0() {
    if !require_tool("sarif", PYTHON, &["-c", "import jsonschema"]) {
        return;
    }
    let port = serve(ssh_banner);
    let dir = scratch("sarif");
    let sarif = dir.join("audit.sarif");
    let p = port.to_string();
    let args = ["audit", "127.0.0.1", "-p", &p, "--sarif", sarif.to_str().unwrap()];
    portprobe_expect(&args, 0);
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/sarif-2.1.0-subset.schema.json");
    let out = python(VALIDATE_SARIF, &[&schema, &sarif]);
    assert_eq!(stdout(&out), "0 errors\n", "{}{}", stderr(&out), read(&sarif));
    let log: serde_json::Value = serde_json::from_str(&read(&sarif)).unwrap();
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "portprobe");
    let results = run["results"].as_array().unwrap();
    let got: Vec<(&str, &str, &str, &str)> = results
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap(),
                r["level"].as_str().unwrap(),
                r["properties"]["evidence"].as_str().unwrap(),
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap(),
            )
        })
        .collect();
    let uri = format!("tcp://127.0.0.1:{port}");
    assert_eq!(
        got,
        [
            ("ssh-software-version", "warning", "OpenSSH_9.2p1", uri.as_str()),
            (
                "ssh-distribution-patch",
                "warning",
                "Debian-2+deb12u3",
                uri.as_str()
            ),
        ]
    );
    assert_eq!(
        results[1]["message"]["text"],
        format!("127.0.0.1:{port}/tcp: the SSH identification string names the distribution package and its patch level: Debian-2+deb12u3: \"Debian-2+deb12u3\". Fix: Debian and Ubuntu: add `DebianBanner no` to /etc/ssh/sshd_config and reload sshd; the distribution and its patch level disappear (the upstream version stays).")
    );
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["ssh-distribution-patch", "ssh-software-version"]);
    // The validation can fail: a level SARIF does not have is caught.
    let broken = dir.join("broken.sarif");
    std::fs::write(&broken, read(&sarif).replacen("\"warning\"", "\"fatal\"", 1)).unwrap();
    let out = python(VALIDATE_SARIF, &[&schema, &broken]);
    assert_eq!(
        stdout(&out),
        "runs/0/results/0/level: 'fatal' is not one of ['none', 'note', 'warning', 'error']\n1 errors\n"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bash_completes_commands_and_options_and_the_man_pages_render() {
    // The bash script, sourced in a real bash, completes a command and a long option.
    let snippet = r#"source <("$PORTPROBE" completions bash) && complete -p portprobe
        COMP_WORDS=(portprobe sc); COMP_CWORD=1; _portprobe portprobe sc portprobe; echo "${COMPREPLY[@]}"
        COMP_WORDS=(portprobe scan --output-x); COMP_CWORD=2; _portprobe portprobe --output-x scan; echo "${COMPREPLY[@]}""#;
    let out = Command::new("bash")
        .args(["-c", snippet])
        .env("PORTPROBE", bin())
        .output()
        .expect("run bash");
    assert_eq!(
        stdout(&out),
        "complete -o bashdefault -o default -o nosort -F _portprobe portprobe\nscan\n--output-xml\n",
        "{}",
        stderr(&out)
    );
    let zsh = portprobe_expect(&["completions", "zsh"], 0);
    assert_eq!(stdout(&zsh).lines().next(), Some("#compdef portprobe"));
    let fish = portprobe_expect(&["completions", "fish"], 0);
    assert!(
        stdout(&fish)
            .contains("complete -c portprobe -n \"__fish_portprobe_using_subcommand scan\" -l output-xml"),
        "{}",
        stdout(&fish)
    );
    let bad = portprobe_expect(&["completions", "tcsh"], 2);
    assert!(
        stderr(&bad).starts_with("error: invalid value 'tcsh' for '<SHELL>'\n  [possible values: bash, elvish, fish, powershell, zsh]\n"),
        "{}",
        stderr(&bad)
    );
    // The man pages: portprobe.1 on stdout, and one per command in a directory.
    let page = stdout(&portprobe_expect(&["manpage"], 0));
    let lines: Vec<&str> = page.lines().collect();
    let name = lines.iter().position(|l| *l == ".SH NAME").expect(".SH NAME");
    assert_eq!(
        lines[name + 1],
        "portprobe \\- Is a TCP port open, closed or stealth? What answers it? And a raw session to it."
    );
    let dir = scratch("man");
    let out = portprobe_expect(&["manpage", "--dir", dir.to_str().unwrap()], 0);
    let written: Vec<String> = stdout(&out).lines().map(String::from).collect();
    // One page per command: as many as `portprobe --help` lists (less `help` itself), plus the main one.
    let help = stdout(&portprobe_expect(&["--help"], 0));
    let commands = help
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A command's line, not the wrapped rest of a description.
        .filter(|l| !l.starts_with("   ") && l.split_whitespace().next() != Some("help"))
        .count();
    assert_eq!(written.len(), commands + 1, "{written:?}\n{help}");
    for page in [
        "portprobe.1",
        "portprobe-scan.1",
        "portprobe-audit.1",
        "portprobe-manpage.1",
    ] {
        let want = dir.join(page).display().to_string();
        assert!(written.contains(&want), "{want} in {written:?}");
    }
    let scan = read(&dir.join("portprobe-scan.1"));
    assert!(scan.contains("\\fB\\-\\-output\\-xml\\fR"), "{scan}");
    if Command::new("man")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let shown = Command::new("man")
            .arg("-l")
            .arg(dir.join("portprobe-scan.1"))
            .env("MANWIDTH", "100")
            .env("MAN_KEEP_FORMATTING", "0")
            .output()
            .expect("run man");
        // Without a terminal man overstrikes bold text (`x\x08x`): keep the last of each pair.
        let raw: Vec<char> = stdout(&shown).chars().collect();
        let mut text = String::new();
        for (i, c) in raw.iter().enumerate() {
            if *c != '\x08' && raw.get(i + 1) != Some(&'\x08') {
                text.push(*c);
            }
        }
        assert!(
            text.lines().any(|l| l.trim() == "--output-xml <FILE>"),
            "{text}{}",
            stderr(&shown)
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn tls_and_findings_fit_the_xml_dtd_the_json_schema_and_sarif() {
    if !require_testbed("outputs_tls") || !require_tool("outputs_tls", "xmllint", &["--version"]) {
        return;
    }
    let dir = scratch("tls");
    // Tunnels, STARTTLS, certificates and findings: the richest records there are.
    let snippet = format!(
        r#"cd {d}; "$PORTPROBE" audit localhost -4 -p 443,993,25,4443 -oX t.xml -oJ t.jsonl --sarif t.sarif >/dev/null; echo "rc=$?""#,
        d = dir.display()
    );
    let out = shell_in_testbed("tls.sh", &snippet);
    assert_eq!(stdout(&out), "rc=0\n", "{}", stderr(&out));
    let valid = dtd_valid(&dir.join("t.xml"));
    assert!(valid.status.success(), "{}", stderr(&valid));
    let xml = read(&dir.join("t.xml"));
    assert!(xml.contains(r#"tunnel="ssl" method="probed" conf="10""#), "{xml}");
    assert!(
        xml.contains(r#"<script id="portprobe-tls" output="&#xa;  tls: TLSv1."#),
        "{xml}"
    );
    assert_eq!(
        schema_errors("portprobe.schema.json", &dir.join("t.jsonl")),
        "0 errors\n"
    );
    let tls: Vec<String> = json_lines_of(&read(&dir.join("t.jsonl")))
        .iter()
        .map(|r| format!("{} {}", r["port"], r["tls"]["via"].as_str().unwrap_or("-")))
        .collect();
    assert_eq!(tls.len(), 4, "{tls:?}");
    for want in ["25 starttls", "443 tunnel", "993 tunnel", "4443 tunnel"] {
        assert!(tls.contains(&want.to_string()), "{tls:?}");
    }
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/sarif-2.1.0-subset.schema.json");
    let out = python(VALIDATE_SARIF, &[&schema, &dir.join("t.sarif")]);
    assert_eq!(stdout(&out), "0 errors\n", "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).ok();
}

/// The port records of JSON Lines text.
fn json_lines_of(text: &str) -> Vec<serde_json::Value> {
    json_records(text)
        .into_iter()
        .filter(|r| r["type"] == "port")
        .collect()
}
