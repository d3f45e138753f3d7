//! Inbox routes: thin translations from HTTP to `Inbox` calls.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};

use crate::domain::{ConversationView, Message, Page};
use crate::error::AppError;
use crate::services::{ContactView, Inbox, ListQuery};

use super::OrgId;
use super::extract::ApiQuery;

type ApiResult<T> = Result<Json<T>, AppError>;

pub async fn list_conversations(
    State(inbox): State<Arc<Inbox>>,
    OrgId(org): OrgId,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Page<ConversationView>> {
    Ok(Json(inbox.list_conversations(&org, &q).await?))
}

pub async fn get_conversation(
    State(inbox): State<Arc<Inbox>>,
    OrgId(org): OrgId,
    Path(id): Path<String>,
) -> ApiResult<ConversationView> {
    Ok(Json(inbox.get_conversation(&org, &id).await?))
}

pub async fn list_messages(
    State(inbox): State<Arc<Inbox>>,
    OrgId(org): OrgId,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Page<Message>> {
    Ok(Json(inbox.list_messages(&org, &id, &q).await?))
}

pub async fn mark_read(
    State(inbox): State<Arc<Inbox>>,
    OrgId(org): OrgId,
    Path(id): Path<String>,
) -> ApiResult<ConversationView> {
    Ok(Json(inbox.mark_read(&org, &id).await?))
}

/// `GET /api/inbox/contacts/:participantId`: the customer's profile and picture.
pub async fn contact(
    State(inbox): State<Arc<Inbox>>,
    OrgId(org): OrgId,
    Path(participant_id): Path<String>,
) -> ApiResult<ContactView> {
    Ok(Json(inbox.contact(&org, &participant_id).await?))
}
