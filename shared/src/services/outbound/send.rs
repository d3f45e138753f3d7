//! Agents' replies: validated, recorded as QUEUED, handed to the jobs queue.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::domain::rich::{self, QuickReply, Template};
use crate::domain::{
    Author, Caller, ConnectedAccount, Conversation, IdempotencyRecord, IntegrationJob, JobExpectation, JobStatus,
    JobType, Message, MessageChange, MessageStatus, OutgoingAttachment, Provider, SendPayload, SendRoute,
    ThreadControl, new_id,
};
use crate::error::{AppError, ErrorCode};
use crate::meta::send_api::template_attachment;
use crate::ports::QueueMessage;

use super::Outbound;
use crate::services::threads::conversation;

const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// `202` answer of the send routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendAccepted {
    pub message_id: String,
    pub job_id: String,
    pub status: String,
}

/// What an agent sends: text, one attachment, a text with choices, or a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Text(String),
    Attachment(OutgoingAttachment),
    Choices {
        text: String,
        replies: Vec<QuickReply>,
    },
    Template(Template),
    /// A file the agent uploaded, found whole in storage (`Outbound::uploaded_file`).
    Upload(Box<crate::domain::upload::Upload>),
}

impl Outgoing {
    /// Within what the conversation's channel takes.
    pub(super) fn validate(&self, provider: Provider) -> Result<(), AppError> {
        match self {
            Outgoing::Text(text) => Ok(rich::check_text(text, provider)?),
            Outgoing::Attachment(a) => Ok(a.check()?),
            Outgoing::Choices { text, replies } => {
                rich::check_text(text, provider)?;
                Ok(rich::check_quick_replies(replies, provider)?)
            }
            Outgoing::Template(t) => Ok(t.check()?),
            // Checked against the channel when declared, and its bytes once uploaded.
            Outgoing::Upload(_) => Ok(()),
        }
    }

    /// What identifies the request for its idempotency key.
    pub(super) fn fingerprint(&self) -> String {
        match self {
            Outgoing::Text(text) => text.clone(),
            Outgoing::Attachment(a) => format!("{}\0{}", a.kind, a.url),
            Outgoing::Choices { text, replies } => format!("{text}\0{}", json!(replies)),
            Outgoing::Template(t) => json!(t).to_string(),
            Outgoing::Upload(u) => format!("upload\0{}", u.id),
        }
    }
}

impl Outbound {
    /// Queues `text` as a reply in the organization's conversation. With an idempotency key,
    /// the same key (and request) returns the first answer and sends once.
    pub async fn send_text(
        &self,
        caller: &Caller,
        conversation_id: &str,
        text: &str,
        idempotency_key: Option<&str>,
    ) -> Result<SendAccepted, AppError> {
        let how = SendAs { author: Author::Person, take_control: false };
        self.send(caller, conversation_id, Outgoing::Text(text.to_owned()), how, idempotency_key).await
    }

    /// Queues `content` as a reply in the caller's organization's conversation, recorded as
    /// theirs. With an idempotency key, the same key (and request) returns the first answer
    /// and sends once. A thread another app controls is refused unless `how.take_control`.
    pub async fn send(
        &self,
        caller: &Caller,
        conversation_id: &str,
        content: Outgoing,
        how: SendAs,
        idempotency_key: Option<&str>,
    ) -> Result<SendAccepted, AppError> {
        let org = caller.organization_id.as_str();
        let author = how.author;
        let (conversation, account) = self.sendable(org, conversation_id, author).await?;
        content.validate(conversation.provider)?;
        if ThreadControl::held_elsewhere(conversation.thread_control.as_ref()) && !how.take_control {
            return Err(AppError::thread_owned_elsewhere());
        }

        let accepted = match self.send_ids(org, idempotency_key, conversation_id, &content.fingerprint()).await? {
            Ids::Go(ids) => ids,
            Ids::Done(first) => return Ok(first),
        };

        let by = caller.subject.as_deref();
        let queued = Queued {
            conversation: &conversation,
            account: account.as_ref(),
            author,
            route: SendRoute::Direct,
            by,
            take_control: how.take_control,
        };
        self.queue_send(org, queued, content, accepted).await
    }

    /// Stores the reply QUEUED under `accepted`'s ids, creates its job and queues it. Each
    /// step is conditional or idempotent, so a request finishing one that died (the same
    /// ids) never overwrites what the first stored, nor resets a finished job.
    pub(super) async fn queue_send(
        &self,
        org: &str,
        queued: Queued<'_>,
        content: Outgoing,
        accepted: SendAccepted,
    ) -> Result<SendAccepted, AppError> {
        let now = self.now();
        let message = queued_message(&queued, &content, &accepted, now);
        match self.ports.messages.insert_message(&message).await {
            Ok(()) | Err(crate::ports::StoreError::Conflict("message")) => {}
            Err(e) => return Err(e.into()),
        }
        let payload = SendPayload::new(&queued, &message.id, content);
        let provider = queued.conversation.provider;
        let job = IntegrationJob::send_message(accepted.job_id.clone(), org, provider, payload, now);
        self.ports.jobs.replace_job(&job, JobExpectation::Absent).await?;
        self.ports.queue.enqueue(&QueueMessage::send(org, &job.id), Duration::zero()).await.map_err(|e| {
            tracing::error!(error = %e, job = %job.id, "reply stored but not queued");
            AppError::new(
                ErrorCode::ServiceUnavailable,
                "the reply is stored but could not be queued; retry with the same Idempotency-Key",
            )
        })?;
        Ok(accepted)
    }

    /// The conversation and its account, if a reply by `author` can go out now: the account
    /// can send and the messaging window is open for it.
    async fn sendable(
        &self,
        org: &str,
        conversation_id: &str,
        author: Author,
    ) -> Result<(crate::domain::Conversation, Option<crate::domain::ConnectedAccount>), AppError> {
        let conversation = conversation(&*self.ports.conversations, org, conversation_id).await?;
        let account = self.sending_account(&conversation).await?;
        if !self.ports.config.reply_policy().is_open(conversation.last_inbound_at, author, self.now()) {
            return Err(AppError::new(
                ErrorCode::MessagingWindowClosed,
                "the customer has not written within the messaging window; Instagram refuses replies",
            ));
        }
        Ok((conversation, Some(account)))
    }

    /// The organization's job (another organization's id is not found).
    pub async fn job(&self, org: &str, job_id: &str) -> Result<IntegrationJob, AppError> {
        self.ports.jobs.get_job(org, job_id).await?.ok_or_else(|| AppError::not_found("job"))
    }

    /// Queues a FAILED send again (same message, a new series of attempts) once what failed
    /// it no longer holds: the account can send (reconnected) and the window is open. Its
    /// `createdAt` becomes now, so the retry budget starts again.
    pub async fn retry_send(&self, org: &str, job_id: &str) -> Result<IntegrationJob, AppError> {
        let job = self.job(org, job_id).await?;
        if job.job_type != JobType::SendMessage || job.status != JobStatus::Failed {
            return Err(AppError::new(ErrorCode::Conflict, "only a failed send can be retried"));
        }
        if self.confirmed_late(&job).await? {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "Meta delivered this send after all (its echo came late): it is SENT now, not sent again",
            ));
        }
        let payload = job.payload.clone();
        // A DM needs its window open again; a comment reply only an account that can send.
        match payload.route {
            SendRoute::Direct => drop(self.sendable(org, &payload.conversation_id, payload.author).await?),
            _ => drop(self.comment_reply_target(org, &payload.conversation_id).await?),
        }
        let now = self.now();
        let reopened = job.reopen(now);
        // Conditional: of two concurrent retries, one reopens the job.
        if !self.ports.jobs.replace_job(&reopened, JobExpectation::Status(JobStatus::Failed)).await? {
            return Err(AppError::new(ErrorCode::Conflict, "the job is no longer failed"));
        }
        self.ports.messages.update_message(org, &payload.message_id, &MessageChange::Requeued, now).await?;
        self.ports
            .queue
            .enqueue(&QueueMessage::send(org, &reopened.id), Duration::zero())
            .await
            .map_err(AppError::unavailable)?;
        Ok(reopened)
    }

    /// The ids a send goes under: fresh ones, or with an Idempotency-Key the first request's
    /// (`Done` when that one was queued: answer it again, send nothing more).
    pub(super) async fn send_ids(
        &self,
        org: &str,
        idempotency_key: Option<&str>,
        conversation_id: &str,
        fingerprint: &str,
    ) -> Result<Ids, AppError> {
        let fresh = SendAccepted { message_id: Message::new_id(), job_id: new_id("job"), status: "QUEUED".to_owned() };
        let Some(key) = idempotency_key else { return Ok(Ids::Go(fresh)) };
        Ok(match self.reserve_key(org, key, conversation_id, fingerprint, &fresh).await? {
            Reserved::New => Ids::Go(fresh),
            Reserved::Done(first) => Ids::Done(first),
            // The first request died before its job existed: finish it under its ids.
            Reserved::Unfinished(first) => Ids::Go(first),
            Reserved::Taken(_) => {
                return Err(AppError::new(
                    ErrorCode::Conflict,
                    "this Idempotency-Key was used for a different request",
                ));
            }
        })
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
        self.claim_ids(org, key, &digest, accepted).await
    }

    /// Reserves `key` in the organization's idempotency space for the send `accepted` (a
    /// request's Idempotency-Key, or a comment's one private reply). Held already: the first
    /// holder's ids, `Done` once its job exists, `Taken` when it holds another `digest` (another
    /// request: its ids are never lent to a different text).
    pub(super) async fn claim_ids(
        &self,
        org: &str,
        key: &str,
        digest: &str,
        accepted: &SendAccepted,
    ) -> Result<Reserved, AppError> {
        let record = IdempotencyRecord {
            organization_id: org.to_owned(),
            key: key.to_owned(),
            request_digest: digest.to_owned(),
            response: serde_json::to_value(accepted).expect("answer serialises"),
            created_at: self.now(),
        };
        let Some(first) = self.ports.idempotency.reserve_idempotency_key(&record).await? else {
            return Ok(Reserved::New);
        };
        let answer: SendAccepted = serde_json::from_value(first.response)
            .map_err(|e| AppError::internal(format!("stored idempotent answer unreadable: {e}")))?;
        if first.request_digest != digest {
            return Ok(Reserved::Taken(answer));
        }
        Ok(match self.ports.jobs.get_job(org, &answer.job_id).await? {
            Some(_) => Reserved::Done(answer),
            None => Reserved::Unfinished(answer),
        })
    }
}

pub(super) enum Reserved {
    New,
    /// The same request, already queued.
    Done(SendAccepted),
    /// The same request, whose first try died before its job existed: finished under its ids.
    Unfinished(SendAccepted),
    /// Another request holds it.
    Taken(SendAccepted),
}

/// See `Outbound::send_ids`.
pub(super) enum Ids {
    Go(SendAccepted),
    Done(SendAccepted),
}

/// What a queued send goes into: its conversation, its account, how it goes out.
pub(super) struct Queued<'a> {
    pub conversation: &'a Conversation,
    pub account: Option<&'a ConnectedAccount>,
    pub author: Author,
    pub route: SendRoute,
    /// The agent who sent it (their token's `sub`), shown as `metaJson.sentBy`.
    pub by: Option<&'a str>,
    /// Take control of the thread from the app that has it before sending.
    pub take_control: bool,
}

/// Who sends a DM, and whether to take the thread from the app that controls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendAs {
    pub author: Author,
    pub take_control: bool,
}

/// The reply as the inbox shows it until Meta takes it: QUEUED, under the ids the answer gives.
fn queued_message(queued: &Queued<'_>, content: &Outgoing, accepted: &SendAccepted, now: DateTime<Utc>) -> Message {
    let (conversation, account) = (queued.conversation, queued.account);
    let (text, attachments) = match content {
        Outgoing::Text(text) | Outgoing::Choices { text, .. } => (Some(text.clone()), Vec::new()),
        Outgoing::Attachment(a) => (None, vec![a.to_json()]),
        Outgoing::Template(t) => (Some(t.summary().to_owned()), vec![template_attachment(t)]),
        Outgoing::Upload(u) => (None, vec![u.attachment_json()]),
    };
    let mut message = Message {
        id: accepted.message_id.clone(),
        organization_id: conversation.organization_id.clone(),
        conversation_id: conversation.id.clone(),
        provider: conversation.provider,
        direction: crate::domain::Direction::Outbound,
        from: account.map(|a| a.external_account_id.clone()).unwrap_or_default(),
        to: conversation.participant_id.clone(),
        text,
        attachments,
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
    if !queued.route.is_direct() {
        message.meta_json["route"] = json!(queued.route);
    }
    if let Some(by) = queued.by {
        message.meta_json["sentBy"] = json!(by);
    }
    if let Outgoing::Choices { replies, .. } = content {
        message.meta_json["quickReplies"] = json!(replies);
    }
    message
}

impl SendPayload {
    /// What the job needs to send `content` to the conversation's customer.
    fn new(queued: &Queued<'_>, message_id: &str, content: Outgoing) -> Self {
        let conversation = queued.conversation;
        let (text, attachment, quick_replies, template) = match content {
            Outgoing::Text(text) => (text, None, Vec::new(), None),
            Outgoing::Attachment(a) => (String::new(), Some(a), Vec::new(), None),
            Outgoing::Choices { text, replies } => (text, None, replies, None),
            Outgoing::Template(t) => (String::new(), None, Vec::new(), Some(t)),
            Outgoing::Upload(u) => {
                let attachment = OutgoingAttachment { kind: u.kind, url: String::new(), upload_id: Some(u.id) };
                (String::new(), Some(attachment), Vec::new(), None)
            }
        };
        SendPayload {
            conversation_id: conversation.id.clone(),
            message_id: message_id.to_owned(),
            text,
            attachment,
            quick_replies,
            template,
            recipient_id: conversation.participant_id.clone(),
            thread_id: conversation.external_thread_id.clone(),
            author: queued.author,
            take_control: queued.take_control,
            route: queued.route.clone(),
        }
    }
}
