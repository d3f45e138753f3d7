//! The event relay: the table's stream into each organization's log and onto the event bus.
//! Every write of a message, conversation or account reaches it once committed (DynamoDB
//! streams keep each for 24 hours and Lambda retries a batch from its first failure), so no
//! change is lost to a writer that died after its write; the log keeps each event once (by
//! id) and the bus gets it at least once (consumers de-duplicate by id).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

use crate::adapters::dynamodb::changes::told_by_write;
use crate::domain::{InboxEvent, LoggedEvent};
use crate::ports::{EventBus, EventStore};

pub struct Relay {
    pub log: Arc<dyn EventStore>,
    pub bus: Arc<dyn EventBus>,
    /// How long the log keeps an event (`EVENT_RETENTION_HOURS`).
    pub retain: chrono::Duration,
    /// This process's count of events logged: orders those of one millisecond.
    sequence: AtomicU64,
}

impl Relay {
    pub fn new(log: Arc<dyn EventStore>, bus: Arc<dyn EventBus>, retain: chrono::Duration) -> Self {
        Relay { log, bus, retain, sequence: AtomicU64::new(0) }
    }

    /// Logs and puts on the bus what the batch's writes tell; answers the records to be
    /// delivered again (Lambda retries from the first of them).
    pub async fn relay(&self, batch: StreamEvent) -> DynamoDbEventResponse {
        let mut failed: Vec<String> = Vec::new();
        // (the record's sequence number, an event it tells), in the batch's order.
        let mut told: Vec<(String, InboxEvent)> = Vec::new();
        for record in &batch.records {
            let sequence = record.change.sequence_number.clone().unwrap_or_default();
            match events_of(record) {
                Ok(events) => told.extend(events.into_iter().map(|e| (sequence.clone(), e))),
                Err(e) => {
                    tracing::error!(error = %e, sequence = %sequence, "a stream record could not be read");
                    failed.push(sequence);
                }
            }
        }
        let now = chrono::Utc::now();
        let logged: Vec<LoggedEvent> = told
            .iter()
            .map(|(_, e)| {
                let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
                LoggedEvent { position: LoggedEvent::position_of(now, sequence, &e.id), event: e.clone() }
            })
            .collect();
        let refused: Vec<usize> = match self.log.append_events(&logged, now + self.retain).await {
            Err(e) => {
                tracing::error!(error = %e, "the log took nothing; the batch comes back");
                (0..told.len()).collect()
            }
            // What tells of a record erased since the write goes nowhere.
            Ok(gone) => {
                let sent: Vec<usize> = (0..told.len()).filter(|&i| !gone.contains(&told[i].1.id)).collect();
                let events: Vec<InboxEvent> = sent.iter().map(|&i| told[i].1.clone()).collect();
                let refused = self.bus.put(&events).await.unwrap_or_else(|e| {
                    tracing::error!(error = %e, "the event bus took nothing; the batch comes back");
                    (0..events.len()).collect()
                });
                refused.into_iter().map(|i| sent[i]).collect()
            }
        };
        crate::metrics::counts(&[], &[("EventsRelayed", told.len() - refused.len()), ("EventsRefused", refused.len())]);
        failed.extend(refused.into_iter().map(|i| told[i].0.clone()));
        let mut seen = std::collections::HashSet::new();
        let mut response = DynamoDbEventResponse::default();
        for sequence in failed.into_iter().filter(|s| seen.insert(s.clone())) {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(sequence);
            response.batch_item_failures.push(failure);
        }
        response
    }
}

/// What one record's write tells (inserts and changes; a removal tells nothing).
fn events_of(record: &EventRecord) -> Result<Vec<InboxEvent>, crate::ports::StoreError> {
    if !matches!(record.event_name.as_str(), "INSERT" | "MODIFY") {
        return Ok(Vec::new());
    }
    let change = &record.change;
    let sk = match change.keys.get("sk") {
        Some(serde_dynamo::AttributeValue::S(sk)) => sk.clone(),
        _ => return Ok(Vec::new()),
    };
    told_by_write(&sk, Some(change.old_image.clone()), change.new_image.clone())
}
