//! Webhook events kept for replay: those no organization could take yet (an account not
//! connected, or disconnected), until one can.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::StoreError;
use crate::domain::{Page, PageRequest};

/// A webhook event that could not be given to an organization (unknown or disconnected
/// account) or could not be parsed; kept so it can be replayed, never silently dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawEvent {
    pub id: String,
    /// The account id the event was addressed to (`entry[].id`), or `"unknown"`.
    pub external_account_id: String,
    pub reason: String,
    pub payload: Value,
    pub received_at: DateTime<Utc>,
    /// When the store may forget it (DynamoDB's TTL); `None` keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// Webhook events kept for replay.
#[async_trait]
pub trait RawEventStore: Send + Sync {
    // Events kept for replay.
    async fn put_raw_event(&self, event: &RawEvent) -> Result<(), StoreError>;

    /// One page, oldest first (the replay job works through them page by page).
    async fn raw_events_page(
        &self,
        external_account_id: &str,
        page: &PageRequest,
    ) -> Result<Page<RawEvent>, StoreError>;

    /// Oldest first.
    async fn list_raw_events(&self, external_account_id: &str) -> Result<Vec<RawEvent>, StoreError>;

    async fn delete_raw_event(&self, external_account_id: &str, id: &str) -> Result<(), StoreError>;
}
