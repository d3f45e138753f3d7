//! What the history import and the reconciliation sweep share: an account's threads read
//! from Meta's Conversations API at Meta's pace, and a message Meta lists stored as a
//! webhook's would be (the same Meta id is the same message, whichever came first).

use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::time::Instant;

use crate::domain::{Activity, ConnectedAccount, Conversation, ConversationChange, Direction, Message};
use crate::error::AppError;
use crate::ports::{
    AccountToken, Appended, GraphError, GraphHost, MetaMessage, MetaThread, MetaThreadPage, ThreadQuery,
};

use super::Inbound;
use crate::services::threads::open_conversation;

/// Why a message Meta lists is stored now: the import of what came before the account was
/// connected, or the sweep of what the webhooks never delivered (`metaJson.recoveredBy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    History,
    Sweep,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::History => "history",
            Origin::Sweep => "sweep",
        }
    }
}

/// What storing one thread's messages did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct ThreadOutcome {
    /// Messages Meta listed in the time asked for (stored now or before).
    pub listed: u32,
    /// Of those, the ones stored now.
    pub stored: u32,
}

/// One account's threads, read with its token, every call at most at the configured rate.
pub(super) struct ThreadReader<'a> {
    inbound: &'a Inbound,
    pub account: &'a ConnectedAccount,
    token: AccountToken,
    interval: StdDuration,
    next_call: Instant,
}

impl Inbound {
    /// A reader of `account`'s threads; `None` when it has no token that opens.
    pub(super) async fn thread_reader<'a>(
        &'a self,
        account: &'a ConnectedAccount,
    ) -> Result<Option<ThreadReader<'a>>, AppError> {
        let Some(token) = self.ports.directory.token(account).await? else { return Ok(None) };
        let rate = self.ports.config.limits.history.calls_per_second;
        let interval = StdDuration::from_secs_f64(1.0 / rate);
        Ok(Some(ThreadReader { inbound: self, account, token, interval, next_call: Instant::now() }))
    }
}

impl ThreadReader<'_> {
    /// Waits for the account's next turn: calls `interval` apart (Meta allows this API two a
    /// second per account).
    async fn pace(&mut self) {
        tokio::time::sleep_until(self.next_call).await;
        self.next_call = Instant::now() + self.interval;
    }

    /// A page of the account's threads, newest first.
    pub async fn threads(&mut self, after: Option<&str>, limit: u32) -> Result<MetaThreadPage, GraphError> {
        self.pace().await;
        let owner = match self.token.host {
            GraphHost::Facebook => self.account.page_id.as_deref().unwrap_or("me"),
            GraphHost::Instagram => "me",
        };
        let (host, platform, token) = (self.token.host, self.account.provider, self.token.token.as_str());
        let query = ThreadQuery { host, owner, platform, token, after, limit };
        self.inbound.ports.graph.list_threads(&query).await
    }

    /// The messages Meta details of a thread, newest first.
    pub async fn messages(&mut self, thread_id: &str) -> Result<Vec<MetaMessage>, GraphError> {
        self.pace().await;
        self.inbound.ports.graph.thread_messages(self.token.host, &self.token.token, thread_id).await
    }

    /// Whether `id` is the account's own side (its Instagram id, or its Page).
    fn is_ours(&self, id: &str) -> bool {
        id == self.account.external_account_id || self.account.page_id.as_deref() == Some(id)
    }

    /// The customer of a thread: the participant who is not the account.
    fn customer_of<'m>(&self, thread: &'m MetaThread, messages: &'m [MetaMessage]) -> Option<&'m str> {
        let sides = thread.participants.iter().map(String::as_str);
        let from_messages =
            messages.iter().flat_map(|m| std::iter::once(m.from.as_str()).chain(m.to.iter().map(String::as_str)));
        sides.chain(from_messages).find(|id| !self.is_ours(id))
    }

    /// Stores the thread's messages sent since `since` (oldest first, each once by its Meta
    /// id), in the customer's conversation, which learns Meta's thread id.
    pub async fn store_thread(
        &self,
        thread: &MetaThread,
        messages: &[MetaMessage],
        since: DateTime<Utc>,
        origin: Origin,
    ) -> Result<ThreadOutcome, AppError> {
        let mut outcome = ThreadOutcome::default();
        let recent: Vec<&MetaMessage> = messages.iter().rev().filter(|m| m.created_time >= since).collect();
        let (Some(customer), Some(first)) = (self.customer_of(thread, messages), recent.first()) else {
            return Ok(outcome);
        };
        let inbound = self.inbound;
        let now = inbound.now();
        let store = &*inbound.ports.conversations;
        let mut conversation = open_conversation(store, self.account, customer, first.created_time, now).await?;
        if conversation.meta_thread_id() != Some(thread.id.as_str()) {
            let change = ConversationChange::MetaThread(thread.id.clone());
            let org = &self.account.organization_id;
            conversation = store.change_conversation(org, &conversation.id, &change).await?.unwrap_or(conversation);
        }
        let mut outbound_found = false;
        for m in recent {
            outcome.listed += 1;
            let (message, activity) = self.message_of(&conversation, m, origin, now);
            if let Appended::New { conversation: after, .. } =
                store.append_message(&conversation, &message, &activity).await?
            {
                conversation = *after;
                outcome.stored += 1;
                outbound_found |= message.direction == Direction::Outbound;
                inbound.apply_pending_changes(&self.account.organization_id, &m.id).await?;
                inbound.queue_media_copy(&message).await;
            }
        }
        // A send of ours the sweep found is an echo come late: a reply that failed unconfirmed
        // may be it. Queued once for the thread, not once a message.
        if outcome.stored > 0 {
            inbound.queue_follow_ups(&conversation, outbound_found && origin == Origin::Sweep).await;
        }
        Ok(outcome)
    }

    /// A listed message as the inbox keeps it: its direction from who sent it, Meta's time.
    fn message_of(
        &self,
        conversation: &Conversation,
        m: &MetaMessage,
        origin: Origin,
        now: DateTime<Utc>,
    ) -> (Message, Activity) {
        let direction = if self.is_ours(&m.from) { Direction::Outbound } else { Direction::Inbound };
        let to = m.to.first().cloned().unwrap_or_else(|| conversation.participant_id.clone());
        let preview = crate::domain::message_preview(m.text.as_deref(), &m.attachments, m.is_unsupported);
        let mut meta_json = json!({
            "messageId": m.id,
            "senderId": m.from,
            "recipientId": to,
            "threadId": conversation.external_thread_id,
            "recoveredBy": origin.as_str(),
        });
        if m.is_unsupported {
            meta_json["unsupported"] = json!(true);
        }
        if direction == Direction::Outbound && origin == Origin::Sweep {
            meta_json["isEcho"] = json!(true);
        }
        let message = Message {
            text: m.text.clone(),
            attachments: m.attachments.clone(),
            external_message_id: Some(m.id.clone()),
            meta_json,
            ..Message::told_by_meta(conversation, direction, (m.from.clone(), to), m.created_time, now)
        };
        let activity = Activity {
            direction,
            at: m.created_time,
            preview: Some(preview),
            recorded_at: now,
            historical: origin == Origin::History,
        };
        (message, activity)
    }
}
