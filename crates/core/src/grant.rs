//! The one place where a grant is decided: "allowed or not, and why".
//!
//! Every grant handler calls [`decide_client_credentials`] (and, as they land, the
//! user-flow equivalents) after client authentication. Conditional Access evaluation
//! will be added here, so no grant can skip it.

use crate::clock::{UnixTime, UnixTimeMs};
use crate::flow::RefreshGrant;
use crate::model::{Application, Resource, User};
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

/// The stored state of a presented refresh token: what [`decide_refresh`] needs.
#[derive(Debug, Clone, Copy)]
pub struct RefreshState<'a> {
    /// What it stands for.
    pub grant: &'a RefreshGrant,
    /// When it was first used (rotated), in milliseconds, if it was.
    pub used_at_ms: Option<UnixTimeMs>,
    /// When a retry of its parent superseded it, if one did.
    pub superseded_at: Option<UnixTime>,
    /// When and why its family was revoked, if it was.
    pub family_revoked: Option<(UnixTime, &'a str)>,
    /// The user, as of the same read; `None` if the user no longer exists.
    pub user: Option<&'a User>,
}

/// What to do with a refresh-token request (RFC 6749 §6, RFC 9700 §4.14.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshDecision {
    /// The token is unused and valid: rotate it.
    Rotate,
    /// The token was used moments ago by this same client, which evidently never
    /// received the response (a dropped connection, a crash): issue its successor
    /// again, superseding the one that was lost, if that one is still unused.
    Retry,
    /// Refused; nothing changes.
    Refuse(Error),
    /// A replay: revoke the token's whole family, then refuse.
    RevokeFamily(Error),
}

/// Decide a refresh-token request of the authenticated client `client_id` of
/// tenant `tenant_id`, at `now_ms`, with the reuse window `window_ms`.
///
/// The reuse window trades strict reuse detection (RFC 9700 §4.14.2: every second
/// use of a rotated token revokes its family) against clients that lose a response:
/// without it, a rotation committed whose response never arrived would leave the
/// client nothing but an interactive sign-in. Within the window, the same client may
/// present the used token again and get a new successor, as long as the successor it
/// lost has not been used (a used successor proves that someone received it, so the
/// second presentation is a replay). At most one successor is live: the one that was
/// lost is superseded, and presenting it later is a replay. Past the window, or with a
/// window of 0, every second use is a replay. Okta ("grace period") and Auth0 ("reuse
/// interval") make the same trade.
pub fn decide_refresh(
    tenant_id: &str,
    client_id: &str,
    st: &RefreshState<'_>,
    now_ms: UnixTimeMs,
    window_ms: i64,
) -> RefreshDecision {
    let g = st.grant;
    let now = now_ms.div_euclid(1000);
    if g.tenant_id != tenant_id || g.client_id != client_id {
        return RefreshDecision::Refuse(Error::new(
            ErrorCode::RefreshClientMismatch,
            if g.tenant_id != tenant_id {
                "the refresh token was issued in another tenant".to_string()
            } else {
                format!(
                    "the refresh token was issued to '{}', not to '{client_id}'",
                    g.client_id
                )
            },
        ));
    }
    if let Some((at, reason)) = st.family_revoked {
        return RefreshDecision::Refuse(Error::new(
            ErrorCode::RefreshTokenRevoked,
            format!("revoked {} s ago: {reason}", now - at),
        ));
    }
    if let Some(at) = st.superseded_at {
        return RefreshDecision::RevokeFamily(Error::new(
            ErrorCode::RefreshTokenReused,
            format!("this refresh token was replaced {} s ago by a retry of the request that issued it, so it should never be presented; every token of its family is now revoked", now - at),
        ));
    }
    let mut retry = false;
    if let Some(used_ms) = st.used_at_ms {
        let ago_ms = now_ms - used_ms;
        if window_ms > 0 && ago_ms < window_ms {
            retry = true;
        } else {
            return RefreshDecision::RevokeFamily(Error::new(
                ErrorCode::RefreshTokenReused,
                format!(
                    "this refresh token was already used {:.1} s ago (the retry window is {:.1} s); every token of its family is now revoked",
                    ago_ms as f64 / 1000.0,
                    window_ms as f64 / 1000.0
                ),
            ));
        }
    }
    if now >= g.family_expires_at {
        return RefreshDecision::Refuse(Error::new(
            ErrorCode::RefreshTokenExpired,
            format!(
                "the sign-in behind it reached its maximum lifetime {} s ago",
                now - g.family_expires_at
            ),
        ));
    }
    if now >= g.expires_at {
        return RefreshDecision::Refuse(Error::new(
            ErrorCode::RefreshTokenExpired,
            format!(
                "it was not used for {} s and expired {} s ago",
                g.expires_at - g.issued_at,
                now - g.expires_at
            ),
        ));
    }
    let Some(user) = st.user else {
        return RefreshDecision::Refuse(Error::new(
            ErrorCode::RefreshTokenRevoked,
            "the user no longer exists",
        ));
    };
    if !user.account_enabled {
        return RefreshDecision::Refuse(Error::new(
            ErrorCode::AccountDisabled,
            format!("account '{}' is disabled", user.user_principal_name),
        ));
    }
    if user.revoked(g.auth_time) {
        return RefreshDecision::Refuse(Error::new(
            ErrorCode::RefreshTokenRevoked,
            "an administrator revoked the user's sessions after this sign-in",
        ));
    }
    if retry {
        RefreshDecision::Retry
    } else {
        RefreshDecision::Rotate
    }
}

#[cfg(test)]
mod refresh_tests {
    use super::*;

    fn grant() -> RefreshGrant {
        RefreshGrant {
            family_id: "f".into(),
            tenant_id: "t".into(),
            client_id: "spa".into(),
            user_id: "u".into(),
            sid: "s".into(),
            scope: "offline_access".into(),
            resource: None,
            auth_time: 100,
            amr: vec!["pwd".into()],
            issued_at: 100,
            expires_at: 10_000,
            family_expires_at: 20_000,
            client_app_type: None,
        }
    }

    fn user() -> User {
        User {
            id: "u".into(),
            user_principal_name: "a@x".into(),
            display_name: "A".into(),
            account_enabled: true,
            groups: vec![],
            group_ids: vec![],
            roles: vec![],
            mfa_registered: false,
            password_changed_at: None,
            password_hash: None,
            tokens_valid_from: 0,
        }
    }

    fn decide(used_at_ms: Option<i64>, now_ms: i64, window_ms: i64) -> RefreshDecision {
        let (g, u) = (grant(), user());
        let st = RefreshState {
            grant: &g,
            used_at_ms,
            superseded_at: None,
            family_revoked: None,
            user: Some(&u),
        };
        decide_refresh("t", "spa", &st, now_ms, window_ms)
    }

    fn code(d: &RefreshDecision) -> Option<ErrorCode> {
        match d {
            RefreshDecision::Refuse(e) | RefreshDecision::RevokeFamily(e) => Some(e.code),
            _ => None,
        }
    }

    #[test]
    fn an_unused_token_rotates() {
        assert_eq!(decide(None, 200_000, 10_000), RefreshDecision::Rotate);
    }

    #[test]
    fn a_window_of_zero_makes_every_reuse_a_replay_even_in_the_same_millisecond() {
        for ago in [0, 1, 999, 5_000] {
            let d = decide(Some(200_000), 200_000 + ago, 0);
            assert!(
                matches!(d, RefreshDecision::RevokeFamily(_)),
                "{ago}: {d:?}"
            );
            assert_eq!(code(&d), Some(ErrorCode::RefreshTokenReused));
        }
    }

    #[test]
    fn the_window_is_compared_in_milliseconds() {
        // Used at 200.900 s; window 10 s: 209.899 is inside, 210.900 is not, although
        // both are "10 s later" in whole seconds.
        assert_eq!(
            decide(Some(200_900), 210_899, 10_000),
            RefreshDecision::Retry
        );
        assert!(matches!(
            decide(Some(200_900), 210_900, 10_000),
            RefreshDecision::RevokeFamily(_)
        ));
        // Whole seconds would have said 210 - 200 = 10 ≤ 10 for 210.999 too.
        assert!(matches!(
            decide(Some(200_900), 210_999, 10_000),
            RefreshDecision::RevokeFamily(_)
        ));
    }

    #[test]
    fn a_superseded_token_is_a_replay_and_a_revoked_family_is_refused() {
        let (g, u) = (grant(), user());
        let mut st = RefreshState {
            grant: &g,
            used_at_ms: None,
            superseded_at: Some(150),
            family_revoked: None,
            user: Some(&u),
        };
        let d = decide_refresh("t", "spa", &st, 200_000, 10_000);
        assert!(
            matches!(d, RefreshDecision::RevokeFamily(ref e) if e.code == ErrorCode::RefreshTokenReused),
            "{d:?}"
        );
        st.family_revoked = Some((160, "signed out"));
        let d = decide_refresh("t", "spa", &st, 200_000, 10_000);
        assert!(
            matches!(d, RefreshDecision::Refuse(ref e) if e.code == ErrorCode::RefreshTokenRevoked && e.detail.contains("signed out")),
            "{d:?}"
        );
    }

    #[test]
    fn a_retry_is_still_refused_for_a_disabled_user_or_another_client() {
        let (g, mut u) = (grant(), user());
        u.account_enabled = false;
        let st = RefreshState {
            grant: &g,
            used_at_ms: Some(200_000),
            superseded_at: None,
            family_revoked: None,
            user: Some(&u),
        };
        assert_eq!(
            code(&decide_refresh("t", "spa", &st, 201_000, 10_000)),
            Some(ErrorCode::AccountDisabled)
        );
        let d = decide_refresh("t", "other", &st, 201_000, 10_000);
        assert_eq!(code(&d), Some(ErrorCode::RefreshClientMismatch));
        let d = decide_refresh("t2", "spa", &st, 201_000, 10_000);
        assert!(
            matches!(&d, RefreshDecision::Refuse(e) if e.detail.contains("another tenant")),
            "the tenant differs, so do not say 'issued to spa, not to spa': {d:?}"
        );
    }
}

/// What the token request of an authorization-code grant says about the code.
#[derive(Debug, Clone, Copy)]
pub struct CodeRedemption<'a> {
    /// The `redirect_uri` parameter, if sent.
    pub redirect_uri: Option<&'a str>,
    /// The `code_verifier` parameter, if sent.
    pub code_verifier: Option<&'a str>,
    /// How long codes live, seconds (for the message).
    pub code_lifetime: i64,
}

/// Decide the redemption of a fresh (first-used) authorization code by the
/// authenticated client `client_id` of tenant `tenant_id` at `now` (RFC 6749 §4.1.3,
/// RFC 7636 §4.6). `user` is the code's user as stored now (`None`: gone).
pub fn decide_code(
    tenant_id: &str,
    tenant_name: &str,
    client_id: &str,
    grant: &crate::flow::CodeGrant,
    req: CodeRedemption<'_>,
    user: Option<&User>,
    now: UnixTime,
) -> Result<(), Error> {
    use crate::flow::{pkce_matches, valid_code_verifier};
    let r = &grant.request;
    if grant.tenant_id != tenant_id {
        return Err(Error::new(
            ErrorCode::CodeClientMismatch,
            format!("the code was issued in another tenant, not in '{tenant_name}'"),
        ));
    }
    if r.client_id != client_id {
        return Err(Error::new(
            ErrorCode::CodeClientMismatch,
            format!(
                "the code was issued to '{}', not to '{client_id}'",
                r.client_id
            ),
        ));
    }
    if grant.expires_at <= now {
        return Err(Error::new(
            ErrorCode::CodeInvalid,
            format!(
                "the code expired {} s ago (codes live {} s)",
                now - grant.expires_at,
                req.code_lifetime
            ),
        ));
    }
    match req.redirect_uri {
        Some(u) if u != r.redirect_uri => {
            return Err(Error::new(
                ErrorCode::CodeRedirectMismatch,
                format!(
                    "redirect_uri '{}' differs from '{}' of the authorization request",
                    u.escape_default(),
                    r.redirect_uri
                ),
            ))
        }
        None if r.redirect_uri_given => {
            return Err(Error::new(
                ErrorCode::CodeRedirectMismatch,
                "redirect_uri is required because the authorization request carried it",
            ))
        }
        _ => {}
    }
    match (&r.code_challenge, req.code_verifier) {
        (Some(_), None) => {
            return Err(Error::new(
                ErrorCode::PkceMismatch,
                "code_verifier is required: the authorization request sent a code_challenge",
            ))
        }
        (Some(_), Some(v)) if !valid_code_verifier(v) => {
            return Err(Error::new(
                ErrorCode::PkceMismatch,
                "code_verifier must be 43-128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)",
            ))
        }
        (Some(c), Some(v)) if !pkce_matches(v, c) => {
            return Err(Error::new(
                ErrorCode::PkceMismatch,
                "BASE64URL(SHA-256(code_verifier)) does not equal the code_challenge",
            ))
        }
        (None, Some(_)) => {
            return Err(Error::new(
                ErrorCode::PkceMismatch,
                "a code_verifier was sent but the authorization request had no code_challenge",
            ))
        }
        _ => {}
    }
    let Some(user) = user else {
        return Err(Error::new(
            ErrorCode::CodeInvalid,
            "the user of this code no longer exists",
        ));
    };
    if !user.account_enabled {
        return Err(Error::new(
            ErrorCode::AccountDisabled,
            format!(
                "account '{}' was disabled after sign-in",
                user.user_principal_name
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod code_tests {
    use super::*;
    use crate::flow::{AuthRequest, CodeGrant};

    fn grant(challenge: Option<String>) -> CodeGrant {
        CodeGrant {
            tenant_id: "t".into(),
            request: AuthRequest {
                client_id: "spa".into(),
                redirect_uri: "https://spa.example.com/cb".into(),
                redirect_uri_given: true,
                scope: "openid".into(),
                resource: None,
                state: None,
                nonce: None,
                code_challenge: challenge,
                prompt: vec![],
                max_age: None,
                ui_locales: None,
                login_hint: None,
                device_user_code: None,
                client_app_type: None,
                response_mode: Default::default(),
            },
            user_id: "u".into(),
            sid: "s".into(),
            auth_time: 100,
            amr: vec!["pwd".into()],
            expires_at: 160,
        }
    }

    fn user(enabled: bool) -> User {
        User {
            id: "u".into(),
            user_principal_name: "a@x".into(),
            display_name: "A".into(),
            account_enabled: enabled,
            groups: vec![],
            group_ids: vec![],
            roles: vec![],
            mfa_registered: false,
            password_changed_at: None,
            password_hash: None,
            tokens_valid_from: 0,
        }
    }

    #[test]
    fn every_rule_of_a_code_redemption_has_its_code() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_string();
        let g = grant(Some(challenge));
        let ok = CodeRedemption {
            redirect_uri: Some("https://spa.example.com/cb"),
            code_verifier: Some(verifier),
            code_lifetime: 60,
        };
        let u = user(true);
        let d = |t: &str, c: &str, r: CodeRedemption<'_>, u: Option<&User>, now: i64| {
            decide_code(t, "contoso", c, &g, r, u, now).map_err(|e| e.code)
        };
        assert_eq!(d("t", "spa", ok, Some(&u), 150), Ok(()));
        assert_eq!(
            d("t2", "spa", ok, Some(&u), 150),
            Err(ErrorCode::CodeClientMismatch)
        );
        assert_eq!(
            d("t", "web", ok, Some(&u), 150),
            Err(ErrorCode::CodeClientMismatch)
        );
        assert_eq!(
            d("t", "spa", ok, Some(&u), 160),
            Err(ErrorCode::CodeInvalid),
            "expiry is exclusive"
        );
        let bad_uri = CodeRedemption {
            redirect_uri: Some("https://spa.example.com/other"),
            ..ok
        };
        assert_eq!(
            d("t", "spa", bad_uri, Some(&u), 150),
            Err(ErrorCode::CodeRedirectMismatch)
        );
        let no_uri = CodeRedemption {
            redirect_uri: None,
            ..ok
        };
        assert_eq!(
            d("t", "spa", no_uri, Some(&u), 150),
            Err(ErrorCode::CodeRedirectMismatch)
        );
        for v in [
            None,
            Some("short"),
            Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"),
        ] {
            let r = CodeRedemption {
                code_verifier: v,
                ..ok
            };
            assert_eq!(
                d("t", "spa", r, Some(&u), 150),
                Err(ErrorCode::PkceMismatch),
                "{v:?}"
            );
        }
        assert_eq!(d("t", "spa", ok, None, 150), Err(ErrorCode::CodeInvalid));
        let off = user(false);
        assert_eq!(
            d("t", "spa", ok, Some(&off), 150),
            Err(ErrorCode::AccountDisabled)
        );
        // A verifier without a challenge in the request is refused too.
        let g2 = grant(None);
        assert_eq!(
            decide_code("t", "contoso", "spa", &g2, ok, Some(&u), 150).map_err(|e| e.code),
            Err(ErrorCode::PkceMismatch)
        );
    }
}
