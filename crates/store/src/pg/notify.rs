//! Changes between nodes: `LISTEN` / `NOTIFY` on the channel `portvakt_changes`.
//!
//! Every node caches what the token path reads (tenant views: applications, resources,
//! keys, policies) and counts withdrawing writes in its revocation epoch. A write on
//! one node must reach the others' caches (docs/design/postgres.md, invariant 2):
//!
//! - The writing node sends a notice in the write's own transaction (`pg_notify`,
//!   delivered by PostgreSQL only when it commits), or right after a single-statement
//!   write committed. Payload: `{node} t {tenant id}` (the tenant's directory changed)
//!   or `{node} r` (a write that can withdraw access tokens), or `{node} m
//!   {messages}`: lines the server layer handed to [`crate::Store::tell_peers`],
//!   batched by [`spawn_outbox`] (a few ms, at most [`MAX_PAYLOAD`] bytes a notice).
//! - Each node keeps one connection of its own that `LISTEN`s, and checks it with a
//!   `SELECT 1` every [`BEAT`]. A notice from another node is handed to the caches
//!   ([`crate::Change`]); a node's own notices are ignored (it invalidated already).
//! - While that connection is down, or its last answer is older than [`STALE_AFTER`],
//!   [`crate::Store::caches_current`] is false: the caches reread per request (slower,
//!   never stale). On reconnecting, notices may have been missed: the caches are
//!   dropped ([`crate::Change::Resync`]).

use crate::Change;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use tokio_postgres::{AsyncMessage, NoTls};

/// The channel.
pub(crate) const CHANNEL: &str = "portvakt_changes";

/// How often the listening connection is checked.
pub(crate) const BEAT: Duration = Duration::from_millis(250);

/// A listener whose last check is older than this is not trusted.
pub(crate) const STALE_AFTER: Duration = Duration::from_millis(750);

/// A check unanswered for this long means the connection is gone: connect again.
/// (Far beyond [`STALE_AFTER`]: a database that is only slow, under load, answers
/// late, and reconnecting would drop every cache for nothing; meanwhile the feed is
/// not current, so nothing stale is served.)
pub(crate) const DEAD_AFTER: Duration = Duration::from_secs(5);

/// PostgreSQL takes notices of up to 8,000 bytes; batches stay under this.
pub(crate) const MAX_PAYLOAD: usize = 7_000;

/// Messages waiting for the outbox beyond this are dropped (and logged).
const OUTBOX: usize = 4_096;

/// What one node knows of the others' changes.
pub(crate) struct Feed {
    /// This node's id in notices (random per process).
    pub(crate) node: String,
    /// The caches' subscription.
    tx: broadcast::Sender<Change>,
    /// Whether the listening connection is up.
    listening: AtomicBool,
    /// When it last answered, in ms since `base`.
    last_beat_ms: AtomicU64,
    base: Instant,
    /// Whether the last [`Feed::current`] found the listener current (to log each
    /// change once).
    was_current: AtomicBool,
}

impl Feed {
    pub(crate) fn new() -> Arc<Self> {
        let mut b = [0u8; 6];
        portvakt_jose::random_bytes(&mut b);
        Arc::new(Feed {
            node: b.iter().map(|x| format!("{x:02x}")).collect(),
            tx: broadcast::channel(1024).0,
            listening: AtomicBool::new(false),
            last_beat_ms: AtomicU64::new(0),
            base: Instant::now(),
            was_current: AtomicBool::new(false),
        })
    }

    /// Subscribe to other nodes' changes.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.tx.subscribe()
    }

    /// Whether this node hears the others now.
    pub(crate) fn current(&self) -> bool {
        let beat = Duration::from_millis(self.last_beat_ms.load(Ordering::Acquire));
        let listening = self.listening.load(Ordering::Acquire);
        let late = self.base.elapsed().saturating_sub(beat);
        let now = listening && late < STALE_AFTER;
        // Asked on every request that finds a view older than 250 ms: read first, and
        // write the shared flag only when it changes.
        if self.was_current.load(Ordering::Relaxed) != now
            && self.was_current.swap(now, Ordering::AcqRel) != now
            && listening
        {
            if now {
                tracing::info!("the PostgreSQL notice connection answers again: caches in use");
            } else {
                tracing::warn!(
                    late_ms = late.as_millis() as u64,
                    "the PostgreSQL notice connection has not answered in time: caches reread until it does"
                );
            }
        }
        now
    }

    /// A check sent at `sent` was answered: every notice committed before it was sent
    /// has arrived (PostgreSQL delivers them ahead of the next answer).
    fn beat(&self, sent: Instant) {
        let at = sent.saturating_duration_since(self.base).as_millis() as u64;
        self.last_beat_ms.fetch_max(at, Ordering::AcqRel);
    }

    /// The payload of a notice that `tenant_id`'s directory changed.
    pub(crate) fn tenant_notice(&self, tenant_id: &str) -> String {
        format!("{} t {tenant_id}", self.node)
    }

    /// The payload of a notice of a withdrawing write.
    pub(crate) fn revoked_notice(&self) -> String {
        format!("{} r", self.node)
    }

    /// A notice received: `Some` change unless it is this node's own or unreadable.
    fn parse(&self, payload: &str) -> Option<Change> {
        let mut parts = payload.splitn(3, ' ');
        let node = parts.next()?;
        if node == self.node {
            return None;
        }
        match (parts.next()?, parts.next()) {
            ("t", Some(tenant)) => Some(Change::Tenant(tenant.to_owned())),
            ("r", None) => Some(Change::Revoked),
            ("m", Some(lines)) => Some(Change::Peer(lines.lines().map(str::to_owned).collect())),
            _ => None,
        }
    }
}

/// The sending half of the outbox of [`crate::Store::tell_peers`].
pub(crate) type Outbox = tokio::sync::mpsc::Sender<String>;

/// Start the task that sends the messages of [`crate::Store::tell_peers`]: it waits
/// for a first message, gathers what else arrives within 5 ms (up to
/// [`MAX_PAYLOAD`] bytes), and sends one notice on a pooled connection. It ends when
/// the store is dropped.
pub(crate) fn spawn_outbox(pool: deadpool_postgres::Pool, feed: &Arc<Feed>) -> Outbox {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(OUTBOX);
    let node = feed.node.clone();
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut batch = format!("{node} m {first}");
            let deadline = tokio::time::Instant::now() + Duration::from_millis(5);
            while batch.len() < MAX_PAYLOAD {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(m)) if batch.len() + 1 + m.len() <= MAX_PAYLOAD => {
                        batch.push('\n');
                        batch.push_str(&m);
                    }
                    Ok(Some(m)) => {
                        send(&pool, &batch).await;
                        batch = format!("{node} m {m}");
                    }
                    Ok(None) | Err(_) => break,
                }
            }
            send(&pool, &batch).await;
        }
    });
    tx
}

async fn send(pool: &deadpool_postgres::Pool, payload: &str) {
    let result = async {
        let c = pool.get().await.map_err(|e| e.to_string())?;
        c.execute(super::NOTIFY, &[&payload])
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not tell the other nodes (brute-force counts stay on this node)");
    }
}

/// Listen until the store is dropped: connect, `LISTEN`, hand notices on, check the
/// connection every [`BEAT`]; on any failure mark the feed not current, wait (100 ms
/// doubling to 2 s) and connect again.
pub(crate) fn spawn(
    config: tokio_postgres::Config,
    feed: &Arc<Feed>,
    revocations: &Arc<AtomicU64>,
) {
    let feed = Arc::downgrade(feed);
    let revocations = Arc::downgrade(revocations);
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            match listen(&config, &feed, &revocations).await {
                Stop::Dropped => return,
                Stop::Lost { why, listened } => {
                    let Some(f) = feed.upgrade() else { return };
                    f.listening.store(false, Ordering::Release);
                    let _ = f.tx.send(Change::Resync);
                    if listened {
                        backoff = Duration::from_millis(100);
                        tracing::warn!(reason = %why, "lost the PostgreSQL notice connection: caches reread until it is back");
                    } else {
                        tracing::debug!(reason = %why, "the PostgreSQL notice connection is not up yet");
                    }
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    });
}

enum Stop {
    /// The store is gone.
    Dropped,
    /// The connection failed: why, and whether it had been listening.
    Lost { why: String, listened: bool },
}

async fn listen(
    config: &tokio_postgres::Config,
    feed: &Weak<Feed>,
    revocations: &Weak<AtomicU64>,
) -> Stop {
    let lost = |why: String, listened: bool| Stop::Lost { why, listened };
    let (client, mut connection) = match config.connect(NoTls).await {
        Ok(c) => c,
        Err(e) => return lost(e.to_string(), false),
    };
    // The connection is driven here; its notices go to this loop.
    let (notices_tx, mut notices) = tokio::sync::mpsc::unbounded_channel::<String>();
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    if notices_tx.send(n.payload().to_owned()).is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            }
        }
    });
    let stop = async {
        if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
            return lost(e.to_string(), false);
        }
        {
            let Some(f) = feed.upgrade() else {
                return Stop::Dropped;
            };
            f.beat(Instant::now());
            f.listening.store(true, Ordering::Release);
            // Whatever changed while this node was not listening is unknown.
            let _ = f.tx.send(Change::Resync);
        }
        let mut beat = tokio::time::interval(BEAT);
        loop {
            tokio::select! {
                n = notices.recv() => {
                    let Some(payload) = n else {
                        return lost("the notice connection closed".into(), true);
                    };
                    let (Some(f), Some(r)) = (feed.upgrade(), revocations.upgrade()) else {
                        return Stop::Dropped;
                    };
                    match f.parse(&payload) {
                        Some(Change::Revoked) => {
                            r.fetch_add(1, Ordering::Release);
                            let _ = f.tx.send(Change::Revoked);
                        }
                        Some(change) => {
                            let _ = f.tx.send(change);
                        }
                        None => {}
                    }
                }
                _ = beat.tick() => {
                    if feed.strong_count() == 0 {
                        return Stop::Dropped;
                    }
                    let sent = Instant::now();
                    match tokio::time::timeout(DEAD_AFTER, client.simple_query("SELECT 1")).await {
                        Ok(Ok(_)) => {
                            if let Some(f) = feed.upgrade() {
                                f.beat(sent);
                            }
                        }
                        Ok(Err(e)) => return lost(e.to_string(), true),
                        Err(_) => {
                            return lost(format!("no answer to SELECT 1 within {DEAD_AFTER:?}"), true)
                        }
                    }
                }
            }
        }
    }
    .await;
    driver.abort();
    stop
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_of_other_nodes_are_changes_and_own_ones_are_not() {
        let a = Feed::new();
        let b = Feed::new();
        assert_eq!(
            b.parse(&a.tenant_notice("t-1")),
            Some(Change::Tenant("t-1".into()))
        );
        assert_eq!(b.parse(&a.revoked_notice()), Some(Change::Revoked));
        assert_eq!(a.parse(&a.tenant_notice("t-1")), None);
        assert_eq!(
            b.parse(&format!("{} m one\ntwo", a.node)),
            Some(Change::Peer(vec!["one".into(), "two".into()]))
        );
        assert_eq!(b.parse("garbage"), None);
        assert_eq!(b.parse("x q y"), None);
        assert!(!a.current(), "not listening yet");
    }
}
