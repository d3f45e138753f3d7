//! Starting an account's history import (on connect, or again by an admin) and stopping it
//! on a disconnect; the inbound flow runs it.

use chrono::Duration;

use crate::domain::{Caller, ConnectedAccount, HISTORY_STALE_AFTER, HistoryExpectation, HistoryImport, new_id};
use crate::error::{AppError, ErrorCode};
use crate::ports::QueueMessage;

use super::Accounts;

impl Accounts {
    /// `POST .../connected-accounts/:id/history/import`: a new run queued; 409 while one runs.
    pub async fn start_history_import(&self, caller: &Caller, id: &str) -> Result<ConnectedAccount, AppError> {
        let org = caller.organization_id.as_str();
        let account =
            self.ports.accounts.get_account(org, id).await?.ok_or_else(|| AppError::not_found("connected account"))?;
        if !account.is_active() {
            return Err(AppError::new(ErrorCode::AccountDisconnected, "the account is not active; connect it again"));
        }
        let Some(run) = self.queue_history(&account).await? else {
            return Err(AppError::new(ErrorCode::HistoryImportRunning, "a history import of this account is running"));
        };
        Ok(ConnectedAccount { history: Some(run), ..account })
    }

    /// Queues a new run of the account's import, unless one runs (`None` then). A queue that
    /// fails leaves the run PENDING: the scheduled round finds it stranded and queues it.
    pub(super) async fn queue_history(&self, account: &ConnectedAccount) -> Result<Option<HistoryImport>, AppError> {
        let now = self.now();
        let run = HistoryImport::queued(new_id("hist"), now);
        let startable = HistoryExpectation::Startable { stale_before: now - HISTORY_STALE_AFTER };
        let (org, id) = (&account.organization_id, &account.id);
        if !self.ports.accounts.put_history(org, id, &run, startable).await? {
            return Ok(None);
        }
        let job = QueueMessage::ImportHistory {
            organization_id: org.clone(),
            account_id: id.clone(),
            run_id: run.run_id.clone(),
        };
        if let Err(e) = self.ports.queue.enqueue(&job, Duration::zero()).await {
            tracing::warn!(account = %id, error = %e, "history import not queued; the scheduled round will");
        }
        Ok(Some(run))
    }

    /// A disconnect ends the account's running import (its worker stops at its next page).
    pub(super) async fn cancel_history(&self, account: &ConnectedAccount) -> Result<(), AppError> {
        let Some(mut run) = account.history.clone().filter(HistoryImport::is_open) else { return Ok(()) };
        run.cancel(self.now());
        let (org, id) = (&account.organization_id, &account.id);
        let run_id = run.run_id.clone();
        self.ports.accounts.put_history(org, id, &run, HistoryExpectation::Run(&run_id)).await?;
        Ok(())
    }
}
