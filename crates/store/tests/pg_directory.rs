//! The directory half of `Store` on both engines: the same calls, the same answers.

mod common;

use portvakt_core::model::{Application, Resource, Role, SigningKeyInfo, Tenant};
use portvakt_jose::Algorithm;
use portvakt_store::{
    GroupImport, NewUser, StoreError, StoredGraphObject, StoredKey, TenantImport,
};

fn key(kid: &str, active_from: i64) -> StoredKey {
    StoredKey {
        info: SigningKeyInfo {
            kid: kid.into(),
            algorithm: Algorithm::ES256,
            created_at: active_from,
            active_from,
            retired_at: None,
            published_until: None,
        },
        public_jwk: "{}".into(),
        sealed_pkcs8: vec![1, 2, 3],
    }
}

fn tenant(id: &str, name: &str) -> Tenant {
    Tenant {
        id: id.into(),
        name: name.into(),
        display_name: name.into(),
        signing_algorithm: Algorithm::ES256,
        access_token_lifetime_seconds: Some(600),
    }
}

fn user(id: &str, upn: &str) -> NewUser {
    NewUser {
        id: id.into(),
        user_principal_name: upn.into(),
        display_name: upn.into(),
        password_hash: Some("$argon2id$x".into()),
        account_enabled: true,
        roles: None,
        totp_sealed: None,
    }
}

fn app(client_id: &str) -> Application {
    Application {
        client_id: client_id.into(),
        display_name: client_id.into(),
        confidential: true,
        secret_sha256: Some([7; 32]),
        grant_types: vec!["client_credentials".into()],
        redirect_uris: vec![],
        allowed_scopes: vec!["api://a/.default".into()],
        access_token_lifetime_seconds: None,
        admin_consented: false,
        refresh_token_lifetime_seconds: Some(3600),
    }
}

#[tokio::test]
async fn tenants_keys_and_conflicts() {
    for (engine, s) in common::engines().await {
        s.create_tenant(&tenant("t1", "contoso"), &[key("k1", 100)], 100)
            .await
            .expect("create");
        let e = s
            .create_tenant(&tenant("t2", "contoso"), &[key("k2", 100)], 100)
            .await
            .expect_err("dup");
        assert!(
            matches!(e, StoreError::Conflict(ref m) if m == "tenant 'contoso'"),
            "{engine}: {e}"
        );
        assert!(
            s.directory("nope").await.expect("dir").is_none(),
            "{engine}"
        );
        s.rotate_key("t1", &key("k2", 200), 5000)
            .await
            .expect("rotate");
        let d = s.directory("contoso").await.expect("dir").expect("exists");
        assert_eq!(d.tenant, tenant("t1", "contoso"), "{engine}");
        let kids: Vec<_> = d
            .keys
            .iter()
            .map(|k| {
                (
                    k.info.kid.as_str(),
                    k.info.retired_at,
                    k.info.published_until,
                )
            })
            .collect();
        assert_eq!(
            kids,
            [("k1", Some(200), Some(5000)), ("k2", None, None)],
            "{engine}"
        );
        assert_eq!(d.keys[0].sealed_pkcs8, vec![1, 2, 3], "{engine}");
        assert_eq!(s.list_tenants().await.expect("list").len(), 1, "{engine}");
    }
}

#[tokio::test]
async fn users_groups_apps_resources_and_totp() {
    for (engine, s) in common::engines().await {
        s.create_tenant(&tenant("t1", "contoso"), &[key("k1", 1)], 1)
            .await
            .expect("create");
        s.create_user("t1", &user("u1", "Ann@X.example"), 5)
            .await
            .expect("user");
        let e = s
            .create_user("t1", &user("u2", "ann@x.EXAMPLE"), 5)
            .await
            .expect_err("same upn, other case");
        assert!(matches!(e, StoreError::Conflict(_)), "{engine}: {e}");
        s.create_group("t1", "g-b", "Beta").await.expect("group");
        s.create_group("t1", "g-a", "alpha").await.expect("group");
        // Its id sorts first and its name last: the two lists are ordered apart.
        s.create_group("t1", "g-0", "zeta").await.expect("group");
        assert!(s
            .set_group_member("t1", "g-0", "u1", true)
            .await
            .expect("add"));
        assert!(s
            .set_group_member("t1", "g-b", "u1", true)
            .await
            .expect("add"));
        assert!(!s
            .set_group_member("t1", "g-b", "u1", true)
            .await
            .expect("again"));
        assert!(s
            .set_group_member("t1", "g-a", "u1", true)
            .await
            .expect("add"));
        assert!(matches!(
            s.set_group_member("t1", "nope", "u1", true).await,
            Err(StoreError::NotFound(_))
        ));
        let u = s
            .user_by_upn("t1", "ANN@x.example")
            .await
            .expect("read")
            .expect("found");
        assert_eq!(u.id, "u1", "{engine}");
        assert_eq!(u.groups, ["alpha", "Beta", "zeta"], "{engine}: by name key");
        assert_eq!(u.group_ids, ["g-0", "g-a", "g-b"], "{engine}: by id");
        assert!(u.account_enabled && !u.mfa_registered, "{engine}");
        s.set_account_enabled("t1", "ann@x.example", false)
            .await
            .expect("disable");
        assert!(matches!(
            s.set_account_enabled("t1", "who@x", false).await,
            Err(StoreError::NotFound(_))
        ));
        s.set_user_roles("t1", "ann@x.example", &["Global Administrator".into()])
            .await
            .expect("roles");
        let users = s.list_users("t1").await.expect("users");
        assert_eq!(users.len(), 1, "{engine}");
        assert!(!users[0].account_enabled, "{engine}");
        assert_eq!(users[0].roles, ["Global Administrator"], "{engine}");

        assert!(s.user_totp("t1", "u1").await.expect("totp").is_none());
        s.set_user_totp("t1", "u1", Some(&[9, 9]))
            .await
            .expect("set");
        assert_eq!(
            s.user_totp("t1", "u1").await.expect("totp"),
            Some((vec![9, 9], 0)),
            "{engine}"
        );
        assert!(s.use_totp_step("t1", "u1", 10).await.expect("step"));
        assert!(
            !s.use_totp_step("t1", "u1", 10).await.expect("replay"),
            "{engine}"
        );
        assert!(
            !s.use_totp_step("t1", "u1", 9).await.expect("older"),
            "{engine}"
        );
        s.set_password("t1", "u1", "$argon2id$new", 77)
            .await
            .expect("pw");
        let u = s
            .user_by_upn("t1", "ann@x.example")
            .await
            .expect("r")
            .expect("u");
        assert_eq!(
            (
                u.password_hash.as_deref(),
                u.password_changed_at,
                u.mfa_registered
            ),
            (Some("$argon2id$new"), Some(77), true),
            "{engine}"
        );

        s.create_application("t1", &app("web"), 9)
            .await
            .expect("app");
        assert!(matches!(
            s.create_application("t1", &app("web"), 9).await,
            Err(StoreError::Conflict(ref m)) if m == "application 'web'"
        ));
        let r = Resource {
            identifier: "api://a".into(),
            display_name: "A".into(),
            scopes: vec!["read".into()],
            access_token_lifetime_seconds: Some(60),
            group_claims: true,
            introspection_clients: vec!["web".into()],
        };
        s.create_resource("t1", &r).await.expect("resource");
        let d = s.directory("contoso").await.expect("dir").expect("t");
        assert_eq!(d.applications, vec![app("web")], "{engine}");
        assert_eq!(d.resources, vec![r], "{engine}");

        let names = s.directory_names("t1").await.expect("names");
        assert_eq!(
            names.groups,
            [
                ("g-0".to_owned(), "zeta".to_owned()),
                ("g-a".into(), "alpha".into()),
                ("g-b".into(), "Beta".into())
            ],
            "{engine}"
        );
        assert_eq!(names.users, [("u1".to_owned(), "Ann@X.example".to_owned())]);
    }
}

#[tokio::test]
async fn import_is_all_or_nothing_and_access_objects_upsert() {
    for (engine, s) in common::engines().await {
        let ok = TenantImport {
            tenant: tenant("t1", "contoso"),
            new_keys: vec![(key("k1", 1), 1)],
            retire: None,
            groups: vec![GroupImport {
                id: None,
                display_name: "G".into(),
            }],
            roles: vec![Role {
                name: "Global Administrator".into(),
                template_id: Some("62e90394".into()),
            }],
            named_locations: vec![],
            policies: vec![StoredGraphObject {
                id: "p1".into(),
                display_name: "Require MFA".into(),
                json: "{}".into(),
            }],
            users: vec![(user("u1", "a@x"), vec!["G".into()])],
            resources: vec![],
            applications: vec![app("web")],
        };
        // A membership in a group that exists nowhere fails the whole import.
        let mut bad = ok.clone();
        bad.users[0].1 = vec!["Missing".into()];
        assert!(
            matches!(s.import(&[bad], 1).await, Err(StoreError::NotFound(ref m)) if m == "group 'Missing'"),
            "{engine}"
        );
        assert!(
            s.list_tenants().await.expect("list").is_empty(),
            "{engine}: nothing written"
        );
        let first = s
            .import(std::slice::from_ref(&ok), 1)
            .await
            .expect("import");
        assert_eq!(
            (
                first.tenants_created,
                first.users_created,
                first.groups_created,
                first.policies_upserted
            ),
            (1, 1, 1, 1),
            "{engine}"
        );
        let mut again = ok.clone();
        again.new_keys = vec![];
        again.applications[0].secret_sha256 = None; // keep the stored secret
        again.users[0].0.password_hash = None; // keep the stored hash
        let second = s.import(&[again], 2).await.expect("re-import");
        assert_eq!(
            (
                second.tenants_updated,
                second.users_updated,
                second.groups_created
            ),
            (1, 1, 0),
            "{engine}"
        );
        let d = s.directory("contoso").await.expect("dir").expect("t");
        assert_eq!(d.applications[0].secret_sha256, Some([7; 32]), "{engine}");
        assert_eq!(
            d.roles[0].template_id.as_deref(),
            Some("62e90394"),
            "{engine}"
        );
        let u = s.user_by_upn("t1", "a@x").await.expect("r").expect("u");
        assert_eq!(u.password_hash.as_deref(), Some("$argon2id$x"), "{engine}");
        assert_eq!(u.groups, ["G"], "{engine}");

        // Access objects: upsert by id, display names unique, delete reports.
        let p2 = StoredGraphObject {
            id: "p2".into(),
            display_name: "Require MFA".into(),
            json: "{}".into(),
        };
        assert!(
            matches!(s.put_access("t1", &[p2], &[]).await, Err(StoreError::Conflict(ref m)) if m.contains("another policy has it")),
            "{engine}"
        );
        let renamed = StoredGraphObject {
            id: "p1".into(),
            display_name: "Block legacy".into(),
            json: "{\"state\":\"enabled\"}".into(),
        };
        s.put_access("t1", std::slice::from_ref(&renamed), &[])
            .await
            .expect("upsert");
        let d = s.directory("contoso").await.expect("dir").expect("t");
        assert_eq!(d.policies, vec![renamed], "{engine}");
        assert!(s.delete_policy("t1", "p1").await.expect("delete"));
        assert!(
            !s.delete_policy("t1", "p1").await.expect("again"),
            "{engine}"
        );
        assert!(
            !s.delete_named_location("t1", "n1").await.expect("none"),
            "{engine}"
        );
    }
}
