//! One attempt at a queued send: the account and its token, the messaging basis decided now,
//! the account's pace (Meta's usage headers included), the Graph call, and what its answer
//! says of the account's use.

use chrono::{DateTime, Duration, Utc};

use crate::domain::{ConnectedAccount, MessagingBasis, Provider, UnclearAnswer};
use crate::error::{AppError, ErrorCode};
use crate::meta::graph_errors::{FailureClass, classify};
use crate::ports::{OutgoingContent, OutgoingMessage, Recipient, SentMessage};

use super::Outbound;
use crate::domain::{SendPayload, SendRoute};
use crate::services::threads::conversation;

/// The longest wait for the account's next send slot spent inside the worker; a longer one
/// (Meta asked to wait) goes back to the queue instead.
const MAX_INLINE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Why a send did not go through.
pub(super) struct SendFailure {
    pub(super) class: FailureClass,
    pub(super) message: String,
    pub(super) retry_after: Option<Duration>,
    /// Meta may have sent it all the same (see `GraphError::outcome_unknown`), and what the
    /// answer was.
    pub(super) unclear: Option<UnclearAnswer>,
    /// Not tried: the account must wait (Meta's usage), so it costs no attempt.
    pub(super) paced: bool,
}

impl SendFailure {
    pub(super) fn permanent(code: ErrorCode, message: impl Into<String>) -> Self {
        SendFailure {
            class: FailureClass::Permanent(code),
            message: message.into(),
            retry_after: None,
            unclear: None,
            paced: false,
        }
    }

    /// Worth another attempt later.
    pub(super) fn transient(message: impl Into<String>) -> Self {
        Self::of(FailureClass::Transient, message)
    }

    pub(super) fn of(class: FailureClass, message: impl Into<String>) -> Self {
        SendFailure { class, message: message.into(), retry_after: None, unclear: None, paced: false }
    }

    /// The account's sends wait until `until` (Meta's word), this one with them.
    fn paced(until: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        SendFailure {
            class: FailureClass::Throttled,
            message: format!("Meta asked this account to wait until {until}"),
            retry_after: Some(until - now),
            unclear: None,
            paced: true,
        }
    }
}

impl From<AppError> for SendFailure {
    fn from(e: AppError) -> Self {
        let class = match e.code {
            ErrorCode::InternalError | ErrorCode::ServiceUnavailable => FailureClass::Transient,
            code => FailureClass::Permanent(code),
        };
        SendFailure { class, message: e.message, retry_after: None, unclear: None, paced: false }
    }
}

impl Outbound {
    /// Sends the reply of job `job_id` through the Graph API with the account's token.
    pub(super) async fn deliver(&self, org: &str, job_id: &str, p: &SendPayload) -> Result<SentMessage, SendFailure> {
        let conversation = conversation(&*self.ports.conversations, org, &p.conversation_id).await?;
        let account = self.sending_account(&conversation).await?;
        let Some(token) = self.ports.directory.token(&account).await.map_err(AppError::from)? else {
            return Err(SendFailure::permanent(
                ErrorCode::AccountReauthRequired,
                "no usable access token for the account",
            ));
        };
        let target = token.send_target(&account);
        let basis = self.basis(&conversation, p)?;
        if p.route.is_direct() {
            self.ensure_control(&conversation, p, &target).await?;
        }
        let uploaded = match p.attachment.as_ref().and_then(|a| a.upload_id.as_deref()) {
            Some(id) => Some(self.attachment_id(org, &p.conversation_id, id, &account, &target).await?),
            None => None,
        };
        self.take_send_slot(&account, p).await?;
        let sent = match &p.route {
            SendRoute::PublicReply { comment_id } => {
                self.ports.graph.reply_to_comment(&target, comment_id, &p.text).await
            }
            _ => {
                // Messenger echoes a send's metadata: the job's name on it, the echo is ours.
                let metadata = (conversation.provider == Provider::Messenger).then(|| echo_metadata(job_id));
                let message =
                    OutgoingMessage { metadata: metadata.as_deref(), ..outgoing(p, basis, uploaded.as_deref()) };
                self.ports.graph.send(&target, &message).await
            }
        };
        let usage = match &sent {
            Ok(s) => s.usage,
            Err(e) => e.usage,
        };
        if let Some(usage) = usage {
            self.pacer.observe(&account.id, &usage, self.now());
        }
        sent.map_err(|e| SendFailure {
            class: classify(&e),
            retry_after: e.retry_after_minutes().map(|m| Duration::minutes(m as i64)),
            // Meta's own error body on a 5xx does not prove nothing was sent either.
            unclear: e.outcome_unknown.then_some(match e.code {
                Some(_) => UnclearAnswer::MetaError,
                None => UnclearAnswer::Unreadable,
            }),
            message: e.message,
            paced: false,
        })
    }

    /// The basis (and so the tag) is this attempt's: a send retried past the 24 h goes out
    /// under HUMAN_AGENT if a person wrote it, or not at all.
    fn basis(
        &self,
        conversation: &crate::domain::Conversation,
        p: &SendPayload,
    ) -> Result<MessagingBasis, SendFailure> {
        match &p.route {
            SendRoute::Direct => {
                let policy = self.ports.config.reply_policy();
                policy.basis_at(conversation.last_inbound_at, self.now(), p.author).ok_or_else(|| {
                    SendFailure::permanent(
                        ErrorCode::MessagingWindowClosed,
                        "the messaging window closed before the reply could go out",
                    )
                })
            }
            // A reply to a comment has the comment's own window, checked when it was asked.
            _ => Ok(MessagingBasis::Response),
        }
    }

    /// Waits for the account's next send slot, or (Meta asked it to wait, or the wait is
    /// long) hands the send back to the queue for then.
    async fn take_send_slot(&self, account: &ConnectedAccount, p: &SendPayload) -> Result<(), SendFailure> {
        let now = self.now();
        if let Some(until) = self.pacer.held_until(&account.id, now) {
            return Err(SendFailure::paced(until, now));
        }
        let per_second = match &p.attachment {
            Some(a) if a.kind == "audio" || a.kind == "video" => self.ports.config.limits.send_rate_per_account.min(10),
            _ => self.ports.config.limits.send_rate_per_account,
        };
        let wait = self.pacer.reserve(&account.id, per_second, std::time::Instant::now());
        if wait > MAX_INLINE_WAIT {
            let later = Duration::from_std(wait).unwrap_or(Duration::seconds(60));
            return Err(SendFailure::paced(now + later, now));
        }
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }
}

/// The metadata a Messenger send of job `job_id` carries, and its echo brings back.
pub(super) fn echo_metadata(job_id: &str) -> String {
    format!("job:{job_id}")
}

/// What the send carries, to whom, on what basis: the Graph adapter writes Meta's JSON. An
/// uploaded file goes by the `attachment_id` Meta gave it.
fn outgoing<'a>(p: &'a SendPayload, basis: MessagingBasis, attachment_id: Option<&'a str>) -> OutgoingMessage<'a> {
    let recipient = match &p.route {
        SendRoute::PrivateReply { comment_id } => Recipient::CommentAuthor(comment_id),
        _ => Recipient::Person(&p.recipient_id),
    };
    let content = match (&p.attachment, &p.template) {
        (Some(a), _) => match attachment_id {
            Some(attachment_id) => OutgoingContent::Uploaded { kind: &a.kind, attachment_id },
            None => OutgoingContent::Attachment { kind: &a.kind, url: &a.url },
        },
        (None, Some(t)) => OutgoingContent::Template(t),
        (None, None) if !p.quick_replies.is_empty() => {
            OutgoingContent::Choices { text: &p.text, replies: &p.quick_replies }
        }
        (None, None) => OutgoingContent::Text(&p.text),
    };
    OutgoingMessage { recipient, content, basis, metadata: None }
}
