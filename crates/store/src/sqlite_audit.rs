//! The SQLite side of the audit log (migration 0009): one row per record, the record
//! as JSON beside the columns the queries filter on, the `seq` rowid as the cursor.

use crate::conns::{all, exec};
use crate::{AuditLog, AuditPage, AuditQuery, Result, SqliteStore};
use async_trait::async_trait;
use portvakt_core::audit::DirectoryAudit;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter};

/// The most records one page may hold, whatever the caller asks for (the admin API
/// allows 1000): a page is read into memory in one statement.
const MAX_PAGE: u32 = 10_000;

/// The statement for `q`: only the filters it uses, so that SQLite picks the index
/// (`(tenant, correlation_id, seq)` when a correlation id is given, `(tenant, seq)`
/// otherwise) instead of evaluating `? IS NULL OR …` on every row. At most 16
/// shapes, each cached as a prepared statement.
fn select(q: &AuditQuery, limit: u32) -> (String, Vec<SqlValue>) {
    let mut sql = String::from("SELECT seq, record FROM audit_log WHERE tenant = ?");
    let mut args = vec![SqlValue::Text(q.tenant.clone())];
    if let Some(c) = &q.correlation_id {
        sql.push_str(" AND correlation_id = ?");
        args.push(SqlValue::Text(c.clone()));
    }
    if let Some(s) = q.since_ms {
        sql.push_str(" AND at_ms >= ?");
        args.push(SqlValue::Integer(s));
    }
    if let Some(u) = q.until_ms {
        sql.push_str(" AND at_ms < ?");
        args.push(SqlValue::Integer(u));
    }
    if let Some(b) = q.before {
        sql.push_str(" AND seq < ?");
        args.push(SqlValue::Integer(b));
    }
    sql.push_str(" ORDER BY seq DESC LIMIT ?");
    // One more than asked: whether it exists says whether there is a next page.
    args.push(SqlValue::Integer(i64::from(limit) + 1));
    (sql, args)
}

#[async_trait]
impl AuditLog for SqliteStore {
    async fn append_audit(&self, record: &DirectoryAudit, at_ms: i64) -> Result<()> {
        let json = serde_json::to_string(record)?;
        self.write(|c| {
            exec(
                c,
                "INSERT INTO audit_log (tenant, at_ms, correlation_id, record) VALUES (?,?,?,?)",
                params![record.tenant, at_ms, record.correlation_id, json],
            )
        })?;
        Ok(())
    }

    /// Newest first (by insertion: `seq`). A `limit` of 0 is read as 1, and more
    /// than [`MAX_PAGE`] as [`MAX_PAGE`].
    async fn audits(&self, q: &AuditQuery) -> Result<AuditPage> {
        let limit = q.limit.clamp(1, MAX_PAGE);
        let (sql, args) = select(q, limit);
        let mut rows = self.read(|c| {
            all(c, &sql, params_from_iter(args), |r| {
                let seq: i64 = r.get(0)?;
                let json: String = r.get(1)?;
                Ok((seq, json))
            })
        })?;
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
        let n = self.write(|c| {
            exec(
                c,
                "DELETE FROM audit_log WHERE seq IN (SELECT seq FROM audit_log WHERE at_ms < ? ORDER BY at_ms LIMIT ?)",
                params![before_ms, batch],
            )
        })?;
        Ok(n as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portvakt_core::audit::{AppIdentity, InitiatedBy, TargetResource};

    fn record(tenant: &str, n: i64, correlation_id: &str) -> DirectoryAudit {
        DirectoryAudit {
            id: format!("r{n}"),
            activity_date_time: format!("t{n}"),
            activity_display_name: "Add user".into(),
            category: "UserManagement".into(),
            operation_type: "Add".into(),
            initiated_by: InitiatedBy {
                app: Some(AppIdentity {
                    app_id: "portvakt-admin".into(),
                    display_name: "Portvakt admin".into(),
                }),
                user: None,
            },
            target_resources: vec![TargetResource {
                id: format!("u{n}"),
                display_name: format!("u{n}@x"),
                kind: "User".into(),
                modified_properties: vec![],
            }],
            correlation_id: correlation_id.into(),
            result: "success".into(),
            result_reason: String::new(),
            logged_by_service: "Portvakt".into(),
            tenant: tenant.into(),
        }
    }

    fn ids(p: &AuditPage) -> Vec<&str> {
        p.records.iter().map(|r| r.id.as_str()).collect()
    }

    /// Ten records of `a` at 1000, 2000, … ms (r1..r10), interleaved with records of
    /// `b`; r4..r6 share the correlation id `c-mid`.
    async fn filled() -> SqliteStore {
        let st = SqliteStore::in_memory().await.expect("store");
        for n in 1..=10 {
            let c = if (4..=6).contains(&n) {
                "c-mid".to_string()
            } else {
                format!("c{n}")
            };
            st.append_audit(&record("a", n, &c), n * 1000)
                .await
                .expect("append");
            st.append_audit(&record("b", 100 + n, "c-mid"), n * 1000)
                .await
                .expect("append");
        }
        st
    }

    fn query(limit: u32) -> AuditQuery {
        AuditQuery {
            tenant: "a".into(),
            limit,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn pages_run_newest_first_and_the_cursor_walks_to_the_end() {
        let st = filled().await;
        let mut q = query(4);
        let p1 = st.audits(&q).await.expect("page 1");
        assert_eq!(ids(&p1), ["r10", "r9", "r8", "r7"]);
        q.before = p1.next;
        let p2 = st.audits(&q).await.expect("page 2");
        assert_eq!(ids(&p2), ["r6", "r5", "r4", "r3"]);
        q.before = p2.next;
        let p3 = st.audits(&q).await.expect("page 3");
        assert_eq!(ids(&p3), ["r2", "r1"]);
        assert_eq!(p3.next, None, "the last page has no cursor");

        // A page that ends exactly at the last record has no cursor either.
        let exact = st.audits(&query(10)).await.expect("all");
        assert_eq!((exact.records.len(), exact.next), (10, None));
        // Another tenant's records never appear.
        assert!(exact.records.iter().all(|r| r.tenant == "a"));
    }

    #[tokio::test]
    async fn a_cursor_stays_valid_while_new_records_arrive() {
        let st = filled().await;
        let p1 = st.audits(&query(3)).await.expect("page 1");
        st.append_audit(&record("a", 11, "c11"), 11_000)
            .await
            .expect("append");
        let mut q = query(3);
        q.before = p1.next;
        let p2 = st.audits(&q).await.expect("page 2");
        assert_eq!(
            ids(&p2),
            ["r7", "r6", "r5"],
            "no record twice, none skipped"
        );
    }

    #[tokio::test]
    async fn since_until_and_correlation_id_filter_and_page_together() {
        let st = filled().await;
        let mut q = query(10);
        q.since_ms = Some(3000);
        q.until_ms = Some(8000);
        let p = st.audits(&q).await.expect("window");
        assert_eq!(
            ids(&p),
            ["r7", "r6", "r5", "r4", "r3"],
            "since inclusive, until exclusive"
        );

        let mut q = query(2);
        q.correlation_id = Some("c-mid".into());
        let p1 = st.audits(&q).await.expect("by correlation id");
        assert_eq!(ids(&p1), ["r6", "r5"]);
        q.before = p1.next;
        let p2 = st.audits(&q).await.expect("page 2");
        assert_eq!((ids(&p2), p2.next), (vec!["r4"], None));

        let mut q = query(0);
        q.correlation_id = Some("nothing".into());
        assert!(st.audits(&q).await.expect("none").records.is_empty());
    }

    #[tokio::test]
    async fn records_come_back_as_they_were_written() {
        let st = SqliteStore::in_memory().await.expect("store");
        let r = record("a", 1, "c1");
        st.append_audit(&r, 1).await.expect("append");
        let p = st.audits(&query(1)).await.expect("read");
        assert_eq!(p.records, vec![r]);
    }

    #[tokio::test]
    async fn the_purge_deletes_only_older_records_in_batches() {
        let st = filled().await;
        // Before 4000 ms: r1..r3 of `a` and three of `b`, six in all, three at a time.
        assert_eq!(st.purge_audits(4000, 3).await.expect("purge"), 3);
        assert_eq!(st.purge_audits(4000, 3).await.expect("purge"), 3);
        assert_eq!(st.purge_audits(4000, 3).await.expect("purge"), 0);
        let left = st.audits(&query(100)).await.expect("read");
        assert_eq!(ids(&left), ["r10", "r9", "r8", "r7", "r6", "r5", "r4"]);

        // Purging everything does not reuse cursors: a cursor handed out before
        // still means "older than that record", so a new record is not on its page.
        let cursor = st.audits(&query(1)).await.expect("read").next;
        assert!(cursor.is_some());
        assert_eq!(st.purge_audits(i64::MAX, 100).await.expect("purge"), 14);
        st.append_audit(&record("a", 12, "c12"), 12_000)
            .await
            .expect("append");
        let mut q = query(10);
        q.before = cursor;
        assert!(st.audits(&q).await.expect("read").records.is_empty());
        assert_eq!(ids(&st.audits(&query(10)).await.expect("read")), ["r12"]);
    }
}
