//! The seed article's scenario, end to end at the HTTP level: the real demo binary
//! (`analytics-onboarding --demo`: Portvakt in-process with the demo tenant, and the
//! Analytics service), a cookie-keeping browser, and the real `portvakt` CLI for what
//! an admin does (switch a policy, revoke sessions, read the logs, diagnose).
//!
//! (a) the access token expires → the API refuses it → silent refresh → success, and
//!     the sign-in log shows a non-interactive success;
//! (b) a policy is switched on (MFA + sign-in frequency; block outside trusted
//!     locations) → renewal fails and keeps failing across reloads, the page names the
//!     policy, the log shows it with result `failure`, `diagnose` names it and the fix;
//! (c) the user completes MFA, the admin sets report-only, or excludes the account →
//!     onboarding works again, and the log shows the new outcome;
//! (d) sessions revoked by an admin → renewal fails with its own reason.

#[path = "../../../crates/portvakt/tests/common/browser.rs"]
#[allow(dead_code)]
mod browser;

use browser::{form_urlencoded_parse, Browser, Page};
use serde_json::{json, Value};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_analytics-onboarding");
const USER: &str = "admin@contoso.example";
const MFA_POLICY: &str = "Require MFA for admins";
const LOCATION_POLICY: &str = "Block outside trusted locations";
/// Access-token lifetime of the demo under test, seconds (the guard's leeway is 0).
const LIFETIME: u64 = 2;

/// The `portvakt` binary, built beside this test by `cargo test --workspace` (the
/// `portvakt` package's own tests need it). Never skipped: missing, the test fails.
fn portvakt_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join("portvakt");
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build -p portvakt`; ./test.sh does)",
        bin.display()
    );
    bin
}

struct Demo {
    child: Child,
    dir: PathBuf,
    portvakt: String,
    issuer: String,
    analytics: String,
    password: String,
    totp_secret: String,
}

impl Demo {
    fn start(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "analytics-scenario-{tag}-{}-{}",
            std::process::id(),
            portvakt_jose::random_id(6)
        ));
        let mut cmd = Command::new(BIN);
        // On the PostgreSQL run of the suite, the demo's Portvakt gets a database of
        // its own.
        match portvakt_store::testing::postgres_server() {
            Some(server) => cmd.env(
                "PORTVAKT_DATABASE_URL",
                portvakt_store::testing::fresh_postgres_blocking(&server),
            ),
            None => cmd.env_remove("PORTVAKT_DATABASE_URL"),
        };
        let mut child = cmd
            .args([
                "--demo",
                "--listen",
                "127.0.0.1:0",
                "--portvakt-listen",
                "127.0.0.1:0",
                "--clock-leeway",
                "0",
                "--access-token-lifetime",
                &LIFETIME.to_string(),
                "--data",
            ])
            .arg(&dir)
            .env("PORTVAKT_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the demo");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = std::collections::HashMap::new();
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("the demo printed its URLs within 60 s");
            if line.starts_with("Ready.") {
                break;
            }
            if let Some((k, v)) = line.split_once(": ") {
                lines.insert(k.to_string(), v.to_string());
            }
        }
        let get = |k: &str| {
            lines
                .get(k)
                .cloned()
                .unwrap_or_else(|| panic!("no '{k}:' line: {lines:?}"))
        };
        let issuer = get("Portvakt");
        let portvakt = issuer.rsplit_once('/').expect("issuer").0.to_string();
        assert_eq!(get("Portal"), format!("{portvakt}/portal/contoso/"));
        assert_eq!(get("User"), USER);
        Self {
            child,
            dir,
            portvakt,
            issuer,
            analytics: get("Analytics").trim_end_matches('/').to_string(),
            password: get("Password"),
            totp_secret: get("TOTP secret"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.analytics)
    }

    /// The `portvakt` CLI against the demo's Portvakt (its admin.json).
    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(portvakt_bin())
            .arg("--data")
            .arg(&self.dir)
            .args(args)
            .env_remove("PORTVAKT_URL")
            .env_remove("PORTVAKT_CLIENT_ID")
            .env_remove("PORTVAKT_CLIENT_SECRET")
            .output()
            .expect("run portvakt");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "portvakt {args:?} failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Sign-in records of the demo user, newest first (`portvakt logs --json`).
    fn records_now(&self, extra: &[&str]) -> Vec<Value> {
        let mut args = vec!["logs", "--tenant", "contoso", "--user", USER, "--json"];
        args.extend_from_slice(extra);
        self.cli(&args)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("one JSON record per line"))
            .collect()
    }

    /// As [`Demo::records_now`], once the record of `cid` (or, without one, the
    /// sign-ins so far) is written: the log's writer commits in batches every 50 ms.
    fn records_with(&self, extra: &[&str], cid: Option<&str>, at_least: usize) -> Vec<Value> {
        for _ in 0..40 {
            let r = self.records_now(extra);
            let found = match cid {
                Some(c) => r.iter().any(|x| x["correlationId"] == c),
                None => r.len() >= at_least,
            };
            if found {
                return r;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "the sign-in log never showed {cid:?} / {at_least} records: {:?}",
            self.records_now(extra)
        );
    }

    /// `portvakt diagnose --correlation-id`, once the record is written.
    fn diagnose(&self, cid: &str) -> String {
        self.records_with(&[], Some(cid), 0);
        self.cli(&["diagnose", "--tenant", "contoso", "--correlation-id", cid])
    }

    fn set_state(&self, policy: &str, state: &str) {
        self.cli(&["policy", "set-state", "--tenant", "contoso", policy, state]);
    }

    fn totp_now(&self) -> String {
        let secret = portvakt_core::names::base32_decode(&self.totp_secret).expect("base32");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        portvakt_server::mfa::code_at(&secret, now).expect("code")
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn element(body: &str, id: &str) -> Option<String> {
    let open = format!("id=\"{id}\"");
    let i = body.find(&open)?;
    let start = body[i..].find('>')? + i + 1;
    let end = body[start..].find("</")? + start;
    Some(body[start..end].to_string())
}

fn href(body: &str, id: &str) -> Option<String> {
    let open = format!("id=\"{id}\" href=\"");
    let i = body.find(&open)? + open.len();
    let j = body[i..].find('"')? + i;
    Some(body[i..j].replace("&amp;", "&"))
}

/// Follow redirects (the browser's part), returning the first page that is not one.
async fn follow(b: &mut Browser, mut page: Page, base: &str) -> Page {
    for _ in 0..10 {
        let Some(loc) = page
            .location
            .clone()
            .filter(|_| (300..400).contains(&page.status))
        else {
            return page;
        };
        let url = if loc.starts_with('/') {
            format!("{base}{loc}")
        } else {
            loc
        };
        page = b.get(&url).await;
    }
    panic!("too many redirects");
}

/// The interactive sign-in at Portvakt, from the wizard's "Sign in" link: the
/// password, the TOTP code when a policy asks, consent (for the organisation) when
/// asked. Returns the wizard's page after the callback.
async fn sign_in(d: &Demo, b: &mut Browser, path: &str) -> Page {
    let start = b.get(&d.url(path)).await;
    assert_eq!(start.status, 303, "{}", start.body);
    let authorize = start.location.clone().expect("to Portvakt");
    assert!(
        authorize.starts_with(&format!("{}/oauth2/authorize?", d.issuer)),
        "{authorize}"
    );
    let q = form_urlencoded_parse(authorize.split_once('?').expect("query").1);
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(!q.contains_key("client_secret"));
    let login = b.get(&authorize).await;
    assert_eq!(login.status, 303, "{}", login.body);
    let url = login.location.clone().expect("login page");
    let page = b.get(&url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let action = url.split('?').next().expect("path").to_string();
    let mut page = b
        .post(
            &action,
            &[
                (
                    "interaction",
                    &page.hidden("interaction").expect("interaction"),
                ),
                ("csrf", &page.hidden("csrf").expect("csrf")),
                ("username", USER),
                ("password", &d.password),
            ],
        )
        .await;
    if page.status == 200 && page.body.contains("name=\"otp\"") {
        let code = d.totp_now();
        page = b
            .post(
                &format!("{}/login/mfa", d.issuer),
                &[
                    (
                        "interaction",
                        &page.hidden("interaction").expect("interaction"),
                    ),
                    ("csrf", &page.hidden("csrf").expect("csrf")),
                    ("otp", &code),
                ],
            )
            .await;
    }
    if page.status == 200 && page.body.contains("name=\"consent\" value=\"accept\"") {
        assert!(
            page.body.contains("name=\"organisation\""),
            "an admin is offered consent for the organisation: {}",
            page.body
        );
        page = b
            .post(
                &format!("{}/consent", d.issuer),
                &[
                    (
                        "interaction",
                        &page.hidden("interaction").expect("interaction"),
                    ),
                    ("csrf", &page.hidden("csrf").expect("csrf")),
                    ("consent", "accept"),
                    ("organisation", "on"),
                ],
            )
            .await;
    }
    assert_eq!(page.status, 303, "signed in: {}", page.body);
    let cb = page.location.clone().expect("callback");
    assert!(cb.starts_with(&d.url("/callback?")), "{cb}");
    let done = b.get(&cb).await;
    assert_eq!(done.status, 303, "{}", done.body);
    follow(b, done, &d.analytics).await
}

/// Sign in, consent for the organisation, Connect: the done page.
async fn onboard(d: &Demo, b: &mut Browser) -> Page {
    let home = b.get(&d.url("/")).await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("id=\"signin\""), "{}", home.body);
    let page = sign_in(d, b, "/signin").await;
    assert!(
        page.body.contains("id=\"connect\""),
        "the Connect step: {}",
        page.body
    );
    // A form without the session's CSRF token is refused.
    let forged = b.post(&d.url("/connect"), &[("csrf", "forged")]).await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let csrf = page.hidden("csrf").expect("csrf");
    let connected = b.post(&d.url("/connect"), &[("csrf", &csrf)]).await;
    assert_eq!(connected.status, 303, "{}", connected.body);
    let done = b.get(&d.url("/")).await;
    let detail =
        element(&done.body, "done-detail").unwrap_or_else(|| panic!("done: {}", done.body));
    assert!(detail.contains(USER), "{detail}");
    done
}

async fn wait_for_expiry() {
    tokio::time::sleep(Duration::from_millis(LIFETIME * 1000 + 1200)).await;
}

/// The entry of `policy` in a record's `appliedConditionalAccessPolicies`.
fn applied(record: &Value, policy: &str, what: &str) -> Value {
    record["appliedConditionalAccessPolicies"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["displayName"] == policy).cloned())
        .expect(what)
}

/// The failure panel: (code, reason, correlation id).
fn failure(page: &Page) -> (String, String, String) {
    assert_eq!(page.status, 200);
    let code = element(&page.body, "error-code")
        .unwrap_or_else(|| panic!("a failure panel: {}", page.body));
    let reason = element(&page.body, "reason").expect("reason");
    let cid = element(&page.body, "correlation-id").expect("correlation id");
    assert!(
        !page
            .body
            .contains("There was an error validating access token</"),
        "never only the bare message"
    );
    (
        code,
        reason.replace("&#8220;", "“").replace("&#8221;", "”"),
        cid,
    )
}

#[tokio::test]
async fn a_expiry_is_renewed_silently_and_logged_as_a_non_interactive_success() {
    let d = Demo::start("a");
    let mut b = Browser::new();
    let done = onboard(&d, &mut b).await;
    assert!(
        element(&done.body, "token-renewed").is_none(),
        "not renewed yet"
    );
    // The admin's consent was for the organisation: audited, with the admin as initiator.
    let audit = d.cli(&["audit", "--tenant", "contoso", "--json"]);
    assert!(
        audit.contains("Consent to application") && audit.contains(USER),
        "{audit}"
    );

    wait_for_expiry().await;
    let page = b.get(&d.url("/")).await;
    let renewed =
        element(&page.body, "token-renewed").unwrap_or_else(|| panic!("renewed: {}", page.body));
    let refusal = element(&page.body, "token-refusal").expect("what the API said");
    assert!(refusal.contains("expired at"), "{refusal}");
    assert!(
        page.body.contains("id=\"devices\""),
        "the dashboard: {}",
        page.body
    );
    let cid = renewed
        .rsplit("correlation id ")
        .next()
        .and_then(|s| s.split(')').next())
        .expect("cid")
        .to_string();
    // The renewal is a non-interactive sign-in, a success, under that correlation id.
    let r = d.records_with(&["--correlation-id", &cid], Some(&cid), 1);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["isInteractive"], false, "{}", r[0]);
    assert_eq!(r[0]["status"]["errorCode"], 0, "{}", r[0]);
    assert_eq!(r[0]["appId"], "analytics-onboarding", "{}", r[0]);

    // Reloading again, before the new token expires, renews nothing.
    let again = b.get(&d.url("/")).await;
    assert_eq!(element(&again.body, "token-renewed"), Some(renewed));
}

#[tokio::test]
async fn b_mfa_policy_fails_renewal_until_the_user_completes_mfa() {
    let d = Demo::start("b-mfa");
    let mut b = Browser::new();
    onboard(&d, &mut b).await;
    d.set_state(MFA_POLICY, "enabled");
    wait_for_expiry().await;

    let page = b.get(&d.url("/")).await;
    let (code, reason, cid) = failure(&page);
    assert_eq!(code, "PV4002", "{}", page.body);
    assert!(
        reason.contains(MFA_POLICY) && reason.contains("multifactor"),
        "{reason}"
    );
    let record = href(&page.body, "record-link").expect("portal link");
    assert_eq!(
        record,
        format!("{}/portal/contoso/signins/{cid}", d.portvakt)
    );
    let trouble = href(&page.body, "troubleshoot-link").expect("troubleshooting link");
    assert!(
        trouble.starts_with(&format!(
            "{}/errors/PV4002?correlation_id={cid}",
            d.portvakt
        )),
        "{trouble}"
    );
    assert_eq!(
        href(&page.body, "fix-action").as_deref(),
        Some("/signin?prompt=login")
    );
    // The troubleshooting page it links to exists and links the record.
    let t = portvakt_guard::http::client(Duration::from_secs(10), "scenario")
        .expect("client")
        .get(&trouble)
        .header("accept", "text/html")
        .send()
        .await
        .expect("troubleshooting page");
    assert_eq!(t.status(), 200);
    let body = t.text().await.expect("body");
    assert!(body.contains(&cid) && body.contains("PV4002"), "{body}");

    // Reloading tries again and fails again: the policy is persistent.
    let again = b.get(&d.url("/")).await;
    let (code2, _, cid2) = failure(&again);
    assert_eq!(code2, "PV4002");
    assert_ne!(cid2, cid, "a new attempt, a new record");

    // The log, filtered by the account: the failure, the policy, result failure.
    let failures = d.records_with(&["--status", "failure"], Some(&cid), 0);
    let f = failures
        .iter()
        .find(|r| r["correlationId"] == cid.as_str())
        .unwrap_or_else(|| panic!("{failures:?}"));
    assert_eq!(f["isInteractive"], false);
    assert_eq!(f["status"]["errorCode"], 4002, "{f}");
    let p = applied(f, MFA_POLICY, "the MFA policy on the failed record");
    assert_eq!(p["result"], "failure", "{p}");
    // diagnose names the policy and the fix.
    let diag = d.diagnose(&cid);
    assert!(
        diag.contains(MFA_POLICY) && diag.contains("Fix") && diag.contains("MFA"),
        "{diag}"
    );

    // (c) The user completes MFA: the page's action signs in again with TOTP.
    let before = d.records_now(&[]).len();
    let page = sign_in(&d, &mut b, "/signin?prompt=login").await;
    assert!(
        element(&page.body, "done-detail").is_some(),
        "onboarded again: {}",
        page.body
    );
    // Two records, written as they come (possibly in two batches): the sign-in
    // interrupted for MFA, then its success once the code was given. Wait for the
    // second.
    let mut ok = d.records_with(&[], None, before + 1);
    for _ in 0..40 {
        if ok[0]["status"]["errorCode"] == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        ok = d.records_now(&[]);
    }
    let latest = &ok[0];
    assert_eq!(latest["isInteractive"], true, "{latest}");
    assert_eq!(latest["status"]["errorCode"], 0, "{latest}");
    let p = applied(latest, MFA_POLICY, "the MFA policy");
    assert_eq!(p["result"], "success", "{p}");
    // And its renewals succeed now (the session has MFA, within the frequency).
    wait_for_expiry().await;
    let page = b.get(&d.url("/")).await;
    assert!(
        element(&page.body, "token-renewed").is_some(),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn b_location_policy_blocks_until_report_only_or_the_account_is_excluded() {
    let d = Demo::start("b-loc");
    let mut b = Browser::new();
    b.accept_language = Some("sv-SE,sv;q=0.9,en;q=0.5".into());
    onboard(&d, &mut b).await;
    d.set_state(LOCATION_POLICY, "enabled");
    wait_for_expiry().await;

    let page = b.get(&d.url("/")).await;
    let (code, reason, cid) = failure(&page);
    assert_eq!(code, "PV4001", "{}", page.body);
    // In Swedish, after the browser's language; an admin has to act.
    assert!(
        reason.contains(LOCATION_POLICY) && reason.contains("blockerar"),
        "{reason}"
    );
    assert!(
        href(&page.body, "fix-action").is_none(),
        "nothing the user can do: {}",
        page.body
    );
    let fix = element(&page.body, "fix").expect("fix");
    assert!(fix.contains("administratör"), "{fix}");
    assert!(href(&page.body, "troubleshoot-link").is_some_and(|u| u.ends_with("lang=sv")));
    let again = b.get(&d.url("/")).await;
    assert_eq!(failure(&again).0, "PV4001", "persistent across reloads");
    let diag = d.diagnose(&cid);
    assert!(diag.contains(LOCATION_POLICY), "{diag}");
    let f = &d.records_with(&["--correlation-id", &cid], Some(&cid), 1)[0];
    assert_eq!(f["conditionalAccessStatus"], "failure", "{f}");

    // (c) Report-only: the renewal works; the log says what would have happened.
    d.set_state(LOCATION_POLICY, "enabledForReportingButNotEnforced");
    let before = d.records_now(&[]).len();
    let page = b.get(&d.url("/")).await;
    let renewed = element(&page.body, "token-renewed").unwrap_or_else(|| panic!("{}", page.body));
    assert!(renewed.contains("förnyades"), "{renewed}");
    let latest = &d.records_with(&[], None, before + 1)[0];
    assert_eq!(latest["status"]["errorCode"], 0, "{latest}");
    let p = applied(latest, LOCATION_POLICY, "the location policy");
    assert_eq!(p["result"], "reportOnlyFailure", "{p}");

    // (c) Enforced again but the account excluded: works, the policy does not apply.
    let id = d.cli(&[
        "policy",
        "get",
        "--tenant",
        "contoso",
        LOCATION_POLICY,
        "--json",
    ]);
    let mut policy: Value = serde_json::from_str(&id).expect("policy json");
    policy["state"] = json!("enabled");
    policy["conditions"]["users"]["excludeUsers"] = json!([latest["userId"]]);
    let file = d.dir.join("excluded.json");
    std::fs::write(&file, serde_json::to_vec(&policy).expect("json")).expect("write");
    d.cli(&[
        "policy",
        "import",
        "--tenant",
        "contoso",
        file.to_str().expect("utf8"),
    ]);
    wait_for_expiry().await;
    let before = d.records_now(&[]).len();
    let page = b.get(&d.url("/")).await;
    assert!(page.body.contains("id=\"done-detail\""), "{}", page.body);
    assert!(element(&page.body, "error-code").is_none(), "{}", page.body);
    let latest = &d.records_with(&[], None, before + 1)[0];
    assert_eq!(latest["status"]["errorCode"], 0, "{latest}");
    let p = applied(latest, LOCATION_POLICY, "the location policy");
    assert_eq!(p["result"], "notApplied", "{p}");
}

#[tokio::test]
async fn d_revoked_sessions_fail_renewal_with_their_own_reason() {
    let d = Demo::start("d");
    let mut b = Browser::new();
    onboard(&d, &mut b).await;
    d.cli(&["user", "revoke-sessions", "--tenant", "contoso", USER]);
    wait_for_expiry().await;
    let page = b.get(&d.url("/")).await;
    let (code, reason, cid) = failure(&page);
    assert_eq!(code, "PV3203", "{}", page.body);
    assert!(
        reason.contains("An administrator revoked your sessions"),
        "{reason}"
    );
    assert!(!reason.contains("policy"), "not a policy: {reason}");
    assert_eq!(
        href(&page.body, "fix-action").as_deref(),
        Some("/signin?prompt=login")
    );
    let diag = d.diagnose(&cid);
    assert!(diag.to_lowercase().contains("revoked"), "{diag}");
    // Signing in again fixes it.
    let page = sign_in(&d, &mut b, "/signin?prompt=login").await;
    assert!(
        element(&page.body, "done-detail").is_some(),
        "{}",
        page.body
    );
}
