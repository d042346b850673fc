//! How the scan and detection open a TCP connection: directly, or through a SOCKS or HTTP
//! CONNECT proxy, whose answers then give the port's state as seen from the proxy.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant as StdInstant;

use tokio::time::Instant;

use crate::net::connect::{connect, Attempt, ConnectOptions, LocalError, PortState, Reason};
use crate::net::proxy::{tunnel, ProxyAuth, ProxyError, ProxyKind, ProxyTarget};

/// A proxy the scan goes through.
#[derive(Debug)]
pub struct ProxyRoute {
    pub addr: SocketAddr,
    pub kind: ProxyKind,
    pub auth: Option<ProxyAuth>,
}

/// Direct connections or connections through a proxy.
#[derive(Debug, Clone, Default)]
pub enum Dialer {
    #[default]
    Direct,
    Proxy(Arc<ProxyRoute>),
}

impl Dialer {
    /// Connects to `addr` and classifies the outcome. Through a proxy: the proxy gets its own
    /// `opts.timeout` to accept us and the handshake another; the tunnelled stream is returned
    /// as the open port's connection. A proxy that is down or turns us away is a local error.
    pub async fn connect(&self, addr: SocketAddr, opts: &ConnectOptions) -> Result<Attempt, LocalError> {
        let Dialer::Proxy(route) = self else {
            return connect(addr, opts).await;
        };
        let proxy = route.addr;
        let to_proxy = connect(proxy, opts).await?;
        let (PortState::Open, Some(stream)) = (to_proxy.state, to_proxy.stream) else {
            let reason = match (to_proxy.state, to_proxy.reason) {
                (PortState::Closed, _) => "cannot connect to the proxy: connection refused".to_string(),
                (_, Reason::NoResponse) => {
                    format!("cannot connect to the proxy: no answer within {:?}", opts.timeout)
                }
                (_, r) => format!("cannot connect to the proxy: {r}"),
            };
            return Err(LocalError::Proxy { proxy, reason });
        };
        let started = StdInstant::now();
        let deadline = Instant::now() + opts.timeout;
        let (state, reason, stream) = match tunnel(
            stream,
            route.kind,
            &ProxyTarget::Addr(addr),
            route.auth.as_ref(),
            deadline,
        )
        .await
        {
            Ok(s) => (PortState::Open, Reason::ProxyConnected, Some(s)),
            Err(e) if e.target_refused() => (PortState::Closed, Reason::ProxyRefused, None),
            Err(e) if e.proxy_failed() => {
                return Err(LocalError::Proxy {
                    proxy,
                    reason: e.to_string(),
                })
            }
            Err(ProxyError::Timeout) => (PortState::Filtered, Reason::NoResponse, None),
            Err(_) => (PortState::Filtered, Reason::ProxyUnreach, None),
        };
        Ok(Attempt {
            state,
            reason,
            rtt: started.elapsed(),
            stream,
        })
    }

    /// Checks once, before the scan, that the proxy answers and accepts us: a tunnel to the
    /// proxy's own address (any answer about that target will do, as long as it is not the
    /// proxy failing or refusing our credentials). Tries each address in turn; gives the
    /// dialer for the first that works.
    pub async fn check(
        addrs: &[SocketAddr],
        kind: ProxyKind,
        auth: Option<ProxyAuth>,
        opts: &ConnectOptions,
    ) -> Result<Dialer, LocalError> {
        let mut last = None;
        for &addr in addrs {
            let route = Arc::new(ProxyRoute {
                addr,
                kind,
                auth: auth.clone(),
            });
            let dialer = Dialer::Proxy(route);
            match dialer.connect(addr, opts).await {
                Ok(_) => return Ok(dialer),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| LocalError::Other(std::io::Error::other("the proxy has no address"))))
    }
}
