//! Sends whose outcome is unknown. Meta's Send API has no idempotency key, so a send that
//! may have reached Meta (a timeout, a reset, a 5xx, a 2xx we could not read, a worker that
//! died mid-call) is never sent again: Meta echoes every message an account sends
//! (`is_echo`), so the echo that matches it (same conversation and recipient, same content,
//! after the attempt started) confirms it and gives it Meta's id. Checked again every
//! `CHECK_EVERY`; with no echo after `SEND_CONFIRM_WAIT_SECS` the send ends FAILED with
//! `DELIVERY_UNCONFIRMED`: the agent sees it and can resend it with one call
//! (`POST /api/integrations/jobs/:id/retry`), knowingly.

use chrono::Duration;

use crate::domain::{Direction, IntegrationJob, JobError, Message, PageRequest};
use crate::error::{AppError, ErrorCode};
use crate::ports::QueueMessage;

use super::Outbound;
use super::delivery::SendFailure;
use super::jobs::JobOutcome;
use crate::domain::{SendAttempt, SendPayload};

/// How often an unconfirmed send looks for its echo.
const CHECK_EVERY: Duration = Duration::seconds(15);
/// An echo may carry a timestamp a little before our clock said the attempt started.
const CLOCK_SKEW: Duration = Duration::seconds(60);
/// Recent messages searched for the echo.
const ECHO_LOOKBACK: usize = 30;

impl Outbound {
    /// Confirms a send by its echo, or waits for it, or gives up on it without resending.
    pub(super) async fn confirm_send(&self, mut job: IntegrationJob, p: &SendPayload) -> Result<JobOutcome, AppError> {
        let started = match job.attempt() {
            SendAttempt::InFlight { since } => since,
            _ => job.updated_at,
        };
        if let Some(mid) = self.find_echo(&job.organization_id, p, started).await? {
            tracing::info!(job = %job.id, "unconfirmed send confirmed by its echo");
            return self.succeed(job, p, &mid).await;
        }
        let now = self.now();
        let give_up_at = started + self.ports.config.limits.send_confirm_wait;
        if now >= give_up_at {
            let failure = SendFailure::permanent(
                ErrorCode::DeliveryUnconfirmed,
                "Meta did not confirm this send: it may or may not have reached the customer",
            );
            return self.fail(job, Some(p), failure).await;
        }
        let delay = CHECK_EVERY.min(give_up_at - now);
        let waiting = JobError {
            code: ErrorCode::DeliveryUnconfirmed.as_str().to_owned(),
            message: "waiting for Meta's echo to confirm the send".to_owned(),
        };
        job.wait_until(now + delay, waiting, now);
        if !self.save_claimed(&job).await? {
            return Ok(JobOutcome::Skipped);
        }
        let msg = QueueMessage::send(&job.organization_id, &job.id);
        self.ports.queue.enqueue(&msg, delay).await.map_err(AppError::unavailable)?;
        Ok(JobOutcome::AwaitingConfirmation { delay })
    }

    /// Meta's id of the echo of this send, if it has arrived.
    async fn find_echo(
        &self,
        org: &str,
        p: &SendPayload,
        started: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, AppError> {
        let recent =
            self.ports.messages.list_messages(org, &p.conversation_id, &PageRequest::first(ECHO_LOOKBACK)).await?;
        Ok(recent.data.into_iter().find(|m| is_echo_of(m, p, started)).and_then(|m| m.external_message_id))
    }
}

/// Whether `m` is Meta's echo of the send `p` started at `started`.
fn is_echo_of(m: &Message, p: &SendPayload, started: chrono::DateTime<chrono::Utc>) -> bool {
    let same_content = match &p.attachment {
        Some(a) => m.attachments.first().and_then(|x| x.get("type")).and_then(|t| t.as_str()) == Some(a.kind.as_str()),
        None => m.text.as_deref() == Some(p.text.as_str()),
    };
    m.id != p.message_id
        && m.direction == Direction::Outbound
        && m.meta_json.get("isEcho") == Some(&serde_json::Value::Bool(true))
        && m.external_message_id.is_some()
        && m.to == p.recipient_id
        && m.created_at >= started - CLOCK_SKEW
        && same_content
}
