//! What the wizard shows when it cannot reach its API: never only "There was an error
//! validating access token", but the Portvakt error code, the reason in plain words
//! (which policy and control, or which revocation), the correlation id, links to the
//! sign-in record in the portal and to the troubleshooting page, and the action that
//! fixes it — in the browser's language.

use crate::l10n::Text;
use crate::oidc::TokenError;
use serde_json::Value;

/// The API's refusal (the guard's RFC 6750 answer and its JSON body).
#[derive(Debug, Clone, Default)]
pub struct ApiRefusal {
    /// HTTP status.
    pub status: u16,
    /// `error_code` (PV2xxx).
    pub code: Option<String>,
    /// `error_description`.
    pub description: String,
    /// `correlation_id`.
    pub correlation_id: Option<String>,
    /// `error_uri`.
    pub error_uri: Option<String>,
}

impl ApiRefusal {
    /// From the guard's JSON body.
    pub fn from_body(status: u16, v: &Value) -> Self {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        Self {
            status,
            code: s("error_code"),
            description: s("error_description").unwrap_or_else(|| format!("HTTP {status}")),
            correlation_id: s("correlation_id"),
            error_uri: s("error_uri"),
        }
    }
}

/// Why the wizard could not go on.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The access token was refused (expired) and Portvakt refused to renew it.
    Renewal {
        /// Portvakt's answer to the refresh.
        error: TokenError,
        /// The API's refusal that started the renewal.
        refused: ApiRefusal,
    },
    /// The API refused the token for a reason a renewal does not fix (or again after it).
    Api(ApiRefusal),
    /// The interactive sign-in failed (the authorization response or the code redemption).
    SignIn(TokenError),
}

/// What the failure panel shows.
#[derive(Debug, Clone)]
pub struct View {
    /// The Portvakt error code.
    pub code: String,
    /// In plain words.
    pub reason: String,
    /// What fixes it.
    pub fix: String,
    /// The button that does it (`/signin?prompt=login`, …), with its label.
    pub action: Option<(String, String)>,
    /// The correlation id of the failed attempt.
    pub correlation_id: Option<String>,
    /// Its sign-in record in the portal.
    pub record_url: Option<String>,
    /// The troubleshooting page of the code (with the correlation id).
    pub troubleshoot_url: Option<String>,
    /// Portvakt's own description (English), and the API's.
    pub portvakt_said: Option<String>,
    /// The API's refusal that started it.
    pub api_said: Option<String>,
}

/// The deciding policy's name, or a neutral word.
fn policy_name(e: &TokenError) -> String {
    e.policy
        .as_ref()
        .map(|(_, name)| name.clone())
        .unwrap_or_else(|| "?".into())
}

impl Failure {
    /// The view, in `t`'s language. `portvakt_url` is Portvakt's public URL and
    /// `tenant` the tenant's name (for the portal link).
    pub fn view(&self, t: Text, portvakt_url: &str, tenant: &str) -> View {
        let (code, reason, fix, action, cid, uri, portvakt_said, api_said) = match self {
            Failure::Renewal { error: e, refused } => {
                let (reason, fix, action) = explain(t, e);
                (
                    e.code.clone().unwrap_or_else(|| e.error.clone()),
                    reason,
                    fix,
                    action,
                    e.correlation_id.clone(),
                    e.error_uri.clone(),
                    Some(e.description.clone()),
                    Some(refused.description.clone()),
                )
            }
            Failure::SignIn(e) => {
                let (mut reason, fix, action) = explain(t, e);
                if e.code.is_none() {
                    reason = t.with("reason-signin", &[("detail", &e.description)]);
                }
                (
                    e.code.clone().unwrap_or_else(|| e.error.clone()),
                    reason,
                    fix,
                    action,
                    e.correlation_id.clone(),
                    e.error_uri.clone(),
                    Some(e.description.clone()),
                    None,
                )
            }
            Failure::Api(r) => (
                r.code
                    .clone()
                    .unwrap_or_else(|| format!("HTTP {}", r.status)),
                t.with("reason-api", &[("detail", &r.description)]),
                t.get("fix-signin"),
                Some(signin(t)),
                r.correlation_id.clone(),
                r.error_uri.clone(),
                None,
                Some(r.description.clone()),
            ),
        };
        let lang = t.tag();
        let record_url = cid
            .as_ref()
            .filter(|_| matches!(self, Failure::Renewal { .. } | Failure::SignIn(_)))
            .map(|c| format!("{portvakt_url}/portal/{tenant}/signins/{c}"));
        let troubleshoot_url = uri.map(|u| match &cid {
            Some(c) => format!("{u}?correlation_id={c}&lang={lang}"),
            None => format!("{u}?lang={lang}"),
        });
        View {
            code,
            reason,
            fix,
            action,
            correlation_id: cid,
            record_url,
            troubleshoot_url,
            portvakt_said,
            api_said,
        }
    }
}

fn signin(t: Text) -> (String, String) {
    ("/signin?prompt=login".into(), t.get("action-signin"))
}

/// Reason, fix and action of a refusal by Portvakt, by its error code
/// (crates/core/src/error_code.rs; docs/errors.md).
fn explain(t: Text, e: &TokenError) -> (String, String, Option<(String, String)>) {
    let policy = policy_name(e);
    let p = [("policy", policy.as_str())];
    let mfa = || ("/signin?prompt=login".to_owned(), t.get("action-mfa"));
    match e.code.as_deref() {
        Some("PV4002") => (t.with("reason-mfa", &p), t.get("fix-mfa"), Some(mfa())),
        Some("PV4003") => (
            t.with("reason-reauth", &p),
            t.get("fix-reauth"),
            Some(signin(t)),
        ),
        Some("PV4004") => (
            t.with("reason-password", &p),
            t.get("fix-reauth"),
            Some(signin(t)),
        ),
        Some("PV4001") => (t.with("reason-blocked", &p), t.with("fix-admin", &p), None),
        Some("PV4005") => (
            t.with("reason-unsatisfiable", &p),
            t.with("fix-admin", &p),
            None,
        ),
        // "an administrator revoked the user's sessions after this sign-in" (core::grant).
        Some("PV3203") if e.description.contains("administrator revoked") => (
            t.get("reason-revoked-admin"),
            t.get("fix-signin"),
            Some(signin(t)),
        ),
        Some("PV3203") => (
            t.get("reason-revoked"),
            t.get("fix-signin"),
            Some(signin(t)),
        ),
        Some("PV3202") => (
            t.get("reason-refresh-expired"),
            t.get("fix-signin"),
            Some(signin(t)),
        ),
        Some("PV3204") => (t.get("reason-reused"), t.get("fix-signin"), Some(signin(t))),
        Some("PV3012") => (
            t.get("reason-user-disabled"),
            t.get("fix-admin-account"),
            None,
        ),
        None if e.status == 0 => (
            t.get("reason-unreachable"),
            t.get("fix-retry"),
            Some(("/".into(), t.get("reload-button"))),
        ),
        _ => (
            t.with("reason-other", &[("detail", &e.description)]),
            t.get("fix-signin"),
            Some(signin(t)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portvakt_server::l10n::Lang;

    fn renewal(code: &str) -> Failure {
        Failure::Renewal {
            error: TokenError {
                status: 400,
                error: "interaction_required".into(),
                description: "A Conditional Access policy requires multifactor authentication: …"
                    .into(),
                code: Some(code.into()),
                error_uri: Some("http://pv/errors/PV4002".into()),
                correlation_id: Some("cid-1".into()),
                policy: Some(("p1".into(), "Require MFA for admins".into())),
            },
            refused: ApiRefusal {
                status: 401,
                code: Some("PV2011".into()),
                description: "The access token has expired: expired at …".into(),
                ..ApiRefusal::default()
            },
        }
    }

    #[test]
    fn an_mfa_refusal_names_the_policy_the_fix_and_the_links_in_both_languages() {
        let v = renewal("PV4002").view(Text(Lang::En), "http://pv", "contoso");
        assert_eq!(v.code, "PV4002");
        assert!(
            v.reason.contains("“Require MFA for admins”") && v.reason.contains("multifactor"),
            "{}",
            v.reason
        );
        assert_eq!(
            v.action.as_ref().map(|a| a.0.as_str()),
            Some("/signin?prompt=login")
        );
        assert_eq!(
            v.record_url.as_deref(),
            Some("http://pv/portal/contoso/signins/cid-1")
        );
        assert_eq!(
            v.troubleshoot_url.as_deref(),
            Some("http://pv/errors/PV4002?correlation_id=cid-1&lang=en")
        );
        let sv = renewal("PV4002").view(Text(Lang::Sv), "http://pv", "contoso");
        assert!(
            sv.reason.contains("multifaktorautentisering"),
            "{}",
            sv.reason
        );
        assert!(sv.troubleshoot_url.unwrap_or_default().ends_with("lang=sv"));
    }

    #[test]
    fn a_block_sends_the_user_to_an_admin_and_a_revocation_to_sign_in() {
        let v = renewal("PV4001").view(Text(Lang::En), "http://pv", "contoso");
        assert!(
            v.action.is_none() && v.fix.contains("administrator"),
            "{}",
            v.fix
        );
        let v = renewal("PV3203").view(Text(Lang::En), "http://pv", "contoso");
        assert!(v.reason.contains("revoked"), "{}", v.reason);
        let mut admin = renewal("PV3203");
        if let Failure::Renewal { error, .. } = &mut admin {
            error.description = "The refresh token was revoked: an administrator revoked the user's sessions after this sign-in".into();
        }
        let a = admin.view(Text(Lang::En), "http://pv", "contoso");
        assert!(
            a.reason.contains("An administrator revoked"),
            "{}",
            a.reason
        );
        assert_ne!(
            v.reason,
            renewal("PV4002")
                .view(Text(Lang::En), "http://pv", "contoso")
                .reason
        );
    }
}
