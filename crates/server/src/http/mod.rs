//! Shared HTTP plumbing: correlation ids and error rendering, form and cookie handling,
//! the client's address and per-address limits, server-rendered pages, localisation
//! and the troubleshooting pages.

pub mod client_addr;
pub mod cookies;
pub mod correlation;
pub mod error;
pub mod errors_page;
pub mod form;
pub mod health;
pub mod l10n;
pub mod metrics;
pub mod pages;
pub mod rate_limit;
