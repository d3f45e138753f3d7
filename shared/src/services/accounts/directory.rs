//! The account directory as production has it: connected accounts and their tokens, from the
//! store, tokens opened by the token cipher (each ciphertext once per few minutes in a
//! process: `opened_tokens`).

use std::sync::Arc;

use async_trait::async_trait;

use super::opened_tokens::OpenedTokens;
use crate::domain::{AccountStatus, ConnectedAccount, TokenKind};
use crate::ports::{
    AccountDirectory, AccountStore, AccountToken, CipherError, GraphHost, StoreError, TokenCipher, TokenContext,
};

pub struct StoreDirectory {
    accounts: Arc<dyn AccountStore>,
    cipher: Arc<dyn TokenCipher>,
    opened: OpenedTokens,
}

impl StoreDirectory {
    pub fn new(accounts: Arc<dyn AccountStore>, cipher: Arc<dyn TokenCipher>) -> Self {
        StoreDirectory { accounts, cipher, opened: OpenedTokens::default() }
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
            let now = std::time::Instant::now();
            if let Some(token) = self.opened.get(&stored.encrypted, &context, now) {
                return Ok(Some(AccountToken { token, host }));
            }
            return match self.cipher.decrypt(&stored.encrypted, &context).await {
                Ok(token) => {
                    self.opened.keep(&stored.encrypted, &context, &token, now);
                    Ok(Some(AccountToken { token, host }))
                }
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::adapters::memory_store::MemoryStore;
    use crate::adapters::static_cipher::StaticKeyCipher;
    use crate::domain::{EncryptedToken, OAuthToken};

    /// Counts what it is asked to open (as KMS bills each `Decrypt`).
    struct Counting(StaticKeyCipher, AtomicUsize);

    #[async_trait]
    impl TokenCipher for Counting {
        async fn encrypt(&self, plaintext: &str, context: &TokenContext<'_>) -> Result<EncryptedToken, CipherError> {
            self.0.encrypt(plaintext, context).await
        }
        async fn decrypt(&self, token: &EncryptedToken, context: &TokenContext<'_>) -> Result<String, CipherError> {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0.decrypt(token, context).await
        }
    }

    #[tokio::test]
    async fn a_token_is_opened_once_until_it_changes_and_never_after_it_is_deleted() {
        let store = Arc::new(MemoryStore::new());
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let cipher = Arc::new(Counting(StaticKeyCipher::from_base64("k", key).unwrap(), AtomicUsize::new(0)));
        let directory = StoreDirectory::new(store.clone(), cipher.clone());
        let now = chrono::Utc::now();
        let account = ConnectedAccount::env_fallback("org_a", "17841400000000001", Some("1".into()), now);
        let id = account.id.as_str();
        let context = TokenContext { organization_id: "org_a", connected_account_id: id };
        let store_token = async |plaintext: &str| {
            let sealed = cipher.encrypt(plaintext, &context).await.unwrap();
            store.put_token(&OAuthToken::issued("org_a", id, TokenKind::Page, sealed, None, now)).await.unwrap();
        };
        store_token("EAAB-first").await;
        let token = async || directory.token(&account).await.unwrap().map(|t| t.token);
        assert_eq!(token().await.as_deref(), Some("EAAB-first"));
        assert_eq!(token().await.as_deref(), Some("EAAB-first"));
        assert_eq!(cipher.1.load(Ordering::SeqCst), 1, "opened once");
        store_token("EAAB-refreshed").await;
        assert_eq!(token().await.as_deref(), Some("EAAB-refreshed"), "a refreshed token at once");
        assert_eq!(cipher.1.load(Ordering::SeqCst), 2);
        store.delete_token("org_a", id, TokenKind::Page).await.unwrap();
        assert_eq!(token().await, None, "a disconnected account's token is gone at once");
    }
}
