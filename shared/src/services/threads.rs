//! Conversation lookups both flows need: the inbound flow opens a customer's DM
//! conversation on their first message, the outbound flow on a private reply to their
//! comment; every flow reads one by id with the same 404.

use chrono::{DateTime, Utc};

use crate::domain::{ConnectedAccount, Conversation};
use crate::error::AppError;
use crate::ports::ConversationStore;

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
