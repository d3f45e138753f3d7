//! Erasure on request (admins only): one customer's data, or the whole organization's. Each
//! answers `{removed, done}`; `done: false` means ask again, which goes on from what is left.
//! And the organization's settings, which set how long its conversations are kept.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;

use crate::domain::{ErasureProgress, OrganizationSettings};
use crate::error::AppError;
use crate::services::{Accounts, Inbox, SettingsInput};

use super::OrgId;
use super::auth::Admin;
use super::extract::ApiJson;

/// `DELETE /api/inbox/contacts/:participantId`.
pub async fn erase_contact(
    State(inbox): State<Arc<Inbox>>,
    Admin(caller): Admin,
    Path(participant_id): Path<String>,
) -> Result<Json<ErasureProgress>, AppError> {
    Ok(Json(inbox.erase_contact(&caller, &participant_id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    /// The organization's own id, repeated.
    confirm: String,
}

/// `DELETE /api/organizations/current/data {"confirm": "<organization id>"}`.
pub async fn erase_organization(
    State(accounts): State<Arc<Accounts>>,
    Admin(caller): Admin,
    ApiJson(body): ApiJson<Confirmation>,
) -> Result<Json<ErasureProgress>, AppError> {
    Ok(Json(accounts.erase_organization(&caller, &body.confirm).await?))
}

/// `GET /api/organizations/current/settings`.
pub async fn settings(
    State(inbox): State<Arc<Inbox>>,
    OrgId(org): OrgId,
) -> Result<Json<OrganizationSettings>, AppError> {
    Ok(Json(inbox.settings(&org).await?))
}

/// `PUT /api/organizations/current/settings {"messageRetentionDays": days or null}` (admin).
pub async fn put_settings(
    State(inbox): State<Arc<Inbox>>,
    Admin(caller): Admin,
    ApiJson(input): ApiJson<SettingsInput>,
) -> Result<Json<OrganizationSettings>, AppError> {
    Ok(Json(inbox.put_settings(&caller, input).await?))
}
