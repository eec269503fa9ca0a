//! Black-box: refresh-token rotation, reuse detection and the retry window (issue
//! #10): `--refresh-reuse-grace 0` is strict reuse detection (RFC 9700 §4.14.2); within
//! the default window a client whose response was lost — ignored, dropped with the
//! connection, or lost in a `kill -9` — may present the used token again and gets the
//! one live successor; a superseded token, or a retry after the successor was used,
//! revokes the family.

mod common;
use common::browser::Browser;
use common::signin::*;
use common::*;
use serde_json::Value;
use std::time::Duration;

fn start(extra: &[&str]) -> Server {
    Server::start_with(extra).expect("start")
}

/// Sign in (the confidential client `webapp`, which may introspect its own refresh
/// tokens) and return the first refresh token.
async fn first_refresh_token(srv: &Server, b: &mut Browser) -> String {
    rt(&web_tokens(srv, b).await)
}

fn rt(v: &Value) -> String {
    v["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("a refresh token in {v}"))
        .to_string()
}

fn code(v: &(u16, Value)) -> (u16, Option<&str>) {
    (v.0, v.1["error_code"].as_str())
}

#[tokio::test]
async fn with_no_window_every_reuse_revokes_the_family_even_in_the_same_second() {
    let srv = start(&["--refresh-reuse-grace", "0"]);
    let mut b = Browser::new();
    for _ in 0..3 {
        let rt1 = first_refresh_token(&srv, &mut b).await;
        let (s, t2) = refresh_web(&srv, &rt1).await;
        assert_eq!(s, 200, "{t2}");
        let rt2 = rt(&t2);
        // At once, in the same second as the rotation: a replay, not a race.
        let again = refresh_web(&srv, &rt1).await;
        assert_eq!(code(&again), (400, Some("PV3204")), "{}", again.1);
        let newest = refresh_web(&srv, &rt2).await;
        assert_eq!(
            code(&newest),
            (400, Some("PV3203")),
            "the newest token of the family is revoked too: {}",
            newest.1
        );
    }
}

#[tokio::test]
async fn a_lost_response_is_retried_once_and_the_lost_token_is_superseded() {
    let srv = start(&[]);
    let mut b = Browser::new();
    let rt1 = first_refresh_token(&srv, &mut b).await;
    // The rotation commits, but the client never sees its response.
    let (s, lost) = refresh_web(&srv, &rt1).await;
    assert_eq!(s, 200, "{lost}");
    let lost = rt(&lost);
    // The client retries with the token it still has: a new successor.
    let (s, retried) = refresh_web(&srv, &rt1).await;
    assert_eq!(s, 200, "a retry within the window succeeds: {retried}");
    let live = rt(&retried);
    assert_ne!(live, lost);
    assert_eq!(introspect(&srv, &lost).await["active"], false, "superseded");
    assert_eq!(
        introspect(&srv, &live).await["active"],
        true,
        "the one live successor"
    );
    // The live successor works; once it is used, the parent is no longer retryable.
    let (s, next) = refresh_web(&srv, &live).await;
    assert_eq!(s, 200, "{next}");
    let next = rt(&next);
    let replay = refresh_web(&srv, &rt1).await;
    assert_eq!(
        code(&replay),
        (400, Some("PV3204")),
        "the successor was used, so this is a replay: {}",
        replay.1
    );
    let after = refresh_web(&srv, &next).await;
    assert_eq!(code(&after), (400, Some("PV3203")), "{}", after.1);

    // A superseded token presented later is a replay too.
    let rt1 = first_refresh_token(&srv, &mut b).await;
    let lost = rt(&refresh_web(&srv, &rt1).await.1);
    let live = rt(&refresh_web(&srv, &rt1).await.1);
    let replay = refresh_web(&srv, &lost).await;
    assert_eq!(code(&replay), (400, Some("PV3204")), "{}", replay.1);
    assert!(
        replay.1["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("replaced")),
        "{}",
        replay.1
    );
    let live_after = refresh_web(&srv, &live).await;
    assert_eq!(code(&live_after), (400, Some("PV3203")), "{}", live_after.1);
}

#[tokio::test]
async fn past_the_window_a_retry_is_a_replay() {
    let srv = start(&["--refresh-reuse-grace", "1"]);
    let mut b = Browser::new();
    let rt1 = first_refresh_token(&srv, &mut b).await;
    let (s, t) = refresh_web(&srv, &rt1).await;
    assert_eq!(s, 200, "{t}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let late = refresh_web(&srv, &rt1).await;
    assert_eq!(code(&late), (400, Some("PV3204")), "{}", late.1);
    let lost = refresh_web(&srv, &rt(&t)).await;
    assert_eq!(code(&lost), (400, Some("PV3203")), "{}", lost.1);
}

#[tokio::test]
async fn a_connection_dropped_after_the_commit_loses_nothing() {
    use tokio::io::AsyncWriteExt;
    let srv = start(&[]);
    let mut b = Browser::new();
    let rt1 = first_refresh_token(&srv, &mut b).await;
    // Send the refresh request on a raw socket and hang up without reading.
    let addr = srv.url.trim_start_matches("http://").to_string();
    let body = format!(
        "grant_type=refresh_token&client_id=webapp&client_secret={WEB_SECRET}&refresh_token={rt1}"
    );
    let mut sock = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    sock.write_all(
        format!(
            "POST /contoso/oauth2/token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .expect("write");
    // The response is on its way (the rotation was committed before it was written);
    // the client hangs up without reading it.
    tokio::time::timeout(Duration::from_secs(10), sock.readable())
        .await
        .expect("the server answers")
        .expect("readable");
    drop(sock);
    let mut rotated = false;
    for _ in 0..50 {
        if introspect(&srv, &rt1).await["active"] == false {
            rotated = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(rotated, "the dropped request's rotation was committed");
    // The client, which never saw a response, retries: it gets tokens, not PV3205.
    let (s, t) = refresh_web(&srv, &rt1).await;
    assert_eq!(s, 200, "{t}");
    let (s, t) = refresh_web(&srv, &rt(&t)).await;
    assert_eq!(s, 200, "the new chain goes on: {t}");
}

#[tokio::test]
async fn two_simultaneous_refreshes_leave_one_live_token_and_no_revocation() {
    let srv = start(&[]);
    let mut b = Browser::new();
    for round in 0..5 {
        let rt0 = first_refresh_token(&srv, &mut b).await;
        let (a, c) = tokio::join!(refresh_web(&srv, &rt0), refresh_web(&srv, &rt0));
        // Either a true race (one rotates, the other read the token unused and lost:
        // PV3205) or the second came after the first committed (a retry: both 200).
        let mut issued = Vec::new();
        for r in [&a, &c] {
            match r.0 {
                200 => issued.push(rt(&r.1)),
                _ => assert_eq!(code(r), (400, Some("PV3205")), "round {round}: {}", r.1),
            }
        }
        assert!(!issued.is_empty(), "round {round}: {a:?} {c:?}");
        let mut live = Vec::new();
        for t in &issued {
            if introspect(&srv, t).await["active"] == true {
                live.push(t.clone());
            }
        }
        assert_eq!(live.len(), 1, "round {round}: exactly one live successor");
        // A race is not treated as theft: the live token goes on.
        let (s, t) = refresh_web(&srv, &live[0]).await;
        assert_eq!(s, 200, "round {round}: {t}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_a_kill_9_under_refresh_load_every_chain_still_refreshes() {
    const CHAINS: usize = 16;
    let dir = temp_dir("kill9");
    let f = dir.join("import.json");
    std::fs::write(&f, serde_json::to_vec(&example_import()).expect("json")).expect("write");
    let args = ["--import", f.to_str().expect("utf8")];
    let mut srv = Server::start_in(&dir, &args).expect("start");
    let mut b = Browser::new();
    let mut tokens = Vec::new();
    for _ in 0..CHAINS {
        tokens.push(first_refresh_token(&srv, &mut b).await);
    }
    // Every chain refreshes as fast as it can until the server dies.
    let url = srv.issuer("contoso");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for mut t in tokens {
        let (url, stop) = (url.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let http = portvakt_guard::http::builder()
                .expect("TLS")
                .timeout(Duration::from_secs(5))
                .build()
                .expect("client");
            let mut rotations = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let res = http
                    .post(format!("{url}/oauth2/token"))
                    .basic_auth("webapp", Some(WEB_SECRET))
                    .form(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", t.as_str()),
                    ])
                    .send()
                    .await;
                let Ok(res) = res else { break };
                let status = res.status().as_u16();
                let Ok(v) = res.json::<Value>().await else {
                    break;
                };
                assert_eq!(status, 200, "under load, before the crash: {v}");
                t = rt(&v);
                rotations += 1;
            }
            (t, rotations)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    srv.kill9();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut held = Vec::new();
    let mut total = 0;
    for t in tasks {
        let (t, n) = t.await.expect("chain");
        total += n;
        held.push(t);
    }
    assert!(total > CHAINS as u32, "the load ran: {total} rotations");
    // Restart on the same data; every chain presents the newest token it received.
    let srv2 = Server::start_in(&dir, &args).expect("restart");
    let mut lost = 0;
    for t in &held {
        if introspect(&srv2, t).await["active"] == false {
            lost += 1;
        }
    }
    eprintln!("{total} rotations; {lost} of {CHAINS} chains lost their last response in the crash");
    for (i, t) in held.iter().enumerate() {
        let r = refresh_web(&srv2, t).await;
        assert_eq!(r.0, 200, "chain {i} after the crash: {}", r.1);
        let again = refresh_web(&srv2, &rt(&r.1)).await;
        assert_eq!(again.0, 200, "chain {i} goes on: {}", again.1);
    }
    drop(srv2);
    drop(srv);
}
