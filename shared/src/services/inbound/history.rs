//! The history import: the conversations an account had before it was connected, read from
//! Meta's Conversations API one page a queue message, the cursor kept on the account after
//! each page, so a crash or a deploy redoes at most one page (each message stored once by
//! its Meta id) and a disconnect or a new run stops it.

use chrono::Duration;

use crate::domain::{ConnectedAccount, HistoryExpectation, HistoryImport, JobError};
use crate::error::{AppError, ErrorCode};
use crate::meta::graph_errors::{FailureClass, classify};
use crate::ports::{GraphError, MetaThread, QueueMessage};

use super::Inbound;
use super::meta_threads::{Origin, ThreadReader};

/// Threads a queue message works through: at two calls a second, about six seconds.
const THREADS_PER_PAGE: u32 = 10;

impl Inbound {
    /// IMPORT_HISTORY: the next page of `run_id`'s threads, then the page after it queued.
    /// `false` when there was nothing to do (the run ended, was replaced or cancelled).
    pub(in crate::services) async fn import_history_page(
        &self,
        org: &str,
        account_id: &str,
        run_id: &str,
    ) -> Result<bool, AppError> {
        let Some(account) = self.ports.accounts.get_account(org, account_id).await? else { return Ok(false) };
        let Some(mut run) = account.history.clone().filter(|h| h.run_id == run_id && h.is_open()) else {
            return Ok(false);
        };
        if !account.is_active() {
            let error =
                JobError { code: "ACCOUNT_DISCONNECTED".into(), message: "the account was disconnected".into() };
            run.fail(error, self.now());
            return self.save_run(&account, &run).await;
        }
        let Some(mut reader) = self.thread_reader(&account).await? else {
            let code = ErrorCode::AccountReauthRequired;
            let error = JobError { code: code.as_str().into(), message: "the account has no usable token".into() };
            run.fail(error, self.now());
            return self.save_run(&account, &run).await;
        };
        let page = match reader.threads(run.cursor.as_deref(), THREADS_PER_PAGE).await {
            Ok(page) => page,
            Err(e) => return self.history_failed(&account, run, &e).await,
        };
        let (conversations, messages, ended) = match self.import_threads(&mut reader, &page.threads, &run).await? {
            Ok(read) => read,
            Err(e) => return self.history_failed(&account, run, &e).await,
        };
        let next = page.after.filter(|_| !ended);
        run.page_done(conversations, messages, next.clone(), self.now());
        if next.is_none() {
            run.finish(self.now());
        }
        if !self.save_run(&account, &run).await? {
            return Ok(false);
        }
        if next.is_some() {
            let job = QueueMessage::ImportHistory {
                organization_id: org.to_owned(),
                account_id: account_id.to_owned(),
                run_id: run_id.to_owned(),
            };
            self.ports.queue.enqueue(&job, Duration::zero()).await.map_err(AppError::unavailable)?;
        }
        Ok(true)
    }

    /// The page's threads into the inbox, until one is older than `HISTORY_IMPORT_DAYS` or the
    /// run has read `HISTORY_IMPORT_MAX_CONVERSATIONS`: how many conversations and messages
    /// it read, and whether that ended the run; or Meta's failure.
    async fn import_threads(
        &self,
        reader: &mut ThreadReader<'_>,
        threads: &[MetaThread],
        run: &HistoryImport,
    ) -> Result<Result<(u32, u32, bool), GraphError>, AppError> {
        let limits = &self.ports.config.limits.history;
        let since = self.now() - limits.import_window;
        let (mut conversations, mut messages) = (0, 0);
        for thread in threads {
            let too_old = thread.updated_time.is_some_and(|t| t < since);
            if too_old || run.conversations + conversations >= limits.max_conversations {
                return Ok(Ok((conversations, messages, true)));
            }
            let listed = match reader.messages(&thread.id).await {
                Ok(listed) => listed,
                Err(e) => return Ok(Err(e)),
            };
            messages += reader.store_thread(thread, &listed, since, Origin::History).await?.listed;
            conversations += 1;
        }
        Ok(Ok((conversations, messages, false)))
    }

    /// Writes the run's progress, unless another run replaced it meanwhile.
    async fn save_run(&self, account: &ConnectedAccount, run: &HistoryImport) -> Result<bool, AppError> {
        let (org, id) = (&account.organization_id, &account.id);
        let written = self.ports.accounts.put_history(org, id, run, HistoryExpectation::Run(&run.run_id)).await?;
        if !written {
            tracing::info!(account = %id, run = %run.run_id, "history import replaced or cancelled; stopping");
        }
        Ok(written)
    }

    /// Meta refused (the run fails, with the code) or could not answer now (the error is
    /// shown on the run and the queue message comes back, under the usual retries).
    async fn history_failed(
        &self,
        account: &ConnectedAccount,
        mut run: HistoryImport,
        e: &GraphError,
    ) -> Result<bool, AppError> {
        let class = classify(e);
        let error = JobError { code: class.final_code().as_str().into(), message: e.message.clone() };
        tracing::warn!(account = %account.id, code = ?e.code, status = e.http_status, "history import: Meta failed");
        match class {
            FailureClass::Permanent(_) => run.fail(error, self.now()),
            FailureClass::Transient | FailureClass::Throttled => {
                run.error = Some(error);
                run.updated_at = self.now();
                self.save_run(account, &run).await?;
                return Err(AppError::unavailable(format!("history import: {}", e.message)));
            }
        }
        self.save_run(account, &run).await
    }
}
