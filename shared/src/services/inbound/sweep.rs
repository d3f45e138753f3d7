//! The reconciliation sweep: Meta loses some webhooks for good, so a scheduled round reads,
//! for every active account, the threads Meta has had activity in lately and stores the
//! messages missing here (`metaJson.recoveredBy: "sweep"`). The round also resumes an import
//! whose worker and queue message were lost.

use chrono::Duration;

use crate::domain::{HISTORY_STALE_AFTER, PageRequest};
use crate::error::AppError;
use crate::meta::graph_errors::{FailureClass, classify};
use crate::ports::{GraphError, QueueMessage};

use super::Inbound;
use super::meta_threads::Origin;

/// Threads a queue message of the sweep reads: at two calls a second, about six seconds.
const THREADS_PER_PAGE: u32 = 10;

/// What one account's sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Threads active within the window, read.
    pub threads: u32,
    /// Conversations API calls made.
    pub calls: u32,
    /// Messages Meta had that were not stored, stored now.
    pub recovered: u32,
}

/// What one scheduled round queued.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepRound {
    pub sweeps_queued: usize,
    pub imports_resumed: usize,
}

impl Inbound {
    /// The scheduled round: a sweep queued for every active account (one whose import runs is
    /// left to it), and every stranded import queued again where it stopped.
    pub async fn queue_sweeps(&self) -> Result<SweepRound, AppError> {
        let (mut round, mut page) = (SweepRound::default(), PageRequest::first(100));
        let stale_before = self.now() - HISTORY_STALE_AFTER;
        loop {
            let accounts = self.ports.accounts.list_active_accounts(&page).await?;
            for account in &accounts.data {
                let (organization_id, account_id) = (account.organization_id.clone(), account.id.clone());
                let job = match account.history.as_ref().filter(|h| h.is_open()) {
                    Some(h) if h.updated_at < stale_before => {
                        round.imports_resumed += 1;
                        QueueMessage::ImportHistory { organization_id, account_id, run_id: h.run_id.clone() }
                    }
                    Some(_) => continue,
                    None => {
                        round.sweeps_queued += 1;
                        QueueMessage::SweepAccount { organization_id, account_id, cursor: None }
                    }
                };
                self.ports.queue.enqueue(&job, Duration::zero()).await.map_err(AppError::unavailable)?;
            }
            match accounts.next_cursor.as_deref().and_then(crate::domain::Cursor::decode) {
                Some(after) => page.after = Some(after),
                None => return Ok(round),
            }
        }
    }

    /// SWEEP_ACCOUNT: a page of the account's threads (newest first, from `cursor`), those
    /// active within `SWEEP_WINDOW_HOURS` each compared with what is stored and the missing
    /// messages stored; the next page queued while the window lasts.
    pub(in crate::services) async fn sweep_account(
        &self,
        org: &str,
        account_id: &str,
        cursor: Option<&str>,
    ) -> Result<SweepReport, AppError> {
        let mut report = SweepReport::default();
        let Some(account) = self.ports.accounts.get_account(org, account_id).await? else { return Ok(report) };
        if !account.is_active() || account.history.as_ref().is_some_and(|h| h.is_open()) {
            return Ok(report);
        }
        let Some(mut reader) = self.thread_reader(&account).await? else { return Ok(report) };
        let since = self.now() - self.ports.config.limits.history.sweep_window;
        report.calls += 1;
        let page = reader.threads(cursor, THREADS_PER_PAGE).await.or_else(|e| give_up(&e))?;
        let mut window_ended = false;
        for thread in &page.threads {
            if thread.updated_time.is_some_and(|t| t < since) {
                window_ended = true;
                break;
            }
            report.calls += 1;
            let listed = reader.messages(&thread.id).await.or_else(|e| give_up(&e))?;
            report.threads += 1;
            report.recovered += reader.store_thread(thread, &listed, since, Origin::Sweep).await?.stored;
        }
        if let Some(next) = page.after.filter(|_| !window_ended) {
            let job = QueueMessage::SweepAccount {
                organization_id: org.to_owned(),
                account_id: account_id.to_owned(),
                cursor: Some(next),
            };
            self.ports.queue.enqueue(&job, Duration::zero()).await.map_err(AppError::unavailable)?;
        }
        let counts = [("SweepThreads", report.threads as usize), ("SweepRecovered", report.recovered as usize)];
        crate::metrics::counts(&[], &counts);
        if report.recovered > 0 {
            tracing::warn!(account = %account_id, recovered = report.recovered, "sweep stored messages whose webhook never came");
        }
        Ok(report)
    }
}

/// A sweep Meta cannot answer now comes back (the queue's retries); one Meta refuses ends
/// (the next round tries again).
fn give_up<T: Default>(e: &GraphError) -> Result<T, AppError> {
    match classify(e) {
        FailureClass::Permanent(code) => {
            tracing::warn!(code = code.as_str(), "sweep: Meta refused; the next round tries again");
            Ok(T::default())
        }
        _ => Err(AppError::unavailable(format!("sweep: {}", e.message))),
    }
}
