//! Multifactor authentication with TOTP (RFC 6238: HMAC-SHA-1, 30-second steps, six
//! digits, one step of skew either way), through the `totp-rs` crate; enrolment QR
//! codes as SVG through `qrcode`.
//!
//! Secrets are 160 random bits (RFC 4226 §4), sealed at rest with the master key
//! (AES-256-GCM, associated data `totp:{user id}`, so a sealed secret cannot be moved
//! to another user). A code is accepted once: the store keeps the last time step used
//! and takes a code only for a later step (RFC 6238 §5.2).

use crate::error::ApiError;
use portvakt_core::ErrorCode;
use portvakt_jose::MasterKey;
use totp_rs::{Algorithm, Secret, Totp};

/// A new 160-bit secret.
pub fn new_secret() -> Vec<u8> {
    let mut b = vec![0u8; 20];
    portvakt_jose::random_bytes(&mut b);
    b
}

fn aad(user_id: &str) -> Vec<u8> {
    format!("totp:{user_id}").into_bytes()
}

/// Seal `secret` for `user_id`.
pub fn seal(master: &MasterKey, user_id: &str, secret: &[u8]) -> Result<Vec<u8>, ApiError> {
    Ok(master.seal(&aad(user_id), secret)?)
}

/// Open the sealed secret of `user_id`.
pub fn open(master: &MasterKey, user_id: &str, sealed: &[u8]) -> Result<Vec<u8>, ApiError> {
    Ok(master.open(&aad(user_id), sealed)?)
}

fn totp(secret: &[u8], issuer: &str, account: &str) -> Result<Totp, ApiError> {
    // Issuer and account may not contain ':' (Key Uri Format).
    let clean = |s: &str| s.replace(':', " ");
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(Secret::new(secret.to_vec().into_boxed_slice()))
        .with_issuer(Some(clean(issuer)))
        .with_account_name(clean(account))
        .build()
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("TOTP: {e}")))
}

/// The time step `code` is valid for at `now` (±1 step), if it is.
pub fn check(secret: &[u8], code: &str, now: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let t = totp(secret, "x", "x").ok()?;
    t.check(&code, u64::try_from(now).ok()?)
        .and_then(|s| i64::try_from(s).ok())
}

/// The `otpauth://` URI authenticator apps read (Google's Key Uri Format).
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> Result<String, ApiError> {
    totp(secret, issuer, account)?
        .to_url()
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("TOTP URI: {e}")))
}

/// The secret in base32, for typing it in by hand.
pub fn base32(secret: &[u8]) -> String {
    Secret::new(secret.to_vec().into_boxed_slice()).to_base32()
}

/// A QR code of `data` as an SVG document (no script, no external references).
pub fn qr_svg(data: &str) -> Result<String, ApiError> {
    let code = qrcode::QrCode::new(data.as_bytes())
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// The code for `secret` at `now` (for tests and the demo; users have their app).
pub fn code_at(secret: &[u8], now: i64) -> Result<String, ApiError> {
    let t = totp(secret, "x", "x")?;
    Ok(t.generate(u64::try_from(now).unwrap_or_default())
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1, truncated to six digits.
    #[test]
    fn rfc_6238_vectors_and_the_step_window() {
        let secret = b"12345678901234567890";
        for (t, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (1234567890, "005924"),
        ] {
            assert_eq!(check(secret, code, t), Some(t / 30), "{t}");
        }
        // One step of skew either way, not two.
        assert_eq!(check(secret, "287082", 59 + 30), Some(1));
        assert_eq!(check(secret, "287082", 59 + 60), None);
        assert_eq!(check(secret, "287083", 59), None);
        assert_eq!(check(secret, "28708", 59), None);
    }

    #[test]
    fn sealed_secrets_belong_to_their_user() {
        let m = MasterKey::from_bytes(&[5u8; 32]).expect("key");
        let s = new_secret();
        assert_eq!(s.len(), 20);
        let sealed = seal(&m, "u1", &s).expect("seal");
        assert_eq!(open(&m, "u1", &sealed).expect("open"), s);
        assert!(open(&m, "u2", &sealed).is_err());
    }

    #[test]
    fn the_uri_and_the_qr_code() {
        let s = b"12345678901234567890";
        let uri = otpauth_uri(s, "Portvakt: Contoso", "ada@contoso.example").expect("uri");
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains(&format!("secret={}", base32(s))), "{uri}");
        let svg = qr_svg(&uri).expect("svg");
        assert!(svg.contains("<svg") && !svg.contains("<script"), "{svg}");
    }
}
