//! SQLite store: erasure of a customer's or an organization's data, a page at a time, each
//! page in its call's savepoint.

use rusqlite::{Connection, params};

use super::*;
use crate::domain::{Conversation, Lead, OrganizationSettings};
use crate::ports::{ErasureStore, SettingsStore};

/// The organization's tables and the key columns that name one row, in the order an erasure
/// empties them (the accounts, which route webhooks, with their routes first).
const ORGANIZATION_TABLES: [(&str, &str); 12] = [
    ("account_routes", "external_id"),
    ("accounts", "org, id"),
    ("tokens", "org, account_id, kind"),
    ("messages", "org, id"),
    ("pending_changes", "rowid"),
    ("conversations", "org, id"),
    ("leads", "org, id"),
    ("profiles", "org, instagram_user_id"),
    ("jobs", "org, id"),
    ("idempotency", "org, key"),
    ("events", "org, position"),
    ("organizations", "org"),
];

/// Deletes up to `limit` rows of `table` chosen by `filter` (its `?`s bound to `args`).
fn delete_some(
    conn: &Connection,
    table: &str,
    key: &str,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
    limit: usize,
) -> Result<usize, StoreError> {
    let statement =
        format!("DELETE FROM {table} WHERE ({key}) IN (SELECT {key} FROM {table} WHERE {filter} LIMIT {limit})");
    conn.execute_cached(&statement, args).map_err(sql)
}

fn erase_conversation_page(conn: &Connection, org: &str, id: &str, limit: usize) -> Result<usize, StoreError> {
    let page: Vec<(String, Option<String>)> = {
        let mut stmt = conn
            .prepare_cached("SELECT id, external_id FROM messages WHERE org = ? AND conversation_id = ? LIMIT ?")
            .map_err(sql)?;
        let rows = stmt.query_map(params![org, id, limit as i64], |r| Ok((r.get(0)?, r.get(1)?))).map_err(sql)?;
        rows.collect::<Result<_, _>>().map_err(sql)?
    };
    let mut removed = 0;
    for (message, mid) in &page {
        removed +=
            conn.execute_cached("DELETE FROM messages WHERE org = ? AND id = ?", params![org, message]).map_err(sql)?;
        if let Some(mid) = mid {
            let waiting = "DELETE FROM pending_changes WHERE org = ? AND mid = ?";
            removed += conn.execute_cached(waiting, params![org, mid]).map_err(sql)?;
        }
    }
    if removed > 0 {
        return Ok(removed);
    }
    let about = "DELETE FROM events WHERE org = ? AND json_extract(body, '$.conversationId') = ?";
    removed += conn.execute_cached(about, params![org, id]).map_err(sql)?;
    removed +=
        conn.execute_cached("DELETE FROM conversations WHERE org = ? AND id = ?", params![org, id]).map_err(sql)?;
    Ok(removed)
}

#[async_trait::async_trait]
impl ErasureStore for SqliteStore {
    async fn conversations_of_participant(
        &self,
        org: &str,
        participant_id: &str,
    ) -> Result<Vec<Conversation>, StoreError> {
        let (org, participant) = (owned(org), owned(participant_id));
        // The expression is the index's (`conversations_by_participant`).
        let query = "SELECT body FROM conversations WHERE org = ? AND json_extract(body, '$.participantId') = ? \
                     ORDER BY id";
        self.db.call(move |conn| all(conn, query, &[&org, &participant])).await
    }

    async fn inactive_conversations(
        &self,
        org: &str,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let (org, before) = (owned(org), time(before));
        let query = format!(
            "SELECT body FROM conversations WHERE org = ? AND sort_key < ? ORDER BY sort_key, id LIMIT {limit}"
        );
        self.db.call(move |conn| all(conn, &query, &[&org, &before])).await
    }

    async fn erase_conversation(&self, org: &str, id: &str, limit: usize) -> Result<usize, StoreError> {
        let (org, id) = (owned(org), owned(id));
        self.db.call(move |conn| erase_conversation_page(conn, &org, &id, limit)).await
    }

    async fn erase_customer(&self, org: &str, participant_id: &str) -> Result<usize, StoreError> {
        let (org, participant) = (owned(org), owned(participant_id));
        self.db
            .call(move |conn| {
                let profile = conn
                    .execute_cached(
                        "DELETE FROM profiles WHERE org = ? AND instagram_user_id = ?",
                        params![org, participant],
                    )
                    .map_err(sql)?;
                let lead: Option<Lead> =
                    one(conn, "SELECT body FROM leads WHERE org = ? AND instagram_user_id = ?", &[&org, &participant])?;
                let Some(mut lead) = lead else { return Ok(profile) };
                lead.instagram_user_id = None;
                lead.instagram_handle = None;
                conn.execute_cached(
                    "UPDATE leads SET instagram_user_id = NULL, handle = NULL, body = ? WHERE org = ? AND id = ?",
                    params![to_json(&lead)?, org, lead.id],
                )
                .map_err(sql)?;
                Ok(profile + 1)
            })
            .await
    }

    async fn erase_organization(&self, org: &str, limit: usize) -> Result<usize, StoreError> {
        let org = owned(org);
        self.db
            .call(move |conn| {
                let mut removed = 0;
                for (table, key) in ORGANIZATION_TABLES {
                    if removed >= limit {
                        break;
                    }
                    removed += delete_some(conn, table, key, "org = ?", &[&org], limit - removed)?;
                }
                Ok(removed)
            })
            .await
    }
}

#[async_trait::async_trait]
impl SettingsStore for SqliteStore {
    async fn get_settings(&self, org: &str) -> Result<Option<OrganizationSettings>, StoreError> {
        let org = owned(org);
        self.db.call(move |conn| one(conn, "SELECT body FROM organizations WHERE org = ?", &[&org])).await
    }

    async fn put_settings(&self, settings: &OrganizationSettings) -> Result<(), StoreError> {
        let settings = settings.clone();
        self.db
            .call(move |conn| {
                conn.execute_cached(
                    "INSERT OR REPLACE INTO organizations (org, retention_days, body) VALUES (?, ?, ?)",
                    params![settings.organization_id, settings.message_retention_days, to_json(&settings)?],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn organizations_with_retention(&self) -> Result<Vec<OrganizationSettings>, StoreError> {
        let query = "SELECT body FROM organizations WHERE retention_days IS NOT NULL ORDER BY org";
        self.db.call(move |conn| all(conn, query, &[])).await
    }
}
