//! The browser sign-in path: `/authorize`, the sign-in and consent pages, the steps
//! after the password (Conditional Access, TOTP, password change), the device pages and
//! grant, sign-out, password hashing, and the brute-force throttle.

pub mod authorize;
pub mod device;
pub mod logout;
pub mod mfa;
pub mod password;
pub mod signin_pages;
pub mod signin_steps;
pub mod throttle;
