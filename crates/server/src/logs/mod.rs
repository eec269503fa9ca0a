//! What happened: every sign-in's outcome on its way to the log.

pub mod audit;
pub mod replay;
pub mod signin_events;
