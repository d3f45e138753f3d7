//! Inbound: webhook items become messages in conversations.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::domain::{Activity, ConnectedAccount, Conversation, ConversationChange, Direction, Message};
use crate::error::AppError;
use crate::meta::comments::CommentVerb;
use crate::meta::webhook::{EventKind, InboundMessage, Item, Rejected, Source};
use crate::ports::{Appended, QueueMessage, RawEvent};

use super::changes::change_of;
use super::{Inbound, NO_ACCOUNT, Outcome};
use crate::services::threads::open_conversation;

impl Inbound {
    pub(super) async fn accept_item(&self, item: &Item) -> Result<Outcome, AppError> {
        let Some(account) = self.ports.directory.route(&item.route_key()).await? else {
            self.keep_raw(&item.route_key(), NO_ACCOUNT, &item.raw).await?;
            return Ok(Outcome::NoAccount);
        };
        let event = &item.event;
        let at = item.occurred_at().unwrap_or_else(|| self.now());
        // One handler per kind, and every kind named: a new kind does not compile without one.
        let outcome = match &event.kind {
            EventKind::Message(m) if !m.is_deleted => {
                self.accept_message(&account, item, IncomingMessage::from_message(m), at).await
            }
            EventKind::Postback(p) => {
                self.accept_message(&account, item, IncomingMessage::from_postback(p, item), at).await
            }
            EventKind::Comment(c) if c.verb == CommentVerb::Add => self.accept_comment(&account, item, c, at).await,
            // Receipts by time (Messenger) and deliveries: every message they cover.
            EventKind::ReadUpTo(watermark) => self.mark_read_up_to(&account, item, *watermark, at).await,
            EventKind::Delivered { mids, watermark } => self.mark_delivered(&account, item, mids, *watermark, at).await,
            // A change to one stored message: an unsend, an edit, a reaction, a read receipt,
            // a comment's edit or removal.
            EventKind::Message(_)
            | EventKind::MessageEdit(_)
            | EventKind::Reaction(_)
            | EventKind::Read(_)
            | EventKind::Comment(_) => match change_of(event) {
                Some((mid, change)) => self.apply_change(&account, item, mid, &change, at).await,
                None => self.keep_unhandled(item).await,
            },
            // A referral alone (the customer opened the thread from a link, writing nothing;
            // a first message carries its referral itself) or a handover between apps.
            EventKind::Referral(_) => Ok(Outcome::Ignored),
            EventKind::Handover(h) => self.accept_handover(&account, item, h, at).await,
            EventKind::Unknown => self.keep_unhandled(item).await,
        }?;
        // Meta delivers on standby what happens in a thread another app owns.
        if item.source == Source::Standby && outcome == Outcome::Stored {
            self.note_standby(&account, item, at).await?;
        }
        Ok(outcome)
    }

    /// An event no handler turns into inbox state: kept raw, never dropped.
    async fn keep_unhandled(&self, item: &Item) -> Result<Outcome, AppError> {
        self.keep_raw(&item.route_key(), "event kind not turned into a message", &item.raw).await?;
        Ok(Outcome::KeptRaw)
    }

    /// A message-like event (message, echo, postback) into its customer's conversation.
    async fn accept_message(
        &self,
        account: &ConnectedAccount,
        item: &Item,
        incoming: IncomingMessage,
        at: DateTime<Utc>,
    ) -> Result<Outcome, AppError> {
        let event = &item.event;
        let direction = if event.is_echo() { Direction::Outbound } else { Direction::Inbound };
        // A redelivery is recognised by its Meta id in the same round trip as the conversation
        // is found: one lookup each, side by side.
        let org = &account.organization_id;
        let seen = async {
            match &incoming.mid {
                Some(mid) => self.ports.messages.message_id_by_external_id(org, mid).await,
                None => Ok(None),
            }
        };
        let (seen, conversation) = tokio::join!(
            seen,
            open_conversation(&*self.ports.conversations, account, event.customer_id(), at, self.now())
        );
        if seen?.is_some() {
            return Ok(Outcome::Duplicate);
        }
        let conversation = conversation?;
        let now = self.now();
        let sides = (event.sender.clone(), event.recipient.clone());
        let mut message = Message {
            text: incoming.text.clone(),
            attachments: incoming.attachments.clone(),
            external_message_id: incoming.mid.clone(),
            meta_json: incoming.meta_json(item, &conversation),
            ..Message::told_by_meta(&conversation, direction, sides, at, now)
        };
        message.mark_story_links();
        let activity = Activity::live(direction, at, Some(incoming.preview()), now);
        self.append_new(&conversation, &message, &activity).await
    }

    /// Appends a new message once (by its Meta id), then what it sets off.
    pub(super) async fn append_new(
        &self,
        conversation: &Conversation,
        message: &Message,
        activity: &Activity,
    ) -> Result<Outcome, AppError> {
        match self.ports.conversations.append_message(conversation, message, activity).await? {
            Appended::Duplicate(_) => Ok(Outcome::Duplicate),
            Appended::New { conversation, .. } => {
                self.after_new_message(&conversation, message).await?;
                Ok(Outcome::Stored)
            }
        }
    }

    /// What a newly stored message sets off: the changes that arrived before it (a reaction,
    /// an unsend) apply now, and a customer whose profile is unknown gets it fetched.
    pub(super) async fn after_new_message(
        &self,
        conversation: &Conversation,
        message: &Message,
    ) -> Result<(), AppError> {
        let pending = async {
            match &message.external_message_id {
                Some(mid) => self.apply_pending_changes(&conversation.organization_id, mid).await.map(|_| ()),
                None => Ok(()),
            }
        };
        // An echo stored as a message of its own may be a send of ours that failed unconfirmed.
        let echo =
            message.meta_json.get("isEcho") == Some(&Value::Bool(true)) && message.direction == Direction::Outbound;
        // Independent of each other, so side by side: one round trip after the append, not three.
        let follow_ups =
            async { tokio::join!(self.queue_follow_ups(conversation, echo), self.queue_media_copy(message)) };
        let (applied, _) = tokio::join!(pending, follow_ups);
        applied
    }

    /// The work new messages of `conversation` set off, queued (a slow Graph API must not
    /// delay Meta's 200, 5 s budget): the customer's profile until it is known (usually only
    /// the first message; at most once a minute per conversation in this process, see
    /// `lookups_queued`; a lead created later is linked when it is created), and with
    /// `echoes`, a look for the failed, unconfirmed sends of ours they may be.
    pub(super) async fn queue_follow_ups(&self, conversation: &Conversation, echoes: bool) {
        let (organization_id, conversation_id) = (conversation.organization_id.clone(), conversation.id.clone());
        if needs_enrichment(conversation) && self.lookups_queued.claim(&organization_id, &conversation_id, self.now()) {
            let job = QueueMessage::EnrichContact { organization_id: organization_id.clone(), conversation_id };
            if !self.enqueue_follow_up(&job).await {
                self.lookups_queued.release(&organization_id, &conversation.id);
            }
        }
        if echoes {
            let conversation_id = conversation.id.clone();
            self.enqueue_follow_up(&QueueMessage::ConfirmEchoes { organization_id, conversation_id }).await;
        }
    }

    /// Queues work a new message sets off, best effort (the message is already safe, and the
    /// next one queues it again); answers whether it was queued.
    pub(super) async fn enqueue_follow_up(&self, job: &QueueMessage) -> bool {
        let queued = self.ports.queue.enqueue(job, Duration::zero()).await;
        if let Err(e) = &queued {
            tracing::warn!(error = %e, kind = ?job.job_type(), "follow-up work not queued");
        }
        queued.is_ok()
    }

    /// Fills in the customer's handle and name (Graph profile, fetched once per organization
    /// and cached) and links the conversation to a lead with that Instagram id or handle.
    /// The EnrichContact job: the customer's profile and lead, unless already known; with
    /// `refresh` (the RefreshContact job), the profile fetched again if a week old.
    pub(in crate::services) async fn enrich_conversation(
        &self,
        org: &str,
        conversation_id: &str,
        refresh: bool,
    ) -> Result<bool, AppError> {
        let Some(conversation) = self.ports.conversations.get_conversation(org, conversation_id).await? else {
            return Ok(false);
        };
        if !refresh && !needs_enrichment(&conversation) {
            return Ok(false);
        }
        let Some(account) = self.ports.directory.account(org, &conversation.connected_account_id).await? else {
            return Ok(false);
        };
        if refresh || needs_contact(&conversation) {
            self.enrich_contact(&account, &conversation).await?;
        }
        self.fetch_permalink(&account, &conversation).await?;
        Ok(true)
    }

    async fn enrich_contact(&self, account: &ConnectedAccount, conversation: &Conversation) -> Result<(), AppError> {
        let org = &account.organization_id;
        let customer_id = &conversation.participant_id;
        // The conversation's channel decides what a profile has (a Messenger person has no
        // username), not the account's: the development account serves both.
        let profile = self.customer_profile(account, customer_id, conversation.provider).await?;
        let username = profile.as_ref().and_then(|p| p.username.clone());
        let lead = match self.ports.leads.find_lead_by_instagram_user_id(org, customer_id).await? {
            Some(lead) => Some(lead),
            None => match &username {
                Some(u) => {
                    self.ports
                        .leads
                        .find_lead_by_instagram_handle(org, &crate::domain::Lead::normalize_handle(u))
                        .await?
                }
                None => None,
            },
        };
        let name = profile.as_ref().and_then(|p| p.name.clone());
        let lead_id = lead.as_ref().map(|l| l.id.clone());
        let changed = (username.is_some() && username != conversation.handle)
            || (name.is_some() && name != conversation.display_name)
            || (lead_id.is_some() && lead_id != conversation.lead_id);
        if changed {
            let contact = ConversationChange::Contact { handle: username, display_name: name, lead_id };
            self.ports.conversations.change_conversation(org, &conversation.id, &contact).await?;
        }
        Ok(())
    }

    pub(super) async fn keep_raw_rejected(&self, rejected: Rejected) -> Result<(), AppError> {
        let account = rejected.entry_id.as_deref().unwrap_or("unknown");
        self.keep_raw(account, &rejected.reason, &rejected.raw).await
    }

    /// Stores an event we cannot (yet) put in an inbox. Its id is a digest of the account and
    /// the payload, so a redelivery overwrites rather than duplicates it.
    pub(super) async fn keep_raw(&self, external_account_id: &str, reason: &str, raw: &Value) -> Result<(), AppError> {
        Ok(self.ports.raw_events.put_raw_event(&self.raw_event(external_account_id, reason, raw)).await?)
    }

    /// An event kept as Meta sent it, under a digest of the account, the reason and the
    /// payload (a replay that keeps it for another reason stores it anew before deleting
    /// the old one), for `RAW_EVENT_TTL_DAYS`.
    pub(super) fn raw_event(&self, external_account_id: &str, reason: &str, raw: &Value) -> RawEvent {
        let digest = Sha256::new()
            .chain_update(external_account_id)
            .chain_update([0])
            .chain_update(reason)
            .chain_update([0])
            .chain_update(raw.to_string())
            .finalize();
        let now = self.now();
        RawEvent {
            id: hex::encode(&digest[..16]),
            external_account_id: external_account_id.to_owned(),
            reason: reason.to_owned(),
            payload: raw.clone(),
            received_at: now,
            expires_at: Some(now + self.ports.config.limits.raw_event_ttl),
        }
    }
}

/// The parts of a message-like event (message, postback) that become a `MessageLog`.
struct IncomingMessage {
    mid: Option<String>,
    text: Option<String>,
    attachments: Vec<Value>,
    extra: Value,
}

impl IncomingMessage {
    fn from_message(m: &InboundMessage) -> Self {
        let mut extra = serde_json::Map::new();
        for (key, value) in [("replyTo", &m.reply_to), ("quickReply", &m.quick_reply), ("referral", &m.referral)] {
            if let Some(v) = value {
                extra.insert(key.to_owned(), v.clone());
            }
        }
        if m.is_echo {
            extra.insert("isEcho".to_owned(), Value::Bool(true));
            if let Some(metadata) = &m.metadata {
                extra.insert("metadata".to_owned(), Value::String(metadata.clone()));
            }
        }
        if m.is_unsupported {
            extra.insert("unsupported".to_owned(), Value::Bool(true));
        }
        IncomingMessage {
            mid: Some(m.mid.clone()),
            text: m.text.clone(),
            attachments: m.attachments.clone(),
            extra: extra.into(),
        }
    }

    /// A postback without Meta's `mid` gets a stable one (a digest of who, when and what), so
    /// a redelivery of it is still recognised.
    fn from_postback(p: &crate::meta::webhook::Postback, item: &Item) -> Self {
        let derived = || {
            let digest = Sha256::new()
                .chain_update(&item.event.sender)
                .chain_update([0])
                .chain_update(&item.event.recipient)
                .chain_update([0])
                .chain_update(item.occurred_at().map(|t| t.timestamp_millis()).unwrap_or_default().to_le_bytes())
                .chain_update(p.payload.as_deref().unwrap_or_default())
                .chain_update([0])
                .chain_update(p.title.as_deref().unwrap_or_default())
                .finalize();
            format!("postback_{}", hex::encode(&digest[..16]))
        };
        IncomingMessage {
            mid: Some(p.mid.clone().unwrap_or_else(derived)),
            text: p.title.clone(),
            attachments: Vec::new(),
            extra: json!({ "postback": { "title": p.title, "payload": p.payload } }),
        }
    }

    /// The conversation list's one-line preview.
    fn preview(&self) -> String {
        crate::domain::message_preview(self.text.as_deref(), &self.attachments, self.extra.get("unsupported").is_some())
    }

    fn meta_json(&self, item: &Item, conversation: &Conversation) -> Value {
        let mut meta = json!({
            "messageId": self.mid,
            "senderId": item.event.sender,
            "recipientId": item.event.recipient,
            "threadId": conversation.external_thread_id,
        });
        if let (Some(meta), Some(extra)) = (meta.as_object_mut(), self.extra.as_object()) {
            meta.extend(extra.clone());
        }
        meta
    }
}

/// A customer whose profile is unknown (a mention names no author: nobody to look up; a
/// Messenger user has a name and never a handle).
fn needs_contact(c: &Conversation) -> bool {
    let broadcast = c.comment.as_ref().is_some_and(|t| t.live);
    let no_handle = c.handle.as_ref().is_none_or(|h| *h == c.participant_id);
    no_handle && c.display_name.is_none() && !c.participant_id.is_empty() && !broadcast
}

/// What the `ENRICH_CONTACT` job would fill in: the customer, or a comment thread's permalink.
pub(super) fn needs_enrichment(c: &Conversation) -> bool {
    needs_contact(c) || c.comment.as_ref().is_some_and(|t| t.permalink.is_none() && t.media_id.is_some())
}
