//! What removes a customer's or an organization's data for good, a page at a time (each call
//! bounded, so a Lambda's time or a request's never runs out part way; a call after a
//! failure goes on from what is left).

use async_trait::async_trait;

use super::StoreError;
use chrono::{DateTime, Utc};

use crate::domain::{Conversation, OrganizationSettings};

#[async_trait]
pub trait ErasureStore: Send + Sync {
    /// The organization's conversations with the customer `participant_id`: their DMs on
    /// every account, and the comment threads they started.
    async fn conversations_of_participant(
        &self,
        org: &str,
        participant_id: &str,
    ) -> Result<Vec<Conversation>, StoreError>;

    /// The organization's conversations whose last message is before `before`, the longest
    /// inactive first, at most `limit` (retention).
    async fn inactive_conversations(
        &self,
        org: &str,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError>;

    /// Removes up to `limit` of the conversation's messages (with their Meta id lookups and
    /// the changes waiting for them); once none is left, the conversation itself (with its
    /// lookup) and the events logged about it. How many records went; 0 when nothing is left.
    async fn erase_conversation(&self, org: &str, id: &str, limit: usize) -> Result<usize, StoreError>;

    /// Removes the customer's cached profile (and its copy under their username) and the
    /// Instagram identity of the lead it names, and that lead's lookups by it (the lead's
    /// other details are the organization's). How many records went or changed.
    async fn erase_customer(&self, org: &str, participant_id: &str) -> Result<usize, StoreError>;

    /// Removes up to `limit` of the organization's records of any kind: accounts with their
    /// webhook routes, tokens, conversations, messages, leads, profiles, jobs, idempotency
    /// keys, the event log, its settings. How many went; 0 when nothing is left.
    async fn erase_organization(&self, org: &str, limit: usize) -> Result<usize, StoreError>;
}

/// Each organization's settings.
#[async_trait]
pub trait SettingsStore: Send + Sync {
    async fn get_settings(&self, org: &str) -> Result<Option<OrganizationSettings>, StoreError>;

    async fn put_settings(&self, settings: &OrganizationSettings) -> Result<(), StoreError>;

    /// Every organization that set a message retention (the scheduled run's round).
    async fn organizations_with_retention(&self) -> Result<Vec<OrganizationSettings>, StoreError>;
}
