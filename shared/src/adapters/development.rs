//! The development account directory: the production one, and when it knows no account, the
//! environment's fallback account (`META_PAGE_ACCESS_TOKEN`, `INSTAGRAM_PAGE_ID`,
//! `INSTAGRAM_USER_ID`) in the organization the request names (`X-Organization-Id`), else
//! `DEFAULT_ORGANIZATION_ID`. Only the local server's development start-up wires it, so no
//! service, and no Lambda, knows of it.

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::FallbackAccount;
use crate::domain::{ConnectedAccount, ENV_FALLBACK_ACCOUNT_ID};
use crate::ports::{AccountDirectory, AccountToken, Clock, GraphHost, StoreError, requested_org};

pub struct DevelopmentDirectory {
    inner: Arc<dyn AccountDirectory>,
    fallback: FallbackAccount,
    default_org: Option<String>,
    clock: Arc<dyn Clock>,
}

impl DevelopmentDirectory {
    pub fn new(
        inner: Arc<dyn AccountDirectory>,
        fallback: FallbackAccount,
        default_org: Option<String>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        DevelopmentDirectory { inner, fallback, default_org, clock }
    }

    /// The organization events go to: the one the request names, else the default. (Items
    /// a request left to the queue are processed without it: the default's.)
    fn organization(&self) -> Option<String> {
        requested_org().or_else(|| self.default_org.clone())
    }

    /// The fallback account in `org`, addressed as `external_id` on `provider`'s channel.
    fn fallback_in(&self, org: &str, route_key: &str) -> ConnectedAccount {
        let (provider, external_id) = ConnectedAccount::parse_route_key(route_key);
        let account = ConnectedAccount::env_fallback(org, external_id, self.fallback.page_id.clone(), self.clock.now());
        ConnectedAccount { provider, ..account }
    }
}

#[async_trait]
impl AccountDirectory for DevelopmentDirectory {
    async fn route(&self, route_key: &str) -> Result<Option<ConnectedAccount>, StoreError> {
        if let Some(account) = self.inner.route(route_key).await? {
            return Ok(Some(account));
        }
        // A fallback account named by its ids takes only their events; others wait for the
        // account that owns them, as in production.
        let (_, external_id) = ConnectedAccount::parse_route_key(route_key);
        let fb = &self.fallback;
        let named: Vec<&str> = [&fb.instagram_user_id, &fb.page_id].into_iter().flatten().map(String::as_str).collect();
        if !named.is_empty() && !named.contains(&external_id) {
            return Ok(None);
        }
        Ok(self.organization().map(|org| self.fallback_in(&org, route_key)))
    }

    async fn account(&self, org: &str, id: &str) -> Result<Option<ConnectedAccount>, StoreError> {
        if id != ENV_FALLBACK_ACCOUNT_ID {
            return self.inner.account(org, id).await;
        }
        let external = self.fallback.instagram_user_id.as_deref().unwrap_or(ENV_FALLBACK_ACCOUNT_ID);
        Ok(Some(ConnectedAccount::env_fallback(org, external, self.fallback.page_id.clone(), self.clock.now())))
    }

    /// The organization's accounts, and the fallback account every organization's webhooks
    /// may route to (its conversations name it).
    async fn accounts(&self, org: &str) -> Result<Vec<ConnectedAccount>, StoreError> {
        let mut accounts = self.inner.accounts(org).await?;
        accounts.extend(self.account(org, ENV_FALLBACK_ACCOUNT_ID).await?);
        Ok(accounts)
    }

    async fn token(&self, account: &ConnectedAccount) -> Result<Option<AccountToken>, StoreError> {
        if !account.is_env_fallback() {
            return self.inner.token(account).await;
        }
        let token = self.fallback.access_token.clone();
        Ok(token.map(|token| AccountToken { token, host: GraphHost::Facebook }))
    }
}
