//! The embedded store: every table in one mutex. It may iterate (it has no indexes to
//! query), but it answers exactly as the DynamoDB adapter does; the conformance suite in
//! `crate::conformance` holds both to that.

mod accounts;
mod conversations;
mod erasure;
mod events;
mod idempotency;
mod jobs;
mod leads;
mod messages;
mod raw_events;
use std::collections::BTreeSet;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::adapters::route_cache::RouteCache;
use crate::domain::time_sort_key;
use chrono::{DateTime, Utc};

use crate::domain::{
    AccountStatus, Activity, ConnectedAccount, Conversation, ConversationFilter, Cursor, CustomerProfile,
    HistoryExpectation, HistoryImport, IdempotencyRecord, IntegrationJob, JobExpectation, Lead, Message, MessageChange,
    OAuthToken, Page, PageRequest, StoredChange, TokenKind,
};
use crate::ports::{
    AccountStore, ConversationStore, IdempotencyStore, JobStore, LeadStore, MessageStore, RawEventStore,
};
use crate::ports::{Appended, MarkSent, RawEvent, StoreError};

type OrgKey = (String, String);

/// The tables' maps hash with foldhash: a seeded hash, several times faster than the standard
/// SipHash on these short string keys (SipHash was about 3% of a busy server's CPU).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

#[derive(Default)]
struct Tables {
    accounts: HashMap<OrgKey, ConnectedAccount>,
    /// Instagram account id or page id → the account last stored with it.
    account_by_external_id: HashMap<String, OrgKey>,
    conversations: HashMap<OrgKey, Conversation>,
    /// (organization, sort key, id) of every conversation: the inbox order, kept as DynamoDB's
    /// index is, so a page reads only its own entries whatever the inbox's size.
    conversation_order: std::collections::BTreeSet<(String, String, String)>,
    /// (organization, account, thread key) → conversation id: the conversation key items.
    conversation_keys: HashMap<(String, String, String), String>,
    messages: HashMap<OrgKey, Message>,
    /// (organization, conversation) → (sort key, id) of each of its messages: each
    /// conversation's order, on its own (a page compares only times and ids).
    message_order: HashMap<OrgKey, BTreeSet<(String, String)>>,
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
    /// (organization, position) → event and when it expires: each organization's log.
    events: std::collections::BTreeMap<(String, String), (crate::domain::InboxEvent, DateTime<Utc>)>,
    /// (organization, event id) of every event logged.
    event_ids: HashSet<OrgKey>,
    /// This store's count of events logged: orders those of one millisecond.
    event_sequence: u64,
    /// Each organization's settings.
    settings: HashMap<String, crate::domain::OrganizationSettings>,
    /// How long an event is kept (`EventStore::keep_events_for`; 24 hours until told).
    event_retention: Option<chrono::Duration>,
    /// An account was written in this lock: the route cache is emptied before it is let go.
    accounts_changed: bool,
}

impl Tables {
    fn message_with_external_id(&self, org: &str, external_id: &str) -> Option<&Message> {
        let id = self.message_ids.get(&key(org, external_id))?;
        self.messages.get(&key(org, id))
    }

    fn insert_message(&mut self, message: &Message) {
        self.insert_message_telling(message, None);
    }

    /// Stores `message`; `told` is what it tells as a new message, when the caller built that
    /// before taking the lock (used only if it is new).
    fn insert_message_telling(&mut self, message: &Message, told: Option<Vec<crate::domain::InboxEvent>>) {
        if let Some(mid) = &message.external_message_id {
            self.message_ids.insert(key(&message.organization_id, mid), message.id.clone());
        }
        let before = self.messages.insert(key(&message.organization_id, &message.id), message.clone());
        if let Some(old) = &before {
            self.unorder_message(old);
        }
        let (conversation, place) = Self::message_place(message);
        self.message_order.entry(conversation).or_default().insert(place);
        match (told, &before) {
            (Some(told), None) => self.log_events(told),
            _ => self.log(StoredChange::Message { before: before.as_ref(), after: message }),
        }
    }

    /// Changes a stored message (`change` answers what the caller wants back) and logs it.
    fn change_message<T>(
        &mut self,
        org: &str,
        id: &str,
        change: impl FnOnce(&mut Message) -> T,
    ) -> Option<(T, Message)> {
        let (answer, before, after) = change_entry(&mut self.messages, org, id, change)?;
        self.log(StoredChange::Message { before: Some(&before), after: &after });
        Some((answer, after))
    }

    /// Changes a stored account (`change` answers what the caller wants back) and logs it.
    fn change_account<T>(
        &mut self,
        org: &str,
        id: &str,
        change: impl FnOnce(&mut ConnectedAccount) -> T,
    ) -> Option<(T, ConnectedAccount)> {
        let (answer, before, after) = change_entry(&mut self.accounts, org, id, change)?;
        self.accounts_changed = true;
        self.log(StoredChange::Account { before: Some(&before), after: &after });
        Some((answer, after))
    }

    /// Appends what a write tells to its organization's log, in the write (one lock).
    fn log(&mut self, change: StoredChange<'_>) {
        self.log_events(change.events());
    }

    fn log_events(&mut self, events: Vec<crate::domain::InboxEvent>) {
        let now = Utc::now();
        let expires = now + self.event_retention.unwrap_or(chrono::Duration::hours(24));
        for event in events {
            self.event_sequence += 1;
            if self.event_ids.insert(key(&event.organization_id, &event.id)) {
                let position = crate::domain::LoggedEvent::position_of(now, self.event_sequence, &event.id);
                self.events.insert((event.organization_id.clone(), position), (event, expires));
            }
        }
    }

    fn remove_message(&mut self, org: &str, id: &str) -> Option<Message> {
        let removed = self.messages.remove(&key(org, id))?;
        self.unorder_message(&removed);
        Some(removed)
    }

    /// Takes `m` out of its conversation's order (and the conversation's order out once empty).
    fn unorder_message(&mut self, m: &Message) {
        let (conversation, place) = Self::message_place(m);
        if let Some(order) = self.message_order.get_mut(&conversation) {
            order.remove(&place);
            if order.is_empty() {
                self.message_order.remove(&conversation);
            }
        }
    }

    /// A message's conversation, and its place in that conversation's order.
    fn message_place(m: &Message) -> (OrgKey, (String, String)) {
        (key(&m.organization_id, &m.conversation_id), (time_sort_key(m.created_at), m.id.clone()))
    }

    /// One page of a conversation's messages, newest first, from the order index.
    fn message_page(&self, org: &str, conversation_id: &str, page: &PageRequest) -> Page<Message> {
        let Some(order) = self.message_order.get(&key(org, conversation_id)) else {
            return Page { data: Vec::new(), next_cursor: None };
        };
        let (low, high) = ((String::new(), String::new()), (MAX_KEY.to_owned(), String::new()));
        let bounds = index_bounds(low, high, page, |k, id| (k, id));
        let items = order.range(bounds).rev().filter_map(|(_, id)| self.messages.get(&key(org, id)));
        page_newest_first(items, page, |m| (time_sort_key(m.created_at), m.id.clone()))
    }

    fn insert_conversation(&mut self, c: &Conversation) {
        self.conversation_order.insert((c.organization_id.clone(), c.sort_key(), c.id.clone()));
        let before = self.conversations.insert(key(&c.organization_id, &c.id), c.clone());
        self.log(StoredChange::Conversation { before: before.as_ref(), after: c });
    }

    /// Changes a stored conversation and keeps its place in the inbox order.
    fn update_conversation(
        &mut self,
        org: &str,
        id: &str,
        change: impl FnOnce(&mut Conversation),
    ) -> Option<Conversation> {
        self.update_conversation_telling(org, id, change, None)
    }

    /// `update_conversation`, with what the change tells built before the lock from the
    /// conversation the caller read (`foretold`: that conversation and its events), used when
    /// the stored one is still it.
    fn update_conversation_telling(
        &mut self,
        org: &str,
        id: &str,
        change: impl FnOnce(&mut Conversation),
        foretold: Option<(&Conversation, Vec<crate::domain::InboxEvent>)>,
    ) -> Option<Conversation> {
        let c = self.conversations.get_mut(&key(org, id))?;
        let told = foretold.and_then(|(read, told)| (*read == *c).then_some(told));
        let before = told.is_none().then(|| c.clone());
        self.conversation_order.remove(&(org.to_owned(), c.sort_key(), id.to_owned()));
        change(c);
        self.conversation_order.insert((org.to_owned(), c.sort_key(), id.to_owned()));
        let after = c.clone();
        match told {
            Some(told) => self.log_events(told),
            None => self.log(StoredChange::Conversation { before: before.as_ref(), after: &after }),
        }
        Some(after)
    }

    /// One page of the organization's conversations, newest first, from the order index.
    fn conversation_page(&self, org: &str, filter: ConversationFilter, page: &PageRequest) -> Page<Conversation> {
        let (low, high) =
            ((org.to_owned(), String::new(), String::new()), (org.to_owned(), MAX_KEY.to_owned(), String::new()));
        let bounds = index_bounds(low, high, page, |k, id| (org.to_owned(), k, id));
        let items =
            self.conversation_order.range(bounds).rev().filter_map(|(_, _, id)| self.conversations.get(&key(org, id)));
        page_newest_first(items.filter(|c| filter.admits(c)), page, |c| (c.sort_key(), c.id.clone()))
    }

    fn conversation_of(&self, org: &str, account_id: &str, thread_key: &str) -> Option<&Conversation> {
        let id = self.conversation_keys.get(&(org.to_owned(), account_id.to_owned(), thread_key.to_owned()))?;
        self.conversations.get(&key(org, id))
    }
}

pub struct MemoryStore {
    tables: Mutex<Tables>,
    /// Webhook routing outside the tables' lock; filled and emptied inside it, so it never
    /// keeps an account, or an account's absence, older than the tables'.
    routes: RouteCache,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore { tables: Mutex::default(), routes: RouteCache::keeping_absent() }
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Tables) -> T) -> T {
        let mut tables = self.tables.lock().expect("memory store lock poisoned");
        let answer = f(&mut tables);
        if std::mem::take(&mut tables.accounts_changed) {
            self.routes.clear();
        }
        answer
    }
}

/// Above every sort key (they are digits): the open end of an index range.
const MAX_KEY: &str = "\u{10ffff}";

type Bounds<K> = (std::ops::Bound<K>, std::ops::Bound<K>);

/// The index range of one listing: from `low`, up to the cursor (excluded) or `high`.
fn index_bounds<K>(low: K, high: K, page: &PageRequest, at: impl Fn(String, String) -> K) -> Bounds<K> {
    use std::ops::Bound::{Excluded, Included};
    let high = match &page.after {
        Some(c) => at(c.sort_key.clone(), c.id.clone()),
        None => high,
    };
    (Included(low), Excluded(high))
}

/// A page from items already newest first: at most `limit`, and a cursor (the last item's
/// sort key and id, `place`) when more follow.
fn page_newest_first<'a, T: Clone + 'a>(
    mut items: impl Iterator<Item = &'a T>,
    page: &PageRequest,
    place: impl Fn(&T) -> (String, String),
) -> Page<T> {
    let data: Vec<T> = items.by_ref().take(page.limit).cloned().collect();
    let more = items.next().is_some();
    let next_cursor = data.last().filter(|_| more).map(|last| {
        let (sort_key, id) = place(last);
        Cursor { sort_key, id }.encode()
    });
    Page { data, next_cursor }
}

/// Changes one entry of a table: what `change` answered, the entry before and after.
fn change_entry<V: Clone, T>(
    table: &mut HashMap<OrgKey, V>,
    org: &str,
    id: &str,
    change: impl FnOnce(&mut V) -> T,
) -> Option<(T, V, V)> {
    let entry = table.get_mut(&key(org, id))?;
    let before = entry.clone();
    let answer = change(entry);
    Some((answer, before, entry.clone()))
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
