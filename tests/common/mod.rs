//! Helpers for integration tests: the binary under test, and running it inside a network
//! namespace built by a test-bed script (so tests only ever touch that namespace's loopback).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_portprobe")
}

pub fn testbed(script: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/testbed")
        .join(script)
}

/// Why namespace tests cannot run here, if they cannot.
fn namespace_problem() -> Option<String> {
    let works = |cmd: &mut Command| {
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !works(Command::new("unshare").args(["-rn", "true"])) {
        return Some("`unshare -rn true` fails: user/network namespaces are unavailable".into());
    }
    for tool in [["nft", "--version"], ["socat", "-V"], ["ip", "-V"]] {
        if !works(Command::new(tool[0]).arg(tool[1])) {
            return Some(format!(
                "`{}` is not installed (scripts/test installs it when run as root)",
                tool[0]
            ));
        }
    }
    None
}

/// Checks that namespace tests can run. In CI a missing capability fails the test with the
/// reason; elsewhere the test is skipped with the reason printed.
pub fn require_namespaces(test: &str) -> bool {
    match namespace_problem() {
        None => true,
        Some(why) if std::env::var_os("CI").is_some() => panic!("{test}: cannot run in CI: {why}"),
        Some(why) => {
            eprintln!("skipping {test}: {why}");
            false
        }
    }
}

/// Runs `portprobe ARGS` inside a fresh namespace prepared by `script`.
pub fn portprobe_in(script: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new("unshare");
    cmd.arg("-rn").arg(testbed(script)).arg(bin()).args(args);
    cmd.stdin(Stdio::null());
    cmd.output().expect("run unshare")
}

/// Runs a shell snippet inside a fresh namespace prepared by `script`; `$PORTPROBE` is the binary.
pub fn shell_in(script: &str, snippet: &str) -> Output {
    Command::new("unshare")
        .arg("-rn")
        .arg(testbed(script))
        .args(["bash", "-c", snippet])
        .env("PORTPROBE", bin())
        .stdin(Stdio::null())
        .output()
        .expect("run unshare")
}

/// Runs portprobe directly (no namespace): only for cases that fail before any packet is sent.
pub fn portprobe(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run portprobe")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Parses JSON Lines output; every line must be a complete JSON object.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The words of the table row for `port/tcp`, if there is one.
pub fn table_row(out: &str, port: u16) -> Option<Vec<String>> {
    let tag = format!("{port}/tcp");
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(tag.as_str()))
        .map(|l| l.split_whitespace().map(String::from).collect())
}
