//! Which connected account an event or a conversation belongs to; listing and disconnecting
//! accounts.

use crate::domain::TokenKind;
use crate::domain::{AccountStatus, ConnectedAccount, ENV_FALLBACK_ACCOUNT_ID};
use crate::error::{AppError, ErrorCode};
use crate::ports::{CipherError, GraphHost, TokenContext};

use super::Core;

impl Core {
    /// The account a webhook addressed to `external_id` belongs to: a connected account
    /// (not disconnected) in production; in development, when none matches, the environment's
    /// fallback account in the organization the request names (or `DEFAULT_ORGANIZATION_ID`),
    /// for any id, or only its own when `INSTAGRAM_USER_ID` or `INSTAGRAM_PAGE_ID` names it.
    /// `None`: nobody owns it yet, and the event is kept for replay.
    pub(crate) async fn route_webhook(
        &self,
        external_id: &str,
        dev_org: Option<&str>,
    ) -> Result<Option<ConnectedAccount>, AppError> {
        if let Some(account) = self.accounts().find_account_by_external_id(external_id).await?
            && account.status != AccountStatus::Disconnected
        {
            return Ok(Some(account));
        }
        if !self.config.is_development() {
            return Ok(None);
        }
        let Some(org) = dev_org.or(self.config.default_organization_id.as_deref()) else {
            return Ok(None);
        };
        let (provider, external_id) = ConnectedAccount::parse_route_key(external_id);
        // A fallback account named by its ids takes only their events; others wait for the
        // account that owns them, as in production.
        let fb = &self.config.fallback_account;
        let named: Vec<&str> = [&fb.instagram_user_id, &fb.page_id].into_iter().flatten().map(String::as_str).collect();
        if !named.is_empty() && !named.contains(&external_id) {
            return Ok(None);
        }
        let fallback =
            ConnectedAccount::env_fallback(org, external_id, self.config.fallback_account.page_id.clone(), self.now());
        Ok(Some(ConnectedAccount { provider, ..fallback }))
    }

    /// The account a conversation belongs to, from the organization's own accounts.
    pub(crate) async fn account_of(&self, org: &str, account_id: &str) -> Result<Option<ConnectedAccount>, AppError> {
        if account_id == ENV_FALLBACK_ACCOUNT_ID {
            let fb = &self.config.fallback_account;
            return Ok(self.config.is_development().then(|| {
                let external = fb.instagram_user_id.as_deref().unwrap_or(ENV_FALLBACK_ACCOUNT_ID);
                ConnectedAccount::env_fallback(org, external, fb.page_id.clone(), self.now())
            }));
        }
        Ok(self.accounts().get_account(org, account_id).await?)
    }

    /// The token to call the Graph API for `account` and the API it belongs to, decrypted
    /// from the store (or the development fallback token). `None` when there is none or it
    /// does not decrypt.
    pub(crate) async fn access_token(&self, account: &ConnectedAccount) -> Result<Option<AccountToken>, AppError> {
        if account.is_env_fallback() {
            let dev = self.config.is_development();
            let token = dev.then(|| self.config.fallback_account.access_token.clone()).flatten();
            return Ok(token.map(|token| AccountToken { token, host: GraphHost::Facebook }));
        }
        // A Facebook-Page account sends with its page token; an Instagram Login one with its user token.
        for (kind, host) in [(TokenKind::Page, GraphHost::Facebook), (TokenKind::InstagramUser, GraphHost::Instagram)] {
            let Some(stored) = self.accounts().get_token(&account.organization_id, &account.id, kind).await? else {
                continue;
            };
            let context = TokenContext { organization_id: &account.organization_id, connected_account_id: &account.id };
            return match self.cipher.decrypt(&stored.encrypted, &context).await {
                Ok(token) => Ok(Some(AccountToken { token, host })),
                Err(CipherError::Undecryptable) => {
                    tracing::error!(account = %account.id, "stored token does not decrypt");
                    Ok(None)
                }
                Err(e @ CipherError::Backend(_)) => Err(AppError::internal(e.to_string())),
            };
        }
        Ok(None)
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

/// An account's usable token and the Graph API it is for.
pub(crate) struct AccountToken {
    pub token: String,
    pub host: GraphHost,
}

impl AccountToken {
    /// Where this account's messages are sent from.
    pub fn send_target<'a>(&'a self, account: &'a ConnectedAccount) -> crate::ports::SendTarget<'a> {
        let sender_id = match self.host {
            GraphHost::Facebook => account.page_id.as_deref().unwrap_or("me"),
            GraphHost::Instagram => &account.external_account_id,
        };
        crate::ports::SendTarget { host: self.host, sender_id, access_token: &self.token }
    }
}

impl Core {
    /// The organization's accounts; in development also the environment's fallback account,
    /// which every organization's webhooks may route to (its conversations name it).
    pub async fn list_connected_accounts(&self, org: &str) -> Result<Vec<ConnectedAccount>, AppError> {
        let mut accounts = self.accounts().list_accounts(org).await?;
        if let Some(fallback) = self.account_of(org, crate::domain::ENV_FALLBACK_ACCOUNT_ID).await? {
            accounts.push(fallback);
        }
        Ok(accounts)
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
