//! Calling the Analytics API with silent renewal: when the API answers
//! `invalid_token` because the access token expired (the guard's PV2011), renew it
//! with the refresh token — a non-interactive sign-in at Portvakt — and retry once.
//! Reloading a page goes through here too: "refreshing the page refreshes the token".

use crate::failure::{ApiRefusal, Failure};
use crate::oidc::{Client, Tokens};
use reqwest::Method;
use serde_json::Value;

/// The guard's code for an expired access token (docs/errors.md).
pub const TOKEN_EXPIRED: &str = "PV2011";

/// A renewal that happened, for the page to show.
#[derive(Debug, Clone)]
pub struct Renewal {
    /// When the old access token expired (unix seconds).
    pub expired_at: i64,
    /// When it was renewed.
    pub at: i64,
    /// The correlation id of the non-interactive sign-in that renewed it.
    pub correlation_id: Option<String>,
    /// What the API said when it refused the expired token.
    pub refusal: String,
}

/// The tokens of a signed-in session and what happened to them.
#[derive(Debug, Clone)]
pub struct Held {
    /// The current tokens.
    pub tokens: Tokens,
    /// The last silent renewal.
    pub last_renewal: Option<Renewal>,
}

enum Answer {
    Ok(Value),
    Refused(ApiRefusal),
}

async fn send(c: &Client, url: &str, method: &Method, token: &str) -> Answer {
    let r = match c
        .http()
        .request(method.clone(), url)
        .bearer_auth(token)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => {
            return Answer::Refused(ApiRefusal {
                status: 0,
                description: format!("the Analytics API could not be reached: {e}"),
                ..ApiRefusal::default()
            })
        }
    };
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        Answer::Ok(v)
    } else {
        Answer::Refused(ApiRefusal::from_body(status, &v))
    }
}

/// `method url` with the held access token; on an expired token, renew and retry
/// once. The caller holds the session's lock, so two requests of one browser never
/// renew at once (a refresh token is single-use: a second renewal would be reuse).
pub async fn call(
    c: &Client,
    held: &mut Held,
    method: Method,
    url: &str,
    now: impl Fn() -> i64,
) -> Result<Value, Failure> {
    let refused = match send(c, url, &method, &held.tokens.access_token).await {
        Answer::Ok(v) => return Ok(v),
        Answer::Refused(r) => r,
    };
    if refused.status != 401 || refused.code.as_deref() != Some(TOKEN_EXPIRED) {
        return Err(Failure::Api(refused));
    }
    let Some(rt) = held.tokens.refresh_token.clone() else {
        return Err(Failure::Api(refused));
    };
    let expired_at = held.tokens.expires_at;
    let tokens = c
        .refresh(&rt, now())
        .await
        .map_err(|error| Failure::Renewal {
            error,
            refused: refused.clone(),
        })?;
    tracing::info!(correlation_id = ?tokens.correlation_id, "access token renewed with the refresh token");
    held.last_renewal = Some(Renewal {
        expired_at,
        at: now(),
        correlation_id: tokens.correlation_id.clone(),
        refusal: refused.description.clone(),
    });
    held.tokens = tokens;
    match send(c, url, &method, &held.tokens.access_token).await {
        Answer::Ok(v) => Ok(v),
        Answer::Refused(r) => Err(Failure::Api(r)),
    }
}
