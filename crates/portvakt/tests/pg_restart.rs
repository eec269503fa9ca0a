//! PostgreSQL restarted under load (issue #17): while it is down a node answers what
//! needs the database with 503 PV1502 and says so in /health/ready, never panics and
//! never answers wrongly; when it is back the node recovers by itself, without a
//! restart. The test runs its own PostgreSQL cluster (initdb in a temporary
//! directory, as the `postgres` user), so that stopping it disturbs no other test.
//! It needs PostgreSQL's server binaries (Debian: postgresql) and fails without them.

mod common;
use common::browser::Browser;
use common::signin::*;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The newest installed PostgreSQL's bin directory.
fn pg_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's server binaries (/usr/lib/postgresql; Debian: apt-get install postgresql)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found
        .pop()
        .expect("an initdb under /usr/lib/postgresql/*/bin")
}

/// Run a PostgreSQL tool as the `postgres` user (it refuses to run as root).
fn as_postgres(tool: &Path, args: &[&str]) {
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(tool)
        .args(args)
        .output()
        .expect("runuser");
    assert!(
        out.status.success(),
        "{} {args:?}: {}{}",
        tool.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A PostgreSQL cluster of the test's own, on a free port; stopped when dropped.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    fn new() -> Self {
        let bin = pg_bin();
        let dir = temp_dir("pgcluster");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .expect("chown");
        assert!(status.success());
        let data = dir.join("data");
        as_postgres(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().expect("utf8"),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        let c = Cluster { bin, dir, port };
        c.start();
        c
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.dir.join("data");
        let mut all = vec!["-D", data.to_str().expect("utf8")];
        all.extend_from_slice(args);
        as_postgres(&self.bin.join("pg_ctl"), &all);
    }

    fn start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        self.pg_ctl(&["-w", "-o", &opts, "-l", "/dev/null", "start"]);
    }

    fn stop(&self) {
        self.pg_ctl(&["-w", "-m", "fast", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args([
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
    }
}

async fn ready(srv: &Server) -> (u16, Value) {
    srv.get_json("/health/ready").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load_gives_503_then_recovers_by_itself() {
    let cluster = Cluster::new();
    let url = portvakt_store::testing::fresh_postgres(&cluster.url()).await;
    let dir = temp_dir("pgrestart");
    std::fs::write(dir.join("database-url"), &url).expect("write");
    let f = dir.join("import.json");
    std::fs::write(&f, serde_json::to_vec(&example_import()).expect("json")).expect("write");
    let mut srv = Server::start_in(
        &dir,
        &[
            "--database-url",
            &url,
            "--import",
            f.to_str().expect("utf8"),
        ],
    )
    .expect("starts");
    let mut browser = Browser::new();
    let scope = "openid offline_access api://analytics/Reports.Read";
    let (code, verifier, _) = spa_sign_in(&srv, &mut browser, scope).await;
    let (s, t) = exchange_spa(&srv, &code, &verifier).await;
    assert_eq!(s, 200, "{t}");
    let mut rt = t["refresh_token"].as_str().expect("rt").to_owned();
    assert_eq!(ready(&srv).await.0, 200);

    // Load throughout: four clients asking for tokens back to back. Every answer is
    // a token or 503 PV1502; nothing else, at any moment.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = (0..4)
        .map(|_| {
            let (http, url, stop) = (srv.http.clone(), srv.issuer("contoso"), stop.clone());
            tokio::spawn(async move {
                let (mut ok, mut unavailable) = (0u32, 0u32);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let r = http
                        .post(format!("{url}/oauth2/token"))
                        .basic_auth("bench", Some(SECRET))
                        .form(&[
                            ("grant_type", "client_credentials"),
                            ("scope", "api://analytics/.default"),
                        ])
                        .send()
                        .await
                        .expect("the node answers");
                    let s = r.status().as_u16();
                    let v: Value = r.json().await.expect("json");
                    match (s, v["error_code"].as_str()) {
                        (200, _) if v["access_token"].is_string() => ok += 1,
                        (503, Some("PV1502")) => unavailable += 1,
                        other => panic!("{other:?}: {v}"),
                    }
                }
                (ok, unavailable)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    cluster.stop();
    // While it is down: what needs the database is 503 PV1502; the readiness check
    // fails on the store and says why. Client credentials too: the node cannot hear
    // other nodes' changes, so it does not trust its cached view of the tenant (a
    // revoked application must not go on getting tokens from a stale cache).
    let (s, v) = refresh_spa(&srv, &rt).await;
    assert_eq!((s, v["error_code"].as_str()), (503, Some("PV1502")), "{v}");
    let (s, v) = ready(&srv).await;
    assert_eq!(s, 503, "{v}");
    let store = v["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "store"))
        .unwrap_or_else(|| panic!("a store check in {v}"));
    assert_eq!(store["status"], "failed", "{v}");
    let res = srv
        .token_raw(
            "contoso",
            Some(("bench", SECRET)),
            &[
                ("grant_type", "client_credentials"),
                ("scope", "api://analytics/.default"),
            ],
        )
        .await;
    let s = res.status().as_u16();
    let v: Value = res.json().await.expect("json");
    assert_eq!((s, v["error_code"].as_str()), (503, Some("PV1502")), "{v}");
    let res = srv
        .http
        .get(format!("{}/admin/v1/tenants", srv.url))
        .bearer_auth("not-a-token")
        .send()
        .await
        .expect("send");
    assert!(
        res.status() == 401 || res.status() == 503,
        "a wrong admin token is refused, never let through: {}",
        res.status()
    );
    assert!(
        srv.child
            .as_mut()
            .expect("child")
            .try_wait()
            .expect("wait")
            .is_none(),
        "alive"
    );

    cluster.start();
    // Back: the node recovers by itself, the refresh token (never used: the failed
    // attempt changed nothing) rotates, readiness is green again.
    let t0 = Instant::now();
    loop {
        let (s, v) = refresh_spa(&srv, &rt).await;
        if s == 200 {
            rt = v["refresh_token"].as_str().expect("rt").to_owned();
            break;
        }
        assert_eq!((s, v["error_code"].as_str()), (503, Some("PV1502")), "{v}");
        assert!(t0.elapsed() < Duration::from_secs(15), "no recovery: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("recovered {:?} after PostgreSQL came back", t0.elapsed());
    let (s, v) = refresh_spa(&srv, &rt).await;
    assert_eq!(s, 200, "{v}");
    srv.token("contoso", "api://analytics/.default").await;
    let t0 = Instant::now();
    while ready(&srv).await.0 != 200 {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "{:?}",
            ready(&srv).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut ok, mut unavailable) = (0, 0);
    for t in load {
        let (o, u) = t.await.expect("no wrong answer under load");
        ok += o;
        unavailable += u;
    }
    eprintln!("under load: {ok} tokens, {unavailable} × 503 PV1502");
    assert!(
        ok > 0 && unavailable > 0,
        "{ok} tokens, {unavailable} refused"
    );
    assert!(
        srv.child
            .as_mut()
            .expect("child")
            .try_wait()
            .expect("wait")
            .is_none(),
        "alive"
    );
}
