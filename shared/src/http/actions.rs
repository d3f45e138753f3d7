//! Sender action routes: a reaction on a message (and its removal), the typing indicator
//! (each answers `202 {"status":"QUEUED"}`: the action goes out from the sends queue); and
//! passing the thread to another app (at once).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::{Caller, SenderAction};
use crate::error::AppError;
use crate::services::Outbound;

use super::extract::ApiJson;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReactBody {
    reaction: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypingBody {
    on: bool,
}

type Queued = Result<(StatusCode, Json<Value>), AppError>;

async fn queue(outbound: &Outbound, caller: &Caller, conversation_id: &str, action: SenderAction) -> Queued {
    outbound.queue_action(&caller.organization_id, conversation_id, action).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "status": "QUEUED" }))))
}

/// `POST /api/inbox/conversations/:id/messages/:messageId/react {reaction}`.
pub async fn react(
    State(outbound): State<Arc<Outbound>>,
    caller: Caller,
    Path((id, message_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<ReactBody>,
) -> Queued {
    queue(&outbound, &caller, &id, SenderAction::React { message_id, reaction: body.reaction }).await
}

/// `DELETE /api/inbox/conversations/:id/messages/:messageId/react`.
pub async fn unreact(
    State(outbound): State<Arc<Outbound>>,
    caller: Caller,
    Path((id, message_id)): Path<(String, String)>,
) -> Queued {
    queue(&outbound, &caller, &id, SenderAction::Unreact { message_id }).await
}

/// `POST /api/inbox/conversations/:id/typing {on}`.
pub async fn typing(
    State(outbound): State<Arc<Outbound>>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TypingBody>,
) -> Queued {
    let action = if body.on { SenderAction::TypingOn } else { SenderAction::TypingOff };
    queue(&outbound, &caller, &id, action).await
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PassBody {
    #[serde(default)]
    target_app_id: Option<String>,
}

/// `POST /api/inbox/conversations/:id/pass-thread {targetAppId?}`: hands the thread to
/// another app (by default the one the inbox took it from); `200 {"threadControl"}`.
pub async fn pass_thread(
    State(outbound): State<Arc<Outbound>>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PassBody>,
) -> Result<Json<Value>, AppError> {
    let control = outbound.pass_thread(&caller.organization_id, &id, body.target_app_id).await?;
    Ok(Json(json!({ "threadControl": control })))
}
