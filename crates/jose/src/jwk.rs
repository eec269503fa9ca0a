use crate::{b64url_decode, Algorithm, JoseError};
use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

/// A public JSON Web Key (RFC 7517 §4) for EC P-256, OKP Ed25519 or RSA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `EC`, `OKP` or `RSA`.
    pub kty: String,
    /// Key id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Algorithm the key is used with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Public key use; Portvakt publishes `sig`.
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Curve (`P-256`, `Ed25519`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC / OKP x coordinate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

/// A JWK Set (RFC 7517 §5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

enum PublicKey {
    Ec(UnparsedPublicKey<Vec<u8>>),
    Ed(UnparsedPublicKey<Vec<u8>>),
    Rsa(RsaPublicKeyComponents<Vec<u8>>),
}

/// A public key ready to verify signatures, bound to exactly one algorithm.
pub struct VerifyingKey {
    kid: Option<String>,
    alg: Algorithm,
    key: PublicKey,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish()
    }
}

fn field<'a>(v: &'a Option<String>, name: &str) -> Result<Vec<u8>, JoseError> {
    let s: &'a str = v
        .as_deref()
        .ok_or_else(|| JoseError::Key(format!("JWK lacks '{name}'")))?;
    b64url_decode(s).ok_or_else(|| JoseError::Key(format!("JWK '{name}' is not base64url")))
}

impl VerifyingKey {
    /// Build a verifier from a JWK. The algorithm is fixed here, from the key's `alg`
    /// (or its type when `alg` is absent), and never taken from a token header.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, JoseError> {
        if let Some(u) = &jwk.use_ {
            if u != "sig" {
                return Err(JoseError::Key(format!("JWK use is '{u}', not 'sig'")));
            }
        }
        let inferred = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("EC", Some("P-256")) => Algorithm::ES256,
            ("OKP", Some("Ed25519")) => Algorithm::EdDSA,
            ("RSA", _) => Algorithm::RS256,
            (kty, crv) => {
                return Err(JoseError::Key(format!(
                    "unsupported key type kty={kty} crv={}",
                    crv.unwrap_or("-")
                )))
            }
        };
        if let Some(a) = &jwk.alg {
            if a != inferred.as_str() {
                return Err(JoseError::Key(format!(
                    "JWK alg '{a}' does not fit its key type (expected {inferred})"
                )));
            }
        }
        let key = match inferred {
            Algorithm::ES256 => {
                let (x, y) = (field(&jwk.x, "x")?, field(&jwk.y, "y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(JoseError::Key("P-256 coordinates must be 32 bytes".into()));
                }
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                PublicKey::Ec(UnparsedPublicKey::new(
                    &signature::ECDSA_P256_SHA256_FIXED,
                    point,
                ))
            }
            Algorithm::EdDSA => {
                let x = field(&jwk.x, "x")?;
                if x.len() != 32 {
                    return Err(JoseError::Key("Ed25519 key must be 32 bytes".into()));
                }
                PublicKey::Ed(UnparsedPublicKey::new(&signature::ED25519, x))
            }
            Algorithm::RS256 => PublicKey::Rsa(RsaPublicKeyComponents {
                n: field(&jwk.n, "n")?,
                e: field(&jwk.e, "e")?,
            }),
        };
        Ok(Self {
            kid: jwk.kid.clone(),
            alg: inferred,
            key,
        })
    }

    /// Build verifiers for every usable signing key of a set; unusable keys (other
    /// types, `use: enc`) are skipped, as RFC 7517 §5 allows.
    pub fn from_jwks(jwks: &Jwks) -> Vec<Self> {
        jwks.keys
            .iter()
            .filter_map(|k| Self::from_jwk(k).ok())
            .collect()
    }

    /// The key id, if the JWK had one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The one algorithm this key verifies.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// Verify `sig` over `msg` with this key's algorithm.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), JoseError> {
        let ok = match &self.key {
            PublicKey::Ec(k) | PublicKey::Ed(k) => k.verify(msg, sig).is_ok(),
            PublicKey::Rsa(k) => k
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, msg, sig)
                .is_ok(),
        };
        if ok {
            Ok(())
        } else {
            Err(JoseError::BadSignature)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SigningKey;

    #[test]
    fn jwk_round_trips_into_a_verifier_for_every_algorithm() {
        for alg in Algorithm::ALL {
            let k = SigningKey::generate(alg, "k".into()).expect("generate");
            let sig = k.sign(b"hello").expect("sign");
            let v = VerifyingKey::from_jwk(&k.public_jwk()).expect("jwk");
            assert_eq!(v.alg(), alg);
            v.verify(b"hello", &sig).expect("verifies");
            assert_eq!(v.verify(b"hellp", &sig), Err(JoseError::BadSignature));
        }
    }

    #[test]
    fn jwk_with_alg_that_contradicts_its_type_is_refused() {
        let k = SigningKey::generate(Algorithm::ES256, "k".into()).expect("generate");
        let mut jwk = k.public_jwk();
        jwk.alg = Some("RS256".into());
        assert!(matches!(
            VerifyingKey::from_jwk(&jwk),
            Err(JoseError::Key(_))
        ));
    }
}
