//! The onboarding wizard: sign in as an admin (at Portvakt: password, MFA when a
//! policy asks, consent for the organisation) → "Connect" calls the API → done, with a
//! dashboard of the devices that reported in. Server-rendered, no script; the tokens
//! never leave this process (the browser holds only a random session id).

use crate::failure::{self, Failure};
use crate::l10n::Text;
use crate::oidc::{AuthorizeParams, Client, Identity, TokenError};
use crate::renewal::{self, Held};
use askama::Template;
use axum::extract::{Form, Query, State as AxState};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use reqwest::Method;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const COOKIE: &str = "analytics_sid";
/// Sessions kept at most; past it, ones idle for an hour go, then new sign-ins wait.
const MAX_SESSIONS: usize = 10_000;
const IDLE_SECS: i64 = 3600;

/// A pending interactive sign-in (RFC 6749 §10.12 `state`, OIDC `nonce`, PKCE).
#[derive(Debug, Clone)]
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
}

/// One browser's session, server-side.
#[derive(Debug, Default)]
struct Session {
    csrf: String,
    lang: Option<String>,
    pending: Option<Pending>,
    identity: Option<Identity>,
    held: Option<Held>,
    seen: i64,
}

type Sessions = Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<Session>>>>>;

/// The wizard's state.
#[derive(Clone)]
pub struct State {
    oidc: Arc<Client>,
    base: String,
    portvakt_url: String,
    tenant: String,
    sessions: Sessions,
}

impl State {
    /// A wizard for `oidc`, served at `base` (`http://host:port`).
    pub fn new(oidc: Client, base: String) -> Self {
        let issuer = oidc.config.issuer.trim_end_matches('/').to_owned();
        let (portvakt_url, tenant) = match issuer.rsplit_once('/') {
            Some((u, t)) if u.contains("://") && !u.ends_with('/') => (u.to_owned(), t.to_owned()),
            _ => (issuer.clone(), String::new()),
        };
        Self {
            oidc: Arc::new(oidc),
            base,
            portvakt_url,
            tenant,
            sessions: Arc::default(),
        }
    }

    fn api(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// The wizard's routes.
pub fn router(state: State) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/signin", get(signin))
        .route("/callback", get(callback))
        .route("/connect", post(connect))
        .route("/signout", post(signout))
        .route("/style.css", get(style))
        .with_state(state)
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn hms(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(time::macros::format_description!(
                "[hour]:[minute]:[second] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    portvakt_server::cookies::get(headers, COOKIE)
}

fn find(st: &State, headers: &HeaderMap) -> Option<Arc<tokio::sync::Mutex<Session>>> {
    let id = cookie_value(headers)?;
    let map = st.sessions.lock().unwrap_or_else(|p| p.into_inner());
    map.get(&id).cloned()
}

/// The session of this browser, or a new one (with its Set-Cookie value); `None`
/// when the table is full of live sessions.
fn find_or_create(
    st: &State,
    headers: &HeaderMap,
) -> Option<(Arc<tokio::sync::Mutex<Session>>, Option<String>)> {
    if let Some(s) = find(st, headers) {
        return Some((s, None));
    }
    let mut map = st.sessions.lock().unwrap_or_else(|p| p.into_inner());
    if map.len() >= MAX_SESSIONS {
        let cutoff = now() - IDLE_SECS;
        map.retain(|_, s| s.try_lock().map(|s| s.seen > cutoff).unwrap_or(true));
        if map.len() >= MAX_SESSIONS {
            return None;
        }
    }
    let id = portvakt_jose::random_id(32);
    let s = Arc::new(tokio::sync::Mutex::new(Session {
        csrf: portvakt_jose::random_id(24),
        seen: now(),
        ..Session::default()
    }));
    map.insert(id.clone(), s.clone());
    let secure = if st.base.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    Some((
        s,
        Some(format!(
            "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax{secure}"
        )),
    ))
}

/// Security headers of every page: no script at all, forms only to here, no
/// framing, nothing cached (the pages show who is signed in).
fn harden(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// A device row of the dashboard.
#[derive(Debug)]
struct DeviceRow {
    name: String,
    os: String,
    time: String,
}

#[derive(Template)]
#[template(path = "page.html")]
struct Page {
    t: Text,
    other_lang: &'static str,
    step: u8,
    user: Option<String>,
    csrf: String,
    done: Option<String>,
    devices: Vec<DeviceRow>,
    token: Option<String>,
    renewed: Option<String>,
    refusal: Option<String>,
    failure: Option<failure::View>,
}

impl Page {
    fn new(t: Text) -> Self {
        Self {
            t,
            other_lang: if t.tag() == "sv" { "en" } else { "sv" },
            step: 1,
            user: None,
            csrf: String::new(),
            done: None,
            devices: Vec::new(),
            token: None,
            renewed: None,
            refusal: None,
            failure: None,
        }
    }

    fn render(&self, status: StatusCode, cookie: Option<String>) -> Response {
        let body = self.render_html();
        let mut r = (status, axum::response::Html(body)).into_response();
        if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
            r.headers_mut().insert(header::SET_COOKIE, c);
        }
        r.headers_mut().insert(
            header::CONTENT_LANGUAGE,
            HeaderValue::from_static(if self.t.tag() == "sv" { "sv" } else { "en" }),
        );
        harden(r)
    }

    fn render_html(&self) -> String {
        Template::render(self).unwrap_or_else(|e| {
            tracing::error!(error = %e, "page did not render");
            "internal error".into()
        })
    }
}

fn text(q: &HashMap<String, String>, session_lang: Option<&str>, headers: &HeaderMap) -> Text {
    Text::of(q.get("lang").map(String::as_str).or(session_lang), headers)
}

/// GET `/`: the step the session is at. Signed in, it calls the API (renewing the
/// access token silently when it expired) and shows its answer, or why it failed.
async fn home(
    AxState(st): AxState<State>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some(session) = find(&st, &headers) else {
        let mut p = Page::new(text(&q, None, &headers));
        p.step = 1;
        return p.render(StatusCode::OK, None);
    };
    let mut s = session.lock().await;
    if let Some(l) = q.get("lang").filter(|l| matches!(l.as_str(), "en" | "sv")) {
        s.lang = Some(l.clone());
    }
    s.seen = now();
    let t = text(&q, s.lang.as_deref(), &headers);
    let mut p = Page::new(t);
    p.csrf = s.csrf.clone();
    let Session { identity, held, .. } = &mut *s;
    let (Some(identity), Some(held)) = (identity.as_ref(), held.as_mut()) else {
        return p.render(StatusCode::OK, None);
    };
    p.user = Some(identity.user.clone());
    let status = renewal::call(&st.oidc, held, Method::GET, &st.api("/api/onboarding"), now).await;
    let answer = match status {
        Ok(v) => v,
        Err(f) => return failure_page(&st, p, held, &f),
    };
    if answer["status"] == "onboarded" {
        p.step = 4;
        // The API knows the caller by id (`sub`); the ID token told us the name.
        let by = match answer["onboardedBy"].as_str() {
            Some(id) if id == identity.sub => identity.user.as_str(),
            Some(id) => id,
            None => "?",
        };
        p.done = Some(t.with(
            "done-detail",
            &[
                ("user", by),
                ("time", answer["onboardedDateTime"].as_str().unwrap_or("?")),
            ],
        ));
        match renewal::call(&st.oidc, held, Method::GET, &st.api("/api/devices"), now).await {
            Ok(v) => {
                p.devices = v["value"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|d| DeviceRow {
                                name: d["displayName"].as_str().unwrap_or("").into(),
                                os: d["operatingSystem"].as_str().unwrap_or("").into(),
                                time: d["reportedDateTime"].as_str().unwrap_or("").into(),
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            }
            Err(f) => return failure_page(&st, p, held, &f),
        }
    } else {
        p.step = 3;
    }
    token_lines(&mut p, held);
    p.render(StatusCode::OK, None)
}

fn token_lines(p: &mut Page, held: &Held) {
    let t = p.t;
    p.token = Some(t.with("token-expires", &[("time", &hms(held.tokens.expires_at))]));
    p.refusal = held.last_renewal.as_ref().map(|r| r.refusal.clone());
    p.renewed = held.last_renewal.as_ref().map(|r| {
        t.with(
            "token-renewed",
            &[
                ("expired", &hms(r.expired_at)),
                ("time", &hms(r.at)),
                ("cid", r.correlation_id.as_deref().unwrap_or("?")),
            ],
        )
    });
}

fn failure_page(st: &State, mut p: Page, held: &Held, f: &Failure) -> Response {
    tracing::info!(failure = ?f, "the wizard cannot reach its API");
    p.step = 0;
    p.failure = Some(f.view(p.t, &st.portvakt_url, &st.tenant));
    token_lines(&mut p, held);
    p.render(StatusCode::OK, None)
}

/// GET `/signin[?prompt=login]`: start an interactive sign-in at Portvakt.
async fn signin(
    AxState(st): AxState<State>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some((session, cookie)) = find_or_create(&st, &headers) else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many sign-ins at once; try again later",
        )
            .into_response();
    };
    let mut s = session.lock().await;
    s.seen = now();
    let t = text(&q, s.lang.as_deref(), &headers);
    let pending = Pending {
        state: portvakt_jose::random_id(24),
        nonce: portvakt_jose::random_id(24),
        verifier: portvakt_jose::random_id(48),
    };
    // Only `login` is passed on; anything else starts a normal sign-in.
    let prompt = q
        .get("prompt")
        .filter(|p| *p == "login")
        .map(String::as_str);
    let url = st.oidc.authorize_url(&AuthorizeParams {
        state: &pending.state,
        nonce: &pending.nonce,
        verifier: &pending.verifier,
        prompt,
        lang: t.tag(),
    });
    s.pending = Some(pending);
    let mut r = Redirect::to(&url).into_response();
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    harden(r)
}

/// GET `/callback`: the authorization response (RFC 6749 §4.1.2, RFC 9207 `iss`).
async fn callback(
    AxState(st): AxState<State>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some(session) = find(&st, &headers) else {
        return (
            StatusCode::BAD_REQUEST,
            "no sign-in is pending in this browser; start again at /",
        )
            .into_response();
    };
    let mut s = session.lock().await;
    let t = text(&q, s.lang.as_deref(), &headers);
    let mut p = Page::new(t);
    p.csrf = s.csrf.clone();
    // The state binds the response to this browser's request (RFC 6749 §10.12); a
    // response for another request, or a second use, is refused.
    let Some(pending) = s
        .pending
        .take()
        .filter(|pe| q.get("state").map(String::as_bytes) == Some(pe.state.as_bytes()))
    else {
        return (StatusCode::BAD_REQUEST, "this sign-in response does not belong to a sign-in started in this browser; start again at /").into_response();
    };
    if q.get("iss").is_some_and(|i| *i != st.oidc.config.issuer) {
        return (
            StatusCode::BAD_REQUEST,
            "the sign-in response names another issuer (RFC 9207); start again at /",
        )
            .into_response();
    }
    let result = match (q.get("code"), q.get("error")) {
        (Some(code), None) => {
            st.oidc
                .exchange_code(code, &pending.verifier, &pending.nonce, now())
                .await
        }
        (_, error) => Err(TokenError::from_body(
            400,
            &serde_json::to_value(&q).unwrap_or(Value::Null),
        ))
        .map_err(|mut e| {
            if error.is_none() {
                e.description = "the response carries neither a code nor an error".into();
            }
            e
        }),
    };
    match result {
        Ok((tokens, identity)) => {
            tracing::info!(user = %identity.user, amr = ?identity.amr, "signed in");
            s.identity = Some(identity);
            s.held = Some(Held {
                tokens,
                last_renewal: None,
            });
            harden(Redirect::to("/").into_response())
        }
        Err(e) => {
            p.step = 0;
            p.failure = Some(Failure::SignIn(e).view(t, &st.portvakt_url, &st.tenant));
            p.render(StatusCode::OK, None)
        }
    }
}

/// A form of the wizard: the session's CSRF token.
#[derive(Debug, serde::Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn checked(
    st: &State,
    headers: &HeaderMap,
    form: &CsrfForm,
) -> Result<Arc<tokio::sync::Mutex<Session>>, Response> {
    let refuse = || {
        (
            StatusCode::FORBIDDEN,
            "the form is stale or did not come from this page; reload and try again",
        )
            .into_response()
    };
    let session = find(st, headers).ok_or_else(refuse)?;
    let ok = {
        let s = session.lock().await;
        portvakt_jose::constant_time_eq(s.csrf.as_bytes(), form.csrf.as_bytes())
    };
    if ok {
        Ok(session)
    } else {
        Err(refuse())
    }
}

/// POST `/connect`: onboard the tenant through the API.
async fn connect(
    AxState(st): AxState<State>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let session = match checked(&st, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut s = session.lock().await;
    let t = text(&HashMap::new(), s.lang.as_deref(), &headers);
    let mut p = Page::new(t);
    p.csrf = s.csrf.clone();
    p.user = s.identity.as_ref().map(|i| i.user.clone());
    let Some(held) = s.held.as_mut() else {
        return harden(Redirect::to("/").into_response());
    };
    match renewal::call(
        &st.oidc,
        held,
        Method::POST,
        &st.api("/api/onboarding"),
        now,
    )
    .await
    {
        Ok(_) => harden(Redirect::to("/").into_response()),
        Err(f) => failure_page(&st, p, held, &f),
    }
}

/// POST `/signout`: forget the tokens of this browser.
async fn signout(
    AxState(st): AxState<State>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = checked(&st, &headers, &form).await {
        return r;
    }
    if let Some(id) = cookie_value(&headers) {
        st.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }
    let mut r = Redirect::to("/").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("analytics_sid=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    harden(r)
}

async fn style() -> Response {
    let mut r = (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../templates/style.css"),
    )
        .into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=300"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; analytics_sid=xyz; b=2"),
        );
        assert_eq!(cookie_value(&h).as_deref(), Some("xyz"));
        h.insert(header::COOKIE, HeaderValue::from_static("analytics_sidx=1"));
        assert_eq!(cookie_value(&h), None);
    }
}
