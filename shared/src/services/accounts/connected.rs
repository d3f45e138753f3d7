//! The organization's connected accounts: listing and disconnecting them.

use chrono::Duration;

use crate::domain::{AccountStatus, Caller, ConnectedAccount, Provider, TokenKind};
use crate::error::AppError;
use crate::ports::QueueMessage;

use super::Accounts;

impl Accounts {
    /// The organization's accounts (in development with the fallback account, which every
    /// organization's webhooks may route to).
    pub async fn list_connected_accounts(&self, org: &str) -> Result<Vec<ConnectedAccount>, AppError> {
        Ok(self.ports.directory.accounts(org).await?)
    }

    /// Whether another channel uses `account`'s Page, in any organization: the Page's
    /// Instagram account (routed by the Page id too) or its Messenger channel. A Page's
    /// subscription is one per app, shared by every organization's channels on it.
    async fn page_still_used(&self, account: &ConnectedAccount, page_id: &str) -> Result<bool, AppError> {
        for route_key in [page_id.to_owned(), ConnectedAccount::route_key(Provider::Messenger, page_id)] {
            let holder = self.ports.accounts.find_account_by_external_id(&route_key).await?;
            let other = |a: &ConnectedAccount| {
                (a.organization_id != account.organization_id || a.id != account.id)
                    && a.page_id.as_deref() == Some(page_id)
                    && a.status != AccountStatus::Disconnected
            };
            if holder.as_ref().is_some_and(other) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Unsubscribes the Page (best effort), deletes the tokens and marks the account
    /// DISCONNECTED by the caller. Its later webhooks wait for a reconnect instead of reaching
    /// the inbox.
    pub async fn disconnect_account(&self, caller: &Caller, id: &str) -> Result<ConnectedAccount, AppError> {
        let org = caller.organization_id.as_str();
        let account =
            self.ports.accounts.get_account(org, id).await?.ok_or_else(|| AppError::not_found("connected account"))?;
        // Stop Meta's deliveries too (best effort): the Page's, or an Instagram Login account's own.
        if let Ok(Some(token)) = self.ports.directory.token(&account).await {
            let unsubscribed = match (token.host, &account.page_id) {
                (crate::ports::GraphHost::Instagram, _) => {
                    self.ports.graph.set_instagram_subscription(&token.token, false).await
                }
                // The Page's other channel still connected keeps the Page subscribed.
                (_, Some(page_id)) if self.page_still_used(&account, page_id).await? => Ok(()),
                (_, Some(page_id)) => self.ports.graph.set_page_subscription(page_id, &token.token, false).await,
                (_, None) => Ok(()),
            };
            if let Err(e) = unsubscribed {
                tracing::warn!(account = %id, code = ?e.code, "unsubscribing at Meta failed; disconnecting anyway");
            }
        }
        self.drop_grants(&account).await?;
        let disconnected = self
            .ports
            .accounts
            .set_account_status(org, id, AccountStatus::Disconnected, caller.subject.as_deref(), self.now())
            .await?
            .ok_or_else(|| AppError::not_found("connected account"))?;
        Ok(disconnected)
    }

    /// What the account was granted ends: its tokens are deleted and its history import
    /// cancelled.
    pub(super) async fn drop_grants(&self, account: &ConnectedAccount) -> Result<(), AppError> {
        let (org, id) = (account.organization_id.as_str(), account.id.as_str());
        for kind in [TokenKind::Page, TokenKind::User, TokenKind::InstagramUser] {
            self.ports.accounts.delete_token(org, id, kind).await?;
        }
        self.cancel_history(account).await
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
