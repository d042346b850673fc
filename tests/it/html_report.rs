//! The visual report (issue 19, part 3): `-oH FILE` written from a real scan of the seed
//! scenario, rendered by headless Chromium without network (the page has no script): the
//! screenshot is not blank and the DOM holds every port of the scan.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A fresh directory for this test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portprobe-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn chromium_problem() -> Option<String> {
    let ok = |tool: &str, arg: &str| {
        Command::new(tool)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ok("chromium", "--version") {
        return Some("`chromium` is not installed (scripts/test installs it when run as root)".into());
    }
    if !ok("python3", "--version") {
        return Some("`python3` is not installed".into());
    }
    None
}

/// Runs headless Chromium on `page` inside a network namespace of its own (no network at all).
/// Headless Chromium drives the page through its own JavaScript, so it cannot switch scripts
/// off (`--blink-settings=scriptEnabled=false` makes it render nothing); the test checks
/// instead that the page holds no script at all and that its CSP would refuse one.
fn chromium(dir: &Path, page: &Path, what: &str) -> Output {
    Command::new("unshare")
        .args([
            "-rn",
            "timeout",
            "120",
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
        ])
        .args(["--no-first-run", "--window-size=1200,900"])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(what)
        .arg(format!("file://{}", page.display()))
        .env("HOME", dir)
        .stdin(Stdio::null())
        .output()
        .expect("run chromium")
}

/// Distinct colours in a PNG and the share of pixels unlike the most common one, decoded by
/// python3's zlib (PNG filters undone per RFC 2083).
const PNG_STATS: &str = r#"
import sys, zlib, struct, collections
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
pos, idat, w, h, bpp = 8, b'', 0, 0, 0
while pos < len(data):
    n, kind = struct.unpack('>I4s', data[pos:pos+8]); body = data[pos+8:pos+8+n]; pos += 12 + n
    if kind == b'IHDR':
        w, h, depth, ctype = struct.unpack('>IIBB', body[:10]); bpp = {2: 3, 6: 4}[ctype]; assert depth == 8
    elif kind == b'IDAT':
        idat += body
raw, stride, prev, counts = zlib.decompress(idat), w * bpp, bytearray(w * bpp), collections.Counter()
for y in range(h):
    f, line = raw[y*(stride+1)], bytearray(raw[y*(stride+1)+1:(y+1)*(stride+1)])
    for i in range(stride):
        a = line[i-bpp] if i >= bpp else 0; b = prev[i]; c = prev[i-bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p-a), abs(p-b), abs(p-c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    counts.update(bytes(line[x*bpp:x*bpp+3]) for x in range(w)); prev = line
print(len(counts), 1 - counts.most_common(1)[0][1] / (w * h))
"#;

#[test]
fn html_report_renders_every_port_in_a_real_browser() {
    if !require_namespaces("html_report") {
        return;
    }
    if let Some(why) = chromium_problem() {
        if std::env::var_os("CI").is_some() {
            panic!("html_report: cannot run in CI: {why}");
        }
        eprintln!("skipping html_report: {why}");
        return;
    }
    let dir = scratch("html");
    let page = dir.join("report.html");
    // The seed scenario plus an SSH greeting on 2222, audited: states, a version, a finding.
    let snippet = format!(
        "ncat -lk 127.0.0.1 2222 --sh-exec 'printf \"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\\r\\n\"; sleep 2' \
         </dev/null >/dev/null 2>&1 & \
         for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/2222) 2>/dev/null && break; sleep 0.05; done; \
         \"$PORTPROBE\" scan 127.0.0.1 -p 22,111,137,138,2222 --audit --timeout 500ms -oH '{}'",
        page.display()
    );
    let out = shell_in("seed.sh", &snippet);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    let html = std::fs::read_to_string(&page).expect("the report is written");
    // Readable with JavaScript off: there is none (no script element, no event handler), and
    // the page's policy forbids loading anything.
    assert!(!html.contains("<script"), "no scripts in the report");
    assert!(
        !html.contains(" onclick=") && !html.contains(" onload="),
        "no event handlers"
    );
    assert!(
        html.contains("content=\"default-src 'none'; style-src 'unsafe-inline'\""),
        "a CSP that forbids fetches and scripts"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external references"
    );

    let dom = chromium(&dir, &page, "--dump-dom");
    let dom_text = stdout(&dom);
    assert!(dom_text.contains("<h1>portprobe report</h1>"), "{}", stderr(&dom));
    for (port, state, reason) in [
        (22, "open", "syn-ack"),
        (111, "closed", "conn-refused"),
        (137, "filtered", "no-response"),
        (2222, "open", "syn-ack"),
    ] {
        let row = format!(
            "<tr class=\"{state}\" id=\"host-1-p{port}\"><td>{port}/tcp</td><td class=\"st\">{state}</td>"
        );
        let at = dom_text
            .find(&row)
            .unwrap_or_else(|| panic!("no row {row} in the DOM:\n{dom_text}"));
        let rest = &dom_text[at..];
        let end = rest.find("</tr>").expect("row ends");
        assert!(
            rest[..end].contains(&format!("<td>{reason}</td>")),
            "{}",
            &rest[..end]
        );
    }
    assert!(
        dom_text.contains("<tr class=\"filtered\" id=\"host-1-p138\"><td>138/tcp</td>"),
        "{dom_text}"
    );
    // The version, the audit finding with its fix, and the port knowledge base's note.
    assert!(dom_text.contains("<td>OpenSSH 9.2p1"), "{dom_text}");
    assert!(dom_text.contains("<div><b>Fix:</b> "), "{dom_text}");
    assert!(
        dom_text.contains("<details class=\"note\"><summary>ssh: "),
        "{dom_text}"
    );
    assert!(dom_text.contains("<svg class=\"chart\""), "{dom_text}");

    let shot = dir.join("shot.png");
    let out = chromium(&dir, &page, &format!("--screenshot={}", shot.display()));
    assert!(shot.exists(), "no screenshot: {}", stderr(&out));
    let stats = Command::new("python3")
        .args(["-c", PNG_STATS])
        .arg(&shot)
        .output()
        .expect("run python3");
    let text = stdout(&stats);
    let mut words = text.split_whitespace();
    let colours: usize = words
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("{}", stderr(&stats)));
    let inked: f64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0.0);
    // A blank page has one colour; the report has text, state colours and the chart.
    assert!(colours >= 20, "only {colours} colours in the screenshot");
    assert!(
        inked > 0.02,
        "only {inked:.4} of the screenshot differs from the background"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn html_report_to_an_unwritable_path_fails_before_scanning() {
    let args = ["scan", "127.0.0.1", "-p", "9", "-oH", "/nonexistent-dir/r.html"];
    let out = portprobe(&args);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&args, &out));
    assert_eq!(
        stderr(&out),
        "portprobe: cannot write report '/nonexistent-dir/r.html': No such file or directory (os error 2)\n"
    );
    assert_eq!(stdout(&out), "");
}
