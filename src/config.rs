//! From the command line as typed to validated plans: every usage and input error is found here,
//! with a message that names the bad value and what is allowed.

use std::fs::File;
use std::io::{self, BufReader};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use crate::audit::{AuditPlan, Baseline, BaselineError};
use crate::cli::{
    ConnectArgs, DatabaseArgs, FamilyArgs, ListenArgs, PingArgs, ScanArgs, SessionArgs, TlsArgs,
};
use crate::detect::{DetectLimits, DetectPlan, TlsSettings};
use crate::endpoint::{listen_address, ConnectPlan, ListenPlan, TlsPlan};
use crate::escape::escape_str;
use crate::fingerprint::{Database, DatabaseError, Matcher, Problem};
use crate::limits::default_concurrency;
use crate::net::tls::{
    cert_facts, load_key_pair, root_store, self_signed, server_config, NameChoice, TlsClient, TlsSetupError,
};
use crate::ping::PingPlan;
use crate::pipeline::Pipeline;
use crate::portdb::{default_ports, top_ports};
use crate::ports::{PortError, PortSet};
use crate::report::{Format, ReportOptions};
use crate::scan::ScanPlan;
use crate::session::{EofMode, SessionOptions};
use crate::target::{
    resolve, CidrIter, Family, FamilyMismatch, HostSpec, ResolveError, Source, TargetError, TargetReader,
    TargetSpec,
};
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
    #[error("unknown probe '{given}': the database has {known}")]
    UnknownProbe { given: String, known: String },
    #[error(transparent)]
    Syn(#[from] crate::net::syn::SynError),
    #[error("{0}: --syn probes IPv4 only for now; scan IPv6 targets without --syn")]
    SynIpv6(String),
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
        client: TlsClient::new(root_store(args.ca_file.as_deref())?, Vec::new()),
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
    let auditing = audit_command || args.audit || args.fail_on.is_some() || args.baseline.is_some();
    if auditing && args.no_detect {
        return Err(ConfigError::AuditNeedsDetection);
    }
    let ports = match (&args.ports, args.top_ports) {
        (Some(spec), _) => spec.parse::<PortSet>()?,
        (None, Some(n)) => {
            let list = top_ports();
            if n == 0 || n > list.len() {
                return Err(ConfigError::TopPorts {
                    given: n,
                    max: list.len(),
                });
            }
            let mut set = PortSet::new();
            list[..n].iter().for_each(|&p| set.insert(p));
            set
        }
        (None, None) => {
            let mut set = PortSet::new();
            default_ports().iter().for_each(|&p| set.insert(p));
            set
        }
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
        if let HostSpec::Addr(ip) | HostSpec::Cidr { network: ip, .. } = spec.host {
            if args.syn && ip.is_ipv6() {
                return Err(ConfigError::SynIpv6(escape_str(text)));
            }
            family(args.family).check_literal(&ip, text)?;
        }
        let hosts = match spec.host {
            HostSpec::Cidr { network, prefix } => {
                let bits = if network.is_ipv4() { 32 } else { 128 };
                1u64.checked_shl(u32::from(bits - prefix)).unwrap_or(u64::MAX)
            }
            _ => 1,
        };
        let ports_each = if spec.port.is_some() {
            1
        } else {
            ports.len() as u64
        };
        total = total.map(|t| t.saturating_add(hosts.saturating_mul(ports_each)));
        sources.push(Source::Arg(text.clone()));
    }
    for path in &args.input_list {
        sources.push(open_list(path)?);
        total = None;
    }
    let concurrency = args
        .concurrency
        .map(|c| c as usize)
        .unwrap_or_else(|| default_concurrency(nofile));
    if args.syn && args.family.ipv6 {
        return Err(ConfigError::SynIpv6("-6".into()));
    }
    let plan = ScanPlan {
        ports: Arc::new(ports),
        // SYN probes are IPv4 only: names resolve to their IPv4 addresses.
        family: if args.syn { Family::V4 } else { family(args.family) },
        timeout: args.timeout.max(Duration::from_millis(1)),
        retries: args.retries,
        concurrency,
        // Never more workers than connections allowed: --concurrency is a global bound.
        workers: crate::limits::scan_workers(
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            nofile,
        )
        .min(concurrency),
        rate: args.rate,
        resolve_timeout: args.resolve_timeout,
        pipeline: Pipeline {
            detect: if args.no_detect {
                None
            } else {
                Some(DetectPlan {
                    matcher: Arc::new(load_matcher(&args.db)?),
                    limits: DetectLimits {
                        deadline: args.detect_timeout.max(Duration::from_millis(10)),
                        read_cap: args.read_cap,
                        ..DetectLimits::default()
                    },
                    tls: if args.no_tls {
                        None
                    } else {
                        Some(tls_settings(&args.tls)?)
                    },
                })
            },
            audit: if auditing {
                Some(Arc::new(AuditPlan {
                    baseline: args.baseline.as_deref().map(Baseline::load).transpose()?,
                }))
            } else {
                None
            },
        },
        // Opened now, so a missing capability fails before anything is printed.
        syn: if args.syn {
            Some(crate::net::syn::SynEngine::new()?)
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
        verbose: args.verbose,
        versions: !args.no_detect,
        total_ports: total,
        fail_on: args.fail_on,
    };
    Ok((plan, TargetReader::new(sources), report))
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
        identify: if args.verbose {
            Some(Arc::new(load_matcher(&DatabaseArgs {
                fingerprints: Vec::new(),
            })?))
        } else {
            None
        },
    })
}

/// Resolves the host and builds everything `connect` needs.
pub fn connect_plan(args: &ConnectArgs, interactive: bool) -> Result<ConnectPlan, ConfigError> {
    let spec: TargetSpec = args.host.parse().map_err(|source| ConfigError::Target {
        text: escape_str(&args.host),
        source,
    })?;
    let mut ips = match spec.host {
        HostSpec::Addr(ip) => {
            family(args.family).check_literal(&ip, &args.host)?;
            vec![ip]
        }
        HostSpec::Name(name) => resolve(&name, family(args.family), Duration::from_secs(10))?,
        HostSpec::Cidr { .. } => {
            return Err(ConfigError::OneHost {
                command: "connect",
                block: escape_str(&args.host),
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
        ips.retain(|ip| ip.is_ipv4() == src.is_ipv4());
    }
    let ip = *ips.first().ok_or_else(|| ResolveError::NoAddress {
        name: escape_str(&args.host),
        family: if args.source.is_some_and(|s| s.is_ipv4()) {
            "IPv4"
        } else {
            "IPv6"
        },
    })?;
    if args.source.is_none() && args.source_port.is_some() {
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
    let mut session = session_options(&args.session, args.telnet, interactive)?;
    if args.session.verbose && !args.db.fingerprints.is_empty() {
        session.identify = Some(Arc::new(load_matcher(&args.db)?));
    }
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
            names: NameChoice::for_target(&args.host, args.tls_args.sni.as_deref(), args.tls_args.no_sni),
            starttls: args.starttls,
            verify: args.tls_verify,
            insecure: args.insecure,
        })
    } else {
        None
    };
    Ok(ConnectPlan {
        addr: SocketAddr::new(ip, args.port),
        addrs: ips.iter().map(|&ip| SocketAddr::new(ip, args.port)).collect(),
        host: args.host.clone(),
        timeout: args.wait.max(Duration::from_millis(1)),
        bind,
        zero: args.zero,
        verbose: args.session.verbose,
        tls,
        session,
    })
}

/// Builds everything `listen` needs (the TLS certificate is loaded or made here).
pub fn listen_plan(args: &ListenArgs) -> Result<ListenPlan, ConfigError> {
    let addr =
        listen_address(&args.address, args.family.ipv6).map_err(|e| ConfigError::Listen(e.to_string()))?;
    family(args.family).check_literal(&addr.ip(), &args.address)?;
    // --cert/--key imply --tls: serving plaintext with a certificate given would be a silent
    // downgrade.
    let tls = if args.tls || args.cert.is_some() || args.key.is_some() {
        let (chain, key) = match (&args.cert, &args.key) {
            (Some(cert), Some(key)) => load_key_pair(cert, key)?,
            _ => {
                let mut names = vec!["localhost".to_string()];
                if !addr.ip().is_unspecified() {
                    names.push(addr.ip().to_string());
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
        addr,
        keep_open: args.keep_open,
        max_conns: args.max_conns as usize,
        verbose: args.session.verbose,
        tls,
        session: SessionOptions {
            // Each -k connection ends when its client leaves; stdin goes on for the others.
            end_when_peer_closes: args.keep_open,
            ..session_options(&args.session, false, false)?
        },
    })
}
