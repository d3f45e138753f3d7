//! SQLite store: conversations: one per (organization, account, customer), and appending messages to them.

use rusqlite::{Connection, params};

use super::messages::{message_by_external_id, save_message};
use super::*;
use crate::domain::{Activity, Conversation, Message, Provider};
use crate::ports::{Appended, ConversationStore};

pub(super) fn save_conversation(conn: &Connection, c: &Conversation) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR REPLACE INTO conversations (org, id, account_id, participant_id, provider, sort_key, body) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        params![
            c.organization_id,
            c.id,
            c.connected_account_id,
            c.participant_id,
            to_json(&c.provider)?,
            c.sort_key(),
            to_json(c)?
        ],
    )
    .map_err(sql)?;
    Ok(())
}

fn conversation(conn: &Connection, org: &str, id: &str) -> Result<Option<Conversation>, StoreError> {
    one(conn, "SELECT body FROM conversations WHERE org = ? AND id = ?", &[&org, &id])
}

fn conversation_of(
    conn: &Connection,
    org: &str,
    account_id: &str,
    participant: &str,
) -> Result<Option<Conversation>, StoreError> {
    one(
        conn,
        "SELECT body FROM conversations WHERE org = ? AND account_id = ? AND participant_id = ?",
        &[&org, &account_id, &participant],
    )
}

/// Changes a stored conversation (its inbox place follows); `None` when there is none.
pub(super) fn update_conversation(
    conn: &Connection,
    org: &str,
    id: &str,
    change: impl FnOnce(&mut Conversation),
) -> Result<Option<Conversation>, StoreError> {
    let Some(mut c) = conversation(conn, org, id)? else { return Ok(None) };
    change(&mut c);
    save_conversation(conn, &c)?;
    Ok(Some(c))
}

impl SqliteStore {
    async fn update_conversation(
        &self,
        org: &str,
        id: &str,
        change: impl FnOnce(&mut Conversation) + Send + 'static,
    ) -> Result<Option<Conversation>, StoreError> {
        let (org, id) = (owned(org), owned(id));
        self.db.call(move |conn| update_conversation(conn, &org, &id, change)).await
    }
}

#[async_trait::async_trait]
impl ConversationStore for SqliteStore {
    async fn get_conversation(&self, org: &str, id: &str) -> Result<Option<Conversation>, StoreError> {
        let (org, id) = (owned(org), owned(id));
        self.db.call(move |conn| conversation(conn, &org, &id)).await
    }

    async fn find_conversation(
        &self,
        org: &str,
        account_id: &str,
        participant_id: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        let (org, account_id, participant_id) = (owned(org), owned(account_id), owned(participant_id));
        self.db.call(move |conn| conversation_of(conn, &org, &account_id, &participant_id)).await
    }

    async fn create_conversation(&self, conversation: &Conversation) -> Result<Conversation, StoreError> {
        let c = conversation.clone();
        self.db
            .call(move |conn| {
                if let Some(existing) =
                    conversation_of(conn, &c.organization_id, &c.connected_account_id, &c.participant_id)?
                {
                    return Ok(existing);
                }
                save_conversation(conn, &c)?;
                Ok(c)
            })
            .await
    }

    async fn set_conversation_contact(
        &self,
        org: &str,
        id: &str,
        handle: Option<&str>,
        display_name: Option<&str>,
        lead_id: Option<&str>,
    ) -> Result<Option<Conversation>, StoreError> {
        let (handle, name, lead) = (handle.map(owned), display_name.map(owned), lead_id.map(owned));
        self.update_conversation(org, id, move |c| c.set_contact(handle.as_deref(), name.as_deref(), lead.as_deref()))
            .await
    }

    async fn set_conversation_preview(
        &self,
        org: &str,
        id: &str,
        newest_at: DateTime<Utc>,
        preview: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        let preview = owned(preview);
        self.update_conversation(org, id, move |c| c.set_preview_if_newest(newest_at, &preview)).await
    }

    async fn mark_conversation_read(&self, org: &str, id: &str) -> Result<Option<Conversation>, StoreError> {
        self.update_conversation(org, id, |c| c.unread_count = 0).await
    }

    async fn list_conversations(
        &self,
        org: &str,
        provider: Option<Provider>,
        request: &PageRequest,
    ) -> Result<Page<Conversation>, StoreError> {
        let (org, request) = (owned(org), request.clone());
        let provider = provider.map(|p| to_json(&p)).transpose()?;
        self.db
            .call(move |conn| match &provider {
                Some(p) => page(conn, "conversations", "org = ? AND provider = ?", &[&org, p], &request, true),
                None => page(conn, "conversations", "org = ?", &[&org], &request, true),
            })
            .await
    }

    async fn append_message(
        &self,
        _seen: &Conversation,
        message: &Message,
        activity: &Activity,
    ) -> Result<Appended, StoreError> {
        let (message, activity) = (message.clone(), activity.clone());
        self.db
            .call(move |conn| {
                let org = &message.organization_id;
                if let Some(mid) = &message.external_message_id
                    && let Some(existing) = message_by_external_id(conn, org, mid)?
                {
                    return Ok(Appended::Duplicate(Box::new(existing)));
                }
                let conversation = update_conversation(conn, org, &message.conversation_id, |c| c.apply(&activity))?
                    .ok_or_else(|| backend(format!("conversation {} not found", message.conversation_id)))?;
                save_message(conn, &message)?;
                Ok(Appended::New { message: Box::new(message), conversation: Box::new(conversation) })
            })
            .await
    }
}
