//! Connected accounts and the Meta OAuth routes.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use crate::domain::ConnectedAccount;
use crate::error::AppError;
use crate::services::{CallbackParams, ConnectResult, Core};

use super::extract::ApiQuery;
use super::{AppState, OrgId};

pub async fn oauth_start(State(core): State<AppState>, OrgId(org): OrgId) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({ "url": core.oauth_start(&org)? })))
}

/// No bearer: the signed state names the organization.
pub async fn oauth_callback(State(core): State<AppState>, ApiQuery(params): ApiQuery<CallbackParams>) -> Response {
    let result = core.oauth_callback(params).await;
    callback_answer(&core, result)
}

/// The callback's answer: JSON, or, with `OAUTH_RETURN_URL` set, the browser sent back to the
/// frontend with the outcome in the query (`status=connected&connected=N&replayQueued=M`, or
/// `status=error&code=CODE&message=...`).
fn callback_answer(core: &Core, result: Result<ConnectResult, AppError>) -> Response {
    let Some(return_url) = core.config.oauth_return_url.as_deref() else {
        return match result {
            Ok(r) => Json(r).into_response(),
            Err(e) => e.into_response(),
        };
    };
    let query: Vec<(&str, String)> = match &result {
        Ok(r) => vec![
            ("status", "connected".into()),
            ("connected", r.connected.len().to_string()),
            ("refused", r.refused.len().to_string()),
            ("replayQueued", r.replay_queued.to_string()),
        ],
        Err(e) => vec![("status", "error".into()), ("code", e.code.as_str().into()), ("message", e.message.clone())],
    };
    match reqwest::Url::parse_with_params(return_url, &query) {
        Ok(url) => Redirect::to(url.as_str()).into_response(),
        Err(_) => AppError::internal("OAUTH_RETURN_URL is not a URL").into_response(),
    }
}

pub async fn instagram_oauth_start(State(core): State<AppState>, OrgId(org): OrgId) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({ "url": core.instagram_oauth_start(&org).await? })))
}

/// No bearer: the signed state names the organization.
pub async fn instagram_oauth_callback(
    State(core): State<AppState>,
    ApiQuery(params): ApiQuery<CallbackParams>,
) -> Response {
    let result = core.instagram_oauth_callback(params).await;
    callback_answer(&core, result)
}

pub async fn list(State(core): State<AppState>, OrgId(org): OrgId) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({ "data": core.list_connected_accounts(&org).await? })))
}

pub async fn disconnect(
    State(core): State<AppState>,
    OrgId(org): OrgId,
    Path(id): Path<String>,
) -> Result<Json<ConnectedAccount>, AppError> {
    Ok(Json(core.disconnect_account(&org, &id).await?))
}
