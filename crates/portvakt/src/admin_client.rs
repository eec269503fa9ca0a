//! The CLI's client for the admin API: finds the server and credential, gets a token
//! by client credentials from the system tenant, and turns error bodies into
//! [`CliError::Api`].

use crate::error::CliError;
use crate::Target;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;

/// Where and who.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credential {
    url: String,
    client_id: String,
    client_secret: String,
}

/// An authenticated admin session.
pub struct AdminClient {
    http: reqwest::Client,
    url: String,
    token: String,
}

fn credential(target: &Target) -> Result<Credential, CliError> {
    if let (Ok(url), Ok(client_id), Ok(client_secret)) = (
        std::env::var("PORTVAKT_URL"),
        std::env::var("PORTVAKT_CLIENT_ID"),
        std::env::var("PORTVAKT_CLIENT_SECRET"),
    ) {
        return Ok(Credential {
            url,
            client_id,
            client_secret,
        });
    }
    let path = target.data_dir().join("admin.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        CliError::Config(format!(
            "cannot read the admin credential {}: {e}\nfix: run the command where 'portvakt serve' keeps its data (--data DIR), or set PORTVAKT_URL, PORTVAKT_CLIENT_ID and PORTVAKT_CLIENT_SECRET",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        CliError::Config(format!(
            "{} is not a valid admin credential: {e}",
            path.display()
        ))
    })
}

async fn error_from(res: reqwest::Response) -> CliError {
    let status = res.status().as_u16();
    let correlation = res
        .headers()
        .get("x-correlation-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    let s = |k: &str| body.get(k).and_then(|v| v.as_str()).map(str::to_string);
    CliError::Api {
        status,
        code: s("error_code").unwrap_or_else(|| format!("HTTP {status}")),
        description: s("error_description")
            .unwrap_or_else(|| "the server gave no description".into()),
        fix: s("fix").unwrap_or_else(|| "see the server log".into()),
        correlation_id: s("correlation_id").unwrap_or(correlation),
    }
}

impl AdminClient {
    /// Log in with the credential found from `target`.
    pub async fn connect(target: &Target) -> Result<Self, CliError> {
        let cred = credential(target)?;
        let url = cred.url.trim_end_matches('/').to_string();
        let http = portvakt_guard::http::client(
            std::time::Duration::from_secs(30),
            concat!("portvakt-cli/", env!("CARGO_PKG_VERSION")),
        )
        .map_err(CliError::Config)?;
        let token_url = format!("{url}/system/oauth2/token");
        let res = http
            .post(&token_url)
            .basic_auth(
                form_encode(&cred.client_id),
                Some(form_encode(&cred.client_secret)),
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&scope=urn%3Aportvakt%3Aadmin%2Fadmin")
            .send()
            .await
            .map_err(|e| CliError::Unreachable {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        if !res.status().is_success() {
            return Err(error_from(res).await);
        }
        let body: Value = res
            .json()
            .await
            .map_err(|e| CliError::Io(format!("token response: {e}")))?;
        let token = body
            .get("access_token")
            .and_then(|v| v.as_str())
            .ok_or_else(|| CliError::Io("token response has no access_token".into()))?
            .to_string();
        Ok(Self { http, url, token })
    }

    /// Call the admin API; `path` starts after `/admin/v1`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, CliError> {
        let mut req = self
            .http
            .request(method, format!("{}/admin/v1{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.map_err(|e| CliError::Unreachable {
            url: self.url.clone(),
            reason: e.to_string(),
        })?;
        if res.status() == StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        if !res.status().is_success() {
            return Err(error_from(res).await);
        }
        res.json()
            .await
            .map_err(|e| CliError::Io(format!("response is not JSON: {e}")))
    }
}

/// `application/x-www-form-urlencoded` encoding of one value (RFC 6749 §2.3.1 asks
/// for it on Basic credentials).
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Percent-encode a path segment.
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
