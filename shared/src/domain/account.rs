use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Provider;

/// Id of the account synthesised from `INSTAGRAM_USER_ID`/`META_PAGE_ACCESS_TOKEN` in
/// development. It is never stored, so it can never route a production webhook.
pub const ENV_FALLBACK_ACCOUNT_ID: &str = "env-fallback";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountStatus {
    Active,
    ReauthRequired,
    Disconnected,
}

/// An Instagram professional account connected by an organization, or the Messenger channel
/// of its Facebook Page (`provider: MESSENGER`, `externalAccountId` the Page id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectedAccount {
    pub id: String,
    pub organization_id: String,
    pub provider: Provider,
    /// Instagram professional account id: `entry[].id` of the webhooks.
    pub external_account_id: String,
    /// Facebook Page the account is linked to (Facebook Login flavour).
    pub page_id: Option<String>,
    pub display_name: Option<String>,
    pub username: Option<String>,
    pub status: AccountStatus,
    /// The Meta user who connected it, as Meta's deauthorize and data deletion callbacks name
    /// them: the app-scoped Facebook user id (Facebook Login), or the Instagram account's own
    /// id (Instagram Login). None for accounts connected before it was kept, and once erased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_user_id: Option<String>,
    /// Who last changed the status: the agent (`sub`) who disconnected it; none when the
    /// service did (a token Meta refused) or it was connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_changed_by: Option<String>,
    /// The import of the conversations from before it was connected (none before it ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<super::HistoryImport>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ConnectedAccount {
    /// Its status becomes `status` at `at`, changed by `by` (an agent's `sub`).
    pub fn set_status(&mut self, status: AccountStatus, by: Option<&str>, at: DateTime<Utc>) {
        self.status = status;
        self.status_changed_by = by.map(str::to_owned);
        self.updated_at = at;
    }

    /// It no longer names who connected it (Meta's data deletion).
    pub fn forget_meta_user(&mut self, at: DateTime<Utc>) {
        self.meta_user_id = None;
        self.updated_at = at;
    }

    pub fn env_fallback(
        organization_id: &str,
        external_account_id: &str,
        page_id: Option<String>,
        now: DateTime<Utc>,
    ) -> Self {
        ConnectedAccount {
            id: ENV_FALLBACK_ACCOUNT_ID.to_owned(),
            organization_id: organization_id.to_owned(),
            provider: Provider::Instagram,
            external_account_id: external_account_id.to_owned(),
            page_id,
            display_name: Some("Development account".to_owned()),
            username: None,
            status: AccountStatus::Active,
            meta_user_id: None,
            status_changed_by: None,
            history: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The keys webhooks find this account by: an Instagram account by its id and its Page's
    /// id (Instagram's entries name either); a Page's Messenger channel by `messenger:<page>`,
    /// so the Page's two channels never take each other's events.
    pub fn route_keys(&self) -> Vec<String> {
        match self.provider {
            Provider::Instagram => {
                [Some(&self.external_account_id), self.page_id.as_ref()].into_iter().flatten().cloned().collect()
            }
            Provider::Messenger => vec![Self::route_key(Provider::Messenger, &self.external_account_id)],
        }
    }

    /// The key a webhook entry of `provider` addressed to `external_id` is routed by.
    pub fn route_key(provider: Provider, external_id: &str) -> String {
        match provider {
            Provider::Instagram => external_id.to_owned(),
            Provider::Messenger => format!("messenger:{external_id}"),
        }
    }

    /// The channel and external id a route key names (the inverse of `route_key`).
    pub fn parse_route_key(key: &str) -> (Provider, &str) {
        match key.strip_prefix("messenger:") {
            Some(page) => (Provider::Messenger, page),
            None => (Provider::Instagram, key),
        }
    }

    pub fn is_env_fallback(&self) -> bool {
        self.id == ENV_FALLBACK_ACCOUNT_ID
    }

    pub fn is_active(&self) -> bool {
        self.status == AccountStatus::Active
    }
}
