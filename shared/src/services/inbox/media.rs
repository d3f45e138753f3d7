//! Media copies as agents see them: each kept copy's `url` is a short-lived signed URL of
//! the deployment's storage (Meta's link stays as `metaUrl`), and the local server serves
//! its own signed URLs.

use chrono::Duration;

use crate::domain::Message;
use crate::domain::media::show_copy;

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

    /// The copy a signed URL of the local storage names (bytes, content type), if its
    /// signature holds and it has not expired; `None` for anything else, alike.
    pub async fn open_media(&self, key: &str, expires: i64, signature: &str) -> Option<(Vec<u8>, String)> {
        self.ports.media.as_deref()?.open_signed(key, expires, signature).await
    }
}
