//! Sender action routes: a reaction on a message (and its removal), the typing indicator.
//! Each answers `202 {"status":"QUEUED"}`: the action goes out from the sends queue.

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
