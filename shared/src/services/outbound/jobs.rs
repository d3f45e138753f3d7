//! The job processor: sends queued replies through the Graph API, retries what may succeed
//! later, and fails the rest at once with a stable code.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use crate::domain::{AccountStatus, Activity, Direction, IntegrationJob, JobError, JobExpectation, JobStatus};
use crate::error::{AppError, ErrorCode};
use crate::meta::graph_errors::FailureClass;
use crate::ports::{MarkSent, QueueMessage};

use super::Outbound;
use super::delivery::SendFailure;
use crate::domain::{SendAttempt, SendPayload};
use crate::services::backoff::retry_delay;

/// A job open this long past its time lost its queue message (a queue write that failed, a
/// worker that died): the sweep queues it again. Duplicates are harmless (claims).
const STRANDED_AFTER: Duration = Duration::minutes(2);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Succeeded,
    /// Failed for now; queued again with this delay.
    Retrying {
        delay: Duration,
    },
    Failed(ErrorCode),
    /// Meta's answer was lost (timeout, 5xx, unreadable 2xx): not sent again, but checked
    /// again after this delay for Meta's echo of it.
    AwaitingConfirmation {
        delay: Duration,
    },
    /// Nothing to do: already done, taken by another worker, or not yet due (re-queued).
    Skipped,
}

impl Outbound {
    /// The `SEND_MESSAGE` job: one attempt at the send, or the confirmation of an earlier
    /// one that may have reached Meta.
    pub(in crate::services) async fn run_send_job(&self, org: &str, job_id: &str) -> Result<JobOutcome, AppError> {
        let now = self.now();
        let claim = crate::domain::new_id("claim");
        let Some(mut job) =
            self.ports.jobs.claim_job(org, job_id, now, now + self.ports.config.limits.job_lease, &claim).await?
        else {
            return self.not_claimed(org, job_id, now).await;
        };
        let payload = job.payload.clone();
        // An earlier attempt reached Meta, or may have: finish or confirm it, never send again.
        match job.attempt() {
            SendAttempt::Sent { mid } => {
                let mid = mid.to_owned();
                return self.succeed(job, &payload, &mid).await;
            }
            SendAttempt::InFlight { .. } => {
                job.attempts = job.attempts.saturating_sub(1); // a check, not another attempt
                return self.confirm_send(job, &payload).await;
            }
            SendAttempt::NotStarted => {}
        }
        // A job whose workers keep dying before Meta is called ends here.
        if job.attempts > self.ports.config.limits.job_max_attempts {
            let failure = SendFailure::permanent(ErrorCode::SendAttemptsExhausted, "no attempt finished");
            return self.fail(job, Some(&payload), failure).await;
        }
        // A retry: an earlier attempt's echo that came late means Meta sent it after all.
        if job.attempts > 1
            && let Some(mid) = self.find_echo(&job, &payload, job.created_at).await?
        {
            tracing::info!(job = %job.id, "an earlier attempt's echo came late: confirmed, not sent again");
            return self.succeed(job, &payload, &mid).await;
        }
        job.start_attempt(now);
        if !self.save_claimed(&job).await? {
            return Ok(JobOutcome::Skipped);
        }
        match self.deliver(org, &job.id, &payload).await {
            // If the bookkeeping fails from here, the next claim finds the attempt in flight
            // and confirms the send by its echo instead of sending it again.
            Ok(sent) => self.succeed(job, &payload, &sent.message_id).await,
            Err(SendFailure { unclear: Some(answer), message, .. }) => {
                tracing::warn!(job = %job.id, error = %message, "send outcome unknown; confirming by echo");
                job.answered_unclearly(answer);
                self.confirm_send(job, &payload).await
            }
            Err(failure) if failure.paced => {
                // Not tried: the account waits out Meta's usage; no attempt is spent on it.
                job.attempt_not_made();
                job.attempts = job.attempts.saturating_sub(1);
                self.retry(job, failure).await
            }
            Err(failure) => {
                job.attempt_not_made(); // Meta answered: nothing was sent
                self.retry_or_fail(job, &payload, failure).await
            }
        }
    }

    /// Another attempt later if the failure may pass and the job has attempts and time left;
    /// else failed for good.
    pub(super) async fn retry_or_fail(
        &self,
        job: IntegrationJob,
        p: &SendPayload,
        failure: SendFailure,
    ) -> Result<JobOutcome, AppError> {
        let limits = &self.ports.config.limits;
        let young = self.now() - job.created_at < limits.job_max_age;
        match failure.class {
            FailureClass::Transient | FailureClass::Throttled if job.attempts < limits.job_max_attempts && young => {
                self.retry(job, failure).await
            }
            _ => self.fail(job, Some(p), failure).await,
        }
    }

    /// Writes the job if this worker still holds its claim; false when a newer claim took it.
    pub(super) async fn save_claimed(&self, job: &IntegrationJob) -> Result<bool, AppError> {
        let claim = job.claim_id.as_deref().unwrap_or_default();
        let saved = self.ports.jobs.replace_job(job, crate::domain::JobExpectation::ClaimedBy(claim)).await?;
        if !saved {
            tracing::warn!(job = %job.id, "claim lost to a newer worker; its state is kept");
        }
        Ok(saved)
    }

    /// A job that could not be claimed: finished (nothing to do), delivered before its time
    /// (SQS delays stop at 15 minutes), or claimed by a worker that may have died. The last
    /// two are queued again for when they can be claimed, so no job is left behind.
    async fn not_claimed(&self, org: &str, job_id: &str, now: DateTime<Utc>) -> Result<JobOutcome, AppError> {
        let Some(job) = self.ports.jobs.get_job(org, job_id).await? else { return Ok(JobOutcome::Skipped) };
        let claimable_at = match job.status {
            JobStatus::Pending => job.next_attempt_at,
            JobStatus::Processing => job.lease_expires_at,
            JobStatus::Succeeded | JobStatus::Failed => None,
        };
        if let Some(at) = claimable_at.filter(|at| *at > now) {
            let msg = QueueMessage::send(org, job_id);
            self.ports.queue.enqueue(&msg, at - now).await.map_err(AppError::unavailable)?;
        }
        Ok(JobOutcome::Skipped)
    }

    pub(super) async fn succeed(
        &self,
        mut job: IntegrationJob,
        p: &SendPayload,
        mid: &str,
    ) -> Result<JobOutcome, AppError> {
        let org = job.organization_id.clone();
        let now = self.now();
        // Meta's id on the job first: whatever fails after, the next claim finishes the job
        // instead of confirming (or worse, repeating) a send Meta took.
        if !matches!(job.attempt(), SendAttempt::Sent { .. }) {
            job.record_sent(mid);
            // The store's client retries a blip itself; past that, the next claim finds the
            // attempt in flight and confirms it by Meta's echo.
            if !self.save_claimed(&job).await? {
                return Ok(JobOutcome::Skipped);
            }
        }
        self.show_sent(&org, p, mid, now).await?;
        job.succeed(mid, now);
        self.save_claimed(&job).await?;
        Ok(JobOutcome::Succeeded)
    }

    /// `succeed` for a job that had failed unconfirmed and whose echo came late: no claim on
    /// it, so written only if it is still the failed one (else 409: something else took it).
    pub(super) async fn finish_late(
        &self,
        mut job: IntegrationJob,
        p: &SendPayload,
        mid: &str,
    ) -> Result<(), AppError> {
        let now = self.now();
        job.succeed(mid, now);
        if !self.ports.jobs.replace_job(&job, JobExpectation::Status(JobStatus::Failed)).await? {
            return Err(AppError::new(ErrorCode::Conflict, "the job is no longer failed"));
        }
        self.show_sent(&job.organization_id, p, mid, now).await
    }

    /// What the inbox shows of a sent reply: Meta's id on the message (SENT), and the
    /// conversation's latest activity.
    async fn show_sent(&self, org: &str, p: &SendPayload, mid: &str, now: DateTime<Utc>) -> Result<(), AppError> {
        self.record_sent(org, &p.message_id, mid, now).await?;
        let preview = match &p.attachment {
            Some(a) => format!("[{}]", a.kind),
            None => crate::domain::preview_text(&p.text),
        };
        let activity = Activity::live(Direction::Outbound, now, Some(preview), now);
        self.ports.messages.apply_activity(org, &p.conversation_id, &activity).await?;
        Ok(())
    }

    /// Records Meta's id on our message. If the webhook echo of this send arrived first, it
    /// was stored as a message of its own under that id: it is the same message, so the
    /// echo's copy is removed and ours takes the id.
    /// The message as sent, when it still exists.
    async fn record_sent(&self, org: &str, message_id: &str, mid: &str, now: DateTime<Utc>) -> Result<(), AppError> {
        for _ in 0..2 {
            match self.ports.messages.mark_message_sent(org, message_id, mid, now).await? {
                MarkSent::Sent(_) => return Ok(()),
                MarkSent::NotFound => {
                    tracing::warn!(message = message_id, "sent message no longer exists");
                    return Ok(());
                }
                MarkSent::IdTakenBy(holder) if holder.meta_json.get("isEcho") == Some(&Value::Bool(true)) => {
                    self.ports.messages.delete_message(org, &holder.id).await?;
                }
                MarkSent::IdTakenBy(holder) => {
                    tracing::error!(message = message_id, holder = %holder.id, "Meta id already belongs to another message");
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    async fn retry(&self, mut job: IntegrationJob, failure: SendFailure) -> Result<JobOutcome, AppError> {
        let now = self.now();
        let delay = retry_delay(
            self.ports.config.limits.job_retry_base_delay_ms,
            job.attempts,
            self.ports.jitter.sample(),
            failure.retry_after,
        );
        let error = JobError { code: failure.class.final_code().as_str().to_owned(), message: failure.message };
        job.wait_until(now + delay, error, now);
        if !self.save_claimed(&job).await? {
            return Ok(JobOutcome::Skipped);
        }
        let msg = QueueMessage::send(&job.organization_id, &job.id);
        self.ports.queue.enqueue(&msg, delay).await.map_err(AppError::unavailable)?;
        tracing::info!(job = %job.id, attempts = job.attempts, delay_ms = delay.num_milliseconds(), "send will be retried");
        Ok(JobOutcome::Retrying { delay })
    }

    pub(super) async fn fail(
        &self,
        mut job: IntegrationJob,
        p: Option<&SendPayload>,
        failure: SendFailure,
    ) -> Result<JobOutcome, AppError> {
        let org = job.organization_id.clone();
        let now = self.now();
        let code = failure.class.final_code();
        job.fail(JobError { code: code.as_str().to_owned(), message: failure.message }, now);
        // The job first, under the claim: a late worker changes nothing else either.
        if !self.save_claimed(&job).await? {
            return Ok(JobOutcome::Skipped);
        }
        if let Some(p) = p {
            self.ports.messages.mark_message_failed(&org, &p.message_id, code.as_str(), now).await?;
            if code == ErrorCode::AccountReauthRequired {
                self.flag_reauth(&org, &p.conversation_id, now).await?;
            }
        }
        tracing::warn!(job = %job.id, code = code.as_str(), attempts = job.attempts, "send failed");
        Ok(JobOutcome::Failed(code))
    }

    /// Meta refused the token: the account needs its owner to reconnect it. Inbound events
    /// keep flowing meanwhile; sends fail fast until then.
    async fn flag_reauth(&self, org: &str, conversation_id: &str, now: DateTime<Utc>) -> Result<(), AppError> {
        let Some(c) = self.ports.conversations.get_conversation(org, conversation_id).await? else { return Ok(()) };
        if c.connected_account_id != crate::domain::ENV_FALLBACK_ACCOUNT_ID {
            let account = &c.connected_account_id;
            self.ports.accounts.set_account_status(org, account, AccountStatus::ReauthRequired, None, now).await?;
        }
        Ok(())
    }

    /// Queues again every job stranded without a queue message; how many.
    pub async fn requeue_stranded_jobs(&self) -> Result<usize, AppError> {
        let stranded = self.ports.jobs.list_stranded_jobs(self.now() - STRANDED_AFTER, 500).await?;
        for job in &stranded {
            tracing::warn!(job = %job.id, status = ?job.status, "stranded job queued again");
            // Sends are the only jobs stored as `IntegrationJob`s; the other kinds live on the queue alone.
            let message = QueueMessage::send(&job.organization_id, &job.id);
            self.ports.queue.enqueue(&message, Duration::zero()).await.map_err(AppError::unavailable)?;
        }
        Ok(stranded.len())
    }
}
