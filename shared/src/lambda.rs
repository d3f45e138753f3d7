//! Lambda entry points that are not HTTP: the SQS job processor and the scheduled token
//! refresh. Each binary under `functions/` calls one of these (or `runtime::run_http_lambda`).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

use crate::services::Core;
use crate::worker;

/// Handles a batch of queue messages, all at once (one slow tenant does not hold the
/// others), each stopped at `deadline` (see `worker::handle_delivery`). Only the ones that
/// should be delivered again are reported (`batchItemFailures`).
pub async fn process_sqs_batch(core: &Core, event: SqsEvent, deadline: std::time::Instant) -> SqsBatchResponse {
    record_queue_age(&event);
    let handled = futures_util::future::join_all(event.records.into_iter().map(|record| async move {
        let id = record.message_id.clone().unwrap_or_default();
        let correlation =
            record.message_attributes.get(crate::correlation::ATTRIBUTE).and_then(|a| a.string_value.clone());
        let handled = worker::handle_delivery(core, &id, record.body.as_deref(), correlation, deadline).await;
        (id, handled)
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (id, handled) in handled {
        if handled.is_err() {
            response.add_failure(id);
        }
    }
    response
}

pub async fn run_job_processor() -> Result<(), Error> {
    // Sends use the stored (KMS-encrypted) tokens: no app secret needed.
    let core = crate::runtime::lambda_core(&[]).await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let core = core.clone();
        let deadline = std::time::Instant::now() + crate::deadline::time_to_work(&event.context);
        async move { Ok::<_, Error>(process_sqs_batch(&core, event.payload, deadline).await) }
    }))
    .await
}

pub async fn run_token_refresh() -> Result<(), Error> {
    // `fb_exchange_token` authenticates with the app secret.
    let core = crate::runtime::lambda_core(&["META_APP_SECRET"]).await?;
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| {
        let core = core.clone();
        async move { Ok::<_, Error>(worker::scheduled_maintenance(&core).await?) }
    }))
    .await
}

/// How long the batch's oldest record waited on the queue (SQS's `SentTimestamp`), as a metric.
fn record_queue_age(event: &SqsEvent) {
    let now = chrono::Utc::now().timestamp_millis();
    let sent = event.records.iter().filter_map(|r| r.attributes.get("SentTimestamp")?.parse::<i64>().ok());
    if let Some(oldest) = sent.min() {
        let age = (now - oldest).max(0) as f64;
        crate::metrics::emit(&[], &[("QueueAge", age, crate::metrics::Unit::Milliseconds)]);
    }
}
