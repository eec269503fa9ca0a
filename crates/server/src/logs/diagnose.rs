//! `diagnose`: the answer the seed article does not give. Given a token a service
//! refused, a correlation id from an error, or a user and a time window, it follows
//! the chain of causes through the token's claims, the tenant's keys, the grant's
//! revocations, the sign-in log, the audit log and the current policies, and says in
//! plain words what happened and how to fix it:
//!
//! > access token expired at T → the refresh at T′ was a non-interactive sign-in that
//! > failed: policy 'Require MFA for admins' (id …) requires mfa, the session was
//! > single-factor → the policy was switched on at T″ by … → fix: sign in
//! > interactively and complete MFA, or exclude the account / set the policy to
//! > report-only.
//!
//! The [`Diagnosis::cause`] is the root of the chain: for an expired token whose
//! refresh a policy refused, it is the policy's (`mfaRequired`), not `expired`.
//! Nothing is written.

use crate::access::{graph_time, refusal};
use crate::directory::TenantView;
use crate::error::ApiError;
use crate::logs::audit;
use crate::state::AppState;
use portvakt_core::audit::DirectoryAudit;
use portvakt_core::signin::facts_back;
use portvakt_core::token::{AccessTokenClaims, ACCESS_TOKEN_TYP};
use portvakt_core::ErrorCode;
use portvakt_store::{AuditQuery, Directory, GrantRevocation, SignInQuery, TokenUser};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// What to diagnose: exactly one of `token`, `correlation_id`, `user`.
#[derive(Debug, Clone, Default)]
pub struct Question {
    /// A compact access token (JWT).
    pub token: Option<String>,
    /// The audience the service that refused the token expects, if known.
    pub audience: Option<String>,
    /// A correlation id (from an error response, page or log line).
    pub correlation_id: Option<String>,
    /// A user principal name.
    pub user: Option<String>,
    /// With `user`: the window's start (ms).
    pub since_ms: Option<i64>,
}

/// The root cause, as a stable name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Cause {
    /// Nothing is wrong with the token (the service refuses it for its own reasons).
    Valid,
    /// The sign-in succeeded.
    Succeeded,
    /// No failed sign-in in the window.
    NoFailures,
    /// The token is not a JWT.
    Malformed,
    /// Issued by another issuer than the tenant's.
    WrongIssuer,
    /// Signed with a key the tenant does not publish, or the signature does not verify.
    SignatureInvalid,
    /// An ID token (or another kind) where an access token belongs.
    WrongTokenType,
    /// Meant for another resource than the service's.
    WrongAudience,
    /// Not valid yet.
    NotYetValid,
    /// Expired, and nothing stopped the client from getting a new one.
    Expired,
    /// The token itself was revoked (RFC 7009).
    TokenRevoked,
    /// The account is disabled.
    UserDisabled,
    /// The user no longer exists.
    UserDeleted,
    /// An administrator revoked all of the user's sessions.
    SessionsRevoked,
    /// The user signed out.
    SessionEnded,
    /// The refresh-token family behind the token was revoked.
    FamilyRevoked,
    /// The refresh token expired.
    RefreshTokenExpired,
    /// A Conditional Access policy blocks the sign-in.
    BlockedByPolicy,
    /// A Conditional Access policy requires MFA the session does not have.
    MfaRequired,
    /// A policy's sign-in frequency requires signing in again.
    SignInFrequency,
    /// A policy requires a password change.
    PasswordChangeRequired,
    /// Another sign-in failure (see the code).
    SignInFailed,
    /// Nothing found to diagnose (unknown correlation id).
    NotFound,
}

/// A policy named in a step.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRef {
    /// Its id.
    pub id: String,
    /// Its display name.
    pub display_name: String,
}

/// One link of the chain.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// What kind of link: `token`, `signIn`, `policy`, `audit`, `user`, `whatIf`, …
    pub kind: &'static str,
    /// When it happened (RFC 3339), if it is an event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// The Portvakt error code, if one applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// The sign-in record (its correlation id), if the step is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_in: Option<String>,
    /// The policy, if the step is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyRef>,
    /// In plain words.
    pub text: String,
}

impl Step {
    fn new(kind: &'static str, text: impl Into<String>) -> Self {
        Self {
            kind,
            at: None,
            code: None,
            sign_in: None,
            policy: None,
            text: text.into(),
        }
    }
    fn at(mut self, t: Option<String>) -> Self {
        self.at = t;
        self
    }
    fn code(mut self, c: ErrorCode) -> Self {
        self.code = Some(c.code());
        self
    }
}

/// Where to read on.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Links {
    /// The troubleshooting page of the root cause's code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub troubleshooting: Option<String>,
    /// The sign-in record at the root (admin API).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_in: Option<String>,
}

/// The answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnosis {
    /// The root cause.
    pub cause: Cause,
    /// Its Portvakt error code, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// The chain in one paragraph (steps joined by →, then the fix).
    pub summary: String,
    /// The chain, first observation first.
    pub chain: Vec<Step>,
    /// What to do, most likely first.
    pub fix: Vec<String>,
    /// Where to read on.
    pub links: Links,
    /// The token's claims, when a token was given and could be decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<Value>,
}

/// Audit records read at most, newest first, when looking for the change behind a
/// cause.
const AUDIT_SCAN: u32 = 5000;

struct Ctx<'a> {
    st: &'a AppState,
    tenant: &'a str,
    d: Directory,
    view: Arc<TenantView>,
    now: i64,
    audits: Option<Vec<DirectoryAudit>>,
    chain: Vec<Step>,
    fix: Vec<String>,
    root_record: Option<String>,
}

/// Answer `q` for `tenant`.
pub async fn diagnose(st: &AppState, tenant: &str, q: &Question) -> Result<Diagnosis, ApiError> {
    let now = st.clock.now();
    let d = crate::admin::directory(st, tenant).await?;
    let view = st
        .directory
        .get(tenant, now)
        .await?
        .ok_or_else(|| crate::discovery::unknown_tenant(tenant))?;
    let mut cx = Ctx {
        st,
        tenant,
        d,
        view,
        now,
        audits: None,
        chain: vec![],
        fix: vec![],
        root_record: None,
    };
    let given = [
        q.token.is_some(),
        q.correlation_id.is_some(),
        q.user.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            "give exactly one of: token, correlationId, user (with since)",
        ));
    }
    let mut claims = None;
    let cause = if let Some(t) = &q.token {
        let (cause, c) = cx.token(t.trim(), q.audience.as_deref()).await?;
        claims = c;
        cause
    } else if let Some(cid) = &q.correlation_id {
        cx.correlation(cid).await?
    } else {
        let upn = q.user.as_deref().unwrap_or_default();
        let since = q.since_ms.unwrap_or(now * 1000 - 86_400_000);
        cx.user(upn, since).await?
    };
    Ok(cx.finish(cause, claims))
}

impl Ctx<'_> {
    fn finish(self, cause: Cause, claims: Option<Value>) -> Diagnosis {
        let code = self.chain.iter().rev().find_map(|s| s.code);
        let code = match cause {
            Cause::Valid | Cause::Succeeded | Cause::NoFailures | Cause::NotFound => None,
            _ => code,
        };
        let mut summary = self
            .chain
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" → ");
        if !self.fix.is_empty() {
            summary.push_str(" → fix: ");
            summary.push_str(&self.fix.join("; or "));
        }
        let base = &self.st.config.public_url;
        let links = Links {
            troubleshooting: code.map(|c| match &self.root_record {
                Some(cid) => format!("{base}/errors/{c}?correlation_id={cid}"),
                None => format!("{base}/errors/{c}"),
            }),
            sign_in: self.root_record.as_ref().map(|cid| {
                format!(
                    "{base}/admin/v1/tenants/{}/auditLogs/signIns/{cid}",
                    self.tenant
                )
            }),
        };
        Diagnosis {
            cause,
            code,
            summary,
            chain: self.chain,
            fix: self.fix,
            links,
            claims,
        }
    }

    fn step(&mut self, s: Step) {
        self.chain.push(s);
    }

    // ----- tokens ------------------------------------------------------------

    async fn token(
        &mut self,
        token: &str,
        audience: Option<&str>,
    ) -> Result<(Cause, Option<Value>), ApiError> {
        let unverified = match portvakt_jose::decode_unverified(token) {
            Ok(u) => u,
            Err(e) => {
                self.step(
                    Step::new("token", format!("the token is not a JWT: {e}"))
                        .code(ErrorCode::TokenMalformed),
                );
                self.fix.push("send the access_token of the token response, whole, as `Authorization: Bearer <token>`".into());
                return Ok((Cause::Malformed, None));
            }
        };
        let claims: Value = match serde_json::from_slice(&unverified.payload) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                self.step(
                    Step::new("token", "the token's payload is not a JSON object")
                        .code(ErrorCode::TokenMalformed),
                );
                return Ok((Cause::Malformed, None));
            }
        };
        let s = |k: &str| {
            claims
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let iss = s("iss");
        if iss != self.view.issuer {
            let prefix = format!("{}/", self.st.config.public_url);
            let other = iss.strip_prefix(&prefix).filter(|t| !t.contains('/'));
            let text = match other {
                Some(t) => format!(
                    "the token was issued by tenant '{t}' ({iss}), not by '{}' ({}): a service configured for '{}' refuses it",
                    self.tenant, self.view.issuer, self.tenant
                ),
                None => format!(
                    "the token was issued by '{iss}', not by this tenant ({})",
                    self.view.issuer
                ),
            };
            self.step(Step::new("token", text).code(ErrorCode::IssuerMismatch));
            self.fix.push(format!(
                "get the token from {}/oauth2/token, or configure the service to trust the issuer that issued it",
                self.view.issuer
            ));
            return Ok((Cause::WrongIssuer, Some(claims)));
        }
        let jws = match portvakt_jose::verify_compact(token, &self.view.verifiers) {
            Ok(j) => j,
            Err(e) => {
                let kid = unverified.header.kid.clone().unwrap_or_default();
                let text = match e {
                    portvakt_jose::JoseError::UnknownKey(_) => format!(
                        "the token names key '{kid}', which tenant '{}' does not publish (retired long ago, or the token was not issued here)",
                        self.tenant
                    ),
                    other => format!("the token's signature does not verify with the tenant's keys: {other}"),
                };
                self.step(Step::new("token", text).code(ErrorCode::SignatureInvalid));
                self.fix.push("get a new token; a service must take the keys from the tenant's JWKS (jwks_uri in the discovery document), not a copy".into());
                return Ok((Cause::SignatureInvalid, Some(claims)));
            }
        };
        if jws.header().typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
            let typ = jws.header().typ.clone().unwrap_or_else(|| "none".into());
            let what = if claims.get("nonce").is_some() || typ.eq_ignore_ascii_case("jwt") {
                "an ID token"
            } else {
                "not an access token"
            };
            self.step(
                Step::new(
                    "token",
                    format!(
                        "the token is {what} (typ '{typ}', RFC 9068 access tokens are 'at+jwt')"
                    ),
                )
                .code(ErrorCode::TokenTypeWrong),
            );
            self.fix.push(
                "send the access_token of the token response to the API, not the id_token".into(),
            );
            return Ok((Cause::WrongTokenType, Some(claims)));
        }
        let c: AccessTokenClaims = match serde_json::from_slice(jws.payload()) {
            Ok(c) => c,
            Err(e) => {
                self.step(
                    Step::new("token", format!("the token's claims are incomplete: {e}"))
                        .code(ErrorCode::ClaimMissing),
                );
                return Ok((Cause::Malformed, Some(claims)));
            }
        };
        let who = match &c.sid {
            Some(_) => format!("user {}", self.upn_of(&c.sub).await),
            None => format!("service principal {}", c.client_id),
        };
        self.step(
            Step::new(
                "token",
                format!(
                    "an access token for {} (scope '{}') issued to {} for {who} at {}, expiring {}",
                    c.aud,
                    c.scope,
                    c.client_id,
                    graph_time(c.iat),
                    graph_time(c.exp)
                ),
            )
            .at(Some(graph_time(c.iat))),
        );
        if let Some(want) = audience.filter(|a| *a != c.aud) {
            let hint = match self.view.resource(want) {
                Some(_) => format!("request the scope {want}/.default (or a scope of {want})"),
                None => format!("'{want}' is not a resource of tenant '{}': register it, then request its scopes", self.tenant),
            };
            self.step(
                Step::new(
                    "token",
                    format!("the token is for '{}', the service expects '{want}'", c.aud),
                )
                .code(ErrorCode::AudienceMismatch),
            );
            self.fix.push(hint);
            return Ok((Cause::WrongAudience, Some(claims)));
        }
        if let Some(cause) = self.revocations(&c).await? {
            return Ok((cause, Some(claims)));
        }
        if c.nbf > self.now {
            self.step(
                Step::new(
                    "token",
                    format!(
                        "the token is not valid before {} ({} s from now): the clocks differ",
                        graph_time(c.nbf),
                        c.nbf - self.now
                    ),
                )
                .code(ErrorCode::TokenNotYetValid),
            );
            self.fix.push(
                "synchronise the service's clock (NTP); the guard allows 60 s of skew by default"
                    .into(),
            );
            return Ok((Cause::NotYetValid, Some(claims)));
        }
        if c.exp <= self.now {
            self.step(
                Step::new(
                    "token",
                    format!("the access token expired at {}", graph_time(c.exp)),
                )
                .at(Some(graph_time(c.exp)))
                .code(ErrorCode::TokenExpired),
            );
            let cause = self.after_expiry(&c).await?;
            return Ok((cause, Some(claims)));
        }
        self.step(Step::new(
            "token",
            format!(
                "the token is valid now: signed by the tenant, not revoked, {} s left",
                c.exp - self.now
            ),
        ));
        if let Some(cause) = self.what_if(&c).await? {
            return Ok((cause, Some(claims)));
        }
        self.fix.push(format!(
            "if the service still refuses it, check its configuration: issuer {}, audience {}, and the scopes or roles it requires (the guard's error code names which)",
            self.view.issuer, c.aud
        ));
        Ok((Cause::Valid, Some(claims)))
    }

    async fn upn_of(&self, user_id: &str) -> String {
        match self.st.store.user_by_id(&self.d.tenant.id, user_id).await {
            Ok(Some(u)) => u.user_principal_name,
            _ => user_id.to_string(),
        }
    }

    /// Everything that withdraws a token before it expires.
    async fn revocations(&mut self, c: &AccessTokenClaims) -> Result<Option<Cause>, ApiError> {
        let user = c.sid.as_deref().map(|sid| TokenUser {
            tenant_id: &self.d.tenant.id,
            user_id: &c.sub,
            sid,
            client_id: &c.client_id,
            iat: c.iat,
        });
        let status = self.st.store.access_token_status(&c.jti, user).await?;
        if status.jti_revoked {
            self.step(
                Step::new("token", "the token was revoked (RFC 7009 revocation of it, or of the refresh token it came with)")
                    .code(ErrorCode::TokenRevoked),
            );
            self.fix.push("get a new token: sign in again".into());
            return Ok(Some(Cause::TokenRevoked));
        }
        let Some(sid) = c.sid.as_deref() else {
            return Ok(None);
        };
        let upn = match &status.user {
            None => {
                self.step(
                    Step::new("user", "the user the token was issued to no longer exists")
                        .code(ErrorCode::TokenRevoked),
                );
                self.fix
                    .push("the account was deleted: use another account".into());
                return Ok(Some(Cause::UserDeleted));
            }
            Some((_, _, upn)) => upn.clone(),
        };
        if let Some((false, _, _)) = status.user {
            self.step(
                Step::new(
                    "user",
                    format!("the account {upn} is disabled: its tokens stop working"),
                )
                .code(ErrorCode::AccountDisabled),
            );
            self.audit_step(
                &c.sub,
                &upn,
                &[audit::DISABLE_ACCOUNT.name],
                "the account was disabled",
            )
            .await?;
            self.fix.push(format!(
                "if the account should sign in: portvakt user enable --tenant {} {upn}",
                self.tenant
            ));
            return Ok(Some(Cause::UserDisabled));
        }
        if let Some((true, valid_from, _)) = status.user {
            if portvakt_core::model::sign_in_revoked(valid_from, c.auth_time.unwrap_or(c.iat)) {
                self.step(
                    Step::new(
                        "user",
                        format!(
                            "all sessions of {upn} were revoked at {}, after this sign-in ({})",
                            graph_time(valid_from),
                            graph_time(c.auth_time.unwrap_or(c.iat))
                        ),
                    )
                    .at(Some(graph_time(valid_from)))
                    .code(ErrorCode::TokenRevoked),
                );
                self.audit_step(
                    &c.sub,
                    &upn,
                    &[audit::REVOKE_SESSIONS.name],
                    "the sessions were revoked",
                )
                .await?;
                self.fix.push(
                    "sign in again (interactively): the revocation is meant to force that".into(),
                );
                return Ok(Some(Cause::SessionsRevoked));
            }
        }
        if status.grant_revoked {
            match self
                .st
                .store
                .grant_revocation(sid, &c.client_id, c.iat)
                .await?
            {
                Some(GrantRevocation::SessionEnded { at }) => {
                    self.step(
                        Step::new(
                            "token",
                            format!(
                                "the session behind the token ended at {}: the user signed out",
                                graph_time(at)
                            ),
                        )
                        .at(Some(graph_time(at)))
                        .code(ErrorCode::TokenRevoked),
                    );
                    self.fix.push("sign in again".into());
                    return Ok(Some(Cause::SessionEnded));
                }
                Some(GrantRevocation::FamilyRevoked { at, reason }) => {
                    self.step(
                        Step::new(
                            "token",
                            format!("the refresh-token family behind the token was revoked at {}: {reason}", graph_time(at)),
                        )
                        .at(Some(graph_time(at)))
                        .code(ErrorCode::RefreshTokenRevoked),
                    );
                    if reason.contains("again") || reason.contains("replay") {
                        self.fix.push("a rotated refresh token was used twice: make the client keep the newest refresh token of every response (and not refresh in parallel without the retry window), then sign in again".into());
                    } else {
                        self.fix.push("sign in again".into());
                    }
                    return Ok(Some(Cause::FamilyRevoked));
                }
                None => {}
            }
        }
        Ok(None)
    }

    /// An expired token: did the client get a new one, and if not, why not?
    async fn after_expiry(&mut self, c: &AccessTokenClaims) -> Result<Cause, ApiError> {
        let mut q = SignInQuery {
            tenant_id: self.d.tenant.id.clone(),
            since_ms: Some(c.exp * 1000),
            app_id: Some(c.client_id.clone()),
            limit: 50,
            ..Default::default()
        };
        if c.sid.is_some() {
            q.user_id = Some(c.sub.clone());
        }
        let page = self.st.store.signins(&q, false).await?;
        let records: Vec<Value> = page
            .rows
            .iter()
            .map(|r| r.expand())
            .filter(|r| c.sid.is_some() || r["userId"].is_null())
            .collect();
        let latest_failure = records.iter().find(|r| r["status"]["errorCode"] != 0);
        let latest_success = records.iter().find(|r| r["status"]["errorCode"] == 0);
        match (latest_failure, latest_success) {
            (Some(f), s)
                if s.is_none_or(|s| {
                    s["createdDateTime"].as_str() < f["createdDateTime"].as_str()
                }) =>
            {
                let f = f.clone();
                Ok(self.record(&f, true).await)
            }
            (_, Some(s)) => {
                self.step(
                    Step::new(
                        "signIn",
                        format!(
                            "the client got a new token at {} (sign-in {}): the service was sent the old one",
                            s["createdDateTime"].as_str().unwrap_or(""),
                            s["correlationId"].as_str().unwrap_or("")
                        ),
                    )
                    .at(s["createdDateTime"].as_str().map(str::to_string)),
                );
                self.fix.push("make the client send its newest access token (refresh before exp, and replace the cached token)".into());
                Ok(Cause::Expired)
            }
            _ => {
                let how = if c.sid.is_some() {
                    "no refresh or sign-in of this user and client since the token expired: the client did not renew it"
                } else {
                    "no token request of this client since the token expired: the client did not renew it"
                };
                self.step(Step::new("signIn", how));
                if let Some(cause) = self.what_if(c).await? {
                    return Ok(cause);
                }
                self.fix.push(if c.sid.is_some() {
                    "refresh the token (grant_type=refresh_token) before it expires, or sign in again".into()
                } else {
                    "request a new token (client credentials) before the old one expires".into()
                });
                Ok(Cause::Expired)
            }
        }
    }

    /// What the current policies would answer if the client refreshed now, from the
    /// facts of the latest sign-in of this user and client.
    async fn what_if(&mut self, c: &AccessTokenClaims) -> Result<Option<Cause>, ApiError> {
        if c.sid.is_none() {
            return Ok(None);
        }
        let q = SignInQuery {
            tenant_id: self.d.tenant.id.clone(),
            user_id: Some(c.sub.clone()),
            app_id: Some(c.client_id.clone()),
            limit: 20,
            ..Default::default()
        };
        let page = self.st.store.signins(&q, true).await?;
        let Some(mut facts) = page
            .rows
            .iter()
            .find_map(|r| facts_back(r.facts.as_deref()?, r.group_ids.as_deref()))
        else {
            return Ok(None);
        };
        facts.now = self.now;
        facts.interactive = false;
        let eval = self.view.access.evaluate(&facts)?;
        let Some(refused) = refusal(&eval) else {
            self.step(Step::new(
                "whatIf",
                "a refresh now would be allowed by the current Conditional Access policies",
            ));
            return Ok(None);
        };
        self.step(
            Step::new(
                "whatIf",
                format!(
                    "a refresh now would be refused by the current Conditional Access policies ({}: {})",
                    refused.code.code(),
                    refused.code.title()
                ),
            )
            .code(refused.code),
        );
        let policies = serde_json::to_value(&eval)
            .ok()
            .and_then(|v| v.get("appliedConditionalAccessPolicies").cloned())
            .unwrap_or(Value::Null);
        Ok(Some(self.policies(refused.code, &policies, None).await))
    }

    // ----- sign-in records ------------------------------------------------------

    async fn correlation(&mut self, cid: &str) -> Result<Cause, ApiError> {
        let q = SignInQuery {
            tenant_id: self.d.tenant.id.clone(),
            correlation_id: Some(cid.to_string()),
            limit: 10,
            ..Default::default()
        };
        let page = self.st.store.signins(&q, false).await?;
        let Some(row) = page.rows.first() else {
            self.step(Step::new(
                "signIn",
                format!(
                    "no sign-in of tenant '{}' has correlation id {cid} (records are kept {} days; a request refused before it named a tenant or client is not a sign-in)",
                    self.tenant, self.st.config.signin_retention_days
                ),
            ));
            self.fix.push(format!(
                "look for the correlation id in the server log (grep {cid}), or in the audit log: portvakt audit --tenant {} --correlation-id {cid}",
                self.tenant
            ));
            return Ok(Cause::NotFound);
        };
        let r = row.expand();
        Ok(self.record(&r, false).await)
    }

    async fn user(&mut self, upn: &str, since_ms: i64) -> Result<Cause, ApiError> {
        let user = self.st.store.user_by_upn(&self.d.tenant.id, upn).await?;
        let q = SignInQuery {
            tenant_id: self.d.tenant.id.clone(),
            user: Some(upn.to_string()),
            since_ms: Some(since_ms),
            limit: 500,
            ..Default::default()
        };
        let page = self.st.store.signins(&q, false).await?;
        let records: Vec<Value> = page.rows.iter().map(|r| r.expand()).collect();
        let failures: Vec<&Value> = records
            .iter()
            .filter(|r| r["status"]["errorCode"] != 0)
            .collect();
        let window = graph_time(since_ms / 1000);
        match &user {
            None => self.step(Step::new(
                "user",
                format!("tenant '{}' has no user {upn}; sign-ins under that name are attempts with a mistyped or unknown name", self.tenant),
            )),
            Some(u) if !u.account_enabled => {
                self.step(
                    Step::new("user", format!("the account {} is disabled", u.user_principal_name))
                        .code(ErrorCode::AccountDisabled),
                );
                let (id, name) = (u.id.clone(), u.user_principal_name.clone());
                self.audit_step(&id, &name, &[audit::DISABLE_ACCOUNT.name], "the account was disabled")
                    .await?;
                self.fix.push(format!("if the account should sign in: portvakt user enable --tenant {} {name}", self.tenant));
                return Ok(Cause::UserDisabled);
            }
            Some(_) => {}
        }
        if failures.is_empty() {
            self.step(Step::new(
                "signIn",
                format!(
                    "{} sign-ins of {upn} since {window}, none failed",
                    records.len()
                ),
            ));
            return Ok(Cause::NoFailures);
        }
        let mut counts: Vec<(String, usize)> = vec![];
        for f in &failures {
            let name = f["errorCodeName"].as_str().unwrap_or("?").to_string();
            match counts.iter_mut().find(|(n, _)| *n == name) {
                Some((_, k)) => *k += 1,
                None => counts.push((name, 1)),
            }
        }
        let listed = counts
            .iter()
            .map(|(n, k)| format!("{n} ×{k}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.step(Step::new(
            "signIn",
            format!(
                "{} of {} sign-ins of {upn} since {window} failed ({listed})",
                failures.len(),
                records.len()
            ),
        ));
        let latest = failures[0].clone();
        let cause = self.record(&latest, false).await;
        if let Some(s) = records.iter().find(|r| r["status"]["errorCode"] == 0) {
            if s["createdDateTime"].as_str() > latest["createdDateTime"].as_str() {
                self.step(
                    Step::new(
                        "signIn",
                        format!(
                            "a later sign-in at {} succeeded",
                            s["createdDateTime"].as_str().unwrap_or("")
                        ),
                    )
                    .at(s["createdDateTime"].as_str().map(str::to_string)),
                );
            }
        }
        Ok(cause)
    }

    /// Explain one sign-in record (Graph shape).
    async fn record(&mut self, r: &Value, after_expiry: bool) -> Cause {
        let at = r["createdDateTime"].as_str().map(str::to_string);
        let cid = r["correlationId"].as_str().unwrap_or("").to_string();
        let who = r["userPrincipalName"]
            .as_str()
            .map(|u| format!("of {u} "))
            .unwrap_or_default();
        let app = match (r["appDisplayName"].as_str(), r["appId"].as_str()) {
            (Some(n), Some(id)) if n != id => format!("{n} ({id})"),
            (_, Some(id)) => id.to_string(),
            _ => "an unknown client".into(),
        };
        let kind = match (
            r["isInteractive"].as_bool(),
            r["authenticationProtocol"].as_str(),
        ) {
            (Some(true), _) => "an interactive sign-in".to_string(),
            (_, Some("client_credentials")) => {
                "a service principal sign-in (client credentials)".to_string()
            }
            (_, Some(p)) => format!("a non-interactive sign-in ({p})"),
            _ => "a non-interactive sign-in".to_string(),
        };
        let code = r["errorCodeName"].as_str().and_then(ErrorCode::from_code);
        self.root_record = Some(cid.clone());
        let Some(code) = code else {
            let mut s = Step::new(
                "signIn",
                format!(
                    "{kind} {who}to {app} at {} succeeded (sign-in {cid})",
                    at.as_deref().unwrap_or("")
                ),
            );
            s.sign_in = Some(cid);
            self.step(s.at(at));
            return Cause::Succeeded;
        };
        let lead = if after_expiry {
            "the renewal at"
        } else {
            "the sign-in at"
        };
        let reason = r["status"]["failureReason"]
            .as_str()
            .unwrap_or(code.title());
        let mut s = Step::new(
            "signIn",
            format!(
                "{lead} {} was {kind} {who}to {app} that failed with {}: {reason} (sign-in {cid})",
                at.as_deref().unwrap_or(""),
                code.code()
            ),
        )
        .at(at)
        .code(code);
        s.sign_in = Some(cid);
        self.step(s);
        let single = r["authenticationRequirement"] == "singleFactorAuthentication";
        match code {
            ErrorCode::ConditionalAccessBlocked
            | ErrorCode::MfaRequired
            | ErrorCode::ReauthenticationRequired
            | ErrorCode::PasswordChangeRequired
            | ErrorCode::ConditionalAccessUnsatisfiable => {
                let policies = r["appliedConditionalAccessPolicies"].clone();
                self.policies(code, &policies, Some(single)).await
            }
            ErrorCode::AccountDisabled => {
                let (id, upn) = (
                    r["userId"].as_str().unwrap_or("").to_string(),
                    r["userPrincipalName"].as_str().unwrap_or("").to_string(),
                );
                let _ = self
                    .audit_step(
                        &id,
                        &upn,
                        &[audit::DISABLE_ACCOUNT.name],
                        "the account was disabled",
                    )
                    .await;
                self.fix.push(format!(
                    "if the account should sign in: portvakt user enable --tenant {} {upn}",
                    self.tenant
                ));
                Cause::UserDisabled
            }
            ErrorCode::RefreshTokenRevoked | ErrorCode::RefreshTokenReused => {
                self.fix.push(if code == ErrorCode::RefreshTokenReused {
                    "a rotated refresh token was used twice: make the client keep the newest refresh token of every response, then sign in again".into()
                } else {
                    "sign in again interactively: the refresh token's family was revoked".into()
                });
                Cause::FamilyRevoked
            }
            ErrorCode::RefreshTokenExpired => {
                self.fix.push(
                    "sign in again interactively: the refresh token's lifetime is over".into(),
                );
                Cause::RefreshTokenExpired
            }
            other => {
                self.fix.push(other.fix().to_string());
                Cause::SignInFailed
            }
        }
    }

    /// The policies behind a Conditional Access refusal (`policies`: Graph's
    /// `appliedConditionalAccessPolicies`); `single`: whether the session was
    /// single-factor, when known.
    async fn policies(&mut self, code: ErrorCode, policies: &Value, single: Option<bool>) -> Cause {
        let failing: Vec<Value> = policies
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|p| p["result"] == "failure")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let cause = match code {
            ErrorCode::MfaRequired => Cause::MfaRequired,
            ErrorCode::ReauthenticationRequired => Cause::SignInFrequency,
            ErrorCode::PasswordChangeRequired => Cause::PasswordChangeRequired,
            _ => Cause::BlockedByPolicy,
        };
        let mut names = vec![];
        let first_id = failing
            .first()
            .and_then(|p| p["id"].as_str())
            .unwrap_or("<id>")
            .to_string();
        for p in &failing {
            let id = p["id"].as_str().unwrap_or("").to_string();
            let name = p["displayName"].as_str().unwrap_or("").to_string();
            let grants: Vec<&str> = p["enforcedGrantControls"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let sessions: Vec<&str> = p["enforcedSessionControls"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let what = if grants.contains(&"block") {
                "blocks access".to_string()
            } else if cause == Cause::SignInFrequency {
                format!("requires signing in again ({})", sessions.join(", "))
            } else {
                format!("requires {}", grants.join(" or "))
            };
            let mut text = format!("policy '{name}' (id {id}) {what}");
            // The evaluation's reason reads "applies: requires mfa; this session …".
            let reason = p["reason"].as_str().unwrap_or("");
            let reason = reason.strip_prefix("applies: ").unwrap_or(reason);
            if let Some(rest) = reason.strip_prefix(what.as_str()) {
                text.push_str(rest);
            } else if !reason.is_empty() {
                text.push_str(&format!(": {reason}"));
            } else if cause == Cause::MfaRequired && single == Some(true) {
                text.push_str(", the session was single-factor");
            }
            let mut s = Step::new("policy", text).code(code);
            s.policy = Some(PolicyRef {
                id: id.clone(),
                display_name: name.clone(),
            });
            self.step(s);
            let _ = self.policy_history(&id, &name).await;
            names.push(name);
        }
        let named = if names.is_empty() {
            "the policy".to_string()
        } else {
            names
                .iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let relax = format!(
            "if the account should not be affected: exclude it (or its group) from {named}, or set the policy to report-only (enabledForReportingButNotEnforced); see first whom the change affects with `portvakt policy replay --tenant {} --policy {first_id} --state enabledForReportingButNotEnforced`",
            self.tenant
        );
        match cause {
            Cause::MfaRequired => self.fix.push(
                "sign in interactively and complete MFA (the application must start a new authorization request: a refresh token or a silent request cannot satisfy MFA)".into(),
            ),
            Cause::SignInFrequency => self.fix.push(format!(
                "sign in again interactively: {named} requires a fresh sign-in at its interval"
            )),
            Cause::PasswordChangeRequired => {
                self.fix.push("sign in interactively and change the password".into())
            }
            _ => {}
        }
        self.fix.push(relax);
        cause
    }

    /// When the policy was last switched on (or created enabled), by whom, and its
    /// state now.
    async fn policy_history(&mut self, id: &str, name: &str) -> Result<(), ApiError> {
        let found = self
            .audit_find(|a| {
                a.target_resources.iter().any(|t| {
                    (t.id == id || t.display_name == name)
                        && t.modified_properties
                            .iter()
                            .any(|p| p.display_name == "state" && p.new_value == "\"enabled\"")
                })
            })
            .await?;
        if let Some(a) = found {
            let verb = if a.activity_display_name == audit::ADD_POLICY.name {
                "created enabled"
            } else {
                "switched on"
            };
            self.step(
                Step::new(
                    "audit",
                    format!(
                        "the policy was {verb} at {} by {} (audit record {})",
                        a.activity_date_time,
                        initiator(&a),
                        a.correlation_id
                    ),
                )
                .at(Some(a.activity_date_time.clone())),
            );
        }
        match self.d.policies.iter().find(|p| p.id == id) {
            None => self.step(Step::new(
                "policy",
                "the policy has since been deleted: a new sign-in is not affected by it",
            )),
            Some(p) => {
                let state = serde_json::from_str::<Value>(&p.json)
                    .ok()
                    .and_then(|v| v["state"].as_str().map(str::to_string))
                    .unwrap_or_default();
                if state != "enabled" {
                    self.step(Step::new(
                        "policy",
                        format!("the policy is now '{state}': a new sign-in is not enforced by it"),
                    ));
                }
            }
        }
        Ok(())
    }

    // ----- the audit log ---------------------------------------------------------

    async fn audit_find(
        &mut self,
        pred: impl Fn(&DirectoryAudit) -> bool,
    ) -> Result<Option<DirectoryAudit>, ApiError> {
        if self.audits.is_none() {
            let mut all = vec![];
            let mut before = None;
            while all.len() < AUDIT_SCAN as usize {
                let page = self
                    .st
                    .store
                    .audits(&AuditQuery {
                        tenant: self.tenant.to_string(),
                        before,
                        limit: 1000,
                        ..Default::default()
                    })
                    .await?;
                all.extend(page.records);
                match page.next {
                    Some(n) => before = Some(n),
                    None => break,
                }
            }
            self.audits = Some(all);
        }
        Ok(self
            .audits
            .as_ref()
            .and_then(|a| a.iter().find(|r| r.result == "success" && pred(r)).cloned()))
    }

    /// The newest successful audit record of `activities` on the user.
    async fn audit_step(
        &mut self,
        user_id: &str,
        upn: &str,
        activities: &[&str],
        what: &str,
    ) -> Result<(), ApiError> {
        let found = self
            .audit_find(|a| {
                activities.contains(&a.activity_display_name.as_str())
                    && a.target_resources.iter().any(|t| {
                        (!user_id.is_empty() && t.id == user_id)
                            || t.display_name.eq_ignore_ascii_case(upn)
                    })
            })
            .await?;
        if let Some(a) = found {
            self.step(
                Step::new(
                    "audit",
                    format!(
                        "{what} at {} by {} (audit record {})",
                        a.activity_date_time,
                        initiator(&a),
                        a.correlation_id
                    ),
                )
                .at(Some(a.activity_date_time.clone())),
            );
        }
        Ok(())
    }
}

fn initiator(a: &DirectoryAudit) -> String {
    if let Some(u) = &a.initiated_by.user {
        return u.user_principal_name.clone();
    }
    if let Some(app) = &a.initiated_by.app {
        return format!("{} ({})", app.display_name, app.app_id);
    }
    "an unknown initiator".into()
}
