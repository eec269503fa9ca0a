//! Black-box harness: the real `portvakt` binary on an ephemeral port, in a fresh
//! data directory, killed when the handle drops.

#![allow(dead_code)]

pub mod browser;
pub mod signin;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_portvakt");
pub const SECRET: &str = "bench-secret-0123456789abcdef";

/// The documented example import file, plus a few extras the tests need.
pub fn example_import() -> Value {
    serde_json::json!({"tenants": [{
        "name": "contoso", "displayName": "Contoso",
        "signingAlgorithm": "ES256", "accessTokenLifetimeSeconds": 3600,
        "groups": [{"displayName": "Analytics Admins"}],
        "users": [{"userPrincipalName": "admin@contoso.example", "displayName": "Admin",
                   "password": "correct horse battery", "accountEnabled": true, "groups": ["Analytics Admins"]}],
        "resources": [
            {"identifier": "api://analytics", "displayName": "Analytics API",
             "scopes": ["Onboarding.ReadWrite", "Reports.Read"], "accessTokenLifetimeSeconds": 3600, "groupClaims": true,
             "introspectionClients": ["webapp"]},
            {"identifier": "https://reports.example.com", "scopes": ["read"]}
        ],
        "applications": [
            {"clientId": "bench", "displayName": "Bench", "clientSecret": SECRET,
             "grantTypes": ["client_credentials"], "redirectUris": [],
             "allowedScopes": ["api://analytics/.default", "https://reports.example.com/read"], "accessTokenLifetimeSeconds": 3600},
            {"clientId": "narrow", "clientSecret": "narrow-secret-0123456789abcdef", "grantTypes": ["client_credentials"],
             "allowedScopes": ["api://analytics/Reports.Read"]},
            {"clientId": "spa", "displayName": "A public client", "grantTypes": ["authorization_code", "refresh_token"],
             "redirectUris": ["https://spa.example.com/cb", "https://spa.example.com/other"], "allowedScopes": ["api://analytics/Reports.Read"]},
            {"clientId": "webapp", "displayName": "Analytics portal", "clientSecret": "webapp-secret-0123456789abcdef",
             "grantTypes": ["authorization_code", "refresh_token"], "redirectUris": ["https://web.example.com/cb"],
             "allowedScopes": ["api://analytics/.default"], "adminConsented": true},
            {"clientId": "tv", "displayName": "Analytics wallboard", "grantTypes": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
             "allowedScopes": ["api://analytics/Reports.Read"]},
            {"clientId": "nogrant", "clientSecret": "nogrant-secret-0123456789abcdef", "grantTypes": [], "allowedScopes": ["api://analytics/.default"]},
            {"clientId": "short", "clientSecret": "short-secret-0123456789abcdef", "grantTypes": ["client_credentials"],
             "allowedScopes": ["api://analytics/.default"], "accessTokenLifetimeSeconds": 1}
        ]
    }, {
        "name": "fabrikam", "signingAlgorithm": "EdDSA",
        "resources": [{"identifier": "api://analytics", "scopes": ["Onboarding.ReadWrite"]}],
        "applications": [{"clientId": "bench", "clientSecret": SECRET, "grantTypes": ["client_credentials"], "allowedScopes": ["api://analytics/.default"]}]
    }, {
        "name": "northwind", "signingAlgorithm": "RS256",
        "resources": [{"identifier": "api://analytics", "scopes": ["Onboarding.ReadWrite"]}],
        "applications": [{"clientId": "bench", "clientSecret": SECRET, "grantTypes": ["client_credentials"], "allowedScopes": ["api://analytics/.default"]}]
    }]})
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let mut b = [0u8; 6];
    portvakt_jose::random_bytes(&mut b);
    let d = std::env::temp_dir().join(format!(
        "portvakt-test-{tag}-{}",
        portvakt_jose::b64url_encode(&b).replace('-', "x")
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// The PostgreSQL database of the server in `dir`, when `PORTVAKT_TEST_DATABASE`
/// chooses PostgreSQL: made on first start, the same one on a restart in `dir`.
pub fn database_url(dir: &Path) -> Option<String> {
    let server = portvakt_store::testing::postgres_server()?;
    let file = dir.join("database-url");
    if let Ok(url) = std::fs::read_to_string(&file) {
        return Some(url);
    }
    let url = portvakt_store::testing::fresh_postgres_blocking(&server);
    std::fs::create_dir_all(dir).expect("test dir");
    std::fs::write(&file, &url).expect("write database-url");
    Some(url)
}

/// Whether the suite runs on PostgreSQL (`PORTVAKT_TEST_DATABASE`).
pub fn on_postgres() -> bool {
    portvakt_store::testing::postgres_server().is_some()
}

pub struct Server {
    pub stderr: std::sync::Arc<std::sync::Mutex<String>>,
    pub child: Option<Child>,
    pub url: String,
    pub dir: PathBuf,
    pub http: reqwest::Client,
    pub stdout: Vec<String>,
}

impl Server {
    /// Start with the example import.
    pub fn start() -> Self {
        Self::start_with(&[]).expect("server starts")
    }

    /// Start with the example import and extra flags; Err(stderr) if it exits
    /// before it is ready.
    pub fn start_with(extra: &[&str]) -> Result<Self, String> {
        let dir = temp_dir("srv");
        let f = dir.join("import.json");
        std::fs::write(&f, serde_json::to_vec(&example_import()).expect("json"))
            .expect("write import");
        let mut args = vec!["--import", f.to_str().expect("utf8")];
        args.extend_from_slice(extra);
        Self::start_in(&dir, &args)
    }

    /// Start in `dir` with extra flags; Err(stderr) if it exits before it is ready.
    pub fn start_in(dir: &Path, extra: &[&str]) -> Result<Self, String> {
        Self::start_logged(dir, extra, "warn")
    }

    /// Start with the example import at log level `log` (a tracing filter).
    pub fn start_with_log(log: &str) -> Self {
        let dir = temp_dir("srv");
        let f = dir.join("import.json");
        std::fs::write(&f, serde_json::to_vec(&example_import()).expect("json"))
            .expect("write import");
        Self::start_logged(&dir, &["--import", f.to_str().expect("utf8")], log)
            .expect("server starts")
    }

    /// Start in `dir` with extra flags at log level `log`.
    pub fn start_logged(dir: &Path, extra: &[&str], log: &str) -> Result<Self, String> {
        let mut cmd = Command::new(BIN);
        match database_url(dir) {
            Some(url) => cmd.env("PORTVAKT_DATABASE_URL", url),
            None => cmd.env_remove("PORTVAKT_DATABASE_URL"),
        };
        let mut child = cmd
            .arg("serve")
            .arg("--data")
            .arg(dir.join("data"))
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("PORTVAKT_LOG", log)
            .env_remove("PORTVAKT_MASTER_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn portvakt");
        let stdout = child.stdout.take().expect("stdout");
        let stderr_pipe = child.stderr.take().expect("stderr");
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        });
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        let mut url = None;
        for line in lines.by_ref() {
            let line = line.expect("read stdout");
            if let Some(u) = line.strip_prefix("Portvakt listening on ") {
                url = Some(u.trim().to_string());
            }
            let done = line.contains("ready in");
            seen.push(line);
            if done {
                break;
            }
        }
        let Some(url) = url else {
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(200));
            let err = stderr.lock().map(|s| s.clone()).unwrap_or_default();
            return Err(format!("{}{err}", seen.join("\n")));
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let http = portvakt_guard::http::builder()
            .expect("TLS")
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Ok(Self {
            stderr,
            child: Some(child),
            url,
            dir: dir.to_path_buf(),
            http,
            stdout: seen,
        })
    }

    /// Run one SQL statement behind the server's back, on whichever engine it uses
    /// (its SQLite file, or its PostgreSQL database); the rows it changed.
    pub async fn sql(&self, statement: &str) -> u64 {
        match std::fs::read_to_string(self.dir.join("database-url")) {
            Ok(url) => {
                let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .expect("connect to the test's database");
                tokio::spawn(conn);
                c.execute(statement, &[]).await.expect(statement)
            }
            Err(_) => {
                let db =
                    rusqlite::Connection::open(self.data().join("portvakt.db")).expect("open db");
                db.busy_timeout(Duration::from_secs(5))
                    .expect("busy timeout");
                db.execute(statement, []).expect(statement) as u64
            }
        }
    }

    /// The rows of one SQL query's first column (text or bytes), behind the
    /// server's back, on whichever engine it uses.
    pub async fn sql_bytes(&self, query: &str) -> Vec<Vec<u8>> {
        match std::fs::read_to_string(self.dir.join("database-url")) {
            Ok(url) => {
                let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .expect("connect to the test's database");
                tokio::spawn(conn);
                c.query(query, &[])
                    .await
                    .expect(query)
                    .iter()
                    .map(|r| {
                        r.try_get::<_, Vec<u8>>(0)
                            .or_else(|_| r.try_get::<_, String>(0).map(String::into_bytes))
                            .expect("a text or bytes column")
                    })
                    .collect()
            }
            Err(_) => {
                let db =
                    rusqlite::Connection::open(self.data().join("portvakt.db")).expect("open db");
                let mut st = db.prepare(query).expect(query);
                let rows = st
                    .query_map([], |r| {
                        Ok(match r.get_ref(0)? {
                            rusqlite::types::ValueRef::Blob(b) => b.to_vec(),
                            rusqlite::types::ValueRef::Text(t) => t.to_vec(),
                            other => format!("{other:?}").into_bytes(),
                        })
                    })
                    .expect(query);
                rows.map(|r| r.expect("row")).collect()
            }
        }
    }

    /// What the server's database takes up: the SQLite file, or the PostgreSQL
    /// database's size.
    pub async fn stored_size(&self) -> u64 {
        if self.dir.join("database-url").exists() {
            let v = self
                .sql_bytes("SELECT pg_database_size(current_database())::text")
                .await;
            String::from_utf8_lossy(&v[0]).parse().expect("a size")
        } else {
            std::fs::metadata(self.data().join("portvakt.db"))
                .expect("db")
                .len()
        }
    }

    pub fn issuer(&self, tenant: &str) -> String {
        format!("{}/{tenant}", self.url)
    }

    pub fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// POST a form to a tenant's token endpoint, with optional Basic credentials.
    pub async fn token_raw(
        &self,
        tenant: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}/oauth2/token", self.issuer(tenant)))
            .form(form);
        if let Some((id, s)) = basic {
            req = req.basic_auth(id, Some(s));
        }
        req.send().await.expect("send")
    }

    /// A client-credentials token for `bench` (Basic), as JSON.
    pub async fn token(&self, tenant: &str, scope: &str) -> Value {
        let res = self
            .token_raw(
                tenant,
                Some(("bench", SECRET)),
                &[("grant_type", "client_credentials"), ("scope", scope)],
            )
            .await;
        assert_eq!(res.status(), 200, "token request failed");
        res.json().await.expect("json")
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let res = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("send");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Run the CLI against this server; returns (exit code, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (i32, String, String) {
        self.cli_stdin(args, "")
    }

    pub fn cli_stdin(&self, args: &[&str], input: &str) -> (i32, String, String) {
        use std::io::Write;
        let mut child = Command::new(BIN)
            .args(args)
            .arg("--data")
            .arg(self.data())
            .env_remove("PORTVAKT_URL")
            .env_remove("PORTVAKT_CLIENT_ID")
            .env_remove("PORTVAKT_CLIENT_SECRET")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn cli");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        let out = child.wait_with_output().expect("cli");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }

    /// An admin API token, fetched the way the CLI does.
    pub async fn admin_token(&self) -> String {
        let cred: Value = serde_json::from_str(
            &std::fs::read_to_string(self.data().join("admin.json")).expect("admin.json"),
        )
        .expect("json");
        let res = self
            .token_raw(
                "system",
                Some((
                    cred["clientId"].as_str().expect("id"),
                    cred["clientSecret"].as_str().expect("secret"),
                )),
                &[
                    ("grant_type", "client_credentials"),
                    ("scope", "urn:portvakt:admin/admin"),
                ],
            )
            .await;
        assert_eq!(res.status(), 200);
        let v: Value = res.json().await.expect("json");
        v["access_token"].as_str().expect("token").to_string()
    }

    /// Kill the process with SIGKILL (a crash), keeping the data directory.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stop with SIGTERM and return the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        child.wait().expect("wait")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Split a JWT and decode its header and claims (no verification).
pub fn decode(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "three segments");
    let h = portvakt_jose::b64url_decode(parts[0]).expect("b64");
    let c = portvakt_jose::b64url_decode(parts[1]).expect("b64");
    (
        serde_json::from_slice(&h).expect("header"),
        serde_json::from_slice(&c).expect("claims"),
    )
}

/// Verify a token with an independent JOSE library (jsonwebtoken) against the
/// issuer's published JWKS.
pub async fn verify_independently(
    srv: &Server,
    tenant: &str,
    token: &str,
    audience: &str,
) -> Result<Value, String> {
    verify_as(srv, &srv.issuer(tenant), tenant, token, audience).await
}

/// Like [`verify_independently`], with the JWKS of `srv` and the expected issuer
/// `issuer` (a server restored from a backup serves the original's issuer).
pub async fn verify_as(
    srv: &Server,
    issuer: &str,
    tenant: &str,
    token: &str,
    audience: &str,
) -> Result<Value, String> {
    let jwks: jsonwebtoken::jwk::JwkSet = srv
        .http
        .get(format!("{}/oauth2/keys", srv.issuer(tenant)))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("jwks json");
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk = jwks
        .find(&kid)
        .ok_or_else(|| format!("kid {kid} not in JWKS"))?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.leeway = 0;
    v.set_audience(&[audience]);
    v.set_issuer(&[issuer]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub", "iat"]);
    v.validate_nbf = true;
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}
