//! What happened: every sign-in's outcome on its way to the log.

pub mod signin_events;
