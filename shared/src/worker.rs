//! Queued work and the schedule, run the same way by the Lambda functions and by the local
//! server: one rule for what a delivery of a queue message means, one maintenance run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tracing::Instrument;

use crate::domain::JobType;
use crate::error::AppError;
use crate::metrics;
use crate::ports::{LocalQueue, QueueMessage};
use crate::services::{JobOutcome, Services};

/// How long one delivery may run when nothing else bounds it (the local server): a
/// Lambda's own deadline is shorter.
const LOCAL_DELIVERY_BUDGET: Duration = Duration::from_secs(60);

/// One delivery of a queue message `body`, stopped at `deadline`. `Ok`: done, whatever its
/// job's outcome (delete it). `Err`: deliver it again. A message stopped mid-send is safe to
/// deliver again: its attempt was recorded before Meta was called, so it is confirmed, not
/// resent. An unreadable message is an error too, so after `maxReceiveCount` it lands in the
/// dead-letter queue instead of vanishing.
pub async fn handle_delivery(
    services: &Services,
    id: &str,
    body: Option<&str>,
    correlation: Option<String>,
    deadline: Instant,
) -> Result<(), AppError> {
    handle_read(services, id, read_delivery(body), correlation, deadline).await
}

/// A delivery's body read as a queue message (once: the batch groups by it too).
pub fn read_delivery(body: Option<&str>) -> Result<QueueMessage, AppError> {
    match body.map(serde_json::from_str::<QueueMessage>) {
        Some(Ok(message)) => Ok(message),
        Some(Err(e)) => Err(AppError::validation(format!("unreadable queue message: {e}"))),
        None => Err(AppError::validation("queue message without a body")),
    }
}

/// `handle_delivery` for a body already read (`read_delivery`).
pub async fn handle_read(
    services: &Services,
    id: &str,
    read: Result<QueueMessage, AppError>,
    correlation: Option<String>,
    deadline: Instant,
) -> Result<(), AppError> {
    let handled = async move { handle_message(services, id, &read?, deadline).await };
    crate::correlation::scope(correlation, handled).await
}

/// `handle_delivery` for a message already parsed (the in-process queue holds them so).
pub async fn handle_message(
    services: &Services,
    id: &str,
    message: &QueueMessage,
    deadline: Instant,
) -> Result<(), AppError> {
    let correlation_id = crate::correlation::current().unwrap_or_default();
    let span =
        tracing::info_span!("job", message_id = %id, kind = ?message.job_type(), correlation_id = %correlation_id);
    let work = services.process_until(message, deadline).instrument(span);
    let handled = tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), work)
        .await
        .unwrap_or_else(|_| Err(AppError::unavailable("stopped at the deadline")));
    record(message.job_type(), &handled);
    match handled {
        Ok(outcome) => {
            tracing::info!(message_id = %id, %correlation_id, ?outcome, "job message handled");
            Ok(())
        }
        Err(e) => {
            tracing::error!(message_id = %id, %correlation_id, error = %e, "job message will be delivered again");
            Err(e)
        }
    }
}

/// A handled message as metrics: by kind and outcome; a send that failed for good by its
/// error code; a send queued again.
fn record(job_type: JobType, handled: &Result<JobOutcome, AppError>) {
    let outcome = match handled {
        Ok(JobOutcome::Succeeded) => "Succeeded",
        Ok(JobOutcome::Retrying { .. }) => "Retrying",
        Ok(JobOutcome::Failed(_)) => "Failed",
        Ok(JobOutcome::AwaitingConfirmation { .. }) => "AwaitingConfirmation",
        Ok(JobOutcome::Skipped) => "Skipped",
        Err(_) => "Redelivered",
    };
    let kind = format!("{job_type:?}");
    metrics::counts(&[("JobType", &kind), ("Outcome", outcome)], &[("JobsHandled", 1)]);
    match handled {
        Ok(JobOutcome::Failed(code)) => metrics::counts(&[("ErrorCode", code.as_str())], &[("SendsFailed", 1)]),
        Ok(JobOutcome::Retrying { .. }) => metrics::counts(&[], &[("SendRetries", 1)]),
        _ => {}
    }
}

/// The schedule's work: refresh expiring tokens, queue again any job whose queue message was
/// lost, queue the reconciliation sweep of every active account (and any stranded history
/// import), and erase the conversations past their organization's retention. The event (EventBridge Scheduler or a rule) carries nothing we need.
pub async fn scheduled_maintenance(services: &Services) -> Result<Value, AppError> {
    let report = services.accounts.refresh_due_tokens().await?;
    let requeued = services.outbound.requeue_stranded_jobs().await?;
    let round = services.inbound.queue_sweeps().await?;
    let retention = services.inbox.enforce_retention().await?;
    metrics::counts(
        &[],
        &[
            ("TokensDue", report.due),
            ("TokensRefreshed", report.refreshed),
            ("TokenRefreshFailed", report.failed),
            ("TokensReauthRequired", report.reauth_required),
            ("JobsRequeued", requeued),
            ("SweepsQueued", round.sweeps_queued),
            ("HistoryImportsResumed", round.imports_resumed),
            ("ConversationsExpired", retention.conversations_expired),
        ],
    );
    let mut answer = serde_json::to_value(report).map_err(|e| AppError::internal(e.to_string()))?;
    answer["jobsRequeued"] = requeued.into();
    answer["sweepsQueued"] = round.sweeps_queued.into();
    answer["historyImportsResumed"] = round.imports_resumed.into();
    answer["conversationsExpired"] = retention.conversations_expired.into();
    Ok(answer)
}

/// The local server's schedule: `scheduled_maintenance` at start, then every `every`, as the
/// scheduled function does in AWS.
pub async fn run_schedule(services: Services, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        if let Err(e) = scheduled_maintenance(&services).await {
            tracing::error!(error = %e, "maintenance run failed; trying again at the next tick");
        }
    }
}

/// Consumes a queue drained in this process (the local server's, in memory or in SQLite):
/// runs every due message, then sleeps until the next one is due or something is enqueued.
/// A failed delivery comes back 30 s later, as SQS would.
pub async fn run_local_worker(services: Services, queue: Arc<dyn LocalQueue>) {
    loop {
        let due = queue.take_due().await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "reading the local jobs queue failed");
            Vec::new()
        });
        for d in due {
            let deadline = Instant::now() + LOCAL_DELIVERY_BUDGET;
            let handled = handle_delivery(&services, &d.id, Some(&d.body), d.correlation.clone(), deadline).await;
            if let Err(e) = queue.settle(&d, handled.is_ok(), chrono::Duration::seconds(30)).await {
                tracing::error!(error = %e, "settling a local job message failed; it comes back after its lease");
            }
        }
        let next = queue.next_due_at().await.ok().flatten();
        let wait = next
            .map(|due| (due - chrono::Utc::now()).to_std().unwrap_or_default())
            .unwrap_or(Duration::from_secs(60))
            .min(Duration::from_secs(60));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = queue.wakeup().notified() => {}
        }
    }
}

/// Consumes an SQS jobs queue from the local server, as the job-processor function's event
/// source does in AWS: long-polls, handles each delivery, deletes what was handled (a failure
/// reappears after the visibility timeout, then goes to the dead-letter queue). `sdk`: the
/// start-up's AWS configuration.
pub async fn run_sqs_worker(services: Services, queue_url: String, sdk: aws_config::SdkConfig) {
    // Long polls wait up to 10 s: this client alone may take longer than the default bound.
    let long_polls = aws_config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(Duration::from_secs(15))
        .operation_timeout(Duration::from_secs(30))
        .build();
    let client =
        aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(&sdk).timeout_config(long_polls).build());
    loop {
        let received = client
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(10)
            .message_attribute_names(crate::correlation::ATTRIBUTE)
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::error!(error = ?e, "receiving from the jobs queue failed");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        for m in messages {
            let id = m.message_id().unwrap_or_default();
            let correlation =
                m.message_attributes().and_then(|a| a.get(crate::correlation::ATTRIBUTE)?.string_value.clone());
            let handled =
                handle_delivery(&services, id, m.body(), correlation, Instant::now() + LOCAL_DELIVERY_BUDGET).await;
            if let (Ok(()), Some(receipt)) = (handled, m.receipt_handle()) {
                let _ = client.delete_message().queue_url(&queue_url).receipt_handle(receipt).send().await;
            }
        }
    }
}
