//! DynamoDB: each organization's event log, under its partition: `EVT#<position>` items in
//! append order, and an `EVTID#<id>` guard written in the same transaction, so an event is
//! logged once. Both expire by the table's TTL.

use super::*;
use crate::domain::{LoggedEvent, RecordKind};
use crate::ports::EventStore;

/// Three items an event, within DynamoDB's 100 per transaction.
const MAX_EVENTS_PER_TRANSACTION: usize = 33;

/// An event at its position and the guard of its id, both written only if absent.
pub(super) fn log_items(logged: &LoggedEvent, expires_at: DateTime<Utc>) -> Result<Vec<TxItem>, StoreError> {
    let e = &logged.event;
    let org = keys::org(&e.organization_id);
    let body = serde_json::to_string(e).map_err(|e| StoreError::Backend(e.to_string()))?;
    let mut item = Item::from([("body".to_owned(), s(body)), ("ttl".to_owned(), n(expires_at.timestamp()))]);
    ops::keyed(&mut item, org.clone(), keys::event(&logged.position));
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
fn log_transaction(events: &[LoggedEvent], expires_at: DateTime<Utc>) -> Result<Vec<TxItem>, StoreError> {
    let mut items = Vec::with_capacity(events.len() * 3);
    let mut records = std::collections::BTreeSet::new();
    for logged in events {
        items.extend(log_items(logged, expires_at)?);
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
            match self.transact(log_transaction(batch, expires_at)?).await {
                Ok(()) => continue,
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
            for e in batch {
                match self.transact(log_transaction(std::slice::from_ref(e), expires_at)?).await {
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
        // Just above `EVT#<after>` (positions are printable), up to the end of the EVT# range.
        let low = after.map_or_else(|| keys::event(""), |a| format!("{}\u{0}", keys::event(a)));
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
            .filter_expression("#ttl > :now")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":pk", s(keys::org(org)))
            .expression_attribute_values(":low", s(low))
            .expression_attribute_values(":high", s(keys::EVENTS_END))
            .expression_attribute_values(":now", n(now.timestamp()))
            .limit(limit as i32)
            .consistent_read(true)
            .send()
            .await
            .map_err(ops::backend)?;
        let logged = |item: &Item| -> Result<LoggedEvent, StoreError> {
            let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let position = text(keys::SK).trim_start_matches(keys::event("").as_str()).to_owned();
            let event = serde_json::from_str(&text("body")).map_err(|e| StoreError::Backend(e.to_string()))?;
            Ok(LoggedEvent { position, event })
        };
        out.items.unwrap_or_default().iter().map(logged).collect()
    }
}
