//! Amazon EventBridge as the event bus: `PutEvents`, ten entries a call (its limit), each an
//! inbox event (`source` `unified-inbox`, `detail-type` the event's type, `detail` its JSON).
//! Or no bus at all (`NoBus`: the template's `PublishEvents=false`).

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::domain::InboxEvent;
use crate::ports::{BusError, EventBus};

/// What every event's `source` is: a rule matches the inbox's events by it.
pub const SOURCE: &str = "unified-inbox";
/// `PutEvents` takes at most this many entries.
const PER_CALL: usize = 10;

/// The relay's bus when the deployment publishes none (`EVENT_BUS_NAME` empty): every event
/// taken, none sent. The events still go to each organization's log (the live stream).
pub struct NoBus;

#[async_trait]
impl EventBus for NoBus {
    async fn put(&self, _events: &[InboxEvent]) -> Result<Vec<usize>, BusError> {
        Ok(Vec::new())
    }
}

pub struct EventBridgeBus {
    client: Client,
    bus: String,
}

impl EventBridgeBus {
    pub fn new(client: Client, bus: &str) -> Self {
        EventBridgeBus { client, bus: bus.to_owned() }
    }

    fn entry(&self, e: &InboxEvent) -> Result<PutEventsRequestEntry, BusError> {
        let detail = serde_json::to_string(e).map_err(|e| BusError(e.to_string()))?;
        Ok(PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(SOURCE)
            .detail_type(e.kind.as_str())
            .detail(detail)
            .time(aws_sdk_eventbridge::primitives::DateTime::from_millis(e.at.timestamp_millis()))
            .build())
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn put(&self, events: &[InboxEvent]) -> Result<Vec<usize>, BusError> {
        let mut refused = Vec::new();
        for (chunk_at, chunk) in events.chunks(PER_CALL).enumerate() {
            let entries = chunk.iter().map(|e| self.entry(e)).collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| BusError(format!("{e:?}")))?;
            // Each answer entry is its request entry's; one with an error code was not taken.
            for (i, answer) in out.entries().iter().enumerate() {
                if answer.error_code().is_some() {
                    refused.push(chunk_at * PER_CALL + i);
                }
            }
        }
        Ok(refused)
    }
}
