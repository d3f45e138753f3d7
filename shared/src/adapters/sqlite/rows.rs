//! The rows conversations and messages are stored in, read and written inside a caller's
//! transaction: what appending a message (conversations) and changing one (messages) share.

use rusqlite::{Connection, params};

use super::*;
use crate::domain::{Conversation, Message, StoredChange};

/// Writes the conversation and logs what changed since `before` (the row as the caller read
/// it, none for a new one): no second read.
pub(super) fn save_conversation(
    conn: &Connection,
    before: Option<&Conversation>,
    c: &Conversation,
) -> Result<(), StoreError> {
    let body = to_json(c)?;
    // Where it stays in the same thread and lists (the usual write: a message counted, a
    // read), only its place in time and its document change: an UPDATE of those two moves
    // just the indexes that hold them, where a REPLACE deletes and inserts every one.
    let updated = match before {
        Some(b) if place(b) == place(c) => conn
            .execute_cached(
                "UPDATE conversations SET sort_key = ?, body = ? WHERE org = ? AND id = ?",
                params![c.sort_key(), body, c.organization_id, c.id],
            )
            .map_err(sql)?,
        _ => 0,
    };
    if updated == 0 {
        conn.execute_cached(
            "INSERT OR REPLACE INTO conversations (org, id, account_id, thread_key, provider, kind, sort_key, body) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                c.organization_id,
                c.id,
                c.connected_account_id,
                c.thread_key(),
                c.provider.as_str(),
                c.kind.as_str(),
                c.sort_key(),
                body
            ],
        )
        .map_err(sql)?;
    }
    super::events::log(conn, StoredChange::Conversation { before, after: c })
}

/// What places a conversation in its thread and lists (the columns beside its document).
fn place(c: &Conversation) -> (&str, &str, crate::domain::Provider, crate::domain::ConversationKind) {
    (&c.connected_account_id, c.thread_key(), c.provider, c.kind)
}

pub(super) fn conversation(conn: &Connection, org: &str, id: &str) -> Result<Option<Conversation>, StoreError> {
    one(conn, "SELECT body FROM conversations WHERE org = ? AND id = ?", &[&org, &id])
}

/// Changes a stored conversation (its inbox place follows); `None` when there is none.
pub(super) fn update_conversation(
    conn: &Connection,
    org: &str,
    id: &str,
    change: impl FnOnce(&mut Conversation),
) -> Result<Option<Conversation>, StoreError> {
    let Some(before) = conversation(conn, org, id)? else { return Ok(None) };
    let mut c = before.clone();
    change(&mut c);
    save_conversation(conn, Some(&before), &c)?;
    Ok(Some(c))
}

/// Writes the message and logs what changed since `before` (the row as the caller read it,
/// none for a new one): no second read.
pub(super) fn save_message(conn: &Connection, before: Option<&Message>, m: &Message) -> Result<(), StoreError> {
    conn.execute_cached(
        "INSERT OR REPLACE INTO messages (org, id, conversation_id, sort_key, external_id, body) VALUES (?, ?, ?, ?, ?, ?)",
        params![m.organization_id, m.id, m.conversation_id, time(m.created_at), m.external_message_id, to_json(m)?],
    )
    .map_err(sql)?;
    super::events::log(conn, StoredChange::Message { before, after: m })
}

pub(super) fn message_row(conn: &Connection, org: &str, id: &str) -> Result<Option<Message>, StoreError> {
    one(conn, "SELECT body FROM messages WHERE org = ? AND id = ?", &[&org, &id])
}

pub(super) fn message_by_external_id(conn: &Connection, org: &str, mid: &str) -> Result<Option<Message>, StoreError> {
    one(conn, "SELECT body FROM messages WHERE org = ? AND external_id = ?", &[&org, &mid])
}
