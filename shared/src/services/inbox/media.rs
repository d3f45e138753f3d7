//! Media copies as agents see them: each kept copy's `url` is a short-lived signed URL of
//! the deployment's storage (Meta's link stays as `metaUrl`), and the local server serves
//! its own signed URLs. A customer's profile picture likewise.

use chrono::Duration;

use serde::Serialize;

use crate::domain::Message;
use crate::domain::media::{cdn_link_expiry, show_copy};
use crate::error::AppError;
use crate::ports::{MediaError, QueueMessage, SignedPut};

use super::Inbox;

impl Inbox {
    /// `messages` with each kept copy shown by a URL signed for `MEDIA_URL_TTL_SECONDS`. A
    /// URL that cannot be signed leaves Meta's link in place.
    pub(super) async fn with_signed_media(&self, mut messages: Vec<Message>) -> Vec<Message> {
        let Some(media) = self.ports.media.as_deref() else { return messages };
        let ttl = self.ports.config.media.url_ttl;
        let expires_at = self.now() + Duration::from_std(ttl).unwrap_or(Duration::minutes(15));
        for message in &mut messages {
            for (key, payload) in message.stored_copies_mut() {
                match media.signed_url(&key, ttl).await {
                    Ok(url) => show_copy(payload, url, expires_at),
                    Err(e) => tracing::warn!(error = %e, "media URL not signed; Meta's link shown"),
                }
            }
        }
        messages
    }

    /// A customer's profile as the organization has it: their handle, name and picture (a
    /// signed URL of the kept copy, else Meta's link); 404 when none was fetched.
    pub async fn contact(&self, org: &str, participant_id: &str) -> Result<ContactView, AppError> {
        let profile = self.ports.leads.get_profile(org, participant_id).await?;
        let profile = profile.ok_or_else(|| AppError::not_found("contact"))?;
        if profile.is_stale(self.now()) {
            self.queue_refresh(org, participant_id).await;
        }
        let mut picture = None;
        if let Some(p) = &profile.picture {
            let ttl = self.ports.config.media.url_ttl;
            let signed = match (&p.stored_key, self.ports.media.as_deref()) {
                (Some(key), Some(media)) => media.signed_url(key, ttl).await.ok(),
                _ => None,
            };
            // A kept copy's signed link, else Meta's own, whose expiry its CDN link carries.
            let expires_at = match &signed {
                Some(_) => Some(self.now() + Duration::from_std(ttl).unwrap_or_default()),
                None => cdn_link_expiry(&p.meta_url),
            };
            let expired = expires_at.is_some_and(|at| at <= self.now());
            let url = signed.unwrap_or_else(|| p.meta_url.clone());
            picture = Some(PictureView { url, meta_url: p.meta_url.clone(), url_expires_at: expires_at, expired });
        }
        Ok(ContactView {
            participant_id: profile.instagram_user_id,
            username: profile.username,
            name: profile.name,
            picture,
            facts: profile.facts,
        })
    }

    /// Queues a fresh lookup of the customer's profile, through one of their conversations;
    /// best effort (the next read queues it again).
    async fn queue_refresh(&self, org: &str, participant_id: &str) {
        let conversations = self.ports.erasure.conversations_of_participant(org, participant_id).await;
        let Some(conversation) = conversations.ok().and_then(|c| c.into_iter().find(|c| c.comment.is_none())) else {
            return;
        };
        let job = QueueMessage::RefreshContact { organization_id: org.to_owned(), conversation_id: conversation.id };
        if let Err(e) = self.ports.queue.enqueue(&job, Duration::zero()).await {
            tracing::warn!(error = %e, "profile refresh not queued");
        }
    }

    /// The copy a signed URL of the local storage names (bytes, content type), if its
    /// signature holds and it has not expired; `None` for anything else, alike.
    pub async fn open_media(&self, key: &str, expires: i64, signature: &str) -> Option<(Vec<u8>, String)> {
        self.ports.media.as_deref()?.open_signed(key, expires, signature).await
    }

    /// Keeps an upload PUT to the local server's signed URL: `false` when the URL does not
    /// name it (or there is no storage that signs its own URLs).
    pub async fn put_media(&self, signed: &SignedPut<'_>, bytes: Vec<u8>) -> Result<bool, MediaError> {
        match self.ports.media.as_deref() {
            Some(media) => media.put_signed(signed, bytes).await,
            None => Ok(false),
        }
    }
}

/// `GET /api/inbox/contacts/:participantId`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactView {
    pub participant_id: String,
    pub username: Option<String>,
    pub name: Option<String>,
    pub picture: Option<PictureView>,
    /// Instagram's follower count, verified badge and follows, when Meta gave them.
    #[serde(flatten)]
    pub facts: crate::domain::ProfileFacts,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PictureView {
    /// The kept copy's signed URL, or Meta's link when no copy is kept.
    pub url: String,
    pub meta_url: String,
    /// When `url` stops working: a signed link's expiry, or the one Meta's CDN link carries
    /// (none when it carries none).
    pub url_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `url` no longer works (Meta's link past its expiry, no copy kept): show a placeholder.
    pub expired: bool,
}
