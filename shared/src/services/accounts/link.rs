//! The account an OAuth flow found, before it is stored.

use chrono::{DateTime, Utc};

use crate::domain::{AccountStatus, ConnectedAccount, Provider, new_id};

/// The account an OAuth flow found.
pub(super) struct Link<'a> {
    pub provider: Provider,
    pub external_id: &'a str,
    pub page_id: Option<&'a str>,
    pub name: Option<String>,
    pub username: Option<String>,
    /// Who connected it, as Meta's callbacks name them.
    pub meta_user_id: Option<&'a str>,
}

impl Link<'_> {
    /// The account it connects as, ACTIVE now: the organization's earlier record of it (its
    /// id, creation and history kept) when it connects again.
    pub(super) fn into_account(
        self,
        org: &str,
        earlier: Option<ConnectedAccount>,
        now: DateTime<Utc>,
    ) -> ConnectedAccount {
        ConnectedAccount {
            id: earlier.as_ref().map_or_else(|| new_id("acc"), |a| a.id.clone()),
            organization_id: org.to_owned(),
            provider: self.provider,
            external_account_id: self.external_id.to_owned(),
            page_id: self.page_id.map(str::to_owned),
            display_name: self.name,
            username: self.username,
            status: AccountStatus::Active,
            meta_user_id: self.meta_user_id.map(str::to_owned),
            status_changed_by: None,
            history: earlier.as_ref().and_then(|a| a.history.clone()),
            created_at: earlier.as_ref().map_or(now, |a| a.created_at),
            updated_at: now,
        }
    }
}
