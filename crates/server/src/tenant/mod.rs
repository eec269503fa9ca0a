//! A tenant as the hot path sees it: the cached view (applications, resources, keys,
//! compiled policies), discovery and JWKS, signing keys and their rotation, the system
//! tenant, imports, the cache of verified tokens, and the purge of expired rows.

pub mod bootstrap;
pub mod directory;
pub mod discovery;
pub mod import;
pub mod keys;
pub mod maintenance;
pub mod verified_tokens;
