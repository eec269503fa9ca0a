//! The token endpoint and its grants (client credentials, authorization code, refresh),
//! client authentication, minting user tokens, and the endpoints that take a token
//! Portvakt issued (userinfo, introspection, revocation).

pub mod client_auth;
pub mod token;
pub mod token_endpoints;
pub mod user_grants;
pub mod user_tokens;
