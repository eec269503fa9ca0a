//! Storage of the audit log (admin changes). Part of [`crate::Store`].

use crate::Result;
use async_trait::async_trait;
use portvakt_core::audit::DirectoryAudit;

/// Which audit records to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// The tenant's name (records of `system` are instance-wide).
    pub tenant: String,
    /// Only records at or after this instant (ms).
    pub since_ms: Option<i64>,
    /// Only records before this instant (ms).
    pub until_ms: Option<i64>,
    /// Only records with this correlation id.
    pub correlation_id: Option<String>,
    /// Only records older than this cursor (the store's own, from a previous page).
    pub before: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

/// A page of audit records and the cursor of the next page, if there is one.
#[derive(Debug, Clone, Default)]
pub struct AuditPage {
    /// The records, newest first.
    pub records: Vec<DirectoryAudit>,
    /// Pass as [`AuditQuery::before`] to read on.
    pub next: Option<i64>,
}

/// The audit log.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Store one record (its `activityDateTime` also as `at_ms`).
    async fn append_audit(&self, record: &DirectoryAudit, at_ms: i64) -> Result<()>;
    /// Read records, newest first.
    async fn audits(&self, q: &AuditQuery) -> Result<AuditPage>;
    /// Delete at most `batch` records older than `before_ms`; returns how many.
    async fn purge_audits(&self, before_ms: i64, batch: u32) -> Result<u64>;
}
