//! Send routes and job status.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;

use crate::domain::{Author, Caller, IntegrationJob, QuickReply, Template};
use crate::error::AppError;
use crate::services::{NewUpload, Outbound, Outgoing, OutgoingAttachment, SendAccepted, SendAs, UploadTicket};

use super::OrgId;
use super::extract::ApiJson;

/// `automated: true` marks a reply no person wrote (a bot, a rule): Meta allows it the 24 h
/// window only, never the `HUMAN_AGENT` tag.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextBody {
    text: String,
    #[serde(default)]
    automated: bool,
    /// Take the thread from the app that controls it (a bot) before sending.
    #[serde(default, rename = "takeControl")]
    take_control: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendBody {
    conversation_id: String,
    text: String,
    #[serde(default)]
    automated: bool,
    /// Take the thread from the app that controls it (a bot) before sending.
    #[serde(default, rename = "takeControl")]
    take_control: bool,
}

/// `{type, url}` (Meta fetches the URL) or `{uploadId}` (a file the agent uploaded).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentBody {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default, rename = "uploadId")]
    upload_id: Option<String>,
    #[serde(default)]
    automated: bool,
    /// Take the thread from the app that controls it (a bot) before sending.
    #[serde(default, rename = "takeControl")]
    take_control: bool,
}

/// `POST .../send`: a text (with `quickReplies` under it) or a `template`, one of the two.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RichBody {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    quick_replies: Option<Vec<QuickReply>>,
    #[serde(default)]
    template: Option<Template>,
    #[serde(default)]
    automated: bool,
    /// Take the thread from the app that controls it (a bot) before sending.
    #[serde(default, rename = "takeControl")]
    take_control: bool,
}

impl RichBody {
    fn content(self) -> Result<Outgoing, AppError> {
        match (self.text, self.quick_replies, self.template) {
            (Some(text), None, None) => Ok(Outgoing::Text(text)),
            (Some(text), Some(replies), None) => Ok(Outgoing::Choices { text, replies }),
            (None, None, Some(template)) => Ok(Outgoing::Template(template)),
            (None, Some(_), None) => Err(AppError::validation("quickReplies go under a text")),
            _ => Err(AppError::validation("send a text (with quickReplies, if any) or a template, one of the two")),
        }
    }
}

fn send_as(automated: bool, take_control: bool) -> SendAs {
    let author = if automated { Author::Automation } else { Author::Person };
    SendAs { author, take_control }
}

pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, AppError> {
    headers
        .get("idempotency-key")
        .map(|v| v.to_str().map_err(|_| AppError::validation("Idempotency-Key must be printable ASCII")))
        .transpose()
}

type Accepted = Result<(StatusCode, Json<SendAccepted>), AppError>;

/// Every send route: queue `content` with the request's Idempotency-Key, answer 202.
async fn queue(
    outbound: &Outbound,
    caller: &Caller,
    conversation_id: &str,
    content: Outgoing,
    how: SendAs,
    headers: &HeaderMap,
) -> Accepted {
    let accepted = outbound.send(caller, conversation_id, content, how, idempotency_key(headers)?).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

pub async fn send_text(
    State(outbound): State<Arc<Outbound>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<TextBody>,
) -> Accepted {
    let how = send_as(body.automated, body.take_control);
    queue(&outbound, &caller, &id, Outgoing::Text(body.text), how, &headers).await
}

/// `POST /api/inbox/conversations/:id/send`: text, text with quick replies, or a template.
pub async fn send_rich(
    State(outbound): State<Arc<Outbound>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RichBody>,
) -> Accepted {
    let how = send_as(body.automated, body.take_control);
    queue(&outbound, &caller, &id, body.content()?, how, &headers).await
}

pub async fn send_attachment(
    State(outbound): State<Arc<Outbound>>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AttachmentBody>,
) -> Accepted {
    let how = send_as(body.automated, body.take_control);
    match (body.kind, body.url, body.upload_id) {
        (Some(kind), Some(url), None) => {
            let attachment = OutgoingAttachment { kind, url, upload_id: None };
            queue(&outbound, &caller, &id, Outgoing::Attachment(attachment), how, &headers).await
        }
        (None, None, Some(upload)) => {
            let accepted = outbound.send_upload(&caller, &id, &upload, how, idempotency_key(&headers)?).await?;
            Ok((StatusCode::ACCEPTED, Json(accepted)))
        }
        _ => Err(AppError::validation("send {type, url} or {uploadId}, one of the two")),
    }
}

/// `POST /api/inbox/conversations/:id/uploads {fileName, contentType, size}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadBody {
    file_name: String,
    content_type: String,
    size: u64,
}

/// Where to put a file before sending it: `201` with the signed PUT URL.
pub async fn create_upload(
    State(outbound): State<Arc<Outbound>>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UploadBody>,
) -> Result<(StatusCode, Json<UploadTicket>), AppError> {
    let new = NewUpload { file_name: body.file_name, content_type: body.content_type, size: body.size };
    Ok((StatusCode::CREATED, Json(outbound.create_upload(&caller, &id, new).await?)))
}

pub async fn send(
    State(outbound): State<Arc<Outbound>>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SendBody>,
) -> Accepted {
    let how = send_as(body.automated, body.take_control);
    queue(&outbound, &caller, &body.conversation_id, Outgoing::Text(body.text), how, &headers).await
}

pub async fn get_job(
    State(outbound): State<Arc<Outbound>>,
    OrgId(org): OrgId,
    Path(id): Path<String>,
) -> Result<Json<IntegrationJob>, AppError> {
    Ok(Json(outbound.job(&org, &id).await?))
}

/// `POST /api/integrations/jobs/:id/retry`: a failed send queued again.
pub async fn retry_job(
    State(outbound): State<Arc<Outbound>>,
    OrgId(org): OrgId,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<IntegrationJob>), AppError> {
    Ok((StatusCode::ACCEPTED, Json(outbound.retry_send(&org, &id).await?)))
}
