//! One deadline per connection, moved by what the connection is doing.
//!
//! A connection is always in one of these stages, and its deadline follows:
//!
//! | stage                                   | deadline                      |
//! |-----------------------------------------|-------------------------------|
//! | accepted, first request not yet parsed  | accept + header timeout       |
//! | HTTP/1 idle, first byte of the next one | that byte + header timeout    |
//! | idle (keep-alive, no request open)      | end of last response + idle   |
//! | a request body or response is in flight | that stage's start + body     |
//! | only handlers are running               | none (our own work)           |
//!
//! Everything is counted in [`Shared`]; the connection task ([`drive`]) keeps one
//! `tokio::time::Sleep` armed at the current deadline and closes the connection when
//! it passes. Requests move the deadline with a mutex and a clock read, never with a
//! timer of their own, so a request costs no allocation and no timer registration
//! beyond what axum::serve did. hyper's own HTTP/1 `header_read_timeout` is not
//! used: in hyper 1.x it starts as soon as a keep-alive connection goes idle
//! (`proto/h1/conn.rs`: `State::idle` sets `notify_read`, and the next
//! `poll_read_head` arms the timer before any byte arrives), so it would cap the
//! idle time at the header timeout, and it allocates a new timer per request.

use axum::extract::ConnectInfo;
use axum::routing::future::RouteFuture;
use axum::Router;
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::{Request, Response, Version};
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tower::Service as _;

/// The three read limits of a connection.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From accept (or from the first byte after an idle spell) to complete headers.
    pub header: Duration,
    /// For the request body to arrive, and again for the response to be taken.
    pub body: Duration,
    /// Keep-alive: from the end of the last response to the next request's first byte.
    pub idle: Duration,
}

/// No deadline (only handlers are running).
const NONE: u64 = u64::MAX;
/// How far ahead the sleep is armed when there is no deadline.
const FAR: Duration = Duration::from_secs(24 * 3600);

/// Why a connection's current deadline is set: named in the log when it passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for (the rest of) request headers.
    Header,
    /// Keep-alive, no request open.
    Idle,
    /// A request body is arriving or a response is being taken.
    Body,
    /// Only handlers are running: no deadline.
    Handler,
}

#[derive(Debug)]
struct Phase {
    /// Requests parsed whose response has not been fully handed to hyper.
    active: u32,
    /// Of those, how many wait on the client (body to arrive, response to be read).
    on_client: u32,
    /// The connection speaks HTTP/2 (seen on its first request).
    h2: bool,
    stage: Stage,
}

/// A connection's counters and deadline, shared by its IO, its requests and its task.
#[derive(Debug)]
pub struct Shared {
    base: Instant,
    timeouts: Timeouts,
    phase: Mutex<Phase>,
    /// Milliseconds after `base`, or [`NONE`]; written under `phase`.
    deadline: AtomicU64,
    /// HTTP/1 idle: the next byte read starts the header deadline.
    await_head: AtomicBool,
}

impl Shared {
    /// A just-accepted connection: its first request's headers are due.
    pub fn new(timeouts: Timeouts) -> Arc<Self> {
        Arc::new(Self {
            base: Instant::now(),
            timeouts,
            phase: Mutex::new(Phase {
                active: 0,
                on_client: 0,
                h2: false,
                stage: Stage::Header,
            }),
            deadline: AtomicU64::new(millis(timeouts.header)),
            await_head: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, p: &mut Phase, stage: Stage, after: Duration) {
        p.stage = stage;
        let at = if stage == Stage::Handler {
            NONE
        } else {
            millis(self.base.elapsed()).saturating_add(millis(after))
        };
        self.deadline.store(at, Ordering::Relaxed);
    }

    /// Re-derive the stage from the counters.
    fn settle(&self, p: &mut Phase) {
        if p.active == 0 {
            self.set(p, Stage::Idle, self.timeouts.idle);
            if !p.h2 {
                self.await_head.store(true, Ordering::Relaxed);
            }
        } else if p.on_client > 0 {
            self.set(p, Stage::Body, self.timeouts.body);
        } else {
            self.set(p, Stage::Handler, Duration::ZERO);
        }
    }

    /// Bytes arrived. On an idle HTTP/1 connection they begin the next request, whose
    /// headers are then due within the header timeout. One relaxed load otherwise.
    fn bytes_read(&self) {
        if self.await_head.load(Ordering::Relaxed) && self.await_head.swap(false, Ordering::Relaxed)
        {
            let mut p = self.lock();
            if p.active == 0 {
                self.set(&mut p, Stage::Header, self.timeouts.header);
            }
        }
    }

    fn request_started(&self, has_body: bool, h2: bool) {
        self.await_head.store(false, Ordering::Relaxed);
        let mut p = self.lock();
        p.h2 |= h2;
        p.active += 1;
        p.on_client += u32::from(has_body);
        self.settle(&mut p);
    }

    fn body_finished(&self) {
        let mut p = self.lock();
        p.on_client = p.on_client.saturating_sub(1);
        self.settle(&mut p);
    }

    fn response_started(&self) {
        let mut p = self.lock();
        p.on_client += 1;
        self.settle(&mut p);
    }

    fn response_finished(&self) {
        let mut p = self.lock();
        p.on_client = p.on_client.saturating_sub(1);
        p.active = p.active.saturating_sub(1);
        self.settle(&mut p);
    }

    /// The handler was dropped before it answered (client gone, stream reset).
    fn request_abandoned(&self) {
        let mut p = self.lock();
        p.active = p.active.saturating_sub(1);
        self.settle(&mut p);
    }

    fn raw_deadline(&self) -> u64 {
        self.deadline.load(Ordering::Relaxed)
    }

    fn instant(&self, raw: u64) -> Instant {
        if raw == NONE {
            Instant::now() + FAR
        } else {
            self.base + Duration::from_millis(raw)
        }
    }

    /// The stage whose deadline passed, and whether the connection is HTTP/2.
    fn stage(&self) -> (Stage, bool) {
        let p = self.lock();
        (p.stage, p.h2)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(NONE - 1)
}

/// The socket, telling [`Shared`] when bytes arrive.
#[derive(Debug)]
pub struct WatchedIo {
    io: TcpStream,
    shared: Arc<Shared>,
}

impl WatchedIo {
    /// Watch `io` for `shared`.
    pub fn new(io: TcpStream, shared: Arc<Shared>) -> Self {
        Self { io, shared }
    }
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.shared.bytes_read();
        }
        r
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// The application as hyper calls it for one connection: adds
/// `ConnectInfo<SocketAddr>` to every request (as axum's
/// `into_make_service_with_connect_info` does) and reports each request's stages.
#[derive(Debug, Clone)]
pub struct ConnService {
    router: Router,
    peer: SocketAddr,
    shared: Arc<Shared>,
}

impl ConnService {
    /// Serve `router` to the client at `peer`.
    pub fn new(router: Router, peer: SocketAddr, shared: Arc<Shared>) -> Self {
        Self {
            router,
            peer,
            shared,
        }
    }
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, mut req: Request<Incoming>) -> ResponseFuture {
        let has_body = !req.body().is_end_stream();
        self.shared
            .request_started(has_body, req.version() == Version::HTTP_2);
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let shared = has_body.then(|| self.shared.clone());
        let req = req.map(|inner| RequestBody { inner, shared });
        ResponseFuture {
            inner: self.router.clone().call(req),
            shared: Some(self.shared.clone()),
        }
    }
}

/// The request body, reporting when it has fully arrived (or was given up).
#[derive(Debug)]
pub struct RequestBody {
    inner: Incoming,
    /// Present until the body is finished.
    shared: Option<Arc<Shared>>,
}

impl RequestBody {
    fn finish(&mut self) {
        if let Some(s) = self.shared.take() {
            s.body_finished();
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let r = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        if !matches!(r, Some(Ok(_))) || this.inner.is_end_stream() {
            this.finish();
        }
        Poll::Ready(r)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The router's future, reporting when the response is ready (or was dropped).
pub struct ResponseFuture {
    inner: RouteFuture<Infallible>,
    /// Present until the response is ready; then handed to its body.
    shared: Option<Arc<Shared>>,
}

impl Future for ResponseFuture {
    type Output = Result<Response<ResponseBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Ok(res) = ready!(Pin::new(&mut this.inner).poll(cx));
        let shared = this.shared.take();
        if let Some(s) = &shared {
            s.response_started();
        }
        Poll::Ready(Ok(res.map(|inner| ResponseBody { inner, shared })))
    }
}

impl Drop for ResponseFuture {
    fn drop(&mut self) {
        if let Some(s) = self.shared.take() {
            s.request_abandoned();
        }
    }
}

/// The response body, reporting when hyper has taken all of it.
#[derive(Debug)]
pub struct ResponseBody {
    inner: axum::body::Body,
    /// Present until the body is finished.
    shared: Option<Arc<Shared>>,
}

impl ResponseBody {
    fn finish(&mut self) {
        if let Some(s) = self.shared.take() {
            s.response_finished();
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let r = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        if !matches!(r, Some(Ok(_))) || this.inner.is_end_stream() {
            this.finish();
        }
        Poll::Ready(r)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A hyper connection as [`drive`] needs it.
pub trait Connection:
    Future<Output = Result<(), Box<dyn std::error::Error + Send + Sync>>>
{
    /// Begin a graceful shutdown (finish open requests, then close).
    fn graceful_shutdown(self: Pin<&mut Self>);
}

/// How a connection ended.
#[derive(Debug)]
pub enum End {
    /// The client closed it, or it closed after a graceful shutdown.
    Closed(Result<(), Box<dyn std::error::Error + Send + Sync>>),
    /// A deadline passed: the connection was dropped (or, idle HTTP/2, sent GOAWAY
    /// and dropped at most a second later).
    TimedOut(Stage),
}

/// After an idle HTTP/2 connection is sent GOAWAY, how long it may take to close.
const GOAWAY_GRACE: Duration = Duration::from_secs(1);

/// Run `conn` until it ends, its deadline passes, or `stop` fires (then shut it down
/// gracefully: requests in flight finish, under the same deadlines).
pub async fn drive<C: Connection>(conn: C, shared: &Shared, stop: impl Future<Output = ()>) -> End {
    let mut conn = pin!(conn);
    let mut stop = pin!(stop);
    let mut stopping = false;
    let mut armed = shared.raw_deadline();
    let mut sleep = pin!(tokio::time::sleep_until(shared.instant(armed)));
    // Set once an idle HTTP/2 connection was sent GOAWAY: the hard end.
    let mut goaway: Option<Stage> = None;
    std::future::poll_fn(|cx| loop {
        if let Poll::Ready(r) = conn.as_mut().poll(cx) {
            return Poll::Ready(End::Closed(r));
        }
        if !stopping && stop.as_mut().poll(cx).is_ready() {
            stopping = true;
            conn.as_mut().graceful_shutdown();
            continue;
        }
        if goaway.is_none() {
            let now = shared.raw_deadline();
            if now != armed {
                armed = now;
                sleep.as_mut().reset(shared.instant(armed));
            }
        }
        ready!(sleep.as_mut().poll(cx));
        if let Some(stage) = goaway {
            return Poll::Ready(End::TimedOut(stage));
        }
        // Moved while the sleep ran, or no deadline at all: re-arm and look again.
        if shared.raw_deadline() != armed || armed == NONE {
            armed = shared.raw_deadline();
            sleep.as_mut().reset(shared.instant(armed));
            continue;
        }
        let (stage, h2) = shared.stage();
        if h2 && stage == Stage::Idle && !stopping {
            goaway = Some(stage);
            conn.as_mut().graceful_shutdown();
            sleep.as_mut().reset(Instant::now() + GOAWAY_GRACE);
            continue;
        }
        return Poll::Ready(End::TimedOut(stage));
    })
    .await
}
