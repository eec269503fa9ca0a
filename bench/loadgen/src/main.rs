//! Load generator for the issue #5 scenarios that wrk cannot drive (loopback only,
//! every run bounded in time and in count):
//!
//! - `refresh`: N chains, each with its own refresh-token family obtained by one
//!   sign-in (authorization code + PKCE through the server's real sign-in pages), then
//!   refreshing in a loop: every response's new refresh token is the next request's.
//!   Afterwards each chain proves its family intact: two concurrent refreshes with the
//!   current token (exactly one may win), one more refresh (the last token must work)
//!   and a replay of an already used token (must be refused).
//! - `login`: N workers signing in through the login form (Argon2id) in a loop; a
//!   sign-in is authorize → login page → POST credentials → redirect with the code.
//! - `storm`: a fixed-rate probe on the token endpoint, first alone, then during a
//!   `login` storm; the probe's latency percentiles in both phases.
//! - `signin`: one sign-in plus code exchange; prints the token response (for scripts).
//!
//! The sign-in follows redirects by hand with a per-sign-in cookie jar and submits the
//! first form that has a `csrf` field (Portvakt's login page); the npm oidc-provider
//! peer's interaction page signs in without a form (bench/peer/server.mjs). Results are
//! one `LOADJSON {...}` line on stdout, in wrk's field names where they exist.

use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MAX_SECONDS: f64 = 300.0;
const MAX_CHAINS: usize = 512;
const MAX_TOTAL: u64 = 1_000_000;

#[derive(Parser)]
#[command(version, about = "Portvakt benchmark load generator (loopback only)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// One sign-in and code exchange; prints the token response.
    Signin(Target),
    /// Refresh-token chains with rotation checks.
    Refresh {
        #[command(flatten)]
        t: Target,
        /// Concurrent chains (one token family each).
        #[arg(long, default_value_t = 32)]
        chains: usize,
        /// Seconds of refreshing (the sign-ins before are not timed).
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Stop once this many refresh tokens were issued (sign-ins included).
        #[arg(long)]
        total: Option<u64>,
        /// Report this (server) process's VmRSS/VmHWM before the sign-ins, after them
        /// and at the end (the memory scenario).
        #[arg(long)]
        rss_pid: Option<u32>,
    },
    /// Password sign-ins through the login form in a loop.
    Login {
        #[command(flatten)]
        t: Target,
        /// Concurrent sign-ins.
        #[arg(long, default_value_t = 8)]
        chains: usize,
        /// Seconds.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
    },
    /// Token-endpoint latency at a fixed rate, idle and then during a login storm.
    Storm {
        #[command(flatten)]
        t: Target,
        /// Concurrent sign-ins of the storm.
        #[arg(long, default_value_t = 8)]
        chains: usize,
        /// Seconds per phase.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Probe requests per second.
        #[arg(long, default_value_t = 200.0)]
        probe_rate: f64,
        /// Probe: `client_id:client_secret` of a client-credentials client.
        #[arg(long, default_value = "bench:bench-secret-0123456789abcdef")]
        probe_client: String,
        /// Probe: the form body.
        #[arg(
            long,
            default_value = "grant_type=client_credentials&scope=api%3A%2F%2Fanalytics%2F.default"
        )]
        probe_body: String,
    },
}

#[derive(Args, Clone)]
struct Target {
    /// Authorization endpoint URL.
    #[arg(long)]
    authorize: String,
    /// Token endpoint URL.
    #[arg(long)]
    token: String,
    /// Public client (PKCE, no secret).
    #[arg(long, default_value = "web")]
    client_id: String,
    /// Its redirect URI (never contacted: the code is read from the Location header).
    #[arg(long, default_value = "http://127.0.0.1:9/cb")]
    redirect_uri: String,
    /// Scope of the sign-in.
    #[arg(long, default_value = "offline_access api://analytics/.default")]
    scope: String,
    /// Extra authorization-request parameters, `k=v&k2=v2` (e.g. `prompt=consent`).
    #[arg(long, default_value = "")]
    extra: String,
    /// Users `u1..uN@DOMAIN` with passwords `bench-password-1..N`.
    #[arg(long, default_value_t = 8)]
    users: usize,
    /// Domain of the user names.
    #[arg(long, default_value = "bench.example")]
    domain: String,
}

type Res<T> = Result<T, String>;

fn err<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> String {
    move |e| format!("{what}: {e}")
}

fn check_loopback(url: &str) -> Res<()> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// loopback URLs"))?;
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    if host == "127.0.0.1" || host == "localhost" || host == "[::1]" {
        Ok(())
    } else {
        Err(format!("{url}: not a loopback address"))
    }
}

fn client() -> Res<reqwest::Client> {
    // The workspace's reqwest has no default TLS provider; the guard's builder supplies
    // one (only plain http:// on loopback is used here).
    portvakt_guard::http::builder()?
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(MAX_CHAINS)
        .build()
        .map_err(err("http client"))
}

/// Cookies of one sign-in (names are unique enough; paths are ignored).
#[derive(Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn take(&mut self, res: &reqwest::Response) {
        for v in res.headers().get_all(reqwest::header::SET_COOKIE) {
            let Ok(v) = v.to_str() else { continue };
            let pair = v.split(';').next().unwrap_or_default();
            let Some((k, val)) = pair.split_once('=') else {
                continue;
            };
            self.0.retain(|(n, _)| n != k.trim());
            if !val.is_empty() {
                self.0.push((k.trim().to_string(), val.to_string()));
            }
        }
    }
    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// `Location` resolved against `base` (absolute, absolute-path or relative-free).
fn resolve(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_string();
    }
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let origin_end = base[after_scheme..]
        .find('/')
        .map(|i| i + after_scheme)
        .unwrap_or(base.len());
    if location.starts_with('/') {
        format!("{}{location}", &base[..origin_end])
    } else {
        let dir_end = base.rfind('/').unwrap_or(base.len());
        format!("{}/{location}", &base[..dir_end])
    }
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(x) => {
                    out.push(x);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `name="NAME" value="..."` of a hidden input.
fn hidden(html: &str, name: &str) -> Option<String> {
    let pat = format!("name=\"{name}\" value=\"");
    let start = html.find(&pat)? + pat.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].replace("&amp;", "&"))
}

fn form_action(html: &str, page_url: &str) -> Option<String> {
    // The form that carries the csrf field.
    let csrf_at = html.find("name=\"csrf\"")?;
    let form_at = html[..csrf_at].rfind("<form")?;
    let tag_end = html[form_at..].find('>')? + form_at;
    let tag = &html[form_at..tag_end];
    let a = tag.find("action=\"")? + 8;
    let e = tag[a..].find('"')? + a;
    let action = tag[a..e].replace("&amp;", "&");
    Some(if action.is_empty() {
        page_url.split('?').next().unwrap_or(page_url).to_string()
    } else {
        resolve(page_url, &action)
    })
}

struct Pkce {
    verifier: String,
    challenge: String,
}

fn pkce() -> Pkce {
    let verifier = portvakt_jose::random_id(32);
    let challenge = portvakt_jose::b64url_encode(&portvakt_jose::sha256(verifier.as_bytes()));
    Pkce {
        verifier,
        challenge,
    }
}

fn user(t: &Target, i: usize) -> (String, String) {
    let n = i % t.users.max(1) + 1;
    (format!("u{n}@{}", t.domain), format!("bench-password-{n}"))
}

/// Authorize → (login page → POST credentials | peer interaction) → code.
async fn sign_in(http: &reqwest::Client, t: &Target, i: usize, p: &Pkce) -> Res<String> {
    let (username, password) = user(t, i);
    let state = portvakt_jose::random_id(8);
    let mut q: Vec<(String, String)> = vec![
        ("client_id".into(), t.client_id.clone()),
        ("response_type".into(), "code".into()),
        ("redirect_uri".into(), t.redirect_uri.clone()),
        ("scope".into(), t.scope.clone()),
        ("code_challenge".into(), p.challenge.clone()),
        ("code_challenge_method".into(), "S256".into()),
        ("state".into(), state.clone()),
        ("login_hint".into(), username.clone()),
    ];
    for kv in t.extra.split('&').filter(|s| !s.is_empty()) {
        if let Some((k, v)) = kv.split_once('=') {
            q.push((k.into(), percent_decode(v)));
        }
    }
    let mut jar = Jar::default();
    let res = http
        .get(&t.authorize)
        .query(&q)
        .send()
        .await
        .map_err(err("authorize"))?;
    let mut url = t.authorize.clone();
    let mut res = res;
    let mut posted = false;
    for _ in 0..8 {
        jar.take(&res);
        let status = res.status().as_u16();
        if (300..400).contains(&status) {
            let loc = res
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or("redirect without Location")?
                .to_string();
            if loc.starts_with(&t.redirect_uri) {
                if query_param(&loc, "state").as_deref() != Some(state.as_str()) {
                    return Err(format!("state not echoed: {loc}"));
                }
                return query_param(&loc, "code")
                    .ok_or_else(|| format!("no code in the redirect: {loc}"));
            }
            url = resolve(&url, &loc);
            res = http
                .get(&url)
                .header(reqwest::header::COOKIE, jar.header())
                .send()
                .await
                .map_err(err("follow redirect"))?;
            continue;
        }
        let body = res.text().await.map_err(err("page body"))?;
        if status != 200 || posted {
            let snippet: String = body.chars().take(300).collect();
            return Err(format!("sign-in stopped at {url} with {status}: {snippet}"));
        }
        let action = form_action(&body, &url).ok_or_else(|| {
            let snippet: String = body.chars().take(300).collect();
            format!("no login form at {url}: {snippet}")
        })?;
        let mut form = vec![
            ("csrf", hidden(&body, "csrf").ok_or("no csrf field")?),
            ("username", username.clone()),
            ("password", password.clone()),
        ];
        if let Some(i) = hidden(&body, "interaction") {
            form.push(("interaction", i));
        }
        posted = true;
        url = action;
        res = http
            .post(&url)
            .header(reqwest::header::COOKIE, jar.header())
            .form(&form)
            .send()
            .await
            .map_err(err("post login"))?;
    }
    Err("too many redirects".into())
}

async fn exchange(http: &reqwest::Client, t: &Target, code: &str, p: &Pkce) -> Res<Value> {
    let res = http
        .post(&t.token)
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", t.client_id.as_str()),
            ("code", code),
            ("redirect_uri", t.redirect_uri.as_str()),
            ("code_verifier", p.verifier.as_str()),
        ])
        .send()
        .await
        .map_err(err("code exchange"))?;
    let status = res.status().as_u16();
    let text = res.text().await.map_err(err("code exchange body"))?;
    if status != 200 {
        return Err(format!("code exchange answered {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(err("code exchange json"))
}

async fn sign_in_and_exchange(http: &reqwest::Client, t: &Target, i: usize) -> Res<Value> {
    let p = pkce();
    let code = sign_in(http, t, i, &p).await?;
    exchange(http, t, &code, &p).await
}

enum Refreshed {
    Ok(String),
    Refused(u16, String),
}

async fn refresh_once(http: &reqwest::Client, t: &Target, token: &str) -> Res<Refreshed> {
    let res = http
        .post(&t.token)
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", t.client_id.as_str()),
            ("refresh_token", token),
        ])
        .send()
        .await
        .map_err(err("refresh"))?;
    let status = res.status().as_u16();
    let text = res.text().await.map_err(err("refresh body"))?;
    if status != 200 {
        return Ok(Refreshed::Refused(status, text));
    }
    let v: Value = serde_json::from_str(&text).map_err(err("refresh json"))?;
    match v["refresh_token"].as_str() {
        Some(r) => Ok(Refreshed::Ok(r.to_string())),
        None => Err(format!("200 without a refresh token: {text}")),
    }
}

fn fingerprint(token: &str) -> [u8; 16] {
    let h = portvakt_jose::sha256(token.as_bytes());
    let mut f = [0u8; 16];
    f.copy_from_slice(&h[..16]);
    f
}

struct Lat(Vec<u32>);

impl Lat {
    fn pct(&self, p: f64) -> u64 {
        if self.0.is_empty() {
            return 0;
        }
        let i = ((p / 100.0) * (self.0.len() - 1) as f64).round() as usize;
        u64::from(self.0[i.min(self.0.len() - 1)])
    }
    fn sorted(mut v: Vec<u32>) -> Self {
        v.sort_unstable();
        Lat(v)
    }
    fn json(&self) -> Value {
        json!({"p50_us": self.pct(50.0), "p90_us": self.pct(90.0), "p99_us": self.pct(99.0),
               "max_us": self.0.last().copied().unwrap_or(0)})
    }
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

#[derive(Default)]
struct ChainResult {
    lat: Vec<u32>,
    ok: u64,
    failed: u64,
    error: Option<String>,
    race_checked: bool,
    race_winners: u32,
    final_ok: bool,
    replay_refused: bool,
    loop_end: Option<Instant>,
}

/// What the refresh chains share.
struct Shared {
    http: reqwest::Client,
    t: Arc<Target>,
    start: tokio::sync::Barrier,
    deadline: Mutex<Option<Instant>>,
    issued: AtomicU64,
    total: u64,
    seen: Mutex<HashSet<[u8; 16]>>,
    dup: AtomicU64,
}

async fn chain(sh: Arc<Shared>, first: String) -> ChainResult {
    let mut r = ChainResult::default();
    let (http, t) = (&sh.http, &sh.t);
    sh.start.wait().await;
    let end = match sh.deadline.lock() {
        Ok(d) => d.unwrap_or_else(Instant::now),
        Err(_) => Instant::now(),
    };
    let mut tok = first;
    let mut prev: Option<String> = None;
    while Instant::now() < end && sh.issued.load(Ordering::Relaxed) < sh.total {
        let t0 = Instant::now();
        match refresh_once(http, t, &tok).await {
            Ok(Refreshed::Ok(new)) => {
                r.lat.push(micros(t0.elapsed()));
                r.ok += 1;
                sh.issued.fetch_add(1, Ordering::Relaxed);
                let fresh = sh
                    .seen
                    .lock()
                    .map(|mut s| s.insert(fingerprint(&new)))
                    .unwrap_or(true);
                if !fresh {
                    sh.dup.fetch_add(1, Ordering::Relaxed);
                }
                prev = Some(std::mem::replace(&mut tok, new));
            }
            Ok(Refreshed::Refused(s, body)) => {
                r.failed += 1;
                r.error = Some(format!("{s}: {body}"));
                return r;
            }
            Err(e) => {
                r.failed += 1;
                r.error = Some(e);
                return r;
            }
        }
    }
    r.loop_end = Some(Instant::now());
    // Verification, not timed. (1) Two concurrent refreshes with the current token: at
    // most one live successor. Either one wins and the other is refused (a race), or
    // both get tokens because the second read the token after the first committed (a
    // retry within Portvakt's window, docs/refresh-tokens.md): then the later one is
    // live and the earlier superseded, which the client cannot tell apart.
    let (a, b) = tokio::join!(refresh_once(http, t, &tok), refresh_once(http, t, &tok));
    r.race_checked = true;
    let won: Vec<String> = [a, b]
        .into_iter()
        .filter_map(|x| match x {
            Ok(Refreshed::Ok(n)) => Some(n),
            _ => None,
        })
        .collect();
    r.race_winners = won.len() as u32;
    match won.as_slice() {
        // (2) The winner's token must work (nothing lost, the family not revoked).
        [n] => {
            let used = std::mem::replace(&mut tok, n.clone());
            prev = Some(used);
            r.final_ok = matches!(refresh_once(http, t, &tok).await, Ok(Refreshed::Ok(_)));
        }
        // (2') Two successors: at most one of them is live.
        [x, y] => {
            let x_ok = matches!(refresh_once(http, t, x).await, Ok(Refreshed::Ok(_)));
            let y_ok = matches!(refresh_once(http, t, y).await, Ok(Refreshed::Ok(_)));
            r.final_ok = !(x_ok && y_ok);
            prev = Some(tok.clone());
        }
        _ => {}
    }
    // (3) A used token must be refused.
    if let Some(p) = prev {
        r.replay_refused = matches!(
            refresh_once(http, t, &p).await,
            Ok(Refreshed::Refused(400..=499, _))
        );
    }
    r
}

/// VmRSS and VmHWM of `pid` in KiB.
fn rss(pid: Option<u32>) -> Value {
    let Some(pid) = pid else { return Value::Null };
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return Value::Null;
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    json!({"rss_kb": field("VmRSS:"), "hwm_kb": field("VmHWM:")})
}

async fn refresh_cmd(
    t: Target,
    chains: usize,
    duration: f64,
    total: Option<u64>,
    rss_pid: Option<u32>,
) -> Res<Value> {
    let rss_before = rss(rss_pid);
    let sh = Arc::new(Shared {
        http: client()?,
        t: Arc::new(t),
        start: tokio::sync::Barrier::new(chains + 1),
        deadline: Mutex::new(None),
        issued: AtomicU64::new(0),
        total: total.unwrap_or(MAX_TOTAL).min(MAX_TOTAL),
        seen: Mutex::new(HashSet::new()),
        dup: AtomicU64::new(0),
    });
    // The sign-ins: a few at a time (Argon2id).
    let mut firsts = Vec::with_capacity(chains);
    let signin_start = Instant::now();
    for batch in (0..chains).collect::<Vec<_>>().chunks(4) {
        let mut set = tokio::task::JoinSet::new();
        for &i in batch {
            let sh = sh.clone();
            set.spawn(async move { (i, sign_in_and_exchange(&sh.http, &sh.t, i).await) });
        }
        while let Some(j) = set.join_next().await {
            let (i, v) = j.map_err(err("sign-in task"))?;
            let v = v?;
            let rt = v["refresh_token"]
                .as_str()
                .ok_or_else(|| format!("the code exchange gave no refresh token: {v}"))?
                .to_string();
            if let Ok(mut s) = sh.seen.lock() {
                s.insert(fingerprint(&rt));
            }
            sh.issued.fetch_add(1, Ordering::Relaxed);
            firsts.push((i, rt));
        }
    }
    let signin_s = signin_start.elapsed().as_secs_f64();
    let rss_signed_in = rss(rss_pid);
    let mut tasks = tokio::task::JoinSet::new();
    for (_, first) in firsts {
        tasks.spawn(chain(sh.clone(), first));
    }
    let started = Instant::now();
    if let Ok(mut d) = sh.deadline.lock() {
        *d = Some(started + Duration::from_secs_f64(duration));
    }
    sh.start.wait().await;
    let issued_before = sh.issued.load(Ordering::Relaxed);
    // The timed phase ends when the last chain leaves its loop (at the deadline or the
    // total); the verification after it is not timed.
    let mut results = Vec::new();
    while let Some(j) = tasks.join_next().await {
        results.push(j.map_err(err("chain task"))?);
    }
    let elapsed = results
        .iter()
        .filter_map(|r| r.loop_end)
        .max()
        .map(|e| e.saturating_duration_since(started))
        .unwrap_or_else(|| started.elapsed());
    let mut lat = Vec::new();
    let (mut ok, mut failed) = (0u64, 0u64);
    let mut first_error = None;
    let (mut race_checked, mut race_single, mut final_ok, mut replay_refused) = (0, 0, 0, 0);
    let mut race_retried = 0u32;
    for r in results {
        lat.extend(r.lat);
        ok += r.ok;
        failed += r.failed;
        if first_error.is_none() {
            first_error = r.error;
        }
        if r.race_checked {
            race_checked += 1;
            race_single += u32::from(r.race_winners == 1 || r.race_winners == 2);
            race_retried += u32::from(r.race_winners == 2);
            final_ok += u32::from(r.final_ok);
            replay_refused += u32::from(r.replay_refused);
        }
    }
    let lat = Lat::sorted(lat);
    let mut out = json!({
        "requests": ok + failed, "ok": ok, "duration_us": elapsed.as_micros() as u64,
        "non2xx": failed, "connect": 0, "read": 0, "write": 0, "timeout": 0,
        "chains": chains, "signin_s": signin_s,
        "issued": sh.issued.load(Ordering::Relaxed), "issued_in_signin": issued_before,
        "duplicates": sh.dup.load(Ordering::Relaxed), "lost_chains": chains as u64 - race_checked as u64,
        "race_checked": race_checked, "race_single_winner": race_single, "race_retried": race_retried,
        "final_ok": final_ok, "replay_refused": replay_refused,
        "first_error": first_error,
        "rss_before": rss_before, "rss_signed_in": rss_signed_in, "rss_end": rss(rss_pid),
    });
    merge(&mut out, lat.json());
    Ok(out)
}

fn merge(a: &mut Value, b: Value) {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
}

/// Sign-ins in a loop on `chains` workers until `end`; latencies and failures.
async fn login_storm(
    http: reqwest::Client,
    t: Arc<Target>,
    chains: usize,
    end: Instant,
) -> Res<(Vec<u32>, u64, Option<String>)> {
    let mut set = tokio::task::JoinSet::new();
    for c in 0..chains {
        let (http, t) = (http.clone(), t.clone());
        set.spawn(async move {
            let mut lat = Vec::new();
            let mut failed = 0u64;
            let mut error = None;
            let mut n = c;
            while Instant::now() < end {
                let t0 = Instant::now();
                let p = pkce();
                match sign_in(&http, &t, n, &p).await {
                    Ok(_) => lat.push(micros(t0.elapsed())),
                    Err(e) => {
                        failed += 1;
                        error.get_or_insert(e);
                        // A refused sign-in must not become a hammering loop.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                n += chains;
            }
            (lat, failed, error)
        });
    }
    let mut lat = Vec::new();
    let mut failed = 0;
    let mut error = None;
    while let Some(j) = set.join_next().await {
        let (l, f, e) = j.map_err(err("login task"))?;
        lat.extend(l);
        failed += f;
        if error.is_none() {
            error = e;
        }
    }
    Ok((lat, failed, error))
}

async fn login_cmd(t: Target, chains: usize, duration: f64) -> Res<Value> {
    let http = client()?;
    let start = Instant::now();
    let (lat, failed, error) = login_storm(
        http,
        Arc::new(t),
        chains,
        start + Duration::from_secs_f64(duration),
    )
    .await?;
    let elapsed = start.elapsed();
    let ok = lat.len() as u64;
    let mut out = json!({"requests": ok + failed, "ok": ok, "duration_us": elapsed.as_micros() as u64,
        "non2xx": failed, "connect": 0, "read": 0, "write": 0, "timeout": 0, "chains": chains,
        "first_error": error});
    merge(&mut out, Lat::sorted(lat).json());
    Ok(out)
}

/// Fixed-rate probe: one request every 1/rate s, each on its own task (open loop, so a
/// slow answer does not delay the next request).
async fn probe(
    http: reqwest::Client,
    url: String,
    basic: String,
    body: String,
    rate: f64,
    secs: f64,
) -> Res<Value> {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1.0)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let mut set = tokio::task::JoinSet::new();
    while Instant::now() < end {
        let scheduled = tick.tick().await;
        let req = http
            .post(&url)
            .header(reqwest::header::AUTHORIZATION, format!("Basic {basic}"))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body.clone());
        set.spawn(async move {
            // Measured from the scheduled time: a late start counts as latency.
            let ok = match req.send().await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            (ok, micros(scheduled.elapsed()))
        });
    }
    let mut lat = Vec::new();
    let mut bad = 0u64;
    while let Some(j) = set.join_next().await {
        let (ok, us) = j.map_err(err("probe task"))?;
        if ok {
            lat.push(us);
        } else {
            bad += 1;
        }
    }
    let mut out = json!({"requests": lat.len() as u64 + bad, "non2xx": bad});
    merge(&mut out, Lat::sorted(lat).json());
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn storm_cmd(
    t: Target,
    chains: usize,
    duration: f64,
    rate: f64,
    probe_client: String,
    probe_body: String,
) -> Res<Value> {
    let http = client()?;
    let basic = base64_std(probe_client.as_bytes());
    // Warm the probe's connections.
    probe(
        http.clone(),
        t.token.clone(),
        basic.clone(),
        probe_body.clone(),
        rate,
        1.0,
    )
    .await?;
    let idle = probe(
        http.clone(),
        t.token.clone(),
        basic.clone(),
        probe_body.clone(),
        rate,
        duration,
    )
    .await?;
    let t = Arc::new(t);
    // The storm starts 1 s before the probe and ends 0.5 s after it.
    let start = Instant::now();
    let storm_end = start + Duration::from_secs_f64(duration + 1.5);
    let storm = tokio::spawn(login_storm(http.clone(), t.clone(), chains, storm_end));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let during = probe(
        http.clone(),
        t.token.clone(),
        basic,
        probe_body,
        rate,
        duration,
    )
    .await?;
    let (lat, failed, error) = storm.await.map_err(err("storm task"))??;
    let elapsed = start.elapsed().as_secs_f64();
    Ok(json!({
        "probe_rate": rate, "chains": chains, "duration_s": duration,
        "idle": idle, "storm": during,
        "storm_logins": lat.len(), "storm_logins_per_s": lat.len() as f64 / elapsed,
        "storm_failed": failed, "first_error": error,
    }))
}

fn base64_std(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= c.len() {
                out.push(char::from(T[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn limits(chains: usize, duration: f64) -> Res<()> {
    if chains == 0 || chains > MAX_CHAINS {
        return Err(format!("--chains must be 1..={MAX_CHAINS}"));
    }
    if !(duration > 0.0 && duration <= MAX_SECONDS) {
        return Err(format!("--duration must be in (0, {MAX_SECONDS}] s"));
    }
    Ok(())
}

async fn run(cli: Cli) -> Res<Value> {
    let t = match &cli.cmd {
        Cmd::Signin(t) | Cmd::Refresh { t, .. } | Cmd::Login { t, .. } | Cmd::Storm { t, .. } => t,
    };
    check_loopback(&t.authorize)?;
    check_loopback(&t.token)?;
    match cli.cmd {
        Cmd::Signin(t) => sign_in_and_exchange(&client()?, &t, 0).await,
        Cmd::Refresh {
            t,
            chains,
            duration,
            total,
            rss_pid,
        } => {
            limits(chains, duration)?;
            refresh_cmd(t, chains, duration, total, rss_pid).await
        }
        Cmd::Login {
            t,
            chains,
            duration,
        } => {
            limits(chains, duration)?;
            login_cmd(t, chains, duration).await
        }
        Cmd::Storm {
            t,
            chains,
            duration,
            probe_rate,
            probe_client,
            probe_body,
        } => {
            limits(chains, duration)?;
            if !(1.0..=5000.0).contains(&probe_rate) {
                return Err("--probe-rate must be 1..=5000".into());
            }
            storm_cmd(t, chains, duration, probe_rate, probe_client, probe_body).await
        }
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(v) => {
            println!("LOADJSON {v}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("portvakt-bench-loadgen: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
