//! From the command line as typed to validated plans: every usage and input error is found here,
//! with a message that names the bad value and what is allowed.

use std::fs::File;
use std::io::{self, BufReader, IsTerminal};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use crate::audit::{AuditPlan, Baseline, BaselineError};
use crate::cli::{
    ColorChoice, ConnectArgs, DatabaseArgs, FamilyArgs, ListenArgs, OutputArgs, PingArgs, ProxyArgs,
    ScanArgs, SessionArgs, TlsArgs,
};
use crate::detect::{DetectLimits, DetectPlan, TlsSettings};
use crate::endpoint::{listen_address, ConnectPlan, ListenOn, ListenPlan, ProxyPlan, TlsPlan};
use crate::escape::escape_str;
use crate::fingerprint::{Database, DatabaseError, Matcher, Problem};
use crate::limits::default_concurrency;
use crate::net::access::AccessList;
use crate::net::connect::ConnectOptions;
use crate::net::dialer::Dialer;
use crate::net::proxy::{ProxyAuth, ProxyKind};
use crate::net::tls::{
    cert_facts, load_key_pair, self_signed, server_config, trust_store, NameChoice, TlsClient, TlsSetupError,
};
use crate::net::udp::UdpOptions;
use crate::nmap_args::TIMING;
use crate::order::ShardSpec;
use crate::ping::PingPlan;
use crate::pipeline::Pipeline;
use crate::portdb::{default_ports, top_ports, top_udp_ports};
use crate::ports::{parse_mixed, PortError, PortSet, Proto};
use crate::report::run::RunInfo;
use crate::report::{FileFormat, Format, OutputFile, ReportOptions};
use crate::scan::ScanPlan;
use crate::session::{EofMode, SessionOptions};
use crate::session_log::SessionLog;
use crate::target::{
    resolve, CidrIter, Exclusions, Family, FamilyMismatch, HostSpec, ResolveError, Source, TargetError,
    TargetReader, TargetSpec,
};
use crate::udp_detect::UdpPlan;
use std::net::SocketAddr;

/// A usage or input error: exit code 2.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("no targets: name hosts (127.0.0.1, 10.0.0.0/30, host.example), give -iL FILE, or - to read them from stdin")]
    NoTargets,
    #[error("invalid target '{text}': {source}")]
    Target { text: String, source: TargetError },
    #[error("invalid --ports: {0}")]
    Ports(#[from] PortError),
    #[error(
        "--top-ports {given}: choose 1 to {max} (the shipped list has {max} ports); use -p - for all ports"
    )]
    TopPorts { given: usize, max: usize },
    #[error("cannot read target list '{path}': {source}")]
    TargetList { path: String, source: io::Error },
    #[error("{0}")]
    Resolve(#[from] ResolveError),
    #[error("-s {0}: not an address of this host (give one of its own addresses)")]
    NotLocal(std::net::IpAddr),
    #[error("{command} takes one host, not the block '{block}': use scan for many hosts")]
    OneHost { command: &'static str, block: String },
    #[error(transparent)]
    Database(#[from] DatabaseError),
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    #[error("invalid --sni '{0}': give a DNS name or an IP address")]
    BadSni(String),
    #[error("{0}")]
    Listen(String),
    #[error("auditing needs service detection: drop -z/--no-detect")]
    AuditNeedsDetection,
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    #[error(transparent)]
    Family(#[from] FamilyMismatch),
    #[error("--udp cannot be combined with {0}: it needs a stream (TCP)")]
    UdpConflict(&'static str),
    #[error("unknown probe '{given}': the database has {known}")]
    UnknownProbe { given: String, known: String },
    #[error("--randomize orders TCP ports only: scan UDP ports (-u, -sU, -p U:53) in target order")]
    RandomizeUdp,
    #[error("--shard with --randomize needs --seed N: every shard must walk the same order")]
    ShardNeedsSeed,
    #[error(transparent)]
    Resume(#[from] crate::resume::ResumeError),
    #[error("invalid port: {0}")]
    Port(PortError),
    #[error("{0} ports given: a session talks to one port; add -z to check each (connect -z HOST 20-25 80)")]
    SeveralPorts(usize),
    #[error("{0}")]
    Proxy(String),
    #[error(transparent)]
    Access(#[from] crate::net::access::AccessError),
    #[error(transparent)]
    Log(#[from] crate::session_log::LogError),
    #[error("-e {0}: without --telnet, -e would run a program as in nc, and portprobe never hands a program to the network; with --telnet, -e CHAR sets the escape key")]
    ExecRefused(String),
    #[error("invalid escape key '{0}': give one character (]), a control key (^]) or none")]
    BadEscapeKey(String),
    #[error("-l USER is the telnet login name: it needs --telnet (to listen, use portprobe listen)")]
    LoginNeedsTelnet,
    #[error("-oA needs a base name for its files (BASE.nmap, BASE.xml …), not -")]
    OutputAllStdout,
    #[error("only one output format can go to stdout (-): give the others file names")]
    StdoutTwice,
    #[error("--min-rate {min} is above --max-rate {max}: the scan cannot be both")]
    Rates { min: f64, max: f64 },
    #[error("{origin}: invalid exclusion: {source}")]
    Exclude { origin: String, source: TargetError },
    #[error("cannot read --excludefile '{path}': {source}")]
    ExcludeFile { path: String, source: io::Error },
    #[error("a proxy carries TCP connects only: drop --syn and UDP ports, or scan without the proxy")]
    ProxyNeedsConnect,
    #[error(transparent)]
    Syn(#[from] crate::net::syn::SynError),
    #[error("{0}: --syn probes IPv4 only for now; scan IPv6 targets without --syn")]
    SynIpv6(String),
}

/// The report files asked for; `-oA BASE` is one of each nmap format plus JSON Lines.
fn output_files(args: &OutputArgs) -> Result<Vec<OutputFile>, ConfigError> {
    let mut files = Vec::new();
    for (format, path) in [
        (FileFormat::Normal, &args.output_normal),
        (FileFormat::Xml, &args.output_xml),
        (FileFormat::Grepable, &args.output_grepable),
        (FileFormat::Jsonl, &args.output_json),
        (FileFormat::Csv, &args.csv),
        (FileFormat::Sarif, &args.sarif),
    ] {
        if let Some(path) = path {
            files.push(OutputFile {
                format,
                path: path.clone(),
            });
        }
    }
    if let Some(base) = &args.output_all {
        if base == Path::new("-") {
            return Err(ConfigError::OutputAllStdout);
        }
        for format in [
            FileFormat::Normal,
            FileFormat::Xml,
            FileFormat::Grepable,
            FileFormat::Jsonl,
        ] {
            let mut name = base.as_os_str().to_owned();
            name.push(".");
            name.push(format.extension());
            files.push(OutputFile {
                format,
                path: name.into(),
            });
        }
    }
    if files.iter().filter(|f| f.path == Path::new("-")).count() > 1 {
        return Err(ConfigError::StdoutTwice);
    }
    Ok(files)
}

/// `--color`: `auto` colours only a terminal, and never when NO_COLOR is set (no-color.org).
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
        }
    }
}

/// `--exclude LIST` and `--excludefile FILE`: blocks and addresses as written; names also by
/// the addresses they resolve to now.
fn exclusions(args: &ScanArgs) -> Result<Exclusions, ConfigError> {
    let mut words: Vec<(String, String)> = Vec::new();
    for list in &args.exclude {
        words.extend(
            list.split(',')
                .filter(|w| !w.trim().is_empty())
                .map(|w| (w.trim().to_string(), "--exclude".to_string())),
        );
    }
    for path in &args.excludefile {
        let shown = escape_str(&path.display().to_string());
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ExcludeFile {
            path: shown.clone(),
            source,
        })?;
        for (no, line) in text.lines().enumerate() {
            for word in line.split('#').next().unwrap_or("").split_whitespace() {
                words.push((word.to_string(), format!("{shown}:{}", no + 1)));
            }
        }
    }
    let mut blocks = Vec::new();
    for (word, origin) in words {
        let spec: TargetSpec = word
            .parse()
            .map_err(|source| ConfigError::Exclude { origin, source })?;
        if let HostSpec::Name(name) = &spec.host {
            if let Ok(ips) = resolve(name, family(args.family), args.resolve_timeout) {
                blocks.extend(ips.into_iter().map(HostSpec::Addr));
            }
        }
        blocks.push(spec.host);
    }
    Ok(Exclusions { blocks })
}

/// TLS settings from `--ca-file`, `--sni`, `--no-sni`.
pub fn tls_settings(args: &TlsArgs) -> Result<TlsSettings, ConfigError> {
    if let Some(name) = &args.sni {
        let ok = name.parse::<std::net::IpAddr>().is_ok()
            || rustls::pki_types::ServerName::try_from(name.as_str()).is_ok();
        if !ok {
            return Err(ConfigError::BadSni(escape_str(name)));
        }
    }
    Ok(TlsSettings {
        client: TlsClient::with_trust(trust_store(args.ca_file.as_deref(), args.trust)?, Vec::new()),
        sni: args.sni.clone(),
        no_sni: args.no_sni,
    })
}

/// Loads the shipped database with the user's directories in front and compiles it.
pub fn load_matcher(args: &DatabaseArgs) -> Result<Matcher, ConfigError> {
    let dirs: Vec<&Path> = args.fingerprints.iter().map(|p| p.as_path()).collect();
    for dir in &dirs {
        if !dir.is_dir() {
            return Err(DatabaseError(vec![Problem {
                file: escape_str(&dir.display().to_string()),
                line: 0,
                message: "--fingerprints needs a directory of *.toml files".into(),
            }])
            .into());
        }
    }
    Ok(Matcher::new(Database::load(&dirs)?))
}

fn family(args: FamilyArgs) -> Family {
    match (args.ipv4, args.ipv6) {
        (true, _) => Family::V4,
        (_, true) => Family::V6,
        _ => Family::Any,
    }
}

fn open_list(path: &Path) -> Result<Source, ConfigError> {
    if path == Path::new("-") {
        return Ok(stdin_source());
    }
    let file = File::open(path).map_err(|source| ConfigError::TargetList {
        path: escape_str(&path.display().to_string()),
        source,
    })?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(ConfigError::TargetList {
            path: escape_str(&path.display().to_string()),
            source: io::Error::other("it is a directory"),
        });
    }
    Ok(Source::Lines {
        name: escape_str(&path.display().to_string()),
        reader: Box::new(BufReader::new(file)),
        line: 0,
    })
}

fn stdin_source() -> Source {
    Source::Lines {
        name: "stdin".into(),
        reader: Box::new(BufReader::new(io::stdin())),
        line: 0,
    }
}

/// Builds the scan plan, the lazy target reader and the report options.
pub fn scan_plan(
    args: &ScanArgs,
    nofile: u64,
    audit_command: bool,
) -> Result<(ScanPlan, TargetReader, ReportOptions), ConfigError> {
    if args.targets.is_empty() && args.input_list.is_empty() {
        return Err(ConfigError::NoTargets);
    }
    // SARIF carries findings: asking for it asks for the audit.
    let auditing = audit_command
        || args.audit
        || args.fail_on.is_some()
        || args.baseline.is_some()
        || args.output.sarif.is_some();
    if auditing && args.no_detect {
        return Err(ConfigError::AuditNeedsDetection);
    }
    // `--udp` makes unprefixed ports UDP; `-p U:53,T:22` mixes both either way.
    let target_proto = if args.udp { Proto::Udp } else { Proto::Tcp };
    // Without -p or --top-ports: the default TCP set (the top 270), or the whole UDP list.
    let ranked = |n: Option<usize>| -> Result<PortSet, ConfigError> {
        let (list, default) = if args.udp {
            (top_udp_ports(), top_udp_ports())
        } else {
            (top_ports(), default_ports())
        };
        let chosen = match n {
            None => default,
            Some(n) if n == 0 || n > list.len() => {
                return Err(ConfigError::TopPorts {
                    given: n,
                    max: list.len(),
                })
            }
            Some(n) => &list[..n],
        };
        let mut set = PortSet::new();
        chosen.iter().for_each(|&p| set.insert(p));
        Ok(set)
    };
    let (ports, udp_ports) = match (&args.ports, args.top_ports) {
        (Some(spec), _) => {
            let both = parse_mixed(spec, target_proto)?;
            (both.tcp, both.udp)
        }
        (None, n) if args.udp => (PortSet::new(), ranked(n)?),
        (None, n) => (ranked(n)?, PortSet::new()),
    };
    // Arguments are checked now, so a typo fails before any packet is sent; files and stdin are
    // read lazily while the scan runs, and their bad lines are reported with file:line.
    let mut sources = Vec::new();
    let mut total: Option<u64> = Some(0);
    for text in &args.targets {
        if text == "-" {
            sources.push(stdin_source());
            total = None;
            continue;
        }
        let spec: TargetSpec = text.parse().map_err(|source| ConfigError::Target {
            text: escape_str(text),
            source,
        })?;
        let literal = match &spec.host {
            HostSpec::Addr(ip) | HostSpec::Cidr { network: ip, .. } => Some(*ip),
            HostSpec::Range(r) => Some(r.first()),
            HostSpec::Name(_) => None,
        };
        if let Some(ip) = literal {
            if args.syn && ip.is_ipv6() {
                return Err(ConfigError::SynIpv6(escape_str(text)));
            }
            family(args.family).check_literal(&ip, text)?;
        }
        let hosts = match &spec.host {
            HostSpec::Cidr { network, prefix } => {
                let bits = if network.is_ipv4() { 32 } else { 128 };
                1u64.checked_shl(u32::from(bits - prefix)).unwrap_or(u64::MAX)
            }
            HostSpec::Range(r) => r.count(),
            _ => 1,
        };
        let ports_each = if spec.port.is_some() {
            1
        } else {
            (ports.len() + udp_ports.len()) as u64
        };
        total = total.map(|t| t.saturating_add(hosts.saturating_mul(ports_each)));
        sources.push(Source::Arg(text.clone()));
    }
    for path in &args.input_list {
        sources.push(open_list(path)?);
        total = None;
    }
    let timing = TIMING[usize::from(args.timing.unwrap_or(3).min(5))];
    let timeout = args
        .timeout
        .unwrap_or(timing.timeout)
        .max(Duration::from_millis(1));
    let dialer = scan_dialer(&args.proxy, family(args.family), timeout)?;
    // Raw SYNs and UDP datagrams cannot travel through a SOCKS5 or HTTP CONNECT tunnel.
    if matches!(dialer, Dialer::Proxy(_)) && (args.syn || args.udp || !udp_ports.is_empty()) {
        return Err(ConfigError::ProxyNeedsConnect);
    }
    let mut concurrency = args
        .concurrency
        .or(timing.concurrency)
        .map(|c| c as usize)
        .unwrap_or_else(|| match dialer {
            // Proxies limit their clients' connections (tinyproxy: MaxClients, Dante: its
            // processes): a few dozen at once, not thousands.
            Dialer::Proxy(_) => PROXY_CONCURRENCY,
            Dialer::Direct => default_concurrency(nofile),
        });
    if args.shard.is_some() && args.randomize && args.seed.is_none() {
        return Err(ConfigError::ShardNeedsSeed);
    }
    // The pair space of a random order numbers TCP ports; UDP pairs would be left out.
    if args.randomize && (!udp_ports.is_empty() || target_proto == Proto::Udp) {
        return Err(ConfigError::RandomizeUdp);
    }
    if let (Some(min), Some(max)) = (args.min_rate, args.rate) {
        if min > max {
            return Err(ConfigError::Rates { min, max });
        }
    }
    if let Some(min) = args.min_rate {
        // N connects a second, each waiting up to the timeout, need N x timeout in flight.
        let needed = (min * timeout.as_secs_f64()).ceil() as usize;
        concurrency = concurrency.max(needed.min(default_concurrency(nofile).max(concurrency)));
    }
    // The pause between connects is a rate; the stricter of it and --rate wins.
    let delay = args.scan_delay.or(timing.delay).filter(|d| !d.is_zero());
    let rate = match (args.rate, delay.map(|d| 1.0 / d.as_secs_f64())) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let other_probes = match (args.version_intensity, args.version_light, args.version_all) {
        (_, _, true) | (Some(9), _, _) => None,
        (_, true, _) => Some(2),
        (Some(n), _, _) => Some(usize::from(n)),
        (None, false, false) => None,
    };
    let scans_udp = !udp_ports.is_empty() || target_proto == Proto::Udp;
    // UDP needs the probes even without detection: a protocol's payload is what makes an open
    // port answer.
    let matcher = if !args.no_detect || scans_udp {
        Some(Arc::new(load_matcher(&args.db)?))
    } else {
        None
    };
    let udp = match &matcher {
        Some(m) if scans_udp => Some(Arc::new(UdpPlan::from_db(
            &m.db,
            UdpOptions {
                timeout,
                retries: args.retries.unwrap_or(timing.retries),
                read_cap: args.read_cap,
                ..UdpOptions::default()
            },
            !args.no_detect,
            args.snmp_community.as_deref(),
        ))),
        _ => None,
    };
    if args.syn && args.family.ipv6 {
        return Err(ConfigError::SynIpv6("-6".into()));
    }
    let plan = ScanPlan {
        shard: args.shard.unwrap_or(ShardSpec::WHOLE),
        seed: args.randomize.then(|| args.seed.unwrap_or_else(random_seed)),
        done: None,
        ports: Arc::new(ports),
        udp_ports: Arc::new(udp_ports),
        target_proto,
        // SYN probes are IPv4 only: names resolve to their IPv4 addresses.
        family: if args.syn { Family::V4 } else { family(args.family) },
        timeout,
        retries: args.retries.unwrap_or(timing.retries),
        concurrency,
        // Never more workers than connections allowed: --concurrency is a global bound.
        workers: crate::limits::scan_workers(
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            nofile,
        )
        .min(concurrency),
        rate,
        host_timeout: args.host_timeout.filter(|d| !d.is_zero()),
        exclude: Arc::new(exclusions(args)?),
        resolve_timeout: args.resolve_timeout,
        dialer: dialer.clone(),
        pipeline: Pipeline {
            udp,
            detect: match matcher {
                Some(matcher) if !args.no_detect => Some(DetectPlan {
                    matcher,
                    limits: DetectLimits {
                        deadline: args.detect_timeout.max(Duration::from_millis(10)),
                        read_cap: args.read_cap,
                        other_probes,
                        ..DetectLimits::default()
                    },
                    tls: if args.no_tls {
                        None
                    } else {
                        Some(tls_settings(&args.tls)?)
                    },
                    dialer: dialer.clone(),
                }),
                _ => None,
            },
            audit: if auditing {
                Some(Arc::new(AuditPlan {
                    baseline: args.baseline.as_deref().map(Baseline::load).transpose()?,
                }))
            } else {
                None
            },
        },
        issued: Arc::default(),
        // Opened now, so a missing capability fails before anything is printed.
        syn: if args.syn {
            Some(crate::net::syn::SynEngine::new(
                crate::net::syn::Replies::Batched,
            )?)
        } else {
            None
        },
    };
    let report = ReportOptions {
        format: match (args.json, audit_command) {
            (true, _) => Format::Jsonl,
            (false, true) => Format::AuditText,
            (false, false) => Format::Table,
        },
        // The audit lists services: open ports only.
        open_only: args.open || audit_command,
        verbose: args.verbose > 0,
        versions: !args.no_detect,
        // A shard scans about 1/N of the pairs.
        total_ports: total.map(|t| t.div_ceil(args.shard.map_or(1, |s| s.of))),
        fail_on: args.fail_on,
        // Randomized, a host's pairs are spread over the whole run: hosts end together at the end.
        stream: args.randomize,
        files: output_files(&args.output)?,
        color: use_color(args.output.color),
        proxy: match &plan.dialer {
            Dialer::Proxy(route) => Some(format!("the {} proxy {}", route.kind, route.addr)),
            Dialer::Direct => None,
        },
        run: Arc::new(RunInfo {
            scan: args.resume.as_ref().map(|_| scan_identity(args, &plan)),
            ..RunInfo::new(
                if audit_command { "audit" } else { "scan" },
                &plan.ports,
                &plan.udp_ports,
                args.verbose,
            )
        }),
    };
    Ok((plan, TargetReader::new(sources), report))
}

/// A seed for `--randomize` without `--seed`: different on every run.
fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32)
}

/// What defines a scan's pairs (targets, ports, shard, order): the first record of a
/// `--resume` file holds it, and a resume checks it, so a file continues only its own scan.
pub fn scan_identity(args: &ScanArgs, plan: &ScanPlan) -> serde_json::Value {
    let mut scan = serde_json::Map::new();
    scan.insert("targets".into(), args.targets.clone().into());
    if !args.input_list.is_empty() {
        let lists: Vec<String> = args.input_list.iter().map(|p| p.display().to_string()).collect();
        scan.insert("input_lists".into(), lists.into());
    }
    scan.insert("ports".into(), crate::report::run::compress(&plan.ports).into());
    if !plan.udp_ports.is_empty() {
        scan.insert(
            "udp_ports".into(),
            crate::report::run::compress(&plan.udp_ports).into(),
        );
    }
    let family = match (args.family.ipv4, args.family.ipv6) {
        (true, _) => Some("ipv4"),
        (_, true) => Some("ipv6"),
        _ => None,
    };
    if let Some(f) = family {
        scan.insert("family".into(), f.into());
    }
    if plan.shard != ShardSpec::WHOLE {
        scan.insert("shard".into(), plan.shard.to_string().into());
    }
    if args.randomize {
        // Without --seed every run draws its own order; the pairs are the same all the same.
        let order = match args.seed {
            Some(seed) => format!("random seed {seed}"),
            None => "random".into(),
        };
        scan.insert("order".into(), order.into());
    }
    serde_json::Value::Object(scan)
}

/// Builds the ping plan; resolves the host (first address of the allowed family).
pub fn ping_plan(args: &PingArgs) -> Result<PingPlan, ConfigError> {
    let spec: TargetSpec = args.host.parse().map_err(|source| ConfigError::Target {
        text: escape_str(&args.host),
        source,
    })?;
    let mut ports: Vec<u16> = Vec::new();
    for list in &args.ports {
        for port in list.parse::<PortSet>()?.iter() {
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
    }
    if let Some(p) = spec.port {
        if !ports.contains(&p) {
            ports.push(p);
        }
    }
    if ports.is_empty() {
        ports.push(80);
    }
    let mut others = Vec::new();
    let (label, ip): (String, IpAddr) = match spec.host {
        HostSpec::Addr(ip) => {
            family(args.family).check_literal(&ip, &args.host)?;
            (ip.to_string(), ip)
        }
        HostSpec::Name(name) => {
            let ips = resolve(&name, family(args.family), Duration::from_secs(10))?;
            let first = *ips.first().ok_or(ResolveError::NoAddress {
                name: name.clone(),
                family: "IP",
            })?;
            others = ips[1..].to_vec();
            (name, first)
        }
        HostSpec::Range(r) if r.count() == 1 => (r.first().to_string(), r.first()),
        HostSpec::Range(_) => {
            return Err(ConfigError::OneHost {
                command: "ping",
                block: escape_str(&args.host),
            })
        }
        HostSpec::Cidr { network, prefix } => {
            if prefix == if network.is_ipv4() { 32 } else { 128 } {
                let ip = CidrIter::new(network, prefix).next().unwrap_or(network);
                (ip.to_string(), ip)
            } else {
                return Err(ConfigError::OneHost {
                    command: "ping",
                    block: escape_str(&args.host),
                });
            }
        }
    };
    Ok(PingPlan {
        label,
        ip,
        others,
        ports,
        count: args.count,
        interval: args.interval,
        timeout: args.timeout.max(Duration::from_millis(1)),
        json: args.json,
    })
}

/// Session behaviour from the shared flags.
pub fn session_options(
    args: &SessionArgs,
    telnet: bool,
    interactive: bool,
) -> Result<SessionOptions, ConfigError> {
    Ok(SessionOptions {
        eof: match (args.close_on_eof, args.quit_after) {
            (true, _) => EofMode::Close,
            (_, Some(d)) => EofMode::QuitAfter(d),
            _ => EofMode::HalfClose,
        },
        recv_only: args.recv_only,
        send_only: args.send_only,
        crlf: args.crlf,
        idle_timeout: args.idle_timeout.filter(|d| !d.is_zero()),
        escape_output: args.escape,
        telnet,
        interactive,
        end_when_peer_closes: false,
        identify: if args.verbose > 0 {
            Some(Arc::new(load_matcher(&DatabaseArgs {
                fingerprints: Vec::new(),
            })?))
        } else {
            None
        },
        delay: args.delay.filter(|d| !d.is_zero()),
        log: SessionLog::open(args.output.as_deref(), args.hex_dump.as_deref())?,
        escape_key: Some(crate::session::ESCAPE_KEY),
        login: None,
        term: None,
    })
}

/// `-e CHAR` of telnet: `^]`, `]`, or `none`.
fn escape_key(text: &str) -> Result<Option<u8>, ConfigError> {
    let bad = || ConfigError::BadEscapeKey(escape_str(text));
    match text.as_bytes() {
        b"none" => Ok(None),
        [b'^', b'?'] => Ok(Some(0x7f)),
        [b'^', c] if (b'@'..=b'_').contains(&c.to_ascii_uppercase()) => {
            Ok(Some(c.to_ascii_uppercase() - b'@'))
        }
        [c] if c.is_ascii() => Ok(Some(*c)),
        _ => Err(bad()),
    }
}

/// `-x`/`--proxy ADDR[:PORT]` with the protocol's default port; the proxy's name is resolved here.
fn proxy_plan(args: &ProxyArgs, family_of: Family) -> Result<Option<ProxyPlan>, ConfigError> {
    let (text, default_kind) = match (&args.proxy_nc, &args.proxy_ncat) {
        (Some(t), _) => (t, ProxyKind::Socks5),
        (_, Some(t)) => (t, ProxyKind::Http),
        (None, None) => {
            if args.proxy_type.is_some() || args.proxy_auth.is_some() {
                return Err(ConfigError::Proxy(
                    "--proxy-type and --proxy-auth need a proxy: give -x ADDR[:PORT] or --proxy ADDR[:PORT]"
                        .into(),
                ));
            }
            return Ok(None);
        }
    };
    let kind = args.proxy_type.unwrap_or(default_kind);
    let bad = || {
        ConfigError::Proxy(format!(
            "invalid proxy '{}': give ADDR, ADDR:PORT, NAME:PORT or [V6ADDR]:PORT",
            escape_str(text)
        ))
    };
    // ADDR, [V6]:PORT, V4:PORT, NAME:PORT, or a bare IPv6 address.
    let (host, port) = if let Ok(sa) = text.parse::<SocketAddr>() {
        (sa.ip().to_string(), sa.port())
    } else if let Ok(ip) = text.parse::<IpAddr>() {
        (ip.to_string(), kind.default_port())
    } else {
        match text.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), crate::ports::parse_port(p).map_err(|_| bad())?),
            None => (text.clone(), kind.default_port()),
        }
    };
    if host.is_empty() {
        return Err(bad());
    }
    let ips = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => match host.parse::<TargetSpec>().map(|s| s.host) {
            Ok(HostSpec::Name(name)) => resolve(&name, family_of, Duration::from_secs(10))?,
            _ => return Err(bad()),
        },
    };
    let auth = args
        .proxy_auth
        .as_deref()
        .map(|a| a.parse::<ProxyAuth>().map_err(ConfigError::Proxy))
        .transpose()?;
    Ok(Some(ProxyPlan {
        addrs: ips.into_iter().map(|ip| SocketAddr::new(ip, port)).collect(),
        kind,
        auth,
        // SOCKS4 carries no names: the name is resolved here, as nc -X 4 does.
        remote_names: kind != ProxyKind::Socks4,
    }))
}

/// `scan`'s default `--concurrency` through a proxy.
pub const PROXY_CONCURRENCY: usize = 64;

/// `scan -x`/`--proxy`: checks once that the proxy answers and accepts us, so that a proxy that
/// is down or refuses our credentials is one clear error before any port, not one per port.
fn scan_dialer(args: &ProxyArgs, family_of: Family, timeout: Duration) -> Result<Dialer, ConfigError> {
    let Some(plan) = proxy_plan(args, family_of)? else {
        return Ok(Dialer::Direct);
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ConfigError::Proxy(format!("cannot check the proxy: {e}")))?;
    let opts = ConnectOptions {
        // The check waits at least a few seconds: a slow proxy is not a dead one.
        timeout: timeout.max(Duration::from_secs(3)),
        zero_linger: true,
        bind: None,
    };
    rt.block_on(Dialer::check(&plan.addrs, plan.kind, plan.auth, &opts))
        .map_err(|e| ConfigError::Proxy(e.to_string()))
}

/// Resolves the host and builds everything `connect` needs.
pub fn connect_plan(args: &ConnectArgs, interactive: bool) -> Result<ConnectPlan, ConfigError> {
    if let Some(e) = &args.escape_char {
        if !args.telnet {
            return Err(ConfigError::ExecRefused(escape_str(e)));
        }
    }
    if args.login.is_some() && !args.telnet {
        return Err(ConfigError::LoginNeedsTelnet);
    }
    let mut session = session_options(&args.session, args.telnet, interactive)?;
    if let Some(e) = &args.escape_char {
        session.escape_key = escape_key(e)?;
    }
    session.login = args.login.clone();
    session.term = std::env::var("TERM").ok().filter(|t| !t.is_empty());
    // OpenBSD nc: -w also ends a connection idle that long.
    if let Some(w) = args.wait.filter(|w| !w.is_zero()) {
        session.idle_timeout = Some(session.idle_timeout.map_or(w, |i| i.min(w)));
    }
    if args.session.verbose > 0 && !args.db.fingerprints.is_empty() {
        session.identify = Some(Arc::new(load_matcher(&args.db)?));
    }
    let timeout = args
        .wait
        .unwrap_or(Duration::from_secs(10))
        .max(Duration::from_millis(1));
    if let Some(path) = &args.unix {
        if !args.ports.is_empty() {
            return Err(ConfigError::Proxy(
                "-U PATH takes no host or port: connect -U /run/app.sock".into(),
            ));
        }
        return Ok(ConnectPlan {
            ips: Vec::new(),
            ports: Vec::new(),
            host: path.display().to_string(),
            unix: Some(path.clone()),
            proxy: None,
            timeout,
            bind: None,
            zero: false,
            verbose: args.session.verbose > 0,
            tls: None,
            session,
        });
    }
    let host = args.host.clone().unwrap_or_default();
    let mut ports = Vec::new();
    for spec in &args.ports {
        let set: PortSet = spec.parse().map_err(ConfigError::Port)?;
        ports.extend(set.iter().filter(|p| !ports.contains(p)).collect::<Vec<_>>());
    }
    if ports.is_empty() {
        return Err(ConfigError::Port(PortError::Empty));
    }
    if ports.len() > 1 && !args.zero {
        return Err(ConfigError::SeveralPorts(ports.len()));
    }
    let proxy = proxy_plan(&args.proxy, family(args.family))?;
    let spec: TargetSpec = host.parse().map_err(|source| ConfigError::Target {
        text: escape_str(&host),
        source,
    })?;
    let mut ips = match spec.host {
        HostSpec::Addr(ip) => {
            family(args.family).check_literal(&ip, &host)?;
            vec![ip]
        }
        // A proxy that resolves names gets the name: this host may not know it at all.
        HostSpec::Name(_) if proxy.as_ref().is_some_and(|p| p.remote_names) => Vec::new(),
        HostSpec::Name(name) => {
            let mut ips = resolve(&name, family(args.family), Duration::from_secs(10))?;
            if proxy.is_some() {
                ips.retain(|ip| ip.is_ipv4());
            }
            ips
        }
        HostSpec::Cidr { .. } | HostSpec::Range(_) => {
            return Err(ConfigError::OneHost {
                command: "connect",
                block: escape_str(&host),
            })
        }
    };
    // A source address binds the family: only that family's addresses can be tried.
    if let Some(src) = args.source {
        // An address this host does not have is the user's input, found before any connect.
        if let Err(e) = std::net::UdpSocket::bind(SocketAddr::new(src, 0)) {
            if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) {
                return Err(ConfigError::NotLocal(src));
            }
        }
        if proxy.is_none() {
            ips.retain(|ip| ip.is_ipv4() == src.is_ipv4());
        }
    }
    let first_family = match &proxy {
        Some(p) => p.addrs.first().map(|a| a.ip()),
        None => ips.first().copied(),
    };
    let ip = match first_family {
        Some(ip) => ip,
        None => {
            return Err(ResolveError::NoAddress {
                name: escape_str(&host),
                family: if args.source.is_some_and(|s| s.is_ipv4()) || proxy.is_some() {
                    "IPv4"
                } else {
                    "IPv6"
                },
            }
            .into())
        }
    };
    if args.source.is_none() && args.source_port.is_some() && proxy.is_none() {
        // A bare source port binds the unspecified address of the first address's family.
        ips.retain(|i| i.is_ipv4() == ip.is_ipv4());
    }
    let bind = match (args.source, args.source_port) {
        (None, None) => None,
        (src, port) => {
            let unspecified = if ip.is_ipv4() {
                std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
            } else {
                std::net::IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
            };
            Some(SocketAddr::new(src.unwrap_or(unspecified), port.unwrap_or(0)))
        }
    };
    // Any TLS option implies TLS (as ncat's --ssl-verify does): a security option must never
    // leave the session in plaintext without a word.
    let t = &args.tls_args;
    let tls_implied = args.tls_verify
        || args.insecure
        || args.alpn.is_some()
        || t.ca_file.is_some()
        || t.sni.is_some()
        || t.no_sni;
    let tls = if args.tls || args.starttls.is_some() || tls_implied {
        let settings = tls_settings(&args.tls_args)?;
        let mut client = settings.client;
        client.alpn = args
            .alpn
            .as_deref()
            .map(|list| {
                list.split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| p.as_bytes().to_vec())
                    .collect()
            })
            .unwrap_or_default();
        Some(TlsPlan {
            client,
            names: NameChoice::for_target(&host, args.tls_args.sni.as_deref(), args.tls_args.no_sni),
            starttls: args.starttls,
            verify: args.tls_verify,
            insecure: args.insecure,
        })
    } else {
        None
    };
    Ok(ConnectPlan {
        ips,
        ports,
        host,
        unix: None,
        proxy,
        timeout,
        bind,
        zero: args.zero,
        verbose: args.session.verbose > 0,
        tls,
        session,
    })
}

/// `--allow`/`--deny`/`--allowfile`/`--denyfile` of `listen` (TCP and UDP).
pub fn access_list(args: &ListenArgs) -> Result<AccessList, ConfigError> {
    let mut access = AccessList::default();
    if !args.allow.is_empty() {
        access.add(true, &args.allow)?;
    }
    access.add(false, &args.deny)?;
    if let Some(f) = &args.allowfile {
        access.add_file(true, f)?;
    }
    if let Some(f) = &args.denyfile {
        access.add_file(false, f)?;
    }
    Ok(access)
}

/// Builds everything `listen` needs (the TLS certificate is loaded or made here).
pub fn listen_plan(args: &ListenArgs) -> Result<ListenPlan, ConfigError> {
    let on = match (&args.unix, &args.address) {
        (Some(path), _) => ListenOn::Unix(path.clone()),
        (None, Some(text)) => {
            let addr =
                listen_address(text, args.family.ipv6).map_err(|e| ConfigError::Listen(e.to_string()))?;
            family(args.family).check_literal(&addr.ip(), text)?;
            ListenOn::Tcp(addr)
        }
        (None, None) => return Err(ConfigError::Listen("give PORT, ADDR:PORT or -U PATH".into())),
    };
    let access = access_list(args)?;
    // --cert/--key imply --tls: serving plaintext with a certificate given would be a silent
    // downgrade.
    let tls = if args.tls || args.cert.is_some() || args.key.is_some() {
        let (chain, key) = match (&args.cert, &args.key) {
            (Some(cert), Some(key)) => load_key_pair(cert, key)?,
            _ => {
                let mut names = vec!["localhost".to_string()];
                if let ListenOn::Tcp(addr) = &on {
                    if !addr.ip().is_unspecified() {
                        names.push(addr.ip().to_string());
                    }
                }
                let (chain, key) = self_signed(&names, 30)?;
                if let Some(facts) = chain.first().and_then(|c| cert_facts(c)) {
                    eprintln!(
                        "portprobe: TLS with a new self-signed certificate for {} (sha256 {})",
                        names.join(", "),
                        facts.sha256
                    );
                }
                (chain, key)
            }
        };
        Some(server_config(chain, key, Vec::new())?)
    } else {
        None
    };
    Ok(ListenPlan {
        on,
        keep_open: args.keep_open,
        max_conns: args.max_conns as usize,
        verbose: args.session.verbose > 0,
        access,
        tls,
        session: SessionOptions {
            // Each -k connection ends when its client leaves; stdin goes on for the others.
            end_when_peer_closes: args.keep_open,
            ..session_options(&args.session, false, false)?
        },
    })
}
