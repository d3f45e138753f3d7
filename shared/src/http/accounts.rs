//! Connected accounts and the Meta OAuth routes.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::domain::ConnectedAccount;
use crate::error::AppError;
use crate::services::{CallbackParams, ConnectResult};

use super::extract::ApiQuery;
use super::{AppState, OrgId};

pub async fn oauth_start(State(core): State<AppState>, OrgId(org): OrgId) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({ "url": core.oauth_start(&org)? })))
}

/// No bearer: the signed state names the organization.
pub async fn oauth_callback(
    State(core): State<AppState>,
    ApiQuery(params): ApiQuery<CallbackParams>,
) -> Result<Json<ConnectResult>, AppError> {
    Ok(Json(core.oauth_callback(params).await?))
}

pub async fn instagram_oauth_start(State(core): State<AppState>, OrgId(org): OrgId) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({ "url": core.instagram_oauth_start(&org).await? })))
}

/// No bearer: the signed state names the organization.
pub async fn instagram_oauth_callback(
    State(core): State<AppState>,
    ApiQuery(params): ApiQuery<CallbackParams>,
) -> Result<Json<ConnectResult>, AppError> {
    Ok(Json(core.instagram_oauth_callback(params).await?))
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
