//! The embedded store: every table in one mutex. It may iterate (it has no indexes to
//! query), but it answers exactly as the DynamoDB adapter does; the conformance suite in
//! `crate::conformance` holds both to that.

mod accounts;
mod conversations;
mod idempotency;
mod jobs;
mod leads;
mod messages;
mod raw_events;
use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::domain::time_sort_key;
use chrono::{DateTime, Utc};

use crate::domain::{
    AccountStatus, Activity, ConnectedAccount, Conversation, Cursor, CustomerProfile, IdempotencyRecord,
    IntegrationJob, JobExpectation, Lead, Message, MessageChange, MessageStatus, OAuthToken, Page, PageRequest,
    Provider, TokenKind,
};
use crate::ports::{
    AccountStore, ConversationStore, IdempotencyStore, JobStore, LeadStore, MessageStore, RawEventStore,
};
use crate::ports::{Appended, MarkSent, RawEvent, StoreError};

type OrgKey = (String, String);

#[derive(Default)]
struct Tables {
    accounts: HashMap<OrgKey, ConnectedAccount>,
    /// Instagram account id or page id → the account last stored with it.
    account_by_external_id: HashMap<String, OrgKey>,
    conversations: HashMap<OrgKey, Conversation>,
    /// (organization, account, customer) → conversation id: the conversation key items.
    conversation_keys: HashMap<(String, String, String), String>,
    messages: HashMap<OrgKey, Message>,
    /// (organization, Meta `mid`) → message id: the `mid` lookup items.
    message_ids: HashMap<OrgKey, String>,
    leads: HashMap<OrgKey, Lead>,
    profiles: HashMap<OrgKey, CustomerProfile>,
    raw_events: Vec<RawEvent>,
    /// (organization, mid) → changes waiting for that message.
    pending: HashMap<(String, String), Vec<RawEvent>>,
    jobs: HashMap<OrgKey, IntegrationJob>,
    idempotency: HashMap<OrgKey, IdempotencyRecord>,
    tokens: HashMap<OrgKey, OAuthToken>,
}

impl Tables {
    fn message_with_external_id(&self, org: &str, external_id: &str) -> Option<&Message> {
        let id = self.message_ids.get(&key(org, external_id))?;
        self.messages.get(&key(org, id))
    }

    fn insert_message(&mut self, message: &Message) {
        if let Some(mid) = &message.external_message_id {
            self.message_ids.insert(key(&message.organization_id, mid), message.id.clone());
        }
        self.messages.insert(key(&message.organization_id, &message.id), message.clone());
    }

    fn conversation_of(&self, org: &str, account_id: &str, participant_id: &str) -> Option<&Conversation> {
        let id = self.conversation_keys.get(&(org.to_owned(), account_id.to_owned(), participant_id.to_owned()))?;
        self.conversations.get(&key(org, id))
    }
}

#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Tables) -> T) -> T {
        f(&mut self.tables.lock().expect("memory store lock poisoned"))
    }
}

fn key(org: &str, id: &str) -> OrgKey {
    (org.to_owned(), id.to_owned())
}

fn token_key(org: &str, account_id: &str, kind: TokenKind) -> OrgKey {
    key(org, &format!("{account_id}#{}", kind.as_str()))
}

/// Newest first by (sort key, id), resuming after the cursor: the order a descending
/// DynamoDB `Query` on a `<time>#<id>` sort key gives.
fn page_desc<T: Clone>(items: Vec<(String, String, T)>, page: &PageRequest) -> Page<T> {
    page_ordered(items, page, true)
}

/// One page of `(sort key, id, item)`s in sort-key order (newest first when `descending`).
fn page_ordered<T: Clone>(mut items: Vec<(String, String, T)>, page: &PageRequest, descending: bool) -> Page<T> {
    items.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    if descending {
        items.reverse();
    }
    let start = match &page.after {
        Some(c) if descending => items.partition_point(|(k, id, _)| (k, id) >= (&c.sort_key, &c.id)),
        Some(c) => items.partition_point(|(k, id, _)| (k, id) <= (&c.sort_key, &c.id)),
        None => 0,
    };
    let rest = &items[start..];
    let taken: Vec<_> = rest.iter().take(page.limit).collect();
    let next_cursor = (rest.len() > page.limit).then(|| {
        let (k, id, _) = taken.last().expect("limit is at least 1");
        Cursor { sort_key: k.clone(), id: id.clone() }.encode()
    });
    Page { data: taken.into_iter().map(|(_, _, t)| t.clone()).collect(), next_cursor }
}

#[cfg(test)]
mod conformance {
    crate::store_conformance_tests!(async { Some(std::sync::Arc::new(super::MemoryStore::new())) });
}
