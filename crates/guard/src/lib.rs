//! # portvakt-guard
//!
//! Access-token validation for resource servers (APIs) that accept Portvakt tokens,
//! usable by any axum/tower service without the rest of Portvakt.
//!
//! ```no_run
//! # async fn demo() -> Result<(), portvakt_guard::GuardError> {
//! use portvakt_guard::{Guard, GuardConfig, GuardLayer, VerifiedClaims};
//! let guard = Guard::connect(
//!     GuardConfig::issuer("http://localhost:8080/acme").audience("api://analytics").scope("read"),
//! )
//! .await?;
//! let app: axum::Router = axum::Router::new()
//!     .route("/me", axum::routing::get(|c: VerifiedClaims| async move { c.claims().sub.clone() }))
//!     .layer(GuardLayer::new(guard));
//! # let _ = app; Ok(()) }
//! ```
//!
//! What it does, and the rule that decides each point:
//!
//! * The algorithm comes from the issuer's key, never from the token
//!   (RFC 8725 §3.1): `none`, HMAC, an `alg` other than the key's, an unknown `kid`,
//!   and `jku`/`x5u`/`jwk`/`x5c`/`crit` headers are refused (RFC 8725 §3.10).
//!   Duplicate JSON members are refused everywhere (RFC 7515 §5.2, RFC 7519 §4).
//! * `typ` must be `at+jwt`; `iss`, `aud`, `exp`, `nbf`, `iat` are checked with a
//!   leeway (default 60 s) against an injectable clock (RFC 9068 §4).
//! * Tokens larger than a limit are refused before parsing.
//! * Keys: discovery → JWKS, refreshed in the background honouring `Cache-Control`,
//!   refetched (rate-limited) on an unknown `kid`, last good keys kept while the
//!   issuer is unreachable (metric + log line). See [`jwks_cache`].
//! * Typestate: [`UnverifiedToken`] vs [`VerifiedToken`]; only the validator makes
//!   the second.
//! * A bounded cache of validated tokens keyed by SHA-256, never past `exp`.
//! * [`GuardLayer`] / [`VerifiedClaims`] answer per RFC 6750 §3; every failure has a
//!   stable PV2xxx code ([`GuardError::code`]), a message with the facts, and hints.
//!
//! HTTP transport: reqwest over rustls (aws-lc-rs), trusting the system's root
//! certificates ([`http::client`]); plain `http://` works too, for loopback and tests.

pub mod config;
pub mod error;
pub mod hints;
pub mod http;
pub mod jwks_cache;
pub mod layer;
mod metrics;
pub mod report;
mod strict_json;
pub mod timefmt;
pub mod token;
mod token_cache;
pub mod validator;

pub use config::{GuardConfig, JtiDenyList, KeySource, Requirements, RevocationCheck};
pub use error::{ErrorKind, GuardError, Hint, TokenPart};
pub use hints::ClockOffset;
pub use jwks_cache::KeySet;
pub use layer::{
    bearer_token, BearerToken, GuardLayer, GuardRejection, GuardService, VerifiedClaims,
};
pub use metrics::MetricsSnapshot;
pub use report::{decode_report, token_from_arg, validate_report, validate_report_with, Report};
pub use token::{Claims, Header, UnverifiedToken, VerifiedToken};
pub use validator::{authorize, Guard, Validator};
