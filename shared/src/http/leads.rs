//! Lead routes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::domain::{Lead, Page};
use crate::error::AppError;
use crate::services::{ListQuery, NewLead};

use super::extract::{ApiJson, ApiQuery};
use super::{AppState, OrgId};

pub async fn create(
    State(core): State<AppState>,
    OrgId(org): OrgId,
    ApiJson(input): ApiJson<NewLead>,
) -> Result<(StatusCode, Json<Lead>), AppError> {
    Ok((StatusCode::CREATED, Json(core.create_lead(&org, input).await?)))
}

pub async fn list(
    State(core): State<AppState>,
    OrgId(org): OrgId,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Page<Lead>>, AppError> {
    Ok(Json(core.list_leads(&org, &q).await?))
}
