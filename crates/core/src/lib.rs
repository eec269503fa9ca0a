//! # portvakt-core
//!
//! Portvakt's domain, without I/O: the error-code catalogue, the entity model, the
//! import file and its validation, scope and resource resolution, access-token claims,
//! and the one place where a grant is decided ([`grant`]).
//!
//! Architecture invariant: nothing here reads the clock, the network or the disk. Time
//! arrives as a parameter (see [`Clock`]), so every rule can be tested at any instant.

pub mod audit;
pub mod clock;
pub mod error;
pub mod error_code;
pub mod filter;
pub mod flow;
pub mod grant;
pub mod import;
pub mod model;
pub mod names;
pub mod scope;
pub mod signin;
mod signin_json;
pub mod token;

pub use clock::{Clock, SystemClock};
pub use error::Error;
pub use error_code::ErrorCode;
