//! [`Flows`] on both engines: each scenario runs on SQLite and on PostgreSQL and
//! checks the expected values on each, so that the engines agree by both being right.
//! Plus the concurrency invariants PostgreSQL must keep without SQLite's single writer.

mod common;

use portvakt_core::flow::{
    AuthRequest, CodeGrant, DeviceGrant, RefreshGrant, ResponseMode, Session,
};
use portvakt_core::model::{Application, Tenant};
use portvakt_jose::Algorithm;
use portvakt_store::{
    CodeTake, Flows, GrantRevocation, Interaction, NewUser, RefreshClaim, Store, StoreError,
    TokenUser,
};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A 32-byte hash made of `n`.
fn h(n: u8) -> [u8; 32] {
    [n; 32]
}

fn tenant(id: &str) -> Tenant {
    Tenant {
        id: id.into(),
        name: id.into(),
        display_name: id.into(),
        signing_algorithm: Algorithm::ES256,
        access_token_lifetime_seconds: None,
    }
}

fn user(id: &str) -> NewUser {
    NewUser {
        id: id.into(),
        user_principal_name: format!("{id}@x"),
        display_name: id.to_uppercase(),
        password_hash: None,
        account_enabled: true,
        roles: None,
        totp_sealed: None,
    }
}

fn app(client_id: &str) -> Application {
    Application {
        client_id: client_id.into(),
        display_name: client_id.into(),
        secret_sha256: None,
        confidential: false,
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        redirect_uris: vec!["https://app.example/cb".into()],
        allowed_scopes: vec![],
        access_token_lifetime_seconds: None,
        admin_consented: false,
        refresh_token_lifetime_seconds: None,
    }
}

/// Tenants t1 (users u1, u2; application web) and t2 (no users).
async fn fixture(st: &dyn Store) {
    st.create_tenant(&tenant("t1"), &[], 0)
        .await
        .expect("tenant t1");
    st.create_tenant(&tenant("t2"), &[], 0)
        .await
        .expect("tenant t2");
    for id in ["u1", "u2"] {
        st.create_user("t1", &user(id), 0).await.expect("user");
    }
    st.create_application("t1", &app("web"), 0)
        .await
        .expect("application");
}

/// Both engines, fresh, with [`fixture`].
async fn engines() -> Vec<(&'static str, Arc<dyn Store>)> {
    let engines = common::engines().await;
    for (_, st) in &engines {
        fixture(st.as_ref()).await;
    }
    engines
}

fn request() -> AuthRequest {
    AuthRequest {
        client_id: "web".into(),
        redirect_uri: "https://app.example/cb".into(),
        redirect_uri_given: true,
        scope: "openid profile".into(),
        resource: None,
        state: Some("st".into()),
        nonce: Some("n".into()),
        code_challenge: Some("ch".into()),
        prompt: vec!["login".into()],
        max_age: Some(60),
        ui_locales: None,
        login_hint: Some("u1@x".into()),
        device_user_code: None,
        client_app_type: Some("browser".into()),
        response_mode: ResponseMode::FormPost,
    }
}

fn session(sid: &str, user_id: &str, expires_at: i64) -> Session {
    Session {
        sid: sid.into(),
        tenant_id: "t1".into(),
        user_id: user_id.into(),
        auth_time: 5,
        amr: vec!["pwd".into(), "otp".into()],
        expires_at,
    }
}

/// The first token of family `family_id`, of user u1 in session `sid` for `client`.
fn refresh_grant(family_id: &str, sid: &str, client: &str) -> RefreshGrant {
    RefreshGrant {
        family_id: family_id.into(),
        tenant_id: "t1".into(),
        client_id: client.into(),
        user_id: "u1".into(),
        sid: sid.into(),
        scope: "offline_access".into(),
        resource: None,
        auth_time: 0,
        amr: vec!["pwd".into()],
        issued_at: 0,
        expires_at: 1000,
        family_expires_at: 5000,
        client_app_type: None,
    }
}

/// The successor of `g` issued at `now`.
fn next(g: &RefreshGrant, now: i64) -> RefreshGrant {
    RefreshGrant {
        issued_at: now,
        expires_at: now + 1000,
        ..g.clone()
    }
}

fn code_grant(expires_at: i64) -> CodeGrant {
    CodeGrant {
        tenant_id: "t1".into(),
        request: request(),
        user_id: "u1".into(),
        sid: "s1".into(),
        auth_time: 5,
        amr: vec!["pwd".into()],
        expires_at,
    }
}

fn device_grant(user_code: &str, status: &str, expires_at: i64) -> DeviceGrant {
    DeviceGrant {
        tenant_id: "t1".into(),
        client_id: "tv".into(),
        scope: "openid".into(),
        resource: None,
        user_code: user_code.into(),
        expires_at,
        interval: 5,
        last_poll: None,
        status: status.into(),
        user_id: None,
        sid: None,
        auth_time: None,
        amr: vec![],
    }
}

fn interaction(id: &str, expires_at: i64) -> Interaction {
    Interaction {
        id: id.into(),
        tenant_id: "t1".into(),
        browser_hash: h(7),
        csrf: "csrf".into(),
        request: request(),
        user_id: None,
        sid: None,
        expires_at,
        mfa_user_id: None,
        enroll_sealed: None,
        second_factor_at: None,
    }
}

fn token_user<'a>(sid: &'a str, user_id: &'a str, iat: i64) -> TokenUser<'a> {
    TokenUser {
        tenant_id: "t1",
        user_id,
        sid,
        client_id: "web",
        iat,
    }
}

#[tokio::test]
async fn interactions_are_saved_updated_and_deleted() {
    for (engine, st) in engines().await {
        let i = interaction("i1", 100);
        st.put_interaction(&i).await.expect("put");
        assert_eq!(
            st.interaction("i1").await.expect("read"),
            Some(i.clone()),
            "{engine}"
        );
        assert_eq!(
            st.interaction("nope").await.expect("read"),
            None,
            "{engine}"
        );
        let again = st.put_interaction(&i).await;
        assert!(
            matches!(again, Err(StoreError::Conflict(_))),
            "{engine}: {again:?}"
        );

        st.set_interaction_mfa("i1", "u1", Some(&b"sealed"[..]), Some(42))
            .await
            .expect("mfa");
        let got = st.interaction("i1").await.expect("read").expect("stored");
        assert_eq!(got.mfa_user_id.as_deref(), Some("u1"), "{engine}");
        assert_eq!(
            got.enroll_sealed.as_deref(),
            Some(&b"sealed"[..]),
            "{engine}"
        );
        assert_eq!(got.second_factor_at, Some(42), "{engine}");
        assert_eq!((got.user_id, got.sid), (None, None), "{engine}");

        st.set_interaction_mfa("i1", "u2", None, None)
            .await
            .expect("mfa");
        st.set_interaction_user("i1", "u1", "s1")
            .await
            .expect("user");
        let got = st.interaction("i1").await.expect("read").expect("stored");
        assert_eq!(
            got,
            Interaction {
                user_id: Some("u1".into()),
                sid: Some("s1".into()),
                mfa_user_id: Some("u2".into()),
                ..i.clone()
            },
            "{engine}"
        );
        // Updates of a missing interaction change nothing and are no error.
        st.set_interaction_user("nope", "u1", "s1")
            .await
            .expect("user");
        st.set_interaction_mfa("nope", "u1", None, None)
            .await
            .expect("mfa");
        assert_eq!(
            st.interaction("nope").await.expect("read"),
            None,
            "{engine}"
        );

        st.delete_interaction("i1").await.expect("delete");
        assert_eq!(st.interaction("i1").await.expect("read"), None, "{engine}");
        st.delete_interaction("i1").await.expect("delete again");
    }
}

#[tokio::test]
async fn sessions_end_and_users_are_revoked_with_their_families() {
    for (engine, st) in engines().await {
        let s1 = session("s1", "u1", 1000);
        st.put_session(&h(1), &s1).await.expect("session");
        st.put_session(&h(2), &session("s2", "u1", 1000))
            .await
            .expect("session");
        st.put_session(&h(3), &session("s3", "u2", 1000))
            .await
            .expect("session");
        let dup = st.put_session(&h(4), &session("s1", "u1", 1000)).await;
        assert!(
            matches!(dup, Err(StoreError::Conflict(_))),
            "{engine}: {dup:?}"
        );
        let rec = st.session(&h(1)).await.expect("read").expect("stored");
        assert_eq!(
            (rec.session, rec.revoked_at),
            (s1.clone(), None),
            "{engine}"
        );
        assert!(st.session(&h(4)).await.expect("read").is_none(), "{engine}");

        st.put_refresh(&h(11), &refresh_grant("f1", "s1", "web"), 0)
            .await
            .expect("family");
        st.put_refresh(&h(12), &refresh_grant("f2", "s2", "web"), 0)
            .await
            .expect("family");
        let family = |t: [u8; 32]| {
            let st = st.clone();
            async move {
                st.refresh(&t)
                    .await
                    .expect("read")
                    .expect("stored")
                    .family_revoked
            }
        };

        let e = st.revocation_epoch();
        st.end_session("s1", 50).await.expect("end");
        assert!(st.revocation_epoch() > e, "{engine}");
        assert_eq!(
            st.session(&h(1))
                .await
                .expect("read")
                .expect("stored")
                .revoked_at,
            Some(50),
            "{engine}"
        );
        assert_eq!(
            family(h(11)).await,
            Some((50, "the user signed out".to_owned())),
            "{engine}"
        );
        assert_eq!(family(h(12)).await, None, "{engine}");
        // Ending it again keeps the first end.
        st.end_session("s1", 60).await.expect("end");
        assert_eq!(
            st.session(&h(1))
                .await
                .expect("read")
                .expect("stored")
                .revoked_at,
            Some(50),
            "{engine}"
        );
        assert_eq!(family(h(11)).await.map(|f| f.0), Some(50), "{engine}");

        let e = st.revocation_epoch();
        st.revoke_user("t1", "u1", 70).await.expect("revoke");
        assert!(st.revocation_epoch() > e, "{engine}");
        let u1 = st.user_by_id("t1", "u1").await.expect("read").expect("u1");
        assert_eq!(
            (u1.user_principal_name.as_str(), u1.tokens_valid_from),
            ("u1@x", 70),
            "{engine}"
        );
        assert_eq!(
            st.session(&h(2))
                .await
                .expect("read")
                .expect("stored")
                .revoked_at,
            Some(70),
            "{engine}"
        );
        // Already ended: keeps its end.
        assert_eq!(
            st.session(&h(1))
                .await
                .expect("read")
                .expect("stored")
                .revoked_at,
            Some(50),
            "{engine}"
        );
        // Another user's session stands.
        assert_eq!(
            st.session(&h(3))
                .await
                .expect("read")
                .expect("stored")
                .revoked_at,
            None,
            "{engine}"
        );
        assert_eq!(
            family(h(12)).await,
            Some((
                70,
                "an administrator revoked all sessions of the user".to_owned()
            )),
            "{engine}"
        );
        assert_eq!(
            family(h(11)).await,
            Some((50, "the user signed out".to_owned())),
            "{engine}"
        );
        let u2 = st.user_by_id("t1", "u2").await.expect("read").expect("u2");
        assert_eq!(u2.tokens_valid_from, 0, "{engine}");

        // No such user, or not in that tenant: NotFound, nothing changed.
        let e = st.revocation_epoch();
        let r = st.revoke_user("t1", "ghost", 80).await;
        assert!(matches!(r, Err(StoreError::NotFound(_))), "{engine}: {r:?}");
        let r = st.revoke_user("t2", "u2", 80).await;
        assert!(matches!(r, Err(StoreError::NotFound(_))), "{engine}: {r:?}");
        assert_eq!(st.revocation_epoch(), e, "{engine}");
        assert_eq!(
            st.session(&h(3))
                .await
                .expect("read")
                .expect("stored")
                .revoked_at,
            None,
            "{engine}"
        );
        assert!(st.user_by_id("t1", "ghost").await.expect("read").is_none());
        assert!(st.user_by_id("t2", "u1").await.expect("read").is_none());
    }
}

#[tokio::test]
async fn consents_accumulate_and_admin_consent_is_set() {
    for (engine, st) in engines().await {
        assert!(st
            .consent("t1", "u1", "web")
            .await
            .expect("read")
            .is_empty());
        st.add_consent("t1", "u1", "web", &["profile".into(), "openid".into()])
            .await
            .expect("consent");
        st.add_consent("t1", "u1", "web", &["openid".into(), "email".into()])
            .await
            .expect("consent");
        assert_eq!(
            st.consent("t1", "u1", "web").await.expect("read"),
            ["email", "openid", "profile"],
            "{engine}"
        );
        st.add_consent("t1", "u1", "web", &[])
            .await
            .expect("consent");
        assert_eq!(
            st.consent("t1", "u1", "web").await.expect("read").len(),
            3,
            "{engine}"
        );
        assert!(st
            .consent("t1", "u1", "other")
            .await
            .expect("read")
            .is_empty());
        assert!(st
            .consent("t1", "u2", "web")
            .await
            .expect("read")
            .is_empty());
        // A user that does not exist cannot consent (the foreign key).
        let r = st
            .add_consent("t1", "ghost", "web", &["openid".into()])
            .await;
        assert!(
            matches!(r, Err(StoreError::Unavailable(_))),
            "{engine}: {r:?}"
        );

        // Consents at once all count.
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let st = st.clone();
                tokio::spawn(async move {
                    st.add_consent("t1", "u2", "web", &[format!("s{i}"), "openid".into()])
                        .await
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task").expect("consent");
        }
        let mut want: Vec<String> = (0..8).map(|i| format!("s{i}")).collect();
        want.insert(0, "openid".into());
        assert_eq!(
            st.consent("t1", "u2", "web").await.expect("read"),
            want,
            "{engine}"
        );

        let admin_consented = |st: Arc<dyn Store>| async move {
            let d = st.directory("t1").await.expect("read").expect("t1");
            d.applications
                .iter()
                .find(|a| a.client_id == "web")
                .expect("web")
                .admin_consented
        };
        assert!(!admin_consented(st.clone()).await, "{engine}");
        st.set_admin_consent("t1", "web", true)
            .await
            .expect("admin");
        assert!(admin_consented(st.clone()).await, "{engine}");
        st.set_admin_consent("t1", "web", false)
            .await
            .expect("admin");
        assert!(!admin_consented(st.clone()).await, "{engine}");
        for (t, c) in [("t1", "nope"), ("t2", "web")] {
            let r = st.set_admin_consent(t, c, true).await;
            assert!(matches!(r, Err(StoreError::NotFound(_))), "{engine}: {r:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_are_taken_once_then_reported_reused() {
    for (engine, st) in engines().await {
        let g = code_grant(100);
        st.put_code(&h(1), &g).await.expect("code");
        let dup = st.put_code(&h(1), &g).await;
        assert!(
            matches!(dup, Err(StoreError::Conflict(_))),
            "{engine}: {dup:?}"
        );

        assert_eq!(
            st.take_code(&h(1), 10).await.expect("take"),
            CodeTake::Fresh(g.clone()),
            "{engine}"
        );
        assert_eq!(
            st.take_code(&h(1), 11).await.expect("take"),
            CodeTake::Reused {
                grant: g.clone(),
                family_id: None,
                access: None
            },
            "{engine}"
        );
        st.link_code(&h(1), Some("f1"), "j1", 99)
            .await
            .expect("link");
        assert_eq!(
            st.take_code(&h(1), 12).await.expect("take"),
            CodeTake::Reused {
                grant: g.clone(),
                family_id: Some("f1".into()),
                access: Some(("j1".into(), 99)),
            },
            "{engine}"
        );
        st.link_code(&h(1), None, "j2", 98).await.expect("link");
        assert_eq!(
            st.take_code(&h(1), 13).await.expect("take"),
            CodeTake::Reused {
                grant: g.clone(),
                family_id: None,
                access: Some(("j2".into(), 98)),
            },
            "{engine}"
        );
        assert_eq!(
            st.take_code(&h(2), 10).await.expect("take"),
            CodeTake::Missing,
            "{engine}"
        );
        // Linking a missing code is no error and creates nothing.
        st.link_code(&h(2), Some("f1"), "j1", 99)
            .await
            .expect("link");
        assert_eq!(
            st.take_code(&h(2), 10).await.expect("take"),
            CodeTake::Missing,
            "{engine}"
        );

        // Eight redemptions at once: one gets the grant.
        st.put_code(&h(3), &g).await.expect("code");
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let st = st.clone();
                tokio::spawn(async move { st.take_code(&h(3), 20 + i).await })
            })
            .collect();
        let mut fresh = 0;
        for t in tasks {
            match t.await.expect("task").expect("take") {
                CodeTake::Fresh(got) => {
                    assert_eq!(got, g, "{engine}");
                    fresh += 1;
                }
                CodeTake::Reused { grant, .. } => assert_eq!(grant, g, "{engine}"),
                CodeTake::Missing => panic!("{engine}: the code went missing"),
            }
        }
        assert_eq!(fresh, 1, "{engine}");
    }
}

#[tokio::test]
async fn refresh_tokens_rotate_once_and_their_families_are_revoked() {
    for (engine, st) in engines().await {
        let g = refresh_grant("f1", "s1", "web");
        st.put_refresh(&h(0), &g, 0).await.expect("family");
        let dup = st.put_refresh(&h(9), &g, 0).await;
        assert!(
            matches!(dup, Err(StoreError::Conflict(_))),
            "{engine}: {dup:?}"
        );
        // The failed family stored no token either.
        assert!(st.refresh(&h(9)).await.expect("read").is_none(), "{engine}");

        let rec = st.refresh(&h(0)).await.expect("read").expect("stored");
        assert_eq!(rec.grant, g, "{engine}");
        assert_eq!(
            (
                rec.used_at,
                rec.used_at_ms,
                rec.superseded_at,
                rec.family_revoked
            ),
            (None, None, None, None),
            "{engine}"
        );
        let u = rec.user.expect("the user");
        assert_eq!(
            (u.id.as_str(), u.user_principal_name.as_str()),
            ("u1", "u1@x")
        );
        assert!(
            st.refresh(&h(50)).await.expect("read").is_none(),
            "{engine}"
        );

        // A family whose user is gone: the token, without a user.
        let ghost = RefreshGrant {
            user_id: "ghost".into(),
            ..refresh_grant("f9", "s9", "web")
        };
        st.put_refresh(&h(90), &ghost, 0).await.expect("family");
        let rec = st.refresh(&h(90)).await.expect("read").expect("stored");
        assert_eq!((rec.grant, rec.user), (ghost, None), "{engine}");

        let e = st.revocation_epoch();
        assert!(st
            .rotate_refresh(&h(0), &h(1), &next(&g, 10), 10_250)
            .await
            .expect("rotate"));
        assert_eq!(
            st.revocation_epoch(),
            e,
            "{engine}: a rotation withdraws nothing"
        );
        // The same old token again: refused, nothing stored for the loser.
        assert!(!st
            .rotate_refresh(&h(0), &h(2), &next(&g, 11), 11_000)
            .await
            .expect("rotate"));
        let old = st.refresh(&h(0)).await.expect("read").expect("stored");
        assert_eq!(
            (old.used_at, old.used_at_ms),
            (Some(10), Some(10_250)),
            "{engine}"
        );
        let new = st.refresh(&h(1)).await.expect("read").expect("stored");
        assert_eq!(new.grant, next(&g, 10), "{engine}");
        assert_eq!((new.used_at, new.superseded_at), (None, None), "{engine}");
        assert!(st.refresh(&h(2)).await.expect("read").is_none(), "{engine}");
        // An unknown parent rotates nothing.
        assert!(!st
            .rotate_refresh(&h(50), &h(3), &next(&g, 12), 12_000)
            .await
            .expect("rotate"));
        assert!(st.refresh(&h(3)).await.expect("read").is_none(), "{engine}");
        // A successor of a family that does not exist: an error, and the parent stays
        // unused (the whole statement failed).
        let lost = RefreshGrant {
            family_id: "missing".into(),
            ..next(&g, 13)
        };
        let r = st.rotate_refresh(&h(1), &h(3), &lost, 13_000).await;
        assert!(
            matches!(r, Err(StoreError::Unavailable(_))),
            "{engine}: {r:?}"
        );
        // A successor whose hash is taken: Conflict, the parent stays unused.
        let r = st.rotate_refresh(&h(1), &h(0), &next(&g, 13), 13_000).await;
        assert!(matches!(r, Err(StoreError::Conflict(_))), "{engine}: {r:?}");
        let parent = st.refresh(&h(1)).await.expect("read").expect("stored");
        assert_eq!(parent.used_at, None, "{engine}");
        // A rotation at a negative instant rounds the second down, as SQLite's does.
        assert!(st
            .rotate_refresh(&h(1), &h(4), &next(&g, -1), -1)
            .await
            .expect("rotate"));
        let parent = st.refresh(&h(1)).await.expect("read").expect("stored");
        assert_eq!(
            (parent.used_at, parent.used_at_ms),
            (Some(-1), Some(-1)),
            "{engine}"
        );

        // Revocation: the first reason and time stay.
        let e = st.revocation_epoch();
        st.revoke_family("f1", "reuse of a rotated refresh token", 100)
            .await
            .expect("revoke");
        assert!(st.revocation_epoch() > e, "{engine}");
        st.revoke_family("f1", "again", 200).await.expect("revoke");
        st.revoke_family("nope", "nothing", 200)
            .await
            .expect("revoke nothing");
        for t in [h(0), h(1), h(4)] {
            assert_eq!(
                st.refresh(&t)
                    .await
                    .expect("read")
                    .expect("stored")
                    .family_revoked,
                Some((100, "reuse of a rotated refresh token".to_owned())),
                "{engine}"
            );
        }
        assert_eq!(
            st.refresh(&h(90))
                .await
                .expect("read")
                .expect("stored")
                .family_revoked,
            None,
            "{engine}"
        );
    }
}

#[tokio::test]
async fn a_retry_replaces_the_unused_successor_within_the_window_only() {
    for (engine, st) in engines().await {
        let g = refresh_grant("f1", "s1", "web");
        st.put_refresh(&h(0), &g, 0).await.expect("family");
        let rec = |t: [u8; 32]| {
            let st = st.clone();
            async move { st.refresh(&t).await.expect("read").expect("stored") }
        };
        // A retry of a token never used is no retry.
        assert!(!st
            .retry_refresh(&h(0), &h(1), &next(&g, 9), 9_500, 10_000)
            .await
            .expect("retry"));
        assert!(st.refresh(&h(1)).await.expect("read").is_none(), "{engine}");
        assert!(st
            .rotate_refresh(&h(0), &h(1), &next(&g, 10), 10_250)
            .await
            .expect("rotate"));
        // Within the window (from the first use, in ms): a new live successor; the
        // first is superseded, the parent keeps its first use.
        assert!(st
            .retry_refresh(&h(0), &h(2), &next(&g, 12), 12_000, 10_000)
            .await
            .expect("retry"));
        assert_eq!(rec(h(1)).await.superseded_at, Some(12), "{engine}");
        assert_eq!(rec(h(2)).await.superseded_at, None, "{engine}");
        assert_eq!(rec(h(2)).await.grant, next(&g, 12), "{engine}");
        let parent = rec(h(0)).await;
        assert_eq!(
            (parent.used_at, parent.used_at_ms),
            (Some(10), Some(10_250))
        );
        // A second retry supersedes the second successor: one live successor.
        assert!(st
            .retry_refresh(&h(0), &h(3), &next(&g, 13), 13_000, 10_000)
            .await
            .expect("retry"));
        assert_eq!(rec(h(1)).await.superseded_at, Some(12), "{engine}");
        assert_eq!(rec(h(2)).await.superseded_at, Some(13), "{engine}");
        assert_eq!(rec(h(3)).await.superseded_at, None, "{engine}");
        // Past the window (10.25 s + 10 s): refused; exactly at its end too.
        assert!(!st
            .retry_refresh(&h(0), &h(4), &next(&g, 20), 20_250, 10_000)
            .await
            .expect("retry"));
        assert!(st
            .retry_refresh(&h(0), &h(4), &next(&g, 20), 20_249, 10_000)
            .await
            .expect("retry"));
        assert_eq!(rec(h(3)).await.superseded_at, Some(20), "{engine}");
        // A window of 0 never retries.
        assert!(!st
            .retry_refresh(&h(0), &h(5), &next(&g, 14), 14_000, 0)
            .await
            .expect("retry"));
        // Once the live successor is used, no retry of its parent either.
        assert!(st
            .rotate_refresh(&h(4), &h(6), &next(&g, 15), 15_000)
            .await
            .expect("rotate"));
        assert!(!st
            .retry_refresh(&h(0), &h(5), &next(&g, 16), 16_000, 10_000)
            .await
            .expect("retry"));
        assert!(st.refresh(&h(5)).await.expect("read").is_none(), "{engine}");
        assert_eq!(rec(h(6)).await.superseded_at, None, "{engine}");
        // A superseded token cannot be retried, nor an unknown one.
        assert!(!st
            .retry_refresh(&h(1), &h(7), &next(&g, 16), 16_000, 10_000)
            .await
            .expect("retry"));
        assert!(!st
            .retry_refresh(&h(50), &h(7), &next(&g, 16), 16_000, 10_000)
            .await
            .expect("retry"));
        assert!(st.refresh(&h(7)).await.expect("read").is_none(), "{engine}");
    }
}

/// A claim for client `web` of tenant t1 at `now_ms`, to successor `new`, with an
/// inactivity lifetime of 1,000 s (so its successor is [`next`]'s).
fn claim(new: [u8; 32], now_ms: i64) -> RefreshClaim<'static> {
    RefreshClaim {
        new_hash: new,
        tenant_id: "t1",
        client_id: "web",
        now_ms,
        inactivity: 1000,
    }
}

/// `refresh_claim` of `old` with `c`: the token as read and whether it rotated,
/// checked against the rule it mirrors (`may_rotate` of the row it read).
async fn claimed(
    engine: &str,
    st: &dyn Store,
    old: [u8; 32],
    c: &RefreshClaim<'_>,
) -> (portvakt_store::RefreshRecord, bool) {
    let (rec, rotated) = st
        .refresh_claim(&old, Some(c))
        .await
        .expect("claim")
        .expect("stored");
    assert_eq!(
        rotated,
        c.may_rotate(&rec),
        "{engine}: the claim rotates exactly when the rule allows it: {rec:?}"
    );
    (rec, rotated)
}

#[tokio::test]
async fn a_claim_rotates_in_its_read_only_what_may_be_rotated_and_can_be_undone() {
    for (engine, st) in engines().await {
        let st = st.as_ref();
        let g = refresh_grant("f1", "s1", "web");
        st.put_refresh(&h(0), &g, 0).await.expect("family");
        // No claim: a read.
        let (rec, rotated) = st
            .refresh_claim(&h(0), None)
            .await
            .expect("read")
            .expect("stored");
        assert_eq!((rec.grant.clone(), rotated), (g.clone(), false), "{engine}");
        assert!(st
            .refresh_claim(&h(50), Some(&claim(h(1), 10_250)))
            .await
            .expect("read")
            .is_none());
        // Another client or tenant, or past its expiry: read, not rotated.
        let other = RefreshClaim {
            client_id: "other",
            ..claim(h(1), 10_250)
        };
        assert!(!claimed(engine, st, h(0), &other).await.1);
        let elsewhere = RefreshClaim {
            tenant_id: "t2",
            ..claim(h(1), 10_250)
        };
        assert!(!claimed(engine, st, h(0), &elsewhere).await.1);
        assert!(!claimed(engine, st, h(0), &claim(h(1), 1_000_000)).await.1);
        assert!(st.refresh(&h(1)).await.expect("read").is_none(), "{engine}");
        // Rotated: the read is the token before, the successor its grant's successor.
        let (before, rotated) = claimed(engine, st, h(0), &claim(h(1), 10_250)).await;
        assert!(rotated, "{engine}");
        assert_eq!(
            (before.used_at, before.used_at_ms),
            (None, None),
            "{engine}"
        );
        let old = st.refresh(&h(0)).await.expect("read").expect("stored");
        assert_eq!(
            (old.used_at, old.used_at_ms),
            (Some(10), Some(10_250)),
            "{engine}"
        );
        let new = st.refresh(&h(1)).await.expect("read").expect("stored");
        assert_eq!(new.grant, g.successor(10, 1000), "{engine}");
        assert_eq!(new.grant, next(&g, 10), "{engine}");
        assert_eq!((new.used_at, new.superseded_at), (None, None), "{engine}");
        // Claimed again: the read shows the use, nothing rotates.
        let (again, rotated) = claimed(engine, st, h(0), &claim(h(2), 11_000)).await;
        assert_eq!(
            (again.used_at_ms, rotated),
            (Some(10_250), false),
            "{engine}"
        );
        assert!(st.refresh(&h(2)).await.expect("read").is_none(), "{engine}");
        // Undone: the successor gone, the token unused, and only once.
        assert!(st
            .unclaim_refresh(&h(0), &h(1), 10_250)
            .await
            .expect("undo"));
        assert!(st.refresh(&h(1)).await.expect("read").is_none(), "{engine}");
        let old = st.refresh(&h(0)).await.expect("read").expect("stored");
        assert_eq!((old.used_at, old.used_at_ms), (None, None), "{engine}");
        assert!(!st
            .unclaim_refresh(&h(0), &h(1), 10_250)
            .await
            .expect("undo"));
        // A claim whose token a retry used meanwhile: its successor goes, the token
        // stays used (the retry's successor was handed out).
        assert!(claimed(engine, st, h(0), &claim(h(3), 12_000)).await.1);
        assert!(st
            .retry_refresh(&h(0), &h(4), &next(&g, 13), 13_000, 10_000)
            .await
            .expect("retry"));
        assert!(!st
            .unclaim_refresh(&h(0), &h(3), 12_000)
            .await
            .expect("undo"));
        assert!(st.refresh(&h(3)).await.expect("read").is_none(), "{engine}");
        let old = st.refresh(&h(0)).await.expect("read").expect("stored");
        assert_eq!(old.used_at_ms, Some(12_000), "{engine}");
        let live = st.refresh(&h(4)).await.expect("read").expect("stored");
        assert_eq!(live.superseded_at, None, "{engine}");
        // An undo of another instant's use changes nothing.
        assert!(claimed(engine, st, h(4), &claim(h(5), 14_000)).await.1);
        assert!(!st
            .unclaim_refresh(&h(4), &h(5), 14_001)
            .await
            .expect("undo"));
        let old = st.refresh(&h(4)).await.expect("read").expect("stored");
        assert_eq!(old.used_at_ms, Some(14_000), "{engine}");
        // Superseded: a retry of h(4) replaced h(5) by h(6).
        assert!(st
            .retry_refresh(&h(4), &h(6), &next(&g, 15), 15_000, 10_000)
            .await
            .expect("retry"));
        assert!(!claimed(engine, st, h(5), &claim(h(7), 15_500)).await.1);
        // A disabled user: not rotated; enabled again: rotated.
        st.set_account_enabled("t1", "u1@x", false)
            .await
            .expect("disable");
        assert!(!claimed(engine, st, h(6), &claim(h(7), 16_000)).await.1);
        st.set_account_enabled("t1", "u1@x", true)
            .await
            .expect("enable");
        assert!(claimed(engine, st, h(6), &claim(h(7), 16_000)).await.1);
        // A user gone: not rotated.
        let ghost = RefreshGrant {
            user_id: "ghost".into(),
            ..refresh_grant("f9", "s9", "web")
        };
        st.put_refresh(&h(90), &ghost, 0).await.expect("family");
        assert!(!claimed(engine, st, h(90), &claim(h(91), 1_000)).await.1);
        // Sign-ins the user's revocation covers (at 50 s: signed in at or before), in a
        // family made after it; a later sign-in is rotated.
        st.revoke_user("t1", "u1", 50).await.expect("revoke");
        for (n, auth_time, rotates) in [(100u8, 50, false), (110, 51, true)] {
            let g = RefreshGrant {
                auth_time,
                ..refresh_grant(&format!("f{n}"), "s2", "web")
            };
            st.put_refresh(&h(n), &g, 0).await.expect("family");
            let rotated = claimed(engine, st, h(n), &claim(h(n + 1), 60_000)).await.1;
            assert_eq!(rotated, rotates, "{engine}: signed in at {auth_time}");
        }
        // A revoked family: not rotated.
        st.revoke_family("f110", "test", 61).await.expect("revoke");
        assert!(!claimed(engine, st, h(111), &claim(h(112), 62_000)).await.1);
    }
}

#[tokio::test]
async fn grant_revocation_names_the_session_end_or_the_earliest_family_revocation() {
    for (engine, st) in engines().await {
        st.put_session(&h(1), &session("s1", "u1", 1000))
            .await
            .expect("session");
        st.put_refresh(&h(11), &refresh_grant("f1", "s1", "web"), 0)
            .await
            .expect("family");
        st.put_refresh(&h(12), &refresh_grant("f2", "s1", "web"), 0)
            .await
            .expect("family");
        st.put_refresh(&h(13), &refresh_grant("f3", "s1", "other"), 0)
            .await
            .expect("family");
        assert_eq!(
            st.grant_revocation("s1", "web", 0).await.expect("read"),
            None,
            "{engine}"
        );
        st.revoke_family("f1", "first", 200).await.expect("revoke");
        st.revoke_family("f2", "second", 150).await.expect("revoke");
        st.revoke_family("f3", "other client", 120)
            .await
            .expect("revoke");
        assert_eq!(
            st.grant_revocation("s1", "web", 100).await.expect("read"),
            Some(GrantRevocation::FamilyRevoked {
                at: 150,
                reason: "second".into()
            }),
            "{engine}"
        );
        // At or after iat only.
        assert_eq!(
            st.grant_revocation("s1", "web", 150).await.expect("read"),
            Some(GrantRevocation::FamilyRevoked {
                at: 150,
                reason: "second".into()
            }),
            "{engine}"
        );
        assert_eq!(
            st.grant_revocation("s1", "web", 151).await.expect("read"),
            Some(GrantRevocation::FamilyRevoked {
                at: 200,
                reason: "first".into()
            }),
            "{engine}"
        );
        assert_eq!(
            st.grant_revocation("s1", "web", 201).await.expect("read"),
            None,
            "{engine}"
        );
        assert_eq!(
            st.grant_revocation("s1", "other", 0).await.expect("read"),
            Some(GrantRevocation::FamilyRevoked {
                at: 120,
                reason: "other client".into()
            }),
            "{engine}"
        );
        assert_eq!(
            st.grant_revocation("s2", "web", 0).await.expect("read"),
            None,
            "{engine}"
        );
        // A session's end comes first, whatever iat.
        st.end_session("s1", 300).await.expect("end");
        assert_eq!(
            st.grant_revocation("s1", "web", 1000).await.expect("read"),
            Some(GrantRevocation::SessionEnded { at: 300 }),
            "{engine}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_authorizations_change_state_only_from_the_expected_one() {
    for (engine, st) in engines().await {
        let pending = device_grant("BCDF-GHJK", "pending", 600);
        st.put_device(&h(1), &pending).await.expect("device");
        let dup = st
            .put_device(&h(2), &device_grant("BCDF-GHJK", "pending", 600))
            .await;
        assert!(
            matches!(dup, Err(StoreError::Conflict(_))),
            "{engine}: {dup:?}"
        );
        let dup = st
            .put_device(&h(1), &device_grant("XZXZ-XZXZ", "pending", 600))
            .await;
        assert!(
            matches!(dup, Err(StoreError::Conflict(_))),
            "{engine}: {dup:?}"
        );
        assert_eq!(
            st.device(&h(1)).await.expect("read"),
            Some(pending.clone()),
            "{engine}"
        );
        assert_eq!(
            st.device_by_user_code("BCDF-GHJK").await.expect("read"),
            Some(pending.clone()),
            "{engine}"
        );
        assert_eq!(st.device(&h(2)).await.expect("read"), None, "{engine}");
        assert_eq!(
            st.device_by_user_code("XZXZ-XZXZ").await.expect("read"),
            None,
            "{engine}"
        );

        let approved = DeviceGrant {
            status: "approved".into(),
            user_id: Some("u1".into()),
            sid: Some("s1".into()),
            auth_time: Some(7),
            amr: vec!["pwd".into()],
            last_poll: Some(8),
            ..pending.clone()
        };
        assert!(st
            .update_device("BCDF-GHJK", "pending", &approved)
            .await
            .expect("update"));
        // Not pending any more: a denial now changes nothing.
        let denied = DeviceGrant {
            status: "denied".into(),
            ..pending.clone()
        };
        assert!(!st
            .update_device("BCDF-GHJK", "pending", &denied)
            .await
            .expect("update"));
        assert_eq!(
            st.device(&h(1)).await.expect("read"),
            Some(approved.clone()),
            "{engine}"
        );
        assert!(!st
            .update_device("XZXZ-XZXZ", "pending", &denied)
            .await
            .expect("update"));

        // Eight redemptions at once: one moves it from approved to used.
        let used = DeviceGrant {
            status: "used".into(),
            ..approved.clone()
        };
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (st, used) = (st.clone(), used.clone());
                tokio::spawn(async move { st.update_device("BCDF-GHJK", "approved", &used).await })
            })
            .collect();
        let mut won = 0;
        for t in tasks {
            if t.await.expect("task").expect("update") {
                won += 1;
            }
        }
        assert_eq!(won, 1, "{engine}");
        assert_eq!(
            st.device_by_user_code("BCDF-GHJK").await.expect("read"),
            Some(used),
            "{engine}"
        );
    }
}

#[tokio::test]
async fn access_token_status_reads_denylist_user_and_grant() {
    for (engine, st) in engines().await {
        let none = st.access_token_status("j1", None).await.expect("read");
        assert_eq!(
            (none.jti_revoked, none.user, none.grant_revoked),
            (false, None, false),
            "{engine}"
        );
        let e = st.revocation_epoch();
        st.revoke_jti("t1", "j1", 100).await.expect("deny");
        assert!(st.revocation_epoch() > e, "{engine}");
        st.revoke_jti("t1", "j1", 200).await.expect("deny twice");
        let s = st.access_token_status("j1", None).await.expect("read");
        assert!(
            s.jti_revoked && s.user.is_none() && !s.grant_revoked,
            "{engine}"
        );

        st.put_session(&h(1), &session("s1", "u1", 1000))
            .await
            .expect("session");
        st.put_refresh(&h(11), &refresh_grant("f1", "s1", "web"), 0)
            .await
            .expect("family");
        let s = st
            .access_token_status("j2", Some(token_user("s1", "u1", 50)))
            .await
            .expect("read");
        assert!(!s.jti_revoked && !s.grant_revoked, "{engine}");
        assert_eq!(s.user, Some((true, 0, "u1@x".to_owned())), "{engine}");
        let s = st
            .access_token_status("j1", Some(token_user("s1", "u1", 50)))
            .await
            .expect("read");
        assert!(s.jti_revoked, "{engine}");
        // No such user.
        let s = st
            .access_token_status("j2", Some(token_user("s1", "ghost", 50)))
            .await
            .expect("read");
        assert_eq!(
            (s.jti_revoked, s.user, s.grant_revoked),
            (false, None, false)
        );

        // A family of the session and client revoked at or after iat.
        st.revoke_family("f1", "test", 100).await.expect("revoke");
        for (iat, revoked) in [(50, true), (100, true), (101, false)] {
            let s = st
                .access_token_status("j2", Some(token_user("s1", "u1", iat)))
                .await
                .expect("read");
            assert_eq!(s.grant_revoked, revoked, "{engine}: iat {iat}");
        }
        let other = TokenUser {
            client_id: "other",
            ..token_user("s1", "u1", 50)
        };
        let s = st
            .access_token_status("j2", Some(other))
            .await
            .expect("read");
        assert!(!s.grant_revoked, "{engine}");
        // The session ended: revoked for every client and iat.
        st.end_session("s1", 300).await.expect("end");
        for u in [token_user("s1", "u1", 1000), other] {
            let s = st.access_token_status("j2", Some(u)).await.expect("read");
            assert!(s.grant_revoked, "{engine}");
        }

        st.revoke_user("t1", "u1", 400).await.expect("revoke");
        st.set_account_enabled("t1", "u1@x", false)
            .await
            .expect("disable");
        let s = st
            .access_token_status("j2", Some(token_user("s2", "u1", 50)))
            .await
            .expect("read");
        assert_eq!(s.user, Some((false, 400, "u1@x".to_owned())), "{engine}");
        assert!(!s.grant_revoked, "{engine}");
    }
}

#[tokio::test]
async fn purge_deletes_expired_rows_in_batches() {
    for (engine, st) in engines().await {
        for (id, exp) in [("i1", 10), ("i2", 20), ("i3", 200)] {
            st.put_interaction(&interaction(id, exp))
                .await
                .expect("interaction");
        }
        st.put_device(&h(1), &device_grant("BCDF-GHJK", "pending", 10))
            .await
            .expect("device");
        st.put_device(&h(2), &device_grant("BCDF-GHJL", "pending", 200))
            .await
            .expect("device");
        st.revoke_jti("t1", "j1", 10).await.expect("deny");
        st.revoke_jti("t1", "j2", 200).await.expect("deny");
        st.put_code(&h(3), &code_grant(10)).await.expect("code");
        st.put_code(&h(4), &code_grant(5000)).await.expect("code");
        st.put_session(&h(5), &session("s1", "u1", 10))
            .await
            .expect("session");
        st.put_session(&h(6), &session("s2", "u1", 5000))
            .await
            .expect("session");
        let old = RefreshGrant {
            family_expires_at: 10,
            ..refresh_grant("f1", "s1", "web")
        };
        st.put_refresh(&h(7), &old, 0).await.expect("family");
        assert!(st
            .rotate_refresh(&h(7), &h(8), &next(&old, 5), 5_000)
            .await
            .expect("rotate"));
        st.put_refresh(&h(9), &refresh_grant("f2", "s2", "web"), 0)
            .await
            .expect("family");

        // Grants kept 95 s past their expiry: only what has no such grace goes.
        assert_eq!(
            st.purge_expired(100, 95, 10).await.expect("purge"),
            4,
            "{engine}"
        );
        assert!(st.session(&h(5)).await.expect("read").is_some(), "{engine}");
        assert!(st.refresh(&h(8)).await.expect("read").is_some(), "{engine}");
        assert!(
            st.interaction("i1").await.expect("read").is_none(),
            "{engine}"
        );
        assert!(
            st.interaction("i2").await.expect("read").is_none(),
            "{engine}"
        );
        assert!(st.device(&h(1)).await.expect("read").is_none(), "{engine}");
        assert!(
            !st.access_token_status("j1", None)
                .await
                .expect("read")
                .jti_revoked
        );

        // In batches of one per kind: the session and the family with both tokens.
        assert_eq!(
            st.purge_expired(100, 0, 1).await.expect("purge"),
            2,
            "{engine}"
        );
        assert!(st.session(&h(5)).await.expect("read").is_none(), "{engine}");
        assert!(st.refresh(&h(7)).await.expect("read").is_none(), "{engine}");
        assert!(st.refresh(&h(8)).await.expect("read").is_none(), "{engine}");
        assert_eq!(
            st.purge_expired(100, 0, 1).await.expect("purge"),
            0,
            "{engine}"
        );

        // A code stays an hour past its expiry (a late replay is still recognised).
        assert_eq!(
            st.take_code(&h(3), 100).await.expect("take"),
            CodeTake::Fresh(code_grant(10)),
            "{engine}"
        );
        assert_eq!(
            st.purge_expired(3610, 0, 100).await.expect("purge"),
            3,
            "{engine}"
        );
        assert!(matches!(
            st.take_code(&h(3), 3610).await.expect("take"),
            CodeTake::Reused { .. }
        ));
        assert_eq!(
            st.purge_expired(3611, 0, 100).await.expect("purge"),
            1,
            "{engine}"
        );
        assert_eq!(
            st.take_code(&h(3), 3611).await.expect("take"),
            CodeTake::Missing,
            "{engine}"
        );
        assert!(
            st.interaction("i3").await.expect("read").is_none(),
            "{engine}"
        );
        assert!(st.device(&h(2)).await.expect("read").is_none(), "{engine}");
        // What has not expired stays.
        assert!(st.session(&h(6)).await.expect("read").is_some(), "{engine}");
        assert!(st.refresh(&h(9)).await.expect("read").is_some(), "{engine}");
        assert_eq!(
            st.take_code(&h(4), 3611).await.expect("take"),
            CodeTake::Fresh(code_grant(5000)),
            "{engine}"
        );
        // A full batch says: call again.
        for i in 0..5 {
            st.revoke_jti("t1", &format!("k{i}"), 4000)
                .await
                .expect("deny");
        }
        assert_eq!(
            st.purge_expired(4001, 0, 3).await.expect("purge"),
            3,
            "{engine}"
        );
        assert_eq!(
            st.purge_expired(4001, 0, 3).await.expect("purge"),
            2,
            "{engine}"
        );
        assert_eq!(
            st.purge_expired(4001, 0, 3).await.expect("purge"),
            0,
            "{engine}"
        );
    }
}

#[tokio::test]
async fn only_withdrawing_writes_move_the_revocation_epoch() {
    for (engine, st) in engines().await {
        let g = refresh_grant("f1", "s1", "web");
        st.put_session(&h(1), &session("s1", "u1", 1000))
            .await
            .expect("session");
        st.put_refresh(&h(0), &g, 0).await.expect("family");
        let e = st.revocation_epoch();
        st.rotate_refresh(&h(0), &h(2), &next(&g, 1), 1_000)
            .await
            .expect("rotate");
        st.retry_refresh(&h(0), &h(3), &next(&g, 2), 2_000, 10_000)
            .await
            .expect("retry");
        st.put_code(&h(4), &code_grant(100)).await.expect("code");
        st.take_code(&h(4), 1).await.expect("take");
        st.add_consent("t1", "u1", "web", &["openid".into()])
            .await
            .expect("consent");
        assert_eq!(st.revocation_epoch(), e, "{engine}");
        for step in 0..4 {
            let e = st.revocation_epoch();
            match step {
                0 => st.revoke_jti("t1", "j1", 100).await.expect("deny"),
                1 => st.revoke_family("f1", "test", 2).await.expect("revoke"),
                2 => st.end_session("s1", 3).await.expect("end"),
                _ => st.revoke_user("t1", "u1", 4).await.expect("revoke"),
            }
            assert!(st.revocation_epoch() > e, "{engine}: step {step}");
        }
    }
}

/// Twenty generations of a family on PostgreSQL, each rotated by eight `attempt`s at
/// once over the pool's connections (`attempt(store, parent, successor, now_ms)`:
/// whether it rotated): each time exactly one wins, the parent was used once, by the
/// winner, the losers stored nothing (a lost race changes nothing), and the winner's
/// token is live.
async fn one_winner_of_eight_each_time<F, Fut>(attempt: F)
where
    F: Fn(Arc<portvakt_store::PgStore>, [u8; 32], [u8; 32], i64) -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let st = Arc::new(common::pg().await);
    fixture(st.as_ref()).await;
    let mut cur = h(0);
    st.put_refresh(&cur, &refresh_grant("f1", "s1", "web"), 0)
        .await
        .expect("family");
    for round in 1..=20u8 {
        let tasks: Vec<_> = (0..8u8)
            .map(|i| {
                let mut new = [round; 32];
                new[31] = i;
                let won = attempt(st.clone(), cur, new, i64::from(round) * 1000 + i64::from(i));
                tokio::spawn(async move { won.await.then_some((new, i)) })
            })
            .collect();
        let mut winners = Vec::new();
        for t in tasks {
            winners.extend(t.await.expect("task"));
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let (won, i) = winners[0];
        let parent = st.refresh(&cur).await.expect("read").expect("stored");
        assert_eq!(
            parent.used_at_ms,
            Some(i64::from(round) * 1000 + i64::from(i)),
            "round {round}"
        );
        for j in (0..8u8).filter(|j| *j != i) {
            let mut lost = [round; 32];
            lost[31] = j;
            assert!(
                st.refresh(&lost).await.expect("read").is_none(),
                "round {round}"
            );
        }
        let rec = st.refresh(&won).await.expect("read").expect("stored");
        assert_eq!(
            (rec.used_at, rec.superseded_at),
            (None, None),
            "round {round}"
        );
        cur = won;
    }
}

/// Eight rotations of one token at once on PostgreSQL: exactly one returns true.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_rotations_of_one_token_have_exactly_one_winner_on_postgres() {
    let g = refresh_grant("f1", "s1", "web");
    one_winner_of_eight_each_time(move |st, old, new, now_ms| {
        let g = next(&g, now_ms.div_euclid(1000));
        async move {
            st.rotate_refresh(&old, &new, &g, now_ms)
                .await
                .expect("rotate")
        }
    })
    .await;
}

/// Eight claims of one token at once on PostgreSQL: exactly one rotates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_of_one_token_have_exactly_one_winner_on_postgres() {
    one_winner_of_eight_each_time(|st, old, new, now_ms| async move {
        st.refresh_claim(&old, Some(&claim(new, now_ms)))
            .await
            .expect("claim")
            .expect("stored")
            .1
    })
    .await;
}

/// Eight retries of one used token at once on PostgreSQL: each is a retry (the
/// successor is unused), and afterwards exactly one successor is live, as after eight
/// retries one after the other; for twenty families.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_leave_one_live_successor_on_postgres() {
    let st = Arc::new(common::pg().await);
    fixture(st.as_ref()).await;
    for round in 1..=20u8 {
        let token = |i: u8| {
            let mut t = [round; 32];
            t[31] = i;
            t
        };
        let g = refresh_grant(&format!("f{round}"), "s1", "web");
        st.put_refresh(&token(100), &g, 0).await.expect("family");
        assert!(st
            .rotate_refresh(&token(100), &token(101), &next(&g, 1), 1_000)
            .await
            .expect("rotate"));
        let tasks: Vec<_> = (0..8u8)
            .map(|i| {
                let st = st.clone();
                let g = next(&g, 2);
                let (old, new) = (token(100), token(i));
                tokio::spawn(async move {
                    st.retry_refresh(&old, &new, &g, 2_000 + i64::from(i), 10_000)
                        .await
                        .expect("retry")
                })
            })
            .collect();
        for t in tasks {
            assert!(
                t.await.expect("task"),
                "round {round}: every retry is within the window"
            );
        }
        let mut live = BTreeSet::new();
        for i in std::iter::once(101).chain(0..8u8) {
            let rec = st.refresh(&token(i)).await.expect("read").expect("stored");
            if rec.superseded_at.is_none() {
                live.insert(i);
            }
        }
        assert_eq!(live.len(), 1, "round {round}: live successors: {live:?}");
        let parent = st
            .refresh(&token(100))
            .await
            .expect("read")
            .expect("stored");
        assert_eq!(
            parent.used_at_ms,
            Some(1_000),
            "round {round}: the first use stays"
        );
    }
}

/// PostgreSQL keeps no foreign key from refresh tokens to their family (migration 3:
/// it locked the family on every rotation); a statement trigger deletes a family's
/// tokens with it, whoever deletes the family (the purge, a tenant's deletion).
#[tokio::test]
async fn postgres_deletes_a_familys_tokens_with_it() {
    let (st, _, c) = common::pg_with_client().await;
    fixture(&st).await;
    let count = |family: &'static str| {
        let c = &c;
        async move {
            c.query_one(
                "SELECT count(*) FROM refresh_tokens WHERE family_id = $1",
                &[&family],
            )
            .await
            .expect("count")
            .get::<_, i64>(0)
        }
    };
    let (f1, f2) = (
        refresh_grant("f1", "s1", "web"),
        refresh_grant("f2", "s2", "web"),
    );
    st.put_refresh(&h(0), &f1, 0).await.expect("f1");
    assert!(st
        .rotate_refresh(&h(0), &h(1), &next(&f1, 1), 1_000)
        .await
        .expect("rotate"));
    st.put_refresh(&h(2), &f2, 0).await.expect("f2");
    assert_eq!((count("f1").await, count("f2").await), (2, 1));
    // A successor of another family than its parent's is refused, nothing written.
    let r = st.rotate_refresh(&h(1), &h(3), &next(&f2, 2), 2_000).await;
    assert!(r.is_err(), "{r:?}");
    assert_eq!(count("f2").await, 1);
    assert!(st
        .refresh(&h(1))
        .await
        .expect("read")
        .expect("f1's")
        .used_at
        .is_none());
    c.execute("DELETE FROM token_families WHERE id = 'f1'", &[])
        .await
        .expect("delete");
    assert_eq!((count("f1").await, count("f2").await), (0, 1));
    // With the tenant (its families go by their own foreign key, their tokens by the
    // trigger).
    c.execute("DELETE FROM tenants WHERE id = 't1'", &[])
        .await
        .expect("delete tenant");
    assert_eq!(count("f2").await, 0);
}
