//! The HTTP server around the router: accepts TCP connections, and guards them against slow
//! or greedy clients, which `axum::serve` cannot do.
//!
//! - A client must send a request's headers within `header_read_timeout` (slowloris). The same
//!   bound closes a keep-alive connection that stays idle that long.
//! - One client address holds at most `max_per_address` open connections (WebSockets included,
//!   until they close); further ones are closed at once. Behind a reverse proxy every
//!   connection comes from the proxy's address: there the proxy must enforce its own per-client
//!   limit, and this one is set to 0 (off) or above the proxy's total.
//! - Shutting down stops accepting, lets requests in flight finish, closes idle connections,
//!   and returns after `shutdown_grace` at the latest, whatever the clients do.
//!
//! Every request carries `ConnectInfo<SocketAddr>` (the TCP peer), as with `axum::serve`.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

/// Limits on the connections of clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a client has to send a request's headers (and a keep-alive connection may idle).
    pub header_read_timeout: Duration,
    /// Open connections one client address may hold; 0: no limit.
    pub max_per_address: usize,
    /// How long shutting down waits for connections to finish before it returns anyway.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(15),
            max_per_address: 128,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Open connections per client address.
#[derive(Debug, Default)]
struct Counts(Mutex<HashMap<IpAddr, usize>>);

impl Counts {
    /// Counts one more connection of `ip`, unless it already holds `max` (0: no limit).
    fn admit(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<Slot> {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = map.entry(ip).or_default();
        if max > 0 && *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot { counts: self.clone(), ip })
    }
}

/// One counted connection; dropping it frees the place.
#[derive(Debug)]
struct Slot {
    counts: Arc<Counts>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.counts.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// A TCP stream holding its place in the count: an upgraded connection (a WebSocket) carries
/// the stream away from the HTTP connection, and the place goes with it until it closes.
#[derive(Debug)]
struct Counted {
    stream: TcpStream,
    _slot: Slot,
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets the
/// requests in flight finish and returns once every connection closed, or after
/// `limits.shutdown_grace` at the latest. Upgraded connections (WebSockets) are not waited
/// for here: their owners close them (see [`crate::room::Hub::close_all`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let counts = Arc::new(Counts::default());
    // Each connection task holds a receiver: "no receiver left" means all of them ended.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Some(slot) = counts.admit(peer.ip(), limits.max_per_address) else {
            tracing::debug!(client = %peer.ip(), "too many connections from one address: closed");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(Counted { stream, _slot: slot });
        let app = app.clone();
        let service = hyper::service::service_fn(move |req: axum::http::Request<hyper::body::Incoming>| {
            let mut req = req.map(axum::body::Body::new);
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req)
        });
        let conn = http.serve_connection(io, service).with_upgrades();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, client = %peer, "connection ended with an error");
                    }
                    return;
                }
                () = stopped(&mut stop) => {}
            }
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        });
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(true);
    if tokio::time::timeout(limits.shutdown_grace, stop_tx.closed()).await.is_err() {
        tracing::info!("some connections were still open at shutdown: closed");
    }
    Ok(())
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    // An error means the server loop is gone: stop as well.
    let _ = stop.wait_for(|s| *s).await;
}
