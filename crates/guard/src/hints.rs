//! Likely causes, derived only from evidence that is present (see
//! `research/token-failure-causes.md` §14). A hint never relaxes a check; it only
//! explains one.

use crate::error::Hint;
use crate::timefmt::{fmt_duration, fmt_utc};
use crate::token::numeric_date;
use serde_json::{Map, Value};
use url::{Host, Url};

/// The issuer's clock relative to this host's, measured from the HTTP `Date` header
/// of a discovery or JWKS response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockOffset {
    /// Issuer time minus local time, seconds (positive: this host is behind).
    pub offset: i64,
    /// Local time of the measurement.
    pub measured_at: i64,
}

/// Hints about the shape of the raw token string (research §14.3).
pub fn format_hints(token: &str) -> Vec<Hint> {
    let mut out = Vec::new();
    let t = token.trim();
    let lower = t.to_ascii_lowercase();
    if lower.starts_with("bearer ") || lower.starts_with("bearer%20") {
        out.push(Hint::new(
            "FMT-PREFIX",
            "the token starts with 'Bearer ': the caller put the whole Authorization value where only the token belongs (a header-parsing bug in the caller); send the part after 'Bearer ' only",
        ));
    } else if lower.starts_with("basic ") {
        out.push(Hint::new(
            "FMT-PREFIX",
            "the value is Basic credentials, not a bearer token",
        ));
    }
    if t.starts_with('"')
        || t.ends_with('"')
        || t.starts_with('\'')
        || t.ends_with('\'')
        || t.contains("\\\"")
    {
        out.push(Hint::new(
            "FMT-QUOTES",
            "the token is wrapped in quotes: it was probably copied from JSON or serialized twice; send the string without quotes",
        ));
    }
    if token != t || t.chars().any(char::is_whitespace) && !lower.starts_with("bearer ") {
        out.push(Hint::new(
            "FMT-WHITESPACE",
            "the token contains whitespace or line breaks (copy/paste or a header-parsing bug); strip it",
        ));
    }
    if matches!(
        lower.as_str(),
        "null" | "undefined" | "none" | "nan" | "[object object]"
    ) || t.is_empty()
    {
        out.push(Hint::new(
            "FMT-PLACEHOLDER",
            format!("the token is '{t}': the client sent a placeholder because it had no token yet (it should sign in or refresh first)"),
        ));
    }
    let dots = t.bytes().filter(|b| *b == b'.').count();
    if dots == 0 && !t.is_empty() && !out.iter().any(|h| h.id == "FMT-PLACEHOLDER") {
        out.push(Hint::new(
            "FMT-OPAQUE",
            "no dots: this is an opaque (reference) token, not a JWT. Some issuers hand out opaque tokens when no audience/resource was requested; ask Portvakt for a token for this API (scope '{resource}/...' or resource=...)",
        ));
    }
    if dots == 4 {
        let enc = t
            .split('.')
            .next()
            .and_then(portvakt_jose::b64url_decode)
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .map(|h| {
                format!(
                    " (header alg '{}', enc '{}')",
                    h["alg"].as_str().unwrap_or("?"),
                    h["enc"].as_str().unwrap_or("?")
                )
            })
            .unwrap_or_default();
        out.push(Hint::new(
            "FMT-JWE",
            format!("5 parts: an encrypted token (JWE){enc}. The issuer encrypted it, typically because no audience for this API was requested; request a token for this API"),
        ));
    }
    if t.contains('+') || t.contains('/') || t.ends_with('=') {
        out.push(Hint::new(
            "FMT-BASE64-STD",
            "the token uses '+', '/' or '=': it was encoded with standard base64 or URL-decoded/encoded on the way; JWS uses base64url without padding",
        ));
    }
    out
}

/// Hints for a refused `alg` (research §14.6).
pub fn alg_hints(alg: &str, key_algs: &[&str]) -> Vec<Hint> {
    let keys = if key_algs.is_empty() {
        "none loaded".to_string()
    } else {
        key_algs.join(", ")
    };
    if alg.eq_ignore_ascii_case("none") {
        vec![Hint::new(
            "ALG-NONE",
            "the token is unsigned (alg 'none'); unsigned tokens are never accepted (RFC 8725 §3.1). Someone built it by hand, or is probing for a validator that trusts the header",
        )]
    } else if alg.starts_with("HS") {
        vec![Hint::new(
            "ALG-HS-WITH-ASYM",
            format!("HMAC algorithm '{alg}' against the issuer's asymmetric keys ({keys}): either an issuer-internal token (not meant for APIs) or a forgery signed with the public key as an HMAC secret"),
        )]
    } else {
        vec![Hint::new(
            "ALG-NOT-ALLOWED",
            format!("the issuer's keys use {keys}; this token claims '{alg}'. Tokens from another issuer, or an issuer configured with another algorithm"),
        )]
    }
}

fn is_internal_host(h: &Host<&str>) -> bool {
    match h {
        Host::Ipv4(ip) => ip.is_loopback() || ip.is_private() || ip.is_link_local(),
        Host::Ipv6(ip) => ip.is_loopback(),
        Host::Domain(d) => {
            let d = d.to_ascii_lowercase();
            !d.contains('.')
                || d.ends_with(".svc")
                || d.contains(".svc.")
                || d.ends_with(".cluster.local")
                || d.ends_with(".internal")
                || d.ends_with(".local")
                || d == "host.docker.internal"
        }
    }
}

/// Hints for an issuer mismatch: which part of the URL differs (research §14.1).
pub fn issuer_hints(expected: &str, found: &str) -> Vec<Hint> {
    let mut out = Vec::new();
    if expected.trim() == found.trim() {
        out.push(Hint::new("ISS-WHITESPACE", "the issuers differ only in surrounding whitespace: check the configuration for stray spaces"));
        return out;
    }
    if expected.trim_end_matches('/') == found.trim_end_matches('/') {
        let who = if found.ends_with('/') {
            "the token's issuer ends with '/', the configured one does not"
        } else {
            "the configured issuer ends with '/', the token's does not"
        };
        out.push(Hint::new(
            "ISS-TRAILING-SLASH",
            format!("the issuers differ only by a trailing slash ({who}). Issuers compare as exact strings; copy 'iss' verbatim from a decoded token or from the issuer's discovery document"),
        ));
        return out;
    }
    if expected.eq_ignore_ascii_case(found) {
        out.push(Hint::new("ISS-CASE", "the issuers differ only in letter case; issuers compare as exact, case-sensitive strings"));
        return out;
    }
    let (Ok(e), Ok(f)) = (Url::parse(expected), Url::parse(found)) else {
        if Url::parse(found).is_err() {
            out.push(Hint::new("ISS-NOT-URL", "the token's issuer is not a URL: it comes from another kind of issuer (or is not a Portvakt access token)"));
        }
        return out;
    };
    if e == f {
        out.push(Hint::new(
            "ISS-NOTATION",
            "the issuers are the same URL written differently (an explicit default port like ':443', or case in the host); issuers compare as exact strings, so the issuer's public URL and this configuration must be written identically",
        ));
        return out;
    }
    let scheme = e.scheme() != f.scheme();
    let host = e.host_str() != f.host_str();
    let port = e.port_or_known_default() != f.port_or_known_default()
        && !(scheme && e.port().is_none() && f.port().is_none());
    let path = e.path().trim_end_matches('/') != f.path().trim_end_matches('/');
    let parts: Vec<&str> = [
        ("scheme", scheme),
        ("host", host),
        ("port", port),
        ("path", path),
    ]
    .into_iter()
    .filter(|(_, d)| *d)
    .map(|(n, _)| n)
    .collect();
    if scheme && !host && !path {
        out.push(Hint::new(
            "ISS-SCHEME",
            format!("the issuers differ only in scheme ({} expected, {} in the token): a TLS-terminating proxy that does not forward X-Forwarded-Proto/Forwarded, or a public URL configured with the wrong scheme. Set Portvakt's public_url to the URL clients use", e.scheme(), f.scheme()),
        ));
    }
    if host && !scheme && !path {
        let (eh, fh) = (e.host_str().unwrap_or(""), f.host_str().unwrap_or(""));
        let internal = match (e.host(), f.host()) {
            (Some(a), Some(b)) => (is_internal_host(&a), is_internal_host(&b)),
            _ => (false, false),
        };
        let why = match internal {
            (false, true) => format!(" '{fh}' is an internal name: the token was minted through an internal address; pin the issuer's public URL"),
            (true, false) => format!(" '{eh}' is an internal name: configure this API with the public issuer and, if needed, a separate JWKS URL for the internal route"),
            _ => String::new(),
        };
        out.push(Hint::new(
            "ISS-HOST",
            format!("the issuers differ only in host ('{eh}' expected, '{fh}' in the token): the same issuer reached under another name (a proxy, Docker/Kubernetes internal vs public hostname).{why}"),
        ));
    }
    if port && !scheme && !host && !path {
        out.push(Hint::new(
            "ISS-PORT",
            format!("the issuers differ only in port ({:?} expected, {:?} in the token): a proxy forwarding to another port, or a public URL with the wrong port", e.port_or_known_default(), f.port_or_known_default()),
        ));
    }
    if path && !scheme && !host && !port {
        let (ep, fp) = (
            e.path().trim_end_matches('/'),
            f.path().trim_end_matches('/'),
        );
        let (es, fs): (Vec<&str>, Vec<&str>) = (ep.split('/').collect(), fp.split('/').collect());
        if es.len() == fs.len() && es[..es.len() - 1] == fs[..fs.len() - 1] {
            out.push(Hint::new(
                "ISS-TENANT",
                format!("the token is from tenant '{}', this API trusts tenant '{}' of the same Portvakt: the client asked the wrong tenant's token endpoint, or the API is configured for the wrong tenant", fs.last().copied().unwrap_or(""), es.last().copied().unwrap_or("")),
            ));
        } else if ep.ends_with(fp) || fp.ends_with(ep) {
            out.push(Hint::new(
                "ISS-PATH-PREFIX",
                format!("the issuers differ by a path prefix ('{ep}' expected, '{fp}' in the token): the issuer's base path changed, or a proxy adds/strips a prefix"),
            ));
        } else {
            out.push(Hint::new(
                "ISS-PATH",
                format!("the issuers differ only in path ('{ep}' expected, '{fp}' in the token)"),
            ));
        }
    }
    if out.is_empty() && parts.len() > 1 {
        out.push(Hint::new(
            "ISS-OTHER",
            format!("the issuers differ in {}: this token is probably from another issuer or environment (staging vs production?)", parts.join(" and ")),
        ));
    }
    out
}

/// Evidence that an ID token (OIDC Core §2) was sent instead of an access token.
pub fn id_token_hints(claims: &Map<String, Value>) -> Vec<Hint> {
    let mut evidence = Vec::new();
    for c in ["nonce", "at_hash", "c_hash", "auth_time"] {
        if claims.contains_key(c) {
            evidence.push(format!("it has '{c}'"));
        }
    }
    let aud: Vec<&str> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    for c in ["client_id", "azp"] {
        if let Some(id) = claims.get(c).and_then(Value::as_str) {
            if aud.contains(&id) {
                evidence.push(format!("its aud is the client id ('{id}')"));
                break;
            }
        }
    }
    if evidence.is_empty() {
        return vec![];
    }
    vec![Hint::new(
        "AUD-IS-IDTOKEN",
        format!("this looks like an ID token ({}): APIs must receive the access_token from the token response, not the id_token", evidence.join(", ")),
    )]
}

/// Hints for an audience mismatch (research §14.2).
pub fn audience_hints(
    expected: &[String],
    found: &[String],
    claims: &Map<String, Value>,
) -> Vec<Hint> {
    let mut out = id_token_hints(claims);
    if expected.is_empty() {
        out.push(Hint::new("AUD-NOT-CONFIGURED", "this API is configured with no accepted audience, so every token is refused; configure its resource identifier"));
    }
    let norm = |s: &str| s.trim().trim_end_matches('/').to_ascii_lowercase();
    for f in found {
        if let Some(e) = expected.iter().find(|e| norm(e) == norm(f)) {
            out.push(Hint::new(
                "AUD-NEAR-MATCH",
                format!("'{f}' differs from the accepted '{e}' only by case, whitespace or a trailing slash: audiences compare exactly; fix the configuration or the resource identifier"),
            ));
        }
    }
    if out.is_empty() && !found.is_empty() {
        out.push(Hint::new(
            "AUD-OTHER-API",
            "the token was minted for another API: the client must request a token for this API (scope '{resource}/...' or resource={resource}); one token cannot serve two resources",
        ));
    }
    out
}

/// Hints for a time failure (research §14.4). `delta` is the failing claim minus
/// `now`; `offset` the measured issuer-clock offset, when known.
pub fn time_hints(
    claim: &str,
    value: i64,
    now: i64,
    leeway: u64,
    claims: &Map<String, Value>,
    offset: Option<ClockOffset>,
) -> Vec<Hint> {
    let mut out = Vec::new();
    let ms: Vec<&str> = ["exp", "iat", "nbf"]
        .into_iter()
        .filter(|c| {
            claims
                .get(*c)
                .and_then(numeric_date)
                .is_some_and(|v| v > 100_000_000_000)
        })
        .collect();
    if !ms.is_empty() {
        out.push(Hint::new(
            "TIME-UNITS",
            format!("{} look like milliseconds: JWT NumericDate is seconds since 1970 (RFC 7519 §2); the issuer divides by 1000 too late or not at all", ms.join(", ")),
        ));
        return out;
    }
    let ahead = value.saturating_sub(now);
    let lw = i64::try_from(leeway).unwrap_or(i64::MAX);
    match (claim, offset) {
        ("iat" | "nbf", Some(o)) if o.offset > lw => {
            out.push(Hint::new(
                "TIME-SKEW-MEASURED",
                format!("this host's clock is behind the issuer's by {} (measured against the issuer's Date header at {}): synchronise it (NTP; VMs and WSL2/Docker Desktop drift after sleep)", fmt_duration(o.offset), fmt_utc(o.measured_at)),
            ));
        }
        ("iat" | "nbf", Some(o)) if ahead > 0 => {
            out.push(Hint::new(
                "TIME-ISSUER-FUTURE",
                format!("this host's clock agrees with the issuer's within {} (measured against its Date header at {}), so the issuer itself wrote a future '{claim}' (an nbf set ahead on purpose, or a clock bug in the signing service)", fmt_duration(o.offset), fmt_utc(o.measured_at)),
            ));
        }
        ("iat" | "nbf", None) if ahead > 0 => {
            out.push(Hint::new(
                "TIME-SKEW-AHEAD",
                format!("either this host's clock is behind the issuer's by at least {} or the issuer's is ahead: check NTP on both", fmt_duration(ahead.saturating_sub(lw))),
            ));
        }
        ("exp", Some(o)) if o.offset < -lw => {
            out.push(Hint::new(
                "TIME-SKEW-MEASURED",
                format!("this host's clock is ahead of the issuer's by {} (measured against the issuer's Date header at {}), which makes tokens expire early here: synchronise it (NTP)", fmt_duration(o.offset), fmt_utc(o.measured_at)),
            ));
        }
        ("exp", _) => {
            let lifetime = claims
                .get("iat")
                .and_then(numeric_date)
                .map(|iat| value.saturating_sub(iat));
            if let Some(l) = lifetime.filter(|l| *l > 0 && *l < lw.saturating_mul(2)) {
                out.push(Hint::new(
                    "TIME-EXPIRED-SHORT",
                    format!("the token lived only {} — shorter than twice the clock leeway ({leeway} s); clock skew decides its fate. Lengthen the access-token lifetime", fmt_duration(l)),
                ));
            } else {
                out.push(Hint::new(
                    "TIME-EXPIRED",
                    format!("the token simply expired{}: the client should refresh it on a 401 and retry; not a server fault", lifetime.filter(|l| *l > 0).map(|l| format!(" (lifetime {})", fmt_duration(l))).unwrap_or_default()),
                ));
            }
        }
        _ => {}
    }
    let off = ahead.unsigned_abs();
    if (3600 - 60..=14 * 3600 + 60).contains(&off) && (off % 3600 <= 60 || off % 3600 >= 3540) {
        out.push(Hint::new(
            "TIME-TZ",
            format!("the difference ({}) is within a minute of a whole number of hours: a timezone bug (local time written as UTC) in the issuer or on this host", fmt_duration(ahead)),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(h: &[Hint]) -> Vec<&'static str> {
        h.iter().map(|h| h.id).collect()
    }

    #[test]
    fn issuer_parts() {
        assert_eq!(
            ids(&issuer_hints(
                "https://id.example.com/t1",
                "http://id.example.com/t1"
            )),
            ["ISS-SCHEME"]
        );
        assert_eq!(
            ids(&issuer_hints(
                "https://id.example.com/t1",
                "https://id.example.com/t1/"
            )),
            ["ISS-TRAILING-SLASH"]
        );
        assert_eq!(
            ids(&issuer_hints(
                "https://id.example.com/t1",
                "https://id.example.com:8443/t1"
            )),
            ["ISS-PORT"]
        );
        assert_eq!(
            ids(&issuer_hints(
                "https://id.example.com/t1",
                "https://id.example.com:443/t1"
            )),
            ["ISS-NOTATION"]
        );
        let h = issuer_hints("https://id.example.com/t1", "http://portvakt:8080/t1");
        assert_eq!(ids(&h), ["ISS-OTHER"]);
        let h = issuer_hints("https://id.example.com/t1", "https://portvakt/t1");
        assert_eq!(ids(&h), ["ISS-HOST"]);
        assert!(h[0].message.contains("internal"), "{}", h[0].message);
        assert_eq!(
            ids(&issuer_hints(
                "https://id.example.com/t1",
                "https://id.example.com/t2"
            )),
            ["ISS-TENANT"]
        );
        assert_eq!(
            ids(&issuer_hints(
                "https://id.example.com/t1",
                "https://id.example.com/auth/t1"
            )),
            ["ISS-PATH-PREFIX"]
        );
    }

    #[test]
    fn formats() {
        assert!(ids(&format_hints("Bearer abc.def.ghi")).contains(&"FMT-PREFIX"));
        assert!(ids(&format_hints("\"abc.def.ghi\"")).contains(&"FMT-QUOTES"));
        assert_eq!(ids(&format_hints("abcdef")), ["FMT-OPAQUE"]);
        assert_eq!(ids(&format_hints("a.b.c.d.e")), ["FMT-JWE"]);
        assert_eq!(ids(&format_hints("null")), ["FMT-PLACEHOLDER"]);
    }

    #[test]
    fn times() {
        let m = serde_json::json!({"iat": 1_700_000_000_000_i64})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            ids(&time_hints(
                "iat",
                1_700_000_000_000,
                1_700_000_000,
                60,
                &m,
                None
            )),
            ["TIME-UNITS"]
        );
        let m = Map::new();
        let o = ClockOffset {
            offset: 300,
            measured_at: 1,
        };
        assert_eq!(
            ids(&time_hints("iat", 1300, 1000, 60, &m, Some(o))),
            ["TIME-SKEW-MEASURED"]
        );
        assert_eq!(
            ids(&time_hints("nbf", 1300, 1000, 60, &m, None)),
            ["TIME-SKEW-AHEAD"]
        );
        assert_eq!(
            ids(&time_hints("iat", 1000 + 7200, 1000, 60, &m, None)),
            ["TIME-SKEW-AHEAD", "TIME-TZ"]
        );
    }
}
