//! Inbox routes: thin translations from HTTP to `Core` calls.

use axum::Json;
use axum::extract::{Path, State};

use crate::domain::{ConversationView, Message, Page};
use crate::error::AppError;
use crate::services::ListQuery;

use super::extract::ApiQuery;
use super::{AppState, OrgId};

type ApiResult<T> = Result<Json<T>, AppError>;

pub async fn list_conversations(
    State(core): State<AppState>,
    OrgId(org): OrgId,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Page<ConversationView>> {
    Ok(Json(core.list_conversations(&org, &q).await?))
}

pub async fn get_conversation(
    State(core): State<AppState>,
    OrgId(org): OrgId,
    Path(id): Path<String>,
) -> ApiResult<ConversationView> {
    Ok(Json(core.get_conversation(&org, &id).await?))
}

pub async fn list_messages(
    State(core): State<AppState>,
    OrgId(org): OrgId,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Page<Message>> {
    Ok(Json(core.list_messages(&org, &id, &q).await?))
}

pub async fn mark_read(
    State(core): State<AppState>,
    OrgId(org): OrgId,
    Path(id): Path<String>,
) -> ApiResult<ConversationView> {
    Ok(Json(core.mark_read(&org, &id).await?))
}
