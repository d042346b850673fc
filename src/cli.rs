//! The command line as typed: clap definitions and value parsers. `config` turns it into plans.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "portprobe",
    version,
    about = "Is a TCP port open, closed or stealth? What answers it? And a raw session to it.",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan hosts x ports: open, closed or filtered (stealth), with the reason.
    Scan(ScanArgs),
    /// Scan, identify, and report what each service discloses (versions, patch levels, names),
    /// with evidence and fixes; --fail-on makes it a CI gate
    Audit(ScanArgs),
    /// Repeated TCP connects to one host with RTT statistics (like nping --tcp-connect).
    Ping(PingArgs),
    /// Open a raw session to HOST PORT: binary-safe, half-close aware, TLS, telnet (like nc/ncat)
    Connect(ConnectArgs),
    /// Wait for a connection and pipe it to stdin/stdout (like nc -l); no --exec, by design
    Listen(ListenArgs),
    /// Identify a saved server response offline (no network).
    Match(MatchArgs),
    /// Work with fingerprint databases.
    #[command(subcommand)]
    Fingerprints(FingerprintsCommand),
    /// What a port usually is, what exposing it means and how to secure it (no network)
    Port(PortArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "PORTS: 111, ssh, 53/udp, domain/tcp; several at once: portprobe port 22 23 445")]
pub struct PortArgs {
    /// Port numbers or service names
    #[arg(required = true, value_name = "PORT")]
    pub ports: Vec<String>,
    /// Only what the knowledge base says about TCP
    #[arg(long, conflicts_with = "udp")]
    pub tcp: bool,
    /// Only what the knowledge base says about UDP
    #[arg(long)]
    pub udp: bool,
    /// Print one JSON object per entry (JSON Lines)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum FingerprintsCommand {
    /// Validate a database: syntax, regexes, templates, and every rule's examples.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A directory of your own rules to check (with the shipped database it extends) [default: the shipped database]
    pub dir: Option<PathBuf>,
}

/// Options that select the fingerprint database.
#[derive(Debug, Args, Clone)]
pub struct DatabaseArgs {
    /// Add the fingerprint files (*.toml) of DIR; they take precedence over the shipped ones
    #[arg(long = "fingerprints", value_name = "DIR")]
    pub fingerprints: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MatchArgs {
    /// File holding the raw response; - or nothing reads stdin
    pub file: Option<PathBuf>,
    /// The probe that elicited the response (null: the server spoke first)
    #[arg(long, value_name = "NAME", default_value = "null")]
    pub probe: String,
    /// The port it came from (names the service when no rule matches)
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// Options shared by commands that resolve names.
#[derive(Debug, Args, Clone, Copy)]
pub struct FamilyArgs {
    /// Use IPv4 addresses only (of names; an IPv6 address given is refused)
    #[arg(short = '4', conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Use IPv6 addresses only (of names; an IPv4 address given is refused)
    #[arg(short = '6')]
    pub ipv6: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "TARGETS: 192.0.2.1, 2001:db8::1, 10.0.0.0/30, host.example, host.example:8080, \
[2001:db8::1]:22, or - to read targets from stdin (one or more per line, # comments)."
)]
pub struct ScanArgs {
    // Help as an attribute: rustdoc would read `[v6]` in a doc comment as a link.
    #[arg(help = "Hosts to scan (IP, CIDR, name, host:port, [v6]:port, or - for stdin)")]
    pub targets: Vec<String>,
    /// Ports: 22, 20-25, 22,80,443, or - for all 65535 [default: the top 270 of the shipped ranked list]
    #[arg(short = 'p', long = "ports", value_name = "PORTS")]
    pub ports: Option<String>,
    /// Scan the N most common ports from the shipped ranked list (it holds over 1,200)
    #[arg(long, value_name = "N", conflicts_with = "ports")]
    pub top_ports: Option<usize>,
    /// Read targets from FILE (- for stdin); also spelled -iL as in nmap
    #[arg(long = "input-list", value_name = "FILE")]
    pub input_list: Vec<PathBuf>,
    #[command(flatten)]
    pub family: FamilyArgs,
    /// Connect timeout per attempt (500ms, 2s, 1.5s)
    #[arg(long, value_name = "DURATION", default_value = "1.5s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Extra attempts for a port that gave no answer before it is reported filtered
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub retries: u32,
    /// Connects in flight at once [default: from the open-file limit, at most 4096]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=65535))]
    pub concurrency: Option<u32>,
    /// At most N connects per second
    #[arg(long, value_name = "N", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Time allowed to resolve each host name
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub resolve_timeout: Duration,
    /// Write JSON Lines: one object per probed port
    #[arg(long)]
    pub json: bool,
    /// Show only open ports
    #[arg(long)]
    pub open: bool,
    /// List every port, not only the interesting ones; show banners and rule skeletons
    #[arg(short, long)]
    pub verbose: bool,
    /// Connect only: no banner reading or service detection
    #[arg(short = 'z', long = "no-detect")]
    pub no_detect: bool,
    /// Probe with raw SYN packets (half-open, exact reasons; needs CAP_NET_RAW); also spelled -sS
    #[arg(long)]
    pub syn: bool,
    /// Write a self-contained HTML report to FILE (readable without JavaScript); also spelled -oH
    #[arg(long = "html", value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Time allowed for detecting the service of one open port
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub detect_timeout: Duration,
    /// Most bytes read from one response (64k, 1m or a number)
    #[arg(long, value_name = "BYTES", default_value = "64k", value_parser = parse_size)]
    pub read_cap: usize,
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Do not attempt TLS handshakes (no tunnels, no STARTTLS)
    #[arg(long)]
    pub no_tls: bool,
    /// Add disclosure findings (what each service gives away) to the scan
    #[arg(long)]
    pub audit: bool,
    /// Exit with code 3 when a finding at or above this level exists: info, low or medium
    #[arg(long, value_name = "LEVEL", value_parser = |s: &str| s.parse::<crate::fingerprint::Severity>())]
    pub fail_on: Option<crate::fingerprint::Severity>,
    /// Report only findings that are new or changed since this previous `--json` run
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
}

/// TLS options shared by scan and connect.
#[derive(Debug, Args, Clone)]
pub struct TlsArgs {
    /// Also trust the CA certificates in this PEM file
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Server name to send (SNI) and verify the certificate against, also for IP targets
    #[arg(long, value_name = "NAME", conflicts_with = "no_sni")]
    pub sni: Option<String>,
    /// Send no server name indication
    #[arg(long)]
    pub no_sni: bool,
}

#[derive(Debug, Args)]
pub struct PingArgs {
    /// Host to connect to (IP, name, or host:port)
    pub host: String,
    /// Port(s) to connect to; repeat or use a list [default: 80]
    #[arg(short = 'p', long = "port", value_name = "PORTS")]
    pub ports: Vec<String>,
    /// Number of rounds; 0 runs until Ctrl-C
    #[arg(short = 'c', long, value_name = "COUNT", default_value_t = 5)]
    pub count: u64,
    /// Time between rounds
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Connect timeout per attempt
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub timeout: Duration,
    #[command(flatten)]
    pub family: FamilyArgs,
    /// Write JSON Lines: one object per attempt, then one per port with statistics
    #[arg(long)]
    pub json: bool,
    /// Send raw SYNs and show each reply's flags, TTL, window and IP id (like hping3 -S;
    /// needs CAP_NET_RAW)
    #[arg(long, conflicts_with = "json")]
    pub syn: bool,
}

/// How a session treats stdin EOF, data and the terminal (shared by connect and listen).
#[derive(Debug, Args, Clone)]
pub struct SessionArgs {
    /// After stdin EOF, close and exit at once (do not wait for the server)
    #[arg(short = 'N', long = "close-on-eof", conflicts_with = "quit_after")]
    pub close_on_eof: bool,
    /// After stdin EOF, wait this long for the server, then exit (default: until it closes)
    #[arg(short = 'q', long = "quit-after", value_name = "DURATION", value_parser = parse_duration)]
    pub quit_after: Option<Duration>,
    /// Only receive: do not read stdin
    #[arg(long, conflicts_with = "send_only")]
    pub recv_only: bool,
    /// Only send: discard what the server sends; exit after stdin EOF
    #[arg(long)]
    pub send_only: bool,
    /// Send CRLF for each LF read from stdin
    #[arg(short = 'C', long)]
    pub crlf: bool,
    /// Exit when nothing was sent or received for this long
    #[arg(short = 'i', long = "idle-timeout", value_name = "DURATION", value_parser = parse_duration)]
    pub idle_timeout: Option<Duration>,
    /// Show non-printable received bytes as \xNN instead of passing them to the terminal
    #[arg(long)]
    pub escape: bool,
    /// Say what happens on stderr (connection, TLS facts, the service's identity)
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Host to connect to (IP or name)
    pub host: String,
    /// Port to connect to
    #[arg(value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
    /// Connect timeout
    #[arg(short = 'w', long = "wait", value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub wait: Duration,
    /// Connect only: report whether the port is open, then exit (0 open, 1 not)
    #[arg(short = 'z', long = "zero")]
    pub zero: bool,
    /// Local address to connect from
    #[arg(short = 's', long = "source", value_name = "ADDR")]
    pub source: Option<std::net::IpAddr>,
    /// Local port to connect from
    #[arg(short = 'p', long = "source-port", value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub source_port: Option<u16>,
    #[command(flatten)]
    pub family: FamilyArgs,
    #[command(flatten)]
    pub session: SessionArgs,
    /// Speak TLS
    #[arg(long)]
    pub tls: bool,
    /// Upgrade with STARTTLS first: smtp, imap, pop3, ftp or postgres (implies TLS)
    #[arg(long, value_name = "PROTO", value_parser = |s: &str| s.parse::<crate::net::starttls::StartTls>())]
    pub starttls: Option<crate::net::starttls::StartTls>,
    #[command(flatten)]
    pub tls_args: TlsArgs,
    /// ALPN protocols to offer, comma-separated (h2,http/1.1); implies --tls
    #[arg(long, value_name = "LIST")]
    pub alpn: Option<String>,
    /// Refuse the connection unless the certificate is valid for the name (implies --tls)
    #[arg(long, conflicts_with = "insecure")]
    pub tls_verify: bool,
    /// Do not warn about an untrusted certificate (implies --tls)
    #[arg(long)]
    pub insecure: bool,
    /// Speak telnet: answer option negotiation, strip it from the output; raw terminal with
    /// Ctrl-] to quit when stdin is a terminal
    #[arg(long)]
    pub telnet: bool,
    #[command(flatten)]
    pub db: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    #[arg(help = "Where to listen: PORT (all addresses), ADDR:PORT or [V6]:PORT")]
    pub address: String,
    /// Keep listening after the first connection; stdin goes to every connection
    #[arg(short = 'k', long = "keep-open")]
    pub keep_open: bool,
    /// Most connections at once with -k (more are closed on arrival)
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_conns: u32,
    #[command(flatten)]
    pub family: FamilyArgs,
    #[command(flatten)]
    pub session: SessionArgs,
    /// Speak TLS (with --cert/--key, or a generated self-signed certificate)
    #[arg(long)]
    pub tls: bool,
    /// PEM certificate chain (implies --tls)
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// PEM private key (implies --tls)
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
}

/// Rewrites nmap's two-letter `-iL`, `-sS` and `-oH` into `--input-list`, `--syn` and `--html`
/// so clap can parse them.
pub fn normalize_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    args.into_iter()
        .map(|a| {
            if a == "-iL" {
                OsString::from("--input-list")
            } else if a == "-sS" {
                OsString::from("--syn")
            } else if a == "-oH" {
                OsString::from("--html")
            } else {
                a
            }
        })
        .collect()
}

/// Parses `500ms`, `2s`, `1.5s`, `1m` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration '{text}': use 500ms, 2s, 1.5s or 1m");
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (t, 1.0)
    };
    let value: f64 = number.trim().parse().map_err(|_| bad())?;
    if !value.is_finite() || value < 0.0 || value * scale > 86_400.0 * 7.0 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(value * scale))
}

/// Parses a byte count: `4096`, `64k`, `1m`.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let bad = || format!("invalid size '{text}': use a number of bytes, or 64k, 1m (16 to 64m)");
    let t = text.trim().to_ascii_lowercase();
    let (number, scale) = match t.strip_suffix('k') {
        Some(n) => (n, 1024),
        None => match t.strip_suffix('m') {
            Some(n) => (n, 1024 * 1024),
            None => (t.as_str(), 1),
        },
    };
    let n: usize = number.parse().map_err(|_| bad())?;
    match n.checked_mul(scale) {
        Some(v) if (16..=64 << 20).contains(&v) => Ok(v),
        _ => Err(bad()),
    }
}

/// Bounds of `--rate`, in connects per second.
pub const MIN_RATE: f64 = 0.01;
pub const MAX_RATE: f64 = 10_000_000.0;

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        // Below 0.01/s the spacing between connects stops meaning anything (and a tiny
        // value would overflow the pacer's Duration).
        Ok(r) if r.is_finite() && (MIN_RATE..=MAX_RATE).contains(&r) => Ok(r),
        _ => Err(format!(
            "invalid rate '{text}': give connects per second, from {MIN_RATE} to {MAX_RATE}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("soon")
            .unwrap_err()
            .contains("invalid duration 'soon'"));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("NaN").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64k"), Ok(65536));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert!(parse_size("1g").is_err());
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn il_is_rewritten() {
        let args = normalize_args(["portprobe", "scan", "-iL", "f"].map(OsString::from));
        assert_eq!(args[2], "--input-list");
        let args = normalize_args(["portprobe", "scan", "-sS", "-oH", "r.html"].map(OsString::from));
        assert_eq!(args[2..4], ["--syn", "--html"]);
    }
}
