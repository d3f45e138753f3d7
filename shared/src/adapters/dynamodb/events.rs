//! DynamoDB: each organization's event log, under its partition: `EVT#<position>` items in
//! append order, and an `EVTID#<id>` guard written in the same transaction, so an event is
//! logged once. Both expire by the table's TTL. With `EVENT_LOG_SHARDS` = n > 1 an event goes
//! to shard hash(id) mod n, a partition of its own (`keys::event_log`), so the log's growing
//! end is n partitions; a read takes each shard's next events and merges them by position.

use super::*;
use crate::domain::{LoggedEvent, RecordKind};
use crate::ports::EventStore;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use futures_util::future::try_join_all;

/// Three items an event, within DynamoDB's 100 per transaction.
const MAX_EVENTS_PER_TRANSACTION: usize = 33;

/// An event at its position in its shard of `shards`, and the guard of its id, both written
/// only if absent.
pub(super) fn log_items(
    logged: &LoggedEvent,
    expires_at: DateTime<Utc>,
    shards: u32,
) -> Result<Vec<TxItem>, StoreError> {
    let e = &logged.event;
    let org = keys::org(&e.organization_id);
    let body = serde_json::to_string(e).map_err(|e| StoreError::Backend(e.to_string()))?;
    let mut item = Item::from([("body".to_owned(), s(body)), ("ttl".to_owned(), n(expires_at.timestamp()))]);
    let log = keys::event_log(&e.organization_id, keys::shard_of(&e.id, shards));
    ops::keyed(&mut item, log, keys::event(&logged.position));
    let mut guard = Item::from([("ttl".to_owned(), n(expires_at.timestamp()))]);
    ops::keyed(&mut guard, org, keys::event_id(&e.id));
    let absent = Some("attribute_not_exists(pk)");
    Ok(vec![TxItem::put(item, absent), TxItem::put(guard, absent)])
}

/// The key of the record an event tells of.
fn record_key(e: &crate::domain::InboxEvent) -> Option<(String, String)> {
    let (kind, id) = e.record()?;
    let sk = match kind {
        RecordKind::Message => keys::message(id),
        RecordKind::Conversation => keys::conversation(id),
        RecordKind::Account => keys::account(id),
    };
    Some((keys::org(&e.organization_id), sk))
}

/// The events' items, and a check that each record they tell of still exists (one per
/// record: a transaction names an item once): the relay runs a moment after the write, and
/// an erasure in between leaves no event behind.
fn log_transaction(events: &[LoggedEvent], expires_at: DateTime<Utc>, shards: u32) -> Result<Vec<TxItem>, StoreError> {
    let mut items = Vec::with_capacity(events.len() * 3);
    let mut records = std::collections::BTreeSet::new();
    for logged in events {
        items.extend(log_items(logged, expires_at, shards)?);
        records.extend(record_key(&logged.event));
    }
    items.extend(records.into_iter().map(|(pk, sk)| TxItem::check(pk, sk, "attribute_exists(pk)")));
    Ok(items)
}

impl DynamoStore {
    async fn record_exists(&self, e: &crate::domain::InboxEvent) -> Result<bool, StoreError> {
        match record_key(e) {
            Some((pk, sk)) => Ok(self.get(pk, sk).await?.is_some()),
            None => Ok(true),
        }
    }
}

#[async_trait]
impl EventStore for DynamoStore {
    async fn append_events(
        &self,
        events: &[LoggedEvent],
        expires_at: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        // All in one transaction (one round trip); when one was logged before (the relay
        // given the same records again) or its record is gone, each alone, so the others
        // still are.
        let mut gone = Vec::new();
        for batch in events.chunks(MAX_EVENTS_PER_TRANSACTION) {
            match self.transact(log_transaction(batch, expires_at, self.log_shards)?).await {
                Ok(()) => continue,
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
            for e in batch {
                match self.transact(log_transaction(std::slice::from_ref(e), expires_at, self.log_shards)?).await {
                    Ok(()) => {}
                    // Logged before, or its record is gone: only a read tells which.
                    Err(StoreError::Conflict(_)) if !self.record_exists(&e.event).await? => {
                        gone.push(e.event.id.clone())
                    }
                    Err(StoreError::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(gone)
    }

    async fn events_after(
        &self,
        org: &str,
        after: Option<&str>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        let reads = (0..self.log_shards).map(|shard| self.shard_events_after(org, shard, after, limit, now));
        Ok(merge_shards(try_join_all(reads).await?, limit))
    }
}

/// The first `limit` events of the shards' reads by position. A shard that stopped early (its
/// page's limit, with expired events filtered out) has told everything up to where it stopped,
/// no further: the merge goes no further either, so none of its events is skipped.
fn merge_shards(read: Vec<(Vec<LoggedEvent>, Option<String>)>, limit: usize) -> Vec<LoggedEvent> {
    let told_up_to = read.iter().filter_map(|(_, stopped_at)| stopped_at.clone()).min();
    let mut merged: Vec<LoggedEvent> = read.into_iter().flat_map(|(events, _)| events).collect();
    merged.retain(|e| told_up_to.as_ref().is_none_or(|end| e.position <= *end));
    merged.sort_by(|a, b| a.position.cmp(&b.position));
    merged.truncate(limit);
    merged
}

impl DynamoStore {
    /// A query of one shard of an organization's log, after `after` (from its start without
    /// one): the log's reads and the erasure's search build on it.
    pub(super) fn log_query(&self, org: &str, shard: u32, after: Option<&str>) -> QueryFluentBuilder {
        // Just above `EVT#<after>` (positions are printable), up to the end of the EVT# range.
        let low = after.map_or_else(|| keys::event(""), |a| format!("{}\u{0}", keys::event(a)));
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
            .expression_attribute_values(":pk", s(keys::event_log(org, shard)))
            .expression_attribute_values(":low", s(low))
            .expression_attribute_values(":high", s(keys::EVENTS_END))
            .consistent_read(true)
    }

    /// Up to `limit` unexpired events of one shard after `after`, in order, and the position
    /// it stopped at if it has more.
    async fn shard_events_after(
        &self,
        org: &str,
        shard: u32,
        after: Option<&str>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<(Vec<LoggedEvent>, Option<String>), StoreError> {
        let out = self
            .log_query(org, shard, after)
            .filter_expression("#ttl > :now")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":now", n(now.timestamp()))
            .limit(limit as i32)
            .send()
            .await
            .map_err(ops::backend)?;
        let position = |item: &Item| {
            let sk = item.get(keys::SK).and_then(|v| v.as_s().ok()).map_or("", String::as_str);
            sk.trim_start_matches(keys::event("").as_str()).to_owned()
        };
        let logged = |item: &Item| -> Result<LoggedEvent, StoreError> {
            let position = position(item);
            let body = item.get("body").and_then(|v| v.as_s().ok()).map_or("", String::as_str);
            let event = serde_json::from_str(body).map_err(|e| StoreError::Backend(e.to_string()))?;
            Ok(LoggedEvent { position, event })
        };
        let stopped_at = out.last_evaluated_key.as_ref().map(position);
        let events = out.items.unwrap_or_default().iter().map(logged).collect::<Result<_, _>>()?;
        Ok((events, stopped_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::InboxEvent;

    fn at(position: &str) -> LoggedEvent {
        let c = crate::conformance::conversation("org_1", "acc_1", "6185", crate::conformance::t(0));
        LoggedEvent { position: position.into(), event: InboxEvent::conversation_updated(&c) }
    }

    #[test]
    fn a_merge_goes_no_further_than_a_shard_that_stopped_early() {
        // Shard A read 3 events to "a3" but 2 had expired: it gives "a1" and has more after
        // "a3". Shard B gives 3 and has more after "b3". A's next event may sit before "b2".
        let positions = |read: Vec<(Vec<LoggedEvent>, Option<String>)>, limit| {
            merge_shards(read, limit).into_iter().map(|e| e.position).collect::<Vec<_>>()
        };
        let a = (vec![at("1")], Some("3".to_owned()));
        let b = (vec![at("2"), at("5"), at("7")], Some("7".to_owned()));
        assert_eq!(positions(vec![a.clone(), b.clone()], 3), ["1", "2"]);
        // Shards at their end bound nothing; the limit still holds.
        let done = |events: Vec<LoggedEvent>| (events, None);
        assert_eq!(positions(vec![done(vec![at("1"), at("4")]), done(vec![at("2"), at("3")])], 3), ["1", "2", "3"]);
        assert_eq!(positions(vec![a, done(vec![at("2")])], 10), ["1", "2"]);
    }
}
