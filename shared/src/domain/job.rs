use super::{Provider, SendPayload};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobType {
    SendMessage,
    ProcessWebhook,
    /// Fetch a new customer's profile and link their lead, off the webhook's path.
    EnrichContact,
    /// Put the events that waited for a newly connected account into its inbox, a page a job.
    ReplayEvents,
    /// An echo arrived: confirm the conversation's sends that failed unconfirmed, if it is theirs.
    ConfirmEchoes,
    /// One page of an account's conversations from before it was connected.
    ImportHistory,
    /// Compare an account's recently active conversations at Meta with the stored ones.
    SweepAccount,
    /// Copy a message's attachments from Meta's CDN into the deployment's storage.
    CopyMedia,
    /// Fetch a customer's profile again (read by an agent more than a week after it was).
    RefreshContact,
    /// Typing, seen or a reaction, in a conversation (no job record: see `QueuedAction`).
    SenderAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    Pending,
    Processing,
    Succeeded,
    Failed,
}

/// What a conditional job write expects the stored job to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobExpectation<'a> {
    /// Not stored yet.
    Absent,
    /// Held by this claim.
    ClaimedBy(&'a str),
    /// In this status.
    Status(JobStatus),
}

impl JobExpectation<'_> {
    pub fn holds_for(&self, stored: Option<&IntegrationJob>) -> bool {
        match (self, stored) {
            (JobExpectation::Absent, stored) => stored.is_none(),
            (JobExpectation::ClaimedBy(claim), Some(j)) => j.claim_id.as_deref() == Some(*claim),
            (JobExpectation::Status(status), Some(j)) => j.status == *status,
            (_, None) => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobError {
    pub code: String,
    pub message: String,
}

/// Where a send's current attempt stands: the rule that keeps a reply from going out twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendAttempt<'a> {
    /// Not handed to Meta: it may be sent.
    NotStarted,
    /// Handed to Meta at `since`, and no answer proves whether Meta sent it: never sent again
    /// before Meta's echo has been awaited. `answer`: what came back, `None` when the worker
    /// stopped before hearing anything (it may have died before the call).
    InFlight { since: DateTime<Utc>, answer: Option<UnclearAnswer> },
    /// Meta took it under `mid`.
    Sent { mid: &'a str },
}

/// An answer that leaves open whether Meta sent the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UnclearAnswer {
    /// Meta's own error on a 5xx ("an unexpected error has occurred, retry later"): a blip
    /// that may or may not have sent it.
    MetaError,
    /// Nothing readable: a timeout, a reset, a bare 5xx, a 2xx we could not read.
    Unreadable,
}

/// Work done outside the request that asked for it: a send to Meta, a webhook to reprocess.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationJob {
    pub id: String,
    pub organization_id: String,
    pub provider: Provider,
    pub job_type: JobType,
    pub status: JobStatus,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<JobError>,
    /// What the send carries, typed (`payloadJson` as stored and answered).
    #[serde(rename = "payloadJson")]
    pub payload: SendPayload,
    /// While PROCESSING: until when the claim holds. A worker that died mid-job (Lambda
    /// timeout) leaves a claim that expires, so the job is not stuck forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// The current claim: every write a worker makes is conditional on it, so a worker whose
    /// claim expired cannot overwrite what a newer one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_id: Option<String>,
    /// Set, durably, just before a send is handed to Meta, and cleared only when Meta's
    /// answer proves nothing was sent: a job found with it set is confirmed (by Meta's echo),
    /// never sent again. Read through `attempt()`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    send_started_at: Option<DateTime<Utc>>,
    /// What Meta answered the attempt in flight, when that left its outcome open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    send_answer: Option<UnclearAnswer>,
    /// Meta's id for the sent message, recorded as soon as Meta answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sent_message_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl IntegrationJob {
    /// A SEND_MESSAGE job due at once.
    pub fn send_message(id: String, org: &str, provider: Provider, payload: SendPayload, now: DateTime<Utc>) -> Self {
        IntegrationJob {
            id,
            organization_id: org.to_owned(),
            provider,
            job_type: JobType::SendMessage,
            status: JobStatus::Pending,
            attempts: 0,
            next_attempt_at: Some(now),
            last_error: None,
            payload,
            lease_expires_at: None,
            claim_id: None,
            send_started_at: None,
            send_answer: None,
            sent_message_id: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// For a job not finished: when it should be running at the latest (its next attempt, or
    /// the end of its claim). A job still open well after that lost its queue message.
    pub fn open_until(&self) -> Option<DateTime<Utc>> {
        match self.status {
            JobStatus::Pending => Some(self.next_attempt_at.unwrap_or(self.created_at)),
            JobStatus::Processing => self.lease_expires_at.or(Some(self.updated_at)),
            JobStatus::Succeeded | JobStatus::Failed => None,
        }
    }

    /// A worker takes the job (only when `claimable(now)`): one more attempt, under `claim_id`
    /// until `lease_until`.
    pub fn claim(&mut self, claim_id: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>) {
        self.status = JobStatus::Processing;
        self.attempts += 1;
        self.lease_expires_at = Some(lease_until);
        self.claim_id = Some(claim_id.to_owned());
        self.updated_at = now;
    }

    /// Meta took the message under `mid`: recorded before anything else, so no later failure
    /// of ours can make it look unconfirmed.
    pub fn record_sent(&mut self, mid: &str) {
        self.sent_message_id = Some(mid.to_owned());
    }

    /// Done: Meta took the message under `mid`.
    pub fn succeed(&mut self, mid: &str, now: DateTime<Utc>) {
        self.status = JobStatus::Succeeded;
        self.sent_message_id = Some(mid.to_owned());
        self.next_attempt_at = None;
        self.lease_expires_at = None;
        self.last_error = None;
        self.updated_at = now;
    }

    /// Where its current attempt stands.
    pub fn attempt(&self) -> SendAttempt<'_> {
        match (&self.sent_message_id, self.send_started_at) {
            (Some(mid), _) => SendAttempt::Sent { mid },
            (None, Some(since)) => SendAttempt::InFlight { since, answer: self.send_answer },
            (None, None) => SendAttempt::NotStarted,
        }
    }

    /// The attempt is handed to Meta (recorded, durably, before Meta is called).
    pub fn start_attempt(&mut self, now: DateTime<Utc>) {
        self.send_started_at = Some(now);
        self.send_answer = None;
    }

    /// Meta answered the attempt in flight without settling whether it sent it.
    pub fn answered_unclearly(&mut self, answer: UnclearAnswer) {
        self.send_answer = Some(answer);
    }

    /// Meta's answer proves nothing was sent (a refusal, or the attempt was never made): the
    /// next attempt starts from scratch.
    pub fn attempt_not_made(&mut self) {
        self.send_started_at = None;
        self.send_answer = None;
    }

    /// Waits, with `error` showing why, for its next run at `at` (a retry, or a check of an
    /// unconfirmed send).
    pub fn wait_until(&mut self, at: DateTime<Utc>, error: JobError, now: DateTime<Utc>) {
        self.status = JobStatus::Pending;
        self.next_attempt_at = Some(at);
        self.lease_expires_at = None;
        self.last_error = Some(error);
        self.updated_at = now;
    }

    /// Failed for good, with `error`.
    pub fn fail(&mut self, error: JobError, now: DateTime<Utc>) {
        self.status = JobStatus::Failed;
        self.next_attempt_at = None;
        self.lease_expires_at = None;
        self.last_error = Some(error);
        self.updated_at = now;
    }

    /// A failed send taken up again by an agent: a new series of attempts from `now`, for the
    /// same message.
    pub fn reopen(self, now: DateTime<Utc>) -> Self {
        IntegrationJob::send_message(self.id, &self.organization_id, self.provider, self.payload, now)
    }

    /// Whether a worker may take the job at `now`: pending and due, or processing under an
    /// expired claim.
    pub fn claimable(&self, now: DateTime<Utc>) -> bool {
        match self.status {
            JobStatus::Pending => self.next_attempt_at.is_none_or(|t| t <= now),
            JobStatus::Processing => self.lease_expires_at.is_some_and(|t| t <= now),
            JobStatus::Succeeded | JobStatus::Failed => false,
        }
    }
}
