use crate::{b64url_decode, JoseError};
use aws_lc_rs::aead::{Aad, RandomizedNonceKey, AES_256_GCM, NONCE_LEN};

/// The master key that seals private keys at rest with AES-256-GCM.
///
/// Sealed format: `nonce (12 bytes) || ciphertext || tag (16 bytes)`. The associated
/// data binds each blob to its purpose (e.g. the key id), so a sealed key cannot be
/// swapped for another row's.
pub struct MasterKey {
    key: RandomizedNonceKey,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// Use 32 raw bytes as the master key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, JoseError> {
        if bytes.len() != 32 {
            return Err(JoseError::Key(format!(
                "master key must be 32 bytes, got {}",
                bytes.len()
            )));
        }
        let key = RandomizedNonceKey::new(&AES_256_GCM, bytes)
            .map_err(|_| JoseError::Key("invalid master key".into()))?;
        Ok(Self { key })
    }

    /// Parse a master key written as base64url (43 chars) or hex (64 chars).
    pub fn parse(text: &str) -> Result<Self, JoseError> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| JoseError::Key("master key is not hex".into()))?
        } else {
            b64url_decode(t.trim_end_matches('=')).ok_or_else(|| {
                JoseError::Key("master key must be 32 bytes as base64url or 64 hex digits".into())
            })?
        };
        Self::from_bytes(&bytes)
    }

    /// Encrypt `plaintext`, binding it to `aad`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, JoseError> {
        let mut buf = plaintext.to_vec();
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(aad), &mut buf)
            .map_err(|_| JoseError::Key("seal failed".into()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + buf.len());
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Decrypt a blob made by [`MasterKey::seal`] with the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, JoseError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(JoseError::Unseal);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = aws_lc_rs::aead::Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| JoseError::Unseal)?;
        let mut buf = ct.to_vec();
        let pt = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| JoseError::Unseal)?;
        Ok(pt.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_tamper_detection() {
        let mk = MasterKey::from_bytes(&[7u8; 32]).expect("key");
        let sealed = mk.seal(b"kid-1", b"secret key").expect("seal");
        assert_eq!(mk.open(b"kid-1", &sealed).expect("open"), b"secret key");
        assert_eq!(mk.open(b"kid-2", &sealed), Err(JoseError::Unseal));
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(mk.open(b"kid-1", &bad), Err(JoseError::Unseal));
        let other = MasterKey::from_bytes(&[8u8; 32]).expect("key");
        assert_eq!(other.open(b"kid-1", &sealed), Err(JoseError::Unseal));
    }

    #[test]
    fn parses_hex_and_base64url() {
        assert!(MasterKey::parse(&"ab".repeat(32)).is_ok());
        assert!(MasterKey::parse(&crate::b64url_encode(&[1u8; 32])).is_ok());
        assert!(MasterKey::parse("short").is_err());
    }
}
