//! nmap's spellings on `scan` and `audit`, rewritten to portprobe's long options before clap
//! parses them (clap cannot take `-sT` or `-T4` as short flags), and one clear line for the nmap
//! flags portprobe cannot honour.

use std::ffi::OsString;
use std::time::Duration;

use thiserror::Error;

/// An nmap flag portprobe does not honour; the message says what to use instead.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum NmapFlagError {
    #[error("{flag}: {instead}")]
    Unsupported { flag: String, instead: &'static str },
}

/// The nmap flags portprobe refuses, each with what to use instead.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("-sA", "ACK scans need raw packets; portprobe makes full TCP connects: use -sT (the default)"),
    ("-sF", "FIN scans need raw packets; portprobe makes full TCP connects: use -sT (the default)"),
    ("-sN", "NULL scans need raw packets; portprobe makes full TCP connects: use -sT (the default)"),
    ("-sX", "Xmas scans need raw packets; portprobe makes full TCP connects: use -sT (the default)"),
    ("-sW", "window scans need raw packets; portprobe makes full TCP connects: use -sT (the default)"),
    ("-sM", "Maimon scans need raw packets; portprobe makes full TCP connects: use -sT (the default)"),
    ("-sn", "no port scan is not a scan: use `portprobe ping HOST` to check that a host answers"),
    ("-sP", "no port scan is not a scan: use `portprobe ping HOST` to check that a host answers"),
    ("-f", "fragmenting needs raw packets; portprobe makes full TCP connects"),
    ("-D", "decoys need raw packets; portprobe makes full TCP connects from this host"),
    ("-sC", "portprobe runs no NSE scripts: use `portprobe audit` for what each service discloses"),
    ("--script", "portprobe runs no NSE scripts: use `portprobe audit` for what each service discloses"),
    ("-O", "portprobe has no TCP/IP stack OS detection: the OS a service names is shown under 'Service info' (detection is on by default)"),
    ("-A", "use `portprobe audit` (service detection plus what each service discloses); portprobe has no OS detection or NSE scripts"),
    ("--traceroute", "portprobe does not trace routes: use traceroute or mtr"),
];

/// Flags nmap accepts that describe what portprobe does anyway: accepted and dropped.
const ALREADY_SO: &[&str] = &["-sT", "-sV", "-Pn", "-n", "--reason"];

/// Timing template names (`-T aggressive`), indexed by level.
const TIMING_NAMES: [&str; 6] = ["paranoid", "sneaky", "polite", "normal", "aggressive", "insane"];

/// Rewrites nmap's spellings for `scan` and `audit`; other commands are passed through except
/// `-iL`. Only arguments before a `--` are rewritten.
pub fn normalize_args(args: impl IntoIterator<Item = OsString>) -> Result<Vec<OsString>, NmapFlagError> {
    let args: Vec<OsString> = args.into_iter().collect();
    // The subcommand: the first argument after the program name that is not an option.
    let command = args
        .iter()
        .skip(1)
        .find(|a| !a.to_string_lossy().starts_with('-'));
    let nmap_command = command.is_some_and(|c| c == "scan" || c == "audit");
    let mut out = Vec::with_capacity(args.len());
    let mut iter = args.into_iter();
    out.extend(iter.next()); // the program name
    let mut literal = false;
    while let Some(arg) = iter.next() {
        if literal {
            out.push(arg);
            continue;
        }
        let Some(text) = arg.to_str().map(str::to_owned) else {
            out.push(arg);
            continue;
        };
        if text == "--" {
            literal = true;
            out.push(arg);
            continue;
        }
        if let Some(file) = text.strip_prefix("-iL") {
            out.push("--input-list".into());
            if !file.is_empty() {
                out.push(file.into());
            }
            continue;
        }
        if !nmap_command {
            out.push(arg);
            continue;
        }
        rewrite(&text, &mut iter, &mut out)?;
    }
    Ok(out)
}

/// Rewrites one argument of `scan`/`audit` (pulling its value from `rest` where nmap allows
/// a separate word).
fn rewrite(
    text: &str,
    rest: &mut impl Iterator<Item = OsString>,
    out: &mut Vec<OsString>,
) -> Result<(), NmapFlagError> {
    let flag_name = text.split('=').next().unwrap_or(text);
    if let Some((flag, instead)) = UNSUPPORTED.iter().find(|(f, _)| *f == flag_name) {
        return Err(NmapFlagError::Unsupported {
            flag: (*flag).to_string(),
            instead,
        });
    }
    if ALREADY_SO.contains(&text) {
        return Ok(());
    }
    // Host discovery probes (-PS22, -PE …): portprobe scans every target, as with -Pn.
    if text.len() > 2 && text.starts_with("-P") {
        return Err(NmapFlagError::Unsupported {
            flag: text.chars().take(3).collect(),
            instead: "portprobe does no host discovery: every target is scanned, as with -Pn",
        });
    }
    // Scan types combined (-sTV): each letter on its own.
    if let Some(types) = text
        .strip_prefix("-s")
        .filter(|t| t.len() > 1 && t.chars().all(|c| c.is_ascii_uppercase()))
    {
        for c in types.chars() {
            rewrite(&format!("-s{c}"), rest, out)?;
        }
        return Ok(());
    }
    if text == "-sU" {
        out.push("--udp".into());
        return Ok(());
    }
    if text == "-sS" {
        out.push("--syn".into());
        return Ok(());
    }
    if let Some(level) = text.strip_prefix("-T") {
        let level = if level.is_empty() {
            rest.next()
                .map(|v| v.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            level.to_string()
        };
        out.push(format!("--timing={level}").into());
        return Ok(());
    }
    match text {
        "-F" => out.push("--top-ports=100".into()),
        "-vv" | "-vvv" => out.push("--verbose".into()),
        "-oA" | "-oN" | "-oX" | "-oG" | "-oJ" | "-oH" => {
            // nmap's output flags: -oX FILE → --output-xml FILE.
            out.push(output_long(text).into());
        }
        _ => match output_attached(text) {
            Some((long, file)) => {
                out.push(long.into());
                out.push(file.into());
            }
            None => out.push(text.into()),
        },
    }
    Ok(())
}

/// The long option for an nmap output flag.
fn output_long(flag: &str) -> &'static str {
    match flag {
        "-oN" => "--output-normal",
        "-oX" => "--output-xml",
        "-oG" => "--output-grepable",
        "-oJ" => "--output-json",
        "-oH" => "--html",
        _ => "--output-all",
    }
}

/// `-oXscan.xml` (nmap allows the file name attached).
fn output_attached(text: &str) -> Option<(&'static str, &str)> {
    ["-oN", "-oX", "-oG", "-oJ", "-oA", "-oH"]
        .iter()
        .find_map(|flag| {
            text.strip_prefix(flag)
                .filter(|f| !f.is_empty())
                .map(|f| (output_long(flag), f))
        })
}

/// What a timing template (`-T0`…`-T5`) sets; flags given explicitly win over it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimingPreset {
    pub timeout: Duration,
    pub retries: u32,
    /// Most connects in flight (`None`: from the open-file limit, as without -T).
    pub concurrency: Option<u32>,
    /// Pause between connects (`None`: no pacing).
    pub delay: Option<Duration>,
}

/// The presets, by level. nmap's templates tune raw-packet round-trip timers; for full connects
/// the knobs are the connect timeout, retries, connects in flight and the pause between them:
/// T0 and T1 connect one at a time, 5 min and 15 s apart (IDS evasion); T2 ten at a time,
/// 0.4 s apart; T3 is portprobe's default; T4 and T5 shorten the timeout to 1.25 s and 300 ms
/// (T5 without retries), for fast, reliable networks.
pub const TIMING: [TimingPreset; 6] = [
    TimingPreset {
        timeout: Duration::from_secs(10),
        retries: 1,
        concurrency: Some(1),
        delay: Some(Duration::from_secs(300)),
    },
    TimingPreset {
        timeout: Duration::from_secs(10),
        retries: 1,
        concurrency: Some(1),
        delay: Some(Duration::from_secs(15)),
    },
    TimingPreset {
        timeout: Duration::from_secs(5),
        retries: 1,
        concurrency: Some(10),
        delay: Some(Duration::from_millis(400)),
    },
    TimingPreset {
        timeout: Duration::from_millis(1500),
        retries: 1,
        concurrency: None,
        delay: None,
    },
    TimingPreset {
        timeout: Duration::from_millis(1250),
        retries: 1,
        concurrency: None,
        delay: None,
    },
    TimingPreset {
        timeout: Duration::from_millis(300),
        retries: 0,
        concurrency: None,
        delay: None,
    },
];

/// Parses a timing template: `0`…`5` or nmap's names (`aggressive`).
pub fn parse_timing(text: &str) -> Result<u8, String> {
    let t = text.trim().to_ascii_lowercase();
    if let Ok(n) = t.parse::<u8>() {
        if n <= 5 {
            return Ok(n);
        }
    }
    TIMING_NAMES
        .iter()
        .position(|name| *name == t)
        .map(|i| i as u8)
        .ok_or_else(|| {
            format!(
                "invalid timing template '{}': use -T0 to -T5 ({})",
                crate::escape::escape_str(text),
                TIMING_NAMES.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Vec<String>, NmapFlagError> {
        let mut all = vec!["portprobe"];
        all.extend_from_slice(args);
        normalize_args(all.iter().map(OsString::from)).map(|v| {
            v.into_iter()
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        })
    }

    #[test]
    fn nmap_spellings_become_long_options() {
        assert_eq!(
            run(&["scan", "-sT", "-sV", "-Pn", "-n", "--reason", "-T4", "-F", "-vv", "h"]).unwrap(),
            ["scan", "--timing=4", "--top-ports=100", "--verbose", "h"]
        );
        assert_eq!(
            run(&["audit", "-sTV", "-T", "insane", "h"]).unwrap(),
            ["audit", "--timing=insane", "h"]
        );
        assert_eq!(
            run(&["scan", "-iLhosts.txt"]).unwrap(),
            ["scan", "--input-list", "hosts.txt"]
        );
        assert_eq!(run(&["scan", "-iL", "f"]).unwrap(), ["scan", "--input-list", "f"]);
        assert_eq!(run(&["scan", "-sU", "h"]).unwrap(), ["scan", "--udp", "h"]);
        assert_eq!(run(&["audit", "-sTUV", "h"]).unwrap(), ["audit", "--udp", "h"]);
        // connect has its own -u; nmap's -sU is only scan's and audit's.
        assert_eq!(
            run(&["connect", "-sU", "h", "53"]).unwrap(),
            ["connect", "-sU", "h", "53"]
        );
        assert_eq!(
            run(&["scan", "-oX", "a.xml", "-oGb.gnmap", "-oA", "base", "h"]).unwrap(),
            [
                "scan",
                "--output-xml",
                "a.xml",
                "--output-grepable",
                "b.gnmap",
                "--output-all",
                "base",
                "h"
            ]
        );
    }

    #[test]
    fn other_commands_and_literal_args_are_untouched() {
        assert_eq!(
            run(&["connect", "-n", "h", "22"]).unwrap(),
            ["connect", "-n", "h", "22"]
        );
        assert_eq!(run(&["scan", "--", "-sS"]).unwrap(), ["scan", "--", "-sS"]);
    }

    #[test]
    fn refused_flags_say_what_to_use() {
        assert_eq!(
            run(&["scan", "-sA", "h"]).unwrap_err().to_string(),
            "-sA: ACK scans need raw packets; portprobe makes full TCP connects: use -sT (the default)"
        );
        assert_eq!(
            run(&["scan", "-sS", "-oH", "r.html", "h"]).unwrap(),
            ["scan", "--syn", "--html", "r.html", "h"]
        );
        assert!(matches!(
            run(&["audit", "--script=vuln", "h"]).unwrap_err(),
            NmapFlagError::Unsupported { flag, .. } if flag == "--script"
        ));
        assert_eq!(
            run(&["scan", "-PS22,80", "h"]).unwrap_err().to_string(),
            "-PS: portprobe does no host discovery: every target is scanned, as with -Pn"
        );
        for flag in ["-O", "-A", "-sC", "-sP", "-f", "-PE"] {
            assert!(run(&["scan", flag, "h"]).is_err(), "{flag}");
        }
    }

    #[test]
    fn timing_templates() {
        assert_eq!(parse_timing("4"), Ok(4));
        assert_eq!(parse_timing("Polite"), Ok(2));
        assert_eq!(
            parse_timing("6").unwrap_err(),
            "invalid timing template '6': use -T0 to -T5 (paranoid, sneaky, polite, normal, aggressive, insane)"
        );
    }
}
