//! The ceiling for issue #5: an HTTP endpoint that does only what a token response
//! cannot avoid, on the same stack as Portvakt (axum/hyper on a multi-thread tokio
//! runtime, ES256 through `portvakt-jose` on aws-lc-rs):
//!
//! 1. parse the `application/x-www-form-urlencoded` body,
//! 2. check an HTTP Basic client secret (SHA-256, constant-time compare),
//! 3. sign one ES256 JWT with the same claim set as Portvakt's access tokens,
//! 4. answer JSON.
//!
//! No tenants, no store, no correlation ids, no sign-in events, no error catalogue.
//! Usage: `portvakt-bench-ceiling 127.0.0.1:PORT` (prints `listening on ...`).
//! Routes: `GET /health`, `POST /{tenant}/oauth2/token`.
//!
//! Also `--sign-only SECONDS` (ES256 signing alone) and `--argon2 SECONDS THREADS`
//! (Argon2id password verification alone, Portvakt's parameters), without HTTP.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use portvakt_jose::{Algorithm, SigningKey};
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

const CLIENT_ID: &str = "bench";
const CLIENT_SECRET: &str = "bench-secret-0123456789abcdef";
const SCOPE: &str = "api://analytics/.default";
const AUDIENCE: &str = "api://analytics";
const LIFETIME: i64 = 3600;
/// Stands in for Portvakt's tenant id (a UUID) in the `tid` claim.
const TENANT_ID: &str = "00000000-0000-0000-0000-000000000000";

struct Ceiling {
    key: SigningKey,
    secret_sha256: [u8; 32],
    issuer: String,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    nbf: i64,
    jti: String,
    client_id: &'a str,
    scope: &'a str,
    tid: &'a str,
}

#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    scope: &'a str,
}

fn refuse(status: StatusCode, error: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        format!(r#"{{"error":"{error}"}}"#),
    )
        .into_response()
}

/// The client id and secret from `Authorization: Basic`, if well-formed.
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = String::from_utf8(STANDARD.decode(rest.trim()).ok()?).ok()?;
    let (id, secret) = raw.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// The value of `name` in a form body (bench clients send unencoded ASCII values
/// except `%3A` and `%2F`, which are decoded).
fn form_value(body: &str, name: &str) -> Option<String> {
    body.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.replace("%3A", ":").replace("%2F", "/"))
    })
}

async fn token(
    State(c): State<Arc<Ceiling>>,
    Path(_tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(body) = std::str::from_utf8(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "invalid_request");
    };
    if form_value(body, "grant_type").as_deref() != Some("client_credentials") {
        return refuse(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let Some((id, secret)) = basic(&headers) else {
        return refuse(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    let digest = portvakt_jose::sha256(secret.as_bytes());
    if id != CLIENT_ID || !portvakt_jose::constant_time_eq(&digest, &c.secret_sha256) {
        return refuse(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let scope = form_value(body, "scope").unwrap_or_default();
    if scope != SCOPE {
        return refuse(StatusCode::BAD_REQUEST, "invalid_scope");
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let claims = Claims {
        iss: &c.issuer,
        sub: CLIENT_ID,
        aud: AUDIENCE,
        exp: now + LIFETIME,
        iat: now,
        nbf: now,
        jti: portvakt_jose::random_id(16),
        client_id: CLIENT_ID,
        scope: SCOPE,
        tid: TENANT_ID,
    };
    let Ok(json) = serde_json::to_vec(&claims) else {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    };
    let Ok(access_token) = portvakt_jose::sign_compact(&c.key, "at+jwt", &json) else {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    };
    let mut res = axum::Json(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: LIFETIME,
        scope: SCOPE,
    })
    .into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `--sign-only SECONDS`: ES256 signatures of a token-sized JWT per second on one
/// thread, without HTTP (the crypto limit of issue #5).
fn sign_only(seconds: f64) -> std::process::ExitCode {
    let key = match SigningKey::generate(Algorithm::ES256, "ceiling-1".into()) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("cannot generate key: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let claims = Claims {
        iss: "http://127.0.0.1:8400/bench",
        sub: CLIENT_ID,
        aud: AUDIENCE,
        exp: 1_800_003_600,
        iat: 1_800_000_000,
        nbf: 1_800_000_000,
        jti: portvakt_jose::random_id(16),
        client_id: CLIENT_ID,
        scope: SCOPE,
        tid: TENANT_ID,
    };
    let Ok(json) = serde_json::to_vec(&claims) else {
        return std::process::ExitCode::FAILURE;
    };
    let start = std::time::Instant::now();
    let mut n: u64 = 0;
    while start.elapsed().as_secs_f64() < seconds {
        for _ in 0..100 {
            if portvakt_jose::sign_compact(&key, "at+jwt", &json).is_err() {
                return std::process::ExitCode::FAILURE;
            }
        }
        n += 100;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    println!("SIGNONLY {{\"signatures_per_s\":{rate:.0}}}");
    std::process::ExitCode::SUCCESS
}

/// `--argon2 SECONDS THREADS`: Argon2id verifications per second (m = 19 MiB, t = 2,
/// p = 1, the `argon2` crate, as in Portvakt's `password::verify`) on THREADS threads
/// each verifying in a loop: the raw rate a password sign-in cannot beat.
fn argon2_rate(seconds: f64, threads: usize) -> std::process::ExitCode {
    use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
    use argon2::{Algorithm as A2, Argon2, Params, Version};
    fn argon() -> Option<Argon2<'static>> {
        let params = Params::new(19 * 1024, 2, 1, None).ok()?;
        Some(Argon2::new(A2::Argon2id, Version::V0x13, params))
    }
    let Some(a) = argon() else {
        return std::process::ExitCode::FAILURE;
    };
    let mut salt = [0u8; 16];
    portvakt_jose::random_bytes(&mut salt);
    let Ok(salt) = SaltString::encode_b64(&salt) else {
        return std::process::ExitCode::FAILURE;
    };
    let Ok(phc) = a
        .hash_password(b"bench-password-1", &salt)
        .map(|h| h.to_string())
    else {
        return std::process::ExitCode::FAILURE;
    };
    let start = std::time::Instant::now();
    let counts: Vec<Option<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                let phc = phc.as_str();
                s.spawn(move || {
                    let a = argon()?;
                    let mut n = 0u64;
                    while start.elapsed().as_secs_f64() < seconds {
                        // Parsed each time, as the server does.
                        let h = PasswordHash::new(phc).ok()?;
                        a.verify_password(b"bench-password-1", &h).ok()?;
                        n += 1;
                    }
                    Some(n)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut total = 0u64;
    for c in counts {
        match c {
            Some(n) => total += n,
            None => return std::process::ExitCode::FAILURE,
        }
    }
    println!(
        "ARGON2 {{\"threads\":{threads},\"verifications_per_s\":{:.2}}}",
        total as f64 / elapsed
    );
    std::process::ExitCode::SUCCESS
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--argon2") {
        let secs = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3.0);
        let threads = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
        return argon2_rate(secs, threads);
    }
    if args.get(1).map(String::as_str) == Some("--sign-only") {
        let secs = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3.0);
        return sign_only(secs);
    }
    let addr: SocketAddr = match args.get(1).map(String::as_str).unwrap_or_default().parse() {
        Ok(a) => a,
        Err(_) => {
            eprintln!("usage: portvakt-bench-ceiling 127.0.0.1:PORT");
            return std::process::ExitCode::from(2);
        }
    };
    let key = match SigningKey::generate(Algorithm::ES256, "ceiling-1".into()) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("cannot generate key: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let state = Arc::new(Ceiling {
        key,
        secret_sha256: portvakt_jose::sha256(CLIENT_SECRET.as_bytes()),
        issuer: format!("http://{addr}/bench"),
    });
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/{tenant}/oauth2/token", post(token))
        .with_state(state);
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
    let served: std::io::Result<()> = rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("listening on http://{}", listener.local_addr()?);
        axum::serve(listener, app).await
    });
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
