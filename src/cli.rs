//! The command line as typed: clap definitions and value parsers. `config` turns it into plans.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "portprobe",
    version,
    about = "Is a TCP or UDP port open, closed or stealth? What answers it? And a raw session to it.",
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
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout, or write every page into a directory
    Manpage(ManpageArgs),
}

#[derive(Debug, Args)]
pub struct ManpageArgs {
    /// Write portprobe.1 and a page per command (portprobe-scan.1 …) into DIR
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
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
    after_help = "TARGETS: 192.0.2.1, 2001:db8::1, 10.0.0.0/30, 192.0.2.1-20, 10.0.0-3.*, host.example, \
host.example:8080, [2001:db8::1]:22, or - to read targets from stdin (one or more per line, # comments).\n\n\
PROXIES: -x ADDR[:PORT] (SOCKS5) or --proxy ADDR[:PORT] (HTTP CONNECT), as for connect: the connects \
and detection go through the proxy, the states are as seen from the proxy (reasons proxy-connected, \
proxy-refused, proxy-unreach) and --concurrency defaults to 64.\n\n\
NMAP SPELLINGS: -sT, -sV, -Pn, -n and --reason are accepted (portprobe does that anyway); -T0..-T5, -F, \
-vv, -iL FILE, -oN/-oX/-oG/-oJ FILE and -oA BASE are too, and -sU is --udp; -sS, -O, -sC, \
--script and -A are refused with what to use instead."
)]
pub struct ScanArgs {
    // Help as an attribute: rustdoc would read `[v6]` in a doc comment as a link.
    #[arg(help = "Hosts to scan (IP, CIDR, name, host:port, [v6]:port, or - for stdin)")]
    pub targets: Vec<String>,
    /// Ports: 22, 20-25, 22,80,443, ssh, - for all 65535; U:53,161,T:22 mixes UDP and TCP [default: the top 270 of the shipped ranked list; with --udp the UDP list]
    #[arg(short = 'p', long = "ports", value_name = "PORTS")]
    pub ports: Option<String>,
    /// Scan the N most common ports from the shipped ranked list (it holds over 1,200)
    #[arg(long, value_name = "N", conflicts_with = "ports")]
    pub top_ports: Option<usize>,
    /// Scan UDP ports (ports without a T:/U: prefix are UDP); also spelled -sU as in nmap
    #[arg(short = 'u', long)]
    pub udp: bool,
    /// SNMP community sent by the UDP SNMP probes
    #[arg(long, value_name = "NAME", default_value = None)]
    pub snmp_community: Option<String>,
    /// Read targets from FILE (- for stdin); also spelled -iL as in nmap
    #[arg(long = "input-list", value_name = "FILE")]
    pub input_list: Vec<PathBuf>,
    #[command(flatten)]
    pub family: FamilyArgs,
    /// Connect timeout per attempt (500ms, 2s, 1.5s) [default: 1.5s, or the -T template's]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Extra attempts for a port that gave no answer before it is reported filtered [default: 1]
    #[arg(long, visible_alias = "max-retries", value_name = "N")]
    pub retries: Option<u32>,
    /// Connects in flight at once [default: from the open-file limit, at most 4096; 64 through a proxy]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=65535))]
    pub concurrency: Option<u32>,
    /// At most N connects per second (nmap: --max-rate)
    #[arg(long, visible_alias = "max-rate", value_name = "N", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// At least N connects per second: raises --concurrency to N x timeout so the rate holds
    /// even when every connect waits its whole timeout
    #[arg(long, value_name = "N", value_parser = parse_rate)]
    pub min_rate: Option<f64>,
    /// Wait this long between connects (nmap's --scan-delay; for the whole scan, not per host)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub scan_delay: Option<Duration>,
    /// Stop issuing a host's ports after this long (ports in flight still finish)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub host_timeout: Option<Duration>,
    /// Timing template, -T0 to -T5 (paranoid, sneaky, polite, normal, aggressive, insane): presets
    /// of timeout, retries, concurrency and rate; flags given explicitly win
    #[arg(long, value_name = "LEVEL", value_parser = crate::nmap_args::parse_timing)]
    pub timing: Option<u8>,
    /// Do not scan these targets: comma-separated addresses, CIDR blocks, ranges or names
    #[arg(long, value_name = "LIST")]
    pub exclude: Vec<String>,
    /// Do not scan the targets listed in FILE (one or more per line, # comments)
    #[arg(long, value_name = "FILE")]
    pub excludefile: Vec<PathBuf>,
    /// Time allowed to resolve each host name
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub resolve_timeout: Duration,
    /// Write JSON Lines: one object per probed port
    #[arg(long)]
    pub json: bool,
    /// Show only open ports
    #[arg(long)]
    pub open: bool,
    /// List every port, not only the interesting ones; show banners and rule skeletons (-vv: the same)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Connect only: no banner reading or service detection
    #[arg(short = 'z', long = "no-detect")]
    pub no_detect: bool,
    /// Probe budget of detection, 0 to 9: the port's own probes, then at most this many others
    /// (9: all) [default: all]
    #[arg(long, value_name = "0-9", value_parser = clap::value_parser!(u8).range(0..=9))]
    pub version_intensity: Option<u8>,
    /// Light detection: --version-intensity 2
    #[arg(long, conflicts_with_all = ["version_intensity", "version_all"])]
    pub version_light: bool,
    /// Every probe: --version-intensity 9
    #[arg(long, conflicts_with = "version_intensity")]
    pub version_all: bool,
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
    // Scan and detect through a SOCKS or HTTP CONNECT proxy (-x/--proxy, as for `connect`):
    // states are then as seen from the proxy, and --concurrency defaults to 64.
    #[command(flatten)]
    pub proxy: ProxyArgs,
    /// Scan share I of N (1/4 .. 4/4): N runs with shares 1..N scan every host-port pair once
    #[arg(long, value_name = "I/N", value_parser = |s: &str| s.parse::<crate::order::ShardSpec>())]
    pub shard: Option<crate::order::ShardSpec>,
    /// Scan the host-port pairs in a seeded random order, computed as it goes (also spelled
    /// --randomize-hosts); the table then lists hosts with open ports at the end
    #[arg(long, alias = "randomize-hosts")]
    pub randomize: bool,
    /// Seed of --randomize: the same seed gives the same order (shards need one) [default: random]
    #[arg(long, value_name = "N", requires = "randomize")]
    pub seed: Option<u64>,
    /// Also write JSON Lines to FILE (as -oJ); when FILE holds an interrupted run of the same
    /// scan, skip the pairs it reports and append the rest
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Report files written besides the terminal's table (nmap's -oN/-oX/-oG/-oA, plus JSON Lines,
/// CSV and SARIF); `-` writes that format to stdout instead of the table.
#[derive(Debug, Args, Clone, Default)]
pub struct OutputArgs {
    /// Write the table to FILE (nmap: -oN)
    #[arg(long, value_name = "FILE")]
    pub output_normal: Option<PathBuf>,
    /// Write nmap XML to FILE, for ndiff, python-libnmap and importers (nmap: -oX)
    #[arg(long, value_name = "FILE")]
    pub output_xml: Option<PathBuf>,
    /// Write nmap's greppable format to FILE (nmap: -oG)
    #[arg(long, value_name = "FILE")]
    pub output_grepable: Option<PathBuf>,
    /// Write JSON Lines to FILE (-oJ)
    #[arg(long, value_name = "FILE")]
    pub output_json: Option<PathBuf>,
    /// Write BASE.nmap, BASE.xml, BASE.gnmap and BASE.jsonl (nmap: -oA)
    #[arg(long, value_name = "BASE")]
    pub output_all: Option<PathBuf>,
    /// Write CSV to FILE, one row per port
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write the findings as SARIF 2.1.0 to FILE (for code-scanning dashboards)
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,
    /// Colour the table: auto (when stdout is a terminal and NO_COLOR is unset), always, never
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = |s: &str| s.parse::<ColorChoice>())]
    pub color: ColorChoice,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl std::str::FromStr for ColorChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(ColorChoice::Auto),
            "always" => Ok(ColorChoice::Always),
            "never" => Ok(ColorChoice::Never),
            _ => Err(format!(
                "invalid --color '{}': use auto, always or never",
                crate::escape::escape_str(s)
            )),
        }
    }
}

/// TLS options shared by scan and connect.
#[derive(Debug, Args, Clone)]
pub struct TlsArgs {
    /// Also trust the CA certificates in this PEM file (a self-signed server certificate too)
    #[arg(long, alias = "ssl-trustfile", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Roots to trust: system (the system store, /etc/ssl/certs), bundled (Mozilla's, built in) or both
    #[arg(long, value_name = "STORE", default_value = "both", value_parser = |s: &str| s.parse::<crate::net::tls::Trust>())]
    pub trust: crate::net::tls::Trust,
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
    /// Exit when nothing was sent or received for this long (ncat's -i)
    #[arg(short = 'i', long = "idle-timeout", value_name = "DURATION", value_parser = parse_duration)]
    pub idle_timeout: Option<Duration>,
    /// Wait this long between lines sent (OpenBSD nc's -i)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub delay: Option<Duration>,
    /// Show non-printable received bytes as \xNN instead of passing them to the terminal
    #[arg(long)]
    pub escape: bool,
    /// Write everything sent and received to FILE (ncat's -o)
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write a hex dump of everything sent and received to FILE (ncat's -x)
    #[arg(long, value_name = "FILE")]
    pub hex_dump: Option<PathBuf>,
    /// Say what happens on stderr (connection, TLS facts, the service's identity); -vv is the same
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// A SOCKS or HTTP CONNECT proxy, spelled as OpenBSD nc (`-x`, `-X`) or ncat (`--proxy`,
/// `--proxy-type`, `--proxy-auth`) spell it; shared by `connect` and `scan`.
#[derive(Debug, Args, Clone, Default)]
pub struct ProxyArgs {
    /// Connect through the proxy at ADDR or ADDR:PORT (port 1080 or 3128 by type), SOCKS5 unless -X says otherwise (OpenBSD nc)
    #[arg(short = 'x', value_name = "ADDR[:PORT]", conflicts_with = "proxy_ncat")]
    pub proxy_nc: Option<String>,
    /// Connect through the proxy at ADDR or ADDR:PORT (port 3128 or 1080 by type), HTTP CONNECT unless --proxy-type says otherwise (ncat)
    #[arg(long = "proxy", value_name = "ADDR[:PORT]")]
    pub proxy_ncat: Option<String>,
    /// Proxy protocol: socks4, socks5 or http (nc's -X 4, 5, connect)
    #[arg(short = 'X', long = "proxy-type", value_name = "TYPE", value_parser = |s: &str| s.parse::<crate::net::proxy::ProxyKind>())]
    pub proxy_type: Option<crate::net::proxy::ProxyKind>,
    /// Proxy credentials USER:PASS (SOCKS5 user/password, HTTP Basic; SOCKS4 sends USER)
    #[arg(long, value_name = "USER:PASS")]
    pub proxy_auth: Option<String>,
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Host to connect to (IP or name)
    #[arg(required_unless_present = "unix")]
    pub host: Option<String>,
    /// Port(s) to connect to: 80, 20-25, 22,80; several only with -z
    #[arg(value_name = "PORT", required_unless_present = "unix")]
    pub ports: Vec<String>,
    /// Connect to this Unix-domain stream socket instead of HOST PORT
    #[arg(short = 'U', long = "unix", value_name = "PATH", conflicts_with_all = ["host", "zero", "proxy_nc", "proxy_ncat"])]
    pub unix: Option<PathBuf>,
    /// Connect timeout; also ends the session after this long idle, as in OpenBSD nc [default: 10s, connect only]
    #[arg(short = 'w', long = "wait", value_name = "DURATION", value_parser = parse_duration)]
    pub wait: Option<Duration>,
    /// Connect only: report whether each port is open, then exit (0 if any is open, 1 if none)
    #[arg(short = 'z', long = "zero")]
    pub zero: bool,
    /// UDP: each stdin chunk is one datagram, each datagram received goes to stdout (like nc -u);
    /// with -z, probe the port as scan -u does
    #[arg(short = 'u', long)]
    pub udp: bool,
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
    #[command(flatten)]
    pub proxy: ProxyArgs,
    /// Speak TLS
    #[arg(long, alias = "ssl")]
    pub tls: bool,
    /// Upgrade with STARTTLS first: smtp, imap, pop3, ftp or postgres (implies TLS)
    #[arg(long, value_name = "PROTO", value_parser = |s: &str| s.parse::<crate::net::starttls::StartTls>())]
    pub starttls: Option<crate::net::starttls::StartTls>,
    #[command(flatten)]
    pub tls_args: TlsArgs,
    /// ALPN protocols to offer, comma-separated (h2,http/1.1); implies --tls
    #[arg(long, alias = "ssl-alpn", value_name = "LIST")]
    pub alpn: Option<String>,
    /// Refuse the connection unless the certificate is valid for the name (implies --tls)
    #[arg(long, alias = "ssl-verify", conflicts_with = "insecure")]
    pub tls_verify: bool,
    /// Do not warn about an untrusted certificate (implies --tls)
    #[arg(long)]
    pub insecure: bool,
    /// Speak telnet: answer option negotiation (terminal type, window size, user), strip it
    /// from the output; with a terminal, local line editing or character mode as the server
    /// asks, and Ctrl-] for a telnet> prompt
    #[arg(long)]
    pub telnet: bool,
    /// With --telnet: the escape key, as a character (^] or ]) or "none"
    #[arg(short = 'e', value_name = "CHAR")]
    pub escape_char: Option<String>,
    /// With --telnet: the user name to send when the server asks (NEW-ENVIRON USER)
    #[arg(short = 'l', value_name = "USER")]
    pub login: Option<String>,
    #[command(flatten)]
    pub db: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    #[arg(
        help = "Where to listen: PORT (all addresses), ADDR:PORT or [V6]:PORT",
        required_unless_present = "unix"
    )]
    pub address: Option<String>,
    /// Listen on this Unix-domain stream socket (created, and removed at exit)
    #[arg(short = 'U', long = "unix", value_name = "PATH", conflicts_with = "address")]
    pub unix: Option<PathBuf>,
    /// Accepted and ignored, so `listen -l 9000` works as `nc -l 9000` does
    #[arg(short = 'l', hide = true)]
    pub listen_flag: bool,
    /// Keep listening after the first connection; stdin goes to every connection
    #[arg(short = 'k', long = "keep-open")]
    pub keep_open: bool,
    /// UDP: datagrams from peers to stdout, stdin to the last peer (the first only, without -k)
    #[arg(short = 'u', long)]
    pub udp: bool,
    /// Most connections at once with -k (more are closed on arrival)
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_conns: u32,
    /// Accept only these peers: addresses or CIDR blocks, comma-separated or repeated
    #[arg(long, value_name = "ADDRS", value_delimiter = ',')]
    pub allow: Vec<String>,
    /// Refuse these peers: addresses or CIDR blocks, comma-separated or repeated
    #[arg(long, value_name = "ADDRS", value_delimiter = ',')]
    pub deny: Vec<String>,
    /// Accept only the peers listed in FILE (one address or CIDR a line, # comments)
    #[arg(long, value_name = "FILE")]
    pub allowfile: Option<PathBuf>,
    /// Refuse the peers listed in FILE (one address or CIDR a line, # comments)
    #[arg(long, value_name = "FILE")]
    pub denyfile: Option<PathBuf>,
    #[command(flatten)]
    pub family: FamilyArgs,
    #[command(flatten)]
    pub session: SessionArgs,
    /// Speak TLS (with --cert/--key, or a generated self-signed certificate)
    #[arg(long, alias = "ssl")]
    pub tls: bool,
    /// PEM certificate chain (implies --tls)
    #[arg(long, alias = "ssl-cert", value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// PEM private key (implies --tls)
    #[arg(long, alias = "ssl-key", value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
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
}
