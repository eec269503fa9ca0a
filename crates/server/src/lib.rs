//! # portvakt-server
//!
//! The HTTP edge: OAuth 2.0 / OpenID Connect endpoints per tenant, the admin API and
//! the error pages. [`app`] builds the whole router from an [`AppState`], so tests
//! can drive it in-process and the binary can serve it.
//!
//! API boundary: only this crate knows the wire format (forms, JSON shapes, headers).
//! Domain rules live in `portvakt-core`; handlers stay thin: parse, call the domain
//! with the time, render.

// Modules live in folders by area (ARCHITECTURE.md has the map). The crate root
// re-exports each by its short name, so code says `crate::form` and callers
// `portvakt_server::import` whichever folder the module lives in.
pub mod access;
pub mod admin;
pub mod browser;
pub mod grants;
pub mod http;
pub mod logs;
pub mod portal;
pub mod state;
pub mod tenant;

pub use browser::{authorize, device, logout, mfa, password, signin_pages, signin_steps, throttle};
pub use grants::{client_auth, token, token_endpoints, user_grants, user_tokens};
pub use http::{
    client_addr, cookies, correlation, error, errors_page, form, health, l10n, metrics, pages,
    rate_limit,
};
pub use logs::{audit, signin_events as signin};
pub use tenant::{bootstrap, directory, discovery, import, keys, maintenance, verified_tokens};

pub use error::ApiError;
pub use state::{AppState, ServerConfig};

use axum::routing::{get, post};
use axum::Router;
use portvakt_core::ErrorCode;

/// The whole application.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health::live))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/errors/", get(errors_page::index))
        .route("/errors/{code}", get(errors_page::error_page))
        .route(
            "/.well-known/oauth-authorization-server/{tenant}",
            get(discovery::oauth_metadata_handler),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(discovery::openid_configuration_handler),
        )
        .route("/{tenant}/oauth2/keys", get(discovery::jwks_handler))
        .route("/{tenant}/oauth2/token", post(token::token_handler))
        .route(
            "/{tenant}/oauth2/authorize",
            get(authorize::authorize_handler).post(authorize::authorize_handler),
        )
        .route(
            "/{tenant}/login",
            get(signin_pages::login_get).post(signin_pages::login_post),
        )
        .route("/{tenant}/login/mfa", post(signin_steps::mfa_post))
        .route(
            "/{tenant}/login/password",
            post(signin_steps::password_post),
        )
        .route("/{tenant}/consent", post(signin_pages::consent_post))
        .route(
            "/{tenant}/oauth2/devicecode",
            post(device::device_authorization),
        )
        .route(
            "/{tenant}/device",
            get(device::device_page).post(device::device_page),
        )
        .route(
            "/{tenant}/oauth2/userinfo",
            get(token_endpoints::userinfo).post(token_endpoints::userinfo),
        )
        .route(
            "/{tenant}/oauth2/introspect",
            post(token_endpoints::introspect),
        )
        .route("/{tenant}/oauth2/revoke", post(token_endpoints::revoke))
        .route(
            "/{tenant}/oauth2/logout",
            get(logout::end_session).post(logout::end_session),
        )
        .merge(admin::router())
        .merge(portal::routes())
        // After routing, so the route's pattern (MatchedPath) labels the metrics.
        .route_layer(axum::middleware::from_fn(metrics::track))
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no endpoint at this path") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                ErrorCode::MethodNotAllowed,
                "this endpoint does not accept that HTTP method",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            correlation::correlate,
        ))
        .layer(
            tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                axum::http::header::STRICT_TRANSPORT_SECURITY,
                hsts(&state.config.public_url),
            ),
        )
        .with_state(state)
}

/// `Strict-Transport-Security` (RFC 6797) when the public URL is https: a year, so a
/// browser that once reached Portvakt over TLS never tries plain HTTP. Nothing over
/// plain HTTP (a browser ignores it there, and a proxy in front decides).
fn hsts(public_url: &str) -> Option<axum::http::HeaderValue> {
    public_url
        .starts_with("https://")
        .then(|| axum::http::HeaderValue::from_static("max-age=31536000"))
}
