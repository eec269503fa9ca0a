//! Tokens in two states: [`UnverifiedToken`] (parsed, contents readable only as
//! *untrusted*) and [`VerifiedToken`] (signature, `typ` and claims checked). The only
//! way from the first to the second is [`crate::Validator`]; `VerifiedToken` has no
//! public constructor, so code holding one knows every check ran.

use crate::error::{ErrorKind, GuardError, TokenPart};
use crate::hints;
use crate::strict_json::parse_strict;
use portvakt_jose::{b64url_decode, Algorithm};
use serde_json::{Map, Value};

/// The JOSE header of a token (RFC 7515 §4), as parsed. Untrusted until verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// `alg` as written in the token; informational, the key decides (RFC 8725 §3.1).
    pub alg: String,
    /// `kid`, if present.
    pub kid: Option<String>,
    /// `typ`, if present.
    pub typ: Option<String>,
    /// Every member, for display.
    pub json: Map<String, Value>,
}

impl Header {
    /// The names of members that would make the verifier take a key from elsewhere
    /// (`jku`, `jwk`, `x5u`, `x5c`) or that demand unknown processing (`crit`).
    pub fn forbidden_members(&self) -> impl Iterator<Item = &'static str> + '_ {
        ["jku", "jwk", "x5u", "x5c", "crit"]
            .into_iter()
            .filter(|n| self.json.contains_key(*n))
    }
}

/// A compact JWS split and decoded, with nothing checked but its syntax.
#[derive(Debug, Clone)]
pub struct UnverifiedToken<'a> {
    raw: &'a str,
    header: Header,
    claims: Map<String, Value>,
    signing_input_len: usize,
    signature: Vec<u8>,
}

fn malformed(part: TokenPart, reason: impl Into<String>) -> GuardError {
    GuardError::new(ErrorKind::Malformed {
        part,
        reason: reason.into(),
    })
}

fn describe_byte(b: u8) -> String {
    match b {
        b' ' => "a space".into(),
        b'\t' => "a tab".into(),
        b'\r' | b'\n' => "a line break".into(),
        b'"' => "a double quote".into(),
        b'\'' => "a single quote".into(),
        0x21..=0x7e => format!("'{}'", b as char),
        _ => format!("byte 0x{b:02x}"),
    }
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn decode_object(seg: &str, part: TokenPart) -> Result<Map<String, Value>, GuardError> {
    let bytes = b64url_decode(seg).ok_or_else(|| {
        malformed(
            part,
            "is not valid base64url (RFC 7515 §2: URL-safe alphabet, no padding)",
        )
    })?;
    match parse_strict(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(malformed(
            part,
            format!("is {}, not a JSON object", json_kind(&other)),
        )),
        Err(e) => Err(malformed(part, format!("is not valid JSON: {e}"))),
    }
}

fn opt_string(m: &Map<String, Value>, name: &str) -> Result<Option<String>, GuardError> {
    match m.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(malformed(
            TokenPart::Header,
            format!("'{name}' must be a string, found {}", json_kind(v)),
        )),
    }
}

impl<'a> UnverifiedToken<'a> {
    /// Split and decode a compact JWS (RFC 7515 §7.1). Syntax only: nothing here is
    /// trusted. Errors name the broken part and carry format hints.
    pub fn parse(token: &'a str) -> Result<Self, GuardError> {
        Self::parse_inner(token).map_err(|e| e.with_hints(hints::format_hints(token)))
    }

    fn parse_inner(token: &'a str) -> Result<Self, GuardError> {
        if token.is_empty() {
            return Err(malformed(TokenPart::Whole, "the token is empty"));
        }
        let dots = token.bytes().filter(|b| *b == b'.').count();
        match dots {
            0 => {
                return Err(malformed(
                    TokenPart::Whole,
                    "has no dots, so it is not a JWT (a JWS has 3 dot-separated parts)",
                ))
            }
            2 => {}
            4 => return Err(malformed(
                TokenPart::Whole,
                "has 5 parts: it is an encrypted token (JWE, RFC 7516), not a signed access token",
            )),
            n => {
                return Err(malformed(
                    TokenPart::Whole,
                    format!(
                        "has {} dot-separated parts, expected 3 (header.payload.signature)",
                        n + 1
                    ),
                ))
            }
        }
        if let Some((i, b)) = token
            .bytes()
            .enumerate()
            .find(|(_, b)| !is_b64url(*b) && *b != b'.')
        {
            return Err(malformed(
                TokenPart::Whole,
                format!(
                    "contains {} at byte {i}; a JWS uses only base64url characters and dots",
                    describe_byte(b)
                ),
            ));
        }
        let mut it = token.splitn(3, '.');
        let (h, p, s) = match (it.next(), it.next(), it.next()) {
            (Some(h), Some(p), Some(s)) => (h, p, s),
            _ => return Err(malformed(TokenPart::Whole, "expected 3 parts")),
        };
        if h.is_empty() {
            return Err(malformed(TokenPart::Header, "is empty"));
        }
        let hjson = decode_object(h, TokenPart::Header)?;
        let alg = match hjson.get("alg") {
            Some(Value::String(a)) => a.clone(),
            Some(v) => {
                return Err(malformed(
                    TokenPart::Header,
                    format!("'alg' must be a string, found {}", json_kind(v)),
                ))
            }
            None => return Err(malformed(TokenPart::Header, "has no 'alg' member")),
        };
        let kid = opt_string(&hjson, "kid")?;
        let typ = opt_string(&hjson, "typ")?;
        if p.is_empty() {
            return Err(malformed(TokenPart::Payload, "is empty"));
        }
        let claims = decode_object(p, TokenPart::Payload)?;
        let signature = b64url_decode(s)
            .ok_or_else(|| malformed(TokenPart::Signature, "is not valid base64url"))?;
        Ok(Self {
            raw: token,
            header: Header {
                alg,
                kid,
                typ,
                json: hjson,
            },
            claims,
            signing_input_len: h.len() + 1 + p.len(),
            signature,
        })
    }

    /// The header (untrusted).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The claims (untrusted: anyone can write anything here).
    pub fn untrusted_claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The bytes the signature covers: `base64url(header) '.' base64url(payload)`.
    pub(crate) fn signing_input(&self) -> &[u8] {
        &self.raw.as_bytes()[..self.signing_input_len]
    }

    /// The decoded signature.
    pub(crate) fn signature(&self) -> &[u8] {
        &self.signature
    }

    pub(crate) fn into_parts(self) -> (Header, Map<String, Value>) {
        (self.header, self.claims)
    }
}

/// A NumericDate (RFC 7519 §2) from JSON: an integer, or a finite non-integer
/// (truncated). `None` for anything else.
pub fn numeric_date(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 9.0e15)
                .map(|f| f.trunc() as i64)
        }),
        _ => None,
    }
}

/// A claim that is a string or an array of strings (`aud`, RFC 7519 §4.1.3; `roles`),
/// or a space-separated string (`scope`, RFC 8693 §4.2).
fn string_list(v: &Value, split_spaces: bool) -> Option<Vec<String>> {
    match v {
        Value::String(s) if split_spaces => Some(
            s.split(' ')
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect(),
        ),
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) => a.iter().map(|x| x.as_str().map(String::from)).collect(),
        _ => None,
    }
}

/// The claims of a verified access token (RFC 9068 §2.2), typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Subject: a user id, or the client id for client credentials.
    pub sub: String,
    /// Audience(s).
    pub aud: Vec<String>,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Not before, if present.
    pub nbf: Option<i64>,
    /// Token id.
    pub jti: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Granted scopes (`scope`, space-separated in the token).
    pub scopes: Vec<String>,
    /// Roles (`roles`, RFC 9068 §2.2.3.1), if any.
    pub roles: Vec<String>,
    /// Portvakt tenant id, if present.
    pub tid: Option<String>,
    /// Every claim, as sent (authenticated).
    pub all: Map<String, Value>,
}

impl Claims {
    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Whether the token carries `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|s| s == role)
    }

    /// Any claim by name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.all.get(name)
    }

    /// Read the claims RFC 9068 §2.2 requires, with their types.
    pub(crate) fn from_map(all: Map<String, Value>) -> Result<Self, GuardError> {
        fn missing(claim: &str, problem: String) -> GuardError {
            GuardError::new(ErrorKind::MissingClaim {
                claim: claim.into(),
                problem,
            })
        }
        fn string(m: &Map<String, Value>, c: &str) -> Result<String, GuardError> {
            match m.get(c) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(v) => Err(missing(
                    c,
                    format!("must be a string, found {}", json_kind(v)),
                )),
                None => Err(missing(c, "is missing".into())),
            }
        }
        fn date(
            m: &Map<String, Value>,
            c: &str,
            required: bool,
        ) -> Result<Option<i64>, GuardError> {
            match m.get(c) {
                Some(v) => numeric_date(v).map(Some).ok_or_else(|| {
                    missing(
                        c,
                        format!(
                            "must be a NumericDate (seconds since 1970), found {}",
                            json_kind(v)
                        ),
                    )
                }),
                None if required => Err(missing(c, "is missing".into())),
                None => Ok(None),
            }
        }
        let iss = string(&all, "iss")?;
        let exp = date(&all, "exp", true)?.unwrap_or_default();
        let aud = match all.get("aud") {
            None => return Err(missing("aud", "is missing".into())),
            Some(v) => match string_list(v, false) {
                Some(l) if !l.is_empty() => l,
                Some(_) => return Err(missing("aud", "is an empty array".into())),
                None => {
                    return Err(missing(
                        "aud",
                        format!(
                            "must be a string or an array of strings, found {}",
                            json_kind(v)
                        ),
                    ))
                }
            },
        };
        let sub = string(&all, "sub")?;
        let client_id = string(&all, "client_id")?;
        let iat = date(&all, "iat", true)?.unwrap_or_default();
        let jti = string(&all, "jti")?;
        let nbf = date(&all, "nbf", false)?;
        let scopes = match all.get("scope") {
            None => Vec::new(),
            Some(v) => string_list(v, true).ok_or_else(|| {
                missing(
                    "scope",
                    format!("must be a space-separated string, found {}", json_kind(v)),
                )
            })?,
        };
        let roles = match all.get("roles") {
            None => Vec::new(),
            Some(v) => string_list(v, true).ok_or_else(|| {
                missing(
                    "roles",
                    format!("must be an array of strings, found {}", json_kind(v)),
                )
            })?,
        };
        let tid = match all.get("tid") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => {
                return Err(missing(
                    "tid",
                    format!("must be a string, found {}", json_kind(v)),
                ))
            }
        };
        Ok(Self {
            iss,
            sub,
            aud,
            exp,
            iat,
            nbf,
            jti,
            client_id,
            scopes,
            roles,
            tid,
            all,
        })
    }
}

/// A token whose signature verified with one of the issuer's keys and whose `typ`,
/// issuer, audience and times were checked. Only [`crate::Validator`] makes these.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    header: Header,
    claims: Claims,
    alg: Algorithm,
}

impl VerifiedToken {
    pub(crate) fn new(header: Header, claims: Claims, alg: Algorithm) -> Self {
        Self {
            header,
            claims,
            alg,
        }
    }

    /// The verified claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The algorithm of the key that verified the signature.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The key id that verified the signature.
    pub fn kid(&self) -> Option<&str> {
        self.header.kid.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portvakt_jose::b64url_encode;

    fn tok(h: &str, p: &str) -> String {
        format!(
            "{}.{}.{}",
            b64url_encode(h.as_bytes()),
            b64url_encode(p.as_bytes()),
            b64url_encode(b"sig")
        )
    }

    fn part_of(e: GuardError) -> TokenPart {
        match e.kind() {
            ErrorKind::Malformed { part, .. } => *part,
            other => panic!("not malformed: {other:?}"),
        }
    }

    #[test]
    fn each_broken_part_is_named() {
        let ok = tok(r#"{"alg":"ES256"}"#, r#"{"a":1}"#);
        assert!(UnverifiedToken::parse(&ok).is_ok());
        let e = |t: &str| UnverifiedToken::parse(t).err().map(part_of);
        assert_eq!(e("opaque-token"), Some(TokenPart::Whole));
        assert_eq!(e("a.b.c.d.e"), Some(TokenPart::Whole));
        assert_eq!(e(&format!("Bearer {ok}")), Some(TokenPart::Whole));
        assert_eq!(e(&tok("not json", "{}")), Some(TokenPart::Header));
        assert_eq!(
            e(&tok(r#"{"alg":"ES256","alg":"none"}"#, "{}")),
            Some(TokenPart::Header)
        );
        assert_eq!(e(&tok(r#"{"kid":"x"}"#, "{}")), Some(TokenPart::Header));
        assert_eq!(
            e(&tok(r#"{"alg":"ES256"}"#, r#"{"aud":"a","aud":"b"}"#)),
            Some(TokenPart::Payload)
        );
        assert_eq!(
            e(&tok(r#"{"alg":"ES256"}"#, "[1]")),
            Some(TokenPart::Payload)
        );
        // A signature of one base64url character: a length that cannot occur (4n+1).
        let bad_sig = format!("{}A", &ok[..ok.rfind('.').unwrap_or(0) + 1]);
        assert_eq!(e(&bad_sig), Some(TokenPart::Signature));
    }

    #[test]
    fn numeric_dates() {
        assert_eq!(numeric_date(&serde_json::json!(12)), Some(12));
        assert_eq!(numeric_date(&serde_json::json!(12.9)), Some(12));
        assert_eq!(numeric_date(&serde_json::json!("12")), None);
        assert_eq!(numeric_date(&serde_json::json!(1e300)), None);
    }
}
