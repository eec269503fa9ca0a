//! [`AuditLog`] on PostgreSQL: statement for statement the SQLite engine's
//! (`crate::sqlite_audit`), so both answer alike. One row per record in `audit_log`,
//! the record as JSON beside the columns the queries filter on, `seq` (an identity,
//! never reused) as the cursor.

use crate::pg::filter::{bind, pg_text, Param};
use crate::pg::PgStore;
use crate::{AuditLog, AuditPage, AuditQuery, Result};
use async_trait::async_trait;
use portvakt_core::audit::DirectoryAudit;
use tokio_postgres::types::ToSql;

/// The most records one page may hold, whatever the caller asks for (as SQLite's).
const MAX_PAGE: u32 = 10_000;

const INSERT: &str =
    "INSERT INTO audit_log (tenant, at_ms, correlation_id, record) VALUES ($1, $2, $3, $4)";
/// The oldest `$2` records older than `$1` (by the time index).
const PURGE: &str = "DELETE FROM audit_log WHERE seq IN
     (SELECT seq FROM audit_log WHERE at_ms < $1 ORDER BY at_ms LIMIT $2)";

/// The statement for `q`: only the filters it uses, so that PostgreSQL can use the
/// `(tenant, correlation_id, seq)` index when a correlation id is given and
/// `(tenant, seq)` otherwise. At most 16 shapes, each kept prepared.
fn select(q: &AuditQuery, limit: u32) -> (String, Vec<Param>) {
    let mut p: Vec<Param> = Vec::new();
    let mut sql = String::from("SELECT seq, record FROM audit_log WHERE tenant = ");
    sql.push_str(&bind(&mut p, pg_text(&q.tenant).into_owned()));
    if let Some(c) = &q.correlation_id {
        sql.push_str(" AND correlation_id = ");
        sql.push_str(&bind(&mut p, pg_text(c).into_owned()));
    }
    if let Some(s) = q.since_ms {
        sql.push_str(" AND at_ms >= ");
        sql.push_str(&bind(&mut p, s));
    }
    if let Some(u) = q.until_ms {
        sql.push_str(" AND at_ms < ");
        sql.push_str(&bind(&mut p, u));
    }
    if let Some(b) = q.before {
        sql.push_str(" AND seq < ");
        sql.push_str(&bind(&mut p, b));
    }
    // One more than asked: whether it exists says whether there is a next page.
    sql.push_str(" ORDER BY seq DESC LIMIT ");
    sql.push_str(&bind(&mut p, i64::from(limit) + 1));
    (sql, p)
}

#[async_trait]
impl AuditLog for PgStore {
    async fn append_audit(&self, record: &DirectoryAudit, at_ms: i64) -> Result<()> {
        let json = serde_json::to_string(record)?;
        let c = self.client().await?;
        let st = c.prepare_cached(INSERT).await?;
        c.execute(
            &st,
            &[
                &pg_text(&record.tenant),
                &at_ms,
                &pg_text(&record.correlation_id),
                &json,
            ],
        )
        .await?;
        Ok(())
    }

    /// Newest first (by `seq`). A `limit` of 0 is read as 1, and more than
    /// [`MAX_PAGE`] as [`MAX_PAGE`].
    async fn audits(&self, q: &AuditQuery) -> Result<AuditPage> {
        let limit = q.limit.clamp(1, MAX_PAGE);
        let (sql, params) = select(q, limit);
        let refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|v| v.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let c = self.client().await?;
        let st = c.prepare_cached(&sql).await?;
        let mut rows = c
            .query(&st, &refs)
            .await?
            .iter()
            .map(|r| Ok((r.try_get::<_, i64>(0)?, r.try_get::<_, String>(1)?)))
            .collect::<Result<Vec<_>>>()?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = if more {
            rows.last().map(|(seq, _)| *seq)
        } else {
            None
        };
        let records = rows
            .into_iter()
            .map(|(_, json)| serde_json::from_str(&json))
            .collect::<std::result::Result<Vec<DirectoryAudit>, _>>()?;
        Ok(AuditPage { records, next })
    }

    async fn purge_audits(&self, before_ms: i64, batch: u32) -> Result<u64> {
        let c = self.client().await?;
        let st = c.prepare_cached(PURGE).await?;
        Ok(c.execute(&st, &[&before_ms, &i64::from(batch)]).await?)
    }
}
