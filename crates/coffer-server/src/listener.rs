//! Accepting connections, plain or TLS, and the limits every connection lives under: a maximum
//! number of connections (past it, new ones are closed at once and counted), a time limit on
//! the TLS handshake, on reading a request's headers and on reading its body, bounded header
//! size and count, and an idle timeout that closes keep-alive connections nobody uses. Together
//! these are the slow-client (slowloris) defence: a client that sends nothing, or a byte at a
//! time, holds a connection for at most a timeout.
//!
//! Shutdown stops accepting, lets every connection finish the request it is serving
//! (HTTP/1.1 closes after it, HTTP/2 sends GOAWAY), and drops what is left after a grace period.

use crate::SecureTransport;
use axum::Router;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Semaphore, watch};

/// `[limits]`. Every field has a default.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Connections served at once; more are closed as they arrive.
    pub max_connections: usize,
    /// Time a client has to send a request's headers (and to finish a TLS handshake).
    pub header_read_timeout_seconds: u64,
    /// Time a client has to send a request's body, once its headers arrived.
    pub request_timeout_seconds: u64,
    /// A connection with no request in flight for this long is closed.
    pub idle_timeout_seconds: u64,
    /// Largest total size of a request's headers, in bytes.
    pub max_header_bytes: usize,
    /// Most headers a request may have.
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            header_read_timeout_seconds: 10,
            request_timeout_seconds: 30,
            idle_timeout_seconds: 60,
            max_header_bytes: 64 * 1024,
            max_headers: 100,
        }
    }
}

impl Limits {
    /// Refuse values that would disable a limit by accident.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.max_connections > 0,
            "[limits] max_connections must be at least 1"
        );
        for (name, v) in [
            (
                "header_read_timeout_seconds",
                self.header_read_timeout_seconds,
            ),
            ("request_timeout_seconds", self.request_timeout_seconds),
            ("idle_timeout_seconds", self.idle_timeout_seconds),
        ] {
            anyhow::ensure!(v > 0, "[limits] {name} must be at least 1 (seconds)");
        }
        anyhow::ensure!(
            (8 * 1024..=1024 * 1024).contains(&self.max_header_bytes),
            "[limits] max_header_bytes must be between 8192 and 1048576"
        );
        anyhow::ensure!(
            (16..=1000).contains(&self.max_headers),
            "[limits] max_headers must be between 16 and 1000"
        );
        Ok(())
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }

    fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_seconds)
    }

    fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_seconds)
    }
}

/// How long open connections get to finish once shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serve `router` on `listener` until `shutdown` resolves; TLS when `tls` is given.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let limits = Arc::new(limits);
    let (stop, stopping) = watch::channel(false);
    let mut last_refusal_logged: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            coffer_service::metrics::global().connections_refused.inc();
            if last_refusal_logged.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                last_refusal_logged = Some(Instant::now());
                tracing::warn!(
                    max_connections = limits.max_connections,
                    "connection limit reached: closing new connections ([limits] max_connections)"
                );
            }
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let limits = limits.clone();
        let acceptor = acceptor.clone();
        let stopping = stopping.clone();
        tokio::spawn(async move {
            let gauge = &coffer_service::metrics::global().connections_open;
            gauge.inc();
            match acceptor {
                None => connection(tcp, peer, false, router, &limits, stopping).await,
                Some(acceptor) => {
                    match tokio::time::timeout(limits.header_timeout(), acceptor.accept(tcp)).await
                    {
                        Ok(Ok(stream)) => {
                            connection(stream, peer, true, router, &limits, stopping).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
            gauge.dec();
            drop(permit);
        });
    }
    let _ = stop.send(true);
    // Wait for the connections to finish (each gives up after its own grace period).
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(
        SHUTDOWN_GRACE + Duration::from_secs(1),
        slots.acquire_many(all),
    )
    .await;
}

/// When a connection last finished a request, and how many it is serving.
struct Activity {
    born: Instant,
    in_flight: AtomicUsize,
    last_done_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            born: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last_done_ms: AtomicU64::new(0),
        }
    }

    fn begin(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    fn end(&self) {
        let ms = u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_done_ms.store(ms, Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// How long the connection has had nothing in flight.
    fn idle_for(&self) -> Duration {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return Duration::ZERO;
        }
        let since = Duration::from_millis(self.last_done_ms.load(Ordering::Relaxed));
        self.born.elapsed().saturating_sub(since)
    }
}

/// Decrements the in-flight count however the request's future ends (answered or dropped).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// Serve one connection (HTTP/1.1 or HTTP/2) until it closes, goes idle, or shutdown.
async fn connection<I>(
    io: I,
    peer: SocketAddr,
    secure: bool,
    router: Router,
    limits: &Limits,
    mut stopping: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let seen = activity.clone();
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            seen.begin();
            let guard = InFlight(seen.clone());
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            if secure {
                req.extensions_mut().insert(SecureTransport);
            }
            let call = tower::ServiceExt::oneshot(router.clone(), req.map(axum::body::Body::new));
            async move {
                let answer = call.await;
                drop(guard);
                answer
            }
        });
    let mut builder =
        hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_timeout())
        .max_headers(limits.max_headers)
        // The read buffer bounds a request's head: headers that do not fit get 431. Bodies
        // stream through it in pieces, so it does not bound them.
        .max_buf_size(limits.max_header_bytes);
    builder
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(128);
    let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(io), service);
    tokio::pin!(conn);
    let mut closing: Option<Instant> = None;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            ended = conn.as_mut() => {
                if let Err(e) = ended {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = stopping.changed(), if closing.is_none() => {
                conn.as_mut().graceful_shutdown();
                closing = Some(Instant::now());
            }
            _ = tick.tick() => match closing {
                Some(since) if since.elapsed() > SHUTDOWN_GRACE => {
                    tracing::debug!(%peer, "connection did not close in time; dropping it");
                    return;
                }
                Some(_) => {}
                None if activity.idle_for() > limits.idle_timeout() => {
                    tracing::debug!(%peer, "closing idle connection");
                    conn.as_mut().graceful_shutdown();
                    closing = Some(Instant::now());
                }
                None => {}
            },
        }
    }
}
