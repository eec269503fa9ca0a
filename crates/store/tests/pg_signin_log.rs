//! [`SignInLog`] and [`AuditLog`] on both engines: each scenario runs on SQLite and on
//! PostgreSQL, checks the expected values on each (computed here from the records
//! written, the `$filter`s by `portvakt_core::filter::matches`), and checks that the
//! two engines gave the same answer to every question.

mod common;

use portvakt_core::audit::{AppIdentity, DirectoryAudit, InitiatedBy, TargetResource};
use portvakt_core::filter::{Field, SignInFilter, Value};
use portvakt_core::signin::StoredSignIn;
use portvakt_store::{
    AuditPage, AuditQuery, FactsRow, SignInLog, SignInQuery, SignInRow, SignInStats, StatsQuery,
    Store,
};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

const DAY: i64 = 86_400_000;
/// 2027-01-15T08:00:00Z.
const T0: i64 = 1_800_000_000_000;
/// The overview's five-minute buckets.
const BUCKET: i64 = 300_000;

/// Assert that every engine gave the same answer, and return it.
fn agree<T: PartialEq + Debug + Clone>(what: &str, answers: &[(&str, T)]) -> T {
    let (first, a) = &answers[0];
    for (name, b) in &answers[1..] {
        assert_eq!(a, b, "{what}: {first} and {name} disagree");
    }
    a.clone()
}

/// A deterministic xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
}

const RESULTS: [&str; 4] = ["success", "failure", "notApplied", "reportOnlyFailure"];
/// (user key, user principal name as shown, user id): known users, an unknown one, a
/// name with an underscore, and no user (a service principal).
const USERS: [Option<(&str, &str, Option<&str>)>; 6] = [
    Some(("kim@x", "Kim@X", Some("uid-kim"))),
    Some(("alex@x", "alex@X", Some("uid-alex"))),
    Some(("k_9@x", "K_9@x", Some("uid-k9"))),
    Some((
        "admin@contoso.example",
        "ADMIN@contoso.example",
        Some("uid-admin"),
    )),
    Some(("nobody@x", "Nobody@x", None)),
    None,
];

fn id_of(n: u32) -> String {
    format!("0190a1b2-{n:04x}-7abc-8def-{n:012x}")
}

/// `n` records from `T0`, in time order (as one node's writer appends them), with
/// every column and set varied.
fn world(n: u32) -> Vec<StoredSignIn> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut t = T0;
    let mut out: Vec<StoredSignIn> = Vec::new();
    for i in 0..n {
        t += (rng.next() % 400_000) as i64;
        let user = *rng.pick(&USERS);
        let status = (rng.next() % 3) as u8;
        let error_code = match status {
            0 => 0,
            1 => *rng.pick(&[3010, 4001, 4002, 1103]),
            _ => 5001,
        };
        // Every tenth record shares the correlation id of the one before (a retry).
        let correlation_id = match out.last() {
            Some(prev) if i % 10 == 0 => prev.correlation_id.clone(),
            _ => format!("5B7A{i:04X}-0C8B-4A47-A2B8-9F4B1D2E3C4D"),
        };
        let mut record = serde_json::Map::new();
        if let Some(name) = rng.pick(&[Some("Web Portal"), Some("Reports API"), Some("Åsa"), None])
        {
            record.insert("appDisplayName".into(), (*name).into());
        }
        if rng.next().is_multiple_of(2) {
            record.insert("resourceId".into(), "api://reports".into());
        }
        if let Some(c) = rng.pick(&[
            Some("Browser"),
            Some("Mobile Apps and Desktop clients"),
            None,
        ]) {
            record.insert("clientAppUsed".into(), (*c).into());
        }
        if let Some((_, upn, _)) = user {
            record.insert("userPrincipalName".into(), upn.into());
        }
        let facts = (!rng.next().is_multiple_of(3)).then(|| format!("{{\"n\":{i}}}"));
        let group_set = match (&facts, rng.next() % 4) {
            (Some(_), g @ 0..=2) => Some((format!("g{g}"), format!("[\"group-{g}\"]"))),
            _ => None,
        };
        let (policy_set, policy_results) = if rng.next().is_multiple_of(2) {
            let set = *rng.pick(&["p1", "p2"]);
            (
                Some((set.to_string(), format!("[{{\"id\":\"{set}\"}}]"))),
                (0..3).map(|_| *rng.pick(&RESULTS)).collect(),
            )
        } else {
            (None, vec![])
        };
        out.push(StoredSignIn {
            id: id_of(i),
            tenant_id: if rng.next().is_multiple_of(5) {
                "u"
            } else {
                "t"
            }
            .into(),
            created_ms: t,
            user_key: user.map(|u| u.0.to_string()),
            user_id: user.and_then(|u| u.2).map(str::to_string),
            app_id: rng
                .pick(&[Some("web"), Some("api"), Some("narrow"), None])
                .map(str::to_string),
            status,
            error_code,
            correlation_id,
            ip: (i % 7 != 0).then(|| format!("10.0.0.{}", i % 5)),
            ca_status: *rng.pick(&[None, Some(0), Some(1), Some(2)]),
            interactive: user.is_some() && rng.next().is_multiple_of(2),
            app_display_name: text_of(&record, "appDisplayName"),
            resource_id: text_of(&record, "resourceId"),
            client_app_used: text_of(&record, "clientAppUsed"),
            record: serde_json::Value::Object(record).to_string(),
            facts,
            group_set,
            policy_set,
            policy_results,
        });
    }
    out
}

/// A string field of a record, for the columns that repeat it.
fn text_of(record: &serde_json::Map<String, serde_json::Value>, key: &str) -> Option<String> {
    record.get(key).and_then(|v| v.as_str()).map(str::to_string)
}

/// Append `recs` in batches of several sizes (1, 7, 512, the rest).
async fn append(st: &dyn Store, recs: &[StoredSignIn]) {
    let mut at = 0;
    for size in [1usize, 7, 512, usize::MAX] {
        let end = at + size.min(recs.len() - at);
        st.append_signins(&recs[at..end]).await.expect("append");
        at = end;
        if at == recs.len() {
            break;
        }
    }
    st.append_signins(&[]).await.expect("an empty batch");
}

/// A record's field as `$filter` sees it, from what was written.
fn field(s: &StoredSignIn, f: Field) -> Value {
    let text = |v: &Option<String>| v.clone().map(Value::String).unwrap_or(Value::Null);
    let record: serde_json::Value = serde_json::from_str(&s.record).expect("record");
    let in_record = |k: &str| {
        record[k]
            .as_str()
            .map(|v| Value::String(v.into()))
            .unwrap_or(Value::Null)
    };
    match f {
        Field::CreatedDateTime => Value::DateTimeMs(s.created_ms),
        Field::UserPrincipalName => text(&s.user_key),
        Field::UserId => text(&s.user_id),
        Field::AppId => text(&s.app_id),
        Field::AppDisplayName => in_record("appDisplayName"),
        Field::ResourceId => in_record("resourceId"),
        Field::IpAddress => text(&s.ip),
        Field::CorrelationId => Value::String(s.correlation_id.clone()),
        Field::StatusErrorCode => Value::Int(s.error_code),
        Field::ConditionalAccessStatus => Value::String(
            match s.ca_status {
                Some(1) => "success",
                Some(2) => "failure",
                _ => "notApplied",
            }
            .into(),
        ),
        Field::IsInteractive => Value::Bool(s.interactive),
        Field::ClientAppUsed => in_record("clientAppUsed"),
        Field::Id => Value::String(s.id.clone()),
        _ => Value::Null,
    }
}

/// What a row says, but its engine's cursor (compared across engines).
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    id: String,
    created_ms: i64,
    user_key: Option<String>,
    user_id: Option<String>,
    app_id: Option<String>,
    status: u8,
    error_code: i64,
    correlation_id: String,
    ip: Option<String>,
    interactive: bool,
    record: String,
    policy_set: Option<String>,
    facts: Option<String>,
    group_ids: Option<String>,
}

fn seen(r: &SignInRow) -> Seen {
    Seen {
        id: r.id.clone(),
        created_ms: r.created_ms,
        user_key: r.user_key.clone(),
        user_id: r.user_id.clone(),
        app_id: r.app_id.clone(),
        status: r.status,
        error_code: r.error_code,
        correlation_id: r.correlation_id.clone(),
        ip: r.ip.clone(),
        interactive: r.interactive,
        record: r.record.clone(),
        policy_set: r.policy_set.clone(),
        facts: r.facts.clone(),
        group_ids: r.group_ids.clone(),
    }
}

/// What a row of `s` must say.
fn expected_row(s: &StoredSignIn, with_facts: bool) -> Seen {
    Seen {
        id: s.id.clone(),
        created_ms: s.created_ms,
        user_key: s.user_key.clone(),
        user_id: s.user_id.clone(),
        app_id: s.app_id.clone(),
        status: s.status,
        error_code: s.error_code,
        correlation_id: s.correlation_id.clone(),
        ip: s.ip.clone(),
        interactive: s.interactive,
        record: s.record.clone(),
        policy_set: s.policy_set.as_ref().map(|p| p.1.clone()),
        facts: if with_facts { s.facts.clone() } else { None },
        group_ids: if with_facts {
            s.group_set.as_ref().map(|g| g.1.clone())
        } else {
            None
        },
    }
}

/// Every page of `q`, `page` rows at a time, following the cursor; checks that the
/// cursor is set exactly when a page is full and more follow, and that seqs fall.
async fn walk(st: &dyn Store, q: &SignInQuery, page: u32, with_facts: bool) -> Vec<SignInRow> {
    let mut q = q.clone();
    q.limit = page;
    let mut out: Vec<SignInRow> = Vec::new();
    loop {
        let p = st.signins(&q, with_facts).await.expect("page");
        assert!(p.rows.len() <= page as usize);
        let done = p.next.is_none();
        if !done {
            assert_eq!(
                p.rows.len(),
                page as usize,
                "a cursor after a full page only"
            );
            assert_eq!(p.next, p.rows.last().map(|r| r.seq));
        }
        out.extend(p.rows);
        if done {
            break;
        }
        q.before_seq = p.next;
    }
    assert!(
        out.windows(2).all(|w| w[0].seq > w[1].seq),
        "newest first, each once"
    );
    out
}

fn ids(rows: &[SignInRow]) -> Vec<String> {
    rows.iter().map(|r| r.id.clone()).collect()
}

/// The ids of the records of tenant `t` that `pred` selects, newest first.
fn want(all: &[StoredSignIn], t: &str, pred: impl Fn(&StoredSignIn) -> bool) -> Vec<String> {
    all.iter()
        .rev()
        .filter(|s| s.tenant_id == t && pred(s))
        .map(|s| s.id.clone())
        .collect()
}

fn tenant_q(t: &str) -> SignInQuery {
    SignInQuery {
        tenant_id: t.into(),
        limit: 50,
        ..Default::default()
    }
}

#[tokio::test]
async fn pages_run_newest_first_and_each_query_field_selects_exactly_its_records() {
    let all = world(1400);
    let engines = common::engines().await;
    for (_, st) in &engines {
        append(st.as_ref(), &all).await;
    }
    let tq = tenant_q("t");
    let mid = all[600].created_ms;
    let late = all[900].created_ms;
    let cid = all[500].correlation_id.clone();
    let shared_cid = all[300].correlation_id.clone();
    assert_eq!(
        all[299].correlation_id, shared_cid,
        "a shared correlation id"
    );
    let q = |f: &dyn Fn(&mut SignInQuery)| {
        let mut q = tq.clone();
        f(&mut q);
        q
    };
    type Pred = Box<dyn Fn(&StoredSignIn) -> bool>;
    let cases: Vec<(&str, SignInQuery, Pred)> = vec![
        ("the tenant", tq.clone(), Box::new(|_| true)),
        ("another tenant", tenant_q("u"), Box::new(|_| true)),
        ("a tenant with none", tenant_q("none"), Box::new(|_| false)),
        (
            "since",
            q(&|q| q.since_ms = Some(mid)),
            Box::new(move |s| s.created_ms >= mid),
        ),
        (
            "until",
            q(&|q| q.until_ms = Some(mid)),
            Box::new(move |s| s.created_ms < mid),
        ),
        (
            "since and until",
            q(&|q| {
                q.since_ms = Some(mid);
                q.until_ms = Some(late);
            }),
            Box::new(move |s| s.created_ms >= mid && s.created_ms < late),
        ),
        (
            "user, any case",
            q(&|q| q.user = Some("KIM@X".into())),
            Box::new(|s| s.user_key.as_deref() == Some("kim@x")),
        ),
        (
            "user in a window, failures",
            q(&|q| {
                q.user = Some("alex@x".into());
                q.since_ms = Some(T0 + DAY);
                q.until_ms = Some(late);
                q.status = Some(1);
            }),
            Box::new(move |s| {
                s.user_key.as_deref() == Some("alex@x")
                    && s.created_ms >= T0 + DAY
                    && s.created_ms < late
                    && s.status == 1
            }),
        ),
        (
            "user before every record",
            q(&|q| {
                q.user = Some("kim@x".into());
                q.until_ms = Some(1);
            }),
            Box::new(|_| false),
        ),
        (
            "unknown user",
            q(&|q| q.user = Some("nobody@x".into())),
            Box::new(|s| s.user_key.as_deref() == Some("nobody@x")),
        ),
        (
            "user id",
            q(&|q| q.user_id = Some("uid-k9".into())),
            Box::new(|s| s.user_id.as_deref() == Some("uid-k9")),
        ),
        (
            "app",
            q(&|q| q.app_id = Some("narrow".into())),
            Box::new(|s| s.app_id.as_deref() == Some("narrow")),
        ),
        (
            "app and status",
            q(&|q| {
                q.app_id = Some("web".into());
                q.status = Some(0);
            }),
            Box::new(|s| s.app_id.as_deref() == Some("web") && s.status == 0),
        ),
        (
            "interrupted",
            q(&|q| q.status = Some(2)),
            Box::new(|s| s.status == 2),
        ),
        (
            "error code",
            q(&|q| q.error_code = Some(4001)),
            Box::new(|s| s.error_code == 4001),
        ),
        (
            "correlation id",
            q(&|q| q.correlation_id = Some(cid.clone())),
            Box::new({
                let cid = cid.clone();
                move |s| s.correlation_id == cid
            }),
        ),
        (
            "a shared correlation id",
            q(&|q| q.correlation_id = Some(shared_cid.clone())),
            Box::new({
                let cid = shared_cid.clone();
                move |s| s.correlation_id == cid
            }),
        ),
        (
            "ip",
            q(&|q| q.ip = Some("10.0.0.3".into())),
            Box::new(|s| s.ip.as_deref() == Some("10.0.0.3")),
        ),
        (
            "conditional access notApplied (or not evaluated)",
            q(&|q| q.ca_status = Some(0)),
            Box::new(|s| s.ca_status.unwrap_or(0) == 0),
        ),
        (
            "conditional access failure",
            q(&|q| q.ca_status = Some(2)),
            Box::new(|s| s.ca_status == Some(2)),
        ),
        (
            "interactive",
            q(&|q| q.interactive = Some(true)),
            Box::new(|s| s.interactive),
        ),
        (
            "not interactive",
            q(&|q| q.interactive = Some(false)),
            Box::new(|s| !s.interactive),
        ),
        (
            "id",
            q(&|q| q.id = Some(id_of(777))),
            Box::new(|s| s.id == id_of(777)),
        ),
        (
            "id of another tenant",
            q(&|q| {
                q.id = Some(
                    all.iter()
                        .find(|s| s.tenant_id == "u")
                        .expect("u")
                        .id
                        .clone(),
                )
            }),
            Box::new(|_| false),
        ),
    ];
    let mut matched = 0;
    for (what, query, pred) in &cases {
        let expected = want(&all, &query.tenant_id, pred);
        matched += usize::from(!expected.is_empty());
        let mut answers = Vec::new();
        for (name, st) in &engines {
            let got = ids(&walk(st.as_ref(), query, 7, false).await);
            assert_eq!(got, expected, "{name}: {what}");
            // One page of all holds the same, without a cursor.
            let one = st
                .signins(
                    &SignInQuery {
                        limit: 1000,
                        ..query.clone()
                    },
                    false,
                )
                .await
                .expect("one page");
            // (At most 1000 a page.)
            let first = &expected[..expected.len().min(1000)];
            assert_eq!(ids(&one.rows), first, "{name}: {what}, one page");
            assert_eq!(one.next.is_some(), expected.len() > 1000, "{name}: {what}");
            answers.push((*name, one.rows.iter().map(seen).collect::<Vec<_>>()));
        }
        agree(what, &answers);
    }
    assert!(
        matched >= cases.len() - 3,
        "the cases are not trivially empty"
    );

    // Whole rows: every column as written, the policy set joined in, and with facts
    // their facts and group ids; both engines expand a record alike.
    let mut answers = Vec::new();
    for (name, st) in &engines {
        let mut rows = Vec::new();
        for with_facts in [false, true] {
            let got = walk(st.as_ref(), &tq, 200, with_facts).await;
            let expected: Vec<Seen> = all
                .iter()
                .rev()
                .filter(|s| s.tenant_id == "t")
                .map(|s| expected_row(s, with_facts))
                .collect();
            assert_eq!(got.iter().map(seen).collect::<Vec<_>>(), expected, "{name}");
            rows.push(got.iter().map(|r| r.expand()).collect::<Vec<_>>());
        }
        answers.push((*name, rows));
    }
    agree("expanded records", &answers);

    // A page that ends exactly at the last record has no cursor; a limit of 0 is 1,
    // and more than 1000 is 1000.
    for (name, st) in &engines {
        let n = want(&all, "u", |_| true).len() as u32;
        let exact = st
            .signins(
                &SignInQuery {
                    limit: n,
                    ..tenant_q("u")
                },
                false,
            )
            .await
            .expect("exact");
        assert_eq!((exact.rows.len() as u32, exact.next), (n, None), "{name}");
        let zero = st
            .signins(
                &SignInQuery {
                    limit: 0,
                    ..tq.clone()
                },
                false,
            )
            .await
            .expect("zero");
        assert_eq!(zero.rows.len(), 1, "{name}");
        assert!(zero.next.is_some());
        let big = st
            .signins(
                &SignInQuery {
                    limit: 5000,
                    ..tq.clone()
                },
                false,
            )
            .await
            .expect("big");
        let in_t = want(&all, "t", |_| true).len();
        assert_eq!(big.rows.len(), in_t.min(1000), "{name}");
        assert_eq!(big.next.is_some(), in_t > 1000, "{name}");
    }

    // By cursor position: the record at a seq (its engine's own), in its tenant only.
    let mut answers = Vec::new();
    for (name, st) in &engines {
        let rows = walk(st.as_ref(), &tq, 500, false).await;
        let target = &rows[123];
        let by_seq = st
            .signins(
                &SignInQuery {
                    seq: Some(target.seq),
                    ..tq.clone()
                },
                false,
            )
            .await
            .expect("by seq");
        assert_eq!(ids(&by_seq.rows), vec![target.id.clone()], "{name}");
        let elsewhere = st
            .signins(
                &SignInQuery {
                    seq: Some(target.seq),
                    ..tenant_q("u")
                },
                false,
            )
            .await
            .expect("by seq");
        assert!(elsewhere.rows.is_empty(), "{name}");
        answers.push((*name, target.id.clone()));
    }
    agree("by seq", &answers);
}

#[tokio::test]
async fn each_filter_expression_selects_exactly_what_matches_says() {
    let all = world(1200);
    let engines = common::engines().await;
    for (_, st) in &engines {
        append(st.as_ref(), &all).await;
    }
    let rfc = portvakt_core::clock::rfc3339_ms;
    let mid = rfc(all[600].created_ms);
    let late = rfc(all[900].created_ms);
    let cid = all[500].correlation_id.to_ascii_lowercase();
    let id = id_of(640).to_ascii_uppercase();
    let filters: Vec<String> = vec![
        "status/errorCode ne 0".into(),
        format!("createdDateTime ge {mid} and status/errorCode ne 0"),
        format!("createdDateTime gt {mid} and createdDateTime le {late}"),
        format!("createdDateTime eq {mid}"),
        format!("createdDateTime lt {mid} or createdDateTime ge {late}"),
        "createdDateTime le 2000-01-01T00:00:00Z".into(),
        "startswith(userPrincipalName,'ADMIN@')".into(),
        "startswith(userPrincipalName,'k_')".into(),
        "startswith(userPrincipalName,'k%')".into(),
        "startswith(userPrincipalName,'')".into(),
        "userPrincipalName eq 'Kim@X'".into(),
        "userPrincipalName ne 'kim@x'".into(),
        "userPrincipalName eq null".into(),
        "appId eq 'narrow' or status/errorCode eq 1103".into(),
        "appId eq 'NARROW'".into(),
        "appId ne 'web'".into(),
        "appId eq null".into(),
        "isInteractive eq true and status/errorCode eq 0".into(),
        "isInteractive".into(),
        "not isInteractive".into(),
        "isInteractive eq false".into(),
        "conditionalAccessStatus eq 'failure'".into(),
        "conditionalAccessStatus eq 'notApplied'".into(),
        "conditionalAccessStatus ne 'success'".into(),
        "conditionalAccessStatus eq 'unknownFutureValue'".into(),
        format!("correlationId eq '{cid}'"),
        format!("correlationId eq {cid}"),
        format!("correlationId ne '{cid}' and status/errorCode eq 4002"),
        format!("id eq '{id}'"),
        "startswith(id,'0190A1B2-02')".into(),
        "ipAddress eq null".into(),
        "not (ipAddress eq null)".into(),
        "ipAddress ne '10.0.0.1'".into(),
        "ipAddress eq '10.0.0.1' and not (status/errorCode eq 0)".into(),
        "status/errorCode ge 4001 and status/errorCode le 4002".into(),
        "status/errorCode gt 4001 or status/errorCode lt 1".into(),
        "not (status/errorCode gt 0)".into(),
        "userId eq null".into(),
        "userId ne null and not isInteractive".into(),
        "userId eq 'UID-KIM'".into(),
        "appDisplayName eq 'web portal'".into(),
        "startswith(appDisplayName,'REP')".into(),
        "appDisplayName eq 'Åsa'".into(),
        "appDisplayName eq 'åsa'".into(),
        "appDisplayName ne 'Åsa'".into(),
        "appDisplayName eq null".into(),
        "resourceId eq 'API://REPORTS'".into(),
        "resourceId eq null or clientAppUsed eq 'browser'".into(),
        "startswith(clientAppUsed,'mobile')".into(),
        "(startswith(appDisplayName,'Web') or startswith(appDisplayName,'Reports')) \
         and not (conditionalAccessStatus eq 'success')"
            .into(),
    ];
    let mut nonempty = 0;
    for text in &filters {
        let f = SignInFilter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let expected = want(&all, "t", |s| {
            portvakt_core::filter::matches(f.expr(), &|fl| field(s, fl))
        });
        nonempty += usize::from(!expected.is_empty());
        let q = SignInQuery {
            filter: Some(f.clone()),
            ..tenant_q("t")
        };
        let mut answers = Vec::new();
        for (name, st) in &engines {
            let got = walk(st.as_ref(), &q, 37, false).await;
            assert_eq!(ids(&got), expected, "{name}: {text}");
            answers.push((*name, got.iter().map(seen).collect::<Vec<_>>()));
        }
        agree(text, &answers);
    }
    assert!(
        nonempty >= filters.len() - 4,
        "{nonempty} of {}",
        filters.len()
    );

    // A filter combines with the simple fields.
    let f = SignInFilter::parse("status/errorCode eq 0").expect("valid");
    let q = SignInQuery {
        filter: Some(f),
        app_id: Some("api".into()),
        since_ms: Some(all[400].created_ms),
        ..tenant_q("t")
    };
    let expected = want(&all, "t", |s| {
        s.error_code == 0
            && s.app_id.as_deref() == Some("api")
            && s.created_ms >= all[400].created_ms
    });
    assert!(!expected.is_empty());
    for (name, st) in &engines {
        assert_eq!(
            ids(&walk(st.as_ref(), &q, 5, false).await),
            expected,
            "{name}"
        );
    }
}

#[tokio::test]
async fn lookups_facts_and_sets() {
    let all = world(900);
    let engines = common::engines().await;
    for (_, st) in &engines {
        append(st.as_ref(), &all).await;
    }
    // The tenant of the newest record with a correlation id (one record of another
    // tenant, newer, shares it).
    let cid = all[100].correlation_id.clone();
    let mut later = all[850].clone();
    later.id = "later".into();
    later.tenant_id = "elsewhere".into();
    later.correlation_id = cid.clone();
    later.created_ms = all[899].created_ms + 1;
    let mut answers = Vec::new();
    for (name, st) in &engines {
        let before = st.signin_tenant(&cid).await.expect("tenant");
        assert_eq!(
            before.as_deref(),
            Some(all[100].tenant_id.as_str()),
            "{name}"
        );
        st.append_signins(std::slice::from_ref(&later))
            .await
            .expect("append");
        let after = st.signin_tenant(&cid).await.expect("tenant");
        assert_eq!(after.as_deref(), Some("elsewhere"), "{name}");
        assert_eq!(st.signin_tenant("no such id").await.expect("none"), None);
        answers.push((*name, (before, after)));
    }
    agree("signin_tenant", &answers);

    // The facts of the tenant since a time, newest first, paged; sign-ins without
    // facts are listed too (without them).
    let since = all[300].created_ms;
    let expected: Vec<FactsSeen> = all
        .iter()
        .rev()
        .filter(|s| s.tenant_id == "t" && s.created_ms >= since)
        .map(|s| {
            (
                s.created_ms,
                s.user_key.clone(),
                s.app_id.clone(),
                s.facts.clone(),
                s.group_set.as_ref().map(|g| g.0.clone()),
            )
        })
        .collect();
    assert!(expected.iter().any(|e| e.3.is_none()) && expected.iter().any(|e| e.3.is_some()));
    let strip = |f: &FactsRow| {
        (
            f.created_ms,
            f.user_key.clone(),
            f.app_id.clone(),
            f.facts.clone(),
            f.group_set.clone(),
        )
    };
    let mut answers = Vec::new();
    for (name, st) in &engines {
        let whole = st
            .signin_facts("t", since, None, 10_000)
            .await
            .expect("facts");
        assert_eq!(
            whole.iter().map(strip).collect::<Vec<_>>(),
            expected,
            "{name}"
        );
        let mut paged = Vec::new();
        let mut before = None;
        loop {
            let page = st.signin_facts("t", since, before, 9).await.expect("page");
            assert!(page.len() <= 9);
            if page.is_empty() {
                break;
            }
            before = page.last().map(|f| f.seq);
            paged.extend(page);
        }
        assert_eq!(
            paged.iter().map(|f| f.seq).collect::<Vec<_>>(),
            whole.iter().map(|f| f.seq).collect::<Vec<_>>(),
            "{name}: paging walks the same list"
        );
        // The facts' seqs are the records' cursor positions.
        let rows = walk(
            st.as_ref(),
            &SignInQuery {
                since_ms: Some(since),
                ..tenant_q("t")
            },
            1000,
            true,
        )
        .await;
        assert_eq!(
            rows.iter()
                .map(|r| (r.seq, r.facts.clone()))
                .collect::<Vec<_>>(),
            whole
                .iter()
                .map(|f| (f.seq, f.facts.clone()))
                .collect::<Vec<_>>(),
            "{name}"
        );
        let zero = st.signin_facts("t", 0, None, 0).await.expect("limit 0");
        assert_eq!(zero.len(), 1, "{name}: a limit of 0 is 1");
        assert!(st
            .signin_facts("none", 0, None, 100)
            .await
            .expect("none")
            .is_empty());
        answers.push((*name, whole.iter().map(strip).collect::<Vec<_>>()));
    }
    agree("signin_facts", &answers);

    // Group sets by hash, in the order asked, those that exist.
    let mut answers = Vec::new();
    for (name, st) in &engines {
        let got = st
            .group_sets(&["g2".into(), "missing".into(), "g0".into(), "g2".into()])
            .await
            .expect("sets");
        assert_eq!(
            got,
            vec![
                ("g2".to_string(), "[\"group-2\"]".to_string()),
                ("g0".to_string(), "[\"group-0\"]".to_string()),
                ("g2".to_string(), "[\"group-2\"]".to_string()),
            ],
            "{name}"
        );
        assert!(st.group_sets(&[]).await.expect("none").is_empty());
        answers.push((*name, got));
    }
    agree("group_sets", &answers);

    // Counts of all time, per tenant.
    let mut answers = Vec::new();
    for (name, st) in &engines {
        let mut got = Vec::new();
        for t in ["t", "u", "elsewhere", "none"] {
            let n = st.count_signins(t).await.expect("count");
            let expected = all.iter().filter(|s| s.tenant_id == t).count() as u64
                + u64::from(t == "elsewhere");
            assert_eq!(n, expected, "{name}: {t}");
            got.push(n);
        }
        answers.push((*name, got));
    }
    agree("count_signins", &answers);
}

/// (time, user key, application, facts, group set) of a [`FactsRow`].
type FactsSeen = (
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Records; (bucket, status) → n; error code → n; (set, position, result, bucket) → n.
type Counts = (
    u64,
    BTreeMap<(i64, u8), u64>,
    BTreeMap<i64, u64>,
    BTreeMap<(String, i64, String, i64), u64>,
);

/// [`SignInStats`]'s fields, comparable.
type StatsSeen = (
    u64,
    Vec<(i64, u8, u64)>,
    Vec<(i64, u64)>,
    Vec<(String, i64, String, i64, u64)>,
    Vec<(String, String)>,
);

/// The overview's counts, as `signin_stats` should give them from `since`, computed
/// from the records (whole five-minute buckets from the one holding `since`).
fn expected_stats(all: &[StoredSignIn], tenant: &str, since: i64, bucket: i64) -> Counts {
    let from = since.div_euclid(BUCKET) * BUCKET;
    let window: Vec<&StoredSignIn> = all
        .iter()
        .filter(|r| r.tenant_id == tenant && r.created_ms >= from)
        .collect();
    let mut by_status = BTreeMap::new();
    let mut errors = BTreeMap::new();
    let mut policies = BTreeMap::new();
    for r in &window {
        let b = r.created_ms.div_euclid(bucket) * bucket;
        *by_status.entry((b, r.status)).or_default() += 1;
        if r.status == 1 {
            *errors.entry(r.error_code).or_default() += 1;
        }
        if let Some((h, _)) = &r.policy_set {
            for (i, res) in r.policy_results.iter().enumerate() {
                *policies
                    .entry((h.clone(), i as i64, res.to_string(), b))
                    .or_default() += 1;
            }
        }
    }
    (window.len() as u64, by_status, errors, policies)
}

fn check_stats(name: &str, got: &SignInStats, want: &Counts) {
    assert_eq!(got.records, want.0, "{name}: records");
    let by_status: BTreeMap<(i64, u8), u64> = got
        .by_status
        .iter()
        .map(|(b, s, n)| ((*b, *s), *n))
        .collect();
    assert_eq!(by_status, want.1, "{name}: by status");
    assert!(
        got.by_status.windows(2).all(|w| w[0].0 <= w[1].0),
        "{name}: by bucket"
    );
    let errors: BTreeMap<i64, u64> = got.errors.iter().copied().collect();
    assert_eq!(errors, want.2, "{name}: errors");
    assert!(
        got.errors.windows(2).all(|w| w[0].1 >= w[1].1),
        "{name}: most frequent first"
    );
    let policies: BTreeMap<(String, i64, String, i64), u64> = got
        .policies
        .iter()
        .map(|(h, i, r, b, n)| ((h.clone(), *i, r.clone(), *b), *n))
        .collect();
    assert_eq!(policies, want.3, "{name}: policies");
    assert!(
        got.policies.windows(2).all(|w| w[0].3 <= w[1].3),
        "{name}: policies by bucket"
    );
}

/// The stats as compared across engines: as given (both order by bucket, then by the
/// grouping key), but the errors, whose order among equal counts the contract leaves
/// open ("most frequent first").
fn stats_key(s: &SignInStats) -> StatsSeen {
    let mut errors = s.errors.clone();
    errors.sort();
    (
        s.records,
        s.by_status.clone(),
        errors,
        s.policies.clone(),
        s.policy_sets.clone(),
    )
}

#[tokio::test]
async fn overview_counts_equal_a_count_of_the_records_before_and_after_the_purge() {
    let all = world(3000);
    let engines = common::engines().await;
    for (_, st) in &engines {
        // In the writer's batch size, so that counts of one key meet across batches.
        for chunk in all.chunks(512) {
            st.append_signins(chunk).await.expect("append");
        }
    }
    let hour = 3_600_000;
    let since = all[700].created_ms;
    let mut answers = Vec::new();
    for (name, st) in &engines {
        let mut got = Vec::new();
        for (tenant, since, bucket) in [
            ("t", since, hour),
            ("t", 0, DAY),
            ("u", since, BUCKET),
            ("t", since, 1),
        ] {
            let s = st
                .signin_stats(&StatsQuery {
                    tenant_id: tenant.into(),
                    since_ms: since,
                    bucket_ms: bucket,
                })
                .await
                .expect("stats");
            // A bucket narrower than five minutes is five minutes.
            check_stats(
                name,
                &s,
                &expected_stats(&all, tenant, since, bucket.max(BUCKET)),
            );
            let mut sets: Vec<&str> = s.policies.iter().map(|p| p.0.as_str()).collect();
            sets.sort_unstable();
            sets.dedup();
            assert_eq!(
                s.policy_sets,
                sets.iter()
                    .map(|h| (h.to_string(), format!("[{{\"id\":\"{h}\"}}]")))
                    .collect::<Vec<_>>(),
                "{name}: the sets named"
            );
            got.push(stats_key(&s));
        }
        let none = st
            .signin_stats(&StatsQuery {
                tenant_id: "none".into(),
                since_ms: 0,
                bucket_ms: hour,
            })
            .await
            .expect("stats");
        assert_eq!((none.records, none.policy_sets.len()), (0, 0));
        answers.push((*name, got));
    }
    agree("signin_stats", &answers);

    // Purge in batches: only records older than the cutoff go, at most a batch at a
    // time, oldest first; their facts go with them, and sets no record names.
    let cutoff = all[1800].created_ms + 1;
    let older = all.iter().filter(|s| s.created_ms < cutoff).count() as u64;
    let mut answers = Vec::new();
    for (name, st) in &engines {
        let mut batches = Vec::new();
        loop {
            let n = st.purge_signins(cutoff, 250).await.expect("purge");
            batches.push(n);
            if n == 0 {
                break;
            }
        }
        assert!(batches.iter().all(|n| *n <= 250), "{name}: {batches:?}");
        assert_eq!(batches.iter().sum::<u64>(), older, "{name}: {batches:?}");
        assert_eq!(batches.len(), older.div_ceil(250) as usize + 1, "{name}");
        let left: Vec<&StoredSignIn> = all.iter().filter(|s| s.created_ms >= cutoff).collect();
        for t in ["t", "u"] {
            assert_eq!(
                st.count_signins(t).await.expect("count"),
                left.iter().filter(|s| s.tenant_id == t).count() as u64,
                "{name}"
            );
        }
        let rows = walk(st.as_ref(), &tenant_q("t"), 1000, true).await;
        assert_eq!(
            ids(&rows),
            left.iter()
                .rev()
                .filter(|s| s.tenant_id == "t")
                .map(|s| s.id.clone())
                .collect::<Vec<_>>(),
            "{name}: the newer records stay"
        );
        let facts = st.signin_facts("t", 0, None, 10_000).await.expect("facts");
        assert_eq!(facts.len(), rows.len(), "{name}");
        // The overview keeps the buckets at and after the cutoff's, whole.
        for (tenant, bucket) in [("t", hour), ("u", BUCKET)] {
            let s = st
                .signin_stats(&StatsQuery {
                    tenant_id: tenant.into(),
                    since_ms: 0,
                    bucket_ms: bucket,
                })
                .await
                .expect("stats");
            check_stats(name, &s, &expected_stats(&all, tenant, cutoff, bucket));
        }
        // Every set is still named by a record left, so all stay; purge the rest and
        // they go.
        let sets = st
            .group_sets(&["g0".into(), "g1".into(), "g2".into()])
            .await
            .expect("sets");
        assert_eq!(sets.len(), 3, "{name}");
        while st.purge_signins(i64::MAX, 500).await.expect("purge") > 0 {}
        assert_eq!(st.count_signins("t").await.expect("count"), 0);
        assert!(st
            .group_sets(&["g0".into(), "g1".into(), "g2".into()])
            .await
            .expect("sets")
            .is_empty());
        let s = st
            .signin_stats(&StatsQuery {
                tenant_id: "t".into(),
                since_ms: 0,
                bucket_ms: hour,
            })
            .await
            .expect("stats");
        assert_eq!((s.records, s.policies.len()), (0, 0), "{name}");
        answers.push((*name, batches));
    }
    agree("purge batches", &answers);
}

#[tokio::test]
async fn a_set_lives_as_long_as_a_record_names_it() {
    let mut all = world(3);
    for (i, s) in all.iter_mut().enumerate() {
        s.created_ms = T0 + [0, 1, 10][i];
        s.facts = Some("{}".into());
        s.group_set = Some((
            ["a", "b", "a"][i].into(),
            format!("[\"{}\"]", ["a", "b", "a"][i]),
        ));
        s.policy_set = Some((["pa", "pb", "pa"][i].into(), "[]".into()));
    }
    for (name, st) in common::engines().await {
        st.append_signins(&all[..2]).await.expect("append");
        st.append_signins(&all[2..]).await.expect("append");
        let sets = |st: Arc<dyn Store>| async move {
            let mut v: Vec<String> = st
                .group_sets(&["a".into(), "b".into()])
                .await
                .expect("sets")
                .into_iter()
                .map(|x| x.0)
                .collect();
            v.sort();
            v
        };
        // The first two go: b is named by none left, a still by the third.
        assert_eq!(
            st.purge_signins(T0 + 5, 100).await.expect("purge"),
            2,
            "{name}"
        );
        assert_eq!(sets(st.clone()).await, vec!["a".to_string()], "{name}");
        let page = st
            .signins(&tenant_q(&all[2].tenant_id), true)
            .await
            .expect("q");
        assert_eq!(page.rows[0].group_ids.as_deref(), Some("[\"a\"]"), "{name}");
        assert_eq!(page.rows[0].policy_set.as_deref(), Some("[]"), "{name}");
        assert_eq!(st.purge_signins(T0 + 100, 100).await.expect("purge"), 1);
        assert!(sets(st.clone()).await.is_empty(), "{name}");
    }
}

#[tokio::test]
async fn postgres_writes_blocks_and_purges_whole_blocks_with_their_keys() {
    let (st, _, c) = common::pg_with_client().await;
    let all = world(600);
    append(&st, &all).await;
    // Every record once, in blocks (migration 7); no row, no facts row.
    assert_eq!(
        common::scalar(&c, "SELECT sum(n)::bigint FROM signin_blocks").await,
        600,
        "every record once"
    );
    for t in ["signins", "signin_facts"] {
        assert_eq!(
            common::scalar(&c, &format!("SELECT count(*) FROM {t}")).await,
            0,
            "{t}"
        );
    }
    assert_eq!(
        common::scalar(&c, "SELECT count(*) FROM signin_tail").await,
        common::scalar(&c, "SELECT count(*) FROM signin_blocks").await,
        "each block in the tail (600 records seal no run)"
    );
    let facts = |t: &'static str| {
        let st = st.clone();
        async move {
            st.signin_facts(t, 0, None, 10_000)
                .await
                .expect("facts")
                .iter()
                .filter(|f| f.facts.is_some())
                .count()
        }
    };
    let with_facts = |t: &str, from: i64| {
        all.iter()
            .filter(|s| s.tenant_id == t && s.created_ms >= from && s.facts.is_some())
            .count()
    };
    assert_eq!(facts("t").await, with_facts("t", 0));
    // The counts: one row per key, n summed across batches.
    assert_eq!(
        common::scalar(&c, "SELECT sum(n)::bigint FROM signin_counts").await,
        600
    );
    let cutoff = all[400].created_ms;
    while st.purge_signins(cutoff, 64).await.expect("purge") > 0 {}
    assert_eq!(
        common::scalar(
            &c,
            &format!("SELECT count(*) FROM signin_blocks WHERE max_ms < {cutoff}")
        )
        .await,
        0,
        "every block whose newest record is due went"
    );
    assert_eq!(
        common::scalar(
            &c,
            "SELECT count(*) FROM signin_tail t WHERE NOT EXISTS (SELECT 1 FROM signin_blocks b WHERE b.id = t.block_id)"
        )
        .await,
        0,
        "with its tail row"
    );
    // Whole blocks only: a block holding a record at or after the cutoff stays, with
    // its older records.
    let left = common::scalar(&c, "SELECT sum(n)::bigint FROM signin_blocks").await;
    let due = all.iter().filter(|s| s.created_ms < cutoff).count() as i64;
    assert!(
        left >= 600 - due && left < 600,
        "{left} left of 600, {due} due"
    );
    assert!(facts("t").await >= with_facts("t", cutoff));
    let bucket = cutoff.div_euclid(BUCKET);
    assert_eq!(
        common::scalar(
            &c,
            &format!("SELECT count(*) FROM signin_counts WHERE bucket < {bucket}")
        )
        .await,
        0,
        "the counts of the buckets before the cutoff's"
    );
    assert!(
        common::scalar(
            &c,
            &format!("SELECT count(*) FROM signin_counts WHERE bucket = {bucket}")
        )
        .await
            > 0
    );
}

#[tokio::test]
async fn concurrent_batches_lose_nothing_and_share_sets_and_counts() {
    // Several writers at once (as several nodes): the same sets and count keys in
    // every batch, no deadlock, nothing lost, counts summed.
    let all = world(2048);
    for (name, st) in common::engines().await {
        let mut tasks = Vec::new();
        for chunk in all.chunks(128) {
            let st = st.clone();
            let chunk = chunk.to_vec();
            tasks.push(tokio::spawn(async move {
                st.append_signins(&chunk).await.expect("append");
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        let total = st.count_signins("t").await.expect("count")
            + st.count_signins("u").await.expect("count");
        assert_eq!(total, 2048, "{name}");
        let s = st
            .signin_stats(&StatsQuery {
                tenant_id: "t".into(),
                since_ms: 0,
                bucket_ms: DAY,
            })
            .await
            .expect("stats");
        check_stats(name, &s, &expected_stats(&all, "t", 0, DAY));
        let sets = st
            .group_sets(&["g0".into(), "g1".into(), "g2".into()])
            .await
            .expect("sets");
        assert_eq!(sets.len(), 3, "{name}");
    }
}

#[tokio::test]
async fn a_name_typed_with_a_nul_is_stored_and_found() {
    // The sign-in page records an unknown user under the name as typed, NUL and all.
    // PostgreSQL's text cannot hold U+0000: it keeps U+FFFD instead, and the batch is
    // not refused; the record is found by the name as typed, and it does not break
    // a `$filter` on a field of the records.
    let mut recs = world(20);
    recs[7].user_key = Some("eve\0@x".into());
    recs[7].record =
        serde_json::json!({"userPrincipalName": "Eve\u{0}@x", "appDisplayName": "Web Portal"})
            .to_string();
    recs[7].app_display_name = Some("Web Portal".into());
    recs[7].tenant_id = "t".into();
    let tenant_of_7 = recs[7].tenant_id.clone();
    let mut answers = Vec::new();
    for (name, st) in common::engines().await {
        st.append_signins(&recs)
            .await
            .expect("a batch with a NUL is stored");
        let by_user = st
            .signins(
                &SignInQuery {
                    user: Some("EVE\0@X".into()),
                    ..tenant_q(&tenant_of_7)
                },
                false,
            )
            .await
            .expect("by user");
        assert_eq!(ids(&by_user.rows), vec![recs[7].id.clone()], "{name}");
        // Both engines keep the record in a block's bytes, NUL and all (PostgreSQL's
        // `text` could not hold it: its rows kept U+FFFD).
        assert_eq!(
            by_user.rows[0].user_key.as_deref(),
            Some("eve\0@x"),
            "{name}"
        );
        let f = SignInFilter::parse("userPrincipalName eq 'eve\u{0}@x'").expect("valid");
        let by_filter = walk(
            st.as_ref(),
            &SignInQuery {
                filter: Some(f),
                ..tenant_q("t")
            },
            10,
            false,
        )
        .await;
        assert_eq!(ids(&by_filter), vec![recs[7].id.clone()], "{name}");
        let f = SignInFilter::parse("appDisplayName eq 'web portal'").expect("valid");
        let got = walk(
            st.as_ref(),
            &SignInQuery {
                filter: Some(f.clone()),
                ..tenant_q("t")
            },
            10,
            false,
        )
        .await;
        let expected = want(&recs, "t", |s| {
            portvakt_core::filter::matches(f.expr(), &|fl| field(s, fl))
        });
        assert!(expected.contains(&recs[7].id));
        assert_eq!(ids(&got), expected, "{name}");
        answers.push((name, (ids(&by_user.rows), ids(&by_filter), ids(&got))));
    }
    agree("NUL", &answers);
}

// --- the audit log ------------------------------------------------------------------

fn audit(tenant: &str, n: i64, correlation_id: &str) -> DirectoryAudit {
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

fn audit_ids(p: &AuditPage) -> Vec<String> {
    p.records.iter().map(|r| r.id.clone()).collect()
}

/// Ten records of `a` at 1000, 2000, … ms (r1..r10), interleaved with records of `b`;
/// r4..r6 share the correlation id `c-mid`.
async fn filled(st: &dyn Store) {
    for n in 1..=10 {
        let c = if (4..=6).contains(&n) {
            "c-mid".to_string()
        } else {
            format!("c{n}")
        };
        st.append_audit(&audit("a", n, &c), n * 1000)
            .await
            .expect("append");
        st.append_audit(&audit("b", 100 + n, "c-mid"), n * 1000)
            .await
            .expect("append");
    }
}

fn audit_q(limit: u32) -> AuditQuery {
    AuditQuery {
        tenant: "a".into(),
        limit,
        ..Default::default()
    }
}

#[tokio::test]
async fn audit_pages_filters_and_cursors() {
    let mut answers = Vec::new();
    for (name, st) in common::engines().await {
        filled(st.as_ref()).await;
        let mut got: Vec<Vec<String>> = Vec::new();
        // Newest first; the cursor walks to the end.
        let mut q = audit_q(4);
        let mut pages = Vec::new();
        loop {
            let p = st.audits(&q).await.expect("page");
            pages.push(audit_ids(&p));
            if p.next.is_none() {
                break;
            }
            q.before = p.next;
        }
        assert_eq!(
            pages,
            vec![
                vec!["r10", "r9", "r8", "r7"],
                vec!["r6", "r5", "r4", "r3"],
                vec!["r2", "r1"]
            ],
            "{name}"
        );
        got.extend(pages);
        // A page that ends exactly at the last record has no cursor; only the
        // tenant's records; a limit of 0 is 1.
        let exact = st.audits(&audit_q(10)).await.expect("all");
        assert_eq!((exact.records.len(), exact.next), (10, None), "{name}");
        assert!(exact.records.iter().all(|r| r.tenant == "a"));
        let one = st.audits(&audit_q(0)).await.expect("zero");
        assert_eq!(audit_ids(&one), ["r10"], "{name}");
        assert!(one.next.is_some());
        // A cursor stays valid while new records arrive.
        let p1 = st.audits(&audit_q(3)).await.expect("page 1");
        st.append_audit(&audit("a", 11, "c11"), 11_000)
            .await
            .expect("append");
        let mut q = audit_q(3);
        q.before = p1.next;
        let p2 = st.audits(&q).await.expect("page 2");
        assert_eq!(
            audit_ids(&p2),
            ["r7", "r6", "r5"],
            "{name}: none twice, none skipped"
        );
        got.push(audit_ids(&p2));
        // since (inclusive) and until (exclusive).
        let mut q = audit_q(10);
        q.since_ms = Some(3000);
        q.until_ms = Some(8000);
        let p = st.audits(&q).await.expect("window");
        assert_eq!(audit_ids(&p), ["r7", "r6", "r5", "r4", "r3"], "{name}");
        got.push(audit_ids(&p));
        let mut q = audit_q(10);
        q.since_ms = Some(9000);
        assert_eq!(
            audit_ids(&st.audits(&q).await.expect("since")),
            ["r11", "r10", "r9"]
        );
        let mut q = audit_q(10);
        q.until_ms = Some(2001);
        assert_eq!(
            audit_ids(&st.audits(&q).await.expect("until")),
            ["r2", "r1"]
        );
        // By correlation id, paged.
        let mut q = audit_q(2);
        q.correlation_id = Some("c-mid".into());
        let p1 = st.audits(&q).await.expect("by correlation id");
        assert_eq!(audit_ids(&p1), ["r6", "r5"], "{name}");
        q.before = p1.next;
        let p2 = st.audits(&q).await.expect("page 2");
        assert_eq!(
            (audit_ids(&p2), p2.next),
            (vec!["r4".to_string()], None),
            "{name}"
        );
        got.push(audit_ids(&p2));
        let mut q = AuditQuery {
            tenant: "b".into(),
            limit: 100,
            ..Default::default()
        };
        q.correlation_id = Some("c-mid".into());
        q.since_ms = Some(5000);
        q.until_ms = Some(7000);
        assert_eq!(
            audit_ids(&st.audits(&q).await.expect("b")),
            ["r106", "r105"],
            "{name}"
        );
        let mut q = audit_q(0);
        q.correlation_id = Some("nothing".into());
        assert!(st.audits(&q).await.expect("none").records.is_empty());
        // Records come back as they were written.
        let all = st.audits(&audit_q(100)).await.expect("all");
        assert_eq!(all.records.last(), Some(&audit("a", 1, "c1")), "{name}");
        answers.push((name, got));
    }
    agree("audits", &answers);
}

#[tokio::test]
async fn audit_purge_deletes_only_older_records_in_batches() {
    let mut answers = Vec::new();
    for (name, st) in common::engines().await {
        filled(st.as_ref()).await;
        // Before 4000 ms: r1..r3 of `a` and three of `b`, six in all, three at a time.
        let batches = vec![
            st.purge_audits(4000, 3).await.expect("purge"),
            st.purge_audits(4000, 3).await.expect("purge"),
            st.purge_audits(4000, 3).await.expect("purge"),
        ];
        assert_eq!(batches, [3, 3, 0], "{name}");
        let left = st.audits(&audit_q(100)).await.expect("read");
        assert_eq!(
            audit_ids(&left),
            ["r10", "r9", "r8", "r7", "r6", "r5", "r4"],
            "{name}"
        );
        // Cursors are never reused: after a purge of everything, a cursor handed out
        // before still means "older than that record".
        let cursor = st.audits(&audit_q(1)).await.expect("read").next;
        assert!(cursor.is_some());
        assert_eq!(
            st.purge_audits(i64::MAX, 100).await.expect("purge"),
            14,
            "{name}"
        );
        st.append_audit(&audit("a", 12, "c12"), 12_000)
            .await
            .expect("append");
        let mut q = audit_q(10);
        q.before = cursor;
        assert!(
            st.audits(&q).await.expect("read").records.is_empty(),
            "{name}"
        );
        assert_eq!(
            audit_ids(&st.audits(&audit_q(10)).await.expect("read")),
            ["r12"]
        );
        answers.push((name, (batches, audit_ids(&left))));
    }
    agree("audit purge", &answers);
}
