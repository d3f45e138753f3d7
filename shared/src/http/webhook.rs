//! `GET`/`POST /api/webhooks/instagram`: Meta's handshake and deliveries.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use crate::config::Config;
use crate::error::{AppError, ErrorCode};
use crate::meta::{signature, webhook};
use crate::ports::with_requested_org;
use crate::services::Inbound;

/// Meta batches up to 1000 updates; 1 MiB holds them with room to spare.
pub const MAX_WEBHOOK_BODY_BYTES: usize = 1024 * 1024;

#[derive(Deserialize)]
pub struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

pub async fn verify(State(config): State<Arc<Config>>, Query(q): Query<Handshake>) -> Response {
    let expected = config.verify_token.as_deref();
    let token_ok = match (expected, q.verify_token.as_deref()) {
        (Some(e), Some(given)) => constant_time_eq(e.as_bytes(), given.as_bytes()),
        _ => false,
    };
    match (q.mode.as_deref(), q.challenge) {
        (Some("subscribe"), Some(challenge)) if token_ok => {
            (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], challenge).into_response()
        }
        _ => AppError::new(ErrorCode::Forbidden, "hub.mode or hub.verify_token does not match").into_response(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub async fn receive(
    State(config): State<Arc<Config>>,
    State(inbound): State<Arc<Inbound>>,
    lambda: Option<Extension<lambda_http::Context>>,
    request_context: Option<Extension<lambda_http::request::RequestContext>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<serde_json::Value>, AppError> {
    let started = std::time::Instant::now();
    let allowed = &config.webhook_allowed_cidrs;
    if let (false, Some(Extension(ctx))) = (allowed.is_empty(), &request_context) {
        let ip = super::source::source_ip(ctx);
        if !ip.is_some_and(|ip| allowed.iter().any(|c| c.contains(ip))) {
            tracing::warn!(source = ?ip, "webhook from outside WEBHOOK_ALLOWED_CIDRS refused");
            return Err(AppError::new(ErrorCode::Forbidden, "source address not allowed"));
        }
    }
    // Work on items for the configured budget, and never so long that the function's own
    // deadline leaves no time to queue the rest.
    let mut budget = config.limits.webhook_ack_budget;
    if let Some(Extension(ctx)) = lambda {
        budget = budget.min(crate::deadline::time_to_work(&ctx));
    }
    let deadline = std::time::Instant::now() + budget;
    let too_large = || AppError::new(ErrorCode::PayloadTooLarge, "webhook body is over 1 MiB");
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_WEBHOOK_BODY_BYTES) {
        return Err(too_large());
    }
    let body = axum::body::to_bytes(body, MAX_WEBHOOK_BODY_BYTES).await.map_err(|_| too_large())?;
    let sig = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok());
    if !signature::verify(&config.app_secrets, &body, sig) {
        return Err(AppError::new(ErrorCode::InvalidSignature, "X-Hub-Signature-256 is missing or does not match"));
    }
    let envelope = webhook::parse(&body).map_err(|e| AppError::validation(e.to_string()))?;
    // Development: the organization the request names, for the development directory.
    let named_org = config
        .is_development()
        .then(|| headers.get("x-organization-id").and_then(|v| v.to_str().ok()))
        .flatten()
        .filter(|o| !o.trim().is_empty());
    let accepted = inbound.accept_webhook_until(envelope, deadline);
    let report = match named_org {
        Some(org) => with_requested_org(org.to_owned(), accepted).await?,
        None => accepted.await?,
    };
    tracing::info!(
        stored = report.stored,
        updated = report.updated,
        duplicates = report.duplicates,
        kept_raw = report.kept_raw,
        deferred = report.deferred,
        "webhook accepted"
    );
    report.emit_metrics(started.elapsed());
    Ok(Json(json!({"status": "ok"})))
}
