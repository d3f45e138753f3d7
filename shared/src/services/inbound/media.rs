//! Copies of a message's files (Meta's CDN links expire within days) in the deployment's own
//! storage, made by a queued job off the webhook's path, and removed with an unsent message.
//!
//! Each copy ends in one of three states, whatever the order of events: recorded on the
//! message (`storedKey`); refused for good and recorded (`copyError`, Meta's link kept); or
//! deleted again, when the message was unsent or erased while the copy was being made (the
//! job looks at what the store answers after recording it). Customers' profile pictures
//! are copied the same way when their profile is fetched.

use crate::domain::media::{MediaCopy, PendingCopy, contact_media_key, fits, media_key, message_media_prefix, sniff};
use crate::domain::{CustomerProfile, Message, MessageChange, MessageStatus};
use crate::error::AppError;
use crate::ports::{FetchError, MediaStore, QueueMessage};

use super::Inbound;
use crate::services::threads::drop_media;

/// What one attachment's copy came to.
enum Copied {
    Recorded,
    /// Worth another try (the CDN or the storage is unavailable).
    Later(String),
}

impl Inbound {
    /// Queues the copy of a new message's files, when the deployment keeps media.
    pub(super) async fn queue_media_copy(&self, message: &Message) {
        if self.ports.media.is_some() && !message.pending_copies().is_empty() {
            let (organization_id, message_id) = (message.organization_id.clone(), message.id.clone());
            self.enqueue_follow_up(&QueueMessage::CopyMedia { organization_id, message_id }).await;
        }
    }

    /// The CopyMedia job: every file of the message not yet copied or refused. An `Err` when
    /// one could not be fetched or kept for now: the queue delivers the job again, and what
    /// was recorded already is not fetched twice.
    pub(in crate::services) async fn copy_media(&self, org: &str, message_id: &str) -> Result<bool, AppError> {
        let Some(media) = self.ports.media.as_deref() else { return Ok(false) };
        let Some(message) = self.ports.messages.get_message(org, message_id).await? else { return Ok(false) };
        let pending = message.pending_copies();
        let mut later = Vec::new();
        for copy in &pending {
            if let Copied::Later(why) = self.copy_one(media, &message, copy).await? {
                later.push(why);
            }
        }
        match later.first() {
            Some(why) => Err(AppError::unavailable(format!("media copy of {message_id} incomplete: {why}"))),
            None => Ok(!pending.is_empty()),
        }
    }

    async fn copy_one(
        &self,
        media: &dyn MediaStore,
        message: &Message,
        copy: &PendingCopy,
    ) -> Result<Copied, AppError> {
        let key = media_key(&message.organization_id, &message.conversation_id, &message.id, copy.index);
        let outcome = match self.fetch_and_keep(media, &copy.url, &copy.kind, &key).await {
            Ok(outcome) => outcome,
            Err(why) => return Ok(Copied::Later(why)),
        };
        let change = MessageChange::MediaCopied { index: copy.index, copy: outcome.clone() };
        let now = self.now();
        let after = self.ports.messages.update_message(&message.organization_id, &message.id, &change, now).await?;
        // Unsent or erased while the copy was made: it goes too.
        let gone = after.is_none_or(|m| m.status == MessageStatus::Deleted);
        if let (true, MediaCopy::Stored { key, .. }) = (gone, &outcome) {
            media.delete(key).await.map_err(|e| AppError::unavailable(e.to_string()))?;
        }
        Ok(Copied::Recorded)
    }

    /// Reads `url` (at most `MEDIA_MAX_BYTES`) and keeps it under `key` if the bytes are the
    /// `kind` Meta named: the copy, or why none is kept for good; `Err` when worth another try.
    async fn fetch_and_keep(
        &self,
        media: &dyn MediaStore,
        url: &str,
        kind: &str,
        key: &str,
    ) -> Result<MediaCopy, String> {
        let outcome = match self.ports.media_source.fetch(url, self.ports.config.media.max_bytes).await {
            Ok(bytes) => match sniff(&bytes) {
                Some(sniffed) if fits(kind, sniffed) => {
                    let size = bytes.len() as u64;
                    media.put(key, bytes, sniffed.content_type).await.map_err(|e| e.to_string())?;
                    MediaCopy::Stored { key: key.to_owned(), content_type: sniffed.content_type.to_owned(), size }
                }
                _ => MediaCopy::Refused("TYPE_MISMATCH"),
            },
            Err(FetchError::TooLarge(_)) => MediaCopy::Refused("TOO_LARGE"),
            Err(FetchError::Gone(_)) => MediaCopy::Refused("LINK_EXPIRED"),
            Err(FetchError::Unavailable(why)) => return Err(why),
        };
        if let MediaCopy::Refused(why) = &outcome {
            tracing::warn!(key, why, "file not copied; Meta's link kept");
        }
        Ok(outcome)
    }

    /// A customer's profile picture copied (once), when the deployment keeps media: the
    /// profile as stored after. `Err` when the copy is worth another try (the EnrichContact
    /// job is delivered again, and the profile, kept already, is not fetched twice).
    pub(super) async fn keep_picture(&self, mut profile: CustomerProfile) -> Result<CustomerProfile, AppError> {
        let Some(media) = self.ports.media.as_deref() else { return Ok(profile) };
        let Some(key) = contact_media_key(&profile.organization_id, &profile.instagram_user_id) else {
            return Ok(profile);
        };
        let Some(picture) = profile.picture.as_mut().filter(|p| p.pending()) else { return Ok(profile) };
        match self.fetch_and_keep(media, &picture.meta_url, "image", &key).await {
            Ok(MediaCopy::Stored { key, .. }) => picture.stored_key = Some(key),
            Ok(MediaCopy::Refused(why)) => picture.copy_error = Some(why.to_owned()),
            Err(why) => return Err(AppError::unavailable(format!("profile picture not copied: {why}"))),
        }
        self.ports.leads.put_profile(&profile).await?;
        Ok(profile)
    }

    /// An unsent message's copies go with its content.
    pub(super) async fn drop_copies(&self, unsent: &Message) -> Result<(), AppError> {
        let prefix = message_media_prefix(&unsent.organization_id, &unsent.conversation_id, &unsent.id);
        drop_media(self.ports.media.as_deref(), &prefix).await
    }
}
