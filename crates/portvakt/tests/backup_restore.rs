//! Black-box: `portvakt backup` while the server answers token requests, then
//! `portvakt restore` into a new data directory and a server started on it (issue
//! #16): tokens issued before the backup validate, refresh tokens issued before it
//! work; damaged archives, a non-empty target and a missing or wrong master key are
//! refused with the reason, and nothing is half restored.

mod common;
use common::browser::Browser;
use common::signin::*;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

fn run(args: &[&str], master_key: Option<&str>) -> (i32, String, String) {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_remove("PORTVAKT_DATA")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match master_key {
        Some(k) => c.env("PORTVAKT_MASTER_KEY", k),
        None => c.env_remove("PORTVAKT_MASTER_KEY"),
    };
    let out = c.output().expect("run portvakt");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf8")
}

fn start() -> Server {
    let dir = temp_dir("backup");
    let f = dir.join("import.json");
    std::fs::write(&f, serde_json::to_vec(&example_import()).expect("json")).expect("write");
    Server::start_in(&dir, &["--import", p(&f)]).expect("start")
}

/// On PostgreSQL the database is not in the data directory: `portvakt backup` says
/// so, names the database's own tool, and writes nothing. (On that run of the suite
/// this is what the SQLite backup tests check instead.)
fn backup_refused_on_postgres(srv: &Server) {
    let file = srv.dir.join("pg.tar");
    let (code, out, err) = run(&["backup", "--data", p(&srv.data()), p(&file)], None);
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        err.contains("PostgreSQL") && err.contains("pg_dump"),
        "the refusal names the way: {err}"
    );
    assert!(!file.exists(), "nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_to_a_server_that_honours_earlier_tokens() {
    let srv = start();
    if on_postgres() {
        return backup_refused_on_postgres(&srv);
    }
    let mut b = Browser::new();
    let user = web_tokens(&srv, &mut b).await;
    let user_rt = user["refresh_token"].as_str().expect("rt").to_string();
    let app = srv.token("contoso", "api://analytics/.default").await;
    let app_at = app["access_token"].as_str().expect("at").to_string();

    // Client-credentials requests back to back while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed, slowest_us) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let mut load = Vec::new();
    for _ in 0..4 {
        let (http, url) = (srv.http.clone(), srv.issuer("contoso"));
        let (stop, ok, failed, slowest_us) =
            (stop.clone(), ok.clone(), failed.clone(), slowest_us.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let r = http
                    .post(format!("{url}/oauth2/token"))
                    .basic_auth("bench", Some(SECRET))
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("scope", "api://analytics/.default"),
                    ])
                    .send()
                    .await;
                slowest_us.fetch_max(t.elapsed().as_micros() as u64, Ordering::Relaxed);
                match r {
                    Ok(r) if r.status() == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let file = srv.dir.join("portvakt.backup");
    let data = srv.data();
    let (file_arg, data_arg) = (p(&file).to_string(), p(&data).to_string());
    let (code, out, err) =
        tokio::task::spawn_blocking(move || run(&["backup", "--data", &data_arg, &file_arg], None))
            .await
            .expect("join");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.expect("load task");
    }
    assert_eq!(code, 0, "backup failed: {out}{err}");
    assert!(
        out.contains("portvakt.db") && out.contains("signins.db"),
        "{out}"
    );
    assert!(out.contains("does not hold the master key"), "{out}");
    assert_eq!(failed.load(Ordering::Relaxed), 0, "no token request failed");
    assert!(ok.load(Ordering::Relaxed) > 0, "the load ran");
    eprintln!(
        "{} token requests during the backup, slowest {} µs",
        ok.load(Ordering::Relaxed),
        slowest_us.load(Ordering::Relaxed)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file)
            .expect("backup")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the backup is private (mode {mode:o})");
    }
    // It is a tar archive of the manifest and the two databases, nothing else.
    let listing = Command::new("tar")
        .arg("tf")
        .arg(&file)
        .output()
        .expect("tar");
    let names = String::from_utf8_lossy(&listing.stdout);
    let names: Vec<&str> = names.lines().collect();
    assert_eq!(names, ["backup.json", "portvakt.db", "signins.db"]);

    // Restore into a new directory, with the original master key.
    let dir2 = temp_dir("restored");
    let new_data = dir2.join("data");
    let key = srv.data().join("master.key");
    let (code, out, err) = run(
        &[
            "restore",
            p(&file),
            "--data",
            p(&new_data),
            "--master-key-file",
            p(&key),
        ],
        None,
    );
    assert_eq!(code, 0, "restore failed: {out}{err}");
    assert!(out.contains("opens the restored signing keys"), "{out}");
    assert!(
        !new_data.join("admin.json").exists(),
        "no admin credential in a backup"
    );

    // The restored server answers for the same public URL.
    let restored =
        Server::start_in(&dir2, &["--public-url", &srv.url]).expect("restored server starts");
    let claims = verify_as(
        &restored,
        &srv.issuer("contoso"),
        "contoso",
        &app_at,
        "api://analytics",
    )
    .await
    .expect("a token issued before the backup validates against the restored JWKS");
    assert_eq!(claims["client_id"], "bench");
    let (s, t) = refresh_web(&restored, &user_rt).await;
    assert_eq!(
        s, 200,
        "a refresh token issued before the backup works: {t}"
    );
    assert_eq!(t["token_type"], "Bearer");
    // Tokens the restored server issues carry the original issuer.
    let at: &str = t["access_token"].as_str().expect("at");
    verify_as(
        &restored,
        &srv.issuer("contoso"),
        "contoso",
        at,
        "api://analytics",
    )
    .await
    .expect("the restored server's token validates");
    // Its admin API works with the new credential it wrote (admin.json), and the
    // directory and the sign-in log came along. (Through HTTP to the restored server:
    // admin.json names the public URL, which here is still the original's.)
    let admin = restored.admin_token().await;
    let get = |path: &str| {
        restored
            .http
            .get(format!("{}/admin/v1/tenants/contoso/{path}", restored.url))
            .bearer_auth(&admin)
            .send()
    };
    let users: Value = get("users")
        .await
        .expect("users")
        .json()
        .await
        .expect("json");
    assert!(
        users.to_string().contains("admin@contoso.example"),
        "{users}"
    );
    let log: Value = get("auditLogs/signIns?$filter=appId%20eq%20%27webapp%27")
        .await
        .expect("sign-ins")
        .json()
        .await
        .expect("json");
    let records = log["value"].as_array().expect("records");
    assert!(
        records
            .iter()
            .any(|r| r["appId"] == "webapp" && r["userPrincipalName"] == "admin@contoso.example"),
        "the user's sign-in before the backup is in the restored log: {} records",
        records.len()
    );
}

#[tokio::test]
async fn damaged_archives_non_empty_targets_and_wrong_keys_are_refused() {
    let srv = start();
    if on_postgres() {
        return backup_refused_on_postgres(&srv);
    }
    let file = srv.dir.join("b.tar");
    // A run killed before it cleaned up left its work beside the file (a process id
    // that cannot run: above Linux's pid_max); the next run removes it.
    let stale = srv.dir.join(".b.tar.partial-4194305");
    std::fs::create_dir_all(&stale).expect("stale dir");
    std::fs::write(stale.join("portvakt.db"), b"half a copy").expect("stale file");
    let (code, out, err) = run(&["backup", "--data", p(&srv.data()), p(&file)], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!stale.exists(), "the killed run's work is gone");
    let leftovers: Vec<_> = std::fs::read_dir(&srv.dir)
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".b.tar."))
        .collect();
    assert!(
        leftovers.is_empty(),
        "nothing of this run is left beside the file"
    );
    // Never over an existing file.
    let (code, _, err) = run(&["backup", "--data", p(&srv.data()), p(&file)], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("never overwrites"), "{err}");
    // Nowhere near a database.
    let (code, _, err) = run(
        &[
            "backup",
            "--data",
            p(&srv.dir.join("nothing")),
            p(&srv.dir.join("x.tar")),
        ],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no Portvakt database"), "{err}");

    let parent = temp_dir("refused");
    // A non-empty target directory is left alone.
    let busy = parent.join("busy");
    std::fs::create_dir_all(&busy).expect("dir");
    std::fs::write(busy.join("keep.txt"), b"mine").expect("write");
    let (code, _, err) = run(&["restore", p(&file), "--data", p(&busy)], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not empty"), "{err}");
    assert_eq!(std::fs::read(busy.join("keep.txt")).expect("kept"), b"mine");

    // One flipped byte inside the directory database: the checksum catches it.
    let mut bytes = std::fs::read(&file).expect("read");
    let at = bytes.len() / 3;
    bytes[at] ^= 0x55;
    let damaged = parent.join("damaged.tar");
    std::fs::write(&damaged, &bytes).expect("write");
    let target = parent.join("from-damaged");
    let (code, _, err) = run(&["restore", p(&damaged), "--data", p(&target)], None);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("damaged") && err.contains("nothing was restored"),
        "{err}"
    );
    assert!(!target.exists(), "nothing half restored");
    // A file that is not an archive at all.
    let junk = parent.join("junk.tar");
    std::fs::write(&junk, b"{\"not\": \"a backup\"}").expect("write");
    let (code, _, err) = run(&["restore", p(&junk), "--data", p(&target)], None);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("not a Portvakt backup") || err.contains("damaged"),
        "{err}"
    );
    assert!(!target.exists());

    // A wrong master key is refused before anything is put in place.
    let wrong = "ab".repeat(32);
    let (code, _, err) = run(&["restore", p(&file), "--data", p(&target)], Some(&wrong));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot open the signing keys"), "{err}");
    assert!(!target.exists());

    // Restored without a key: the server refuses to start rather than mint a new
    // master key that opens nothing, and says what to do.
    let dir = temp_dir("nokey");
    let (code, out, err) = run(&["restore", p(&file), "--data", p(&dir.join("data"))], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("No master key was given"), "{out}");
    let e = Server::start_in(&dir, &[]).err().expect("refuses to start");
    assert!(
        e.contains("master.key is missing") && e.contains("PORTVAKT_MASTER_KEY"),
        "{e}"
    );
    assert!(
        !dir.join("data/master.key").exists(),
        "no new master key was made"
    );
    // With the wrong key it refuses too.
    std::fs::write(dir.join("data/master.key"), &wrong).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.join("data/master.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .expect("chmod");
    }
    let e = Server::start_in(&dir, &[]).err().expect("refuses to start");
    assert!(e.contains("cannot open the signing keys"), "{e}");
    // With the right one it starts.
    std::fs::copy(srv.data().join("master.key"), dir.join("data/master.key")).expect("copy key");
    let ok = Server::start_in(&dir, &[]).expect("starts with the right key");
    let t = ok.token("contoso", "api://analytics/.default").await;
    assert!(t["access_token"].is_string());
    let _ = std::fs::remove_dir_all(&parent);
}
