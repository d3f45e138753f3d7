//! SQLite store: webhook events kept for replay.

use rusqlite::params;

use super::*;
use crate::ports::{RawEvent, RawEventStore};

#[async_trait::async_trait]
impl RawEventStore for SqliteStore {
    async fn put_raw_event(&self, event: &RawEvent) -> Result<(), StoreError> {
        let event = event.clone();
        self.db
            .call(move |conn| {
                conn.execute_cached(
                    "INSERT OR IGNORE INTO raw_events (id, external_account_id, sort_key, body) VALUES (?, ?, ?, ?)",
                    params![event.id, event.external_account_id, time(event.received_at), to_json(&event)?],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn raw_events_page(
        &self,
        external_account_id: &str,
        request: &PageRequest,
    ) -> Result<Page<RawEvent>, StoreError> {
        let (account, request) = (owned(external_account_id), request.clone());
        self.db.call(move |conn| page(conn, "raw_events", &[("external_account_id", &account)], &request, false)).await
    }

    async fn list_raw_events(&self, external_account_id: &str) -> Result<Vec<RawEvent>, StoreError> {
        let account = owned(external_account_id);
        self.db
            .call(move |conn| {
                all(
                    conn,
                    "SELECT body FROM raw_events WHERE external_account_id = +? ORDER BY sort_key, id",
                    &[&account],
                )
            })
            .await
    }

    async fn delete_raw_event(&self, external_account_id: &str, id: &str) -> Result<(), StoreError> {
        let (account, id) = (owned(external_account_id), owned(id));
        self.db
            .call(move |conn| {
                conn.execute_cached(
                    "DELETE FROM raw_events WHERE external_account_id = ? AND id = ?",
                    params![account, id],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }
}
