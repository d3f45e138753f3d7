//! Send routes and job status.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;

use crate::domain::IntegrationJob;
use crate::error::AppError;
use crate::services::{Outgoing, OutgoingAttachment, SendAccepted};

use super::extract::ApiJson;
use super::{AppState, OrgId};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextBody {
    text: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendBody {
    conversation_id: String,
    text: String,
}

pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, AppError> {
    headers
        .get("idempotency-key")
        .map(|v| v.to_str().map_err(|_| AppError::validation("Idempotency-Key must be printable ASCII")))
        .transpose()
}

type Accepted = Result<(StatusCode, Json<SendAccepted>), AppError>;

/// Every send route: queue `content` with the request's Idempotency-Key, answer 202.
async fn queue(core: &AppState, org: &str, conversation_id: &str, content: Outgoing, headers: &HeaderMap) -> Accepted {
    let accepted = core.send(org, conversation_id, content, idempotency_key(headers)?).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

pub async fn send_text(
    State(core): State<AppState>,
    OrgId(org): OrgId,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<TextBody>,
) -> Accepted {
    queue(&core, &org, &id, Outgoing::Text(body.text), &headers).await
}

pub async fn send_attachment(
    State(core): State<AppState>,
    OrgId(org): OrgId,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<OutgoingAttachment>,
) -> Accepted {
    queue(&core, &org, &id, Outgoing::Attachment(body), &headers).await
}

pub async fn send(
    State(core): State<AppState>,
    OrgId(org): OrgId,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SendBody>,
) -> Accepted {
    queue(&core, &org, &body.conversation_id, Outgoing::Text(body.text), &headers).await
}

pub async fn get_job(
    State(core): State<AppState>,
    OrgId(org): OrgId,
    Path(id): Path<String>,
) -> Result<Json<IntegrationJob>, AppError> {
    Ok(Json(core.job(&org, &id).await?))
}

/// `POST /api/integrations/jobs/:id/retry`: a failed send queued again.
pub async fn retry_job(
    State(core): State<AppState>,
    OrgId(org): OrgId,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<IntegrationJob>), AppError> {
    Ok((StatusCode::ACCEPTED, Json(core.retry_send(&org, &id).await?)))
}
