//! The organization's connected accounts: listing and disconnecting them.

use chrono::Duration;

use crate::domain::{AccountStatus, ConnectedAccount, TokenKind};
use crate::error::AppError;
use crate::ports::QueueMessage;

use super::Accounts;

impl Accounts {
    /// The organization's accounts (in development with the fallback account, which every
    /// organization's webhooks may route to).
    pub async fn list_connected_accounts(&self, org: &str) -> Result<Vec<ConnectedAccount>, AppError> {
        Ok(self.ports.directory.accounts(org).await?)
    }

    /// Whether another connected account of the organization (the Page's Instagram account,
    /// or its Messenger channel) uses `account`'s Page.
    async fn page_still_used(&self, account: &ConnectedAccount) -> Result<bool, AppError> {
        let siblings = self.ports.accounts.list_accounts(&account.organization_id).await?;
        Ok(siblings
            .iter()
            .any(|a| a.id != account.id && a.page_id == account.page_id && a.status != AccountStatus::Disconnected))
    }

    /// Unsubscribes the Page (best effort), deletes the tokens and marks the account
    /// DISCONNECTED. Its later webhooks wait for a reconnect instead of reaching the inbox.
    pub async fn disconnect_account(&self, org: &str, id: &str) -> Result<ConnectedAccount, AppError> {
        let account =
            self.ports.accounts.get_account(org, id).await?.ok_or_else(|| AppError::not_found("connected account"))?;
        // Stop Meta's deliveries too (best effort): the Page's, or an Instagram Login account's own.
        if let Ok(Some(token)) = self.ports.directory.token(&account).await {
            let unsubscribed = match (token.host, &account.page_id) {
                (crate::ports::GraphHost::Instagram, _) => {
                    self.ports.graph.set_instagram_subscription(&token.token, false).await
                }
                // The Page's other channel still connected keeps the Page subscribed.
                (_, Some(_)) if self.page_still_used(&account).await? => Ok(()),
                (_, Some(page_id)) => self.ports.graph.set_page_subscription(page_id, &token.token, false).await,
                (_, None) => Ok(()),
            };
            if let Err(e) = unsubscribed {
                tracing::warn!(account = %id, code = ?e.code, "unsubscribing at Meta failed; disconnecting anyway");
            }
        }
        for kind in [TokenKind::Page, TokenKind::User, TokenKind::InstagramUser] {
            self.ports.accounts.delete_token(org, id, kind).await?;
        }
        self.ports
            .accounts
            .set_account_status(org, id, AccountStatus::Disconnected, self.now())
            .await?
            .ok_or_else(|| AppError::not_found("connected account"))
    }

    /// Queues the replay of what waited for a newly connected account (under its Instagram
    /// id and its Page id); how many replay jobs were queued.
    pub(super) async fn queue_replay(&self, account: &ConnectedAccount) -> Result<usize, AppError> {
        let route_keys = account.route_keys();
        for route_key in &route_keys {
            let message = QueueMessage::replay(route_key, None);
            self.ports.queue.enqueue(&message, Duration::zero()).await.map_err(AppError::unavailable)?;
        }
        Ok(route_keys.len())
    }
}
