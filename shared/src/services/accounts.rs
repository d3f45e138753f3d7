//! Which connected account an event or a conversation belongs to; listing and disconnecting
//! accounts.

use crate::domain::{AccountStatus, ConnectedAccount, TokenKind};
use crate::error::{AppError, ErrorCode};
use crate::ports::AccountToken;

use super::Core;

impl Core {
    /// The account a webhook addressed to `route_key` belongs to (see `AccountDirectory`).
    pub(crate) async fn route_webhook(&self, route_key: &str) -> Result<Option<ConnectedAccount>, AppError> {
        Ok(self.directory.route(route_key).await?)
    }

    /// The account a conversation belongs to, from the organization's own accounts.
    pub(crate) async fn account_of(&self, org: &str, account_id: &str) -> Result<Option<ConnectedAccount>, AppError> {
        Ok(self.directory.account(org, account_id).await?)
    }

    /// The token to call the Graph API for `account` and the API it belongs to. `None` when
    /// there is none or it does not decrypt.
    pub(crate) async fn access_token(&self, account: &ConnectedAccount) -> Result<Option<AccountToken>, AppError> {
        Ok(self.directory.token(account).await?)
    }

    /// Whether `account` may send now, as a stable error when not.
    pub(crate) fn ensure_can_send(account: Option<&ConnectedAccount>) -> Result<(), AppError> {
        match account.map(|a| a.status) {
            Some(AccountStatus::Active) => Ok(()),
            Some(AccountStatus::ReauthRequired) => Err(AppError::new(
                ErrorCode::AccountReauthRequired,
                "the Instagram account must be reconnected before it can send",
            )),
            Some(AccountStatus::Disconnected) | None => {
                Err(AppError::new(ErrorCode::AccountDisconnected, "the Instagram account is not connected"))
            }
        }
    }
}

impl Core {
    /// The organization's accounts (in development with the fallback account, which every
    /// organization's webhooks may route to).
    pub async fn list_connected_accounts(&self, org: &str) -> Result<Vec<ConnectedAccount>, AppError> {
        Ok(self.directory.accounts(org).await?)
    }

    /// Whether another connected account of the organization (the Page's Instagram account,
    /// or its Messenger channel) uses `account`'s Page.
    async fn page_still_used(&self, account: &ConnectedAccount) -> Result<bool, AppError> {
        let siblings = self.accounts().list_accounts(&account.organization_id).await?;
        Ok(siblings
            .iter()
            .any(|a| a.id != account.id && a.page_id == account.page_id && a.status != AccountStatus::Disconnected))
    }

    /// Unsubscribes the Page (best effort), deletes the tokens and marks the account
    /// DISCONNECTED. Its later webhooks wait for a reconnect instead of reaching the inbox.
    pub async fn disconnect_account(&self, org: &str, id: &str) -> Result<ConnectedAccount, AppError> {
        let account =
            self.accounts().get_account(org, id).await?.ok_or_else(|| AppError::not_found("connected account"))?;
        // Stop Meta's deliveries too (best effort): the Page's, or an Instagram Login account's own.
        if let Ok(Some(token)) = self.access_token(&account).await {
            let unsubscribed = match (token.host, &account.page_id) {
                (crate::ports::GraphHost::Instagram, _) => {
                    self.graph.set_instagram_subscription(&token.token, false).await
                }
                // The Page's other channel still connected keeps the Page subscribed.
                (_, Some(_)) if self.page_still_used(&account).await? => Ok(()),
                (_, Some(page_id)) => self.graph.set_page_subscription(page_id, &token.token, false).await,
                (_, None) => Ok(()),
            };
            if let Err(e) = unsubscribed {
                tracing::warn!(account = %id, code = ?e.code, "unsubscribing at Meta failed; disconnecting anyway");
            }
        }
        for kind in [TokenKind::Page, TokenKind::User, TokenKind::InstagramUser] {
            self.accounts().delete_token(org, id, kind).await?;
        }
        self.accounts()
            .set_account_status(org, id, AccountStatus::Disconnected, self.now())
            .await?
            .ok_or_else(|| AppError::not_found("connected account"))
    }
}
