//! Conversation lookups both flows need: the inbound flow opens a customer's DM
//! conversation on their first message, the outbound flow on a private reply to their
//! comment; every flow reads one by id with the same 404. And media copies, which go
//! with the records they belong to, however those go.

use chrono::{DateTime, Utc};

use crate::domain::{ConnectedAccount, Conversation, ErasureProgress, erase_in_pages};
use crate::error::AppError;
use crate::ports::{ConversationStore, MediaStore, StoreError};

/// The organization's conversation `id`, or a 404.
pub(crate) async fn conversation(store: &dyn ConversationStore, org: &str, id: &str) -> Result<Conversation, AppError> {
    store.get_conversation(org, id).await?.ok_or_else(|| AppError::not_found("conversation"))
}

/// The conversation of (account, customer), opened at `at` if there is none yet.
pub(crate) async fn open_conversation(
    store: &dyn ConversationStore,
    account: &ConnectedAccount,
    customer_id: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Conversation, AppError> {
    let org = &account.organization_id;
    if let Some(c) = store.find_conversation(org, &account.id, customer_id).await? {
        return Ok(c);
    }
    let id = Conversation::id_for(org, &account.id, customer_id);
    let opened = Conversation::opened(id, org, &account.id, customer_id, at, now);
    let fresh = Conversation { provider: account.provider, ..opened };
    Ok(store.create_conversation(&fresh).await?)
}

/// Forgets every media copy under `prefix` (`domain::media::media_prefix`), when the
/// deployment keeps copies.
pub(crate) async fn drop_media(media: Option<&dyn MediaStore>, prefix: &str) -> Result<(), AppError> {
    match media {
        Some(media) => media.delete_prefix(prefix).await.map_err(|e| AppError::unavailable(e.to_string())),
        None => Ok(()),
    }
}

/// Erases records a page at a time (`erase_in_pages`), with the media copies under
/// `prefix` forgotten before and, once the records are gone, again: a copy a job made
/// meanwhile does not outlive its record (the job itself deletes a copy it makes later).
pub(crate) async fn erase_with_media<F, Fut>(
    media: Option<&dyn MediaStore>,
    prefix: &str,
    calls: &mut usize,
    page: F,
) -> Result<ErasureProgress, AppError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<usize, StoreError>>,
{
    drop_media(media, prefix).await?;
    let progress = erase_in_pages(calls, page).await?;
    if progress.done {
        drop_media(media, prefix).await?;
    }
    Ok(progress)
}
