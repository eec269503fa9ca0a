use crate::{b64url_decode, b64url_encode, Algorithm, JoseError, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// The JOSE header fields Portvakt reads (RFC 7515 §4.1). Duplicate members are an
/// error (serde refuses a repeated field), as RFC 7515 §5.2 permits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Algorithm as written in the token. Informational: the key decides.
    pub alg: String,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Media type; `at+jwt` for access tokens (RFC 9068 §2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// Critical extensions; none are understood, so any is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<serde_json::Value>,
    /// Remote key URL; refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jku: Option<serde_json::Value>,
    /// Embedded key; refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwk: Option<serde_json::Value>,
    /// Remote certificate URL; refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5u: Option<serde_json::Value>,
    /// Embedded certificate chain; refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5c: Option<serde_json::Value>,
}

/// A token that was parsed but whose signature was NOT checked. Its claims can be
/// looked at (for diagnostics) but it cannot be turned into a [`VerifiedJws`] except
/// by [`verify_compact`].
#[derive(Debug, Clone)]
pub struct UnverifiedJws {
    /// The decoded header.
    pub header: Header,
    /// The decoded payload bytes (JSON for a JWT).
    pub payload: Vec<u8>,
    signing_input_len: usize,
    signature: Vec<u8>,
}

/// A token whose signature verified with a key from the trusted set.
#[derive(Debug, Clone)]
pub struct VerifiedJws {
    header: Header,
    payload: Vec<u8>,
    alg: Algorithm,
}

impl VerifiedJws {
    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }
    /// The payload bytes, now authenticated.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
    /// The algorithm of the key that verified it.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }
}

/// Sign `claims` (already-serialized JSON) as a compact JWS with header
/// `{"alg", "kid", "typ"}`.
pub fn sign_compact(key: &SigningKey, typ: &str, claims_json: &[u8]) -> Result<String, JoseError> {
    let header = format!(
        r#"{{"alg":"{}","kid":{},"typ":{}}}"#,
        key.alg().as_str(),
        serde_json::to_string(key.kid()).map_err(|e| JoseError::Key(e.to_string()))?,
        serde_json::to_string(typ).map_err(|e| JoseError::Key(e.to_string()))?,
    );
    let mut out = String::with_capacity(claims_json.len() * 4 / 3 + 200);
    out.push_str(&b64url_encode(header.as_bytes()));
    out.push('.');
    out.push_str(&b64url_encode(claims_json));
    let sig = key.sign(out.as_bytes())?;
    out.push('.');
    out.push_str(&b64url_encode(&sig));
    Ok(out)
}

/// Parse a compact JWS without verifying it.
pub fn decode_unverified(token: &str) -> Result<UnverifiedJws, JoseError> {
    let mut parts = token.split('.');
    let (h, p, s) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => (h, p, s),
        _ => {
            let n = token.split('.').count();
            return Err(JoseError::Malformed(format!(
                "expected 3 dot-separated segments (header.payload.signature), found {n}"
            )));
        }
    };
    let hb =
        b64url_decode(h).ok_or_else(|| JoseError::Malformed("header is not base64url".into()))?;
    let header: Header = serde_json::from_slice(&hb)
        .map_err(|e| JoseError::Malformed(format!("header is not a valid JOSE header: {e}")))?;
    let payload =
        b64url_decode(p).ok_or_else(|| JoseError::Malformed("payload is not base64url".into()))?;
    let signature = b64url_decode(s)
        .ok_or_else(|| JoseError::Malformed("signature is not base64url".into()))?;
    Ok(UnverifiedJws {
        header,
        payload,
        signing_input_len: h.len() + 1 + p.len(),
        signature,
    })
}

/// Verify a compact JWS against a trusted key set.
///
/// The key is chosen by `kid` (or is the only key when the token has none); the
/// token's `alg` must then equal that key's algorithm. `none`, HMAC, `jku`, `x5u`,
/// `jwk`, `x5c` and `crit` are refused before any signature check (RFC 8725 §3.1-3.2).
pub fn verify_compact(token: &str, keys: &[VerifyingKey]) -> Result<VerifiedJws, JoseError> {
    let jws = decode_unverified(token)?;
    let header = &jws.header;
    let header_alg: Algorithm = match header.alg.parse() {
        Ok(a) => a,
        Err(_) => return Err(JoseError::ForbiddenAlgorithm(header.alg.clone())),
    };
    for (name, present) in [
        ("jku", header.jku.is_some()),
        ("jwk", header.jwk.is_some()),
        ("x5u", header.x5u.is_some()),
        ("x5c", header.x5c.is_some()),
        ("crit", header.crit.is_some()),
    ] {
        if present {
            return Err(JoseError::ForbiddenHeader(name.into()));
        }
    }
    let key = match &header.kid {
        Some(kid) => keys.iter().find(|k| k.kid() == Some(kid.as_str())),
        None if keys.len() == 1 => keys.first(),
        None => None,
    }
    .ok_or_else(|| JoseError::UnknownKey(header.kid.clone().unwrap_or_else(|| "(none)".into())))?;
    if key.alg() != header_alg {
        return Err(JoseError::AlgorithmMismatch {
            header: header.alg.clone(),
            key: key.alg().as_str().into(),
        });
    }
    key.verify(&token.as_bytes()[..jws.signing_input_len], &jws.signature)?;
    Ok(VerifiedJws {
        alg: key.alg(),
        header: jws.header,
        payload: jws.payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{b64url_encode, Jwks};

    fn setup(alg: Algorithm) -> (SigningKey, Vec<VerifyingKey>) {
        let k = SigningKey::generate(alg, format!("kid-{alg}")).expect("generate");
        let jwks = Jwks {
            keys: vec![k.public_jwk()],
        };
        (k, VerifyingKey::from_jwks(&jwks))
    }

    #[test]
    fn signs_and_verifies_for_every_algorithm() {
        for alg in Algorithm::ALL {
            let (k, keys) = setup(alg);
            let t = sign_compact(&k, "at+jwt", br#"{"sub":"a"}"#).expect("sign");
            let v = verify_compact(&t, &keys).expect("verify");
            assert_eq!(v.payload(), br#"{"sub":"a"}"#);
            assert_eq!(v.header().typ.as_deref(), Some("at+jwt"));
            assert_eq!(v.alg(), alg);
        }
    }

    #[test]
    fn tampered_payload_fails() {
        let (k, keys) = setup(Algorithm::ES256);
        let t = sign_compact(&k, "at+jwt", br#"{"sub":"a"}"#).expect("sign");
        let parts: Vec<&str> = t.split('.').collect();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            b64url_encode(br#"{"sub":"b"}"#),
            parts[2]
        );
        assert_eq!(
            verify_compact(&forged, &keys).err(),
            Some(JoseError::BadSignature)
        );
    }

    #[test]
    fn none_and_hmac_are_refused_before_verification() {
        let (_, keys) = setup(Algorithm::ES256);
        for alg in ["none", "HS256", "ES512"] {
            let h = b64url_encode(format!(r#"{{"alg":"{alg}","kid":"kid-ES256"}}"#).as_bytes());
            let t = format!("{h}.{}.", b64url_encode(b"{}"));
            assert_eq!(
                verify_compact(&t, &keys).err(),
                Some(JoseError::ForbiddenAlgorithm(alg.into()))
            );
        }
    }

    #[test]
    fn alg_must_match_the_key() {
        let (_, keys) = setup(Algorithm::ES256);
        let h = b64url_encode(br#"{"alg":"RS256","kid":"kid-ES256"}"#);
        let t = format!("{h}.{}.{}", b64url_encode(b"{}"), b64url_encode(b"x"));
        assert!(matches!(
            verify_compact(&t, &keys),
            Err(JoseError::AlgorithmMismatch { .. })
        ));
    }

    #[test]
    fn embedded_keys_and_unknown_kids_are_refused() {
        let (_, keys) = setup(Algorithm::ES256);
        let h = b64url_encode(br#"{"alg":"ES256","kid":"kid-ES256","jku":"https://evil"}"#);
        let t = format!("{h}.{}.{}", b64url_encode(b"{}"), b64url_encode(b"x"));
        assert_eq!(
            verify_compact(&t, &keys).err(),
            Some(JoseError::ForbiddenHeader("jku".into()))
        );
        let h = b64url_encode(br#"{"alg":"ES256","kid":"other"}"#);
        let t = format!("{h}.{}.{}", b64url_encode(b"{}"), b64url_encode(b"x"));
        assert_eq!(
            verify_compact(&t, &keys).err(),
            Some(JoseError::UnknownKey("other".into()))
        );
    }

    #[test]
    fn malformed_inputs_are_errors_not_panics() {
        let (_, keys) = setup(Algorithm::ES256);
        for t in [
            "",
            "a",
            "a.b",
            "a.b.c.d.e",
            "!!.??.**",
            "e30.e30.e30",
            "eyJhbGciOiJFUzI1NiIsImFsZyI6Ik5PTkUifQ.e30.e30",
        ] {
            assert!(verify_compact(t, &keys).is_err(), "{t}");
        }
    }
}
