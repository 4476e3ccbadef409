//! The connection loop: hyper-util's HTTP/1.1 server with the limits `axum::serve` lacks.
//!
//! Every connection is timed by what it is doing:
//! - waiting for a request (a new connection, or idle keep-alive): closed after
//!   [`ServeLimits::header_timeout`] for the first request and [`ServeLimits::idle_timeout`]
//!   between requests;
//! - sending request headers: from their first byte, they must be complete within
//!   `header_timeout` (a "slowloris" drip is cut off);
//! - sending a request body: the whole body must arrive within [`ServeLimits::body_timeout`]
//!   (the handler then sees a body error, answered 408);
//! - receiving a response: a write that makes no progress for `idle_timeout` closes the
//!   connection (a client that never reads).
//!
//! At most [`ServeLimits::max_connections`] connections are open. When a new one arrives at
//! the cap, the connection that has waited longest without a request in progress is closed to
//! make room, so half-sent requests cannot lock everyone else out; if every connection is busy
//! serving a request, the new one waits in the kernel's accept queue.
//!
//! Each request carries the peer address as [`axum::extract::ConnectInfo`]`<SocketAddr>`.

use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::Router;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Notify, Semaphore};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// Timeouts and the connection cap (from [`crate::Config`]).
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// Time for a new connection's first request headers, and for any request's headers from
    /// their first byte.
    pub header_timeout: Duration,
    /// Time for a whole request body.
    pub body_timeout: Duration,
    /// Time an idle keep-alive connection waits for its next request; also the longest a
    /// response write may make no progress.
    pub idle_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

impl ServeLimits {
    pub fn from_config(c: &crate::Config) -> Self {
        ServeLimits {
            header_timeout: c.header_timeout,
            body_timeout: c.body_timeout,
            idle_timeout: c.idle_timeout,
            max_connections: c.max_connections.max(1),
        }
    }
}

/// The local address of the connection a request came on (the server's own address as the
/// client reached it), in each request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct LocalAddr(pub SocketAddr);

/// The error a request body yields when it did not arrive within the body timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct BodyTimeout(pub Duration);

/// What a connection is doing, for its timeouts and for shedding at the cap.
#[derive(Debug)]
struct Clock {
    /// Requests being served (HTTP/1.1: 0 or 1).
    in_flight: usize,
    /// When the connection last became idle (or was accepted).
    idle_since: Instant,
    /// First byte of the next request while idle.
    first_byte: Option<Instant>,
    /// Requests answered on this connection.
    served: u64,
}

struct Conn {
    clock: Mutex<Clock>,
    shed: Notify,
    shedding: AtomicBool,
}

impl Conn {
    fn clock(&self) -> std::sync::MutexGuard<'_, Clock> {
        self.clock.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        let mut c = self.clock();
        c.in_flight += 1;
        c.first_byte = None;
        InFlight(self.clone())
    }
}

/// Marks a request as in progress until dropped (when its response body has been sent, or the
/// request was abandoned).
struct InFlight(Arc<Conn>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut c = self.0.clock();
        c.in_flight = c.in_flight.saturating_sub(1);
        if c.in_flight == 0 {
            c.idle_since = Instant::now();
            c.served += 1;
        }
    }
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, what.to_string())
}

/// A timer towards a deadline that can move.
struct Deadline {
    sleep: Pin<Box<Sleep>>,
    at: Option<Instant>,
}

impl Deadline {
    fn new() -> Self {
        Deadline {
            sleep: Box::pin(tokio::time::sleep_until(
                Instant::now() + Duration::from_secs(86_400),
            )),
            at: None,
        }
    }

    /// Whether `at` has passed; otherwise the task is woken when it does.
    fn passed(&mut self, at: Instant, cx: &mut Context<'_>) -> bool {
        if self.at != Some(at) {
            self.sleep.as_mut().reset(at);
            self.at = Some(at);
        }
        self.sleep.as_mut().poll(cx).is_ready()
    }
}

pin_project_lite::pin_project! {
    /// A TCP stream that enforces the read deadlines of its connection's state and the write
    /// stall limit.
    struct GuardedIo {
        #[pin]
        inner: TcpStream,
        conn: Arc<Conn>,
        limits: ServeLimits,
        read: Deadline,
        write: Deadline,
        // When the current write stall must end, if a write is stalled.
        stalled_until: Option<Instant>,
    }
}

impl GuardedIo {
    fn new(inner: TcpStream, conn: Arc<Conn>, limits: ServeLimits) -> Self {
        GuardedIo {
            inner,
            conn,
            limits,
            read: Deadline::new(),
            write: Deadline::new(),
            stalled_until: None,
        }
    }
}

impl AsyncRead for GuardedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        match this.inner.poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    let mut c = this.conn.clock();
                    if c.in_flight == 0 && c.first_byte.is_none() {
                        c.first_byte = Some(Instant::now());
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let deadline = {
                    let c = this.conn.clock();
                    if c.in_flight > 0 {
                        None
                    } else {
                        Some(match c.first_byte {
                            Some(t) => t + this.limits.header_timeout,
                            None if c.served == 0 => c.idle_since + this.limits.header_timeout,
                            None => c.idle_since + this.limits.idle_timeout,
                        })
                    }
                };
                match deadline {
                    Some(d) if this.read.passed(d, cx) => {
                        Poll::Ready(Err(timed_out("the client was too slow to send a request")))
                    }
                    _ => Poll::Pending,
                }
            }
        }
    }
}

/// A write that stays `Pending` for longer than the idle timeout fails.
fn stall<T>(
    r: Poll<io::Result<T>>,
    idle: Duration,
    timer: &mut Deadline,
    stalled_until: &mut Option<Instant>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<T>> {
    if r.is_ready() {
        *stalled_until = None;
        return r;
    }
    let until = *stalled_until.get_or_insert_with(|| Instant::now() + idle);
    if timer.passed(until, cx) {
        Poll::Ready(Err(timed_out("the client stopped reading the response")))
    } else {
        Poll::Pending
    }
}

impl AsyncWrite for GuardedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let r = this.inner.poll_write(cx, buf);
        stall(
            r,
            this.limits.idle_timeout,
            this.write,
            this.stalled_until,
            cx,
        )
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let r = this.inner.poll_write_vectored(cx, bufs);
        stall(
            r,
            this.limits.idle_timeout,
            this.write,
            this.stalled_until,
            cx,
        )
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        let r = this.inner.poll_flush(cx);
        stall(
            r,
            this.limits.idle_timeout,
            this.write,
            this.stalled_until,
            cx,
        )
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

pin_project_lite::pin_project! {
    /// A request body that fails with [`BodyTimeout`] when it has not ended by its deadline.
    struct DeadlineBody {
        #[pin]
        inner: Incoming,
        #[pin]
        sleep: Sleep,
        limit: Duration,
        done: bool,
    }
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        match this.inner.poll_frame(cx) {
            Poll::Ready(None) => {
                *this.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(r)) => Poll::Ready(Some(r.map_err(Into::into))),
            Poll::Pending => {
                if this.sleep.poll(cx).is_ready() {
                    *this.done = true;
                    Poll::Ready(Some(Err(Box::new(BodyTimeout(*this.limit)))))
                } else {
                    Poll::Pending
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project_lite::pin_project! {
    /// A response body that keeps its request counted as in progress until it has been sent.
    struct Tracked {
        #[pin]
        inner: axum::body::Body,
        flight: Option<InFlight>,
    }
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        let r = this.inner.poll_frame(cx);
        if let Poll::Ready(None) = r {
            this.flight.take();
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

type Registry = Arc<Mutex<HashMap<u64, Arc<Conn>>>>;

/// Closes the connection that has waited longest without a request in progress; false when
/// every connection is busy.
fn shed_one(conns: &Registry) -> bool {
    let map = conns.lock().unwrap_or_else(|e| e.into_inner());
    let victim = map
        .values()
        .filter(|c| !c.shedding.load(Ordering::Relaxed))
        .filter_map(|c| {
            let k = c.clock();
            (k.in_flight == 0).then_some((k.idle_since, c))
        })
        .min_by_key(|(since, _)| *since)
        .map(|(_, c)| c.clone());
    match victim {
        Some(c) => {
            c.shedding.store(true, Ordering::Relaxed);
            c.shed.notify_one();
            true
        }
        None => false,
    }
}

/// Serves `router` on `listener` with `limits` until `shutdown` completes; then stops
/// accepting, lets requests in progress finish (idle connections close at once) and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    raise_fd_limit(limits.max_connections);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let conns: Registry = Default::default();
    let next_id = AtomicU64::new(0);
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection task holds a clone; `recv` returns `None` once they are all gone.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if shed_one(&conns) {
                    tracing::info!(
                        max = limits.max_connections,
                        "connection cap reached: closed the longest-waiting idle connection"
                    );
                } else {
                    tracing::warn!(
                        max = limits.max_connections,
                        "connection cap reached and every connection is busy; new ones wait"
                    );
                }
                tokio::select! {
                    _ = &mut shutdown => break,
                    p = permits.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().ok();
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            clock: Mutex::new(Clock {
                in_flight: 0,
                idle_since: Instant::now(),
                first_byte: None,
                served: 0,
            }),
            shed: Notify::new(),
            shedding: AtomicBool::new(false),
        });
        conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, conn.clone());
        let task = ConnTask {
            stream,
            peer,
            local,
            conn,
            router: router.clone(),
            limits,
            stop: stop_rx.clone(),
        };
        let (conns, alive) = (conns.clone(), alive_tx.clone());
        tokio::spawn(async move {
            task.run().await;
            conns.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
            drop(permit);
            drop(alive);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(alive_tx);
    let _ = alive_rx.recv().await;
    Ok(())
}

struct ConnTask {
    stream: TcpStream,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    conn: Arc<Conn>,
    router: Router,
    limits: ServeLimits,
    stop: watch::Receiver<bool>,
}

impl ConnTask {
    async fn run(self) {
        let ConnTask {
            stream,
            peer,
            local,
            conn,
            router,
            limits,
            mut stop,
        } = self;
        let io = TokioIo::new(GuardedIo::new(stream, conn.clone(), limits));
        let c = conn.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let flight = c.begin();
            let router = router.clone();
            async move {
                let (mut parts, body) = req.into_parts();
                parts.extensions.insert(ConnectInfo(peer));
                if let Some(l) = local {
                    parts.extensions.insert(LocalAddr(l));
                }
                let body = DeadlineBody {
                    inner: body,
                    sleep: tokio::time::sleep(limits.body_timeout),
                    limit: limits.body_timeout,
                    done: false,
                };
                let req = axum::http::Request::from_parts(parts, axum::body::Body::new(body));
                let resp = match router.oneshot(req).await {
                    Ok(r) => r,
                    Err(never) => match never {},
                };
                Ok::<_, std::convert::Infallible>(resp.map(|b| Tracked {
                    inner: b,
                    flight: Some(flight),
                }))
            }
        });
        let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            // A backstop only: GuardedIo enforces the precise header and idle deadlines.
            .header_read_timeout(limits.header_timeout + limits.idle_timeout);
        let builder = builder.http1_only();
        let http = builder.serve_connection(io, service);
        tokio::pin!(http);
        let mut stopping = *stop.borrow();
        if stopping {
            http.as_mut().graceful_shutdown();
        }
        loop {
            tokio::select! {
                r = http.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                    break;
                }
                _ = conn.shed.notified() => break,
                r = stop.changed(), if !stopping => {
                    stopping = true;
                    if r.is_ok() {
                        http.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}

/// Raises the soft open-file limit so that `max_connections` sockets fit (Go does the same at
/// start); a lower hard limit is logged, not fatal.
fn raise_fd_limit(max_connections: usize) {
    let want = max_connections as u64 + 256;
    match rlimit::increase_nofile_limit(want) {
        Ok(got) if got < want => tracing::warn!(
            limit = got,
            max_connections,
            "the open-file limit is below the connection cap; raise it (ulimit -n)"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not read or raise the open-file limit"),
    }
}
