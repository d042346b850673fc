//! `ping`: repeated TCP connects to one host, nping-style, with a line per attempt and RTT
//! statistics per port.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::net::connect::{connect_first, ConnectOptions, LocalError, PortState, Reason};

/// What to ping and how.
#[derive(Debug, Clone)]
pub struct PingPlan {
    pub label: String,
    pub ip: IpAddr,
    /// The name's other addresses: tried in turn (Happy Eyeballs) when `ip` does not connect.
    pub others: Vec<IpAddr>,
    pub ports: Vec<u16>,
    /// Rounds to run; 0 runs until cancelled.
    pub count: u64,
    pub interval: Duration,
    pub timeout: Duration,
    pub json: bool,
}

/// Per-port statistics.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PortStats {
    pub port: u16,
    pub attempts: u64,
    pub successful: u64,
    pub failed: u64,
    #[serde(skip)]
    rtts_ms: Vec<f64>,
}

impl PortStats {
    fn loss_percent(&self) -> f64 {
        if self.attempts == 0 {
            0.0
        } else {
            100.0 * self.failed as f64 / self.attempts as f64
        }
    }

    /// (min, avg, max) of successful connects, in milliseconds.
    pub fn rtt_ms(&self) -> Option<(f64, f64, f64)> {
        if self.rtts_ms.is_empty() {
            return None;
        }
        let min = self.rtts_ms.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.rtts_ms.iter().copied().fold(0.0, f64::max);
        let avg = self.rtts_ms.iter().sum::<f64>() / self.rtts_ms.len() as f64;
        Some((min, avg, max))
    }
}

/// How one connect attempt ended (JSON `result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PingResult {
    Connected,
    Refused,
    Filtered,
    Timeout,
    /// This machine could not make the attempt.
    Error,
}

#[derive(Serialize)]
struct AttemptRecord<'a> {
    r#type: &'static str,
    host: &'a str,
    ip: String,
    port: u16,
    seq: u64,
    result: PingResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<PortState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<Reason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rtt_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Runs the rounds, printing as it goes; returns the statistics (also printed at the end).
pub async fn run(
    plan: &PingPlan,
    out: &mut dyn Write,
    cancel: &CancellationToken,
) -> io::Result<Vec<PortStats>> {
    let mut stats: Vec<PortStats> = plan
        .ports
        .iter()
        .map(|&port| PortStats {
            port,
            ..Default::default()
        })
        .collect();
    let opts = ConnectOptions {
        timeout: plan.timeout,
        zero_linger: true,
        bind: None,
    };
    if !plan.json {
        let ports: Vec<String> = plan.ports.iter().map(u16::to_string).collect();
        writeln!(
            out,
            "PING {} ({}) TCP connect to port {}",
            plan.label,
            plan.ip,
            ports.join(", ")
        )?;
        out.flush()?;
    }
    let mut seq = 0u64;
    let mut current = plan.ip;
    'rounds: while plan.count == 0 || seq < plan.count {
        seq += 1;
        for st in stats.iter_mut() {
            // The address that answered last comes first; the others follow in turn.
            let mut addrs = vec![SocketAddr::new(current, st.port)];
            addrs.extend(
                std::iter::once(plan.ip)
                    .chain(plan.others.iter().copied())
                    .filter(|&ip| ip != current)
                    .map(|ip| SocketAddr::new(ip, st.port)),
            );
            let (addr, attempt) = tokio::select! {
                a = connect_first(&addrs, &opts) => a.unwrap_or((addrs[0], Err(LocalError::Other(io::Error::other("no address"))))),
                _ = cancel.cancelled() => break 'rounds,
            };
            if matches!(&attempt, Ok(a) if a.state == PortState::Open) {
                current = addr.ip();
            }
            st.attempts += 1;
            let mut rec = AttemptRecord {
                r#type: "attempt",
                host: &plan.label,
                ip: addr.ip().to_string(),
                port: st.port,
                seq,
                result: PingResult::Error,
                state: None,
                reason: None,
                rtt_ms: None,
                error: None,
            };
            let text = match attempt {
                Ok(a) => {
                    rec.state = Some(a.state);
                    rec.reason = Some(a.reason);
                    match (a.state, a.reason) {
                        (PortState::Open, _) => {
                            st.successful += 1;
                            st.rtts_ms.push(ms(a.rtt));
                            rec.result = PingResult::Connected;
                            rec.rtt_ms = Some(ms(a.rtt));
                            format!("connected  time={:.3} ms", ms(a.rtt))
                        }
                        (_, Reason::NoResponse) => {
                            rec.result = PingResult::Timeout;
                            format!(
                                "timed out after {:.2} s (no-response)",
                                plan.timeout.as_secs_f64()
                            )
                        }
                        (PortState::Closed, reason) => {
                            rec.result = PingResult::Refused;
                            rec.rtt_ms = Some(ms(a.rtt));
                            format!("refused ({reason})  time={:.3} ms", ms(a.rtt))
                        }
                        (PortState::Filtered, reason) => {
                            rec.result = PingResult::Filtered;
                            rec.rtt_ms = Some(ms(a.rtt));
                            format!("filtered ({reason})  time={:.3} ms", ms(a.rtt))
                        }
                    }
                }
                Err(e) => {
                    rec.error = Some(e.to_string());
                    format!("error: {e}")
                }
            };
            if rec.result != PingResult::Connected {
                st.failed += 1;
            }
            if plan.json {
                serde_json::to_writer(&mut *out, &rec)?;
                writeln!(out)?;
            } else {
                writeln!(out, "{}  seq={seq}  {text}", addr)?;
            }
            out.flush()?;
        }
        if plan.count != 0 && seq >= plan.count {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(plan.interval) => {}
            _ = cancel.cancelled() => break,
        }
    }
    print_stats(plan, &stats, out)?;
    Ok(stats)
}

fn print_stats(plan: &PingPlan, stats: &[PortStats], out: &mut dyn Write) -> io::Result<()> {
    for st in stats {
        let rtt = st.rtt_ms();
        if plan.json {
            let mut obj = serde_json::json!({
                "type": "stats", "host": plan.label, "ip": plan.ip.to_string(), "port": st.port,
                "attempts": st.attempts, "successful": st.successful, "failed": st.failed,
                "failed_percent": (st.loss_percent() * 10.0).round() / 10.0,
            });
            if let Some((min, avg, max)) = rtt {
                obj["rtt_ms"] = serde_json::json!({"min": min, "avg": (avg * 1e3).round() / 1e3, "max": max});
            }
            writeln!(out, "{obj}")?;
            continue;
        }
        writeln!(out, "\n--- {} port {} statistics ---", plan.label, st.port)?;
        writeln!(
            out,
            "{} attempts, {} successful, {} failed ({:.1}%)",
            st.attempts,
            st.successful,
            st.failed,
            st.loss_percent()
        )?;
        match rtt {
            Some((min, avg, max)) => writeln!(out, "rtt min/avg/max = {min:.3}/{avg:.3}/{max:.3} ms")?,
            None => writeln!(out, "rtt min/avg/max = -/-/- (no connection)")?,
        }
    }
    out.flush()
}
