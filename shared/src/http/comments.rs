//! Comment thread routes: public and private replies (queued, 202) and moderation.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;

use crate::domain::{Caller, Message};
use crate::error::AppError;
use crate::services::{Outbound, PrivateReply, PrivateReplyAccepted, SendAccepted};

use super::extract::ApiJson;
use super::send::idempotency_key;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicReplyBody {
    text: String,
}

/// A private reply: to the author of `commentId` (default: the thread's top-level comment).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrivateReplyBody {
    text: String,
    #[serde(default)]
    comment_id: Option<String>,
}

/// Hides `commentId` (default: the thread's top-level comment); `hidden: false` shows it again.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HideBody {
    #[serde(default)]
    comment_id: Option<String>,
    #[serde(default = "yes")]
    hidden: bool,
}

fn yes() -> bool {
    true
}

pub async fn reply_public(
    State(outbound): State<Arc<Outbound>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PublicReplyBody>,
) -> Result<(StatusCode, Json<SendAccepted>), AppError> {
    let accepted = outbound.reply_public(&caller, &id, body.text, idempotency_key(&headers)?).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

pub async fn reply_private(
    State(outbound): State<Arc<Outbound>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PrivateReplyBody>,
) -> Result<(StatusCode, Json<PrivateReplyAccepted>), AppError> {
    let reply = PrivateReply {
        text: &body.text,
        comment_id: body.comment_id.as_deref(),
        idempotency_key: idempotency_key(&headers)?,
    };
    Ok((StatusCode::ACCEPTED, Json(outbound.reply_private(&caller, &id, reply).await?)))
}

pub async fn hide(
    State(outbound): State<Arc<Outbound>>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<HideBody>,
) -> Result<Json<Message>, AppError> {
    Ok(Json(outbound.hide_comment(&caller, &id, body.comment_id.as_deref(), body.hidden).await?))
}
