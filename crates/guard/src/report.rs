//! Human and JSON renderings of a token for the CLI (`portvakt token decode` and
//! `portvakt token validate`). Never panics; an unreadable token is a report too.

use crate::config::GuardConfig;
use crate::error::GuardError;
use crate::hints::ClockOffset;
use crate::timefmt::{ago_or_ahead, fmt_duration, fmt_utc};
use crate::token::{numeric_date, UnverifiedToken};
use crate::validator::Guard;
use serde_json::{json, Value};
use std::io::Read;

/// Largest token the CLI will decode for display.
const MAX_DECODE_BYTES: usize = 64 * 1024;

/// The verdict on one token, renderable for people ([`Report::human`]) and scripts
/// ([`Report::json`]).
#[derive(Debug, Clone)]
pub struct Report {
    /// `decode`: the token could be decoded (its signature was NOT checked).
    /// `validate`: every check passed.
    pub valid: bool,
    /// `"decode"` or `"validate"`.
    pub mode: &'static str,
    /// Why not, when not.
    pub error: Option<GuardError>,
    /// The JOSE header, when it could be decoded.
    pub header: Option<Value>,
    /// The claims, when they could be decoded.
    pub claims: Option<Value>,
    /// The time the report was made (seconds since the epoch).
    pub now: i64,
    /// The issuer it was validated against (validate only).
    pub issuer: Option<String>,
    /// The accepted audiences (validate only).
    pub audiences: Vec<String>,
    /// The issuer's key ids seen (validate only).
    pub key_ids: Vec<String>,
    /// The issuer's clock offset measured from its `Date` header (validate only).
    pub clock_offset: Option<ClockOffset>,
    /// Link to the error's page (validate only).
    pub error_uri: Option<String>,
}

/// Read the token argument: `-` means standard input. Surrounding whitespace (the
/// newline of `echo`) is removed; anything else is left for the validator to judge.
pub fn token_from_arg(arg: &str) -> std::io::Result<String> {
    if arg == "-" {
        let mut s = String::new();
        std::io::stdin()
            .take(MAX_DECODE_BYTES as u64 + 1)
            .read_to_string(&mut s)?;
        Ok(s.trim().to_string())
    } else {
        Ok(arg.to_string())
    }
}

/// Decode a token without verifying it: header, claims and times (UTC and relative
/// to `now`).
pub fn decode_report(token: &str, now: i64) -> Report {
    let mut r = Report {
        valid: false,
        mode: "decode",
        error: None,
        header: None,
        claims: None,
        now,
        issuer: None,
        audiences: vec![],
        key_ids: vec![],
        clock_offset: None,
        error_uri: None,
    };
    if token.len() > MAX_DECODE_BYTES {
        r.error = Some(GuardError::new(crate::error::ErrorKind::TooLarge {
            size: token.len(),
            limit: MAX_DECODE_BYTES,
        }));
        return r;
    }
    match UnverifiedToken::parse(token) {
        Ok(t) => {
            r.valid = true;
            r.header = Some(Value::Object(t.header().json.clone()));
            r.claims = Some(Value::Object(t.untrusted_claims().clone()));
        }
        Err(e) => r.error = Some(e),
    }
    r
}

/// Validate a token against `issuer` (discovery and JWKS fetched as the library
/// does), the accepted `audience`s, required `scopes` and clock `leeway` (seconds).
pub async fn validate_report(
    issuer: &str,
    audience: &[String],
    scopes: &[String],
    leeway: u64,
    token: &str,
) -> Report {
    let mut c = GuardConfig::issuer(issuer).leeway(leeway);
    for a in audience {
        c = c.audience(a.clone());
    }
    for s in scopes {
        c = c.scope(s.clone());
    }
    validate_report_with(c, token).await
}

/// [`validate_report`] with a full configuration (clock, JWKS URL, limits...).
pub async fn validate_report_with(config: GuardConfig, token: &str) -> Report {
    let config = config.background_refresh(false).token_cache_capacity(0);
    let mut r = decode_report(token, config.clock.now());
    r.mode = "validate";
    r.valid = false;
    r.issuer = Some(config.issuer.clone());
    r.audiences = config.audiences.clone();
    let guard = match Guard::new(config) {
        Ok(g) => g,
        Err(e) => {
            r.error = Some(e);
            return r;
        }
    };
    match guard.validate(token).await {
        Ok(_) => {
            r.valid = true;
            r.error = None;
        }
        Err(e) => {
            r.error_uri = Some(guard.config().error_uri(e.code().code()));
            r.error = Some(e);
        }
    }
    r.key_ids = guard.key_ids();
    r.clock_offset = guard.clock_offset();
    r
}

fn times(claims: &Value, now: i64) -> Vec<(&'static str, i64)> {
    ["iat", "nbf", "exp", "auth_time"]
        .into_iter()
        .filter_map(|c| claims.get(c).and_then(numeric_date).map(|v| (c, v)))
        .filter(|_| now != i64::MIN)
        .collect()
}

impl Report {
    /// The verdict in one line.
    pub fn verdict(&self) -> String {
        match (&self.error, self.mode) {
            (None, "decode") => {
                "DECODED (signature NOT verified; use 'portvakt token validate' to check it)".into()
            }
            (None, _) => {
                "VALID: signature, typ, issuer, audience, times and required scopes all check out"
                    .into()
            }
            (Some(e), _) => format!("INVALID: {} {}", e.code().code(), e.code().title()),
        }
    }

    /// A report for people.
    pub fn human(&self) -> String {
        let mut s = format!("{}\n", self.verdict());
        if let Some(e) = &self.error {
            s.push_str(&format!("  reason: {e}\n"));
            for h in e.hints() {
                s.push_str(&format!("  hint [{}]: {}\n", h.id, h.message));
            }
            s.push_str(&format!("  fix: {}\n", e.fix()));
            if let Some(u) = &self.error_uri {
                s.push_str(&format!("  more: {u}\n"));
            }
        }
        if let Some(i) = &self.issuer {
            s.push_str(&format!(
                "\nChecked against issuer {i}, audience {}\n",
                self.audiences.join(" | ")
            ));
            if !self.key_ids.is_empty() {
                s.push_str(&format!(
                    "  issuer's key ids: {}\n",
                    self.key_ids.join(", ")
                ));
            }
            if let Some(o) = self.clock_offset.filter(|o| o.offset.abs() >= 2) {
                s.push_str(&format!(
                    "  issuer's clock is {} {} this host's (from its Date header)\n",
                    fmt_duration(o.offset),
                    if o.offset > 0 { "ahead of" } else { "behind" }
                ));
            }
        }
        let pretty = |v: &Value| {
            serde_json::to_string_pretty(v)
                .unwrap_or_default()
                .replace('\n', "\n  ")
        };
        if let Some(h) = &self.header {
            s.push_str(&format!("\nHeader:\n  {}\n", pretty(h)));
        }
        if let Some(c) = &self.claims {
            s.push_str(&format!("\nClaims:\n  {}\n", pretty(c)));
            let t = times(c, self.now);
            if !t.is_empty() {
                s.push_str(&format!("\nTimes (now {}):\n", fmt_utc(self.now)));
                for (name, v) in t {
                    s.push_str(&format!(
                        "  {name:<9} {}  ({})\n",
                        fmt_utc(v),
                        ago_or_ahead(v, self.now)
                    ));
                }
                if let (Some(iat), Some(exp)) = (
                    c.get("iat").and_then(numeric_date),
                    c.get("exp").and_then(numeric_date),
                ) {
                    s.push_str(&format!(
                        "  lifetime  {}\n",
                        fmt_duration(exp.saturating_sub(iat))
                    ));
                }
            }
        }
        s
    }

    /// A report for scripts.
    pub fn json(&self) -> Value {
        let mut j = json!({
            "valid": self.valid,
            "mode": self.mode,
            "verdict": self.verdict(),
            "now": self.now,
            "header": self.header,
            "claims": self.claims,
        });
        if let Some(e) = &self.error {
            j["error"] = json!({
                "code": e.code().code(),
                "oauth_error": e.code().oauth_error(),
                "status": e.status(),
                "title": e.code().title(),
                "message": e.to_string(),
                "hints": e.hints().iter().map(|h| json!({"id": h.id, "message": h.message})).collect::<Vec<_>>(),
                "fix": e.fix(),
                "error_uri": self.error_uri,
            });
        }
        if let Some(c) = &self.claims {
            let mut t = serde_json::Map::new();
            for (name, v) in times(c, self.now) {
                t.insert(
                    name.into(),
                    json!({"unix": v, "utc": fmt_utc(v), "relative": ago_or_ahead(v, self.now)}),
                );
            }
            j["times"] = Value::Object(t);
        }
        if let Some(i) = &self.issuer {
            j["issuer"] = i.clone().into();
            j["audiences"] = json!(self.audiences);
            j["key_ids"] = json!(self.key_ids);
            j["clock_offset_secs"] = json!(self.clock_offset.map(|o| o.offset));
        }
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_of_garbage_is_a_report_not_a_panic() {
        for t in ["", "x", "a.b.c", "....", "Bearer x.y.z", "\u{0}\u{ffff}"] {
            let r = decode_report(t, 0);
            assert!(!r.valid, "{t}");
            assert!(r.human().starts_with("INVALID: PV2003"), "{}", r.human());
            assert_eq!(r.json()["error"]["code"], "PV2003");
        }
    }
}
