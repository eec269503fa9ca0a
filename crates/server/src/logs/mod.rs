//! What happened: every sign-in's outcome on its way to the log, the audit log of
//! admin changes, policy replay over past sign-ins, and `diagnose`, which explains a
//! failure from all of them.

pub mod audit;
pub mod diagnose;
pub mod replay;
pub mod signin_events;

use crate::error::ApiError;
use crate::state::AppState;
use portvakt_store::{SignInQuery, SignInRow};

/// One sign-in of a tenant by its id, else the newest with that correlation id (what
/// `GET …/signIns/{id}` and the portal's record page take: an error page shows the
/// correlation id, the log the id). Each lookup is one index seek.
pub async fn find_signin(
    st: &AppState,
    tenant_id: &str,
    id_or_correlation_id: &str,
) -> Result<Option<SignInRow>, ApiError> {
    for by_id in [true, false] {
        let q = SignInQuery {
            tenant_id: tenant_id.to_string(),
            id: by_id.then(|| id_or_correlation_id.to_string()),
            correlation_id: (!by_id).then(|| id_or_correlation_id.to_string()),
            limit: 1,
            ..Default::default()
        };
        if let Some(r) = st.store.signins(&q, false).await?.rows.into_iter().next() {
            return Ok(Some(r));
        }
    }
    Ok(None)
}
