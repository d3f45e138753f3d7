use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Provider;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Direction {
    Inbound,
    Outbound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageStatus {
    Received,
    Queued,
    Sent,
    Delivered,
    Read,
    Failed,
    Deleted,
}

/// One `MessageLog` row: a message in a conversation, either direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    pub organization_id: String,
    pub conversation_id: String,
    pub provider: Provider,
    pub direction: Direction,
    pub from: String,
    pub to: String,
    pub text: Option<String>,
    #[serde(default)]
    pub attachments: Vec<Value>,
    pub status: MessageStatus,
    pub error_code: Option<String>,
    /// Meta's `mid`; unique per organization, the key of webhook de-duplication.
    pub external_message_id: Option<String>,
    #[serde(default)]
    pub meta_json: Value,
    /// When the message happened (Meta's timestamp for inbound); messages are listed by it.
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a later webhook event does to a message already stored.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageChange {
    /// The sender unsent it: content removed, status DELETED.
    Deleted,
    Edited {
        text: Option<String>,
        edits: Option<String>,
    },
    /// `removed` for `unreact`. Instagram keeps one reaction per person.
    Reaction {
        by: String,
        reaction: Option<String>,
        emoji: Option<String>,
        removed: bool,
    },
    /// The recipient read it (for our outbound messages).
    Read,
    /// A failed send queued again (an agent's retry): QUEUED, its error code cleared.
    Requeued,
    /// Messenger: it reached the recipient's device (for our outbound messages).
    Delivered,
    /// A comment hidden from the public (moderation), or shown again.
    Hidden {
        hidden: bool,
    },
}

/// The conversation list's one-line preview of a message's content.
pub fn message_preview(text: Option<&str>, attachments: &[Value], unsupported: bool) -> String {
    if let Some(text) = text.filter(|t| !t.is_empty()) {
        return super::preview_text(text);
    }
    if unsupported {
        return "[unsupported message]".to_owned();
    }
    let kind = attachments.first().and_then(|a| a.get("type")).and_then(Value::as_str).unwrap_or("message");
    format!("[{kind}]")
}

/// What the conversation list shows when its newest message was unsent and nothing older is left.
pub const UNSENT_PREVIEW: &str = "[message unsent]";

impl Message {
    /// Meta took it, under `external_id`.
    pub fn mark_sent(&mut self, external_id: &str, at: DateTime<Utc>) {
        self.status = MessageStatus::Sent;
        self.external_message_id = Some(external_id.to_owned());
        self.error_code = None;
        self.updated_at = at;
    }

    /// The send failed for good with the stable error `code`.
    pub fn mark_failed(&mut self, code: &str, at: DateTime<Utc>) {
        self.status = MessageStatus::Failed;
        self.error_code = Some(code.to_owned());
        self.updated_at = at;
    }

    pub fn preview(&self) -> String {
        let unsupported = self.meta_json.get("unsupported").is_some();
        message_preview(self.text.as_deref(), &self.attachments, unsupported)
    }
    /// Applies a change; false when it changes nothing. Every store adapter gives this result.
    pub fn apply(&mut self, change: &MessageChange, at: DateTime<Utc>) -> bool {
        let meta = match &mut self.meta_json {
            Value::Object(m) => m,
            other => {
                *other = Value::Object(Default::default());
                other.as_object_mut().expect("just made an object")
            }
        };
        match change {
            MessageChange::Deleted => {
                if self.status == MessageStatus::Deleted {
                    return false;
                }
                self.status = MessageStatus::Deleted;
                self.text = None;
                self.attachments.clear();
                // Every copy of what the customer wrote goes, not only the text.
                for content in ["previousText", "quickReply", "postback", "replyTo"] {
                    meta.remove(content);
                }
                meta.insert("deletedAt".into(), serde_json::json!(at));
            }
            MessageChange::Edited { text, edits } => {
                // An edit never brings an unsent message back.
                if self.text == *text || self.status == MessageStatus::Deleted {
                    return false;
                }
                meta.insert("previousText".into(), serde_json::json!(self.text));
                meta.insert("edits".into(), serde_json::json!(edits));
                meta.insert("editedAt".into(), serde_json::json!(at));
                self.text = text.clone();
            }
            MessageChange::Reaction { by, reaction, emoji, removed } => {
                if !set_reaction(meta, by, (!*removed).then_some((reaction, emoji)), at) {
                    return false;
                }
            }
            MessageChange::Requeued => {
                if self.status != MessageStatus::Failed {
                    return false;
                }
                self.status = MessageStatus::Queued;
                self.error_code = None;
            }
            MessageChange::Hidden { hidden } => {
                if meta.get("hidden").and_then(Value::as_bool).unwrap_or(false) == *hidden {
                    return false;
                }
                meta.insert("hidden".into(), serde_json::json!(hidden));
                meta.insert("hiddenAt".into(), serde_json::json!(at));
            }
            MessageChange::Delivered => {
                if !receipt_moves(self.direction, &mut self.status, MessageStatus::Delivered) {
                    return false;
                }
                meta.insert("deliveredAt".into(), serde_json::json!(at));
            }
            MessageChange::Read => {
                if !receipt_moves(self.direction, &mut self.status, MessageStatus::Read) {
                    return false;
                }
                meta.insert("readAt".into(), serde_json::json!(at));
            }
        }
        self.updated_at = self.updated_at.max(at);
        true
    }
}

/// Sets (or with `None` removes) the reaction of `by` in a message's `metaJson`; false when
/// nothing changes.
fn set_reaction(
    meta: &mut serde_json::Map<String, Value>,
    by: &str,
    reaction: Option<(&Option<String>, &Option<String>)>,
    at: DateTime<Utc>,
) -> bool {
    let reactions = meta.entry("reactions").or_insert_with(|| serde_json::json!({}));
    let Some(reactions) = reactions.as_object_mut() else { return false };
    match reaction {
        Some((reaction, emoji)) => {
            reactions.insert(by.to_owned(), serde_json::json!({"reaction": reaction, "emoji": emoji, "at": at}));
            true
        }
        None => reactions.remove(by).is_some(),
    }
}

/// A receipt for our outbound message moves it forward (SENT → DELIVERED → READ), never
/// back: true when it moved.
fn receipt_moves(direction: Direction, status: &mut MessageStatus, to: MessageStatus) -> bool {
    let from: &[MessageStatus] = match to {
        MessageStatus::Delivered => &[MessageStatus::Sent],
        _ => &[MessageStatus::Sent, MessageStatus::Delivered],
    };
    if direction != Direction::Outbound || !from.contains(status) {
        return false;
    }
    *status = to;
    true
}
