//! `signinlog-bench`: the sign-in log's benchmarks (issue #13). See
//! `bench/signinlog.sh` and BENCHMARKS.md.
//!
//! * `run`: ingest N records (default 10,000,000) into a fresh data directory's
//!   `signins.db` through `SqliteStore`'s `SignInLog::append_signins`, in batches of
//!   512 as the server's writer does, built from realistic `SignInEvent`s (policies
//!   evaluated with the real engine) through `to_stored`; then bytes per record, then
//!   the three queries of the issue, each ≥ 200 times with varying users and
//!   correlation ids (p50/p95/p99).
//! * `import-file OUT`: the import file of tenant `logbench` (users, groups, apps,
//!   named locations, policies) and a client-credentials client `bench`.
//! * `seed --data DIR`: append records for an existing tenant of a data directory
//!   (made by `serve --import` of that file), for the replay benchmark; prints what a
//!   replay of the proposal should find, computed here with the same engine.

mod world;

/// The server's allocator (crates/portvakt/src/main.rs): the store is measured as the
/// server runs it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use portvakt_core::signin::{to_stored, StoredSignIn};
use portvakt_policy::{evaluate, Decision, PolicySet};
use portvakt_store::{SignInLog, SignInQuery, SqliteStore, Store};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::{Duration, Instant};
use world::{Correlations, Rng, World};

/// Records per `append_signins` call: the server writer's `BATCH_MAX`.
const BATCH: usize = 512;

#[derive(Parser, Debug)]
#[command(about = "Sign-in log benchmarks (issue #13)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Ingest, bytes per record, queries.
    Run {
        /// Data directory to create (must not hold a signins.db); default a new one
        /// under /tmp, deleted at the end unless --keep.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Records to ingest.
        #[arg(long, default_value_t = 10_000_000)]
        records: u64,
        /// Tenants; the first gets 70 % of the records, the others share the rest.
        #[arg(long, default_value_t = 4)]
        tenants: usize,
        /// Users per tenant.
        #[arg(long, default_value_t = 10_000)]
        users: usize,
        /// The records span this many days, ending now.
        #[arg(long, default_value_t = 30)]
        days: i64,
        /// Runs of each query.
        #[arg(long, default_value_t = 300)]
        queries: usize,
        /// Keep the data directory.
        #[arg(long)]
        keep: bool,
        /// Skip the per-table/index size breakdown (a full scan of the file).
        #[arg(long)]
        no_breakdown: bool,
        /// Skip the what-if runs on the database at the end (a `+` in the failures
        /// query, an index on id, ANALYZE).
        #[arg(long)]
        no_what_if: bool,
    },
    /// Print a few stored records as generated (what one record holds).
    Sample {
        #[arg(long, default_value_t = 5)]
        n: usize,
    },
    /// What-if: the same records into a plain SQLite connection with the log's schema
    /// and insert statements, under other page sizes, cache sizes, checkpoint
    /// intervals and indexes, to measure what a change in the store would give.
    WhatIf {
        #[arg(long, default_value_t = 300_000)]
        records: u64,
        #[arg(long, default_value_t = 50)]
        queries: usize,
        /// Only these variants (numbers, comma-separated); default all.
        #[arg(long)]
        only: Option<String>,
    },
    /// The replay loop in-process over a seeded data directory: as the server runs it
    /// (the store's page query with facts), and a slimmer read (facts and the group
    /// set's hash only, group sets parsed once), to see where the time goes.
    ReplayLocal {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "logbench")]
        tenant: String,
        #[arg(long, default_value_t = 10_000)]
        users: usize,
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Write the import file of tenant `logbench` and client `bench`.
    ImportFile {
        out: PathBuf,
        #[arg(long, default_value_t = 10_000)]
        users: usize,
        /// Secret of the client-credentials client `bench`.
        #[arg(long, default_value = "bench-secret-0123456789abcdef")]
        bench_secret: String,
    },
    /// Ingest alone, into any engine: the records of `run` through
    /// `portvakt_store::open` (a PostgreSQL URL, or a SQLite file), in the writer's
    /// batches; prints the rate in append_signins (issue #17: ingest on PostgreSQL).
    Ingest {
        /// `postgres://…` (an empty database), or a path to a new `portvakt.db`.
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value_t = 1_000_000)]
        records: u64,
        #[arg(long, default_value_t = 4)]
        tenants: usize,
        #[arg(long, default_value_t = 10_000)]
        users: usize,
        /// The records span this many days, ending now.
        #[arg(long, default_value_t = 7)]
        days: i64,
    },
    /// Append records for tenant `--tenant` of the data directory `--data`.
    Seed {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "logbench")]
        tenant: String,
        #[arg(long, default_value_t = 1_000_000)]
        records: u64,
        /// As given to import-file.
        #[arg(long, default_value_t = 10_000)]
        users: usize,
        /// The records span this many days, ending now.
        #[arg(long, default_value_t = 7)]
        days: i64,
        /// Write the replay request body (the proposal) here.
        #[arg(long)]
        proposal_out: Option<PathBuf>,
    },
}

const IMPORT_TENANT: &str = "logbench";

fn main() {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match cli.cmd {
        Cmd::Run {
            dir,
            records,
            tenants,
            users,
            days,
            queries,
            keep,
            no_breakdown,
            no_what_if,
        } => rt.block_on(run(
            dir,
            records,
            tenants.max(1),
            users,
            days,
            queries,
            keep,
            !no_breakdown,
            !no_what_if,
        )),
        Cmd::Ingest {
            database_url,
            records,
            tenants,
            users,
            days,
        } => rt.block_on(ingest_only(
            &database_url,
            records,
            tenants.max(1),
            users,
            days,
        )),
        Cmd::Sample { n } => {
            let w = World::new(0, "tenant0", &world::stable_uuid(1, 0, 0), 10_000);
            let mut rng = Rng::new(42);
            let mut cids = Correlations::new(7);
            for _ in 0..n {
                let ev = w.event(&mut rng, now_ms(), cids.next_id());
                let s = to_stored(&ev, uuid::Uuid::now_v7().hyphenated().to_string());
                println!("record ({} bytes): {}", s.record.len(), s.record);
                println!(
                    "facts ({} bytes): {}",
                    s.facts.as_ref().map_or(0, |f| f.len()),
                    s.facts.unwrap_or_default()
                );
                println!();
            }
        }
        Cmd::WhatIf {
            records,
            queries,
            only,
        } => what_if(records, queries, only.as_deref()),
        Cmd::ReplayLocal {
            data,
            tenant,
            users,
            runs,
        } => rt.block_on(replay_local(&data, &tenant, users, runs)),
        Cmd::ImportFile {
            out,
            users,
            bench_secret,
        } => {
            let w = World::new(0, IMPORT_TENANT, "", users);
            let bench = json!({"clientId": "bench", "displayName": "Benchmark client",
                "clientSecret": bench_secret, "grantTypes": ["client_credentials"],
                "allowedScopes": ["api://analytics/.default"]});
            let doc = json!({"tenants": [w.import_spec(vec![bench])]});
            std::fs::write(&out, doc.to_string()).expect("write the import file");
            eprintln!(
                "wrote {} (tenant {IMPORT_TENANT}, {users} users)",
                out.display()
            );
        }
        Cmd::Seed {
            data,
            tenant,
            records,
            users,
            days,
            proposal_out,
        } => rt.block_on(seed(&data, &tenant, records, users, days, proposal_out)),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What a replay of a proposal over the generated records should report.
#[derive(Debug, Default, Clone, Copy)]
struct Expected {
    replayed: u64,
    newly_blocked: u64,
}

#[derive(Debug, Default)]
struct Ingest {
    records: u64,
    wall: Duration,
    /// Building the events, policies evaluated (the handlers' work in the server).
    events: Duration,
    /// `to_stored` with the record's id (the writer thread's CPU work).
    to_stored: Duration,
    /// `append_signins` (the store).
    append: Duration,
    /// The slowest batch.
    append_max: Duration,
    /// Correlation ids of tenant 0, sampled.
    samples: Vec<String>,
    expected: Expected,
}

fn blocked(d: &Decision) -> bool {
    matches!(d, Decision::Blocked { .. } | Decision::FailedClosed { .. })
}

/// What the generator thread measured.
type GenTimes = (Duration, Duration, Vec<String>, Expected);

/// Start the thread that builds the events and their stored records, in batches of
/// [`BATCH`], for `n` records over `worlds` (tenant 0 gets `share0` of them), spread
/// over the `days` before now. With `proposed`, it also works out what a replay of
/// that policy set should find.
fn spawn_generator(
    worlds: Arc<Vec<World>>,
    share0: f64,
    n: u64,
    days: i64,
    proposed: Option<PolicySet>,
    ordered_cids: bool,
) -> (
    std::sync::mpsc::Receiver<Vec<StoredSignIn>>,
    std::thread::JoinHandle<GenTimes>,
) {
    let end = now_ms();
    let start = end - days * 86_400_000;
    let span = (end - start) as u128;
    let (tx, rx) = sync_channel::<Vec<StoredSignIn>>(4);
    let stride = ((n as f64 * share0) / 2_000.0).max(1.0) as u64;
    let gen = std::thread::spawn(move || {
        let mut rng = Rng::new(42);
        let mut set_names = portvakt_core::signin::SetNames::default();
        let mut cids = Correlations::new(7);
        cids.ordered = ordered_cids;
        let mut events = Duration::ZERO;
        let mut stored_t = Duration::ZERO;
        let mut samples = Vec::new();
        let mut expected = Expected::default();
        let mut seen0 = 0u64;
        let mut i = 0u64;
        while i < n {
            let k = (n - i).min(BATCH as u64);
            let t0 = Instant::now();
            let mut evs = Vec::with_capacity(k as usize);
            for j in 0..k {
                let t_ms = start + ((i + j) as u128 * span / n as u128) as i64;
                let w = if worlds.len() == 1 || rng.chance(share0) {
                    0
                } else {
                    1 + rng.below(worlds.len() as u64 - 1) as usize
                };
                // Ordered: as the server makes them (a UUIDv7 of the arrival).
                let cid = if cids.ordered {
                    cids.next_id_at(t_ms)
                } else {
                    cids.next_id()
                };
                let ev = worlds[w].event(&mut rng, t_ms, cid);
                if w == 0 {
                    // Every `stride`-th record of tenant 0.
                    seen0 += 1;
                    if seen0 == stride {
                        seen0 = 0;
                        samples.push(ev.correlation_id.clone());
                    }
                }
                evs.push(ev);
            }
            events += t0.elapsed();
            if let Some(p) = &proposed {
                for ev in &evs {
                    let (Some(f), Some(before)) = (&ev.facts, &ev.evaluation) else {
                        continue;
                    };
                    expected.replayed += 1;
                    if blocked(&evaluate(p, f).decision) && !blocked(&before.decision) {
                        expected.newly_blocked += 1;
                    }
                }
            }
            let t1 = Instant::now();
            let batch: Vec<StoredSignIn> = evs
                .iter()
                // As the server's writer: a UUIDv7 of the record's time.
                .map(|e| {
                    portvakt_core::signin::to_stored_with(
                        e,
                        portvakt_core::signin::record_id(e.created_at_ms),
                        &mut set_names,
                    )
                })
                .collect();
            stored_t += t1.elapsed();
            drop(evs);
            if tx.send(batch).is_err() {
                break;
            }
            i += k;
        }
        (events, stored_t, samples, expected)
    });
    (rx, gen)
}

/// Append `n` records through `store.append_signins`, one call per batch of
/// [`BATCH`]. Events are built and turned into stored records on a second thread (the
/// server builds them in its handlers and turns them into records on the writer
/// thread); each part is timed on its own.
async fn ingest(
    store: &dyn SignInLog,
    worlds: Arc<Vec<World>>,
    share0: f64,
    n: u64,
    days: i64,
    proposed: Option<PolicySet>,
) -> Ingest {
    // The server's correlation ids are UUIDv7 (time-ordered): so are these.
    let (rx, gen) = spawn_generator(worlds, share0, n, days, proposed, true);
    let mut out = Ingest::default();
    let t_wall = Instant::now();
    let (mut last_n, mut last_t, mut last_append) = (0u64, Instant::now(), Duration::ZERO);
    let report_every = (n / 10).clamp(100_000, 1_000_000);
    while let Ok(batch) = rx.recv() {
        let t = Instant::now();
        store.append_signins(&batch).await.expect("append_signins");
        let d = t.elapsed();
        out.append += d;
        out.append_max = out.append_max.max(d);
        out.records += batch.len() as u64;
        if out.records - last_n >= report_every || out.records == n {
            let dn = (out.records - last_n) as f64;
            eprintln!(
                "  {:>11} records: last {:.0}k: {:.0} rec/s wall, {:.0} rec/s in append_signins",
                out.records,
                dn / 1000.0,
                dn / last_t.elapsed().as_secs_f64(),
                dn / (out.append - last_append).as_secs_f64()
            );
            (last_n, last_t, last_append) = (out.records, Instant::now(), out.append);
        }
    }
    out.wall = t_wall.elapsed();
    let (events, stored_t, samples, expected) = gen.join().expect("generator");
    out.events = events;
    out.to_stored = stored_t;
    out.samples = samples;
    out.expected = expected;
    out
}

/// The generated tenants (`tenant0`, …, `users` users each) and the first one's share
/// of the records (70 %, or all of them when alone).
fn tenant_worlds(tenants: usize, users: usize) -> (Arc<Vec<World>>, f64) {
    let worlds = (0..tenants)
        .map(|t| {
            World::new(
                t,
                &format!("tenant{t}"),
                &world::stable_uuid(1, t, 0),
                users,
            )
        })
        .collect();
    (Arc::new(worlds), if tenants == 1 { 1.0 } else { 0.7 })
}

/// `signinlog-bench ingest`: the generated records into the engine `url` names.
async fn ingest_only(url: &str, n: u64, tenants: usize, users: usize, days: i64) {
    let engine = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        portvakt_store::Engine::Postgres {
            url: url.to_string(),
            pool_size: 4,
        }
    } else {
        portvakt_store::Engine::Sqlite(PathBuf::from(url))
    };
    let store = portvakt_store::open(&engine).await.expect("open the store");
    let (worlds, share0) = tenant_worlds(tenants, users);
    eprintln!("ingest: {n} records over {days} days into {engine}");
    let count = || async {
        let mut k = 0;
        for w in worlds.iter() {
            k += store.count_signins(&w.tenant_id).await.expect("count");
        }
        k
    };
    let before = count().await;
    let ing = ingest(store.as_ref(), worlds.clone(), share0, n, days, None).await;
    let written = count().await - before;
    assert_eq!(
        written, ing.records,
        "every appended record is counted back"
    );
    println!(
        "INGESTJSON {}",
        json!({"records": ing.records, "wall_s": ing.wall.as_secs_f64(),
               "append_per_s": rate(ing.records, ing.append).round(),
               "append_us_per_record": ing.append.as_secs_f64() * 1e6 / ing.records as f64,
               "slowest_batch_ms": ing.append_max.as_secs_f64() * 1000.0})
    );
}

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

fn with_suffix(p: &Path, s: &str) -> PathBuf {
    let mut o = p.as_os_str().to_owned();
    o.push(s);
    PathBuf::from(o)
}

/// Percentiles (nearest rank) of `v` in ms.
fn pcts(v: &mut [f64]) -> serde_json::Value {
    v.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| {
        let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
        (v[i] * 1000.0).round() / 1000.0
    };
    json!({"n": v.len(), "p50_ms": p(0.50), "p95_ms": p(0.95), "p99_ms": p(0.99), "max_ms": p(1.0)})
}

/// Time `runs` queries; `q(i)` gives the i-th. Returns the latencies in ms and the
/// total rows returned.
async fn time_queries(
    store: &SqliteStore,
    runs: usize,
    mut q: impl FnMut(usize) -> SignInQuery,
) -> (Vec<f64>, u64) {
    let mut ms = Vec::with_capacity(runs);
    let mut rows = 0u64;
    for i in 0..runs {
        let query = q(i);
        let t = Instant::now();
        let page = store.signins(&query, false).await.expect("query");
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        rows += page.rows.len() as u64;
    }
    (ms, rows)
}

fn plan(c: &rusqlite::Connection, sql: &str) -> String {
    let Ok(mut st) = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")) else {
        return "?".into();
    };
    let rows = st.query_map([], |r| r.get::<_, String>(3));
    match rows {
        Ok(r) => r.filter_map(|x| x.ok()).collect::<Vec<_>>().join("; "),
        Err(_) => "?".into(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    dir: Option<PathBuf>,
    n: u64,
    tenants: usize,
    users: usize,
    days: i64,
    runs: usize,
    keep: bool,
    breakdown: bool,
    whatif: bool,
) {
    let (dir, made) = match dir {
        Some(d) => (d, false),
        None => {
            let d = std::env::temp_dir().join(format!("signinlog-bench-{}", std::process::id()));
            (d, true)
        }
    };
    std::fs::create_dir_all(&dir).expect("create the data directory");
    let log = dir.join("signins.db");
    assert!(
        !log.exists(),
        "{} exists: give a fresh --dir",
        log.display()
    );
    let (worlds, share0) = tenant_worlds(tenants, users);
    eprintln!(
        "ingest: {n} records, {tenants} tenants ({:.0} % in tenant0), {users} users each, over {days} days, into {}",
        share0 * 100.0,
        log.display()
    );
    let store = SqliteStore::open(&dir.join("portvakt.db"))
        .await
        .expect("open the store");
    let ing = ingest(&store, worlds.clone(), share0, n, days, None).await;
    let wal_live = file_size(&with_suffix(&log, "-wal"));
    let db_live = file_size(&log);
    let writer = ing.to_stored + ing.append;
    eprintln!(
        "ingest: {} records in {:.1} s wall ({:.0} rec/s; two threads: events+to_stored beside the store)",
        ing.records,
        ing.wall.as_secs_f64(),
        rate(ing.records, ing.wall)
    );
    eprintln!(
        "  append_signins alone: {:.0} rec/s ({:.2} µs/record; slowest batch {:.1} ms)",
        rate(ing.records, ing.append),
        ing.append.as_secs_f64() * 1e6 / ing.records as f64,
        ing.append_max.as_secs_f64() * 1000.0
    );
    eprintln!(
        "  to_stored: {:.2} µs/record; server writer thread (to_stored + append, one thread): {:.0} rec/s",
        ing.to_stored.as_secs_f64() * 1e6 / ing.records as f64,
        rate(ing.records, writer)
    );
    eprintln!(
        "  building the events (policy evaluation included; the handlers' work): {:.2} µs/record",
        ing.events.as_secs_f64() * 1e6 / ing.records as f64
    );
    drop(store);

    // Queries, on a freshly opened store (cold SQLite page cache, warm OS cache).
    let store = SqliteStore::open(&dir.join("portvakt.db"))
        .await
        .expect("reopen");
    let w0 = &worlds[0];
    let t0 = w0.tenant_id.clone();
    let now = now_ms();
    let week = now - 7 * 86_400_000;
    let mut rng = Rng::new(99);
    let count0 = store.count_signins(&t0).await.expect("count");
    eprintln!("queries on tenant0 ({count0} records), {runs} runs each:");
    let failures = |u: usize| SignInQuery {
        tenant_id: t0.clone(),
        user: Some(w0.users[u].upn.clone()),
        status: Some(1),
        since_ms: Some(week),
        limit: 50,
        ..Default::default()
    };
    let (mut q1, r1) = time_queries(&store, runs, |_| {
        let u = rng.below(w0.users.len() as u64) as usize;
        failures(u)
    })
    .await;
    let (mut q1h, r1h) = time_queries(&store, runs, |_| {
        let u = rng.below(w0.heavy as u64) as usize;
        failures(u)
    })
    .await;
    let samples = &ing.samples;
    let (mut q2, r2) = time_queries(&store, runs, |i| SignInQuery {
        tenant_id: t0.clone(),
        correlation_id: Some(samples[(i * 7919) % samples.len()].clone()),
        limit: 1,
        ..Default::default()
    })
    .await;
    let (mut q3, r3) = time_queries(&store, runs, |_| SignInQuery {
        tenant_id: t0.clone(),
        limit: 50,
        ..Default::default()
    })
    .await;
    // The admin API's GET …/signIns/{id} with a correlation id: `s.id = ?` first
    // (no index on id), then `s.correlation_id = ?` through `extra`. A few runs only.
    let mut q2api = Vec::new();
    let started = Instant::now();
    for i in 0..runs {
        if i >= 3 && started.elapsed() > Duration::from_secs(60) {
            break;
        }
        let cid = samples[(i * 104_729) % samples.len()].clone();
        let t = Instant::now();
        // As the handler asks (server::logs::find_signin): by id, then by correlation id.
        for by_id in [true, false] {
            let q = SignInQuery {
                tenant_id: t0.clone(),
                id: by_id.then(|| cid.clone()),
                correlation_id: (!by_id).then(|| cid.clone()),
                limit: 1,
                ..Default::default()
            };
            if !store
                .signins(&q, false)
                .await
                .expect("query")
                .rows
                .is_empty()
            {
                break;
            }
        }
        q2api.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let results = json!({
        "failures_of_one_user_7d": pcts(&mut q1),
        "failures_of_one_user_7d_rows_avg": r1 as f64 / runs as f64,
        "failures_of_one_heavy_user_7d": pcts(&mut q1h),
        "failures_of_one_heavy_user_7d_rows_avg": r1h as f64 / runs as f64,
        "by_correlation_id": pcts(&mut q2),
        "by_correlation_id_found": r2,
        "newest_50": pcts(&mut q3),
        "newest_50_rows_avg": r3 as f64 / runs as f64,
        "api_get_by_correlation_id": pcts(&mut q2api),
    });
    for (k, v) in results.as_object().into_iter().flatten() {
        eprintln!("  {k}: {v}");
    }
    drop(store);

    // Bytes per record, and the query plans, on a plain connection.
    let c = rusqlite::Connection::open(&log).expect("open signins.db");
    // The store's statements over blocks (store::sqlite_signin_blocks).
    let q1_sql = format!("SELECT t.block_id, t.n, b.dict_id, b.tenant_id, t.keys FROM signin_tail t CROSS JOIN signin_blocks b ON b.id = t.block_id WHERE t.block_id < 9223372036854775807 AND b.max_ms >= {week} AND b.min_ms < 9223372036854775807 AND b.tenant_id = '{t0}' ORDER BY t.block_id DESC");
    let q1_run_sql = "SELECT seqs FROM signin_run_keys WHERE run = 1 AND hash = 42";
    let q1_block_sql = "SELECT id, n, dict_id, tenant_id, min_ms, max_ms FROM signin_blocks WHERE id <= 4242 ORDER BY id DESC LIMIT 1";
    let q2_sql = format!("SELECT id FROM signin_blocks INDEXED BY signin_blocks_time WHERE min_ms BETWEEN {week} AND {week} + 62000 AND max_ms >= {week} AND tenant_id = '{t0}'");
    let q3_sql = format!("SELECT id FROM signin_blocks INDEXED BY signin_blocks_tenant WHERE tenant_id = '{t0}' AND id < 9223372036854775807 AND max_ms >= 0 AND min_ms < 9223372036854775807 ORDER BY id DESC LIMIT 16");
    let replay_sql = format!("SELECT id, n, dict_id, facts FROM signin_blocks INDEXED BY signin_blocks_tenant WHERE tenant_id = '{t0}' AND id < 5000000 AND max_ms >= 0 ORDER BY id DESC");
    let plans = json!({
        "failures_of_one_user_7d_tail": plan(&c, &q1_sql),
        "failures_of_one_user_7d_run": plan(&c, q1_run_sql),
        "failures_of_one_user_7d_block": plan(&c, q1_block_sql),
        "by_correlation_id": plan(&c, &q2_sql),
        "newest_50": plan(&c, &q3_sql),
        "replay_page": plan(&c, &replay_sql),
    });
    for (k, v) in plans.as_object().into_iter().flatten() {
        eprintln!("  plan {k}: {v}");
    }
    let _ = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    let db = file_size(&log);
    let wal = file_size(&with_suffix(&log, "-wal"));
    let count: i64 = c
        .query_row(
            "SELECT (SELECT COUNT(*) FROM signins) + (SELECT coalesce(SUM(n), 0) FROM signin_blocks)",
            [],
            |r| r.get(0),
        )
        .expect("count");
    let page_size: i64 = c
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap_or(4096);
    let free: i64 = c
        .query_row("PRAGMA freelist_count", [], |r| r.get(0))
        .unwrap_or(0);
    let sets: (i64, i64) = c
        .query_row(
            "SELECT (SELECT COUNT(*) FROM group_sets), (SELECT COUNT(*) FROM policy_sets)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap_or((0, 0));
    let mut parts = serde_json::Map::new();
    if breakdown {
        eprintln!("size breakdown (dbstat, a full pass over the file)…");
        let t = Instant::now();
        let r = c
            .prepare("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")
            .and_then(|mut st| {
                st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                    .map(|it| it.filter_map(|x| x.ok()).collect::<Vec<_>>())
            });
        match r {
            Ok(v) => {
                for (name, bytes) in v {
                    parts.insert(
                        name,
                        json!((bytes as f64 / count.max(1) as f64 * 10.0).round() / 10.0),
                    );
                }
            }
            Err(e) => eprintln!("  dbstat unavailable: {e}"),
        }
        let avg: (f64, f64) = c
            .query_row(
                "SELECT SUM(LENGTH(records)) * 1.0 / SUM(n), SUM(LENGTH(facts)) * 1.0 / SUM(n) FROM signin_blocks",
                [],
                |r| {
                    Ok((
                        r.get::<_, Option<f64>>(0)?.unwrap_or(0.0),
                        r.get::<_, Option<f64>>(1)?.unwrap_or(0.0),
                    ))
                },
            )
            .unwrap_or((0.0, 0.0));
        // Packed (record_pack): the stored bytes, not the JSON's characters.
        parts.insert("avg_record_bytes_stored".into(), json!(avg.0.round()));
        parts.insert("avg_facts_bytes_stored".into(), json!(avg.1.round()));
        eprintln!("  ({:.0} s)", t.elapsed().as_secs_f64());
    }
    // What-if on this database (after the figures above): the failures query with
    // `created_ms` kept out of index choice, an index on `id` for the admin API's
    // lookup, and the plans once ANALYZE has given the planner statistics.
    let fixes = if whatif {
        use rusqlite::types::Value as V;
        let tv = V::Text(t0.clone());
        let weekv = V::Integer(week);
        let mut rng = Rng::new(1234);
        let q1 = format!("{RAW_SELECT} AND s.created_ms >= ? AND s.user_key = ? AND s.status = ? ORDER BY s.seq DESC LIMIT 51");
        let q1plus = format!("{RAW_SELECT} AND +s.created_ms >= ? AND s.user_key = ? AND s.status = ? ORDER BY s.seq DESC LIMIT 51");
        let mut user_args = |heavy: bool| {
            let n = if heavy { w0.heavy } else { w0.users.len() } as u64;
            vec![
                tv.clone(),
                weekv.clone(),
                V::Text(w0.users[rng.below(n) as usize].upn.clone()),
                V::Integer(1),
            ]
        };
        let mut m1p = raw_times(&c, &q1plus, runs, |_| user_args(false));
        let mut m1ph = raw_times(&c, &q1plus, runs, |_| user_args(true));
        eprintln!(
            "what-if: failures query with +s.created_ms: {} / heavy users {}",
            pcts(&mut m1p),
            pcts(&mut m1ph)
        );
        let before = file_size(&log);
        let t = Instant::now();
        c.execute_batch("CREATE INDEX signins_id ON signins (id)")
            .expect("index on id");
        let index_s = t.elapsed().as_secs_f64();
        let _ = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        let id_bytes = file_size(&log).saturating_sub(before);
        let qid = format!("{RAW_SELECT} AND (s.id = ?) ORDER BY s.seq DESC LIMIT 2");
        let qcid = format!("{RAW_SELECT} AND (s.correlation_id = ?) ORDER BY s.seq DESC LIMIT 2");
        let mut mapi: Vec<f64> = {
            let a = raw_times(&c, &qid, runs, |i| {
                vec![
                    tv.clone(),
                    V::Text(samples[(i * 7919) % samples.len()].clone()),
                ]
            });
            let b = raw_times(&c, &qcid, runs, |i| {
                vec![
                    tv.clone(),
                    V::Text(samples[(i * 7919) % samples.len()].clone()),
                ]
            });
            a.iter().zip(b.iter()).map(|(x, y)| x + y).collect()
        };
        eprintln!("what-if: index on id: {index_s:.1} s to build, {:.1} bytes/record; API lookup by correlation id {}", id_bytes as f64 / count.max(1) as f64, pcts(&mut mapi));
        let t = Instant::now();
        c.execute_batch("ANALYZE").expect("analyze");
        let analyze_s = t.elapsed().as_secs_f64();
        let mut m1a = raw_times(&c, &q1, runs, |_| user_args(false));
        let mut m1ah = raw_times(&c, &q1, runs, |_| user_args(true));
        let plans_after = json!({
            "failures_of_one_user_7d_tail": plan(&c, &q1_sql),
            "failures_of_one_user_7d_run": plan(&c, q1_run_sql),
            "by_correlation_id": plan(&c, &q2_sql),
            "newest_50": plan(&c, &q3_sql),
            "replay_page": plan(&c, &replay_sql),
        });
        eprintln!("what-if: after ANALYZE ({analyze_s:.1} s): failures query {} / heavy users {}; plans {plans_after}", pcts(&mut m1a), pcts(&mut m1ah));
        json!({
            "failures_plus_created_ms": pcts(&mut m1p),
            "failures_plus_created_ms_heavy": pcts(&mut m1ph),
            "id_index_build_s": index_s,
            "id_index_bytes_per_record": (id_bytes as f64 / count.max(1) as f64 * 10.0).round() / 10.0,
            "api_by_correlation_with_id_index": pcts(&mut mapi),
            "analyze_s": analyze_s,
            "failures_after_analyze": pcts(&mut m1a),
            "failures_after_analyze_heavy": pcts(&mut m1ah),
            "plans_after_analyze": plans_after,
        })
    } else {
        json!(null)
    };
    drop(c);
    let bytes = json!({
        "records": count,
        "db_bytes_after_checkpoint": db,
        "wal_bytes_after_checkpoint": wal,
        "db_plus_wal_bytes_live": db_live + wal_live,
        "bytes_per_record": ((db + wal) as f64 / count.max(1) as f64).round(),
        "bytes_per_record_live": ((db_live + wal_live) as f64 / count.max(1) as f64).round(),
        "free_pages": free,
        "page_size": page_size,
        "group_sets": sets.0,
        "policy_sets": sets.1,
        "per_record_by_table_or_index": parts,
    });
    eprintln!("bytes: {bytes}");
    let result = json!({
        "records": ing.records,
        "tenants": tenants,
        "users_per_tenant": users,
        "ingest": {
            "wall_s": ing.wall.as_secs_f64(),
            "wall_records_per_s": rate(ing.records, ing.wall).round(),
            "append_records_per_s": rate(ing.records, ing.append).round(),
            "append_slowest_batch_ms": ing.append_max.as_secs_f64() * 1000.0,
            "to_stored_us_per_record": ing.to_stored.as_secs_f64() * 1e6 / ing.records as f64,
            "writer_thread_records_per_s": rate(ing.records, writer).round(),
            "events_us_per_record": ing.events.as_secs_f64() * 1e6 / ing.records as f64,
        },
        "bytes": bytes,
        "queries": results,
        "plans": plans,
        "what_if": fixes,
    });
    println!("RESULT {result}");
    if made && !keep {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("kept {}", dir.display());
    }
}

async fn seed(
    data: &Path,
    tenant: &str,
    n: u64,
    users: usize,
    days: i64,
    proposal_out: Option<PathBuf>,
) {
    let store = SqliteStore::open(&data.join("portvakt.db"))
        .await
        .expect("open the store");
    let t = store
        .tenant(tenant)
        .await
        .expect("read the tenant")
        .unwrap_or_else(|| {
            panic!(
                "no tenant {tenant} in {}: start the server with the import file first",
                data.display()
            )
        });
    let w = World::new(0, tenant, &t.id, users);
    // The directory must be the one import-file wrote (the portal part adds one
    // admin of its own, who signs in to the portal and has no seeded records).
    let stored: Vec<_> = store
        .list_users(&t.id)
        .await
        .expect("users")
        .into_iter()
        .filter(|u| !u.user_principal_name.starts_with("portal-admin@"))
        .collect();
    assert_eq!(
        stored.len(),
        users,
        "the tenant has {} users, not {users}",
        stored.len()
    );
    for u in stored.iter().take(50) {
        let mine = w
            .users
            .iter()
            .find(|m| m.id == u.id)
            .expect("a user of the import file");
        let mut ids = u.group_ids.clone();
        ids.sort();
        assert_eq!(ids, mine.group_ids, "groups of {}", u.user_principal_name);
    }
    let proposal = world::proposal(&w);
    let proposed = w
        .compile(std::slice::from_ref(&proposal))
        .expect("the proposal compiles");
    if let Some(p) = proposal_out {
        let body = json!({"policies": [proposal], "since": "30d", "examples": 10});
        std::fs::write(&p, body.to_string()).expect("write the proposal");
    }
    let worlds = Arc::new(vec![w]);
    let ing = ingest(&store, worlds, 1.0, n, days, Some(proposed)).await;
    let count = store.count_signins(&t.id).await.expect("count");
    drop(store);
    println!(
        "RESULT {}",
        json!({
            "seeded": ing.records,
            "tenant_records": count,
            "ingest_wall_s": ing.wall.as_secs_f64(),
            "expected_replayed": ing.expected.replayed,
            "expected_newly_blocked": ing.expected.newly_blocked,
        })
    );
}

/// The log's schema, as the store applies it.
const LOG_SCHEMA: &str =
    include_str!("../../../crates/store/migrations/sqlite-log/0001_signins.sql");
/// The store's insert (crates/store/src/sqlite_signin_log.rs).
const RAW_INSERT: &str =
    "INSERT INTO signins (id, tenant_id, created_ms, user_key, user_id, app_id, status, error_code,
    correlation_id, ip, ca_status, interactive, record, facts, group_set, policy_set)
    VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
/// The store's SELECT of a page, without facts.
const RAW_SELECT: &str = "SELECT s.seq, s.record, p.policies, s.created_ms, s.user_key, s.app_id, s.status, s.error_code FROM signins s LEFT JOIN policy_sets p ON p.hash = s.policy_set WHERE s.tenant_id = ?";

/// `append_signins`, statement for statement, on a plain connection.
fn raw_append(c: &mut rusqlite::Connection, batch: &[StoredSignIn]) -> rusqlite::Result<()> {
    use rusqlite::params;
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut ins = tx.prepare_cached(RAW_INSERT)?;
        let mut groups =
            tx.prepare_cached("INSERT OR IGNORE INTO group_sets (hash, ids) VALUES (?, ?)")?;
        let mut sets =
            tx.prepare_cached("INSERT OR IGNORE INTO policy_sets (hash, policies) VALUES (?, ?)")?;
        let mut seen_groups: Vec<&str> = Vec::new();
        let mut seen_sets: Vec<&str> = Vec::new();
        for s in batch {
            if let Some((h, ids)) = &s.group_set {
                if !seen_groups.contains(&h.as_str()) {
                    groups.execute(params![h, ids])?;
                    seen_groups.push(h);
                }
            }
            if let Some((h, p)) = &s.policy_set {
                if !seen_sets.contains(&h.as_str()) {
                    sets.execute(params![h, p])?;
                    seen_sets.push(h);
                }
            }
            ins.execute(params![
                s.id,
                s.tenant_id,
                s.created_ms,
                s.user_key,
                s.user_id,
                s.app_id,
                s.status,
                s.error_code,
                s.correlation_id,
                s.ip,
                s.ca_status,
                s.interactive,
                s.record,
                s.facts,
                s.group_set.as_ref().map(|g| &g.0),
                s.policy_set.as_ref().map(|p| &p.0),
            ])?;
        }
    }
    tx.commit()
}

/// Time `runs` runs of `sql` (all rows read, as the store does).
fn raw_times(
    c: &rusqlite::Connection,
    sql: &str,
    runs: usize,
    mut args: impl FnMut(usize) -> Vec<rusqlite::types::Value>,
) -> Vec<f64> {
    let mut st = c.prepare(sql).expect("prepare");
    (0..runs)
        .map(|i| {
            let a = args(i);
            let t = Instant::now();
            let mut rows = st
                .query(rusqlite::params_from_iter(a.iter()))
                .expect("query");
            let mut n = 0;
            while let Ok(Some(r)) = rows.next() {
                let _: Option<String> = r.get(1).ok();
                n += 1;
            }
            let _ = n;
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect()
}

struct Variant {
    name: &'static str,
    page_size: u32,
    cache_kib: i64,
    autocheckpoint: u32,
    drop: &'static [&'static str],
    extra: &'static [&'static str],
    /// Correlation ids in creation order (a counter in place of SplitMix64's scramble).
    ordered_cids: bool,
}

fn what_if(n: u64, runs: usize, only: Option<&str>) {
    use rusqlite::types::Value as V;
    let variants = [
        Variant {
            name: "store as-is: 4 KiB pages, 2 MiB cache, checkpoint every 1,000 pages",
            page_size: 4096,
            cache_kib: 2000,
            autocheckpoint: 1000,
            drop: &[],
            extra: &[],
            ordered_cids: false,
        },
        Variant {
            name: "16 KiB pages",
            page_size: 16384,
            cache_kib: 2000,
            autocheckpoint: 1000,
            drop: &[],
            extra: &[],
            ordered_cids: false,
        },
        Variant {
            name: "16 KiB pages, 64 MiB cache",
            page_size: 16384,
            cache_kib: 65536,
            autocheckpoint: 1000,
            drop: &[],
            extra: &[],
            ordered_cids: false,
        },
        Variant {
            name: "16 KiB pages, 64 MiB cache, checkpoint every 64 MiB",
            page_size: 16384,
            cache_kib: 65536,
            autocheckpoint: 4096,
            drop: &[],
            extra: &[],
            ordered_cids: false,
        },
        Variant {
            name: "4 KiB pages, 64 MiB cache, checkpoint every 64 MiB",
            page_size: 4096,
            cache_kib: 65536,
            autocheckpoint: 16384,
            drop: &[],
            extra: &[],
            ordered_cids: false,
        },
        Variant {
            name: "variant 4 + an index on id",
            page_size: 16384,
            cache_kib: 65536,
            autocheckpoint: 4096,
            drop: &[],
            extra: &["CREATE INDEX signins_id ON signins (id)"],
            ordered_cids: false,
        },
        Variant {
            name: "variant 4 without signins_user and signins_correlation (diagnostic)",
            page_size: 16384,
            cache_kib: 65536,
            autocheckpoint: 4096,
            drop: &["signins_user", "signins_correlation"],
            extra: &[],
            ordered_cids: false,
        },
        Variant {
            name: "variant 4 without signins_tenant_time and signins_app",
            page_size: 16384,
            cache_kib: 65536,
            autocheckpoint: 4096,
            drop: &["signins_tenant_time", "signins_app"],
            extra: &[],
            ordered_cids: false,
        },
        Variant {
            name: "variant 5 with correlation ids in creation order",
            page_size: 4096,
            cache_kib: 65536,
            autocheckpoint: 16384,
            drop: &[],
            extra: &[],
            ordered_cids: true,
        },
        Variant {
            name: "variant 4 with correlation ids in creation order",
            page_size: 16384,
            cache_kib: 65536,
            autocheckpoint: 4096,
            drop: &[],
            extra: &[],
            ordered_cids: true,
        },
        Variant {
            name: "store as-is with correlation ids in creation order",
            page_size: 4096,
            cache_kib: 2000,
            autocheckpoint: 1000,
            drop: &[],
            extra: &[],
            ordered_cids: true,
        },
    ];
    let pick: Option<Vec<usize>> =
        only.map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect());
    let worlds: Arc<Vec<World>> = Arc::new(
        (0..4)
            .map(|t| {
                World::new(
                    t,
                    &format!("tenant{t}"),
                    &world::stable_uuid(1, t, 0),
                    10_000,
                )
            })
            .collect(),
    );
    let w0 = &worlds[0];
    let mut all = Vec::new();
    for (k, v) in variants.iter().enumerate() {
        let k = k + 1;
        if pick.as_ref().is_some_and(|p| !p.contains(&k)) {
            continue;
        }
        let dir = std::env::temp_dir().join(format!("signinlog-whatif-{}-{k}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("signins.db");
        let mut c = rusqlite::Connection::open(&path).expect("open");
        c.busy_timeout(Duration::from_secs(10)).expect("busy");
        c.pragma_update(None, "page_size", v.page_size)
            .expect("page_size");
        c.pragma_update(None, "journal_mode", "WAL").expect("wal");
        c.pragma_update(None, "synchronous", "NORMAL")
            .expect("sync");
        c.pragma_update(None, "foreign_keys", "ON").expect("fk");
        c.pragma_update(None, "mmap_size", 0).expect("mmap");
        c.pragma_update(None, "cache_size", -v.cache_kib)
            .expect("cache");
        c.pragma_update(None, "wal_autocheckpoint", v.autocheckpoint)
            .expect("ckpt");
        c.execute_batch(LOG_SCHEMA).expect("schema");
        for i in v.drop {
            c.execute_batch(&format!("DROP INDEX {i}"))
                .expect("drop index");
        }
        for e in v.extra {
            c.execute_batch(e).expect("extra index");
        }
        let (rx, gen) = spawn_generator(worlds.clone(), 0.7, n, 30, None, v.ordered_cids);
        let (mut append, t_wall) = (Duration::ZERO, Instant::now());
        let mut count = 0u64;
        while let Ok(b) = rx.recv() {
            let t = Instant::now();
            raw_append(&mut c, &b).expect("append");
            append += t.elapsed();
            count += b.len() as u64;
        }
        let wall = t_wall.elapsed();
        let (_, _, samples, _) = gen.join().expect("generator");
        let _ = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        let bytes = file_size(&path) + file_size(&with_suffix(&path, "-wal"));
        let t0 = V::Text(w0.tenant_id.clone());
        let week = V::Integer(now_ms() - 7 * 86_400_000);
        let mut rng = Rng::new(5);
        let mut user = |_: usize| {
            V::Text(
                w0.users[rng.below(w0.users.len() as u64) as usize]
                    .upn
                    .clone(),
            )
        };
        let q1 = format!("{RAW_SELECT} AND s.created_ms >= ? AND s.user_key = ? AND s.status = ? ORDER BY s.seq DESC LIMIT 51");
        let q1plus = format!("{RAW_SELECT} AND +s.created_ms >= ? AND s.user_key = ? AND s.status = ? ORDER BY s.seq DESC LIMIT 51");
        let mut m1 = raw_times(&c, &q1, runs, |_| {
            vec![t0.clone(), week.clone(), user(0), V::Integer(1)]
        });
        let mut m1p = raw_times(&c, &q1plus, runs, |_| {
            vec![t0.clone(), week.clone(), user(0), V::Integer(1)]
        });
        let qid = format!("{RAW_SELECT} AND (s.id = ?) ORDER BY s.seq DESC LIMIT 2");
        let mut mid = raw_times(&c, &qid, runs.min(20), |i| {
            vec![t0.clone(), V::Text(samples[i % samples.len()].clone())]
        });
        let q3 = format!("{RAW_SELECT} ORDER BY s.seq DESC LIMIT 51");
        let mut m3 = raw_times(&c, &q3, runs, |_| vec![t0.clone()]);
        let t_an = Instant::now();
        c.execute_batch("ANALYZE").expect("analyze");
        let analyze_s = t_an.elapsed().as_secs_f64();
        let mut m1a = raw_times(&c, &q1, runs, |_| {
            vec![t0.clone(), week.clone(), user(0), V::Integer(1)]
        });
        let plan_a = plan(
            &c,
            &q1.replacen('?', "'t'", 1)
                .replacen('?', "0", 1)
                .replacen('?', "'u'", 1)
                .replacen('?', "1", 1),
        );
        let r = json!({
            "variant": k, "name": v.name, "records": count,
            "append_records_per_s": rate(count, append).round(),
            "wall_records_per_s": rate(count, wall).round(),
            "bytes_per_record": (bytes as f64 / count.max(1) as f64).round(),
            "failures_of_user_7d": pcts(&mut m1),
            "failures_of_user_7d_plus_created_ms": pcts(&mut m1p),
            "failures_of_user_7d_after_analyze": pcts(&mut m1a),
            "plan_after_analyze": plan_a,
            "analyze_s": analyze_s,
            "api_lookup_by_id": pcts(&mut mid),
            "newest_50": pcts(&mut m3),
        });
        eprintln!("what-if {r}");
        all.push(r);
        drop(c);
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!("RESULT {}", serde_json::Value::Array(all));
}

/// Verdict of a decision for comparing two, as the server's replay does.
fn verdict(e: &portvakt_policy::Evaluation) -> u8 {
    match &e.decision {
        Decision::Allowed => 0,
        Decision::Blocked { .. } | Decision::FailedClosed { .. } => 1,
        Decision::InteractionRequired { .. } => {
            if e.required().mfa {
                2
            } else {
                3
            }
        }
    }
}

async fn replay_local(data: &Path, tenant: &str, users: usize, runs: usize) {
    use portvakt_core::signin::facts_back;
    use std::collections::HashMap;
    let store = SqliteStore::open(&data.join("portvakt.db"))
        .await
        .expect("open");
    let t = store
        .tenant(tenant)
        .await
        .expect("tenant")
        .expect("the tenant exists");
    let w = World::new(0, tenant, &t.id, users);
    let proposed = w.compile(&[world::proposal(&w)]).expect("compile");
    let since = now_ms() - 30 * 86_400_000;
    for run in 0..runs {
        // 1. As crates/server/src/logs/replay.rs does it.
        let t0 = Instant::now();
        let (mut rows, mut blocked_new, mut read) = (0u64, 0u64, Duration::ZERO);
        let mut cursor = None;
        loop {
            let q = SignInQuery {
                tenant_id: t.id.clone(),
                since_ms: Some(since),
                before_seq: cursor,
                limit: 1000,
                ..Default::default()
            };
            let tr = Instant::now();
            let page = store.signins(&q, true).await.expect("page");
            read += tr.elapsed();
            for row in &page.rows {
                let Some(f) = row
                    .facts
                    .as_deref()
                    .and_then(|f| facts_back(f, row.group_ids.as_deref()))
                else {
                    continue;
                };
                rows += 1;
                let (b, a) = (evaluate(&w.set, &f), evaluate(&proposed, &f));
                let (vb, va) = (verdict(&b), verdict(&a));
                if vb != va && va == 1 {
                    blocked_new += 1;
                    let _: serde_json::Value =
                        serde_json::from_str(&row.record).unwrap_or_default();
                }
            }
            match page.next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        let as_server = t0.elapsed();
        // 2. Only the facts and the group set's hash; group sets parsed once.
        let c = rusqlite::Connection::open_with_flags(
            data.join("signins.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open signins.db");
        let _ = c.pragma_update(None, "mmap_size", 0);
        let t1 = Instant::now();
        let mut sets: HashMap<String, Vec<String>> = HashMap::new();
        let (mut rows2, mut blocked2, mut eval_t) = (0u64, 0u64, Duration::ZERO);
        let mut cursor = i64::MAX;
        let mut st = c
            .prepare("SELECT s.seq, s.facts, s.group_set FROM signins s WHERE s.tenant_id = ? AND s.created_ms >= ? AND s.seq < ? ORDER BY s.seq DESC LIMIT 1001")
            .expect("prepare");
        let mut gst = c
            .prepare("SELECT ids FROM group_sets WHERE hash = ?")
            .expect("prepare");
        loop {
            let mut n = 0;
            let mut last = None;
            let mut q = st
                .query(rusqlite::params![t.id, since, cursor])
                .expect("query");
            while let Ok(Some(r)) = q.next() {
                n += 1;
                if n > 1000 {
                    break;
                }
                let seq: i64 = r.get(0).expect("seq");
                last = Some(seq);
                let facts = r
                    .get_ref(1)
                    .ok()
                    .and_then(|v| v.as_str_or_null().ok().flatten());
                let Some(facts) = facts else { continue };
                let Ok(mut f) = serde_json::from_str::<portvakt_policy::SignInFacts>(facts) else {
                    continue;
                };
                if let Some(h) = r
                    .get_ref(2)
                    .ok()
                    .and_then(|v| v.as_str_or_null().ok().flatten())
                {
                    if !sets.contains_key(h) {
                        let ids: String = gst.query_row([h], |x| x.get(0)).expect("group set");
                        sets.insert(
                            h.to_string(),
                            serde_json::from_str(&ids).unwrap_or_default(),
                        );
                    }
                    if let portvakt_policy::Identity::User(u) = &mut f.identity {
                        u.groups = sets[h].clone();
                    }
                }
                rows2 += 1;
                let te = Instant::now();
                let (vb, va) = (
                    verdict(&evaluate(&w.set, &f)),
                    verdict(&evaluate(&proposed, &f)),
                );
                eval_t += te.elapsed();
                if vb != va && va == 1 {
                    blocked2 += 1;
                }
            }
            drop(q);
            match (n > 1000, last) {
                (true, Some(l)) => cursor = l,
                _ => break,
            }
        }
        let slim = t1.elapsed();
        // 3. The same plus the record read into a String, as the store's page does.
        let t2 = Instant::now();
        let mut st3 = c
            .prepare("SELECT s.seq, s.facts, s.group_set, s.record FROM signins s WHERE s.tenant_id = ? AND s.created_ms >= ? AND s.seq < ? ORDER BY s.seq DESC LIMIT 1001")
            .expect("prepare");
        let mut cursor = i64::MAX;
        let mut rows3 = 0u64;
        loop {
            let mut n = 0;
            let mut last = None;
            let mut q = st3
                .query(rusqlite::params![t.id, since, cursor])
                .expect("query");
            while let Ok(Some(r)) = q.next() {
                n += 1;
                if n > 1000 {
                    break;
                }
                last = Some(r.get::<_, i64>(0).expect("seq"));
                let _record: String = r.get(3).expect("record");
                let facts: Option<String> = r.get(1).expect("facts");
                let Some(facts) = facts else { continue };
                let Ok(mut f) = serde_json::from_str::<portvakt_policy::SignInFacts>(&facts) else {
                    continue;
                };
                if let Some(h) = r
                    .get_ref(2)
                    .ok()
                    .and_then(|v| v.as_str_or_null().ok().flatten())
                {
                    if let portvakt_policy::Identity::User(u) = &mut f.identity {
                        u.groups = sets[h].clone();
                    }
                }
                rows3 += 1;
                let _ = (
                    verdict(&evaluate(&w.set, &f)),
                    verdict(&evaluate(&proposed, &f)),
                );
            }
            drop(q);
            match (n > 1000, last) {
                (true, Some(l)) => cursor = l,
                _ => break,
            }
        }
        let slim_record = t2.elapsed();
        let _ = rows3;
        println!(
            "RESULT {}",
            json!({
                "run": run + 1,
                "as_server_s": as_server.as_secs_f64(),
                "as_server_page_reads_s": read.as_secs_f64(),
                "as_server_replayed": rows,
                "as_server_newly_blocked": blocked_new,
                "slim_s": slim.as_secs_f64(),
                "slim_evaluations_s": eval_t.as_secs_f64(),
                "slim_replayed": rows2,
                "slim_newly_blocked": blocked2,
                "slim_plus_record_s": slim_record.as_secs_f64(),
            })
        );
    }
}
