//! Erasure of one customer's data in an organization, on an admin's request: their
//! conversations (DMs on every account and the comment threads they started) with every
//! message, its media copies and the events logged about them, their cached profile and picture, and the Instagram link of
//! their lead. A page at a time; asked again, it goes on from what is left.

use crate::domain::media::{contact_media_prefix, media_prefix};
use crate::domain::{Caller, ERASURE_CALLS_PER_REQUEST, ERASURE_PAGE, ErasureProgress};
use crate::error::AppError;
use crate::services::threads::{drop_media, erase_with_media};

use super::Inbox;

impl Inbox {
    pub async fn erase_contact(&self, caller: &Caller, participant_id: &str) -> Result<ErasureProgress, AppError> {
        let org = caller.organization_id.as_str();
        let participant = participant_id.trim();
        if participant.is_empty() || participant.len() > 128 {
            return Err(AppError::validation("participantId must be a customer's id (1 to 128 characters)"));
        }
        let erasure = &self.ports.erasure;
        let mut calls = ERASURE_CALLS_PER_REQUEST;
        let mut removed = 0;
        for conversation in erasure.conversations_of_participant(org, participant).await? {
            let id = conversation.id.as_str();
            let progress = self.erase_conversation(org, id, &mut calls).await?;
            removed += progress.removed;
            if !progress.done {
                return Ok(ErasureProgress { removed, done: false });
            }
        }
        removed += erasure.erase_customer(org, participant).await?;
        if let Some(prefix) = contact_media_prefix(org, participant) {
            drop_media(self.ports.media.as_deref(), &prefix).await?;
        }
        tracing::info!(organization = %org, by = ?caller.subject, removed, "customer's data erased");
        Ok(ErasureProgress { removed, done: true })
    }

    /// One conversation's records and media copies, as far as `calls` allows.
    pub(super) async fn erase_conversation(
        &self,
        org: &str,
        id: &str,
        calls: &mut usize,
    ) -> Result<ErasureProgress, AppError> {
        let (erasure, prefix) = (&self.ports.erasure, media_prefix(org, Some(id)));
        erase_with_media(self.ports.media.as_deref(), &prefix, calls, || {
            erasure.erase_conversation(org, id, ERASURE_PAGE)
        })
        .await
    }
}
