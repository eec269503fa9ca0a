//! [`SignInLog`] on PostgreSQL: statement for statement the SQLite engine's
//! (`crate::sqlite_signin_log`), so both answer alike, in the tables `signins`,
//! `signin_facts`, `group_sets`, `policy_sets`, `signin_counts` and `policy_counts` of
//! the one database.
//!
//! A batch is one transaction of a few round trips, whatever its size: BEGIN; the
//! batch's `seq` values, reserved from the identity's sequence (so that the facts
//! rows carry them too); the records and their facts, each table's in one binary
//! COPY; the sets and counts, each table's in one statement over arrays (`unnest`),
//! the statements pipelined on the connection; COMMIT. Records and facts are packed
//! with their tenant's dictionary (`crate::record_pack`). Rows that
//! several nodes may write at once (sets, counts) are written in the order of their
//! keys, so that two batches lock them in the same order and cannot deadlock.
//!
//! This engine keeps every record's facts in `signin_facts` (`signins.facts` is
//! never written; `log_meta.facts_inline_until` is 0), so SQLite's reads of facts
//! kept in the record's row have no counterpart here.

use crate::pg::filter::{bind, bind_boxed, pg_text, Param};
use crate::pg::PgStore;
use crate::record_pack::{self, Reader};
use crate::signin_log::{
    FactsRow, SignInLog, SignInPage, SignInQuery, SignInRow, SignInStats, StatsQuery,
};
use crate::sqlite_signin_log::COUNT_BUCKET_MS;
use crate::{Result, StoreError};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use portvakt_core::signin::StoredSignIn;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// Milliseconds in a day (the user index's day buckets).
const DAY_MS: i64 = 86_400_000;
/// The most days a user query names (far beyond any retention).
const MAX_DAYS: usize = 4000;

/// A dictionary made for a batch (`crate::record_pack`); its `last_seq` is set after
/// the batch's records.
const INSERT_DICT: &str = "INSERT INTO record_dicts (tenant_id, created_ms, dict, last_seq)
     VALUES ($1, $2, $3, 0) RETURNING id";
/// The newest record packed with each dictionary; returns the ids it found.
const DICTS_USED: &str = "UPDATE record_dicts AS d SET last_seq = GREATEST(d.last_seq, v.seq)
       FROM unnest($1::bigint[], $2::bigint[]) AS v(id, seq) WHERE d.id = v.id RETURNING d.id";
/// A dictionary a purge took while this node still packed with it, stored again (the
/// purge drops those whose records are gone, and this batch has some).
const DICT_AGAIN: &str = "INSERT INTO record_dicts (id, tenant_id, created_ms, dict, last_seq)
     VALUES ($1, $2, $3, $4, $5)";
/// Dictionaries by id, for readers.
const DICTS: &str = "SELECT id, dict FROM record_dicts WHERE id = ANY($1::bigint[])";
/// Each distinct group set of the batch, with the newest record naming it.
const UPSERT_GROUPS: &str = "INSERT INTO group_sets AS t (hash, ids, last_seq)
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
     ON CONFLICT (hash) DO UPDATE SET last_seq = GREATEST(t.last_seq, EXCLUDED.last_seq)";
/// Each distinct policy set of the batch, with the newest record naming it.
const UPSERT_POLICIES: &str = "INSERT INTO policy_sets AS t (hash, policies, last_seq)
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
     ON CONFLICT (hash) DO UPDATE SET last_seq = GREATEST(t.last_seq, EXCLUDED.last_seq)";
/// The batch's additions to the overview's counts, one row per distinct key.
const UPSERT_COUNTS: &str =
    "INSERT INTO signin_counts AS t (tenant_id, bucket, status, error_code, n)
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])
     ON CONFLICT (tenant_id, bucket, status, error_code) DO UPDATE SET n = t.n + EXCLUDED.n";
/// The batch's additions to the policies' counts, one row per distinct key.
const UPSERT_POLICY_COUNTS: &str =
    "INSERT INTO policy_counts AS t (tenant_id, bucket, policy_set, position, result, n)
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::bigint[])
     ON CONFLICT (tenant_id, bucket, policy_set, position, result) DO UPDATE SET n = t.n + EXCLUDED.n";

/// The oldest and the newest record's time, from the time index (two seeks).
const TIME_SPAN: &str = "SELECT min(created_ms), max(created_ms) FROM signins";

/// The facts of a tenant's sign-ins, newest first: its seqs from the (tenant, seq)
/// index, their facts from `signin_facts`. A sign-in without facts is returned too
/// (replay counts it as not replayable).
const FACTS: &str =
    "SELECT s.seq, coalesce(f.created_ms, s.created_ms), coalesce(f.user_key, s.user_key),
        coalesce(f.app_id, s.app_id), f.facts, f.group_set, f.facts_z, f.dict_id
   FROM signins s LEFT JOIN signin_facts f ON f.seq = s.seq
  WHERE s.tenant_id = $1 AND s.seq < $2 AND coalesce(f.created_ms, s.created_ms) >= $3
  ORDER BY s.seq DESC LIMIT $4";
const GROUP_SETS: &str = "SELECT hash, ids FROM group_sets WHERE hash = ANY($1::text[])";
const POLICY_SETS: &str =
    "SELECT hash, policies FROM policy_sets WHERE hash = ANY($1::text[]) ORDER BY hash";
const TENANT_OF: &str =
    "SELECT tenant_id FROM signins WHERE correlation_id = $1 ORDER BY seq DESC LIMIT 1";
const COUNT: &str = "SELECT count(*) FROM signins WHERE tenant_id = $1";

/// Sums over whole five-minute buckets from `$2`, regrouped into buckets of `$4` ms
/// (`$3` is the five-minute bucket's width). `SUM` of `bigint` is `numeric` in
/// PostgreSQL, hence the casts. Ties are ordered by the grouping key, so that the
/// answer does not depend on the plan.
const STATS_BY_STATUS: &str =
    "SELECT ((bucket * $3) / $4) * $4 AS b, status, SUM(n)::bigint FROM signin_counts
      WHERE tenant_id = $1 AND bucket >= $2 GROUP BY b, status ORDER BY b, status";
const STATS_ERRORS: &str = "SELECT error_code, SUM(n)::bigint AS k FROM signin_counts
      WHERE tenant_id = $1 AND bucket >= $2 AND status = 1
      GROUP BY error_code ORDER BY k DESC, error_code LIMIT 10";
const STATS_POLICIES: &str =
    "SELECT policy_set, position, result, ((bucket * $3) / $4) * $4 AS b, SUM(n)::bigint
       FROM policy_counts WHERE tenant_id = $1 AND bucket >= $2
      GROUP BY policy_set, position, result, b ORDER BY b, policy_set, position, result";

/// The oldest `$2` records older than `$1` (by the time index), and their facts
/// (matched on the whole key, so each lookup stays in its day's partition).
const PURGE: &str = "WITH gone AS (
        DELETE FROM signins WHERE (seq, created_ms) IN
            (SELECT seq, created_ms FROM signins WHERE created_ms < $1 ORDER BY created_ms LIMIT $2)
        RETURNING seq, created_ms),
     facts AS (DELETE FROM signin_facts WHERE (seq, created_ms) IN (SELECT seq, created_ms FROM gone))
     SELECT count(*) FROM gone";
/// Make the partitions of these days where missing (migration 2's function).
const MAKE_DAYS: &str = "SELECT portvakt_signin_days($1::bigint[])";
/// The day partitions of both tables (attached, or detached and not yet dropped, or
/// left detaching by a run that was stopped) that end at or before `$1`, oldest
/// first: (name, whether it is still attached, whether its detach is pending). The
/// day comes from the name (migration 2 names them so).
const OLD_DAYS: &str = "SELECT c.relname::text, i.inhrelid IS NOT NULL, coalesce(i.inhdetachpending, false)
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
       LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
      WHERE c.relkind = 'r' AND c.relname ~ '^(signins|signin_facts|signin_blocks)_[0-9]{8}$'
        AND (to_date(right(c.relname, 8), 'YYYYMMDD') - date '1970-01-01' + 1)::bigint * 86400000 <= $1
      ORDER BY right(c.relname, 8), c.relname";
/// One session at a time drops days (two nodes' retention runs meet here).
const DAYS_LOCK: &str = "SELECT pg_try_advisory_lock(5788941267575400815)";
const DAYS_UNLOCK: &str = "SELECT pg_advisory_unlock(5788941267575400815)";
/// The overview's counts of buckets wholly older than the cutoff.
const PURGE_COUNTS: &str = "DELETE FROM signin_counts WHERE bucket < $1";
const PURGE_POLICY_COUNTS: &str = "DELETE FROM policy_counts WHERE bucket < $1";
/// Sets no record names any more: those whose newest record is older than the oldest
/// one left (a lookup of the smallest seq, not a scan of the log).
const PURGE_GROUP_SETS: &str = "DELETE FROM group_sets
      WHERE last_seq < least((SELECT coalesce(min(seq), 9223372036854775807) FROM signins),
                          (SELECT coalesce(min(id), 9223372036854775807) FROM signin_blocks))";
const PURGE_POLICY_SETS: &str = "DELETE FROM policy_sets
      WHERE last_seq < least((SELECT coalesce(min(seq), 9223372036854775807) FROM signins),
                          (SELECT coalesce(min(id), 9223372036854775807) FROM signin_blocks))";
/// Dictionaries no record is packed with any more, as the sets.
const PURGE_DICTS: &str = "DELETE FROM record_dicts
      WHERE last_seq < least((SELECT coalesce(min(seq), 9223372036854775807) FROM signins),
                          (SELECT coalesce(min(id), 9223372036854775807) FROM signin_blocks))";

/// A `u32` or `usize` count as `bigint`.
fn big(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A count read back as a `u64`.
fn count(row: &Row, idx: usize) -> Result<u64> {
    let n: i64 = row.try_get(idx)?;
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("a negative count: {n}")))
}

/// A status column (0, 1, 2) read back as a `u8`.
fn status(row: &Row, idx: usize) -> Result<u8> {
    let v: i64 = row.try_get(idx)?;
    u8::try_from(v).map_err(|_| StoreError::Corrupt(format!("sign-in status {v}")))
}

/// The additions of a batch to the overview's counts, summed in memory, in key order:
/// (tenant, bucket, status, code) → n, and (tenant, bucket, set, position, result) →
/// n, as SQLite's `add_counts`.
#[allow(clippy::type_complexity)]
fn batch_counts(
    batch: &[StoredSignIn],
) -> (
    BTreeMap<(&str, i64, u8, i64), i64>,
    BTreeMap<(&str, i64, &str, usize, &str), i64>,
) {
    let mut counts = BTreeMap::new();
    let mut policies = BTreeMap::new();
    for s in batch {
        let bucket = s.created_ms.div_euclid(COUNT_BUCKET_MS);
        *counts
            .entry((s.tenant_id.as_str(), bucket, s.status, s.error_code))
            .or_default() += 1;
        if let Some((hash, _)) = &s.policy_set {
            for (position, result) in s.policy_results.iter().enumerate() {
                *policies
                    .entry((
                        s.tenant_id.as_str(),
                        bucket,
                        hash.as_str(),
                        position,
                        *result,
                    ))
                    .or_default() += 1;
            }
        }
    }
    (counts, policies)
}

/// Each distinct set of the batch (hash → its JSON and the newest seq naming it), in
/// hash order.
fn batch_sets<'a>(
    batch: &'a [StoredSignIn],
    seqs: &[i64],
    set: impl Fn(&'a StoredSignIn) -> &'a Option<(String, String)>,
) -> (Vec<Cow<'a, str>>, Vec<Cow<'a, str>>, Vec<i64>) {
    let mut seen: BTreeMap<&str, (&str, i64)> = BTreeMap::new();
    for (s, seq) in batch.iter().zip(seqs) {
        if let Some((h, v)) = set(s) {
            let e = seen.entry(h.as_str()).or_insert((v.as_str(), *seq));
            e.1 = e.1.max(*seq);
        }
    }
    let mut hashes = Vec::with_capacity(seen.len());
    let mut values = Vec::with_capacity(seen.len());
    let mut last = Vec::with_capacity(seen.len());
    for (h, (v, seq)) in seen {
        hashes.push(pg_text(h));
        values.push(pg_text(v));
        last.push(seq);
    }
    (hashes, values, last)
}

/// The page statement for `q`: only the conditions it uses, so that PostgreSQL picks
/// the index for them. `days` are the days of a user query's window.
fn page_sql(q: &SignInQuery, with_facts: bool, days: Vec<i64>) -> (String, Vec<Param>) {
    let mut sql = String::from(
        "SELECT s.seq, s.record, p.policies, s.created_ms, s.user_key, s.app_id, s.status, s.error_code,
                s.id, s.correlation_id, s.ip, s.user_id, s.interactive, s.record_z, s.dict_id",
    );
    if with_facts {
        sql.push_str(", f.facts, g.ids, f.facts_z, f.dict_id");
    }
    sql.push_str(" FROM signins s LEFT JOIN policy_sets p ON p.hash = s.policy_set");
    if with_facts {
        sql.push_str(" LEFT JOIN signin_facts f ON f.seq = s.seq");
        sql.push_str(" LEFT JOIN group_sets g ON g.hash = f.group_set");
    }
    let mut p: Vec<Param> = Vec::new();
    let text = |s: &str| pg_text(s).into_owned();
    sql.push_str(" WHERE s.tenant_id = ");
    sql.push_str(&bind(&mut p, text(&q.tenant_id)));
    let cond = |sql: &mut String, p: &mut Vec<Param>, column: &str, v: Param| {
        sql.push_str(" AND ");
        sql.push_str(column);
        sql.push_str(" = ");
        sql.push_str(&bind_boxed(p, v));
    };
    if let Some(v) = q.since_ms {
        sql.push_str(" AND s.created_ms >= ");
        sql.push_str(&bind(&mut p, v));
    }
    if let Some(v) = q.until_ms {
        sql.push_str(" AND s.created_ms < ");
        sql.push_str(&bind(&mut p, v));
    }
    if let Some(v) = &q.user {
        // One seek per day of the (tenant, day, user, seq) index.
        sql.push_str(" AND s.created_ms / 86400000 = ANY(");
        sql.push_str(&bind(&mut p, days));
        sql.push_str("::bigint[])");
        cond(
            &mut sql,
            &mut p,
            "s.user_key",
            Box::new(text(&v.to_lowercase())),
        );
    }
    if let Some(v) = &q.user_id {
        cond(&mut sql, &mut p, "s.user_id", Box::new(text(v)));
    }
    if let Some(v) = &q.app_id {
        cond(&mut sql, &mut p, "s.app_id", Box::new(text(v)));
    }
    if let Some(v) = q.status {
        cond(&mut sql, &mut p, "s.status", Box::new(i64::from(v)));
    }
    if let Some(v) = q.error_code {
        cond(&mut sql, &mut p, "s.error_code", Box::new(v));
    }
    if let Some(v) = &q.correlation_id {
        cond(&mut sql, &mut p, "s.correlation_id", Box::new(text(v)));
    }
    if let Some(v) = &q.ip {
        cond(&mut sql, &mut p, "s.ip", Box::new(text(v)));
    }
    if let Some(v) = q.ca_status {
        cond(
            &mut sql,
            &mut p,
            "coalesce(s.ca_status, 0)",
            Box::new(i64::from(v)),
        );
    }
    if let Some(v) = q.interactive {
        cond(&mut sql, &mut p, "s.interactive", Box::new(v));
    }
    if let Some(v) = q.before_seq {
        sql.push_str(" AND s.seq < ");
        sql.push_str(&bind(&mut p, v));
    }
    if let Some(v) = &q.id {
        cond(&mut sql, &mut p, "s.id", Box::new(text(v)));
    }
    if let Some(v) = q.seq {
        cond(&mut sql, &mut p, "s.seq", Box::new(v));
    }
    if let Some(f) = &q.filter {
        let extra = crate::pg::filter::to_sql(f, &mut p);
        sql.push_str(" AND (");
        sql.push_str(&extra);
        sql.push(')');
    }
    // One more than asked: whether it exists says whether there is a next page.
    let limit = i64::from(q.limit.clamp(1, 1000)) + 1;
    sql.push_str(" ORDER BY s.seq DESC LIMIT ");
    sql.push_str(&bind(&mut p, limit));
    (sql, p)
}

/// The dictionaries a page's rows name, by id ([`PgStore::open_dicts`]).
type PageDicts = HashMap<i64, Reader>;

/// A row of the page query; its packed values unpacked with `dicts`.
fn signin_row(r: &Row, with_facts: bool, dicts: &PageDicts) -> Result<SignInRow> {
    let dict_of = |id| dict_in(dicts, id);
    Ok(SignInRow {
        seq: r.try_get(0)?,
        record: record_pack::text(r.try_get(1)?, r.try_get(13)?, r.try_get(14)?, dict_of)?,
        policy_set: r.try_get(2)?,
        created_ms: r.try_get(3)?,
        user_key: r.try_get(4)?,
        app_id: r.try_get(5)?,
        status: status(r, 6)?,
        error_code: r.try_get(7)?,
        id: r.try_get(8)?,
        correlation_id: r.try_get(9)?,
        ip: r.try_get(10)?,
        user_id: r.try_get(11)?,
        interactive: r.try_get(12)?,
        facts: if with_facts {
            r.try_get::<_, Option<String>>(15)?
                .map(|f| record_pack::text(f, r.try_get(17)?, r.try_get(18)?, dict_of))
                .transpose()?
        } else {
            None
        },
        group_ids: if with_facts { r.try_get(16)? } else { None },
    })
}

/// The dictionary ids named by column `idx` of `rows`.
fn dict_ids(rows: &[Row], idx: &[usize]) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    for r in rows {
        for i in idx {
            if let Some(id) = r.try_get::<_, Option<i64>>(*i)? {
                out.push(id);
            }
        }
    }
    Ok(out)
}

/// Dictionary `id` of a page's.
fn dict_in(dicts: &PageDicts, id: i64) -> Result<Reader> {
    dicts
        .get(&id)
        .cloned()
        .ok_or_else(|| StoreError::Corrupt(format!("sign-in record dictionary {id} is missing")))
}

/// Whether a write failed because a row's day has no partition (SQLSTATE 23514, "no
/// partition of relation … found for row"; the log's tables have no CHECK of their
/// own).
fn missing_day(e: &tokio_postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|d| *d.code() == tokio_postgres::error::SqlState::CHECK_VIOLATION)
}

impl PgStore {
    /// The dictionaries `ids` name: those this node has opened, and the others read
    /// in one query and opened.
    async fn open_dicts(&self, c: &deadpool_postgres::Client, ids: Vec<i64>) -> Result<PageDicts> {
        let mut out = PageDicts::new();
        let mut missing = Vec::new();
        for id in ids {
            if out.contains_key(&id) || missing.contains(&id) {
                continue;
            }
            match self.dicts.opened(id) {
                Some(d) => {
                    out.insert(id, d);
                }
                None => missing.push(id),
            }
        }
        if !missing.is_empty() {
            let st = c.prepare_cached(DICTS).await?;
            for r in c.query(&st, &[&missing]).await? {
                let id: i64 = r.try_get(0)?;
                let bytes: Vec<u8> = r.try_get(1)?;
                out.insert(id, self.dicts.open(id, &bytes));
            }
        }
        Ok(out)
    }

    /// The records of `q` among the rows written before blocks (migration 7), newest
    /// first: at most one more than `q.limit`.
    async fn row_signins(
        &self,
        c: &deadpool_postgres::Client,
        q: &SignInQuery,
        with_facts: bool,
    ) -> Result<Vec<SignInRow>> {
        if self.signin_rows_gone(c).await? {
            return Ok(Vec::new());
        }
        let mut days = Vec::new();
        if q.user.is_some() {
            // The days of the window, for the (tenant, day, user, seq) index: from the
            // window's start (else the oldest record's day) to its end (else the
            // newest's). The oldest and newest by time, which the time index gives at
            // once (SQLite takes those by seq, which is the same while records arrive
            // in time order).
            let st = c.prepare_cached(TIME_SPAN).await?;
            let r = c.query_one(&st, &[]).await?;
            let (first, last): (Option<i64>, Option<i64>) = (r.try_get(0)?, r.try_get(1)?);
            let lo = q.since_ms.or(first).unwrap_or(0).max(first.unwrap_or(0)) / DAY_MS;
            let hi = q
                .until_ms
                .or(last)
                .unwrap_or(0)
                .min(last.unwrap_or(i64::MAX))
                / DAY_MS;
            // Clocks move: a record may be a day ahead.
            days = (lo..=(hi + 1).max(lo)).take(MAX_DAYS).collect();
        }
        let (sql, params) = page_sql(q, with_facts, days);
        let refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|v| v.as_ref() as &(dyn ToSql + Sync))
            .collect();
        // The shapes without a `$filter` are few (which fields are given) and are kept
        // prepared; a `$filter`'s are as many as the filters, and are not.
        let st = if q.filter.is_some() {
            c.prepare(&sql).await?
        } else {
            c.prepare_cached(&sql).await?
        };
        let found = c.query(&st, &refs).await?;
        let idx: &[usize] = if with_facts { &[14, 18] } else { &[14] };
        let dicts = self.open_dicts(c, dict_ids(&found, idx)?).await?;
        found
            .iter()
            .map(|r| signin_row(r, with_facts, &dicts))
            .collect()
    }

    /// Whether `signins` holds no row (so a query need not read it): once true, true
    /// for good, as nothing writes rows since migration 7. Asked on the caller's
    /// connection (a second one from the pool could wait on a full pool forever).
    async fn signin_rows_gone(&self, c: &impl GenericClient) -> Result<bool> {
        if self
            .signin_rows_gone
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Ok(true);
        }
        let st = c
            .prepare_cached("SELECT NOT EXISTS (SELECT 1 FROM signins)")
            .await?;
        let gone: bool = c.query_one(&st, &[]).await?.try_get(0)?;
        if gone {
            self.signin_rows_gone
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(gone)
    }

    /// Make sure the partitions of the batch's days, and of the day after each, exist
    /// (so that the next day's first batch finds its partition made): one call the
    /// first time this node sees a day, none after.
    async fn make_days(&self, batch: &[StoredSignIn]) -> Result<()> {
        let missing: Vec<i64> = {
            let known = self.signin_days.lock().unwrap_or_else(|p| p.into_inner());
            let mut days: Vec<i64> = batch
                .iter()
                .flat_map(|s| {
                    let d = s.created_ms.div_euclid(DAY_MS);
                    [d, d + 1]
                })
                .filter(|d| !known.contains(d))
                .collect();
            days.sort_unstable();
            days.dedup();
            days
        };
        if missing.is_empty() {
            return Ok(());
        }
        let c = self.log_client().await?;
        let st = c.prepare_cached(MAKE_DAYS).await?;
        c.execute(&st, &[&missing]).await?;
        self.signin_days
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(missing);
        Ok(())
    }

    /// Forget the days this node knew to have partitions (after days were dropped, or
    /// a write found one missing).
    fn forget_days(&self) {
        self.signin_days
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Write the batch in one transaction; `Ok(false)` if a record's day had no
    /// partition (nothing was written).
    async fn append_once(&self, batch: &[StoredSignIn]) -> Result<bool> {
        let mut c = self.log_client().await?;
        let tx = c.transaction().await?;
        let (groups, sets, counts_st, policy_counts_st) = tokio::try_join!(
            tx.prepare_cached(UPSERT_GROUPS),
            tx.prepare_cached(UPSERT_POLICIES),
            tx.prepare_cached(UPSERT_COUNTS),
            tx.prepare_cached(UPSERT_POLICY_COUNTS),
        )?;
        let insert_dict = tx.prepare_cached(INSERT_DICT).await?;
        let mut made = Vec::new();
        for d in self.dicts.needed(batch) {
            let id: i64 = tx
                .query_one(
                    &insert_dict,
                    &[&pg_text(&d.tenant_id), &d.created_ms, &d.bytes],
                )
                .await?
                .try_get(0)?;
            made.push((d, id));
        }
        // The records in blocks (migration 7, crate::pg::signin_blocks).
        let (packed, seqs) = match crate::pg::signin_blocks::append(self, &tx, batch, made).await? {
            Ok(written) => written,
            Err(e) if missing_day(&e) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let (d_ids, d_last): (Vec<i64>, Vec<i64>) =
            packed.dicts.iter().map(|(d, i)| (d.id, seqs[*i])).unzip();
        let used = tx.prepare_cached(DICTS_USED).await?;
        let found: Vec<i64> = tx
            .query(&used, &[&d_ids, &d_last])
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<std::result::Result<_, _>>()?;
        for (d, i) in packed.dicts.iter().filter(|(d, _)| !found.contains(&d.id)) {
            let again = tx.prepare_cached(DICT_AGAIN).await?;
            tx.execute(
                &again,
                &[
                    &d.id,
                    &pg_text(&d.tenant_id),
                    &d.created_ms,
                    &d.bytes,
                    &seqs[*i],
                ],
            )
            .await?;
        }

        let (g_hash, g_ids, g_last) = batch_sets(batch, &seqs, |s| &s.group_set);
        let (p_hash, p_sets, p_last) = batch_sets(batch, &seqs, |s| &s.policy_set);
        let (counts, policies) = batch_counts(batch);
        let (mut c_tenant, mut c_bucket, mut c_status, mut c_code, mut c_n) =
            (vec![], vec![], vec![], vec![], vec![]);
        for ((t, b, st, code), k) in counts {
            c_tenant.push(pg_text(t));
            c_bucket.push(b);
            c_status.push(i64::from(st));
            c_code.push(code);
            c_n.push(k);
        }
        let (mut q_tenant, mut q_bucket, mut q_set, mut q_pos, mut q_result, mut q_n) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for ((t, b, h, pos, r), k) in policies {
            q_tenant.push(pg_text(t));
            q_bucket.push(b);
            q_set.push(pg_text(h));
            q_pos.push(big(pos));
            q_result.push(pg_text(r));
            q_n.push(k);
        }

        type Args<'a> = [&'a (dyn ToSql + Sync)];
        let groups_args: &Args = &[&g_hash, &g_ids, &g_last];
        let sets_args: &Args = &[&p_hash, &p_sets, &p_last];
        let counts_args: &Args = &[&c_tenant, &c_bucket, &c_status, &c_code, &c_n];
        let policy_counts_args: &Args = &[&q_tenant, &q_bucket, &q_set, &q_pos, &q_result, &q_n];
        // Pipelined: sent at once, answered in order.
        let (a, b, c, d) = tokio::join!(
            tx.execute(&groups, groups_args),
            tx.execute(&sets, sets_args),
            tx.execute(&counts_st, counts_args),
            tx.execute(&policy_counts_st, policy_counts_args),
        );
        first_failure([a, b, c, d])?;
        tx.commit().await?;
        self.dicts.adopt(packed);
        Ok(true)
    }

    /// Drop the day partitions [`OLD_DAYS`] names, holding the days lock; returns the
    /// records dropped.
    async fn drop_days_locked(
        &self,
        c: &mut deadpool_postgres::Object,
        before_ms: i64,
    ) -> Result<u64> {
        let days = c.query(OLD_DAYS, &[&before_ms]).await?;
        let mut dropped = 0;
        for r in &days {
            let (name, attached, pending): (String, bool, bool) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            // The name matched ^(signins|signin_facts|signin_blocks)_[0-9]{8}$: safe
            // to quote.
            let parent = if name.starts_with("signin_facts_") {
                "signin_facts"
            } else if name.starts_with("signin_blocks_") {
                "signin_blocks"
            } else {
                "signins"
            };
            let records = match parent {
                "signins" => Some("count(*)"),
                "signin_blocks" => Some("coalesce(sum(n), 0)::bigint"),
                _ => None,
            };
            if let Some(records) = records {
                dropped += count(
                    &c.query_one(&format!("SELECT {records} FROM \"{name}\""), &[])
                        .await?,
                    0,
                )?;
            }
            if attached {
                // CONCURRENTLY: reads and writes of the other days go on meanwhile. A
                // detach that was stopped halfway is finished instead.
                let how = if pending { "FINALIZE" } else { "CONCURRENTLY" };
                c.batch_execute(&format!(
                    "ALTER TABLE {parent} DETACH PARTITION \"{name}\" {how}"
                ))
                .await?;
            }
            c.batch_execute(&format!("DROP TABLE \"{name}\"")).await?;
        }
        if !days.is_empty() {
            self.forget_days();
            crate::pg::signin_blocks::forget_dropped(&*c, before_ms).await?;
            let tx = c.transaction().await?;
            forget_before(&tx, before_ms).await?;
            tx.commit().await?;
        }
        Ok(dropped)
    }
}

/// After records older than `before_ms` went: the overview's counts of the buckets
/// wholly before it, and the sets no record left names.
async fn forget_before(tx: &deadpool_postgres::Transaction<'_>, before_ms: i64) -> Result<()> {
    let b = before_ms.div_euclid(COUNT_BUCKET_MS);
    let (counts, policy_counts, groups, sets, dicts) = tokio::try_join!(
        tx.prepare_cached(PURGE_COUNTS),
        tx.prepare_cached(PURGE_POLICY_COUNTS),
        tx.prepare_cached(PURGE_GROUP_SETS),
        tx.prepare_cached(PURGE_POLICY_SETS),
        tx.prepare_cached(PURGE_DICTS),
    )?;
    let cutoff: &[&(dyn ToSql + Sync)] = &[&b];
    let (a, b, c, d, e) = tokio::join!(
        tx.execute(&counts, cutoff),
        tx.execute(&policy_counts, cutoff),
        tx.execute(&groups, &[]),
        tx.execute(&sets, &[]),
        tx.execute(&dicts, &[]),
    );
    Ok(first_failure([a, b, c, d, e])?)
}

/// The first error, in statement order, of statements pipelined in one transaction:
/// the later ones fail only because it aborted the transaction ("current
/// transaction is aborted"), so it is the cause. (`try_join!` would return whichever
/// error it polled first: tokio's join polls its futures in turn, not in order.)
fn first_failure<const N: usize>(
    results: [std::result::Result<u64, tokio_postgres::Error>; N],
) -> std::result::Result<(), tokio_postgres::Error> {
    for r in results {
        r?;
    }
    Ok(())
}

#[async_trait]
impl SignInLog for PgStore {
    async fn append_signins(&self, batch: &[StoredSignIn]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.make_days(batch).await?;
        if self.append_once(batch).await? {
            return Ok(());
        }
        // A day this node knew was dropped since (another node's retention, or a
        // clock far behind): make the days again and write once more.
        self.forget_days();
        self.make_days(batch).await?;
        if self.append_once(batch).await? {
            return Ok(());
        }
        Err(StoreError::Unavailable(
            "PostgreSQL: the sign-in log has no partition for a record's day, even after making it"
                .into(),
        ))
    }

    async fn signins(&self, q: &SignInQuery, with_facts: bool) -> Result<SignInPage> {
        let c = self.client().await?;
        let limit = q.limit.clamp(1, 1000) as usize;
        let want = limit + 1;
        // Blocks first: their seqs are newer than every row's.
        let mut rows = crate::pg::signin_blocks::signins(self, &c, q, with_facts, want).await?;
        if rows.len() < want {
            let mut rest = q.clone();
            rest.limit = u32::try_from(want - rows.len()).unwrap_or(1000);
            rows.extend(self.row_signins(&c, &rest, with_facts).await?);
        }
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|r| r.seq)
        } else {
            None
        };
        Ok(SignInPage { rows, next })
    }

    async fn signin_facts(
        &self,
        tenant_id: &str,
        since_ms: i64,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<FactsRow>> {
        let limit = i64::from(limit.clamp(1, 10_000));
        let before = before_seq.unwrap_or(i64::MAX);
        let c = self.client().await?;
        // Blocks first (their seqs are newer than every row's), then rows.
        let mut out =
            crate::pg::signin_blocks::facts(self, &c, tenant_id, since_ms, before, limit as usize)
                .await?;
        let left = limit - out.len() as i64;
        if left == 0 || self.signin_rows_gone(&c).await? {
            return Ok(out);
        }
        let st = c.prepare_cached(FACTS).await?;
        let found = c
            .query(&st, &[&pg_text(tenant_id), &before, &since_ms, &left])
            .await?;
        let dicts = self.open_dicts(&c, dict_ids(&found, &[7])?).await?;
        let dict_of = |id| dict_in(&dicts, id);
        let rows = found
            .iter()
            .map(|r| {
                Ok(FactsRow {
                    seq: r.try_get(0)?,
                    created_ms: r.try_get(1)?,
                    user_key: r.try_get(2)?,
                    app_id: r.try_get(3)?,
                    facts: r
                        .try_get::<_, Option<String>>(4)?
                        .map(|f| record_pack::text(f, r.try_get(6)?, r.try_get(7)?, dict_of))
                        .transpose()?,
                    group_set: r.try_get(5)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.extend(rows);
        Ok(out)
    }

    async fn group_sets(&self, hashes: &[String]) -> Result<Vec<(String, String)>> {
        if hashes.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<Cow<'_, str>> = hashes.iter().map(|h| pg_text(h)).collect();
        let c = self.client().await?;
        let st = c.prepare_cached(GROUP_SETS).await?;
        let mut found: HashMap<String, String> = HashMap::new();
        for r in c.query(&st, &[&keys]).await? {
            found.insert(r.try_get(0)?, r.try_get(1)?);
        }
        // In the order asked (as SQLite's lookups one by one), those that exist.
        Ok(hashes
            .iter()
            .zip(&keys)
            .filter_map(|(h, k)| found.get(k.as_ref()).map(|ids| (h.clone(), ids.clone())))
            .collect())
    }

    async fn signin_tenant(&self, correlation_id: &str) -> Result<Option<String>> {
        let c = self.client().await?;
        // Blocks' seqs are newer than every row's.
        if let Some(t) = crate::pg::signin_blocks::tenant_of(self, &c, correlation_id).await? {
            return Ok(Some(t));
        }
        if self.signin_rows_gone(&c).await? {
            return Ok(None);
        }
        let st = c.prepare_cached(TENANT_OF).await?;
        match c.query_opt(&st, &[&pg_text(correlation_id)]).await? {
            Some(r) => Ok(Some(r.try_get(0)?)),
            None => Ok(None),
        }
    }

    async fn signin_stats(&self, q: &StatsQuery) -> Result<SignInStats> {
        // Sums of the counts kept as records are written: a window is whole
        // five-minute buckets from the one holding `since_ms`.
        let bucket = q.bucket_ms.max(COUNT_BUCKET_MS);
        let from = q.since_ms.div_euclid(COUNT_BUCKET_MS);
        let tenant = pg_text(&q.tenant_id);
        let c = self.client().await?;
        let (by_status, errors, policies) = tokio::try_join!(
            c.prepare_cached(STATS_BY_STATUS),
            c.prepare_cached(STATS_ERRORS),
            c.prepare_cached(STATS_POLICIES),
        )?;
        let bucketed: &[&(dyn ToSql + Sync)] = &[&tenant, &from, &COUNT_BUCKET_MS, &bucket];
        let window: &[&(dyn ToSql + Sync)] = &[&tenant, &from];
        let (by_status, errors, policies) = tokio::try_join!(
            c.query(&by_status, bucketed),
            c.query(&errors, window),
            c.query(&policies, bucketed),
        )?;
        let mut out = SignInStats {
            by_status: by_status
                .iter()
                .map(|r| Ok((r.try_get(0)?, status(r, 1)?, count(r, 2)?)))
                .collect::<Result<_>>()?,
            errors: errors
                .iter()
                .map(|r| Ok((r.try_get(0)?, count(r, 1)?)))
                .collect::<Result<_>>()?,
            policies: policies
                .iter()
                .map(|r| {
                    Ok((
                        r.try_get(0)?,
                        r.try_get(1)?,
                        r.try_get(2)?,
                        r.try_get(3)?,
                        count(r, 4)?,
                    ))
                })
                .collect::<Result<_>>()?,
            ..SignInStats::default()
        };
        out.records = out.by_status.iter().map(|x| x.2).sum();
        let mut hashes: Vec<&str> = out.policies.iter().map(|p| p.0.as_str()).collect();
        hashes.sort_unstable();
        hashes.dedup();
        if !hashes.is_empty() {
            let st = c.prepare_cached(POLICY_SETS).await?;
            out.policy_sets = c
                .query(&st, &[&hashes])
                .await?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_>>()?;
        }
        Ok(out)
    }

    async fn count_signins(&self, tenant_id: &str) -> Result<u64> {
        let c = self.client().await?;
        let blocks = crate::pg::signin_blocks::count(&c, tenant_id).await?;
        if self.signin_rows_gone(&c).await? {
            return Ok(blocks);
        }
        let st = c.prepare_cached(COUNT).await?;
        Ok(blocks + count(&c.query_one(&st, &[&pg_text(tenant_id)]).await?, 0)?)
    }

    async fn purge_signins(&self, before_ms: i64, batch: u32) -> Result<u64> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // Whole blocks whose newest record is due, then rows.
        let mut n = crate::pg::signin_blocks::purge(&tx, before_ms, batch).await?;
        let left = u64::from(batch).saturating_sub(n);
        if left > 0 && !self.signin_rows_gone(&tx).await? {
            let st = tx.prepare_cached(PURGE).await?;
            n += count(
                &tx.query_one(&st, &[&before_ms, &i64::try_from(left).unwrap_or(i64::MAX)])
                    .await?,
                0,
            )?;
        }
        if n > 0 {
            forget_before(&tx, before_ms).await?;
        }
        tx.commit().await?;
        Ok(n)
    }

    async fn drop_signin_days(&self, before_ms: i64) -> Result<u64> {
        let mut c = self.client().await?;
        let locked: bool = c.query_one(DAYS_LOCK, &[]).await?.try_get(0)?;
        if !locked {
            // Another node is dropping days now.
            return Ok(0);
        }
        let out = self.drop_days_locked(&mut c, before_ms).await;
        // On the same session, whatever happened (a broken connection took the lock
        // with it).
        let _ = c.query_one(DAYS_UNLOCK, &[]).await;
        out
    }
}
