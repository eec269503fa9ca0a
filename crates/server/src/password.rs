//! Password hashing: Argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1), run
//! on the blocking pool so a burst of hashing never stalls the async workers.
//!
//! At most one hash per CPU runs at a time; the rest wait their turn. Without the
//! bound a login storm would start a blocking thread per request, each with its own
//! 19 MiB of Argon2 memory (hundreds of MB), and the threads would fight the token
//! endpoint for the cores without finishing any sooner.

use crate::error::ApiError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use portvakt_core::ErrorCode;

/// Permits for concurrent hashes: one per available CPU.
fn permits() -> &'static tokio::sync::Semaphore {
    static SEM: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SEM.get_or_init(|| {
        tokio::sync::Semaphore::new(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
        )
    })
}

/// Run `f` on the blocking pool once a hashing permit is free.
async fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    let _permit = permits()
        .acquire()
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("hashing queue closed: {e}")))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("hashing task failed: {e}")))
}

fn argon() -> Argon2<'static> {
    #[allow(clippy::expect_used)]
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hash a password into a PHC string.
pub async fn hash(password: String) -> Result<String, ApiError> {
    bounded(move || {
        let mut salt = [0u8; 16];
        portvakt_jose::random_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
        argon()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await?
    .map_err(|e| ApiError::new(ErrorCode::Internal, format!("password hashing failed: {e}")))
}

/// Check a password against a PHC string.
pub async fn verify(password: String, phc: String) -> bool {
    bounded(move || {
        PasswordHash::new(&phc)
            .is_ok_and(|h| argon().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
}
