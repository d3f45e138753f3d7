//! SQLite store: idempotency keys (and spent OAuth states, in their own key space).

use rusqlite::params;

use super::*;
use crate::domain::IdempotencyRecord;
use crate::ports::IdempotencyStore;

#[async_trait::async_trait]
impl IdempotencyStore for SqliteStore {
    async fn reserve_idempotency_key(
        &self,
        record: &IdempotencyRecord,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let record = record.clone();
        self.db
            .call(move |conn| {
                let (org, key) = (&record.organization_id, &record.key);
                let earlier = one(conn, "SELECT body FROM idempotency WHERE org = ? AND key = ?", &[org, key])?;
                if earlier.is_none() {
                    conn.execute_cached(
                        "INSERT INTO idempotency (org, key, body) VALUES (?, ?, ?)",
                        params![org, key, to_json(&record)?],
                    )
                    .map_err(sql)?;
                }
                Ok(earlier)
            })
            .await
    }
}
