//! SQLite store: conversations: one per (organization, account, customer), and appending messages to them.

use rusqlite::Connection;

use super::rows::{conversation, message_by_external_id, save_conversation, save_message, update_conversation};
use super::*;
use crate::domain::{
    Activity, Conversation, ConversationChange, ConversationFilter, ConversationKind, Message, Provider,
};
use crate::ports::{Appended, ConversationStore};

fn conversation_of(
    conn: &Connection,
    org: &str,
    account_id: &str,
    thread_key: &str,
) -> Result<Option<Conversation>, StoreError> {
    one(
        conn,
        "SELECT body FROM conversations WHERE org = ? AND account_id = ? AND thread_key = ?",
        &[&org, &account_id, &thread_key],
    )
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
        self.db.read(move |conn| conversation(conn, &org, &id)).await
    }

    async fn find_conversation(
        &self,
        org: &str,
        account_id: &str,
        thread_key: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        let (org, account_id, thread_key) = (owned(org), owned(account_id), owned(thread_key));
        self.db.read(move |conn| conversation_of(conn, &org, &account_id, &thread_key)).await
    }

    async fn create_conversation(&self, conversation: &Conversation) -> Result<Conversation, StoreError> {
        let c = conversation.clone();
        self.db
            .call(move |conn| {
                if let Some(existing) =
                    conversation_of(conn, &c.organization_id, &c.connected_account_id, c.thread_key())?
                {
                    return Ok(existing);
                }
                save_conversation(conn, None, &c)?;
                Ok(c)
            })
            .await
    }

    async fn change_conversation(
        &self,
        org: &str,
        id: &str,
        change: &ConversationChange,
    ) -> Result<Option<Conversation>, StoreError> {
        let change = change.clone();
        self.update_conversation(org, id, move |c| c.change(&change)).await
    }

    async fn list_conversations(
        &self,
        org: &str,
        filter: ConversationFilter,
        request: &PageRequest,
    ) -> Result<Page<Conversation>, StoreError> {
        let (org, request) = (owned(org), request.clone());
        let (provider, kind) = (filter.provider.map(Provider::as_str), filter.kind.map(ConversationKind::as_str));
        self.db
            .read(move |conn| {
                // Each combination reads its own index: (org[, provider][, kind], sort_key, id).
                let mut equal: Vec<(&str, &dyn rusqlite::ToSql)> = vec![("org", &org)];
                equal.extend(provider.as_ref().map(|p| ("provider", p as &dyn rusqlite::ToSql)));
                equal.extend(kind.as_ref().map(|k| ("kind", k as &dyn rusqlite::ToSql)));
                page(conn, "conversations", &equal, &request, true)
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
                // The message first, then the conversation that counts it: the order they are
                // told. Without its conversation the call fails, and its savepoint undoes both.
                save_message(conn, None, &message)?;
                let conversation = update_conversation(conn, org, &message.conversation_id, |c| c.apply(&activity))?
                    .ok_or_else(|| backend(format!("conversation {} not found", message.conversation_id)))?;
                Ok(Appended::New { message: Box::new(message), conversation: Box::new(conversation) })
            })
            .await
    }
}
