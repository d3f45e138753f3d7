use async_trait::async_trait;
use serde::Deserialize;

/// An Instagram user's profile (`GET /{igsid}?fields=name,username`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserProfile {
    pub username: Option<String>,
    pub name: Option<String>,
}

/// A Graph API failure, with Meta's error fields when the body carried them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("Graph API error (HTTP {http_status}, code {code:?}/{subcode:?}): {message}")]
pub struct GraphError {
    /// 0 when no HTTP answer came back (timeout, connection refused).
    pub http_status: u16,
    pub code: Option<i64>,
    pub subcode: Option<i64>,
    pub is_transient: bool,
    pub message: String,
    /// Minutes until the rate-limited account regains access (`X-Business-Use-Case-Usage`).
    pub retry_after_minutes: Option<u64>,
}

/// Where a message is sent from: `/{page-id}/messages` for Facebook-Page accounts, else
/// `/me/messages` (the token names the account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendTarget<'a> {
    pub page_id: Option<&'a str>,
    pub access_token: &'a str,
}

/// Meta's answer to a send: `{"recipient_id", "message_id"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SentMessage {
    pub message_id: String,
    #[serde(default)]
    pub recipient_id: Option<String>,
}

/// The part of the Graph API the core uses.
#[async_trait]
pub trait GraphApi: Send + Sync {
    async fn user_profile(&self, access_token: &str, igsid: &str) -> Result<UserProfile, GraphError>;
    /// POSTs a Send API body (`{"recipient":..,"message":..}`) and returns Meta's message id.
    async fn send_message(&self, target: &SendTarget<'_>, body: &serde_json::Value) -> Result<SentMessage, GraphError>;
}
