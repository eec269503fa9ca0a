//! The path of sign-in outcomes: handler → bounded channel → writer task.
//!
//! Nothing on the token path waits on it: when the channel is full the event is
//! counted as dropped rather than blocking the response. The writer logs each event
//! today; the sign-in log issue makes it batch them into the store.

use portvakt_core::signin::SignInEvent;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Capacity of the channel.
const CAPACITY: usize = 16 * 1024;

/// The sending side, cloned into every handler.
#[derive(Clone, Debug)]
pub struct SignInSink {
    tx: mpsc::Sender<SignInEvent>,
    dropped: Arc<AtomicU64>,
}

impl SignInSink {
    /// Start the writer task and return the sink.
    pub fn spawn() -> Self {
        let (tx, mut rx) = mpsc::channel::<SignInEvent>(CAPACITY);
        tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                match &ev.error_code {
                    None => {
                        tracing::debug!(target: "portvakt::signin", tenant = %ev.tenant, client_id = ?ev.client_id, grant_type = ?ev.grant_type, resource = ?ev.resource, token_id = ?ev.token_id, correlation_id = %ev.correlation_id, "sign-in succeeded")
                    }
                    Some(code) => {
                        tracing::info!(target: "portvakt::signin", tenant = %ev.tenant, client_id = ?ev.client_id, grant_type = ?ev.grant_type, error_code = code.code(), reason = ?ev.failure_reason, ip = ?ev.ip_address, correlation_id = %ev.correlation_id, "sign-in failed")
                    }
                }
            }
        });
        Self {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Hand an event to the writer without waiting.
    pub fn record(&self, ev: SignInEvent) {
        if self.tx.try_send(ev).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Events dropped because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
