//! `ping --syn`: raw SYNs to one host's ports, a line per reply as hping3 prints it (flags, TTL,
//! window, IP id, RTT) and statistics at the end.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::net::syn::{Answer, SynEngine};
use crate::ping::PingPlan;

/// What a SYN ping saw for one port.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SynStats {
    pub port: u16,
    pub sent: u64,
    pub received: u64,
    rtts_ms: Vec<f64>,
}

impl SynStats {
    pub fn loss_percent(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            100.0 * (self.sent - self.received) as f64 / self.sent as f64
        }
    }

    /// (min, avg, max) round trip of the replies, in milliseconds.
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One reply as hping3 shows it.
pub fn reply_line(answer: &Answer, port: u16, seq: u64, rtt: Duration) -> String {
    match answer {
        Answer::Tcp(t) => format!(
            "len={} ip={} ttl={} {}id={} sport={} flags={} seq={seq} win={} rtt={:.3} ms",
            t.len,
            t.src,
            t.ttl,
            if t.df { "DF " } else { "" },
            t.ip_id,
            t.sport,
            t.flag_letters(),
            t.window,
            ms(rtt)
        ),
        Answer::Icmp(i) => format!(
            "ICMP {} from ip={} ttl={} port={port} seq={seq} rtt={:.3} ms",
            i.kind.reason(),
            i.from,
            i.ttl,
            ms(rtt)
        ),
    }
}

/// Sends `count` rounds of SYNs (0: until cancelled), printing each reply; returns the statistics.
pub async fn run(
    plan: &PingPlan,
    engine: &SynEngine,
    out: &mut dyn Write,
    cancel: &CancellationToken,
) -> io::Result<Vec<SynStats>> {
    let mut stats: Vec<SynStats> = plan
        .ports
        .iter()
        .map(|&port| SynStats {
            port,
            ..Default::default()
        })
        .collect();
    let ports: Vec<String> = plan.ports.iter().map(u16::to_string).collect();
    writeln!(
        out,
        "SYN PING {} ({}) port {}: raw SYN probes from source port {}",
        plan.label,
        plan.ip,
        ports.join(", "),
        engine.source_port()
    )?;
    out.flush()?;
    let mut seq = 0u64;
    'rounds: while plan.count == 0 || seq < plan.count {
        for st in stats.iter_mut() {
            let addr = SocketAddr::new(plan.ip, st.port);
            let answer = tokio::select! {
                a = engine.probe(addr, plan.timeout) => a,
                _ = cancel.cancelled() => break 'rounds,
            };
            st.sent += 1;
            let line = match answer {
                Ok(Some((answer, rtt))) => {
                    st.received += 1;
                    st.rtts_ms.push(ms(rtt));
                    reply_line(&answer, st.port, seq, rtt)
                }
                Ok(None) => format!(
                    "no reply from ip={} port={} seq={seq} within {:.2} s",
                    plan.ip,
                    st.port,
                    plan.timeout.as_secs_f64()
                ),
                Err(e) => format!("error: port={} seq={seq}: {e}", st.port),
            };
            writeln!(out, "{line}")?;
            out.flush()?;
        }
        seq += 1;
        if plan.count != 0 && seq >= plan.count {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(plan.interval) => {}
            _ = cancel.cancelled() => break,
        }
    }
    for st in &stats {
        writeln!(
            out,
            "\n--- {} port {} SYN ping statistics ---",
            plan.label, st.port
        )?;
        writeln!(
            out,
            "{} packets transmitted, {} packets received, {:.1}% packet loss",
            st.sent,
            st.received,
            st.loss_percent()
        )?;
        match st.rtt_ms() {
            Some((min, avg, max)) => writeln!(out, "round-trip min/avg/max = {min:.3}/{avg:.3}/{max:.3} ms")?,
            None => writeln!(out, "round-trip min/avg/max = -/-/- (no reply)")?,
        }
    }
    out.flush()?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_and_rtt_statistics() {
        let st = SynStats {
            port: 22,
            sent: 4,
            received: 3,
            rtts_ms: vec![0.1, 0.3, 0.2],
        };
        assert_eq!(st.loss_percent(), 25.0);
        let (min, avg, max) = st.rtt_ms().expect("replies");
        assert_eq!((min, max), (0.1, 0.3));
        assert!((avg - 0.2).abs() < 1e-9);
        assert_eq!(SynStats::default().rtt_ms(), None);
        assert_eq!(SynStats::default().loss_percent(), 0.0);
    }
}
