//! Minting the tokens of a signed-in user: the access token (RFC 9068), the ID token
//! (OIDC Core §2) and the refresh token (opaque, 256-bit, stored hashed, rotated).

use crate::directory::TenantView;
use crate::error::ApiError;
use crate::keys::sign_claims;
use crate::state::AppState;
use crate::token::TokenResponse;
use portvakt_core::flow::RefreshGrant;
use portvakt_core::model::{Application, User};
use portvakt_core::scope::UserScopes;
use portvakt_core::token::{
    access_token_lifetime, at_hash, AccessTokenClaims, IdTokenClaims, ACCESS_TOKEN_TYP,
};
use portvakt_core::ErrorCode;

/// Default inactivity lifetime of a refresh token (14 days).
pub const REFRESH_INACTIVITY: i64 = 14 * 24 * 3600;
/// Default absolute lifetime of a refresh-token family (90 days).
pub const REFRESH_ABSOLUTE: i64 = 90 * 24 * 3600;

/// The audience of tokens that name no resource: the userinfo endpoint.
pub fn userinfo_audience(view: &TenantView) -> String {
    format!("{}/oauth2/userinfo", view.issuer)
}

/// The sign-in facts a token is minted from.
pub struct SignedIn<'a> {
    /// The user.
    pub user: &'a User,
    /// Session id.
    pub sid: &'a str,
    /// Authentication time.
    pub auth_time: i64,
    /// Methods.
    pub amr: &'a [String],
    /// The nonce of the authorization request (ID token only).
    pub nonce: Option<&'a str>,
    /// The Conditional Access client app type of the sign-in, kept with the family.
    pub client_app_type: Option<&'a str>,
}

/// What to do about the refresh token.
pub enum Refresh<'a> {
    /// No refresh token.
    None,
    /// Start a new family.
    NewFamily,
    /// Rotate this (hash of the) token within its family.
    Rotate {
        /// SHA-256 of the presented token.
        old_hash: [u8; 32],
        /// What it stands for (with the scope of the new token).
        old: &'a RefreshGrant,
        /// Now, in milliseconds.
        now_ms: i64,
        /// `Some(window)`: the token was already used and this is a retry
        /// ([`portvakt_core::grant::RefreshDecision::Retry`]) allowed within the window.
        retry_window_ms: Option<i64>,
        /// Strict reuse detection (`--refresh-reuse-grace 0`): a second use revokes
        /// the family even when it raced the first (both read the token unused).
        strict: bool,
    },
    /// Hand out the successor the read already stored
    /// ([`portvakt_store::Flows::refresh_claim`]).
    Claimed {
        /// The successor token.
        token: &'a str,
        /// Its family.
        family_id: &'a str,
    },
}

/// Reuse of a refresh token of `family` detected: revoke the family (every token of
/// it), saying `why` in the store and in a warning of the server's log.
pub async fn revoke_reused(
    st: &AppState,
    view: &TenantView,
    client_id: &str,
    family: &RefreshGrant,
    why: &'static str,
    now: i64,
) -> Result<(), ApiError> {
    st.store.revoke_family(&family.family_id, why, now).await?;
    tracing::warn!(tenant = ?view.tenant.name, client_id = ?client_id, user_id = ?family.user_id, why, "refresh token reuse detected; family revoked");
    Ok(())
}

/// Mint the tokens; returns the response and the access token's (jti, exp).
pub async fn mint(
    st: &AppState,
    view: &TenantView,
    app: &Application,
    who: &SignedIn<'_>,
    scopes: &UserScopes,
    refresh: Refresh<'_>,
    now: i64,
) -> Result<Minted, ApiError> {
    let resource = scopes
        .resource
        .as_ref()
        .and_then(|r| view.resource(&r.resource));
    let lifetime = access_token_lifetime(
        view.tenant.access_token_lifetime_seconds,
        resource.and_then(|r| r.access_token_lifetime_seconds),
        app.access_token_lifetime_seconds,
    );
    let signer = view.access_token_signer(now)?;
    let jti = portvakt_jose::random_id(16);
    let exp = now + i64::from(lifetime);
    let scope = scopes.scope_string();
    let claims = AccessTokenClaims {
        iss: view.issuer.clone(),
        sub: who.user.id.clone(),
        aud: scopes
            .resource
            .as_ref()
            .map(|r| r.resource.clone())
            .unwrap_or_else(|| userinfo_audience(view)),
        exp,
        iat: now,
        nbf: now,
        jti: jti.clone(),
        client_id: app.client_id.clone(),
        scope: scope.clone(),
        tid: view.tenant.id.clone(),
        sid: Some(who.sid.to_string()),
        auth_time: Some(who.auth_time),
        amr: Some(who.amr.to_vec()),
        groups: resource
            .filter(|r| r.group_claims)
            .map(|_| who.user.groups.clone()),
    };
    let access_token = sign_claims(signer, ACCESS_TOKEN_TYP, &claims)?;

    let id_token = if scopes.has("openid") {
        let id_signer = view.id_token_signer(now).ok_or_else(|| {
            ApiError::new(
                ErrorCode::SigningKeyUnavailable,
                format!("tenant '{}' has no key to sign ID tokens", view.tenant.name),
            )
        })?;
        let upn = &who.user.user_principal_name;
        let claims = IdTokenClaims {
            iss: view.issuer.clone(),
            sub: who.user.id.clone(),
            aud: app.client_id.clone(),
            exp,
            iat: now,
            auth_time: who.auth_time,
            nonce: who.nonce.map(str::to_string),
            acr: "1".into(),
            amr: who.amr.to_vec(),
            sid: who.sid.to_string(),
            at_hash: Some(at_hash(id_signer.alg(), &access_token)),
            name: scopes.has("profile").then(|| who.user.display_name.clone()),
            preferred_username: scopes.has("profile").then(|| upn.clone()),
            email: (scopes.has("email") && upn.contains('@')).then(|| upn.clone()),
        };
        Some(sign_claims(id_signer, "JWT", &claims)?)
    } else {
        None
    };

    let refresh_token = match refresh {
        Refresh::None => None,
        _ if !scopes.has("offline_access") => None,
        Refresh::NewFamily => {
            let token = portvakt_jose::random_id(32);
            let absolute = app
                .refresh_token_lifetime_seconds
                .map(i64::from)
                .unwrap_or(REFRESH_ABSOLUTE);
            let grant = RefreshGrant {
                family_id: portvakt_jose::random_id(16),
                tenant_id: view.tenant.id.clone(),
                client_id: app.client_id.clone(),
                user_id: who.user.id.clone(),
                sid: who.sid.to_string(),
                scope: scope.clone(),
                resource: scopes.resource.as_ref().map(|r| r.resource.clone()),
                auth_time: who.auth_time,
                amr: who.amr.to_vec(),
                issued_at: now,
                expires_at: (now + REFRESH_INACTIVITY).min(now + absolute),
                family_expires_at: now + absolute,
                client_app_type: who.client_app_type.map(str::to_string),
            };
            st.store
                .put_refresh(&portvakt_jose::sha256(token.as_bytes()), &grant, now)
                .await?;
            Some((token, grant.family_id))
        }
        Refresh::Claimed { token, family_id } => Some((token.to_string(), family_id.to_string())),
        Refresh::Rotate {
            old_hash,
            old,
            now_ms,
            retry_window_ms,
            strict,
        } => {
            let token = portvakt_jose::random_id(32);
            let grant = old.successor(now, REFRESH_INACTIVITY);
            let new_hash = portvakt_jose::sha256(token.as_bytes());
            match retry_window_ms {
                None => {
                    if !st
                        .store
                        .rotate_refresh(&old_hash, &new_hash, &grant, now_ms)
                        .await?
                    {
                        // It was unused when read and another request rotated it
                        // since: a true race. Strict detection takes it as what it
                        // is, the token presented twice (RFC 9700 §4.14.2; and so
                        // the outcome does not hang on which request read first).
                        if strict {
                            revoke_reused(
                                st,
                                view,
                                &app.client_id,
                                old,
                                "a refresh token was presented twice at once under strict reuse detection (possible theft)",
                                now,
                            )
                            .await?;
                            return Err(ApiError::new(
                                ErrorCode::RefreshTokenReused,
                                "this refresh token was presented twice at once and reuse detection is strict (--refresh-reuse-grace 0): every token of its family is now revoked",
                            ));
                        }
                        // Else a client that sent its refresh twice, not a lost
                        // response: refused, the family kept.
                        return Err(ApiError::new(
                            ErrorCode::RefreshConcurrent,
                            "another request rotated this refresh token a moment ago",
                        ));
                    }
                }
                Some(window_ms) => {
                    if !st
                        .store
                        .retry_refresh(&old_hash, &new_hash, &grant, now_ms, window_ms)
                        .await?
                    {
                        // Its successor was used meanwhile (or the window closed):
                        // someone holds the newer token, so this is a replay.
                        revoke_reused(
                            st,
                            view,
                            &app.client_id,
                            old,
                            "a used refresh token was presented again after its successor was used (possible theft)",
                            now,
                        )
                        .await?;
                        return Err(ApiError::new(
                            ErrorCode::RefreshTokenReused,
                            "this refresh token was already used and the token issued for it has been used too; every token of its family is now revoked",
                        ));
                    }
                }
            }
            Some((token, grant.family_id))
        }
    };
    let family = refresh_token.as_ref().map(|(_, f)| f.clone());
    let response = TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: lifetime,
        scope,
        id_token,
        refresh_token: refresh_token.map(|(t, _)| t),
    };
    Ok(Minted {
        response,
        jti,
        exp,
        family,
    })
}

/// The tokens minted, and what a replayed code must revoke.
pub struct Minted {
    /// The token response.
    pub response: TokenResponse,
    /// The access token's `jti`.
    pub jti: String,
    /// The access token's expiry.
    pub exp: i64,
    /// The refresh-token family, if a refresh token was issued.
    pub family: Option<String>,
}
