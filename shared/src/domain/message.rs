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
    #[serde(serialize_with = "super::time_text::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::time_text::serialize")]
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
    /// A comment hidden from the public (moderation), or shown again, by the agent `by`.
    Hidden {
        hidden: bool,
        by: Option<String>,
    },
    /// Attachment `index` was copied into the deployment's storage, or refused for good.
    MediaCopied {
        index: usize,
        copy: super::media::MediaCopy,
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

/// How a message id made by `Message::new_id` starts (earlier ids start `msg_`).
pub const SPREAD_MESSAGE_ID: &str = "msg2_";

impl Message {
    /// A new message's id, `msg2_<UUIDv7>`: time-ordered, so messages of one millisecond list
    /// in the order they were made (the id breaks the tie), and with a random end a store can
    /// key it by (DynamoDB does).
    pub fn new_id() -> String {
        super::new_id(SPREAD_MESSAGE_ID.trim_end_matches('_'))
    }

    /// A new message Meta told of (a webhook, a listed thread) in `conversation`, sent `at`
    /// from `from` to `to`: received when the customer sent it, sent when the account did.
    /// Its content, Meta id and `metaJson` are the caller's to set.
    pub fn told_by_meta(
        conversation: &super::Conversation,
        direction: Direction,
        (from, to): (String, String),
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Message {
        Message {
            id: Message::new_id(),
            organization_id: conversation.organization_id.clone(),
            conversation_id: conversation.id.clone(),
            provider: conversation.provider,
            direction,
            from,
            to,
            text: None,
            attachments: Vec::new(),
            status: if direction == Direction::Inbound { MessageStatus::Received } else { MessageStatus::Sent },
            error_code: None,
            external_message_id: None,
            meta_json: Value::Null,
            created_at: at,
            updated_at: now,
        }
    }

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
        let changed = match change {
            MessageChange::Deleted => self.unsend(at),
            MessageChange::Edited { text, edits } => self.edit(text, edits, at),
            MessageChange::Reaction { by, reaction, emoji, removed } => {
                set_reaction(self.meta_mut(), by, (!*removed).then_some((reaction, emoji)), at)
            }
            MessageChange::Requeued => {
                let failed = self.status == MessageStatus::Failed;
                if failed {
                    self.status = MessageStatus::Queued;
                    self.error_code = None;
                }
                failed
            }
            MessageChange::Hidden { hidden, by } => {
                let meta = self.meta_mut();
                let changed = meta.get("hidden").and_then(Value::as_bool).unwrap_or(false) != *hidden;
                if changed {
                    meta.insert("hidden".into(), serde_json::json!(hidden));
                    meta.insert("hiddenAt".into(), serde_json::json!(at));
                    meta.insert("hiddenBy".into(), serde_json::json!(by));
                }
                changed
            }
            MessageChange::Delivered => self.receipt(MessageStatus::Delivered, "deliveredAt", at),
            MessageChange::Read => self.receipt(MessageStatus::Read, "readAt", at),
            MessageChange::MediaCopied { index, copy } => self.record_copy(*index, copy),
        };
        if changed {
            self.updated_at = self.updated_at.max(at);
        }
        changed
    }

    /// `metaJson` as an object (anything else stored there is replaced by one).
    fn meta_mut(&mut self) -> &mut serde_json::Map<String, Value> {
        if !self.meta_json.is_object() {
            self.meta_json = Value::Object(Default::default());
        }
        self.meta_json.as_object_mut().expect("just made an object")
    }

    /// The customer unsent it: every copy of what they wrote goes, not only the text.
    fn unsend(&mut self, at: DateTime<Utc>) -> bool {
        if self.status == MessageStatus::Deleted {
            return false;
        }
        self.status = MessageStatus::Deleted;
        self.text = None;
        self.attachments.clear();
        let meta = self.meta_mut();
        for content in ["previousText", "quickReply", "postback", "replyTo"] {
            meta.remove(content);
        }
        meta.insert("deletedAt".into(), serde_json::json!(at));
        true
    }

    /// An edit, keeping the text before it; never brings an unsent message back.
    fn edit(&mut self, text: &Option<String>, edits: &Option<String>, at: DateTime<Utc>) -> bool {
        if self.text == *text || self.status == MessageStatus::Deleted {
            return false;
        }
        let previous = serde_json::json!(self.text);
        let meta = self.meta_mut();
        meta.insert("previousText".into(), previous);
        meta.insert("edits".into(), serde_json::json!(edits));
        meta.insert("editedAt".into(), serde_json::json!(at));
        self.text = text.clone();
        true
    }

    /// A delivery or read receipt, recorded at `at` under `field` when it moves the status on.
    fn receipt(&mut self, to: MessageStatus, field: &str, at: DateTime<Utc>) -> bool {
        if !receipt_moves(self.direction, &mut self.status, to) {
            return false;
        }
        self.meta_mut().insert(field.into(), serde_json::json!(at));
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
