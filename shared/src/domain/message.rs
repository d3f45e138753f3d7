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
