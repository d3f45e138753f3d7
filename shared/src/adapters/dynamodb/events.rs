//! DynamoDB: each organization's event log, under its partition: `EVT#<position>` items in
//! append order, and an `EVTID#<id>` guard written in the same transaction, so an event is
//! logged once; the guard keeps where its event is. Both expire by the table's TTL. With
//! `EVENT_LOG_SHARDS` = n > 1 an event goes to shard hash(id) mod n, a partition of its own
//! (`keys::event_log`), so the log's growing end is n partitions; a read takes each shard's
//! next events and merges them by position.

use super::*;
use crate::domain::{LoggedEvent, RecordKind};
use crate::ports::EventStore;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use futures_util::future::try_join_all;

/// Two items an event, within DynamoDB's 100 per transaction.
const MAX_EVENTS_PER_TRANSACTION: usize = 50;

/// The guard's attributes naming its event's item.
const LOGGED_PK: &str = "eventPk";
const LOGGED_SK: &str = "eventSk";

/// An event at its position in its shard of `shards`, and the guard of its id naming where it
/// is, both written only if absent.
pub(super) fn log_items(
    logged: &LoggedEvent,
    expires_at: DateTime<Utc>,
    shards: u32,
) -> Result<Vec<TxItem>, StoreError> {
    let e = &logged.event;
    let org = keys::org(&e.organization_id);
    let body = serde_json::to_string(e).map_err(|e| StoreError::Backend(e.to_string()))?;
    let mut item = Item::from([("body".to_owned(), s(body)), ("ttl".to_owned(), n(expires_at.timestamp()))]);
    let (log, at) = (keys::event_log(&e.organization_id, keys::shard_of(&e.id, shards)), keys::event(&logged.position));
    let mut guard = Item::from([
        ("ttl".to_owned(), n(expires_at.timestamp())),
        (LOGGED_PK.to_owned(), s(&log)),
        (LOGGED_SK.to_owned(), s(&at)),
    ]);
    ops::keyed(&mut item, log, at);
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

fn log_transaction(events: &[LoggedEvent], expires_at: DateTime<Utc>, shards: u32) -> Result<Vec<TxItem>, StoreError> {
    let items = events.iter().map(|logged| log_items(logged, expires_at, shards));
    Ok(items.collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect())
}

impl DynamoStore {
    /// The events of `events` whose record is gone, taken back out of the log (wherever this
    /// call or an earlier one logged them: their guards say). Checked after the logging, not
    /// in its transaction: an erasure deletes a record and only then searches the log, so an
    /// event logged before that delete is found by the search, and one logged after it is seen
    /// gone here. A condition check in the transaction cost twice its record's size in write
    /// units on every event; these reads cost a unit each.
    async fn take_back_erased(&self, events: &[LoggedEvent]) -> Result<Vec<String>, StoreError> {
        let records: std::collections::BTreeSet<Key> = events.iter().filter_map(|e| record_key(&e.event)).collect();
        let records: Vec<Key> = records.into_iter().collect();
        let there = self.existing(&records).await?;
        let mut taken_back = Vec::new();
        for e in events.iter().map(|logged| &logged.event) {
            if record_key(e).is_none_or(|key| there.contains(&key)) {
                continue;
            }
            // The event, then its guard: nothing of an erased organization stays behind, and a
            // retry that finds no guard logs it again only to take it back again.
            let (org, guard_sk) = (keys::org(&e.organization_id), keys::event_id(&e.id));
            let guard = self.get(org.clone(), guard_sk.clone()).await?;
            let at = |name| guard.as_ref().and_then(|g| ops::text(g, name)).map(str::to_owned);
            if let (Some(pk), Some(sk)) = (at(LOGGED_PK), at(LOGGED_SK)) {
                self.delete(pk, sk).await?;
            }
            self.delete(org, guard_sk).await?;
            taken_back.push(e.id.clone());
        }
        Ok(taken_back)
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
        // given the same records again), each alone, so the others still are.
        for batch in events.chunks(MAX_EVENTS_PER_TRANSACTION) {
            match self.transact(log_transaction(batch, expires_at, self.log_shards)?).await {
                Ok(()) => continue,
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
            for e in batch {
                match self.transact(log_transaction(std::slice::from_ref(e), expires_at, self.log_shards)?).await {
                    Ok(()) | Err(StoreError::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        // What tells of a record erased since the write goes nowhere.
        self.take_back_erased(events).await
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
