//! Storage of the sign-in log. Part of [`crate::Store`]. The records arrive in
//! batches from the sign-in log writer; queries read them newest first.

use crate::Result;
use async_trait::async_trait;
use portvakt_core::signin::StoredSignIn;

/// Which sign-ins to read, newest first. Every field narrows (they combine with
/// `and`).
#[derive(Debug, Clone, Default)]
pub struct SignInQuery {
    /// Tenant id.
    pub tenant_id: String,
    /// `createdDateTime` at or after (ms).
    pub since_ms: Option<i64>,
    /// `createdDateTime` before (ms).
    pub until_ms: Option<i64>,
    /// The user principal name (case-insensitive, as typed for unknown users).
    pub user: Option<String>,
    /// The user's id.
    pub user_id: Option<String>,
    /// The client id.
    pub app_id: Option<String>,
    /// 0 success, 1 failure, 2 interrupted.
    pub status: Option<u8>,
    /// `status.errorCode`.
    pub error_code: Option<i64>,
    /// Correlation id.
    pub correlation_id: Option<String>,
    /// Client address.
    pub ip: Option<String>,
    /// 0 notApplied, 1 success, 2 failure.
    pub ca_status: Option<u8>,
    /// Interactive or not.
    pub interactive: Option<bool>,
    /// The record's id (Graph `id`).
    pub id: Option<String>,
    /// The record at this cursor position.
    pub seq: Option<i64>,
    /// A Graph `$filter` over the log (each engine translates it).
    pub filter: Option<portvakt_core::filter::SignInFilter>,
    /// Only rows older than this cursor ([`SignInPage::next`]).
    pub before_seq: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

/// One stored sign-in as read back.
#[derive(Debug, Clone)]
pub struct SignInRow {
    /// The cursor position.
    pub seq: i64,
    /// The compact record.
    pub record: String,
    /// The policy set it names, if any.
    pub policy_set: Option<String>,
    /// The facts (groups as a set reference).
    pub facts: Option<String>,
    /// The group ids of the facts' set.
    pub group_ids: Option<String>,
    /// `createdDateTime` (ms).
    pub created_ms: i64,
    /// The user key.
    pub user_key: Option<String>,
    /// The client id.
    pub app_id: Option<String>,
    /// Status code.
    pub status: u8,
    /// Error code.
    pub error_code: i64,
    /// Graph `id`.
    pub id: String,
    /// Correlation id.
    pub correlation_id: String,
    /// Client address.
    pub ip: Option<String>,
    /// The user's id.
    pub user_id: Option<String>,
    /// Interactive.
    pub interactive: bool,
}

impl SignInRow {
    /// Graph's `signIn` of this row: the record with what the columns hold and its
    /// policy set put back ([`portvakt_core::signin::expand`]).
    pub fn expand(&self) -> serde_json::Value {
        portvakt_core::signin::expand(
            &self.record,
            self.policy_set.as_deref(),
            &portvakt_core::signin::RecordColumns {
                id: &self.id,
                correlation_id: &self.correlation_id,
                created_ms: self.created_ms,
                app_id: self.app_id.as_deref(),
                ip: self.ip.as_deref(),
                user_id: self.user_id.as_deref(),
                interactive: self.interactive,
                status: self.status,
                error_code: self.error_code,
            },
        )
    }
}

/// A page of sign-ins and the cursor of the next page, if there is one.
#[derive(Debug, Clone, Default)]
pub struct SignInPage {
    /// The rows, newest first.
    pub rows: Vec<SignInRow>,
    /// Pass as [`SignInQuery::before_seq`] to read on.
    pub next: Option<i64>,
}

/// One sign-in's facts for replay: no record, no policy set.
#[derive(Debug, Clone)]
pub struct FactsRow {
    /// The cursor position (and the record's key for an example).
    pub seq: i64,
    /// `createdDateTime` (ms).
    pub created_ms: i64,
    /// The user key (lowered user principal name).
    pub user_key: Option<String>,
    /// The client id.
    pub app_id: Option<String>,
    /// The facts JSON (groups as a set reference), if stored.
    pub facts: Option<String>,
    /// The hash of the user's group set, if any.
    pub group_set: Option<String>,
}

/// What the overview charts count over a window of the log.
#[derive(Debug, Clone, Default)]
pub struct StatsQuery {
    /// Tenant id.
    pub tenant_id: String,
    /// The window's start (ms; counted from the five-minute bucket that holds it).
    pub since_ms: i64,
    /// The width of a bucket (ms; a multiple of five minutes).
    pub bucket_ms: i64,
}

/// Counts over a window of the log.
#[derive(Debug, Clone, Default)]
pub struct SignInStats {
    /// Records counted.
    pub records: u64,
    /// (bucket start ms, status, count).
    pub by_status: Vec<(i64, u8, u64)>,
    /// (error code, count), most frequent first.
    pub errors: Vec<(i64, u64)>,
    /// (policy set hash, position in the set, result, bucket start ms, count).
    pub policies: Vec<(String, i64, String, i64, u64)>,
    /// The policy sets named in `policies`: hash → the set's JSON.
    pub policy_sets: Vec<(String, String)>,
}

/// The sign-in log.
#[async_trait]
pub trait SignInLog: Send + Sync {
    /// Store a batch in one transaction (the writer calls this; every record of the
    /// batch is stored, or none).
    async fn append_signins(&self, batch: &[StoredSignIn]) -> Result<()>;
    /// Read sign-ins. `with_facts` also reads the facts and their group sets (replay).
    async fn signins(&self, q: &SignInQuery, with_facts: bool) -> Result<SignInPage>;
    /// The facts of the tenant's sign-ins since `since_ms`, newest first, older than
    /// `before_seq` if given, at most `limit` (replay reads these, nothing else).
    async fn signin_facts(
        &self,
        tenant_id: &str,
        since_ms: i64,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<FactsRow>>;
    /// The group ids (JSON) of these group sets, by hash.
    async fn group_sets(&self, hashes: &[String]) -> Result<Vec<(String, String)>>;
    /// The tenant id of the newest sign-in with this correlation id, if any (where a
    /// correlation id on an error page leads).
    async fn signin_tenant(&self, correlation_id: &str) -> Result<Option<String>>;
    /// Counts for the overview charts.
    async fn signin_stats(&self, q: &StatsQuery) -> Result<SignInStats>;
    /// How many sign-ins the tenant's log holds (all time).
    async fn count_signins(&self, tenant_id: &str) -> Result<u64>;
    /// Delete at most `batch` records older than `before_ms` (an engine that keeps
    /// records in blocks deletes whole blocks whose newest record is older: fewer than
    /// `batch` while more are due, or one block of more than `batch`); returns how
    /// many, 0 once none is due.
    async fn purge_signins(&self, before_ms: i64, batch: u32) -> Result<u64>;
    /// Where the engine keeps the log in day partitions (PostgreSQL), drop the days
    /// that end at or before `before_ms`, whole, with their counts and the sets no
    /// record left names; returns the records dropped. Retention calls this before
    /// [`SignInLog::purge_signins`], which then deletes the rest of the cutoff's day
    /// in batches. Engines without partitions drop nothing.
    async fn drop_signin_days(&self, before_ms: i64) -> Result<u64> {
        let _ = before_ms;
        Ok(0)
    }
}
