//! SQLite store: messages after they are appended: lookups by Meta id, status and content changes, and changes waiting for their message.

use rusqlite::params;

use super::rows::{message_by_external_id, message_row, save_message, update_conversation};
use super::*;
use crate::domain::{Activity, Conversation, Message, MessageChange};
use crate::ports::{MarkSent, MessageStore, RawEvent};

impl SqliteStore {
    /// Changes a stored message; `None` when there is none.
    async fn update(
        &self,
        org: &str,
        id: &str,
        change: impl FnOnce(&mut Message) + Send + 'static,
    ) -> Result<Option<Message>, StoreError> {
        let (org, id) = (owned(org), owned(id));
        self.db
            .call(move |conn| {
                let Some(before) = message_row(conn, &org, &id)? else { return Ok(None) };
                let mut m = before.clone();
                change(&mut m);
                save_message(conn, Some(&before), &m)?;
                Ok(Some(m))
            })
            .await
    }
}

/// A message's changes that came before it, in arrival order: read for every DM.
pub(super) const PENDING_CHANGES: &str = "SELECT body FROM pending_changes WHERE org = +? AND mid = +? ORDER BY rowid";

#[async_trait::async_trait]
impl MessageStore for SqliteStore {
    async fn get_message(&self, org: &str, id: &str) -> Result<Option<Message>, StoreError> {
        let (org, id) = (owned(org), owned(id));
        self.db.read(move |conn| message_row(conn, &org, &id)).await
    }

    async fn message_id_by_external_id(&self, org: &str, external_id: &str) -> Result<Option<String>, StoreError> {
        let (org, mid) = (owned(org), owned(external_id));
        self.db
            .read(move |conn| {
                conn.query_row_cached(
                    "SELECT id FROM messages WHERE org = ? AND external_id = ?",
                    params![org, mid],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql)
            })
            .await
    }

    async fn find_message_by_external_id(&self, org: &str, external_id: &str) -> Result<Option<Message>, StoreError> {
        let (org, mid) = (owned(org), owned(external_id));
        self.db.read(move |conn| message_by_external_id(conn, &org, &mid)).await
    }

    async fn list_messages(
        &self,
        org: &str,
        conversation_id: &str,
        request: &PageRequest,
    ) -> Result<Page<Message>, StoreError> {
        let (org, conversation_id, request) = (owned(org), owned(conversation_id), request.clone());
        self.db
            .read(move |conn| {
                page(conn, "messages", &[("org", &org), ("conversation_id", &conversation_id)], &request, true)
            })
            .await
    }

    async fn put_pending_change(&self, org: &str, mid: &str, change: &RawEvent) -> Result<(), StoreError> {
        let (org, mid, change) = (owned(org), owned(mid), change.clone());
        self.db
            .call(move |conn| {
                conn.execute_cached(
                    "INSERT OR IGNORE INTO pending_changes (org, mid, id, body) VALUES (?, ?, ?, ?)",
                    params![org, mid, change.id, to_json(&change)?],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn pending_changes(&self, org: &str, mid: &str) -> Result<Vec<RawEvent>, StoreError> {
        let (org, mid) = (owned(org), owned(mid));
        self.db.read(move |conn| all(conn, PENDING_CHANGES, &[&org, &mid])).await
    }

    async fn delete_pending_change(&self, org: &str, mid: &str, id: &str) -> Result<(), StoreError> {
        let (org, mid, id) = (owned(org), owned(mid), owned(id));
        self.db
            .call(move |conn| {
                conn.execute_cached(
                    "DELETE FROM pending_changes WHERE org = ? AND mid = ? AND id = ?",
                    params![org, mid, id],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn insert_message(&self, message: &Message) -> Result<(), StoreError> {
        let message = message.clone();
        self.db
            .call(move |conn| {
                let org = &message.organization_id;
                if let Some(mid) = &message.external_message_id
                    && message_by_external_id(conn, org, mid)?.is_some()
                {
                    return Err(StoreError::Conflict("message with this Meta id"));
                }
                if message_row(conn, org, &message.id)?.is_some() {
                    return Err(StoreError::Conflict("message"));
                }
                save_message(conn, None, &message)
            })
            .await
    }

    async fn apply_activity(
        &self,
        org: &str,
        conversation_id: &str,
        activity: &Activity,
    ) -> Result<Option<Conversation>, StoreError> {
        let (org, id, activity) = (owned(org), owned(conversation_id), activity.clone());
        self.db.call(move |conn| update_conversation(conn, &org, &id, |c| c.apply(&activity))).await
    }

    async fn mark_message_sent(
        &self,
        org: &str,
        id: &str,
        external_id: &str,
        at: DateTime<Utc>,
    ) -> Result<MarkSent, StoreError> {
        let (org, id, mid) = (owned(org), owned(id), owned(external_id));
        self.db
            .call(move |conn| {
                if let Some(holder) = message_by_external_id(conn, &org, &mid)?
                    && holder.id != id
                {
                    return Ok(MarkSent::IdTakenBy(Box::new(holder)));
                }
                let Some(before) = message_row(conn, &org, &id)? else { return Ok(MarkSent::NotFound) };
                let mut m = before.clone();
                m.mark_sent(&mid, at);
                save_message(conn, Some(&before), &m)?;
                Ok(MarkSent::Sent(Box::new(m)))
            })
            .await
    }

    async fn mark_message_failed(
        &self,
        org: &str,
        id: &str,
        code: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError> {
        let code = owned(code);
        self.update(org, id, move |m| m.mark_failed(&code, at)).await
    }

    async fn update_message(
        &self,
        org: &str,
        id: &str,
        change: &MessageChange,
        at: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError> {
        let change = change.clone();
        self.update(org, id, move |m| {
            m.apply(&change, at);
        })
        .await
    }

    async fn delete_message(&self, org: &str, id: &str) -> Result<(), StoreError> {
        let (org, id) = (owned(org), owned(id));
        self.db
            .call(move |conn| {
                conn.execute_cached("DELETE FROM messages WHERE org = ? AND id = ?", params![org, id]).map_err(sql)?;
                Ok(())
            })
            .await
    }
}
