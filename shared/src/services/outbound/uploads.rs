//! Files from the agent's computer: declared (`POST .../uploads`, checked against what the
//! channel takes), put by the agent's browser straight into media storage (a signed PUT, so
//! no file passes through a function), checked once there (whole, and the type its bytes
//! show), then sent: the send's first attempt hands the file to Meta's attachment upload API
//! and keeps the `attachment_id`, which every later attempt and send of it reuses.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::domain::media::sniff;
use crate::domain::upload::{self, Upload};
use crate::domain::{Caller, ConnectedAccount, new_id};
use crate::error::{AppError, ErrorCode};
use crate::meta::graph_errors::classify;
use crate::ports::{MediaStore, SendTarget};
use crate::services::threads::conversation;

use super::delivery::SendFailure;
use super::{Outbound, Outgoing, SendAccepted, SendAs};

/// How long the signed PUT URL of an upload works.
const PUT_URL_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// How long the link Meta fetches an uploaded file from works (Meta fetches at once).
const META_FETCH_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// Enough of a file's first bytes to tell its type.
const SNIFF_BYTES: usize = 64;

/// What an agent declares of a file before putting it.
#[derive(Debug, Clone)]
pub struct NewUpload {
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
}

/// `201` answer of `POST .../uploads`: where and how to put the file, until when.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadTicket {
    pub upload_id: String,
    /// Meta's attachment type it goes as.
    #[serde(rename = "type")]
    pub kind: String,
    pub upload_url: String,
    pub method: &'static str,
    /// Headers the PUT must carry (its `Content-Type`, as declared).
    pub headers: BTreeMap<&'static str, String>,
    pub expires_at: DateTime<Utc>,
}

impl Outbound {
    /// Queues the conversation's upload `upload_id` (its file whole in storage) as a reply.
    pub async fn send_upload(
        &self,
        caller: &Caller,
        conversation_id: &str,
        upload_id: &str,
        how: SendAs,
        idempotency_key: Option<&str>,
    ) -> Result<SendAccepted, AppError> {
        let upload = self.uploaded_file(&caller.organization_id, conversation_id, upload_id).await?;
        self.send(caller, conversation_id, Outgoing::Upload(Box::new(upload)), how, idempotency_key).await
    }

    fn media(&self) -> Result<&Arc<dyn MediaStore>, AppError> {
        self.ports.media.as_ref().ok_or_else(|| {
            AppError::new(
                ErrorCode::NotConfigured,
                "no media storage: set MEDIA_BUCKET to send files from the computer",
            )
        })
    }

    /// Records an upload for a file the conversation's channel takes and answers where to
    /// put it; nothing is stored for a refused one.
    pub async fn create_upload(
        &self,
        caller: &Caller,
        conversation_id: &str,
        new: NewUpload,
    ) -> Result<UploadTicket, AppError> {
        let media = self.media()?;
        let org = caller.organization_id.as_str();
        let conversation = conversation(&*self.ports.conversations, org, conversation_id).await?;
        let content_type = upload::normalized_type(&new.content_type);
        let kind = upload::kind_for(conversation.provider, &content_type, new.size)?;
        let upload = Upload {
            id: new_id("upl"),
            organization_id: org.to_owned(),
            conversation_id: conversation.id.clone(),
            file_name: upload::clean_file_name(&new.file_name)?,
            content_type,
            size: new.size,
            kind: kind.to_owned(),
            created_at: self.now(),
            attachment_ids: BTreeMap::new(),
        };
        self.keep(media, &upload).await.map_err(AppError::unavailable)?;
        let url = media
            .signed_put_url(&upload.file_key(), &upload.content_type, upload.size, PUT_URL_TTL)
            .await
            .map_err(AppError::unavailable)?;
        Ok(UploadTicket {
            upload_id: upload.id,
            kind: upload.kind,
            upload_url: url,
            method: "PUT",
            headers: BTreeMap::from([("Content-Type", upload.content_type)]),
            expires_at: self.now() + Duration::from_std(PUT_URL_TTL).unwrap_or_default(),
        })
    }

    async fn keep(&self, media: &Arc<dyn MediaStore>, upload: &Upload) -> Result<(), crate::ports::MediaError> {
        let record = serde_json::to_vec(upload).expect("an upload serialises");
        media.put(&upload.record_key(), record, "application/json").await
    }

    async fn upload_record(&self, org: &str, conversation_id: &str, upload_id: &str) -> Result<Upload, AppError> {
        let media = self.media()?;
        let id_like = |c: char| c.is_ascii_alphanumeric() || "_-".contains(c);
        if upload_id.is_empty() || upload_id.len() > 64 || !upload_id.chars().all(id_like) {
            return Err(AppError::not_found("upload"));
        }
        let key = upload::upload_record_key(org, conversation_id, upload_id);
        let record = media.get(&key).await.map_err(AppError::unavailable)?;
        let record = record.ok_or_else(|| AppError::not_found("upload"))?;
        serde_json::from_slice(&record).map_err(|e| AppError::internal(format!("upload record unreadable: {e}")))
    }

    /// The conversation's upload `upload_id`, its file in storage whole and of the type it
    /// was declared as: what `send-attachment {uploadId}` sends. Another conversation's or
    /// organization's upload is not found.
    pub(super) async fn uploaded_file(
        &self,
        org: &str,
        conversation_id: &str,
        upload_id: &str,
    ) -> Result<Upload, AppError> {
        let upload = self.upload_record(org, conversation_id, upload_id).await?;
        let head = self.media()?.head(&upload.file_key(), SNIFF_BYTES).await.map_err(AppError::unavailable)?;
        let incomplete = |why: String| AppError::new(ErrorCode::UploadIncomplete, why);
        let head =
            head.ok_or_else(|| incomplete("the file is not uploaded yet: PUT it to its uploadUrl first".into()))?;
        if head.size != upload.size {
            return Err(incomplete(format!(
                "the upload holds {} bytes, not the {} declared: PUT the whole file again",
                head.size, upload.size
            )));
        }
        if !upload::bytes_fit(&upload, sniff(&head.first_bytes)) {
            return Err(AppError::validation(format!("the file's bytes are not a {}", upload.content_type)));
        }
        Ok(upload)
    }

    /// Meta's `attachment_id` for the upload on `account`: the one kept, or the file handed to
    /// Meta's attachment upload API now and its id kept. An upload whose answer is lost is
    /// made again on the retry (an unused copy at Meta, nothing sent to the customer).
    pub(super) async fn attachment_id(
        &self,
        org: &str,
        conversation_id: &str,
        upload_id: &str,
        account: &ConnectedAccount,
        target: &SendTarget<'_>,
    ) -> Result<String, SendFailure> {
        let mut upload = self.upload_record(org, conversation_id, upload_id).await?;
        if let Some(id) = upload.attachment_ids.get(&account.id) {
            return Ok(id.clone());
        }
        let media = self.media()?;
        let url = media.signed_url(&upload.file_key(), META_FETCH_TTL).await.map_err(AppError::unavailable)?;
        let uploaded = self.ports.graph.upload_attachment(target, account.provider, &upload.kind, &url).await;
        // Nothing reached the customer whatever the answer: never an unclear send.
        let attachment_id = uploaded.map_err(|e| SendFailure {
            retry_after: e.retry_after_minutes().map(|m| Duration::minutes(m as i64)),
            ..SendFailure::of(classify(&e), e.message.clone())
        })?;
        upload.attachment_ids.insert(account.id.clone(), attachment_id.clone());
        if let Err(e) = self.keep(media, &upload).await {
            // The send goes on; a later one uploads the file again.
            tracing::warn!(error = %e, upload = %upload.id, "Meta's attachment id not kept");
        }
        Ok(attachment_id)
    }
}
