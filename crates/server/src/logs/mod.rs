//! What happened: every sign-in's outcome on its way to the log, the audit log of
//! admin changes, policy replay over past sign-ins, and `diagnose`, which explains a
//! failure from all of them.

pub mod audit;
pub mod diagnose;
pub mod replay;
pub mod signin_events;
