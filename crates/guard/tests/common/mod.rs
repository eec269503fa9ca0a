//! A tiny fake Portvakt issuer on 127.0.0.1:0: discovery + JWKS, keys from
//! portvakt-jose, able to rotate keys, skew its clock, and go down.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use portvakt_core::clock::ManualClock;
use portvakt_jose::{b64url_encode, sign_compact, Algorithm, Jwks, SigningKey};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const TENANT: &str = "acme";
pub const AUDIENCE: &str = "api://analytics";

pub fn real_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub struct IssuerState {
    pub issuer: String,
    /// Published keys, newest last.
    pub published: RwLock<Vec<Arc<SigningKey>>>,
    /// The key new tokens are signed with.
    pub signing: RwLock<Arc<SigningKey>>,
    pub jwks_hits: AtomicU64,
    pub discovery_hits: AtomicU64,
    pub cache_control: RwLock<Option<String>>,
    /// Seconds added to the `Date` header (the issuer's clock ahead of ours).
    pub date_offset: AtomicI64,
    /// Override of the discovery document's `issuer`.
    pub discovery_issuer: RwLock<Option<String>>,
    next_kid: AtomicU64,
}

pub struct FakeIssuer {
    pub addr: SocketAddr,
    pub issuer: String,
    pub state: Arc<IssuerState>,
    server: Mutex<Option<(oneshot::Sender<()>, JoinHandle<()>)>>,
}

async fn discovery(State(s): State<Arc<IssuerState>>) -> impl IntoResponse {
    s.discovery_hits.fetch_add(1, Ordering::SeqCst);
    let iss = s
        .discovery_issuer
        .read()
        .unwrap()
        .clone()
        .unwrap_or_else(|| s.issuer.clone());
    axum::Json(json!({
        "issuer": iss,
        "jwks_uri": format!("{}/oauth2/keys", s.issuer),
        "token_endpoint": format!("{}/oauth2/token", s.issuer),
    }))
}

async fn jwks(State(s): State<Arc<IssuerState>>) -> impl IntoResponse {
    s.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let keys = Jwks {
        keys: s
            .published
            .read()
            .unwrap()
            .iter()
            .map(|k| k.public_jwk())
            .collect(),
    };
    let mut h = HeaderMap::new();
    if let Some(cc) = s.cache_control.read().unwrap().clone() {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_str(&cc).unwrap());
    }
    let off = s.date_offset.load(Ordering::SeqCst);
    let date = SystemTime::now() + std::time::Duration::from_secs(off.max(0) as u64)
        - std::time::Duration::from_secs((-off).max(0) as u64);
    h.insert(
        header::DATE,
        HeaderValue::from_str(&httpdate::fmt_http_date(date)).unwrap(),
    );
    (StatusCode::OK, h, axum::Json(keys))
}

fn app(state: Arc<IssuerState>) -> Router {
    Router::new()
        .route(
            &format!("/{TENANT}/.well-known/openid-configuration"),
            get(discovery),
        )
        .route(&format!("/{TENANT}/oauth2/keys"), get(jwks))
        .with_state(state)
}

impl FakeIssuer {
    pub async fn start() -> FakeIssuer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let issuer = format!("http://{addr}/{TENANT}");
        let key = Arc::new(SigningKey::generate(Algorithm::ES256, "key-1".into()).unwrap());
        let state = Arc::new(IssuerState {
            issuer: issuer.clone(),
            published: RwLock::new(vec![key.clone()]),
            signing: RwLock::new(key),
            jwks_hits: AtomicU64::new(0),
            discovery_hits: AtomicU64::new(0),
            cache_control: RwLock::new(None),
            date_offset: AtomicI64::new(0),
            discovery_issuer: RwLock::new(None),
            next_kid: AtomicU64::new(2),
        });
        let me = FakeIssuer {
            addr,
            issuer,
            state,
            server: Mutex::new(None),
        };
        me.serve(listener);
        me
    }

    fn serve(&self, listener: TcpListener) {
        let (tx, rx) = oneshot::channel::<()>();
        let app = app(self.state.clone());
        let handle = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        *self.server.lock().unwrap() = Some((tx, handle));
    }

    /// The issuer goes down: connections are refused from now on.
    pub async fn stop(&self) {
        let s = self.server.lock().unwrap().take();
        if let Some((tx, handle)) = s {
            let _ = tx.send(());
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), handle).await;
        }
    }

    /// The issuer comes back on the same address.
    pub async fn restart(&self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    /// Publish a new key and sign with it from now on (no pre-publication: the
    /// harshest rotation). Keeps at most `keep` keys published.
    pub fn rotate(&self, keep: usize) -> String {
        let n = self.state.next_kid.fetch_add(1, Ordering::SeqCst);
        let kid = format!("key-{n}");
        let key = Arc::new(SigningKey::generate(Algorithm::ES256, kid.clone()).unwrap());
        {
            let mut p = self.state.published.write().unwrap();
            p.push(key.clone());
            while p.len() > keep {
                p.remove(0);
            }
        }
        *self.state.signing.write().unwrap() = key;
        kid
    }

    pub fn signing_key(&self) -> Arc<SigningKey> {
        self.state.signing.read().unwrap().clone()
    }

    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self
                .state
                .published
                .read()
                .unwrap()
                .iter()
                .map(|k| k.public_jwk())
                .collect(),
        }
    }

    pub fn jwks_hits(&self) -> u64 {
        self.state.jwks_hits.load(Ordering::SeqCst)
    }

    /// Standard claims of a Portvakt access token issued at `now`.
    pub fn claims(&self, now: i64) -> Value {
        json!({
            "iss": self.issuer, "sub": "user-42", "aud": AUDIENCE,
            "exp": now + 300, "iat": now, "nbf": now,
            "jti": portvakt_jose::random_id(12), "client_id": "analytics-web",
            "scope": "read write", "tid": TENANT,
        })
    }

    /// A real access token, with claims changed by `edit`.
    pub fn mint_with(&self, now: i64, edit: impl FnOnce(&mut Value)) -> String {
        let mut c = self.claims(now);
        edit(&mut c);
        sign_compact(&self.signing_key(), "at+jwt", c.to_string().as_bytes()).unwrap()
    }

    pub fn mint(&self, now: i64) -> String {
        self.mint_with(now, |_| {})
    }
}

/// A compact JWS with an arbitrary header, signed by `key` over exactly these bytes.
pub fn sign_raw(key: &SigningKey, header: &str, payload: &str) -> String {
    let input = format!(
        "{}.{}",
        b64url_encode(header.as_bytes()),
        b64url_encode(payload.as_bytes())
    );
    let sig = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64url_encode(&sig))
}

/// A ManualClock at real time (so the fake issuer's Date header agrees with it).
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(real_now()))
}

/// The configuration used by most tests.
pub fn config(iss: &FakeIssuer, clock: Arc<ManualClock>) -> portvakt_guard::GuardConfig {
    portvakt_guard::GuardConfig::issuer(iss.issuer.clone())
        .audience(AUDIENCE)
        .clock(clock)
        .min_refetch_interval(std::time::Duration::from_millis(200))
        .http_timeout(std::time::Duration::from_secs(2))
}
