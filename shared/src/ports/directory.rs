//! Which connected account an event or a conversation belongs to, and the token it calls the
//! Graph API with. Production reads the store (`services::StoreDirectory`); the local
//! server's development start-up wraps it with the environment's fallback account
//! (`adapters::development`), so no service decides what development means.

use std::future::Future;

use async_trait::async_trait;

use super::{GraphHost, SendTarget, StoreError};
use crate::domain::ConnectedAccount;

/// An account's usable token and the Graph API it is for.
pub struct AccountToken {
    pub token: String,
    pub host: GraphHost,
}

impl AccountToken {
    /// Where this account's messages are sent from: its Page on graph.facebook.com (or
    /// `me`), its own id on graph.instagram.com.
    pub fn send_target<'a>(&'a self, account: &'a ConnectedAccount) -> SendTarget<'a> {
        let sender_id = match self.host {
            GraphHost::Facebook => account.page_id.as_deref().unwrap_or("me"),
            GraphHost::Instagram => &account.external_account_id,
        };
        SendTarget { host: self.host, sender_id, access_token: &self.token }
    }
}

#[async_trait]
pub trait AccountDirectory: Send + Sync {
    /// The account a webhook addressed to `route_key` belongs to (not disconnected); `None`:
    /// nobody owns it yet, and the event is kept for replay.
    async fn route(&self, route_key: &str) -> Result<Option<ConnectedAccount>, StoreError>;
    /// The organization's account `id` (another organization's is none).
    async fn account(&self, org: &str, id: &str) -> Result<Option<ConnectedAccount>, StoreError>;
    /// The organization's accounts.
    async fn accounts(&self, org: &str) -> Result<Vec<ConnectedAccount>, StoreError>;
    /// The token `account` calls the Graph API with, decrypted; `None` when it has none that
    /// opens.
    async fn token(&self, account: &ConnectedAccount) -> Result<Option<AccountToken>, StoreError>;
}

tokio::task_local! {
    static REQUESTED_ORG: String;
}

/// Runs `work` for the organization a development request names (the webhook's
/// `X-Organization-Id`): a development directory routes accounts nobody owns there. A
/// production directory ignores it.
pub async fn with_requested_org<F: Future>(org: String, work: F) -> F::Output {
    REQUESTED_ORG.scope(org, work).await
}

/// The organization the current request names, if it named one.
pub fn requested_org() -> Option<String> {
    REQUESTED_ORG.try_with(Clone::clone).ok()
}
