//! Usage and input errors: exit code 2 and a one-line message that names the bad value and what
//! is allowed. These fail before any packet is sent, except where a namespace is used.

use crate::common::*;

fn fails_with(args: &[&str], needle: &str) {
    let out = portprobe_expect(args, 2);
    let err = stderr(&out);
    assert!(
        err.contains(needle),
        "expected {needle:?} in stderr\n{}",
        explain(args, &out)
    );
    assert!(
        stdout(&out).is_empty(),
        "nothing on stdout\n{}",
        explain(args, &out)
    );
}

#[test]
fn bad_ports() {
    fails_with(
        &["scan", "127.0.0.1", "-p", "0"],
        "port 0 is out of range: ports are 1-65535",
    );
    fails_with(
        &["scan", "127.0.0.1", "-p", "70000"],
        "port 70000 is out of range: ports are 1-65535",
    );
    fails_with(
        &["scan", "127.0.0.1", "-p", "22-"],
        "port range '22-' has no end: write it as 22-65535",
    );
    fails_with(
        &["scan", "127.0.0.1", "-p", "abc"],
        "'abc' is neither a port nor a service name the port table knows: use a port (22), a name (ssh, http), a range (20-25), a list or - for all ports",
    );
    fails_with(&["scan", "127.0.0.1", "-p", "80-20"], "runs backwards");
    fails_with(&["scan", "127.0.0.1:0"], "port 0 is out of range");
    fails_with(
        &["ping", "127.0.0.1", "-p", "99999"],
        "port 99999 is out of range",
    );
}

#[test]
fn bad_targets() {
    fails_with(
        &["scan", "10.0.0.0/33", "-p", "22"],
        "invalid target '10.0.0.0/33'",
    );
    fails_with(
        &["scan", "10.0.0.0/33", "-p", "22"],
        "prefix length 33 is larger than 32",
    );
    fails_with(
        &["scan", "not a host!", "-p", "22"],
        "is not an IP address, CIDR block or host name",
    );
    fails_with(&["ping", "10.0.0.0/24"], "ping takes one host");
}

#[test]
fn empty_target_list() {
    fails_with(&["scan", "-p", "22"], "no targets: name hosts");
    let dir = std::env::temp_dir().join(format!("portprobe-empty-{}", std::process::id()));
    std::fs::write(&dir, "# nothing here\n\n").unwrap();
    fails_with(&["scan", "-iL", dir.to_str().unwrap(), "-p", "22"], "no targets");
    let _ = std::fs::remove_file(dir);
}

#[test]
fn unreadable_target_list() {
    fails_with(
        &["scan", "-iL", "/nonexistent/targets.txt", "-p", "22"],
        "cannot read target list '/nonexistent/targets.txt': No such file or directory",
    );
    fails_with(
        &["scan", "-iL", "/", "-p", "22"],
        "cannot read target list '/': it is a directory",
    );
}

#[test]
fn conflicting_and_invalid_flags() {
    fails_with(
        &["scan", "127.0.0.1", "-p", "22", "--top-ports", "10"],
        "cannot be used with",
    );
    fails_with(&["scan", "localhost", "-4", "-6"], "cannot be used with");
    fails_with(
        &["scan", "127.0.0.1", "--top-ports", "0"],
        "--top-ports 0: choose 1 to",
    );
    fails_with(
        &["scan", "127.0.0.1", "--top-ports", "100000"],
        "--top-ports 100000: choose 1 to",
    );
    fails_with(
        &["scan", "127.0.0.1", "--timeout", "soon"],
        "invalid duration 'soon'",
    );
    fails_with(&["scan", "127.0.0.1", "--rate", "0"], "invalid rate '0'");
    fails_with(&["scan", "127.0.0.1", "--concurrency", "0"], "--concurrency");
    fails_with(&["scan", "127.0.0.1", "--bogus"], "unexpected argument '--bogus'");
    fails_with(&["frobnicate"], "unrecognized subcommand 'frobnicate'");
}

#[test]
fn unresolvable_host_is_reported_and_the_scan_goes_on() {
    if !require_namespaces("unresolvable") {
        return;
    }
    // In an empty namespace no resolver is reachable, so the lookup fails without leaving it.
    let out = portprobe_in(
        "seed.sh",
        &["scan", "nonexistent.invalid", "127.0.0.1", "-p", "22", "--json"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("argument 1: cannot resolve 'nonexistent.invalid'"),
        "{}",
        stderr(&out)
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["state"], "open");
}

#[test]
fn bad_lines_in_a_target_file_name_file_and_line() {
    if !require_namespaces("bad_lines") {
        return;
    }
    let snippet = r#"f=$(mktemp); printf '127.0.0.1\n10.0.0.0/40\n\x1b[31mred\n' > "$f"
        "$PORTPROBE" scan -iL "$f" -p 22 --json; rc=$?; rm -f "$f"; exit $rc"#;
    let out = shell_in("seed.sh", snippet);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(":2: invalid CIDR '10.0.0.0/40': prefix length 40 is larger than 32"),
        "{err}"
    );
    assert!(
        err.contains(":3: '\\x1b[31mred' is not an IP address"),
        "control bytes escaped: {err}"
    );
    assert!(!err.contains('\x1b'), "no raw escape reaches the terminal");
    assert_eq!(json_lines(&out).len(), 1, "the good line was scanned");
}

#[test]
fn help_and_version_exit_0() {
    for args in [
        &["--help"][..],
        &["--version"],
        &["scan", "--help"],
        &["ping", "--help"],
    ] {
        let out = portprobe(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!stdout(&out).is_empty());
    }
}

/// The stderr line that starts with `prefix`, whole (so the test checks the entire message).
fn line_starting(err: &str, prefix: &str) -> String {
    err.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in {err:?}"))
        .to_string()
}

#[test]
fn tiny_rate_is_refused_not_a_panic() {
    // Issue 11 item 9: 1e-19 connects per second overflowed a Duration and panicked.
    for rate in ["1e-19", "0.001"] {
        let out = portprobe(&["scan", "127.0.0.1", "-p", "1", "-z", "--rate", rate]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(
            line_starting(&err, "error:"),
            format!(
                "error: invalid value '{rate}' for '--rate <N>': invalid rate '{rate}': give connects per second, from 0.01 to 10000000"
            )
        );
    }
}

#[test]
fn family_flag_contradicting_an_ip_literal_is_refused() {
    if !require_namespaces("family_literal") {
        return;
    }
    // Issue 11 item 19: `connect -4 ::1 7` connected over IPv6. Each command runs with a
    // deadline, so the unfixed `listen` cannot hang the test.
    let snippet = r#"
        t() { timeout 5 "$PORTPROBE" "$@" </dev/null; echo "rc=$?"; }
        t connect -4 ::1 7; t connect -6 127.0.0.1 7; t ping -4 ::1 -c 1
        t scan -6 127.0.0.1 -p 7 -z; t scan -4 '[::1]:7' -z; t listen -4 '[::1]:7'"#;
    let out = shell_in("netns.sh", snippet);
    assert_eq!(stdout(&out), "rc=2\n".repeat(6), "stderr: {}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "portprobe: -4 asks for IPv4, but '::1' is an IPv6 address: drop -4 or give an IPv4 address\n\
         portprobe: -6 asks for IPv6, but '127.0.0.1' is an IPv4 address: drop -6 or give an IPv6 address\n\
         portprobe: -4 asks for IPv4, but '::1' is an IPv6 address: drop -4 or give an IPv4 address\n\
         portprobe: -6 asks for IPv6, but '127.0.0.1' is an IPv4 address: drop -6 or give an IPv6 address\n\
         portprobe: -4 asks for IPv4, but '[::1]:7' is an IPv6 address: drop -4 or give an IPv4 address\n\
         portprobe: -4 asks for IPv4, but '[::1]:7' is an IPv6 address: drop -4 or give an IPv4 address\n"
    );
}

#[test]
fn endless_input_files_are_capped() {
    if !require_namespaces("endless_files") {
        return;
    }
    // Issue 11 item 13: /dev/zero as a baseline, CA file or certificate allocated until the
    // process aborted. `ulimit -v` keeps an unfixed build from eating the machine.
    let snippet = r#"
        ulimit -v 2000000
        t() { timeout 20 "$PORTPROBE" "$@" </dev/null; echo "rc=$?"; }
        t audit 127.0.0.1 -p 1 --baseline /dev/zero
        t connect --tls --ca-file /dev/zero 127.0.0.1 1
        t listen --tls --cert /dev/zero --key /dev/zero 127.0.0.1:7
        t scan 127.0.0.1 -p 1 --ca-file /dev/zero"#;
    let out = shell_in("netns.sh", snippet);
    assert_eq!(stdout(&out), "rc=2\n".repeat(4), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "portprobe: cannot read baseline '/dev/zero': line 1 is longer than 1 MiB\n\
         portprobe: cannot read CA file '/dev/zero': it is larger than 4 MiB\n\
         portprobe: cannot read certificate or key '/dev/zero': it is larger than 4 MiB\n\
         portprobe: cannot read CA file '/dev/zero': it is larger than 4 MiB\n"
    );
}

#[test]
fn outside_text_in_messages_and_tables_is_escaped() {
    if !require_namespaces("escape_everywhere") {
        return;
    }
    // Issue 11 item 4: the port part of a target from stdin, the -p value, fingerprint file
    // names and contents in `fingerprints check`, and a rule's service/product text in the
    // table, `match` and `connect -v` reached the terminal raw (bidi controls included).
    let snippet = r#"
        d=$(mktemp -d)
        printf '127.0.0.1:\x1b]0;PWNED\x07\n' | "$PORTPROBE" scan - -p 1 -z; echo "rc=$?"
        "$PORTPROBE" scan 127.0.0.1 -p "$(printf '\xe2\x80\xae22')" -z; echo "rc=$?"
        mkdir $d/bad $d/good
        printf '[[rule]]\nid = "r\xe2\x80\x8b"\nservice = "x"\nmatch = "^("\n' > "$d/bad/a$(printf '\x1b[31m').toml"
        printf '[[rule]]\nid = "evil"\nservice = "x\\u202ey"\nproduct = "P\\u001b]0;T\\u0007"\nmatch = "^HELLO"\n[[rule.example]]\nresponse = "HELLO"\nproduct = "P\\u001b]0;T\\u0007"\n' > $d/good/r.toml
        "$PORTPROBE" fingerprints check $d/bad 2>&1 | sed "s|$d|D|"
        echo HELLO | "$PORTPROBE" match --fingerprints $d/good | head -2
        socat TCP-LISTEN:7600,reuseaddr,fork SYSTEM:'echo HELLO; sleep 1' & s=$!; sleep 0.3
        "$PORTPROBE" scan 127.0.0.1 -p 7600 --fingerprints $d/good | grep 7600/tcp
        "$PORTPROBE" connect 127.0.0.1 7600 -v --fingerprints $d/good </dev/null 2>&1 >/dev/null | grep identifies
        kill $s; rm -rf $d"#;
    let out = shell_in("netns.sh", snippet);
    let help = "use a port (22), a range (20-25), a list (22,80,443) or - for all ports";
    let expected_err = format!(
        "portprobe: stdin:1: invalid port in target '127.0.0.1:\\x1b]0;PWNED\\x07': '\\x1b]0;PWNED\\x07' is not a port: {help}\n\
         portprobe: invalid --ports: '\\xe2\\x80\\xae22' is not a port: {help}\n"
    );
    assert_eq!(stderr(&out), expected_err);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "rc=2", "{text}");
    assert_eq!(lines[1], "rc=2", "{text}");
    assert!(
        lines.contains(&"D/bad/a\\x1b[31m.toml:4: rule 'r\\xe2\\x80\\x8b': invalid regex: regex parse error:     ^(      ^ error: unclosed group"),
        "{text}"
    );
    assert!(lines.contains(&"service:  x\\xe2\\x80\\xaey"), "{text}");
    assert!(lines.contains(&"product:  P\\x1b]0;T\\x07"), "{text}");
    let row = lines.iter().find(|l| l.starts_with("7600/tcp")).expect("row");
    assert!(
        row.contains(" x\\xe2\\x80\\xaey ") && row.ends_with("P\\x1b]0;T\\x07"),
        "{row}"
    );
    assert!(
        lines.contains(&"portprobe: server identifies as x\\xe2\\x80\\xaey, P\\x1b]0;T\\x07"),
        "{text}"
    );
    assert!(
        !text.bytes().any(|b| b == 0x1b || b == 0x07 || b >= 0x80),
        "raw bytes: {text:?}"
    );
}

/// Runs portprobe and returns (exit code, the whole stderr), for messages compared in full.
fn whole_stderr(args: &[&str]) -> (Option<i32>, String) {
    let out = portprobe(args);
    (out.status.code(), stderr(&out))
}

#[test]
fn messages_name_the_right_command_and_cause_once() {
    // Each message once (the cause used to be repeated after every message), with the command
    // that was used and exit 2 for input errors.
    let cases: &[(&[&str], &str)] = &[
        (
            &["scan", "127.0.0.1", "-p", "0"],
            "portprobe: invalid --ports: port 0 is out of range: ports are 1-65535\n",
        ),
        (
            &["connect", "10.0.0.0/24", "80"],
            "portprobe: connect takes one host, not the block '10.0.0.0/24': use scan for many hosts\n",
        ),
        (
            &["ping", "10.0.0.0/24", "-p", "80"],
            "portprobe: ping takes one host, not the block '10.0.0.0/24': use scan for many hosts\n",
        ),
        (
            &["fingerprints", "check", "/nonexistent"],
            "portprobe: cannot read fingerprint folder '/nonexistent': No such file or directory (os error 2)\n",
        ),
        (
            &["scan", "127.0.0.1/0x10", "-p", "1"],
            "portprobe: invalid target '127.0.0.1/0x10': invalid CIDR '127.0.0.1/0x10': prefix length '0x10' is not a whole number (allowed: /0 to /32)\n",
        ),
        (
            &["scan", "127.0.0.1/-1", "-p", "1"],
            "portprobe: invalid target '127.0.0.1/-1': invalid CIDR '127.0.0.1/-1': prefix length '-1' is not a whole number (allowed: /0 to /32)\n",
        ),
        (
            &["scan", "127.0.0.1/33", "-p", "1"],
            "portprobe: invalid target '127.0.0.1/33': invalid CIDR '127.0.0.1/33': prefix length 33 is larger than 32 (allowed: /0 to /32)\n",
        ),
    ];
    for (args, want) in cases {
        let (code, err) = whole_stderr(args);
        assert_eq!((code, err.as_str()), (Some(2), *want), "{args:?}");
    }
}

#[test]
fn a_source_address_this_host_lacks_is_an_input_error() {
    if !require_namespaces("source_address") {
        return;
    }
    // Inside an empty namespace 10.9.9.9 is certainly not ours (it used to read "out of local
    // resources", as if the machine were short of ports).
    let out = shell_in(
        "netns.sh",
        r#""$PORTPROBE" connect -s 10.9.9.9 127.0.0.1 80; echo "rc=$?""#,
    );
    assert_eq!(
        stderr(&out),
        "portprobe: -s 10.9.9.9: not an address of this host (give one of its own addresses)\n"
    );
    assert_eq!(stdout(&out), "rc=2\n");
}
