//! SQLite store: each organization's event log, appended by the writes of messages,
//! conversations and accounts themselves (`log`), in the write's savepoint: what is stored
//! is told once, and what a failed call undid is not.

use std::cell::Cell;

use rusqlite::{Connection, params};

use super::*;
use crate::domain::{InboxEvent, LoggedEvent, StoredChange, time_text};
use crate::ports::EventStore;

// The connection is its thread's alone: what the log needs beside it lives there too.
thread_local! {
    /// How long an event is kept (`EventStore::keep_events_for`).
    static RETENTION: Cell<chrono::Duration> = const { Cell::new(chrono::Duration::hours(24)) };
    /// This connection's count of events logged: orders those of one millisecond.
    static SEQUENCE: Cell<u64> = const { Cell::new(0) };
}

/// Appends what a write tells to its organization's log (each event once, by id).
pub(super) fn log(conn: &Connection, change: StoredChange<'_>) -> Result<(), StoreError> {
    let now = Utc::now();
    let expires_at = time(now + RETENTION.get());
    for e in change.events() {
        let sequence = SEQUENCE.get() + 1;
        SEQUENCE.set(sequence);
        let position = LoggedEvent::position_of(now, sequence, &e.id);
        insert(conn, &position, &e, &expires_at)?;
    }
    Ok(())
}

/// Logs `e` at `position`, unless it is logged already: the unique (org, at, id) index keeps
/// an event once.
fn insert(conn: &Connection, position: &str, e: &InboxEvent, expires_at: &str) -> Result<(), StoreError> {
    conn.execute_cached(
        "INSERT OR IGNORE INTO events (org, position, id, at, expires_at, body) VALUES (?, ?, ?, ?, ?, ?)",
        params![e.organization_id, position, e.id, time_text::text(e.at), expires_at, to_json(e)?],
    )
    .map(drop)
    .map_err(sql)
}

/// An organization's events after a position, oldest first: what every live reader polls.
pub(super) const EVENTS_AFTER: &str =
    "SELECT position, body FROM events WHERE org = +? AND position > ? AND expires_at > ? ORDER BY position LIMIT +?";

#[async_trait::async_trait]
impl EventStore for SqliteStore {
    fn keep_events_for(&self, retain: chrono::Duration) {
        // Told on the connection's thread, queued before any write that follows.
        self.db.queue(move |_| RETENTION.set(retain));
    }

    async fn append_events(
        &self,
        events: &[LoggedEvent],
        expires_at: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let events = events.to_vec();
        self.db
            .call(move |conn| {
                let mut gone = Vec::new();
                for LoggedEvent { position, event: e } in &events {
                    if !record_exists(conn, e)? {
                        gone.push(e.id.clone());
                        continue;
                    }
                    insert(conn, position, e, &time(expires_at))?;
                }
                Ok(gone)
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
                let mut stmt = conn.prepare_cached(EVENTS_AFTER).map_err(sql)?;
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

/// Whether the record an event tells of is still stored (none outlives an erasure).
fn record_exists(conn: &Connection, e: &crate::domain::InboxEvent) -> Result<bool, StoreError> {
    use crate::domain::RecordKind;
    let Some((kind, id)) = e.record() else { return Ok(true) };
    let table = match kind {
        RecordKind::Message => "messages",
        RecordKind::Conversation => "conversations",
        RecordKind::Account => "accounts",
    };
    let query = format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE org = ? AND id = ?)");
    conn.query_row_cached(&query, params![e.organization_id, id], |r| r.get(0)).map_err(sql)
}
