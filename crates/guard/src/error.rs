//! [`GuardError`]: one error type for every way a token can fail, each with a stable
//! Portvakt error code (PV2xxx), a message that carries the facts, and hints.

use crate::timefmt::{ago_or_ahead, fmt_duration, fmt_utc};
use portvakt_core::ErrorCode;
use std::fmt;

/// The part of a compact JWS (RFC 7515 §7.1) that a [`ErrorKind::Malformed`] refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPart {
    /// The token as a whole (segment count, characters).
    Whole,
    /// The first segment: the JOSE header.
    Header,
    /// The second segment: the claims.
    Payload,
    /// The third segment: the signature.
    Signature,
}

impl fmt::Display for TokenPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenPart::Whole => "token",
            TokenPart::Header => "header (1st part)",
            TokenPart::Payload => "payload (2nd part)",
            TokenPart::Signature => "signature (3rd part)",
        })
    }
}

/// What exactly failed, with the values involved. Token contents appear here (they
/// are not secret once the token is rejected) but never in `WWW-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No bearer token in the request (RFC 6750 §3: the response carries no `error`).
    Missing {
        /// Why nothing usable was found, e.g. "no Authorization header".
        detail: String,
    },
    /// The request carries the token in a way RFC 6750 §2 does not allow (400).
    BadRequest {
        /// What is wrong with the request.
        detail: String,
    },
    /// The token is not a compact JWS of JSON.
    Malformed {
        /// Which part is broken.
        part: TokenPart,
        /// Why.
        reason: String,
    },
    /// The token is larger than the configured limit; refused before parsing.
    TooLarge {
        /// Size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// `none`, HMAC or an algorithm no key of the issuer uses (RFC 8725 §3.1).
    ForbiddenAlgorithm {
        /// The header's `alg`.
        alg: String,
    },
    /// The header `alg` differs from the algorithm of the key named by `kid`.
    AlgorithmMismatch {
        /// The header's `alg`.
        header: String,
        /// The key's algorithm.
        key: String,
        /// The key id.
        kid: String,
    },
    /// `jku`, `jwk`, `x5u`, `x5c` or `crit` in the header (RFC 8725 §3.10).
    ForbiddenHeader {
        /// The header parameter.
        name: String,
    },
    /// The `kid` is not in the issuer's JWKS, even after a refetch.
    UnknownKey {
        /// The token's `kid` (`None` when it had none).
        kid: Option<String>,
        /// The kids the issuer publishes.
        known: Vec<String>,
    },
    /// The signature does not verify with the key named by `kid`.
    BadSignature {
        /// The key id that was used.
        kid: String,
    },
    /// The header `typ` is not `at+jwt` (RFC 9068 §4).
    WrongType {
        /// The `typ` found, if any.
        found: Option<String>,
    },
    /// `exp` is in the past (beyond the leeway).
    Expired {
        /// The token's `exp`.
        exp: i64,
        /// This host's time.
        now: i64,
        /// Allowed clock skew, seconds.
        leeway: u64,
    },
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid {
        /// The token's `nbf`.
        nbf: i64,
        /// This host's time.
        now: i64,
        /// Allowed clock skew, seconds.
        leeway: u64,
    },
    /// `iat` is in the future (beyond the leeway).
    IssuedInFuture {
        /// The token's `iat`.
        iat: i64,
        /// This host's time.
        now: i64,
        /// Allowed clock skew, seconds.
        leeway: u64,
    },
    /// `iss` is not the configured issuer (RFC 9068 §4).
    WrongIssuer {
        /// The configured issuer.
        expected: String,
        /// The token's `iss`.
        found: String,
    },
    /// No `aud` value is an accepted audience (RFC 9068 §4).
    WrongAudience {
        /// The accepted audiences.
        expected: Vec<String>,
        /// The token's `aud` values.
        found: Vec<String>,
    },
    /// A claim RFC 9068 §2.2 requires is absent or has the wrong JSON type.
    MissingClaim {
        /// The claim name.
        claim: String,
        /// "is missing" or "must be a number, found a string", ...
        problem: String,
    },
    /// The token lacks scopes the resource requires (RFC 6750 §3.1, 403).
    InsufficientScope {
        /// All scopes required.
        required: Vec<String>,
        /// The required ones the token lacks.
        missing: Vec<String>,
        /// The scopes the token has.
        granted: Vec<String>,
    },
    /// The token lacks roles the resource requires (RFC 9068 §2.2.3.1, 403).
    InsufficientRole {
        /// All roles required.
        required: Vec<String>,
        /// The required ones the token lacks.
        missing: Vec<String>,
        /// The roles the token has.
        granted: Vec<String>,
    },
    /// A revocation check refused the token.
    Revoked {
        /// The token's `jti`.
        jti: String,
        /// Why, as told by the revocation check.
        reason: String,
    },
    /// Discovery or JWKS could not be fetched and no earlier keys are cached.
    KeysUnavailable {
        /// The URL that failed.
        url: String,
        /// Why (connection refused, HTTP 404, no usable keys, ...).
        reason: String,
    },
}

/// A likely cause, emitted only when the evidence for it is present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// A stable identifier, e.g. `ISS-SCHEME`, `AUD-IS-IDTOKEN`, `TIME-SKEW-MEASURED`.
    pub id: &'static str,
    /// The explanation, with the evidence.
    pub message: String,
}

impl Hint {
    /// A hint with the given id and message.
    pub fn new(id: &'static str, message: impl Into<String>) -> Self {
        Self {
            id,
            message: message.into(),
        }
    }
}

/// Why a token (or a request) was refused.
///
/// `code()` gives the stable Portvakt code (which fixes the OAuth error and HTTP
/// status), `to_string()` the precise message with the values involved, `hints()` the
/// likely causes found in the evidence and `fix()` what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardError {
    kind: Box<ErrorKind>,
    hints: Vec<Hint>,
}

impl std::error::Error for GuardError {}

impl From<ErrorKind> for GuardError {
    fn from(kind: ErrorKind) -> Self {
        Self {
            kind: Box::new(kind),
            hints: Vec::new(),
        }
    }
}

impl GuardError {
    /// An error of this kind with no hints.
    pub fn new(kind: ErrorKind) -> Self {
        kind.into()
    }

    /// Add a hint.
    pub fn with_hint(mut self, hint: Hint) -> Self {
        self.hints.push(hint);
        self
    }

    /// Add several hints.
    pub fn with_hints(mut self, hints: impl IntoIterator<Item = Hint>) -> Self {
        self.hints.extend(hints);
        self
    }

    /// What failed.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The hints, most likely first.
    pub fn hints(&self) -> &[Hint] {
        &self.hints
    }

    /// The first (most likely) hint, if any.
    pub fn hint(&self) -> Option<&Hint> {
        self.hints.first()
    }

    /// Whether a hint with this id was given.
    pub fn has_hint(&self, id: &str) -> bool {
        self.hints.iter().any(|h| h.id == id)
    }

    /// What to do about it (from the catalogue).
    pub fn fix(&self) -> &'static str {
        self.code().fix()
    }

    /// The stable Portvakt error code.
    pub fn code(&self) -> ErrorCode {
        match &*self.kind {
            ErrorKind::Missing { .. } => ErrorCode::TokenMissing,
            ErrorKind::BadRequest { .. } => ErrorCode::AuthorizationMalformed,
            ErrorKind::Malformed { .. } => ErrorCode::TokenMalformed,
            ErrorKind::TooLarge { .. } => ErrorCode::TokenTooLarge,
            ErrorKind::ForbiddenAlgorithm { .. } => ErrorCode::AlgorithmForbidden,
            ErrorKind::AlgorithmMismatch { .. } => ErrorCode::AlgorithmMismatch,
            ErrorKind::ForbiddenHeader { .. } => ErrorCode::HeaderForbidden,
            ErrorKind::UnknownKey { .. } => ErrorCode::KeyUnknown,
            ErrorKind::BadSignature { .. } => ErrorCode::SignatureInvalid,
            ErrorKind::WrongType { .. } => ErrorCode::TokenTypeWrong,
            ErrorKind::Expired { .. } => ErrorCode::TokenExpired,
            ErrorKind::NotYetValid { .. } => ErrorCode::TokenNotYetValid,
            ErrorKind::IssuedInFuture { .. } => ErrorCode::TokenIssuedInFuture,
            ErrorKind::WrongIssuer { .. } => ErrorCode::IssuerMismatch,
            ErrorKind::WrongAudience { .. } => ErrorCode::AudienceMismatch,
            ErrorKind::MissingClaim { .. } => ErrorCode::ClaimMissing,
            ErrorKind::InsufficientScope { .. } => ErrorCode::ScopeInsufficient,
            ErrorKind::InsufficientRole { .. } => ErrorCode::RoleInsufficient,
            ErrorKind::Revoked { .. } => ErrorCode::TokenRevoked,
            ErrorKind::KeysUnavailable { .. } => ErrorCode::KeysUnavailable,
        }
    }

    /// A short, static description safe for the `WWW-Authenticate` header: the
    /// catalogue title, never a value taken from the token.
    pub fn short_description(&self) -> &'static str {
        self.code().title()
    }

    /// The HTTP status the layer answers with (RFC 6750 §3.1).
    pub fn status(&self) -> u16 {
        self.code().status()
    }
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "(none)".into()
    } else {
        v.iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for GuardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            ErrorKind::Missing { detail } => write!(f, "no access token was sent: {detail}"),
            ErrorKind::BadRequest { detail } => write!(f, "invalid request: {detail}"),
            ErrorKind::Malformed { part, reason } => {
                write!(f, "the token is malformed: {part}: {reason}")
            }
            ErrorKind::TooLarge { size, limit } => write!(
                f,
                "the token is {size} bytes, more than the limit of {limit} bytes; it was not parsed"
            ),
            ErrorKind::ForbiddenAlgorithm { alg } => write!(
                f,
                "the token's alg '{alg}' is not accepted: only the issuer's asymmetric keys (ES256, EdDSA, RS256) can sign access tokens"
            ),
            ErrorKind::AlgorithmMismatch { header, key, kid } => write!(
                f,
                "the token's alg '{header}' does not match key '{kid}', which is a {key} key"
            ),
            ErrorKind::ForbiddenHeader { name } => write!(
                f,
                "the token header carries '{name}'; keys are taken only from the issuer's JWKS, never from the token"
            ),
            ErrorKind::UnknownKey { kid, known } => match kid {
                Some(k) => write!(
                    f,
                    "the token was signed with key '{k}', which the issuer does not publish (published: {})",
                    list(known)
                ),
                None => write!(
                    f,
                    "the token has no kid and the issuer publishes several keys ({})",
                    list(known)
                ),
            },
            ErrorKind::BadSignature { kid } => {
                write!(f, "the signature does not verify with the issuer's key '{kid}'")
            }
            ErrorKind::WrongType { found } => match found {
                Some(t) => write!(f, "the token's typ is '{t}', expected 'at+jwt' (RFC 9068)"),
                None => write!(f, "the token has no typ header, expected 'at+jwt' (RFC 9068)"),
            },
            ErrorKind::Expired { exp, now, leeway } => write!(
                f,
                "the token expired at {}, {} (leeway {leeway} s; now {})",
                fmt_utc(*exp),
                ago_or_ahead(*exp, *now),
                fmt_utc(*now)
            ),
            ErrorKind::NotYetValid { nbf, now, leeway } => write!(
                f,
                "the token is not valid before {}, {} from now (leeway {leeway} s; now {})",
                fmt_utc(*nbf),
                fmt_duration(nbf.saturating_sub(*now)),
                fmt_utc(*now)
            ),
            ErrorKind::IssuedInFuture { iat, now, leeway } => write!(
                f,
                "the token was issued at {}, {} in the future (leeway {leeway} s; now {})",
                fmt_utc(*iat),
                fmt_duration(iat.saturating_sub(*now)),
                fmt_utc(*now)
            ),
            ErrorKind::WrongIssuer { expected, found } => {
                write!(f, "the token's issuer is '{found}', expected '{expected}'")
            }
            ErrorKind::WrongAudience { expected, found } => write!(
                f,
                "the token's audience is {}, expected {}",
                list(found),
                if expected.len() == 1 { list(expected) } else { format!("one of {}", list(expected)) }
            ),
            ErrorKind::MissingClaim { claim, problem } => {
                write!(f, "the token's claim '{claim}' {problem}")
            }
            ErrorKind::InsufficientScope { missing, granted, .. } => write!(
                f,
                "the token lacks the scope {} (it has {})",
                list(missing),
                list(granted)
            ),
            ErrorKind::InsufficientRole { missing, granted, .. } => write!(
                f,
                "the token lacks the role {} (it has {})",
                list(missing),
                list(granted)
            ),
            ErrorKind::Revoked { jti, reason } => {
                write!(f, "the token (jti '{jti}') has been revoked: {reason}")
            }
            ErrorKind::KeysUnavailable { url, reason } => write!(
                f,
                "the issuer's signing keys could not be obtained from {url}: {reason}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_message_carries_the_facts() {
        let now = 1_700_000_000;
        let e = GuardError::new(ErrorKind::Expired {
            exp: now - 303,
            now,
            leeway: 60,
        });
        let s = e.to_string();
        assert!(s.contains("expired at 2023-11-14T22:08:17Z"), "{s}");
        assert!(s.contains("5 min 3 s ago"), "{s}");
        assert_eq!(e.code(), ErrorCode::TokenExpired);
        assert_eq!(e.status(), 401);
    }

    #[test]
    fn short_descriptions_are_header_safe() {
        for c in ErrorCode::ALL
            .iter()
            .filter(|c| c.code().starts_with("PV2"))
        {
            let t = c.title();
            assert!(
                t.bytes()
                    .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\'),
                "{t}"
            );
        }
    }
}
