//! Password hashing: Argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1), run
//! on dedicated, lower-priority threads so a burst of hashing never stalls the async
//! workers nor delays the token endpoint.
//!
//! At most one hash per CPU runs at a time, and each reuses one of a few 19 MiB work
//! areas instead of allocating its own. Without this, a login storm started a blocking
//! thread per request, each allocating 19 MiB that the allocator then kept: a
//! benchmark storm left the server at 1.4 GB resident. Now the memory is bounded by
//! the number of CPUs.

use crate::error::ApiError;
use argon2::password_hash::{PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use portvakt_core::ErrorCode;
use std::sync::{Arc, Mutex, OnceLock};

const M_COST: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const OUTPUT_LEN: usize = 32;

fn params() -> Params {
    #[allow(clippy::expect_used)]
    Params::new(M_COST, T_COST, P_COST, Some(OUTPUT_LEN))
        .expect("constant Argon2 parameters are valid")
}

/// How much lower than the request threads the hashing threads run (a nice value).
/// Under a login storm every CPU is hashing; a token request arriving then preempts a
/// hash at once instead of queueing behind it, and hashing still gets every cycle the
/// requests leave idle.
pub const HASHING_NICE: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads: one per available CPU, started on first use, at
/// [`HASHING_NICE`]. Jobs wait in the channel, not in threads, so the number of hashes
/// running (and of 19 MiB work areas) is bounded by the CPUs.
fn hashers() -> &'static std::sync::mpsc::Sender<Job> {
    static TX: OnceLock<std::sync::mpsc::Sender<Job>> = OnceLock::new();
    TX.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let n = std::thread::available_parallelism().map_or(2, |n| n.get());
        for i in 0..n {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("portvakt-hash-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        match job {
                            // A panicking job drops its result sender (the caller gets
                            // an error); the thread lives on for the next one.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        tx
    })
}

/// Raise this thread's nice value by [`HASHING_NICE`] (Linux: per thread). Lowering a
/// priority needs no privilege; if it fails anyway, hashing runs at normal priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(None, HASHING_NICE) {
        tracing::warn!(error = %e, "cannot lower the priority of a password hashing thread");
    }
}

/// Work areas, reused; there are never more than hashing threads.
static AREAS: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Run Argon2id with `params` into `out`, in a reused work area.
fn argon2_into(params: Params, pwd: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), String> {
    let blocks = params.block_count();
    let mut area = AREAS
        .lock()
        .ok()
        .and_then(|mut a| a.pop())
        .unwrap_or_default();
    if area.len() != blocks {
        area = vec![Block::default(); blocks];
    }
    let r = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into_with_memory(pwd, salt, out, &mut area);
    if let Ok(mut a) = AREAS.lock() {
        a.push(area);
    }
    r.map_err(|e| e.to_string())
}

/// Jobs sent to the hashing threads and not yet started.
static WAITING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Password hashes waiting for a hashing thread (the metrics' queue depth).
pub fn queue_depth() -> usize {
    WAITING.load(std::sync::atomic::Ordering::Relaxed)
}

/// Run `f` on a hashing thread and wait for its result.
async fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    use std::sync::atomic::Ordering;
    let (tx, rx) = tokio::sync::oneshot::channel();
    WAITING.fetch_add(1, Ordering::Relaxed);
    hashers()
        .send(Box::new(move || {
            WAITING.fetch_sub(1, Ordering::Relaxed);
            let _ = tx.send(f());
        }))
        .map_err(|_| {
            WAITING.fetch_sub(1, Ordering::Relaxed);
            ApiError::new(ErrorCode::Internal, "the password hashing threads stopped")
        })?;
    rx.await
        .map_err(|_| ApiError::new(ErrorCode::Internal, "a password hashing job was lost"))
}

/// Hash a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
pub async fn hash(password: String) -> Result<String, ApiError> {
    bounded(move || {
        let mut salt = [0u8; 16];
        portvakt_jose::random_bytes(&mut salt);
        let mut out = [0u8; OUTPUT_LEN];
        argon2_into(params(), password.as_bytes(), &salt, &mut out)?;
        Ok::<_, String>(format!(
            "$argon2id$v=19$m={M_COST},t={T_COST},p={P_COST}${}${}",
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(out)
        ))
    })
    .await?
    .map_err(|e| ApiError::new(ErrorCode::Internal, format!("password hashing failed: {e}")))
}

/// Check a password against a PHC string, in constant time.
pub async fn verify(password: String, phc: String) -> bool {
    bounded(move || check(password.as_bytes(), &phc))
        .await
        .unwrap_or(false)
}

fn check(password: &[u8], phc: &str) -> bool {
    let Ok(h) = PasswordHash::new(phc) else {
        return false;
    };
    if h.algorithm.as_str() != "argon2id" {
        return false;
    }
    let (Ok(params), Some(salt), Some(expected)) = (Params::try_from(&h), h.salt, h.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; Salt::MAX_LENGTH];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let Ok(params) = Params::new(
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        Some(expected.len()),
    ) else {
        return false;
    };
    argon2_into(params, password, salt, &mut out).is_ok()
        && portvakt_jose::constant_time_eq(&out, expected.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, SaltString};

    #[tokio::test]
    async fn hashes_verify_and_wrong_passwords_do_not() {
        let h = hash("correct horse".into()).await.expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse".into(), h.clone()).await);
        assert!(!verify("correct hors".into(), h.clone()).await);
        assert!(!verify("x".into(), "not a phc string".into()).await);
    }

    #[test]
    fn hashes_from_the_reference_implementation_verify() {
        // A PHC string made by the argon2 crate's own PasswordHasher.
        let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
        let reference = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(M_COST, T_COST, P_COST, None).expect("p"),
        )
        .hash_password(b"pw-123456", &salt)
        .expect("hash")
        .to_string();
        assert!(check(b"pw-123456", &reference));
        assert!(!check(b"pw-123457", &reference));
        assert!(
            AREAS.lock().expect("lock").len() <= 2,
            "work areas are reused, not piled up"
        );
    }
}
