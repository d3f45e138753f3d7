//! The account directory as production has it: connected accounts and their tokens, from the
//! store, tokens opened by the token cipher.

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{AccountStatus, ConnectedAccount, TokenKind};
use crate::ports::{
    AccountDirectory, AccountStore, AccountToken, CipherError, GraphHost, StoreError, TokenCipher, TokenContext,
};

pub struct StoreDirectory {
    accounts: Arc<dyn AccountStore>,
    cipher: Arc<dyn TokenCipher>,
}

impl StoreDirectory {
    pub fn new(accounts: Arc<dyn AccountStore>, cipher: Arc<dyn TokenCipher>) -> Self {
        StoreDirectory { accounts, cipher }
    }
}

#[async_trait]
impl AccountDirectory for StoreDirectory {
    async fn route(&self, route_key: &str) -> Result<Option<ConnectedAccount>, StoreError> {
        let found = self.accounts.find_account_by_external_id(route_key).await?;
        Ok(found.filter(|a| a.status != AccountStatus::Disconnected))
    }

    async fn account(&self, org: &str, id: &str) -> Result<Option<ConnectedAccount>, StoreError> {
        self.accounts.get_account(org, id).await
    }

    async fn accounts(&self, org: &str) -> Result<Vec<ConnectedAccount>, StoreError> {
        self.accounts.list_accounts(org).await
    }

    /// A Facebook-Page account sends with its page token; an Instagram Login one with its
    /// user token.
    async fn token(&self, account: &ConnectedAccount) -> Result<Option<AccountToken>, StoreError> {
        for (kind, host) in [(TokenKind::Page, GraphHost::Facebook), (TokenKind::InstagramUser, GraphHost::Instagram)] {
            let Some(stored) = self.accounts.get_token(&account.organization_id, &account.id, kind).await? else {
                continue;
            };
            let context = TokenContext { organization_id: &account.organization_id, connected_account_id: &account.id };
            return match self.cipher.decrypt(&stored.encrypted, &context).await {
                Ok(token) => Ok(Some(AccountToken { token, host })),
                Err(CipherError::Undecryptable) => {
                    tracing::error!(account = %account.id, "stored token does not decrypt");
                    Ok(None)
                }
                Err(e @ CipherError::Backend(_)) => Err(StoreError::Backend(e.to_string())),
            };
        }
        Ok(None)
    }
}
