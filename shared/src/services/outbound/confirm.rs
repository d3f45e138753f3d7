//! Sends whose outcome is unknown. Meta's Send API has no idempotency key, so a send that
//! may have reached Meta (a timeout, a reset, any 5xx, a 2xx we could not read, a worker that
//! stopped mid-call) is never sent again before Meta's echo of it has been awaited: Meta
//! echoes every message an account sends (`is_echo`), and the echo that is beyond doubt this
//! send's (of any of its attempts) confirms it and gives it Meta's id. Checked again every `CHECK_EVERY` for
//! `SEND_CONFIRM_WAIT_SECS`. With no echo by then: after Meta's own "unexpected error", or a
//! worker that stopped before hearing anything (it may have died before the call), the send
//! is tried again; after an answer we could not read at all it ends FAILED with
//! `DELIVERY_UNCONFIRMED`, and the agent decides (`POST /api/integrations/jobs/:id/retry`, which
//! looks for a late echo first and sends nothing if one came).
//!
//! Beyond doubt: on Messenger the echo carries the job's name (the send's `metadata`); on
//! Instagram, which has no such field, the echo must have the same recipient and content,
//! come after the job was queued, and no other reply of ours waiting to go to that person may
//! say the same (else the check waits for the sends to settle).

use chrono::{DateTime, Duration, Utc};

use crate::domain::{
    Direction, IntegrationJob, JobError, JobStatus, Message, MessageStatus, PageRequest, UnclearAnswer,
};
use crate::error::{AppError, ErrorCode};
use crate::ports::QueueMessage;

use super::Outbound;
use super::delivery::{SendFailure, echo_metadata};
use super::jobs::JobOutcome;
use crate::domain::{SendAttempt, SendPayload};

/// How often an unconfirmed send looks for its echo.
const CHECK_EVERY: Duration = Duration::seconds(15);
/// An echo may carry a timestamp a little before our clock said the attempt started.
const CLOCK_SKEW: Duration = Duration::seconds(60);
/// Recent messages searched for the echo.
const ECHO_LOOKBACK: usize = 30;

impl Outbound {
    /// Confirms a send by its echo, or waits for it, or (with none in time) tries it again or
    /// gives up on it, by what Meta answered.
    pub(super) async fn confirm_send(&self, mut job: IntegrationJob, p: &SendPayload) -> Result<JobOutcome, AppError> {
        let (started, answer) = match job.attempt() {
            SendAttempt::InFlight { since, answer } => (since, answer),
            _ => (job.updated_at, None),
        };
        // The echo of any attempt of this job confirms it, not only of this one.
        if let Some(mid) = self.find_echo(&job, p, job.created_at).await? {
            tracing::info!(job = %job.id, "unconfirmed send confirmed by its echo");
            return self.succeed(job, p, &mid).await;
        }
        let now = self.now();
        let give_up_at = started + self.ports.config.limits.send_confirm_wait;
        if now >= give_up_at {
            return match answer {
                Some(UnclearAnswer::Unreadable) => {
                    let failure = SendFailure::permanent(
                        ErrorCode::DeliveryUnconfirmed,
                        "Meta did not confirm this send: it may or may not have reached the customer",
                    );
                    self.fail(job, Some(p), failure).await
                }
                // Meta's own error, or nothing heard: no echo by now means it was not sent.
                Some(UnclearAnswer::MetaError) | None => {
                    tracing::warn!(job = %job.id, ?answer, "no echo of the earlier attempt; it may be tried again");
                    job.attempt_not_made();
                    self.retry_or_fail(job, p, SendFailure::transient("Meta never echoed the earlier attempt")).await
                }
            };
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

    /// Meta's id of the echo of this send (of an attempt since `since`), if it has arrived and
    /// is beyond doubt this send's.
    pub(super) async fn find_echo(
        &self,
        job: &IntegrationJob,
        p: &SendPayload,
        started: DateTime<Utc>,
    ) -> Result<Option<String>, AppError> {
        let org = &job.organization_id;
        let recent =
            self.ports.messages.list_messages(org, &p.conversation_id, &PageRequest::first(ECHO_LOOKBACK)).await?;
        let ours = echo_metadata(&job.id);
        let echo = recent.data.iter().find(|m| match m.meta_json.get("metadata").and_then(|v| v.as_str()) {
            // Messenger names the job on its echo: that alone decides.
            Some(named) => named == ours && is_echo_of(m, p, started),
            None => is_echo_of(m, p, started),
        });
        let Some(echo) = echo else { return Ok(None) };
        let named = echo.meta_json.get("metadata").is_some();
        // Unnamed: another reply of ours to the same person saying the same leaves it in doubt.
        let twin = recent
            .data
            .iter()
            .any(|m| m.id != p.message_id && m.direction == Direction::Outbound && is_unsent(m) && same_content(m, p));
        if !named && twin {
            tracing::info!(job = %job.id, "an echo that another pending reply could own; waiting");
            return Ok(None);
        }
        Ok(echo.external_message_id.clone())
    }

    /// The `CONFIRM_ECHOES` job: an echo arrived in the conversation, so its sends that failed
    /// unconfirmed are confirmed now if it is theirs (SENT under Meta's id, the echo folded
    /// in): nobody resends a message the customer has. How many were.
    pub(in crate::services) async fn confirm_echoes(
        &self,
        org: &str,
        conversation_id: &str,
    ) -> Result<usize, AppError> {
        let recent =
            self.ports.messages.list_messages(org, conversation_id, &PageRequest::first(ECHO_LOOKBACK)).await?;
        let unconfirmed = recent.data.iter().filter(|m| {
            m.status == MessageStatus::Failed
                && m.error_code.as_deref() == Some(ErrorCode::DeliveryUnconfirmed.as_str())
        });
        let mut confirmed = 0;
        for message in unconfirmed {
            let Some(job_id) = message.meta_json.get("jobId").and_then(|j| j.as_str()) else { continue };
            let Some(job) = self.ports.jobs.get_job(org, job_id).await? else { continue };
            if job.status == JobStatus::Failed && self.confirmed_late(&job).await? {
                confirmed += 1;
            }
        }
        Ok(confirmed)
    }

    /// A send that failed unconfirmed may have been delivered after all: its echo came late.
    /// Confirmed then (the job succeeds, the message is SENT with Meta's id), so a retry sends
    /// nothing; whether it was.
    pub(super) async fn confirmed_late(&self, job: &IntegrationJob) -> Result<bool, AppError> {
        if !matches!(job.attempt(), SendAttempt::InFlight { .. }) {
            return Ok(false);
        }
        let Some(mid) = self.find_echo(job, &job.payload, job.created_at).await? else { return Ok(false) };
        tracing::info!(job = %job.id, "a failed send's echo came late: confirmed, not sent again");
        let p = job.payload.clone();
        self.finish_late(job.clone(), &p, &mid).await?;
        Ok(true)
    }
}

fn is_unsent(m: &Message) -> bool {
    m.status == MessageStatus::Queued
}

fn same_content(m: &Message, p: &SendPayload) -> bool {
    match &p.attachment {
        Some(a) => m.attachments.first().and_then(|x| x.get("type")).and_then(|t| t.as_str()) == Some(a.kind.as_str()),
        None => m.text.as_deref() == Some(p.text.as_str()),
    }
}

/// Whether `m` is an echo that may be Meta's echo of the send `p` started at `started`.
fn is_echo_of(m: &Message, p: &SendPayload, started: DateTime<Utc>) -> bool {
    m.id != p.message_id
        && m.direction == Direction::Outbound
        && m.meta_json.get("isEcho") == Some(&serde_json::Value::Bool(true))
        && m.external_message_id.is_some()
        && m.to == p.recipient_id
        && m.created_at >= started - CLOCK_SKEW
        && same_content(m, p)
}
