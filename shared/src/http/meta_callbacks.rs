//! Meta's deauthorize and data deletion callbacks: no bearer, Meta's `signed_request` (a form
//! field) names the person and proves the call is Meta's.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::AppError;
use crate::services::{Accounts, DeletionRequest};

use super::extract::ApiForm;

#[derive(Debug, Deserialize)]
pub struct SignedForm {
    signed_request: String,
}

/// `POST /api/integrations/meta/deauthorize`: `200 {"disconnected": n}`; `403
/// INVALID_SIGNATURE` when the app's secret did not sign it.
pub async fn deauthorize(
    State(accounts): State<Arc<Accounts>>,
    ApiForm(form): ApiForm<SignedForm>,
) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({ "disconnected": accounts.meta_deauthorize(&form.signed_request).await? })))
}

/// `POST /api/integrations/meta/data-deletion`: Meta's `{url, confirmation_code}`.
pub async fn data_deletion(
    State(accounts): State<Arc<Accounts>>,
    ApiForm(form): ApiForm<SignedForm>,
) -> Result<Json<DeletionRequest>, AppError> {
    Ok(Json(accounts.meta_data_deletion(&form.signed_request).await?))
}

/// `GET /api/integrations/meta/data-deletion/:code`: `{"confirmationCode", "status"}`.
pub async fn data_deletion_status(
    State(accounts): State<Arc<Accounts>>,
    Path(code): Path<String>,
) -> Result<Json<Value>, AppError> {
    let status = accounts.meta_data_deletion_status(&code).await?;
    Ok(Json(json!({ "confirmationCode": code, "status": status })))
}
