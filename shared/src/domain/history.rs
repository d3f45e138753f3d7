//! An account's history import: the conversations that happened before it was connected,
//! read from Meta's Conversations API page by page, with its progress on the account.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::JobError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HistoryStatus {
    /// Queued, not started.
    Pending,
    Running,
    Done,
    /// Stopped for good: Meta refused, the retries ran out, or the account was disconnected.
    Failed,
}

/// One run of an account's import, as `history` on the connected account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryImport {
    /// This run: a worker writes only while the stored run is its own, so a run started again
    /// (or cancelled) is never overwritten by the one before.
    pub run_id: String,
    pub status: HistoryStatus,
    /// Conversations and messages read so far (stored now, or already stored before).
    pub conversations: u32,
    pub messages: u32,
    pub started_at: DateTime<Utc>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<JobError>,
    /// Where the listing of Meta's conversations resumes (Meta's `after` cursor): a crash or
    /// a deploy redoes at most the page it stopped in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// What a write of an account's import expects of the stored one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryExpectation<'a> {
    /// A new run may start: none is stored, the stored one ended, or it has not moved since
    /// `stale_before` (its worker and queue message are gone).
    Startable { stale_before: DateTime<Utc> },
    /// The stored run is this one.
    Run(&'a str),
}

/// How long a running import may go without progress before it counts as stranded.
pub const HISTORY_STALE_AFTER: Duration = Duration::minutes(15);

impl HistoryExpectation<'_> {
    pub fn holds_for(&self, stored: Option<&HistoryImport>) -> bool {
        match (self, stored) {
            (HistoryExpectation::Startable { .. }, None) => true,
            (HistoryExpectation::Startable { stale_before }, Some(h)) => !h.is_open() || h.updated_at < *stale_before,
            (HistoryExpectation::Run(run), Some(h)) => h.run_id == *run,
            (HistoryExpectation::Run(_), None) => false,
        }
    }
}

impl HistoryImport {
    /// A run queued at `now`.
    pub fn queued(run_id: String, now: DateTime<Utc>) -> Self {
        HistoryImport {
            run_id,
            status: HistoryStatus::Pending,
            conversations: 0,
            messages: 0,
            started_at: now,
            finished_at: None,
            error: None,
            cursor: None,
            updated_at: now,
        }
    }

    /// Pending or running.
    pub fn is_open(&self) -> bool {
        matches!(self.status, HistoryStatus::Pending | HistoryStatus::Running)
    }

    /// One page done: its counts added, the listing resumes at `cursor`.
    pub fn page_done(&mut self, conversations: u32, messages: u32, cursor: Option<String>, now: DateTime<Utc>) {
        self.status = HistoryStatus::Running;
        self.conversations += conversations;
        self.messages += messages;
        self.cursor = cursor;
        self.updated_at = now;
    }

    pub fn finish(&mut self, now: DateTime<Utc>) {
        self.status = HistoryStatus::Done;
        self.cursor = None;
        self.finished_at = Some(now);
        self.updated_at = now;
    }

    /// Stopped by the account's disconnect (`ACCOUNT_DISCONNECTED`, the API's code for it).
    pub fn cancel(&mut self, now: DateTime<Utc>) {
        let error = JobError { code: "ACCOUNT_DISCONNECTED".into(), message: "the account was disconnected".into() };
        self.fail(error, now);
    }

    pub fn fail(&mut self, error: JobError, now: DateTime<Utc>) {
        self.status = HistoryStatus::Failed;
        self.error = Some(error);
        self.finished_at = Some(now);
        self.updated_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_starts_only_over_none_an_ended_one_or_a_stranded_one() {
        let now = Utc::now();
        let startable = HistoryExpectation::Startable { stale_before: now - HISTORY_STALE_AFTER };
        let mut h = HistoryImport::queued("run_1".into(), now);
        assert!(startable.holds_for(None));
        assert!(!startable.holds_for(Some(&h)), "one runs");
        h.updated_at = now - Duration::minutes(16);
        assert!(startable.holds_for(Some(&h)), "stranded");
        h.updated_at = now;
        h.finish(now);
        assert!(startable.holds_for(Some(&h)));
        assert!(HistoryExpectation::Run("run_1").holds_for(Some(&h)));
        assert!(!HistoryExpectation::Run("run_0").holds_for(Some(&h)));
        assert!(!HistoryExpectation::Run("run_1").holds_for(None));
    }
}
