/// Everything that can go wrong in this crate. Each variant says what failed; the
/// caller (server or guard) adds where and maps it to a Portvakt error code.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum JoseError {
    /// The compact serialization is not three base64url segments of JSON.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// The header names an algorithm this verifier never accepts.
    #[error("algorithm '{0}' is not accepted")]
    ForbiddenAlgorithm(String),
    /// The header asks the verifier to fetch or trust a key from elsewhere.
    #[error("header parameter '{0}' is not accepted: keys come only from the issuer's JWKS")]
    ForbiddenHeader(String),
    /// No key with this `kid` (or no `kid` and several keys).
    #[error("no key with kid '{0}'")]
    UnknownKey(String),
    /// The header's `alg` is not the algorithm of the key selected by `kid`.
    #[error("header alg '{header}' does not match the key's algorithm '{key}'")]
    AlgorithmMismatch { header: String, key: String },
    /// The signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// A key could not be generated, parsed or used.
    #[error("key error: {0}")]
    Key(String),
    /// Sealed data could not be opened (wrong master key or tampering).
    #[error("sealed data could not be opened: wrong master key, or the data was altered")]
    Unseal,
}
