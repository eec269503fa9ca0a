//! Background upkeep: expired rows are purged in small batches, so that what an
//! unauthenticated request may store (a pending sign-in, a device authorization) is
//! gone once it expires, and the purge itself never holds the writer for long.

use crate::state::AppState;
use std::time::Duration;

/// Rows per table and statement.
pub const PURGE_BATCH: u32 = 500;

/// Purge everything that has expired, batch by batch, yielding between batches so
/// requests interleave. Returns the rows deleted.
pub async fn purge_once(st: &AppState) -> portvakt_store::Result<u64> {
    let keep = portvakt_core::import::MAX_LIFETIME as i64;
    // The sign-in log's retention (its own database: never in the main writer's way):
    // whole days where the engine keeps days apart, then the rest in batches.
    let cutoff = st.clock.now_ms() - i64::from(st.config.signin_retention_days) * 86_400_000;
    let mut total = st.store.drop_signin_days(cutoff).await?;
    loop {
        // Until a batch finds nothing: an engine that keeps records in blocks takes
        // whole blocks, so a batch may hold fewer than asked with more still due.
        let n = st.store.purge_signins(cutoff, PURGE_BATCH).await?;
        total += n;
        if n == 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    loop {
        let now = st.clock.now();
        let audit_before = st.clock.now_ms() - crate::audit::RETENTION_DAYS * 86_400_000;
        let n = st.store.purge_expired(now, keep, PURGE_BATCH).await?
            + st.store.purge_audits(audit_before, PURGE_BATCH).await?;
        total += n;
        if n < u64::from(PURGE_BATCH) {
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}

/// Run [`purge_once`] every `every` (the first run after one interval).
pub fn spawn(st: AppState, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            match purge_once(&st).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(rows = n, "purged expired rows"),
                Err(e) => tracing::warn!(error = %e, "purging expired rows failed; will retry"),
            }
        }
    });
}
