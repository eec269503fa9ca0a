use crate::ErrorCode;

/// The error of this crate, and the shape every Portvakt failure takes on its way to
/// the edge: a stable [`ErrorCode`] plus a description of the exact reason, written
/// for the person who has to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct Error {
    /// The stable code (which also fixes the OAuth error and HTTP status).
    pub code: ErrorCode,
    /// What exactly failed, with the values involved (never secrets).
    pub detail: String,
}

impl Error {
    /// An error with code `code` and the given description.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}
