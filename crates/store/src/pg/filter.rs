//! Graph `$filter` (a typed [`portvakt_core::filter::SignInFilter`]) translated to
//! PostgreSQL SQL, as `crate::sqlite_filter` does for SQLite.
//!
//! Every comparison is a numbered placeholder (`$n`), never text from the request in
//! the SQL. The logic stays two-valued, as MS-ODATA's lifted operators are and as
//! SQLite's translation makes it with `coalesce(…, 0)`: `null` equals only `null`, and
//! `not` of a comparison with `null` is true. A comparison on a column that cannot be
//! null is written bare (no `coalesce`), so that PostgreSQL may use an index for it.
//! Strings compare ASCII-case-insensitively, as `portvakt_core::filter::matches` and
//! SQLite's `NOCASE` and `LIKE` do: `lower()` under the `"C"` collation folds ASCII
//! only, and the values are folded in Rust.

use portvakt_core::filter::{Expr, Field, Op, SignInFilter, Value};
use std::borrow::Cow;
use tokio_postgres::types::ToSql;

/// A value bound to a statement built at run time.
pub(crate) type Param = Box<dyn ToSql + Sync + Send>;

/// Bind `v` as the next placeholder of `params` and return it (`$n`).
pub(crate) fn bind(params: &mut Vec<Param>, v: impl ToSql + Sync + Send + 'static) -> String {
    bind_boxed(params, Box::new(v))
}

/// [`bind`] for a value already boxed.
pub(crate) fn bind_boxed(params: &mut Vec<Param>, v: Param) -> String {
    params.push(v);
    format!("${}", params.len())
}

/// `s` as PostgreSQL's `text` can hold it: U+0000, which `text` refuses, becomes
/// U+FFFD. Every string this engine writes to the sign-in log or compares with it
/// goes through here, so that a name typed with a NUL neither fails a batch nor a
/// query, and still finds its own record.
pub(crate) fn pg_text(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{fffd}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// The SQL condition over `signins s` for `filter`; its values are appended to
/// `params`, and its placeholders numbered after those already there.
pub(crate) fn to_sql(filter: &SignInFilter, params: &mut Vec<Param>) -> String {
    expr_sql(filter.expr(), params)
}

/// The type of a column's values, which decides the type of the values it is compared
/// with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Int,
    Bool,
}

/// How a field is kept.
#[derive(Debug, Clone, Copy)]
struct Column {
    /// Its SQL expression over `signins s`.
    sql: &'static str,
    kind: Kind,
    /// Strings stored lowered (compared as they are, with the value lowered).
    lowered: bool,
    /// Can it be null?
    nullable: bool,
    /// Does an index of `signins` lead with it (after the tenant)? Then an equality
    /// is also written as ranges the index can seek ([`case_variants`]).
    indexed: bool,
}

/// A string field of the compact record. The record's JSON is read whole (as
/// SQLite's `json_extract` does); a `\u0000` escape in it (a name typed with a NUL)
/// would make PostgreSQL refuse to extract *any* field of the record, so it is read
/// as U+FFFD, as [`pg_text`] binds such a value.
/// Since migration 4 packs records, the field is a column too: the column is read
/// for a packed row, the record's JSON for a row written before.
macro_rules! record_field {
    ($column:literal, $key:literal) => {
        concat!(
            "(CASE WHEN s.dict_id IS NULL THEN (replace(s.record, '\\u0000', '\\ufffd')::json ->> '",
            $key,
            "') COLLATE \"C\" ELSE s.",
            $column,
            " END)"
        )
    };
}

/// How `f` is kept; `None` for a field of another log, which a [`SignInFilter`] never
/// names.
fn column(f: Field) -> Option<Column> {
    let (sql, kind, lowered, nullable) = match f {
        Field::CreatedDateTime => ("s.created_ms", Kind::Int, false, false),
        Field::UserPrincipalName => ("s.user_key", Kind::Text, true, true),
        Field::UserId => ("s.user_id", Kind::Text, false, true),
        Field::AppId => ("s.app_id", Kind::Text, false, true),
        Field::AppDisplayName => (
            record_field!("app_name", "appDisplayName"),
            Kind::Text,
            false,
            true,
        ),
        Field::ResourceId => (
            record_field!("resource_id", "resourceId"),
            Kind::Text,
            false,
            true,
        ),
        Field::IpAddress => ("s.ip", Kind::Text, false, true),
        Field::CorrelationId => ("s.correlation_id", Kind::Text, false, false),
        Field::StatusErrorCode => ("s.error_code", Kind::Int, false, false),
        Field::ConditionalAccessStatus => ("coalesce(s.ca_status, 0)", Kind::Int, false, false),
        Field::IsInteractive => ("s.interactive", Kind::Bool, false, false),
        Field::ClientAppUsed => (
            record_field!("client_app", "clientAppUsed"),
            Kind::Text,
            false,
            true,
        ),
        Field::Id => ("s.id", Kind::Text, false, false),
        _ => return None,
    };
    let indexed = matches!(f, Field::AppId | Field::CorrelationId | Field::Id);
    Some(Column {
        sql,
        kind,
        lowered,
        nullable,
        indexed,
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

/// `v` as a value of the column's type (strings ASCII-lowered, as both sides of a
/// comparison are), or `None` for a value of another kind, which `parse` never yields
/// (it type-checks) and which then compares as unequal, as `matches` has it.
fn value_param(f: Field, c: Column, v: &Value) -> Option<Param> {
    Some(match (c.kind, v) {
        (Kind::Int, Value::String(s)) if f == Field::ConditionalAccessStatus => {
            Box::new(match s.as_str() {
                "success" => 1i64,
                "failure" => 2,
                "notApplied" => 0,
                _ => -1,
            })
        }
        (Kind::Int, Value::Int(i) | Value::DateTimeMs(i)) => Box::new(*i),
        (Kind::Bool, Value::Bool(b)) => Box::new(*b),
        (Kind::Text, Value::String(s)) => Box::new(pg_text(&s.to_ascii_lowercase()).into_owned()),
        _ => return None,
    })
}

/// The column as compared with a value: `lower(…)` for a text column whose strings
/// are stored as they came.
fn compared(c: Column) -> Cow<'static, str> {
    if c.kind == Kind::Text && !c.lowered {
        Cow::Owned(format!("lower({})", c.sql))
    } else {
        Cow::Borrowed(c.sql)
    }
}

/// Ranges (bytewise, as the `"C"` collation orders) that hold every string equal to
/// `s` but for ASCII case, for an index to seek: before the first ASCII letter every
/// variant has `s`'s bytes; at it, the letter in one case or the other; after it, a
/// variant lies between the rest upper-cased and the rest lower-cased (upper case
/// sorts first). So two narrow ranges (one, `s` itself, without letters), where the
/// one range from `s` upper-cased to `s` lower-cased would hold, for a value starting
/// with a letter, most of the values of the column.
fn case_variants(s: &str) -> Vec<(String, String)> {
    let Some(i) = s.bytes().position(|b| b.is_ascii_alphabetic()) else {
        return vec![(s.to_string(), s.to_string())];
    };
    let (head, rest) = (&s[..i], &s[i + 1..]);
    let letter = char::from(s.as_bytes()[i]);
    [letter.to_ascii_uppercase(), letter.to_ascii_lowercase()]
        .into_iter()
        .map(|l| {
            (
                format!("{head}{l}{}", rest.to_ascii_uppercase()),
                format!("{head}{l}{}", rest.to_ascii_lowercase()),
            )
        })
        .collect()
}

fn expr_sql(e: &Expr, p: &mut Vec<Param>) -> String {
    match e {
        Expr::And(a, b) => format!("({} AND {})", expr_sql(a, p), expr_sql(b, p)),
        Expr::Or(a, b) => format!("({} OR {})", expr_sql(a, p), expr_sql(b, p)),
        Expr::Not(a) => format!("(NOT {})", expr_sql(a, p)),
        Expr::StartsWith { field, prefix } => {
            let Some(c) = column(*field) else {
                return "FALSE".into();
            };
            if c.kind != Kind::Text {
                // Only string fields take startswith (parse checks it).
                return "FALSE".into();
            }
            let escaped = pg_text(&prefix.to_ascii_lowercase())
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let ph = bind(p, format!("{escaped}%"));
            // ASCII-case-insensitive, as SQLite's LIKE: both sides lowered.
            let like = format!("lower({}) LIKE {ph}::text ESCAPE '\\'", c.sql);
            if c.nullable {
                format!("coalesce({like}, FALSE)")
            } else {
                format!("({like})")
            }
        }
        Expr::Cmp { field, op, value } => {
            let Some(c) = column(*field) else {
                return "FALSE".into();
            };
            let col = compared(c);
            match (op, value) {
                (Op::Eq, Value::Null) => format!("({} IS NULL)", c.sql),
                (Op::Ne, Value::Null) => format!("({} IS NOT NULL)", c.sql),
                (op, v) => {
                    let Some(param) = value_param(*field, c, v) else {
                        return if *op == Op::Ne { "TRUE" } else { "FALSE" }.into();
                    };
                    let ph = bind_boxed(p, param);
                    match op {
                        Op::Ne if c.nullable => format!("({} IS NULL OR {col} <> {ph})", c.sql),
                        Op::Eq if c.indexed => {
                            let Value::String(s) = v else {
                                return "FALSE".into();
                            };
                            let ranges = case_variants(&pg_text(s))
                                .into_iter()
                                .map(|(lo, hi)| {
                                    let (lo, hi) = (bind(p, lo), bind(p, hi));
                                    format!("({} >= {lo} AND {} <= {hi})", c.sql, c.sql)
                                })
                                .collect::<Vec<_>>()
                                .join(" OR ");
                            // The ranges hold every match and are never null but for a
                            // null column, where the exact test is false: two-valued.
                            format!("(({ranges}) AND coalesce({col} = {ph}, FALSE))")
                        }
                        op if c.nullable => format!("coalesce({col} {} {ph}, FALSE)", op_sql(*op)),
                        op => format!("({col} {} {ph})", op_sql(*op)),
                    }
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
        let mut p = Vec::new();
        let sql = to_sql(&f, &mut p);
        assert!(!sql.contains("Ad"), "no request text in the SQL: {sql}");
        assert_eq!(p.len(), 3);
        assert!(
            sql.contains("(s.created_ms >= $1)")
                && sql.contains("(s.error_code <> $2)")
                && sql.contains("lower(s.user_key) LIKE $3::text ESCAPE '\\'"),
            "{sql}"
        );
        // Numbered after what the statement already binds.
        let mut p: Vec<Param> = vec![Box::new(1i64), Box::new(2i64)];
        let f = SignInFilter::parse("correlationId eq 'AB-1' and ipAddress ne '1.2.3.4'")
            .expect("valid");
        let sql = to_sql(&f, &mut p);
        assert_eq!(
            sql,
            "((((s.correlation_id >= $4 AND s.correlation_id <= $5) OR (s.correlation_id >= $6 AND s.correlation_id <= $7)) \
             AND coalesce(lower(s.correlation_id) = $3, FALSE)) \
             AND (s.ip IS NULL OR lower(s.ip) <> $8))"
        );
        assert_eq!(p.len(), 8);
    }

    #[test]
    fn every_case_variant_lies_in_a_range() {
        assert_eq!(
            case_variants("5b7A-x"),
            vec![
                ("5B7A-X".to_string(), "5B7a-x".to_string()),
                ("5b7A-X".to_string(), "5b7a-x".to_string())
            ]
        );
        assert_eq!(
            case_variants("12-3"),
            vec![("12-3".to_string(), "12-3".to_string())]
        );
        let s = "aB1cé_D";
        let ranges = case_variants(s);
        // All 2^4 variants of the four letters.
        for mask in 0..16u32 {
            let mut k = 0;
            let v: String = s
                .chars()
                .map(|c| {
                    if c.is_ascii_alphabetic() {
                        k += 1;
                        if mask & (1 << (k - 1)) != 0 {
                            return c.to_ascii_uppercase();
                        }
                        return c.to_ascii_lowercase();
                    }
                    c
                })
                .collect();
            assert!(
                ranges
                    .iter()
                    .any(|(lo, hi)| lo.as_str() <= v.as_str() && v.as_str() <= hi.as_str()),
                "{v}"
            );
        }
    }

    #[test]
    fn nul_becomes_the_replacement_character() {
        assert_eq!(pg_text("a\0b"), "a\u{fffd}b");
        assert!(matches!(pg_text("ab"), Cow::Borrowed("ab")));
    }
}
