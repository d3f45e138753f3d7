//! Agents' replies: validated, recorded as QUEUED, handed to the jobs queue.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::domain::{IdempotencyRecord, IntegrationJob, JobStatus, JobType, Message, MessageStatus, Provider, new_id};
use crate::error::{AppError, ErrorCode};
use crate::ports::QueueMessage;

use super::Core;

/// Instagram refuses text over 1000 UTF-8 bytes.
pub const MAX_TEXT_BYTES: usize = 1000;
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// `202` answer of the send routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendAccepted {
    pub message_id: String,
    pub job_id: String,
    pub status: String,
}

/// What a SEND_MESSAGE job carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendPayload {
    pub conversation_id: String,
    pub message_id: String,
    pub text: String,
    pub recipient_id: String,
    pub thread_id: String,
    /// Sent after the 24 h window under the 7-day `HUMAN_AGENT` tag.
    #[serde(default)]
    pub human_agent_tag: bool,
}

impl Core {
    /// Queues `text` as a reply in the organization's conversation. With an idempotency key,
    /// the same key (and request) returns the first answer and sends once.
    pub async fn send_text(
        &self,
        org: &str,
        conversation_id: &str,
        text: &str,
        idempotency_key: Option<&str>,
    ) -> Result<SendAccepted, AppError> {
        if text.trim().is_empty() {
            return Err(AppError::validation("text must not be empty"));
        }
        if text.len() > MAX_TEXT_BYTES {
            return Err(AppError::validation(format!(
                "text is {} UTF-8 bytes; Instagram accepts at most {MAX_TEXT_BYTES}",
                text.len()
            )));
        }
        let conversation = self.conversation(org, conversation_id).await?;
        let account = self.account_of(org, &conversation.connected_account_id).await?;
        Self::ensure_can_send(account.as_ref())?;
        let now = self.now();
        let policy = self.config.reply_policy();
        if policy.window_ends_at(conversation.last_inbound_at).is_none_or(|end| now >= end) {
            return Err(AppError::new(
                ErrorCode::MessagingWindowClosed,
                "the customer has not written within the messaging window; Instagram refuses replies",
            ));
        }

        let mut accepted =
            SendAccepted { message_id: new_id("msg"), job_id: new_id("job"), status: "QUEUED".to_owned() };
        if let Some(key) = idempotency_key {
            match self.reserve_key(org, key, conversation_id, text, &accepted).await? {
                Reserved::New => {}
                Reserved::Done(first) => return Ok(first),
                // The first request died before its job existed: finish it under its ids.
                Reserved::Unfinished(first) => accepted = first,
            }
        }

        let message = Message {
            id: accepted.message_id.clone(),
            organization_id: org.to_owned(),
            conversation_id: conversation.id.clone(),
            provider: Provider::Instagram,
            direction: crate::domain::Direction::Outbound,
            from: account.as_ref().map(|a| a.external_account_id.clone()).unwrap_or_default(),
            to: conversation.participant_id.clone(),
            text: Some(text.to_owned()),
            attachments: Vec::new(),
            status: MessageStatus::Queued,
            error_code: None,
            external_message_id: None,
            meta_json: json!({
                "recipientId": conversation.participant_id,
                "threadId": conversation.external_thread_id,
                "jobId": accepted.job_id,
            }),
            created_at: now,
            updated_at: now,
        };
        self.store.insert_message(&message).await?;
        let payload = SendPayload {
            conversation_id: conversation.id.clone(),
            message_id: message.id.clone(),
            text: text.to_owned(),
            recipient_id: conversation.participant_id.clone(),
            thread_id: conversation.external_thread_id.clone(),
            human_agent_tag: policy.needs_human_agent_tag(conversation.last_inbound_at, now),
        };
        let job = IntegrationJob {
            id: accepted.job_id.clone(),
            organization_id: org.to_owned(),
            provider: Provider::Instagram,
            job_type: JobType::SendMessage,
            status: JobStatus::Pending,
            attempts: 0,
            next_attempt_at: Some(now),
            last_error: None,
            payload_json: serde_json::to_value(&payload).expect("payload serialises"),
            lease_expires_at: None,
            created_at: now,
            updated_at: now,
        };
        self.store.put_job(&job).await?;
        self.queue
            .enqueue(&QueueMessage::job(JobType::SendMessage, org, &job.id), Duration::zero())
            .await
            .map_err(|e| AppError::internal(format!("{e}; retry with the same Idempotency-Key")))?;
        Ok(accepted)
    }

    async fn reserve_key(
        &self,
        org: &str,
        key: &str,
        conversation_id: &str,
        text: &str,
        accepted: &SendAccepted,
    ) -> Result<Reserved, AppError> {
        if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN || key.chars().any(|c| c.is_control()) {
            return Err(AppError::validation("Idempotency-Key must be 1 to 255 printable characters"));
        }
        let digest =
            hex::encode(Sha256::new().chain_update(conversation_id).chain_update([0]).chain_update(text).finalize());
        let record = IdempotencyRecord {
            organization_id: org.to_owned(),
            key: key.to_owned(),
            request_digest: digest.clone(),
            response: serde_json::to_value(accepted).expect("answer serialises"),
            created_at: self.now(),
        };
        let Some(first) = self.store.reserve_idempotency_key(&record).await? else {
            return Ok(Reserved::New);
        };
        if first.request_digest != digest {
            return Err(AppError::new(ErrorCode::Conflict, "this Idempotency-Key was used for a different request"));
        }
        let answer: SendAccepted = serde_json::from_value(first.response)
            .map_err(|e| AppError::internal(format!("stored idempotent answer unreadable: {e}")))?;
        Ok(match self.store.get_job(org, &answer.job_id).await? {
            Some(_) => Reserved::Done(answer),
            None => Reserved::Unfinished(answer),
        })
    }
}

enum Reserved {
    New,
    Done(SendAccepted),
    Unfinished(SendAccepted),
}
