//! Lead routes.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::domain::{Lead, Page};
use crate::error::AppError;
use crate::services::{Inbox, ListQuery, NewLead};

use super::OrgId;
use super::extract::{ApiJson, ApiQuery};

pub async fn create(
    State(inbox): State<Arc<Inbox>>,
    OrgId(org): OrgId,
    ApiJson(input): ApiJson<NewLead>,
) -> Result<(StatusCode, Json<Lead>), AppError> {
    Ok((StatusCode::CREATED, Json(inbox.create_lead(&org, input).await?)))
}

pub async fn list(
    State(inbox): State<Arc<Inbox>>,
    OrgId(org): OrgId,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Page<Lead>>, AppError> {
    Ok(Json(inbox.list_leads(&org, &q).await?))
}
