//! Sender actions: typing, seen and reactions, asked over HTTP (or by marking a conversation
//! read), carried out from the sends queue. Only in a DM conversation inside its 24 h window,
//! both when asked and when carried out.

use crate::domain::rich::Refused;
use crate::domain::sender_action::{REACTION_ATTEMPTS, channel_reaction, reaction_emoji};
use crate::domain::{Author, Conversation, ConversationKind, Message, MessageChange, QueuedAction, SenderAction};
use crate::error::{AppError, ErrorCode};
use crate::meta::graph_errors::{FailureClass, classify};
use crate::ports::{ActionCall, QueueMessage};
use crate::services::backoff::retry_delay;
use crate::services::threads::conversation;

use super::{JobOutcome, Outbound};

impl Outbound {
    /// Queues `action` in the organization's conversation: `react` to one of its messages
    /// with what the channel takes, `unreact`, typing on or off, seen.
    pub async fn queue_action(&self, org: &str, conversation_id: &str, action: SenderAction) -> Result<(), AppError> {
        let conversation = conversation(&*self.ports.conversations, org, conversation_id).await?;
        if conversation.kind != ConversationKind::Dm {
            return Err(Refused::Unsupported("typing, seen and reactions are for DM conversations".into()).into());
        }
        self.sending_account(&conversation).await?;
        if !self.window_open(&conversation) {
            return Err(AppError::new(
                ErrorCode::MessagingWindowClosed,
                "the customer has not written within 24 h; Meta takes no sender action now",
            ));
        }
        let action = match action {
            SenderAction::React { message_id, reaction } => {
                self.reacted_message(&conversation, &message_id).await?;
                SenderAction::React { reaction: channel_reaction(&reaction, conversation.provider)?, message_id }
            }
            SenderAction::Unreact { message_id } => {
                self.reacted_message(&conversation, &message_id).await?;
                SenderAction::Unreact { message_id }
            }
            moment => moment,
        };
        self.enqueue_action(QueuedAction {
            organization_id: org.to_owned(),
            conversation_id: conversation.id,
            action,
            queued_at: self.now(),
            attempt: 0,
        })
        .await
    }

    async fn enqueue_action(&self, queued: QueuedAction) -> Result<(), AppError> {
        let delay = match queued.attempt {
            0 => chrono::Duration::zero(),
            n => retry_delay(self.ports.config.limits.job_retry_base_delay_ms, n, self.ports.jitter.sample(), None),
        };
        self.ports.queue.enqueue(&QueueMessage::SenderAction(queued), delay).await.map_err(AppError::unavailable)
    }

    /// Inside the customer's 24 h: sender actions never carry the human agent tag.
    fn window_open(&self, conversation: &Conversation) -> bool {
        self.ports.config.reply_policy().is_open(conversation.last_inbound_at, Author::Automation, self.now())
    }

    /// The conversation's message `message_id`, if Meta knows it (has its id).
    async fn reacted_message(&self, conversation: &Conversation, message_id: &str) -> Result<Message, AppError> {
        let message = self.ports.messages.get_message(&conversation.organization_id, message_id).await?;
        let message = message.filter(|m| m.conversation_id == conversation.id).ok_or(AppError::not_found("message"))?;
        if message.external_message_id.is_none() {
            return Err(AppError::new(ErrorCode::Conflict, "Meta has not taken this message yet: nothing to react to"));
        }
        Ok(message)
    }

    /// Carries out a queued action: a late moment, a conversation gone or outside its window,
    /// an account that cannot send are skipped; a reaction Meta failed for now is queued again
    /// (up to `REACTION_ATTEMPTS` in all), a moment never.
    pub async fn run_action(&self, queued: &QueuedAction) -> Result<JobOutcome, AppError> {
        let org = queued.organization_id.as_str();
        if queued.is_stale(self.now()) {
            tracing::info!(action = ?queued.action, "sender action dropped: too late to mean anything");
            return Ok(JobOutcome::Skipped);
        }
        let Some(conversation) = self.ports.conversations.get_conversation(org, &queued.conversation_id).await? else {
            return Ok(JobOutcome::Skipped);
        };
        let Ok(account) = self.sending_account(&conversation).await else { return Ok(JobOutcome::Skipped) };
        if !self.window_open(&conversation) {
            return Ok(JobOutcome::Skipped);
        }
        let Some(token) = self.ports.directory.token(&account).await.map_err(AppError::from)? else {
            return Ok(JobOutcome::Skipped);
        };
        let reacted = match &queued.action {
            SenderAction::React { message_id, .. } | SenderAction::Unreact { message_id } => {
                match self.reacted_message(&conversation, message_id).await {
                    Ok(m) => m.external_message_id,
                    Err(_) => return Ok(JobOutcome::Skipped), // erased or unsent since
                }
            }
            _ => None,
        };
        let call = match (&queued.action, reacted.as_deref()) {
            (SenderAction::React { reaction, .. }, Some(mid)) => ActionCall::React { message_id: mid, reaction },
            (SenderAction::Unreact { .. }, Some(mid)) => ActionCall::Unreact { message_id: mid },
            (SenderAction::TypingOff, _) => ActionCall::TypingOff,
            (SenderAction::MarkSeen, _) => ActionCall::MarkSeen,
            _ => ActionCall::TypingOn,
        };
        let target = token.send_target(&account);
        match self.ports.graph.send_action(&target, &conversation.participant_id, call).await {
            Ok(()) => {
                self.show_reaction(&account.external_account_id, queued).await?;
                Ok(JobOutcome::Succeeded)
            }
            Err(e) => {
                let class = classify(&e);
                tracing::warn!(error = %e, action = ?queued.action, "sender action failed");
                let again = QueuedAction { attempt: queued.attempt + 1, ..queued.clone() };
                if matches!(class, FailureClass::Permanent(_))
                    || queued.action.is_moment()
                    || again.attempt >= REACTION_ATTEMPTS
                {
                    return Ok(JobOutcome::Failed(class.final_code()));
                }
                self.enqueue_action(again).await?;
                Ok(JobOutcome::Retrying { delay: chrono::Duration::zero() })
            }
        }
    }

    /// A reaction Meta took, shown on its message under the account's id.
    async fn show_reaction(&self, account: &str, queued: &QueuedAction) -> Result<(), AppError> {
        let (message_id, reaction) = match &queued.action {
            SenderAction::React { message_id, reaction } => (message_id, Some(reaction.clone())),
            SenderAction::Unreact { message_id } => (message_id, None),
            _ => return Ok(()),
        };
        let change = MessageChange::Reaction {
            by: account.to_owned(),
            removed: reaction.is_none(),
            emoji: reaction.as_deref().map(|r| reaction_emoji(r).to_owned()),
            reaction,
        };
        self.ports.messages.update_message(&queued.organization_id, message_id, &change, self.now()).await?;
        Ok(())
    }
}
