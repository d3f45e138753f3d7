//! Lambda entry points that are not HTTP: the SQS job processor and the scheduled token
//! refresh. Each binary under `functions/` calls one of these (or `runtime::run_http_lambda`).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

use crate::error::AppError;
use crate::ports::QueueMessage;
use crate::services::Core;

/// Handles a batch of queue messages, all at once (one slow tenant does not hold the
/// others), each stopped at `deadline`. Only the ones that should be delivered again are
/// reported (`batchItemFailures`): the rest are done, whatever their job's outcome. A message
/// stopped mid-send is safe to deliver again: its attempt was recorded before Meta was
/// called, so it is confirmed, not resent. An unreadable message is reported too, so after
/// `maxReceiveCount` it lands in the dead-letter queue instead of vanishing.
pub async fn process_sqs_batch(core: &Core, event: SqsEvent, deadline: std::time::Instant) -> SqsBatchResponse {
    let handled = futures_util::future::join_all(event.records.into_iter().map(|record| async move {
        let id = record.message_id.clone().unwrap_or_default();
        let work = async {
            match record.body.as_deref().map(serde_json::from_str::<QueueMessage>) {
                Some(Ok(message)) => core.process_until(&message, deadline).await.map(|outcome| {
                    tracing::info!(message_id = %id, ?outcome, "job message handled");
                }),
                Some(Err(e)) => Err(AppError::validation(format!("unreadable queue message: {e}"))),
                None => Err(AppError::validation("queue message without a body")),
            }
        };
        let deadline = tokio::time::Instant::from_std(deadline);
        let handled = tokio::time::timeout_at(deadline, work)
            .await
            .unwrap_or_else(|_| Err(AppError::unavailable("stopped at the function's deadline")));
        (id, handled)
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (id, handled) in handled {
        if let Err(e) = handled {
            tracing::error!(message_id = %id, error = %e, "job message will be delivered again");
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
        let deadline = std::time::Instant::now() + crate::runtime::time_to_work(&event.context);
        async move { Ok::<_, Error>(process_sqs_batch(&core, event.payload, deadline).await) }
    }))
    .await
}

/// The schedule's work: refresh expiring tokens, and queue again any job whose queue message
/// was lost. The event (EventBridge Scheduler or a rule) carries nothing we need.
pub async fn scheduled_maintenance(core: &Core) -> Result<Value, Error> {
    let report = core.refresh_due_tokens().await?;
    let requeued = core.requeue_stranded_jobs().await?;
    let mut answer = serde_json::to_value(report)?;
    answer["jobsRequeued"] = requeued.into();
    Ok(answer)
}

pub async fn run_token_refresh() -> Result<(), Error> {
    // `fb_exchange_token` authenticates with the app secret.
    let core = crate::runtime::lambda_core(&["META_APP_SECRET"]).await?;
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| {
        let core = core.clone();
        async move { scheduled_maintenance(&core).await }
    }))
    .await
}
