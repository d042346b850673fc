//! The per-port pipeline, one owner from a connect result to a finished [`PortResult`]:
//! detection (probes, TLS, STARTTLS), then the disclosure audit and its baseline.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;

use crate::audit::{AuditPlan, Finding};
use crate::detect::{detect, DetectPlan, Detection, PortFacts};
use crate::net::connect::{LocalError, PortState, Reason};
use crate::net::udp::UdpAttempt;
use crate::portdb::service_name;
use crate::ports::Proto;
use crate::target::Host;
use crate::udp_detect::{UdpPlan, UdpProbe};

/// A port's state and how long the answer took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probed {
    pub state: PortState,
    pub reason: Reason,
    pub rtt: Duration,
}

/// Why a port could not be probed at all (this machine's problem, not the network's answer).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{addr}: gave up after 60 s of local resource exhaustion: {source}")]
    GaveUp { addr: SocketAddr, source: LocalError },
    #[error("{addr}: {source}")]
    Local { addr: SocketAddr, source: LocalError },
}

/// What was learned about one port.
#[derive(Debug)]
pub struct PortResult {
    pub host: Arc<Host>,
    pub port: u16,
    pub proto: Proto,
    /// The port table's name for the port (`ssh` for 22), looked up once for every consumer.
    pub port_name: Option<&'static str>,
    pub outcome: Result<Probed, ProbeError>,
    /// What answers the port, when it is open and detection is on.
    pub service: Option<Box<Detection>>,
    /// What the service discloses, when auditing.
    pub findings: Option<Vec<Finding>>,
    /// The SYN-ACK's TTL and window (`--syn` scans).
    pub syn: Option<crate::net::syn::SynFacts>,
}

impl PortResult {
    /// The state, when the port was probed.
    pub fn state(&self) -> Option<PortState> {
        self.outcome.as_ref().ok().map(|p| p.state)
    }
}

/// What happens to a port after the connect: detection (`None` with `-z`) and the audit.
#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    pub detect: Option<DetectPlan>,
    /// Disclosure analysis of every detected service; `None` when not auditing.
    pub audit: Option<Arc<AuditPlan>>,
    /// The datagrams UDP ports are probed with; `None` when no UDP port is scanned.
    pub udp: Option<Arc<UdpPlan>>,
}

impl Pipeline {
    /// Turns a connect result into the port's finished result. An open port's connection is
    /// examined (detection, then the audit); at `cancel` an open port is still reported (open,
    /// its reason) without the detection that did not finish.
    pub async fn examine<S>(
        &self,
        host: Arc<Host>,
        port: u16,
        attempt: Result<(Probed, Option<S>), ProbeError>,
        cancel: &CancellationToken,
    ) -> PortResult
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let port_name = service_name(port);
        let (outcome, stream) = match attempt {
            Ok((probed, stream)) => (Ok(probed), stream),
            Err(e) => (Err(e), None),
        };
        let service = match (&self.detect, stream) {
            (Some(plan), Some(stream)) => {
                let facts = PortFacts {
                    addr: SocketAddr::new(host.ip, port),
                    probe_host: host.probe_name(),
                    port_name,
                };
                // Boxed: detection's state is large and only open ports need it, so thousands
                // of connects in flight stay small.
                let detection = Box::pin(detect(Box::new(stream), &facts, plan));
                tokio::select! {
                    d = detection => Some(Box::new(d)),
                    _ = cancel.cancelled() => None,
                }
            }
            _ => None,
        };
        let findings = match (&self.detect, &self.audit, &service) {
            (Some(plan), Some(audit), Some(found)) => {
                Some(audit.findings(found, &plan.matcher.db, host.ip, port))
            }
            _ => None,
        };
        PortResult {
            host,
            port,
            proto: Proto::Tcp,
            port_name,
            outcome,
            service,
            findings,
            syn: None,
        }
    }

    /// Turns a UDP probe's answer into the port's finished result: the datagrams that came
    /// back are identified (against the probes that were `sent`) and audited.
    pub fn examine_udp(
        &self,
        host: Arc<Host>,
        port: u16,
        attempt: Result<UdpAttempt, ProbeError>,
        sent: &[&UdpProbe],
    ) -> PortResult {
        let port_name = crate::portkb::udp_service_name(port);
        let (outcome, replies) = match attempt {
            Ok(a) => {
                let probed = Probed {
                    state: a.state,
                    reason: a.reason,
                    rtt: a.rtt,
                };
                (Ok(probed), a.replies)
            }
            Err(e) => (Err(e), Vec::new()),
        };
        let service = match &self.detect {
            Some(plan) if !replies.is_empty() => Some(Box::new(crate::udp_detect::identify(
                &plan.matcher,
                port_name,
                &replies,
                sent,
            ))),
            _ => None,
        };
        // Each datagram is an answer of its own (SNMP's sysDescr and its engine ID come in
        // different ones): each is audited, as if it were the banner.
        let findings = match (&self.detect, &self.audit, &service) {
            (Some(plan), Some(audit), Some(found)) => {
                let mut all: Vec<Finding> = Vec::new();
                for reply in &replies {
                    let mut one = (**found).clone();
                    // Which probe drew a datagram is known only for the one that identified
                    // the service; the others are reported without a probe.
                    if one.banner.as_ref() != Some(reply) {
                        one.banner_probe = None;
                    }
                    one.banner = Some(reply.clone());
                    for f in audit.findings(&one, &plan.matcher.db, host.ip, port) {
                        if !all.iter().any(|a| a.id == f.id && a.evidence == f.evidence) {
                            all.push(f);
                        }
                    }
                }
                Some(all)
            }
            _ => None,
        };
        PortResult {
            host,
            port,
            proto: Proto::Udp,
            port_name,
            outcome,
            service,
            findings,
            syn: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::DetectLimits;
    use crate::fingerprint::{Confidence, Database, Matcher};
    use std::net::{IpAddr, Ipv4Addr};
    use tokio::io::AsyncWriteExt;

    fn pipeline(audit: bool) -> Pipeline {
        let db = Database::load(&[]).expect("the embedded database loads");
        Pipeline {
            detect: Some(DetectPlan {
                matcher: Arc::new(Matcher::new(db)),
                limits: DetectLimits {
                    deadline: Duration::from_secs(2),
                    ..DetectLimits::default()
                },
                tls: None,
                dialer: Default::default(),
            }),
            audit: audit.then(|| Arc::new(AuditPlan::default())),
            udp: None,
        }
    }

    fn host() -> Arc<Host> {
        Arc::new(Host {
            id: 1,
            name: None,
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        })
    }

    fn open() -> Probed {
        Probed {
            state: PortState::Open,
            reason: Reason::SynAck,
            rtt: Duration::from_millis(1),
        }
    }

    /// A server that greets, over an in-memory pipe instead of a socket.
    fn greeting(text: &'static [u8]) -> tokio::io::DuplexStream {
        let (ours, mut theirs) = tokio::io::duplex(4096);
        tokio::spawn(async move {
            let _ = theirs.write_all(text).await;
            // Hold the connection open as a server would, until the client goes.
            let mut sink = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut theirs, &mut sink).await;
        });
        ours
    }

    #[tokio::test]
    async fn an_open_port_is_identified_and_audited() {
        let stream = greeting(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
        let result = pipeline(true)
            .examine(host(), 22, Ok((open(), Some(stream))), &CancellationToken::new())
            .await;
        assert_eq!(result.port_name, Some("ssh"));
        let service = result.service.expect("detected");
        assert_eq!(service.identity.service, "ssh");
        assert_eq!(service.identity.product.as_deref(), Some("OpenSSH"));
        assert_eq!(service.identity.version.as_deref(), Some("9.2p1"));
        assert_eq!(service.confidence, Confidence::Hard);
        let findings = result.findings.expect("audited");
        assert!(
            findings.iter().any(|f| f.evidence.contains("OpenSSH_9.2p1")),
            "{findings:?}"
        );
    }

    #[tokio::test]
    async fn without_audit_there_are_no_findings_and_closed_ports_are_not_examined() {
        let stream = greeting(b"220 mail.example.test ESMTP Postfix (Debian/GNU)\r\n");
        let result = pipeline(false)
            .examine(host(), 25, Ok((open(), Some(stream))), &CancellationToken::new())
            .await;
        assert!(result.findings.is_none());
        assert_eq!(
            result.service.map(|s| s.identity.product),
            Some(Some("Postfix".to_string()))
        );
        let closed = Probed {
            state: PortState::Closed,
            reason: Reason::ConnRefused,
            rtt: Duration::from_millis(1),
        };
        let result = pipeline(true)
            .examine(
                host(),
                25,
                Ok((closed, None::<tokio::io::DuplexStream>)),
                &CancellationToken::new(),
            )
            .await;
        assert!(result.service.is_none() && result.findings.is_none());
        assert_eq!(result.state(), Some(PortState::Closed));
    }

    #[tokio::test]
    async fn a_cancelled_detection_still_reports_the_open_port() {
        // A server that never speaks: detection would wait for its deadline.
        let (ours, _theirs) = tokio::io::duplex(64);
        let cancel = CancellationToken::new();
        cancel.cancel();
        let result = pipeline(false)
            .examine(host(), 9, Ok((open(), Some(ours))), &cancel)
            .await;
        assert_eq!(result.state(), Some(PortState::Open));
        assert!(result.service.is_none());
    }
}
