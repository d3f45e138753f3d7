//! Meta's Conversations API: an account's threads and their recent messages, read for the
//! history import and the reconciliation sweep.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{GraphError, GraphHost};
use crate::domain::Provider;

/// One thread as the listing gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaThread {
    /// Meta's conversation id.
    pub id: String,
    /// When its newest message was sent (none if Meta left it out).
    pub updated_time: Option<DateTime<Utc>>,
    /// The ids of its two sides: the account (or Page) and the customer.
    pub participants: Vec<String>,
}

/// A page of threads, newest first; `after` when another follows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetaThreadPage {
    pub threads: Vec<MetaThread>,
    pub after: Option<String>,
}

/// One message Meta details (the 20 most recent of a thread).
#[derive(Debug, Clone, PartialEq)]
pub struct MetaMessage {
    pub id: String,
    pub created_time: DateTime<Utc>,
    pub from: String,
    pub to: Vec<String>,
    pub text: Option<String>,
    /// In the webhook's shape (`{type, payload: {url}}`).
    pub attachments: Vec<Value>,
    pub is_unsupported: bool,
}

/// Which threads to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadQuery<'a> {
    pub host: GraphHost,
    /// The Page id (Facebook Login), or `me` (Instagram Login).
    pub owner: &'a str,
    pub platform: Provider,
    pub token: &'a str,
    /// Meta's cursor of the page before.
    pub after: Option<&'a str>,
    pub limit: u32,
}

#[async_trait]
pub trait GraphThreads: Send + Sync {
    /// A page of the owner's threads on `platform`, newest first
    /// (`GET /{owner}/conversations?platform=&fields=id,updated_time,participants`).
    async fn list_threads(&self, query: &ThreadQuery<'_>) -> Result<MetaThreadPage, GraphError>;
    /// The thread's messages Meta details, newest first (`GET /{thread}?fields=messages{...}`).
    async fn thread_messages(
        &self,
        host: GraphHost,
        token: &str,
        thread_id: &str,
    ) -> Result<Vec<MetaMessage>, GraphError>;
}
