use crate::{b64url_encode, Algorithm, JoseError, Jwk};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};

enum Inner {
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
    Rs256(signature::RsaKeyPair),
}

/// A private signing key with its `kid`. Cheap to share behind an `Arc`; signing takes
/// `&self` and is thread-safe.
pub struct SigningKey {
    kid: String,
    alg: Algorithm,
    inner: Inner,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

fn key_err<E: std::fmt::Debug>(what: &'static str) -> impl FnOnce(E) -> JoseError {
    move |e| JoseError::Key(format!("{what}: {e:?}"))
}

impl SigningKey {
    /// Generate a fresh key for `alg` with the given `kid`.
    pub fn generate(alg: Algorithm, kid: String) -> Result<Self, JoseError> {
        let inner = match alg {
            Algorithm::ES256 => Inner::Es256(
                EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(key_err("generate P-256 key"))?,
            ),
            Algorithm::EdDSA => {
                Inner::EdDsa(Ed25519KeyPair::generate().map_err(key_err("generate Ed25519 key"))?)
            }
            Algorithm::RS256 => Inner::Rs256(
                signature::RsaKeyPair::generate(KeySize::Rsa2048)
                    .map_err(key_err("generate RSA key"))?,
            ),
        };
        Ok(Self {
            kid,
            alg,
            inner,
            rng: SystemRandom::new(),
        })
    }

    /// Load a key from its PKCS#8 DER encoding.
    pub fn from_pkcs8(alg: Algorithm, kid: String, der: &[u8]) -> Result<Self, JoseError> {
        let inner = match alg {
            Algorithm::ES256 => Inner::Es256(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(key_err("parse P-256 key"))?,
            ),
            Algorithm::EdDSA => {
                Inner::EdDsa(Ed25519KeyPair::from_pkcs8(der).map_err(key_err("parse Ed25519 key"))?)
            }
            Algorithm::RS256 => Inner::Rs256(
                signature::RsaKeyPair::from_pkcs8(der).map_err(key_err("parse RSA key"))?,
            ),
        };
        Ok(Self {
            kid,
            alg,
            inner,
            rng: SystemRandom::new(),
        })
    }

    /// The PKCS#8 DER encoding of the private key. Seal it before it leaves memory.
    pub fn to_pkcs8(&self) -> Result<Vec<u8>, JoseError> {
        Ok(match &self.inner {
            Inner::Es256(k) => k
                .to_pkcs8v1()
                .map_err(key_err("encode key"))?
                .as_ref()
                .to_vec(),
            Inner::EdDsa(k) => k
                .to_pkcs8v1()
                .map_err(key_err("encode key"))?
                .as_ref()
                .to_vec(),
            Inner::Rs256(k) => {
                let der: aws_lc_rs::encoding::Pkcs8V1Der<'static> =
                    k.as_der().map_err(key_err("encode key"))?;
                der.as_ref().to_vec()
            }
        })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm this key signs with.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// Sign `msg`, returning the JWS signature bytes (fixed-size R||S for ES256).
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, JoseError> {
        match &self.inner {
            Inner::Es256(k) => Ok(k
                .sign(&self.rng, msg)
                .map_err(key_err("sign"))?
                .as_ref()
                .to_vec()),
            Inner::EdDsa(k) => Ok(k.sign(msg).as_ref().to_vec()),
            Inner::Rs256(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &self.rng, msg, &mut sig)
                    .map_err(key_err("sign"))?;
                Ok(sig)
            }
        }
    }

    /// The public half as a JWK with `kid`, `alg` and `use: sig` (RFC 7517 §4).
    pub fn public_jwk(&self) -> Jwk {
        let mut jwk = Jwk {
            kty: String::new(),
            kid: Some(self.kid.clone()),
            alg: Some(self.alg.as_str().to_string()),
            use_: Some("sig".to_string()),
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
        };
        match &self.inner {
            Inner::Es256(k) => {
                // Uncompressed SEC1 point: 0x04 || X (32) || Y (32).
                let p = k.public_key().as_ref();
                jwk.kty = "EC".into();
                jwk.crv = Some("P-256".into());
                jwk.x = Some(b64url_encode(&p[1..33]));
                jwk.y = Some(b64url_encode(&p[33..65]));
            }
            Inner::EdDsa(k) => {
                jwk.kty = "OKP".into();
                jwk.crv = Some("Ed25519".into());
                jwk.x = Some(b64url_encode(k.public_key().as_ref()));
            }
            Inner::Rs256(k) => {
                let pk = k.public_key();
                jwk.kty = "RSA".into();
                jwk.n = Some(b64url_encode(
                    pk.modulus().big_endian_without_leading_zero(),
                ));
                jwk.e = Some(b64url_encode(
                    pk.exponent().big_endian_without_leading_zero(),
                ));
            }
        }
        jwk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkcs8_round_trip_keeps_the_public_key() {
        for alg in Algorithm::ALL {
            let k = SigningKey::generate(alg, "k1".into()).expect("generate");
            let der = k.to_pkcs8().expect("encode");
            let k2 = SigningKey::from_pkcs8(alg, "k1".into(), &der).expect("parse");
            assert_eq!(k.public_jwk(), k2.public_jwk(), "{alg}");
        }
    }

    #[test]
    fn debug_never_prints_key_material() {
        let k = SigningKey::generate(Algorithm::ES256, "kid-x".into()).expect("generate");
        let s = format!("{k:?}");
        assert!(s.contains("kid-x") && !s.contains("inner"));
    }
}
