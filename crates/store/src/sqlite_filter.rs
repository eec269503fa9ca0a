//! Graph's `$filter` over the sign-in log ([`SignInFilter`], parsed and type-checked
//! by `portvakt_core::filter`, which names the position of any error) in SQLite's SQL
//! over the log's columns: every comparison a parameterised condition, never text from
//! the request in the SQL. Every comparison is wrapped in `coalesce(…, 0)`, so the
//! logic stays two-valued as MS-ODATA's lifted operators are (`null` equals only
//! `null`; `not` of a comparison with `null` is true). Strings compare
//! ASCII-case-insensitively, as `portvakt_core::filter::matches` does. This is the
//! SQLite engine's translation; another engine translates the same expression.

use portvakt_core::filter::{Expr, Field, Op, SignInFilter, Value};
use rusqlite::types::Value as SqlValue;

/// The SQL condition over `signins s` and its parameters for `filter`.
pub(crate) fn to_sql(filter: &SignInFilter) -> (String, Vec<SqlValue>) {
    let mut params = Vec::new();
    let sql = expr_sql(filter.expr(), &mut params);
    (sql, params)
}

/// A field the record holds and, since the log's migration 6 packs records, a column
/// too: the column for a packed row, the record's JSON for a row written before.
macro_rules! packed_or_record {
    ($column:literal, $key:literal) => {
        concat!(
            "(CASE WHEN s.dict_id IS NULL THEN json_extract(s.record, '$.",
            $key,
            "') ELSE s.",
            $column,
            " END)"
        )
    };
}

/// How a field is kept: its SQL expression and whether strings are stored lowered.
/// `None` for a field of another log, which a [`SignInFilter`] never names.
fn column(f: Field) -> Option<(&'static str, bool)> {
    Some(match f {
        // The unary plus keeps the time out of SQLite's index choice: a range on it
        // would otherwise be preferred to the (tenant, seq) order and the page sorted
        // (sqlite_signin_log, `signins`).
        Field::CreatedDateTime => ("+s.created_ms", false),
        Field::UserPrincipalName => ("s.user_key", true),
        Field::UserId => ("s.user_id", false),
        Field::AppId => ("s.app_id", false),
        Field::AppDisplayName => (packed_or_record!("app_name", "appDisplayName"), false),
        Field::ResourceId => (packed_or_record!("resource_id", "resourceId"), false),
        Field::IpAddress => ("s.ip", false),
        Field::CorrelationId => ("s.correlation_id", false),
        Field::StatusErrorCode => ("s.error_code", false),
        Field::ConditionalAccessStatus => ("coalesce(s.ca_status, 0)", false),
        Field::IsInteractive => ("s.interactive", false),
        Field::ClientAppUsed => (packed_or_record!("client_app", "clientAppUsed"), false),
        Field::Id => ("s.id", false),
        _ => return None,
    })
}

fn op_sql(op: Op) -> &'static str {
    match op {
        Op::Eq => "=",
        Op::Ne => "<>",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Lt => "<",
        Op::Le => "<=",
    }
}

fn value_sql(f: Field, v: &Value, lowered: bool) -> SqlValue {
    match v {
        Value::String(s) if f == Field::ConditionalAccessStatus => {
            SqlValue::Integer(match s.as_str() {
                "success" => 1,
                "failure" => 2,
                "notApplied" => 0,
                _ => -1,
            })
        }
        Value::String(s) if lowered => SqlValue::Text(s.to_ascii_lowercase()),
        Value::String(s) => SqlValue::Text(s.clone()),
        Value::Int(i) | Value::DateTimeMs(i) => SqlValue::Integer(*i),
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Null => SqlValue::Integer(0),
    }
}

fn expr_sql(e: &Expr, p: &mut Vec<SqlValue>) -> String {
    match e {
        Expr::And(a, b) => format!("({} AND {})", expr_sql(a, p), expr_sql(b, p)),
        Expr::Or(a, b) => format!("({} OR {})", expr_sql(a, p), expr_sql(b, p)),
        Expr::Not(a) => format!("(NOT {})", expr_sql(a, p)),
        Expr::StartsWith { field, prefix } => {
            let Some((col, lowered)) = column(*field) else {
                return "0".into();
            };
            let prefix = if lowered {
                prefix.to_ascii_lowercase()
            } else {
                prefix.clone()
            };
            let escaped = prefix
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            p.push(SqlValue::Text(format!("{escaped}%")));
            // LIKE is ASCII-case-insensitive in SQLite.
            format!("coalesce({col} LIKE ? ESCAPE '\\', 0)")
        }
        Expr::Cmp { field, op, value } => {
            let Some((col, lowered)) = column(*field) else {
                return "0".into();
            };
            let text =
                matches!(value, Value::String(_)) && *field != Field::ConditionalAccessStatus;
            let collate = if text && !lowered {
                " COLLATE NOCASE"
            } else {
                ""
            };
            match (op, value) {
                (Op::Eq, Value::Null) => format!("({col} IS NULL)"),
                (Op::Ne, Value::Null) => format!("({col} IS NOT NULL)"),
                (Op::Ne, v) => {
                    p.push(value_sql(*field, v, lowered));
                    format!("coalesce({col} IS NULL OR {col} <> ?{collate}, 0)")
                }
                (op, v) => {
                    p.push(value_sql(*field, v, lowered));
                    format!("coalesce({col} {} ?{collate}, 0)", op_sql(*op))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_parameterised_sql() {
        let f = SignInFilter::parse(
            "createdDateTime ge 2026-12-01T00:00:00Z and status/errorCode ne 0 or startswith(userPrincipalName,'Ad%m')",
        )
        .expect("valid");
        let (sql, p) = to_sql(&f);
        assert!(!sql.contains("Ad"), "no request text in the SQL: {sql}");
        assert_eq!(
            p,
            vec![
                SqlValue::Integer(1_796_083_200_000),
                SqlValue::Integer(0),
                SqlValue::Text("ad\\%m%".into())
            ]
        );
        assert!(
            sql.contains("+s.created_ms >= ?")
                && sql.contains("s.error_code <> ?")
                && sql.contains("LIKE ?"),
            "{sql}"
        );
        let e = SignInFilter::parse("status/errorcode eq 0").expect_err("case");
        assert!(e.to_string().contains("position"), "{e}");
    }
}
