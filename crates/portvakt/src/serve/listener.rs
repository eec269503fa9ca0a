//! Portvakt's accept loop: HTTP/1 and HTTP/2 (hyper-util's auto builder) with read
//! deadlines per connection, a connection cap, a per-address cap, and graceful
//! shutdown. It replaces `axum::serve`, which has none of these (a client that sent
//! half a header and then nothing held its socket forever). docs/limits.md has the
//! figures and the reasons for them.

mod deadline;

use axum::Router;
use deadline::{ConnService, End, Shared, Stage, Timeouts, WatchedIo};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr};
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;

/// Default header timeout, seconds.
pub const DEFAULT_HEADER_TIMEOUT: u64 = 10;
/// Default body timeout, seconds.
pub const DEFAULT_BODY_TIMEOUT: u64 = 30;
/// Default keep-alive idle timeout, seconds.
pub const DEFAULT_IDLE_TIMEOUT: u64 = 75;
/// Default connection cap.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Default cap per client address (IPv6: per /64); 0 would mean none.
pub const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: usize = 1_000;

/// HTTP/2: ping an open connection this often…
const H2_PING_INTERVAL: Duration = Duration::from_secs(20);
/// …and close it if the ping is not answered within this.
const H2_PING_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/2: streams a client may have open at once on one connection.
const H2_MAX_STREAMS: u32 = 100;
/// File descriptors kept back from the connection cap: the database and its WAL
/// files per reader, the listener, the runtime's own, stdio.
const FD_RESERVE: u64 = 256;
/// At most one warning per kind per this.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// The connection limits of `serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Complete request headers are due this long after accept, or after the first
    /// byte that follows an idle spell.
    pub header_timeout: Duration,
    /// A request body must arrive within this of its headers, and a response must be
    /// taken by the client within this of being ready.
    pub body_timeout: Duration,
    /// A keep-alive connection with no request open is closed after this.
    pub idle_timeout: Duration,
    /// Connections open at once; when reached, new ones wait in the listen backlog.
    pub max_connections: usize,
    /// Connections open at once from one address (IPv6: one /64); 0 = no such cap.
    /// A connection over it is closed at once.
    pub max_connections_per_address: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(DEFAULT_HEADER_TIMEOUT),
            body_timeout: Duration::from_secs(DEFAULT_BODY_TIMEOUT),
            idle_timeout: Duration::from_secs(DEFAULT_IDLE_TIMEOUT),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_address: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
        }
    }
}

impl Limits {
    fn timeouts(&self) -> Timeouts {
        Timeouts {
            header: self.header_timeout,
            body: self.body_timeout,
            idle: self.idle_timeout,
        }
    }
}

/// Raise the soft open-file limit to the hard one and return the connection cap that
/// fits under it (`wanted`, or less with a warning saying what to raise).
pub fn fit_to_fd_limit(wanted: usize) -> usize {
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
        let before = getrlimit(Resource::Nofile);
        if let Some(soft) = before.current {
            if before.maximum.is_none_or(|hard| hard > soft) {
                let raised = Rlimit {
                    current: before.maximum,
                    maximum: before.maximum,
                };
                if let Err(e) = setrlimit(Resource::Nofile, raised) {
                    tracing::debug!("cannot raise the open-file limit to the hard limit: {e}");
                }
            }
        }
        let Some(soft) = getrlimit(Resource::Nofile).current else {
            return wanted;
        };
        let room = usize::try_from(soft.saturating_sub(FD_RESERVE).max(1)).unwrap_or(wanted);
        if wanted > room {
            tracing::warn!(
                "the open-file limit is {soft}: serving at most {room} connections instead of \
                 {wanted}; raise the hard limit (ulimit -Hn, LimitNOFILE= in a systemd unit) \
                 or lower --max-connections"
            );
            return room;
        }
        wanted
    }
    #[cfg(not(unix))]
    wanted
}

/// Serve `app` on `listener` until `shutdown` resolves; then stop accepting, let
/// requests in flight finish (each still under its deadlines) and return.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    max_connections: usize,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    let per_address = Arc::new(PerAddress::new(limits.max_connections_per_address));
    let builder = Arc::new(builder());
    let (stop_tx, stop_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    let mut full_warned: Option<Instant> = None;
    let mut addr_warned: Option<Instant> = None;
    let mut accept_warned: Option<Instant> = None;
    loop {
        if slots.available_permits() == 0 && due(&mut full_warned) {
            tracing::warn!(
                "{max_connections} connections open (--max-connections): new ones wait in the \
                 listen backlog until one closes"
            );
        }
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p,
            () = &mut shutdown => break,
        };
        let Ok(permit) = permit else { break };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(conn) => conn,
                Err(e) => {
                    if !is_per_connection(&e) {
                        if due(&mut accept_warned) {
                            tracing::warn!(
                                "cannot accept a connection: {e}; retrying (if it says too \
                                 many open files: raise the open-file limit or lower \
                                 --max-connections)"
                            );
                        }
                        tokio::select! {
                            () = tokio::time::sleep(Duration::from_millis(100)) => {},
                            () = &mut shutdown => break,
                        }
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(address_slot) = per_address.admit(peer.ip()) else {
            if due(&mut addr_warned) {
                tracing::warn!(
                    "closed a connection from {}: it already has {} open \
                     (--max-connections-per-address; behind a proxy, set it to 0)",
                    peer.ip(),
                    limits.max_connections_per_address
                );
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = Shared::new(limits.timeouts());
        let watched = WatchedIo::new(stream, shared.clone());
        let service = ConnService::new(app.clone(), peer, shared.clone());
        let builder = builder.clone();
        let mut stop = stop_rx.clone();
        let tls = tls.clone();
        let handshake_timeout = limits.header_timeout;
        tokio::spawn(async move {
            // The handshake is part of the first request's header time: a client that
            // opens a connection and sends nothing is cut at the header timeout.
            let io = match tls {
                None => ConnIo::Plain(watched),
                Some(acceptor) => {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(watched)).await {
                        Ok(Ok(s)) => ConnIo::Tls(Box::new(s)),
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, "TLS handshake failed: {e}");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake not done within the header timeout");
                            return;
                        }
                    }
                }
            };
            let io = TokioIo::new(io);
            let conn = Box::pin(builder.serve_connection(io, service));
            // Borrowed, not moved: the receiver must live as long as the connection,
            // since shutdown waits for every receiver to be dropped.
            let end = deadline::drive(conn, &shared, async {
                let _ = stop.changed().await;
            })
            .await;
            match end {
                End::Closed(Ok(())) => {}
                End::Closed(Err(e)) => tracing::debug!(%peer, "connection ended: {e}"),
                End::TimedOut(stage) => tracing::debug!(
                    %peer,
                    "connection closed: {} timeout passed",
                    match stage {
                        Stage::Header => "header",
                        Stage::Idle => "idle",
                        Stage::Body | Stage::Handler => "body",
                    }
                ),
            }
            drop(stop);
            drop(address_slot);
            drop(permit);
        });
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(());
    stop_tx.closed().await;
}

/// The most an HTTP/1 request's head (request line and headers) may take: past it,
/// hyper answers 431 and closes. hyper's default is ~400 KiB, which times the
/// connection cap is gigabytes an attacker could make us hold; the largest real head
/// here (a browser's cookies, or a bearer token of a few KiB) is far below 64 KiB.
/// HTTP/2 has its own 16 KiB header-list cap (docs/limits.md).
pub const H1_MAX_HEADER_BYTES: usize = 64 * 1024;

/// One builder for every connection: HTTP/1 with keep-alive, HTTP/2 (prior
/// knowledge) with pings and a stream cap. Deadlines are [`deadline`]'s, so hyper's
/// HTTP/1 header timer stays off (it would also cut idle keep-alive connections at
/// the header timeout, and it allocates a timer per request).
fn builder() -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .keep_alive(true)
        .header_read_timeout(None)
        .max_buf_size(H1_MAX_HEADER_BYTES);
    b.http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(H2_PING_INTERVAL)
        .keep_alive_timeout(H2_PING_TIMEOUT)
        .max_concurrent_streams(H2_MAX_STREAMS);
    b
}

type AutoConn<'a> = auto::Connection<'a, TokioIo<ConnIo>, ConnService, TokioExecutor>;

/// A connection's byte stream: the watched socket, or TLS over it.
enum ConnIo {
    Plain(WatchedIo),
    Tls(Box<tokio_rustls::server::TlsStream<WatchedIo>>),
}

impl tokio::io::AsyncRead for ConnIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            ConnIo::Plain(io) => Pin::new(io).poll_read(cx, buf),
            ConnIo::Tls(io) => Pin::new(io.as_mut()).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for ConnIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            ConnIo::Plain(io) => Pin::new(io).poll_write(cx, buf),
            ConnIo::Tls(io) => Pin::new(io.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            ConnIo::Plain(io) => Pin::new(io).poll_write_vectored(cx, bufs),
            ConnIo::Tls(io) => Pin::new(io.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ConnIo::Plain(io) => io.is_write_vectored(),
            ConnIo::Tls(io) => io.is_write_vectored(),
        }
    }

    fn poll_flush(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            ConnIo::Plain(io) => Pin::new(io).poll_flush(cx),
            ConnIo::Tls(io) => Pin::new(io.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            ConnIo::Plain(io) => Pin::new(io).poll_shutdown(cx),
            ConnIo::Tls(io) => Pin::new(io.as_mut()).poll_shutdown(cx),
        }
    }
}

/// hyper-util's connection, as [`deadline::drive`] takes it (boxed once per
/// connection so that it can be pinned without a projection).
impl deadline::Connection for Pin<Box<AutoConn<'_>>> {
    fn graceful_shutdown(self: Pin<&mut Self>) {
        self.get_mut().as_mut().graceful_shutdown();
    }
}

/// Errors of one pending connection (the next accept may succeed at once).
fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted
    )
}

/// True (and remember now) if no warning of this kind was logged within WARN_EVERY.
fn due(last: &mut Option<Instant>) -> bool {
    let now = Instant::now();
    if last.is_some_and(|t| now.duration_since(t) < WARN_EVERY) {
        return false;
    }
    *last = Some(now);
    true
}

/// Open connections per client address.
#[derive(Debug)]
struct PerAddress {
    limit: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl PerAddress {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Count a connection from `ip`, or None if its address is at the cap.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<AddressSlot> {
        if self.limit == 0 {
            return Some(AddressSlot(None));
        }
        let key = address_key(ip);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(key).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(AddressSlot(Some((self.clone(), key))))
    }
}

/// One counted connection; uncounted when dropped.
struct AddressSlot(Option<(Arc<PerAddress>, IpAddr)>);

impl Drop for AddressSlot {
    fn drop(&mut self) {
        if let Some((table, key)) = self.0.take() {
            let mut open = table.open.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(n) = open.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&key);
                }
            }
        }
    }
}

/// The address a cap applies to: IPv4 as is (also when IPv4-mapped), IPv6 by its /64
/// (one subscriber's network: a single host can use all of it).
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_share_a_cap_per_64_and_mapped_ipv4_is_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(
            address_key(mapped),
            "192.0.2.7".parse::<IpAddr>().expect("ip")
        );
    }

    #[test]
    fn the_per_address_cap_counts_open_connections() {
        let table = Arc::new(PerAddress::new(2));
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        let one = table.admit(ip).expect("first");
        let _two = table.admit(ip).expect("second");
        assert!(table.admit(ip).is_none(), "third is over the cap");
        assert!(table.admit("192.0.2.2".parse().expect("ip")).is_some());
        drop(one);
        assert!(table.admit(ip).is_some(), "a slot freed");
        assert!(
            Arc::new(PerAddress::new(0)).admit(ip).is_some(),
            "0 = no cap"
        );
    }
}
