//! What a queued send carries: the typed payload of a SEND_MESSAGE job, stored as such.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Author, QuickReply, Template};

/// Media an agent sends by URL (`message.attachment{type,payload{url}}`; Meta fetches it), or
/// a file they uploaded (`uploadId`), which goes through Meta's attachment upload API once
/// and is then sent by its `attachment_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutgoingAttachment {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(default, rename = "uploadId", skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
}

impl OutgoingAttachment {
    pub const KINDS: [&'static str; 4] = ["image", "video", "audio", "file"];

    /// An attachment an agent may send by URL: a kind Meta takes, at an https URL.
    pub fn check(&self) -> Result<(), super::rich::Refused> {
        use super::rich::Refused::Invalid;
        if !Self::KINDS.contains(&self.kind.as_str()) {
            return Err(Invalid(format!("type must be one of {}", Self::KINDS.join(", "))));
        }
        let url = url::Url::parse(&self.url).map_err(|_| Invalid("url is not a URL".into()))?;
        if url.scheme() != "https" || self.url.len() > 2048 {
            return Err(Invalid("url must be an https URL of at most 2048 characters".into()));
        }
        Ok(())
    }

    /// As Meta's webhooks and the Send API shape it.
    pub fn to_json(&self) -> serde_json::Value {
        json!({ "type": self.kind, "payload": { "url": self.url } })
    }
}

/// What a SEND_MESSAGE job carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendPayload {
    pub conversation_id: String,
    pub message_id: String,
    /// Empty when the message is an attachment.
    #[serde(default)]
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<OutgoingAttachment>,
    /// Choices offered under `text`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quick_replies: Vec<QuickReply>,
    /// A structured message, sent instead of text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
    pub recipient_id: String,
    pub thread_id: String,
    /// Who wrote it: whether the `HUMAN_AGENT` tag may carry it past 24 h is decided at each
    /// attempt from this and the conversation's window.
    #[serde(default)]
    pub author: Author,
    /// Another app controlled the thread when the agent sent it and they asked to take
    /// control: the attempt takes it first (if it is still elsewhere).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub take_control: bool,
    /// How it goes out: a DM (the default), or a reply to a comment.
    #[serde(default, skip_serializing_if = "SendRoute::is_direct")]
    pub route: SendRoute,
}

/// Where a send goes: the customer's DMs, a comment's author's DMs (Meta's private reply,
/// `recipient: {comment_id}`), or a public reply under the comment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SendRoute {
    #[default]
    Direct,
    #[serde(rename_all = "camelCase")]
    PrivateReply { comment_id: String },
    #[serde(rename_all = "camelCase")]
    PublicReply { comment_id: String },
}

impl SendRoute {
    pub fn is_direct(&self) -> bool {
        *self == SendRoute::Direct
    }
}
