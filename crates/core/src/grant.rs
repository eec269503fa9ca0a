//! The one place where a grant is decided: "allowed or not, and why".
//!
//! Every grant handler calls [`decide_client_credentials`] (and, as they land, the
//! user-flow equivalents) after client authentication. Conditional Access evaluation
//! will be added here, so no grant can skip it.

use crate::model::{Application, Resource};
use crate::scope::{resolve, ResolvedScope};
use crate::{Error, ErrorCode};

/// The grant type string of RFC 6749 §4.4.
pub const CLIENT_CREDENTIALS: &str = "client_credentials";

/// Decide a client-credentials request of an authenticated application.
pub fn decide_client_credentials<'r>(
    app: &Application,
    scope: Option<&str>,
    resource_params: &[&str],
    lookup: impl Fn(&str) -> Option<&'r Resource>,
) -> Result<ResolvedScope, Error> {
    if !app.confidential {
        return Err(Error::new(
            ErrorCode::PublicClientNotAllowed,
            format!("application '{}' is a public client (it has no secret) and cannot use client_credentials", app.client_id),
        ));
    }
    if !app.grant_types.iter().any(|g| g == CLIENT_CREDENTIALS) {
        return Err(Error::new(
            ErrorCode::GrantTypeNotAllowed,
            format!(
                "application '{}' may not use client_credentials (its grant types: {})",
                app.client_id,
                if app.grant_types.is_empty() {
                    "none".into()
                } else {
                    app.grant_types.join(", ")
                }
            ),
        ));
    }
    resolve(scope, resource_params, app, lookup)
}
