//! DynamoDB: each organization's event log, under its partition: `EVT#<position>` items in
//! append order, and for each an `EVTID#<id>` guard naming where it is, so an event is logged
//! once. The guard is written first, only if absent, and then the event: a call that dies
//! between the two leaves a guard naming no event, which the retry moves to its own position
//! and fills. Both expire by the table's TTL. With `EVENT_LOG_SHARDS` = n > 1 an event goes to
//! shard hash(id) mod n, a partition of its own (`keys::event_log`), so the log's growing end
//! is n partitions; a read takes each shard's next events and merges them by position.
//!
//! Plain writes, not a transaction: a transaction costs every item twice its write units, on
//! every event, for a failure that a retry mends as well (both items under 1 KiB: 2 units an
//! event, not 4).

use super::*;
use crate::domain::{LoggedEvent, RecordKind};
use crate::ports::EventStore;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use futures_util::future::try_join_all;

/// Guards written at once by one call (a relay batch tells up to 200 events).
const CLAIMS_AT_ONCE: usize = 32;

/// The guard's attributes naming its event's item.
const LOGGED_PK: &str = "eventPk";
const LOGGED_SK: &str = "eventSk";

/// Written only where nothing is.
const ABSENT: &str = "attribute_not_exists(pk)";

/// An event at its position in its shard of `shards`, and the guard of its id naming where it
/// is: (event, guard).
pub(super) fn log_items(
    logged: &LoggedEvent,
    expires_at: DateTime<Utc>,
    shards: u32,
) -> Result<(Item, Item), StoreError> {
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
    Ok((item, guard))
}

/// Where a guard says its event is.
fn guarded(guard: &Item) -> Option<Key> {
    Some((ops::text(guard, LOGGED_PK)?.to_owned(), ops::text(guard, LOGGED_SK)?.to_owned()))
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

impl DynamoStore {
    /// Claims `logged`'s id for its position: the event's item to write, or `None` when the
    /// event is logged already (it stays where it is). A guard naming no event (a call that
    /// died between the two writes) is moved here, on the condition that it still names the
    /// same place, so two retries cannot both move it.
    async fn claim(&self, logged: &LoggedEvent, expires_at: DateTime<Utc>) -> Result<Option<Item>, StoreError> {
        let (item, guard) = log_items(logged, expires_at, self.log_shards)?;
        if self.put(guard.clone(), Some(ABSENT)).await? {
            return Ok(Some(item));
        }
        let guard_key = (keys::org(&logged.event.organization_id), keys::event_id(&logged.event.id));
        let Some(was) = self.get(guard_key.0, guard_key.1).await?.as_ref().and_then(guarded) else {
            // Gone since (expired, or taken back by an erasure): claimed afresh.
            return Ok(self.put(guard, Some(ABSENT)).await?.then_some(item));
        };
        if self.get(was.0.clone(), was.1.clone()).await?.is_some() {
            return Ok(None);
        }
        let still = Some("#at = :was");
        Ok(self.put_where(guard, still, &[("#at", LOGGED_SK)], vec![(":was", s(was.1))]).await?.then_some(item))
    }

    /// The events of `events` whose record is gone, taken back out of the log (wherever this
    /// call or an earlier one logged them: their guards say). Checked after the logging, not as
    /// a condition of its writes: an erasure deletes a record and only then searches the log, so an
    /// event logged before that delete is found by the search, and one logged after it is seen
    /// gone here. A condition check on the record in a transaction cost twice its size in write
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
            if let Some((pk, sk)) = self.get(org.clone(), guard_sk.clone()).await?.as_ref().and_then(guarded) {
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
        // The guards first, then the events they claimed: an event is never in the log
        // without its guard, so a take-back or a retry always finds it. An event told twice
        // in one call is claimed once, at its first place (two claims of one id at once
        // could both see the guard with no event yet, and both write it).
        let mut seen = std::collections::HashSet::new();
        let events: Vec<LoggedEvent> = events.iter().filter(|e| seen.insert(e.event.id.as_str())).cloned().collect();
        let mut puts = Vec::new();
        for some in events.chunks(CLAIMS_AT_ONCE) {
            let claimed = try_join_all(some.iter().map(|logged| self.claim(logged, expires_at))).await?;
            puts.extend(claimed.into_iter().flatten().map(ops::put_request));
        }
        let puts = puts.into_iter().collect::<Result<Vec<_>, _>>()?;
        self.write_batches(puts).await?;
        // What tells of a record erased since the write goes nowhere.
        self.take_back_erased(&events).await
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
