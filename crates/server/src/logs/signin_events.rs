//! The path of sign-in outcomes: handler → bounded channel → writer thread → the
//! sign-in log (the store's `SignInLog`).
//!
//! Nothing on a sign-in's path waits on the log: [`SignInSink::record`] never blocks.
//! The writer runs on a thread of its own, turns events into stored records (the JSON
//! work happens there, not in the request) and writes them in batches: a batch is
//! committed as soon as [`BATCH_MAX`] events are waiting or [`BATCH_WAIT`] has passed
//! since its first event. So a crash (`kill -9`) loses at most the events accepted in
//! the last [`BATCH_WAIT`] plus the batch being committed — at most
//! [`CAPACITY`] + [`BATCH_MAX`] in any case; a graceful shutdown
//! ([`SignInSink::shutdown`]) writes everything first.
//!
//! When the writer falls behind and the channel is full, an event is not queued: it is
//! counted ([`SignInSink::dropped`]), and the writer logs how many were dropped at its
//! next batch (a `warn`). A sign-in is never slowed or refused for the log's sake.
//! A batch the store refuses (disk full) is retried with back-off, keeping at most
//! [`CAPACITY`] events; beyond that events are counted as dropped, and logged.

use portvakt_core::signin::{to_stored_with, SetNames, SignInEvent};
use portvakt_store::Store;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Capacity of the channel.
pub const CAPACITY: usize = 64 * 1024;
/// Most events per committed batch.
pub const BATCH_MAX: usize = 512;
/// Longest an event waits for its batch.
pub const BATCH_WAIT: Duration = Duration::from_millis(50);

enum Msg {
    Event(Box<SignInEvent>),
    /// Write everything before this, then answer.
    Flush(oneshot::Sender<()>),
}

/// The sending side, cloned into every handler.
#[derive(Clone, Debug)]
pub struct SignInSink {
    /// `None`: the log is switched off (`--signin-log off`).
    tx: Option<mpsc::Sender<Msg>>,
    counters: Arc<Counters>,
}

/// What the writer has done.
#[derive(Debug, Default)]
pub struct Counters {
    /// Events not queued because the channel was full (or the writer stopped).
    pub dropped: AtomicU64,
    /// Events written.
    pub written: AtomicU64,
    /// Batches written.
    pub batches: AtomicU64,
    /// Batches the store refused (then retried).
    pub failed_batches: AtomicU64,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Event(_) => f.write_str("Event"),
            Msg::Flush(_) => f.write_str("Flush"),
        }
    }
}

impl SignInSink {
    /// Start the writer thread (it writes to `store`) and return the sink. Must be
    /// called inside a Tokio runtime: the writer drives the store's futures on it.
    pub fn spawn(store: Arc<dyn Store>) -> Self {
        let (tx, rx) = mpsc::channel::<Msg>(CAPACITY);
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        let handle = tokio::runtime::Handle::current();
        let spawned = std::thread::Builder::new()
            .name("portvakt-signin-log".into())
            .spawn(move || {
                // A runtime of its own, one worker: what the store's futures wait on
                // (PostgreSQL's connections of the log, made on their first use) is
                // driven there, not queued behind the requests on the server's
                // runtime, which a busy node keeps full (session 13: the writer kept
                // up with ~11,000 records/s on the server's runtime).
                let own = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("portvakt-signin-io")
                    .enable_all()
                    .build();
                match own {
                    Ok(rt) => writer(rx, store, c, rt.handle().clone()),
                    Err(e) => {
                        tracing::warn!(error = %e, "the sign-in log writer runs on the server's runtime");
                        writer(rx, store, c, handle)
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the sign-in log writer; sign-ins are not logged");
        }
        Self {
            tx: Some(tx),
            counters,
        }
    }

    /// A sink that writes nowhere (counts every event as dropped): for tests that
    /// build state without a runtime thread.
    pub fn disconnected() -> Self {
        let (tx, _) = mpsc::channel(1);
        Self {
            tx: Some(tx),
            counters: Arc::default(),
        }
    }

    /// The sign-in log switched off (`--signin-log off`): events are discarded
    /// without being counted as dropped.
    pub fn off() -> Self {
        Self {
            tx: None,
            counters: Arc::default(),
        }
    }

    /// Whether sign-ins are logged at all.
    pub fn is_on(&self) -> bool {
        self.tx.is_some()
    }

    /// Hand an event to the writer without waiting.
    pub fn record(&self, ev: SignInEvent) {
        crate::metrics::metrics().signin(&ev);
        let Some(tx) = &self.tx else { return };
        if tx.try_send(Msg::Event(Box::new(ev))).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Whether the writer thread still takes events (always true when the log is off).
    pub fn writer_alive(&self) -> bool {
        self.tx.as_ref().is_none_or(|t| !t.is_closed())
    }

    /// Events waiting for the writer.
    pub fn queued(&self) -> usize {
        self.tx
            .as_ref()
            .map_or(0, |t| t.max_capacity() - t.capacity())
    }

    /// Events dropped because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    /// The writer's counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Wait until every event recorded before this call is written (the shutdown
    /// path, and tests).
    pub async fn flush(&self) {
        let Some(sender) = &self.tx else { return };
        let (tx, rx) = oneshot::channel();
        if sender.send(Msg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// [`Self::flush`], for the end of the process.
    pub async fn shutdown(&self) {
        self.flush().await;
    }
}

fn writer(
    mut rx: mpsc::Receiver<Msg>,
    store: Arc<dyn Store>,
    c: Arc<Counters>,
    rt: tokio::runtime::Handle,
) {
    let mut batch: Vec<SignInEvent> = Vec::with_capacity(BATCH_MAX);
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    let mut reported_drops = 0u64;
    let mut backoff = Duration::from_millis(100);
    let mut set_names = SetNames::default();
    loop {
        // The first message of a batch: wait for it as long as it takes.
        let first = match rx.blocking_recv() {
            Some(m) => m,
            None => break,
        };
        let started = Instant::now();
        let take = |m: Msg, batch: &mut Vec<SignInEvent>, waiting: &mut Vec<_>| match m {
            Msg::Event(e) => batch.push(*e),
            Msg::Flush(ack) => waiting.push(ack),
        };
        take(first, &mut batch, &mut waiting);
        // Then whatever arrives until the batch is full or old enough (a flush ends
        // the batch at once).
        while batch.len() < BATCH_MAX && waiting.is_empty() {
            match rx.try_recv() {
                Ok(m) => take(m, &mut batch, &mut waiting),
                Err(mpsc::error::TryRecvError::Empty) => {
                    let left = BATCH_WAIT.saturating_sub(started.elapsed());
                    if left.is_zero() {
                        break;
                    }
                    std::thread::sleep(left.min(Duration::from_millis(5)));
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            }
        }
        // Write; on failure keep the events and retry (bounded).
        loop {
            if batch.is_empty() {
                break;
            }
            let stored: Vec<_> = batch
                .iter()
                .map(|e| {
                    to_stored_with(
                        e,
                        portvakt_core::signin::record_id(e.created_at_ms),
                        &mut set_names,
                    )
                })
                .collect();
            match rt.block_on(store.append_signins(&stored)) {
                Ok(()) => {
                    c.written.fetch_add(stored.len() as u64, Ordering::Relaxed);
                    c.batches.fetch_add(1, Ordering::Relaxed);
                    batch.clear();
                    backoff = Duration::from_millis(100);
                    break;
                }
                Err(e) => {
                    c.failed_batches.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(error = %e, events = batch.len(), "the sign-in log cannot be written; retrying");
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    // Keep taking events meanwhile, up to the capacity.
                    while let Ok(m) = rx.try_recv() {
                        match m {
                            Msg::Event(e) if batch.len() < CAPACITY => batch.push(*e),
                            Msg::Event(_) => {
                                c.dropped.fetch_add(1, Ordering::Relaxed);
                            }
                            Msg::Flush(ack) => waiting.push(ack),
                        }
                    }
                }
            }
        }
        let dropped = c.dropped.load(Ordering::Relaxed);
        if dropped > reported_drops {
            tracing::warn!(
                dropped = dropped - reported_drops,
                total = dropped,
                "sign-in records were dropped because the sign-in log writer fell behind (see docs/design/sign-in-logs.md)"
            );
            reported_drops = dropped;
        }
        for ack in waiting.drain(..) {
            let _ = ack.send(());
        }
    }
}
