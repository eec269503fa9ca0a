//! The binary's one error type.

/// Everything a command can fail with; the message is printed as is.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad configuration or arguments.
    #[error("error: {0}")]
    Config(String),
    /// The server could not be reached.
    #[error("error: cannot reach Portvakt at {url}: {reason}\nfix: start it with 'portvakt serve', or point PORTVAKT_URL / --data at the right server")]
    Unreachable { url: String, reason: String },
    /// The server answered with an error body.
    #[error("error {code}: {description}\nfix: {fix}\ncorrelation id: {correlation_id}")]
    Api {
        status: u16,
        code: String,
        description: String,
        fix: String,
        correlation_id: String,
    },
    /// Local I/O failed.
    #[error("error: {0}")]
    Io(String),
    /// Server start-up failed.
    #[error("error: {0}")]
    Startup(String),
    /// A token was judged invalid; the report was already printed.
    #[error("")]
    Verdict,
}

impl CliError {
    /// Process exit code: 2 for usage/config, 3 unreachable, 4 API refusal, 1 other.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) => 2,
            CliError::Unreachable { .. } => 3,
            CliError::Api { .. } => 4,
            CliError::Io(_) | CliError::Startup(_) | CliError::Verdict => 1,
        }
    }
}
