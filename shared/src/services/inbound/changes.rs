//! Reactions, read receipts, edits and unsends: changes to a message already stored. A change
//! that arrives before its message waits for it (kept under the message's Meta id) and is
//! applied when the message is stored, in either order and at most once in effect: both sides
//! write first and look second, so at least one of them sees the other, and applying a change
//! twice changes nothing more.

use chrono::{DateTime, Utc};

use crate::domain::{
    ConnectedAccount, ConversationChange, Message, MessageChange, MessageStatus, PageRequest, UNSENT_PREVIEW,
};
use crate::error::AppError;
use crate::meta::comments::CommentVerb;
use crate::meta::webhook::{EventKind, Item, MessagingEvent};

use super::{Inbound, Outcome};

/// How far back an unsent newest message looks for a visible one to preview instead.
const PREVIEW_LOOKBACK: usize = 20;

impl Inbound {
    /// Applies a change to the message `mid` names, or keeps it until that message arrives.
    pub(super) async fn apply_change(
        &self,
        account: &ConnectedAccount,
        item: &Item,
        mid: &str,
        change: &MessageChange,
        at: DateTime<Utc>,
    ) -> Result<Outcome, AppError> {
        let org = &account.organization_id;
        if let Some(id) = self.ports.messages.message_id_by_external_id(org, mid).await? {
            self.change_message(org, &id, change, at).await?;
            return Ok(Outcome::Updated);
        }
        let waiting = self.raw_event(&item.route_key(), "waiting for its message", &item.raw);
        self.ports.messages.put_pending_change(org, mid, &waiting).await?;
        // The message may have been stored meanwhile, after it looked for waiting changes.
        if self.ports.messages.message_id_by_external_id(org, mid).await?.is_some() {
            self.apply_pending_changes(org, mid).await?;
            return Ok(Outcome::Updated);
        }
        Ok(Outcome::Waiting)
    }

    /// Applies the changes that waited for message `mid`, oldest first, then forgets them.
    pub(super) async fn apply_pending_changes(&self, org: &str, mid: &str) -> Result<usize, AppError> {
        let mut waiting = self.ports.messages.pending_changes(org, mid).await?;
        if waiting.is_empty() {
            return Ok(0);
        }
        let Some(id) = self.ports.messages.message_id_by_external_id(org, mid).await? else { return Ok(0) };
        // Kept as Meta sent them: a messaging item, or a comment change.
        let parsed = |e: &crate::ports::RawEvent| Item::from_raw(&e.external_account_id, None, e.payload.clone()).ok();
        waiting.sort_by_key(|e| parsed(e).and_then(|p| p.event.timestamp).unwrap_or(e.received_at));
        for event in &waiting {
            if let Some(parsed) = parsed(event).map(|item| item.event)
                && let Some((_, change)) = change_of(&parsed)
            {
                self.change_message(org, &id, &change, parsed.timestamp.unwrap_or(event.received_at)).await?;
            }
            self.ports.messages.delete_pending_change(org, mid, &event.id).await?;
        }
        Ok(waiting.len())
    }

    async fn change_message(
        &self,
        org: &str,
        id: &str,
        change: &MessageChange,
        at: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let Some(message) = self.ports.messages.update_message(org, id, change, at).await? else { return Ok(()) };
        match change {
            MessageChange::Deleted => {
                self.drop_copies(&message).await?;
                self.drop_unsent_preview(org, &message).await?
            }
            // The list shows what the newest message says now (the store keeps the preview
            // only while no newer message has arrived).
            MessageChange::Edited { .. } if message.status != MessageStatus::Deleted => {
                let conversations = &self.ports.conversations;
                let preview = ConversationChange::Preview { newest_at: message.created_at, text: message.preview() };
                conversations.change_conversation(org, &message.conversation_id, &preview).await?;
            }
            _ => {}
        }
        Ok(())
    }

    /// An unsent message leaves the conversation list too: if it was the newest, the newest
    /// message still visible takes over the preview, or a neutral label.
    async fn drop_unsent_preview(&self, org: &str, unsent: &Message) -> Result<(), AppError> {
        let Some(c) = self.ports.conversations.get_conversation(org, &unsent.conversation_id).await? else {
            return Ok(());
        };
        if c.last_message_at > unsent.created_at {
            return Ok(());
        }
        let recent = self.ports.messages.list_messages(org, &c.id, &PageRequest::first(PREVIEW_LOOKBACK)).await?;
        let preview = match recent.data.iter().find(|m| m.status != MessageStatus::Deleted) {
            Some(visible) => visible.preview(),
            None => UNSENT_PREVIEW.to_owned(),
        };
        let change = ConversationChange::Preview { newest_at: unsent.created_at, text: preview };
        self.ports.conversations.change_conversation(org, &c.id, &change).await?;
        Ok(())
    }
}

/// What an event does to a message already stored, and the Meta id of that message.
pub(super) fn change_of(event: &MessagingEvent) -> Option<(&str, MessageChange)> {
    Some(match &event.kind {
        EventKind::Message(m) if m.is_deleted => (&m.mid, MessageChange::Deleted),
        EventKind::MessageEdit(e) => {
            (&e.mid, MessageChange::Edited { text: e.text.clone(), edits: e.num_edit.clone() })
        }
        EventKind::Reaction(r) => (
            &r.mid,
            MessageChange::Reaction {
                by: event.sender.clone(),
                reaction: r.reaction.clone(),
                emoji: r.emoji.clone(),
                removed: r.action == "unreact",
            },
        ),
        EventKind::Read(r) => (&r.mid, MessageChange::Read),
        // (Waiting for its message, a delivery applies to that one message: see `receipts.rs`.)
        EventKind::Delivered { mids, .. } => (mids.first()?, MessageChange::Delivered),
        EventKind::Comment(c) => match c.verb {
            CommentVerb::Edited => (&c.id, MessageChange::Edited { text: c.text.clone(), edits: None }),
            CommentVerb::Removed => (&c.id, MessageChange::Deleted),
            CommentVerb::Add => return None,
        },
        _ => return None,
    })
}
