//! The production store: one DynamoDB table (see `keys` for the design). Every method is
//! `GetItem`, `Query`, or a conditional write; uniqueness (Meta ids, conversation per
//! customer, lead identities, idempotency keys) is enforced by conditional puts in
//! transactions, and a conversation's summary is updated under an optimistic `version`
//! condition, so concurrent writers retry instead of overwriting each other.

mod accounts;
pub mod changes;
mod conversations;
mod erasure;
mod events;
pub mod heat;
mod idempotency;
mod jobs;
mod keys;
mod leads;
mod messages;
mod ops;
mod raw_events;
mod shards;

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use crate::domain::{
    AccountStatus, Activity, ConnectedAccount, Conversation, ConversationFilter, ConversationKind, CustomerProfile,
    IdempotencyRecord, IntegrationJob, JobExpectation, JobStatus, Lead, Message, MessageChange, MessageStatus,
    OAuthToken, Page, PageRequest, Provider, TokenKind, time_sort_key,
};
use crate::ports::{
    AccountStore, ConversationStore, IdempotencyStore, JobStore, LeadStore, MessageStore, RawEventStore,
};
use crate::ports::{Appended, MarkSent, RawEvent, StoreError};

use crate::adapters::route_cache::RouteCache;
pub use keys::{GSI1, GSI2, GSI3, is_event_key};
use ops::{Item, Key, TxItem, attr_of, from_item, n, s, to_item};

/// A change whose message never comes is dropped by DynamoDB's TTL after this long.
const PENDING_CHANGE_TTL: chrono::Duration = chrono::Duration::days(30);

/// How often a write that lost a race re-reads and tries again.
const MAX_RETRIES: u32 = 16;

/// One round of an optimistic write: done, or lost to a concurrent writer (read again).
enum Round<T> {
    Done(T),
    Lost,
}

/// The one optimistic-write loop: runs `round` (read, change, conditional write) until it is
/// done, pausing a little more after each lost race; `what` names the item if it stays
/// contended through `MAX_RETRIES` rounds.
async fn optimistic<T, Fut>(what: &str, mut round: impl FnMut() -> Fut) -> Result<T, StoreError>
where
    Fut: std::future::Future<Output = Result<Round<T>, StoreError>>,
{
    for attempt in 0..MAX_RETRIES {
        contention_pause(attempt).await;
        if let Round::Done(done) = round().await? {
            return Ok(done);
        }
    }
    Err(StoreError::Backend(format!("{what} is too contended")))
}

/// Before retry `attempt` (none before the first try): a random pause growing with the
/// attempts, so writers that collided do not collide again in lockstep.
async fn contention_pause(attempt: u32) {
    if attempt > 0 {
        let ceiling_ms = (1u64 << attempt.min(7)).min(100);
        let pause = rand::random::<u64>() % (ceiling_ms + 1);
        tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
    }
}

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    routes: RouteCache,
    /// Partitions of each conversation-list index per organization (`keys::shard`).
    inbox_shards: u32,
    /// Partitions of each organization's event log (`keys::event_log`).
    log_shards: u32,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore { client, table: table.into(), routes: RouteCache::default(), inbox_shards: 1, log_shards: 1 }
    }

    /// Spreads each conversation-list index over `shards` partitions per organization
    /// (`INBOX_INDEX_SHARDS`); lists merge them.
    pub fn with_inbox_shards(mut self, shards: u32) -> Self {
        self.inbox_shards = shards.max(1);
        self
    }

    /// Spreads each organization's event log over `shards` partitions (`EVENT_LOG_SHARDS`);
    /// reads merge them.
    pub fn with_log_shards(mut self, shards: u32) -> Self {
        self.log_shards = shards.max(1);
        self
    }

    /// The shards of one conversation-list partition, in the order lists read them.
    fn inbox_partitions(&self, partition: &str) -> Vec<String> {
        keys::shards(partition, self.inbox_shards)
    }

    /// Every gsi1 partition of the organization's conversations: each provider's list, each
    /// of its shards. The whole inbox is their merge, so a DM is in one list (its provider's)
    /// and a comment thread in two (its provider's and the comment threads'), not three.
    fn all_conversation_partitions(&self, org: &str) -> Vec<String> {
        let lists = Provider::ALL.map(|p| keys::conversations_of(org, p.as_str()));
        lists.iter().flat_map(|list| self.inbox_partitions(list)).collect()
    }

    fn conversation_item(&self, c: &Conversation, version: i64) -> Result<Item, StoreError> {
        let order = keys::ordered(&time_sort_key(c.last_message_at), &c.id);
        let mut item = to_item(c)?;
        ops::keyed(&mut item, keys::org(&c.organization_id), keys::conversation(&c.id));
        let org = &c.organization_id;
        let shard = |partition| keys::shard(partition, keys::shard_of(&c.id, self.inbox_shards));
        item.insert("gsi1pk".into(), s(shard(keys::conversations_of(org, c.provider.as_str()))));
        item.insert("gsi1sk".into(), s(order.clone()));
        if c.kind == ConversationKind::Comment {
            item.insert("gsi3pk".into(), s(shard(keys::conversations_of_kind(org, c.kind.as_str()))));
            item.insert("gsi3sk".into(), s(order));
        }
        item.insert("version".into(), n(version));
        Ok(item)
    }

    /// A message item at revision `rev`: every write to a message moves its revision, so a
    /// change applied from a read (`update_message`) never overwrites a concurrent one.
    fn message_item(m: &Message, rev: i64) -> Result<Item, StoreError> {
        let mut item = to_item(m)?;
        item.insert("rev".into(), n(rev));
        ops::keyed(&mut item, keys::org(&m.organization_id), keys::message(&m.id));
        item.insert("gsi1pk".into(), s(keys::messages_of(&m.organization_id, &m.conversation_id)));
        item.insert("gsi1sk".into(), s(keys::ordered(&time_sort_key(m.created_at), &m.id)));
        Ok(item)
    }

    fn mid_lookup(org: &str, mid: &str, message_id: &str) -> Item {
        let mut item = HashMap::from([("messageId".to_owned(), s(message_id))]);
        ops::keyed(&mut item, keys::org(org), keys::mid(mid));
        item
    }

    /// The lookup of `account` by one of its external ids, written only if the id is free,
    /// already this organization's, or held by an account disconnected elsewhere (`ownerActive`
    /// mirrors the owner's status; lookups written before it existed do not block).
    fn account_lookup(account: &ConnectedAccount, external_id: &str) -> TxItem {
        let mut lookup = HashMap::from([
            ("organizationId".to_owned(), s(&account.organization_id)),
            ("accountId".to_owned(), s(&account.id)),
            ("ownerActive".to_owned(), AttributeValue::Bool(account.status != AccountStatus::Disconnected)),
        ]);
        ops::keyed(&mut lookup, keys::external_account(external_id), "EXTACC".to_owned());
        let mut put = TxItem::put(
            lookup,
            Some(
                "attribute_not_exists(pk) OR organizationId = :org OR ownerActive = :no \
                 OR attribute_not_exists(ownerActive)",
            ),
        );
        put.values.push((":org".into(), s(&account.organization_id)));
        put.values.push((":no".into(), AttributeValue::Bool(false)));
        put
    }

    fn job_item(job: &IntegrationJob) -> Result<Item, StoreError> {
        let mut item = to_item(job)?;
        ops::keyed(&mut item, keys::org(&job.organization_id), keys::job(&job.id));
        // Numbers, so the claim condition compares times exactly.
        if let Some(t) = job.next_attempt_at {
            item.insert("nextAttemptMs".into(), n(t.timestamp_millis()));
        }
        if let Some(t) = job.lease_expires_at {
            item.insert("leaseMs".into(), n(t.timestamp_millis()));
        }
        if let Some(at) = job.open_until() {
            item.insert("gsi1pk".into(), s(keys::open_jobs(keys::open_job_shard(&job.id))));
            item.insert("gsi1sk".into(), s(keys::open_job_order(at, &job.organization_id, &job.id)));
        }
        Ok(item)
    }

    async fn conversation_versioned(&self, org: &str, id: &str) -> Result<Option<(Conversation, i64)>, StoreError> {
        let Some(item) = self.get(keys::org(org), keys::conversation(id)).await? else { return Ok(None) };
        // `version` is read into the conversation too (`Conversation::version`).
        let c: Conversation = from_item(item)?;
        let version = c.version;
        Ok(Some((c, version)))
    }

    /// Read, change, write back under the read `version`; on a lost race, again.
    async fn update_conversation(
        &self,
        org: &str,
        id: &str,
        change: impl Fn(&mut Conversation),
    ) -> Result<Option<Conversation>, StoreError> {
        let change = &change;
        optimistic(&format!("conversation {id}"), move || async move {
            let Some((mut c, version)) = self.conversation_versioned(org, id).await? else {
                return Ok(Round::Done(None));
            };
            change(&mut c);
            let item = self.conversation_item(&c, version + 1)?;
            match self.put_where(item, Some("version = :v"), &[], vec![(":v", n(version))]).await? {
                true => Ok(Round::Done(Some(c))),
                false => Ok(Round::Lost),
            }
        })
        .await
    }

    /// The item a lookup item points at (`attr` names the target's id).
    async fn follow(
        &self,
        pk: String,
        sk: String,
        attr: &str,
        target: impl Fn(&str) -> String,
    ) -> Result<Option<Item>, StoreError> {
        let Some(lookup) = self.get(pk.clone(), sk).await? else { return Ok(None) };
        let Some(id) = lookup.get(attr).and_then(|v| v.as_s().ok()) else { return Ok(None) };
        let org = lookup.get("organizationId").and_then(|v| v.as_s().ok()).map(|o| keys::org(o)).unwrap_or(pk);
        self.get(org, target(id)).await
    }
}
