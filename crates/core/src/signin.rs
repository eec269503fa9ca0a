//! The one outcome value every token request produces, success or failure.
//!
//! Today it is written to the log; the sign-in log issue turns it into a stored
//! Graph-`signIn`-shaped record. It never holds a secret.

use crate::clock::UnixTime;
use crate::ErrorCode;
use serde::Serialize;

/// What happened to one token request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInEvent {
    /// When.
    pub created_at: UnixTime,
    /// Correlation id of the HTTP exchange.
    pub correlation_id: String,
    /// Tenant name.
    pub tenant: String,
    /// The client id presented (may be unknown to the tenant).
    pub client_id: Option<String>,
    /// The grant type requested.
    pub grant_type: Option<String>,
    /// The resource the token was (or would have been) for.
    pub resource: Option<String>,
    /// Client IP address.
    pub ip_address: Option<String>,
    /// `None` on success, else the error code.
    pub error_code: Option<ErrorCode>,
    /// The reason, for failures.
    pub failure_reason: Option<String>,
    /// The `jti` of the token issued.
    pub token_id: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// What Conditional Access evaluated (stored with the record, so policies can be
    /// replayed over past sign-ins).
    pub facts: Option<portvakt_policy::SignInFacts>,
    /// Its outcome: Graph's `conditionalAccessStatus` and
    /// `appliedConditionalAccessPolicies`.
    pub evaluation: Option<std::sync::Arc<portvakt_policy::Evaluation>>,
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}
