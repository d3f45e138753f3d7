//! SQLite store: each organization's event log.

use rusqlite::params;

use super::*;
use crate::domain::LoggedEvent;
use crate::ports::EventStore;

#[async_trait::async_trait]
impl EventStore for SqliteStore {
    async fn append_events(&self, events: &[LoggedEvent], expires_at: DateTime<Utc>) -> Result<(), StoreError> {
        let events = events.to_vec();
        self.db
            .call(move |conn| {
                for LoggedEvent { position, event: e } in &events {
                    // The unique (org, id) index keeps an event logged once.
                    conn.execute(
                        "INSERT OR IGNORE INTO events (org, position, id, expires_at, body) VALUES (?, ?, ?, ?, ?)",
                        params![e.organization_id, position, e.id, time(expires_at), to_json(e)?],
                    )
                    .map_err(sql)?;
                }
                Ok(())
            })
            .await
    }

    async fn events_after(
        &self,
        org: &str,
        after: Option<&str>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        let (org, after) = (owned(org), after.unwrap_or_default().to_owned());
        self.db
            .call(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT position, body FROM events WHERE org = ? AND position > ? AND expires_at > ? \
                         ORDER BY position LIMIT ?",
                    )
                    .map_err(sql)?;
                let rows = stmt
                    .query_map(params![org, after, time(now), limit as i64], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })
                    .map_err(sql)?;
                let rows: Vec<(String, String)> = rows.collect::<Result<_, _>>().map_err(sql)?;
                rows.into_iter()
                    .map(|(position, body)| Ok(LoggedEvent { position, event: from_json(&body)? }))
                    .collect()
            })
            .await
    }
}
