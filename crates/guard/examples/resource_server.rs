//! An API protected by portvakt-guard. Start Portvakt, then:
//! `PORTVAKT_ISSUER=http://127.0.0.1:8400/contoso cargo run -p portvakt-guard --example resource_server`
//! and call `curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/reports`.
use axum::{routing::get, Json, Router};
use portvakt_guard::{Guard, GuardConfig, GuardLayer, VerifiedClaims};
use serde_json::{json, Value};

async fn reports(c: VerifiedClaims) -> Json<Value> {
    Json(
        json!({ "user": c.claims().sub, "client": c.claims().client_id, "scopes": c.claims().scopes }),
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer =
        std::env::var("PORTVAKT_ISSUER").unwrap_or_else(|_| "http://127.0.0.1:8400/contoso".into());
    let guard = Guard::new(
        GuardConfig::issuer(issuer)
            .audience("api://analytics")
            .scope("Onboarding.ReadWrite"),
    )?;
    let app = Router::new()
        .route("/reports", get(reports))
        .layer(GuardLayer::new(guard));
    axum::serve(tokio::net::TcpListener::bind("127.0.0.1:3000").await?, app).await?;
    Ok(())
}
