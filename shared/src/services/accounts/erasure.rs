//! Erasure of everything an organization holds, when it leaves: its accounts are
//! disconnected first (Meta stops delivering, tokens deleted), the webhook events kept for
//! them are dropped, then every record and media copy goes, a page at a time. Asked again, it goes on from
//! what is left.

use crate::domain::media::media_prefix;
use crate::domain::{AccountStatus, Caller, ERASURE_CALLS_PER_REQUEST, ERASURE_PAGE, ErasureProgress};
use crate::error::AppError;
use crate::services::threads::erase_with_media;

use super::Accounts;

impl Accounts {
    /// `confirm` must repeat the organization's id: nothing is erased by a stray request.
    pub async fn erase_organization(&self, caller: &Caller, confirm: &str) -> Result<ErasureProgress, AppError> {
        let org = caller.organization_id.as_str();
        if confirm != org {
            return Err(AppError::validation("confirm must be this organization's id"));
        }
        let mut removed = 0;
        for account in self.ports.accounts.list_accounts(org).await? {
            if account.status != AccountStatus::Disconnected {
                self.disconnect_account(caller, &account.id).await?;
            }
            removed += self.drop_kept_events(&account).await?;
        }
        let mut calls = ERASURE_CALLS_PER_REQUEST;
        let erasure = &self.ports.erasure;
        let media = self.ports.media.as_deref();
        let progress = erase_with_media(media, &media_prefix(org, None), &mut calls, || {
            erasure.erase_organization(org, ERASURE_PAGE)
        })
        .await?;
        removed += progress.removed;
        tracing::info!(organization = %org, by = ?caller.subject, removed, done = progress.done, "organization's data erased");
        Ok(ErasureProgress { removed, done: progress.done })
    }

    /// The webhook events kept for the account (waiting for a reconnect), unless another
    /// organization holds its ids now: how many went.
    async fn drop_kept_events(&self, account: &crate::domain::ConnectedAccount) -> Result<usize, AppError> {
        let mut dropped = 0;
        for route_key in account.route_keys() {
            let holder = self.ports.accounts.find_account_by_external_id(&route_key).await?;
            if holder.is_some_and(|h| h.organization_id != account.organization_id) {
                continue;
            }
            for event in self.ports.raw_events.list_raw_events(&route_key).await? {
                self.ports.raw_events.delete_raw_event(&route_key, &event.id).await?;
                dropped += 1;
            }
        }
        Ok(dropped)
    }
}
