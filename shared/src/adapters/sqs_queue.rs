//! The jobs queues on SQS: one per lane (`ports::QueueLane`), the jobs queue serving every
//! lane without its own. Delays use `DelaySeconds` (at most 15 minutes; the processor
//! queues a job again when it arrives before its time). Redelivery, and the dead-letter
//! queue after `maxReceiveCount`, are each queue's redrive policy (template.yaml).

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::MessageAttributeValue;
use chrono::Duration;

use crate::ports::{JobQueue, QueueError, QueueLane, QueueMessage};

pub const MAX_DELAY_SECONDS: i64 = 900;

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
    webhooks_url: Option<String>,
    enrichment_url: Option<String>,
}

impl SqsQueue {
    /// One queue for every lane.
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        SqsQueue { client, queue_url: queue_url.into(), webhooks_url: None, enrichment_url: None }
    }

    /// Webhook items and replays, and enrichment, on queues of their own when given.
    pub fn with_lanes(self, webhooks_url: Option<String>, enrichment_url: Option<String>) -> Self {
        SqsQueue { webhooks_url, enrichment_url, ..self }
    }

    /// The queue `lane`'s messages go to.
    pub fn url_of(&self, lane: QueueLane) -> &str {
        let own = match lane {
            QueueLane::Sends => None,
            QueueLane::Webhooks => self.webhooks_url.as_deref(),
            QueueLane::Enrichment => self.enrichment_url.as_deref(),
        };
        own.unwrap_or(&self.queue_url)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// SQS's delay for a wanted one: whole seconds, rounded up, capped at 15 minutes.
pub fn delay_seconds(delay: Duration) -> i32 {
    let secs = (delay.num_milliseconds().max(0) + 999) / 1000;
    secs.min(MAX_DELAY_SECONDS) as i32
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn enqueue(&self, message: &QueueMessage, delay: Duration) -> Result<(), QueueError> {
        let body = serde_json::to_string(message).map_err(|e| QueueError(e.to_string()))?;
        let mut send = self
            .client
            .send_message()
            .queue_url(self.url_of(message.lane()))
            .message_body(body)
            .delay_seconds(delay_seconds(delay));
        if let Some(id) = crate::correlation::current() {
            let attribute = MessageAttributeValue::builder().data_type("String").string_value(id).build();
            send = send
                .message_attributes(crate::correlation::ATTRIBUTE, attribute.map_err(|e| QueueError(e.to_string()))?);
        }
        send.send()
            .await
            .map_err(|e| QueueError(e.message().map(str::to_owned).unwrap_or_else(|| format!("{e:?}"))))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_round_up_to_seconds_and_stop_at_fifteen_minutes() {
        assert_eq!(delay_seconds(Duration::milliseconds(1250)), 2);
        assert_eq!(delay_seconds(Duration::zero()), 0);
        assert_eq!(delay_seconds(Duration::minutes(30)), 900);
    }
}
