//! The wizard as an OpenID Connect client: a confidential web client using the
//! authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636 S256), refresh tokens
//! (RFC 6749 §6), client_secret_basic (RFC 6749 §2.3.1). Tokens stay on the server.

use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// How the wizard is registered at Portvakt.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The tenant's issuer (`{public_url}/{tenant}`).
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// The registered redirect URI (`{analytics}/callback`), matched exactly.
    pub redirect_uri: String,
}

/// The endpoints of the issuer (OpenID Connect Discovery 1.0 §3).
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
}

/// A discovered client.
#[derive(Debug, Clone)]
pub struct Client {
    /// Its registration.
    pub config: ClientConfig,
    endpoints: Discovery,
    http: reqwest::Client,
}

/// Tokens of one signed-in admin, as the token endpoint gave them.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// The access token for the Analytics API.
    pub access_token: String,
    /// The refresh token (rotated at every use).
    pub refresh_token: Option<String>,
    /// When the access token expires (unix seconds), from `expires_in`.
    pub expires_at: i64,
    /// The correlation id of the sign-in that issued them (`x-correlation-id`).
    pub correlation_id: Option<String>,
}

/// Who signed in, from the ID token.
#[derive(Debug, Clone)]
pub struct Identity {
    /// `sub`: the user's id (what the API knows the caller by).
    pub sub: String,
    /// `preferred_username` (else `sub`).
    pub user: String,
    /// `amr`: how the session authenticated (`pwd`, `mfa`, `otp`).
    pub amr: Vec<String>,
}

/// A refusal from the token endpoint: RFC 6749 §5.2 plus Portvakt's fields.
#[derive(Debug, Clone, Default)]
pub struct TokenError {
    /// HTTP status (0 when Portvakt could not be reached).
    pub status: u16,
    /// `error`.
    pub error: String,
    /// `error_description`.
    pub description: String,
    /// `error_code` (PVxxxx).
    pub code: Option<String>,
    /// `error_uri`: the troubleshooting page.
    pub error_uri: Option<String>,
    /// `correlation_id`: the sign-in record of this attempt.
    pub correlation_id: Option<String>,
    /// `policy`: the Conditional Access policy that decided (id, displayName).
    pub policy: Option<(String, String)>,
}

impl TokenError {
    fn unreachable(what: impl std::fmt::Display) -> Self {
        Self {
            error: "temporarily_unavailable".into(),
            description: format!("Portvakt could not be reached: {what}"),
            ..Self::default()
        }
    }

    /// Parse an error body (any JSON object; missing fields stay empty).
    pub fn from_body(status: u16, v: &Value) -> Self {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        Self {
            status,
            error: s("error").unwrap_or_else(|| "invalid_response".into()),
            description: s("error_description").unwrap_or_default(),
            code: s("error_code"),
            error_uri: s("error_uri"),
            correlation_id: s("correlation_id"),
            policy: v.get("policy").and_then(|p| {
                Some((
                    p.get("id")?.as_str()?.to_owned(),
                    p.get("displayName")?.as_str()?.to_owned(),
                ))
            }),
        }
    }
}

impl Client {
    /// Fetch the issuer's discovery document; its `issuer` must equal ours.
    pub async fn discover(config: ClientConfig) -> Result<Self, String> {
        let http = portvakt_guard::http::builder()?
            .timeout(Duration::from_secs(10))
            .user_agent("analytics-onboarding/0.1")
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let url = format!("{}/.well-known/openid-configuration", config.issuer);
        let endpoints: Discovery = http
            .get(&url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("{url}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if endpoints.issuer != config.issuer {
            return Err(format!(
                "{url} names the issuer {}, not {}",
                endpoints.issuer, config.issuer
            ));
        }
        Ok(Self {
            config,
            endpoints,
            http,
        })
    }

    /// The HTTP client (for the API calls too).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Where the browser goes to sign in: PKCE S256, `state`, `nonce`, the scopes of
    /// the API plus `offline_access` for a refresh token.
    pub fn authorize_url(&self, p: &AuthorizeParams<'_>) -> String {
        let scope = format!(
            "openid profile offline_access {}/{}",
            crate::demo::RESOURCE,
            crate::demo::SCOPE
        );
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", &self.config.redirect_uri)
            .append_pair("scope", &scope)
            .append_pair("state", p.state)
            .append_pair("nonce", p.nonce)
            .append_pair("code_challenge", &pkce_challenge(p.verifier))
            .append_pair("code_challenge_method", "S256")
            .append_pair("ui_locales", p.lang);
        if let Some(prompt) = p.prompt {
            q.append_pair("prompt", prompt);
        }
        format!("{}?{}", self.endpoints.authorization_endpoint, q.finish())
    }

    /// Redeem an authorization code; checks the ID token (below).
    pub async fn exchange_code(
        &self,
        code: &str,
        verifier: &str,
        nonce: &str,
        now: i64,
    ) -> Result<(Tokens, Identity), TokenError> {
        let (v, cid) = self
            .token_request(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.config.redirect_uri),
                ("code_verifier", verifier),
            ])
            .await?;
        let identity = self
            .check_id_token(&v, nonce, now)
            .map_err(|e| TokenError {
                error: "invalid_id_token".into(),
                description: e,
                ..TokenError::default()
            })?;
        Ok((tokens(&v, cid, now), identity))
    }

    /// Renew with the refresh token: a non-interactive sign-in at Portvakt, under its
    /// Conditional Access policies.
    pub async fn refresh(&self, refresh_token: &str, now: i64) -> Result<Tokens, TokenError> {
        let (v, cid) = self
            .token_request(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ])
            .await?;
        let mut t = tokens(&v, cid, now);
        // RFC 6749 §6: the server may keep the old refresh token (Portvakt rotates).
        if t.refresh_token.is_none() {
            t.refresh_token = Some(refresh_token.to_owned());
        }
        Ok(t)
    }

    /// A token request; the answer and its `x-correlation-id`.
    async fn token_request(
        &self,
        form: &[(&str, &str)],
    ) -> Result<(Value, Option<String>), TokenError> {
        let r = self
            .http
            .post(&self.endpoints.token_endpoint)
            .basic_auth(
                form_encode(&self.config.client_id),
                Some(form_encode(&self.config.client_secret)),
            )
            .form(form)
            .send()
            .await
            .map_err(TokenError::unreachable)?;
        let status = r.status().as_u16();
        let cid = r
            .headers()
            .get("x-correlation-id")
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned);
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if status == 200 && v.get("access_token").is_some() {
            Ok((v, cid))
        } else {
            Err(TokenError::from_body(status, &v))
        }
    }

    /// OpenID Connect Core §3.1.3.7: the ID token came straight from the token
    /// endpoint, so TLS (here: the loopback connection we opened) vouches for the
    /// sender and its signature need not be checked (item 6); `iss`, `aud`, `exp` and
    /// `nonce` still must be.
    fn check_id_token(&self, v: &Value, nonce: &str, now: i64) -> Result<Identity, String> {
        let jwt = v
            .get("id_token")
            .and_then(Value::as_str)
            .ok_or("the token response has no id_token")?;
        let payload = jwt.split('.').nth(1).ok_or("the id_token is not a JWT")?;
        let bytes = portvakt_jose::b64url_decode(payload).ok_or("the id_token is not base64url")?;
        let c: Value = serde_json::from_slice(&bytes).map_err(|e| format!("id_token: {e}"))?;
        let s = |k: &str| c.get(k).and_then(Value::as_str);
        if s("iss") != Some(self.config.issuer.as_str()) {
            return Err(format!(
                "id_token iss {:?} is not {}",
                s("iss"),
                self.config.issuer
            ));
        }
        let aud_ok = match c.get("aud") {
            Some(Value::String(a)) => *a == self.config.client_id,
            Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(&self.config.client_id)),
            _ => false,
        };
        if !aud_ok {
            return Err("id_token aud does not name this client".into());
        }
        if c.get("exp").and_then(Value::as_i64).unwrap_or(0) < now {
            return Err("id_token has expired".into());
        }
        if s("nonce") != Some(nonce) {
            return Err("id_token nonce does not match this sign-in".into());
        }
        Ok(Identity {
            sub: s("sub").unwrap_or_default().to_owned(),
            user: s("preferred_username")
                .or(s("sub"))
                .unwrap_or_default()
                .to_owned(),
            amr: c
                .get("amr")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

/// What [`Client::authorize_url`] needs.
#[derive(Debug)]
pub struct AuthorizeParams<'a> {
    /// `state`, bound to the browser's session.
    pub state: &'a str,
    /// `nonce`, checked in the ID token.
    pub nonce: &'a str,
    /// The PKCE verifier (its S256 challenge is sent).
    pub verifier: &'a str,
    /// `prompt` (`login` to force the sign-in page).
    pub prompt: Option<&'a str>,
    /// `ui_locales`: the wizard's language, so Portvakt's pages match.
    pub lang: &'a str,
}

fn tokens(v: &Value, correlation_id: Option<String>, now: i64) -> Tokens {
    Tokens {
        access_token: v["access_token"].as_str().unwrap_or_default().to_owned(),
        refresh_token: v["refresh_token"].as_str().map(str::to_owned),
        expires_at: now + v["expires_in"].as_i64().unwrap_or(0),
        correlation_id,
    }
}

/// RFC 7636 §4.2: BASE64URL(SHA256(verifier)).
pub fn pkce_challenge(verifier: &str) -> String {
    portvakt_jose::b64url_encode(&portvakt_jose::sha256(verifier.as_bytes()))
}

/// RFC 6749 §2.3.1: client id and secret are form-encoded before Basic.
fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_token_error_keeps_portvakts_fields() {
        let v = serde_json::json!({"error": "interaction_required", "error_description": "d",
            "error_code": "PV4002", "error_uri": "http://x/errors/PV4002", "correlation_id": "c1",
            "policy": {"id": "p1", "displayName": "Require MFA"}});
        let e = TokenError::from_body(400, &v);
        assert_eq!(e.code.as_deref(), Some("PV4002"));
        assert_eq!(e.correlation_id.as_deref(), Some("c1"));
        assert_eq!(e.policy, Some(("p1".into(), "Require MFA".into())));
        let e = TokenError::from_body(502, &Value::Null);
        assert_eq!((e.error.as_str(), e.code), ("invalid_response", None));
    }
}
