//! All the Lambda glue: each binary under `functions/` calls one entry point here (the HTTP
//! Router as an API Gateway function, the SQS job processor, the scheduled token refresh, the
//! table's stream relayed to the event bus),
//! and every one starts the same way (`lambda_services`).

use std::collections::BTreeMap;

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures_util::StreamExt;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

use crate::error::AppError;
use crate::ports::QueueMessage;
use crate::relay::Relay;
use crate::services::Services;
use crate::worker;

/// A record's body, read as a queue message.
type Read = Result<QueueMessage, AppError>;

/// At most this many records of one tenant run at once in a batch: a tenant's burst takes
/// turns while the other tenants' records run beside it.
pub const PER_TENANT_IN_BATCH: usize = 2;

/// Handles a batch of queue messages at once (one slow tenant does not hold the others), at
/// most `PER_TENANT_IN_BATCH` of one tenant at a time, each stopped at `deadline` (see
/// `worker::handle_delivery`). Only the ones that should be delivered again are reported
/// (`batchItemFailures`).
pub async fn process_sqs_batch(services: &Services, event: SqsEvent, deadline: std::time::Instant) -> SqsBatchResponse {
    record_queue_age(&event);
    // Each body read once: grouped by its tenant, then handled as read.
    let mut by_tenant: BTreeMap<String, Vec<(SqsMessage, Read)>> = BTreeMap::new();
    for record in event.records {
        let read = worker::read_delivery(record.body.as_deref());
        let tenant = read.as_ref().map(|m| m.tenant().to_owned()).unwrap_or_default();
        by_tenant.entry(tenant).or_default().push((record, read));
    }
    let tenants = by_tenant.into_values().map(|records| {
        futures_util::stream::iter(records)
            .map(|(record, read)| async move {
                let id = record.message_id.clone().unwrap_or_default();
                let correlation =
                    record.message_attributes.get(crate::correlation::ATTRIBUTE).and_then(|a| a.string_value.clone());
                let handled = worker::handle_read(services, &id, read, correlation, deadline).await;
                (id, handled)
            })
            .buffer_unordered(PER_TENANT_IN_BATCH)
            .collect::<Vec<_>>()
    });
    let mut response = SqsBatchResponse::default();
    for (id, handled) in futures_util::future::join_all(tenants).await.into_iter().flatten() {
        if handled.is_err() {
            response.add_failure(id);
        }
    }
    response
}

pub async fn run_job_processor() -> Result<(), Error> {
    // Sends use the stored (KMS-encrypted) tokens: no app secret needed.
    let services = lambda_services(&[]).await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let services = services.clone();
        let deadline = std::time::Instant::now() + crate::deadline::time_to_work(&event.context);
        async move { Ok::<_, Error>(process_sqs_batch(&services, event.payload, deadline).await) }
    }))
    .await
}

/// The table's stream into the log and onto the event bus (`EVENT_BUS_NAME`, empty for none;
/// `relay::Relay`): a record not logged or not taken by the bus is reported, so Lambda
/// retries from it and, after its retries, sends it to the relay's failure queue.
pub async fn run_event_relay() -> Result<(), Error> {
    use crate::adapters::eventbridge::{EventBridgeBus, NoBus};
    use crate::ports::EventBus;
    crate::logging::init_tracing(true);
    crate::metrics::enable();
    // Set by the template, empty when it publishes no events (`PublishEvents=false`).
    let bus_name = std::env::var("EVENT_BUS_NAME").map_err(|_| "EVENT_BUS_NAME is required (empty: no bus)")?;
    // The same limits as every function (EVENT_RETENTION_HOURS, refused when not a number); no secret.
    let config =
        crate::config::Config::from_lookup_needing(crate::config::AppEnv::Production, &[], |k| std::env::var(k).ok())?;
    let table = config.table_name.as_deref().ok_or("TABLE_NAME is required")?;
    let sdk = crate::runtime::lambda_aws_config();
    let bus: std::sync::Arc<dyn EventBus> = match bus_name.as_str() {
        "" => {
            tracing::info!("EVENT_BUS_NAME is empty: events go to the log only");
            std::sync::Arc::new(NoBus)
        }
        name => std::sync::Arc::new(EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&sdk), name)),
    };
    let log = crate::runtime::dynamo_store(&config, table, &sdk);
    let relay = std::sync::Arc::new(Relay::new(log, bus, config.limits.event_retention));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<StreamEvent>| {
        let relay = relay.clone();
        async move { Ok::<_, Error>(relay.relay(event.payload).await) }
    }))
    .await
}

pub async fn run_token_refresh() -> Result<(), Error> {
    // `fb_exchange_token` authenticates with the app secret.
    let services = lambda_services(&["META_APP_SECRET"]).await?;
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| {
        let services = services.clone();
        async move { Ok::<_, Error>(worker::scheduled_maintenance(&services).await?) }
    }))
    .await
}

/// Runs the HTTP Router as an API Gateway Lambda function (webhook, inbox API): production
/// environment unless `APP_ENV` says otherwise, adapters built once for every invocation.
/// `needs`: the secrets the function uses (see `lambda_services`); `routes`: its Router.
pub async fn run_http_lambda(
    needs: &[&'static str],
    routes: fn(Services) -> axum::Router,
) -> Result<(), lambda_http::Error> {
    let services = lambda_services(needs).await?;
    lambda_http::run(routes(services)).await
}

/// The services of a Lambda function, on the AWS adapters alone (`runtime::assemble_on_aws`:
/// a missing `TABLE_NAME` or `JOBS_QUEUE_URL` stops the function at start-up). `needs` are the
/// secret variables this function uses (each may come from SSM through `<NAME>_PARAM`); it
/// refuses to start without them.
pub async fn lambda_services(needs: &[&'static str]) -> anyhow::Result<Services> {
    crate::logging::init_tracing(true);
    crate::metrics::enable();
    let from_env = || std::future::ready(crate::runtime::lambda_aws_config());
    let (config, sdk) = crate::secrets::load_config(crate::config::AppEnv::Production, needs, from_env).await?;
    // Development routes webhooks by a header and has a fallback account: never in Lambda.
    if config.is_development() {
        anyhow::bail!("APP_ENV=development (or NODE_ENV) cannot run in Lambda; it is for the local server");
    }
    let sdk = sdk.unwrap_or_else(crate::runtime::lambda_aws_config);
    Ok(crate::runtime::assemble_on_aws(config, sdk)?.services)
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
