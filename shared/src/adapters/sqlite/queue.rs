//! The local server's durable jobs queue, in the store's SQLite file: a message enqueued is
//! committed before `enqueue` returns, so a killed server loses no queued reply. It keeps
//! SQS's rules: a delivered message is leased until settled, comes back when not handled,
//! and after `MAX_RECEIVES` deliveries moves to `dead_letters`.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{OptionalExtension, params};
use tokio::sync::Notify;

use super::{CachedStatements, Db};
use crate::ports::{Clock, Delivery, JobQueue, LocalQueue, QueueError, QueueMessage, StoreError};

/// Deliveries before a message is dead-lettered (the template's `maxReceiveCount`).
pub const MAX_RECEIVES: i64 = 5;

/// How long a taken message is the worker's before it may be delivered again.
const LEASE: Duration = Duration::minutes(2);

pub struct SqliteQueue {
    db: Db,
    clock: Arc<dyn Clock>,
    notify: Notify,
}

fn failed(e: StoreError) -> QueueError {
    QueueError(e.to_string())
}

impl SqliteQueue {
    /// The queue in `db`'s file. A message leased when this process starts was leased by a
    /// process that is gone (only one server uses a file): it is due again at once.
    /// The queue of a file no other server uses (`open`), for a process that only reads
    /// beside a running server (the doctor): its leases stay as they are.
    pub fn attach(db: Db, clock: Arc<dyn Clock>) -> Self {
        SqliteQueue { db, clock, notify: Notify::new() }
    }

    pub async fn open(db: Db, clock: Arc<dyn Clock>) -> Result<Self, QueueError> {
        let now = clock.now().timestamp_millis();
        db.call(move |conn| {
            conn.execute_cached("UPDATE queue SET leased = 0, due_at = MIN(due_at, ?) WHERE leased = 1", params![now])
                .map_err(super::sql)
        })
        .await
        .map_err(failed)?;
        Ok(SqliteQueue { db, clock, notify: Notify::new() })
    }

    /// Messages in the dead-letter table (the local dead-letter queue's depth).
    pub async fn dead_letters(&self) -> Result<usize, QueueError> {
        let count = self
            .db
            .call(|conn| {
                conn.query_row_cached("SELECT COUNT(*) FROM dead_letters", [], |r| r.get::<_, i64>(0))
                    .map_err(super::sql)
            })
            .await
            .map_err(failed)?;
        Ok(count as usize)
    }
}

#[async_trait]
impl JobQueue for SqliteQueue {
    async fn enqueue(&self, message: &QueueMessage, delay: Duration) -> Result<(), QueueError> {
        let body = serde_json::to_string(message).map_err(|e| QueueError(e.to_string()))?;
        let correlation = crate::correlation::current();
        let due = (self.clock.now() + delay.max(Duration::zero())).timestamp_millis();
        self.db
            .call(move |conn| {
                conn.execute_cached(
                    "INSERT INTO queue (body, correlation, due_at) VALUES (?, ?, ?)",
                    params![body, correlation, due],
                )
                .map_err(super::sql)
            })
            .await
            .map_err(failed)?;
        self.notify.notify_one();
        Ok(())
    }
}

#[async_trait]
impl LocalQueue for SqliteQueue {
    async fn take_due(&self) -> Result<Vec<Delivery>, QueueError> {
        let now = self.clock.now().timestamp_millis();
        let leased_until = now + LEASE.num_milliseconds();
        self.db
            .call(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT seq, body, correlation FROM queue WHERE due_at <= ? ORDER BY due_at, seq LIMIT 10",
                    )
                    .map_err(super::sql)?;
                let rows = stmt
                    .query_map(params![now], |r| {
                        Ok(Delivery { id: r.get::<_, i64>(0)?.to_string(), body: r.get(1)?, correlation: r.get(2)? })
                    })
                    .map_err(super::sql)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(super::sql)?;
                for d in &rows {
                    conn.execute_cached(
                        "UPDATE queue SET leased = 1, due_at = ?, receives = receives + 1 WHERE seq = ?",
                        params![leased_until, d.id],
                    )
                    .map_err(super::sql)?;
                }
                Ok(rows)
            })
            .await
            .map_err(failed)
    }

    async fn settle(&self, delivery: &Delivery, handled: bool, retry_in: Duration) -> Result<(), QueueError> {
        let seq: i64 = delivery.id.parse().map_err(|_| QueueError(format!("not a local delivery: {}", delivery.id)))?;
        let now = self.clock.now().timestamp_millis();
        let due = now + retry_in.num_milliseconds();
        self.db
            .call(move |conn| {
                if handled {
                    conn.execute_cached("DELETE FROM queue WHERE seq = ?", params![seq]).map_err(super::sql)?;
                    return Ok(());
                }
                let receives: Option<i64> = conn
                    .query_row_cached("SELECT receives FROM queue WHERE seq = ?", params![seq], |r| r.get(0))
                    .optional()
                    .map_err(super::sql)?;
                if receives.is_some_and(|n| n >= MAX_RECEIVES) {
                    conn.execute_cached(
                        "INSERT INTO dead_letters (seq, body, correlation, receives, dead_at) \
                         SELECT seq, body, correlation, receives, ? FROM queue WHERE seq = ?",
                        params![now, seq],
                    )
                    .map_err(super::sql)?;
                    conn.execute_cached("DELETE FROM queue WHERE seq = ?", params![seq]).map_err(super::sql)?;
                    tracing::error!(seq, "a job message failed {MAX_RECEIVES} times: moved to dead_letters");
                } else {
                    conn.execute_cached("UPDATE queue SET leased = 0, due_at = ? WHERE seq = ?", params![due, seq])
                        .map_err(super::sql)?;
                }
                Ok(())
            })
            .await
            .map_err(failed)
    }

    async fn next_due_at(&self) -> Result<Option<DateTime<Utc>>, QueueError> {
        let due: Option<i64> = self
            .db
            .call(|conn| conn.query_row_cached("SELECT MIN(due_at) FROM queue", [], |r| r.get(0)).map_err(super::sql))
            .await
            .map_err(failed)?;
        Ok(due.and_then(DateTime::from_timestamp_millis))
    }

    fn wakeup(&self) -> &Notify {
        &self.notify
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::ManualClock;

    fn db() -> Db {
        let dir = std::env::temp_dir().join(crate::domain::new_id("sqlite-queue"));
        Db::open(&dir.join("inbox.sqlite3"), super::super::DEFAULT_GROUP).unwrap()
    }

    fn clock() -> Arc<ManualClock> {
        Arc::new(ManualClock::new(DateTime::from_timestamp(1_750_000_000, 0).unwrap()))
    }

    fn message(d: &Delivery) -> QueueMessage {
        serde_json::from_str(&d.body).unwrap()
    }

    #[tokio::test]
    async fn messages_come_due_in_order_and_a_taken_one_is_leased_until_settled() {
        let (db, clock) = (db(), clock());
        let q = SqliteQueue::open(db, clock.clone()).await.unwrap();
        q.enqueue(&QueueMessage::send("org", "late"), Duration::seconds(10)).await.unwrap();
        q.enqueue(&QueueMessage::send("org", "now"), Duration::zero()).await.unwrap();
        let taken = q.take_due().await.unwrap();
        assert_eq!(taken.iter().map(message).collect::<Vec<_>>(), vec![QueueMessage::send("org", "now")]);
        assert!(q.take_due().await.unwrap().is_empty(), "leased, not delivered twice");
        q.settle(&taken[0], false, Duration::seconds(30)).await.unwrap();
        clock.advance(Duration::seconds(10));
        assert_eq!(q.take_due().await.unwrap().len(), 1, "the late one only");
        clock.advance(Duration::seconds(20));
        let again = q.take_due().await.unwrap();
        assert_eq!(again.len(), 1, "the unhandled one came back after 30 s");
        q.settle(&again[0], true, Duration::seconds(30)).await.unwrap();
        clock.advance(Duration::minutes(10));
        assert_eq!(q.take_due().await.unwrap().len(), 1, "the late one's lease ran out; the handled one is gone");
    }

    #[tokio::test]
    async fn a_message_leased_by_a_process_that_died_is_due_at_once_in_the_next() {
        let (db, clock) = (db(), clock());
        let q = SqliteQueue::open(db.clone(), clock.clone()).await.unwrap();
        crate::correlation::scope(Some("req-1".into()), q.enqueue(&QueueMessage::send("org", "j"), Duration::zero()))
            .await
            .unwrap();
        assert_eq!(q.take_due().await.unwrap().len(), 1);
        drop(q); // the process dies holding the lease
        let next = SqliteQueue::open(db, clock.clone()).await.unwrap();
        let taken = next.take_due().await.unwrap();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].correlation.as_deref(), Some("req-1"), "the correlation id survives");
    }

    #[tokio::test]
    async fn a_message_that_keeps_failing_moves_to_the_dead_letters() {
        let (db, clock) = (db(), clock());
        let q = SqliteQueue::open(db, clock.clone()).await.unwrap();
        q.enqueue(&QueueMessage::send("org", "poison"), Duration::zero()).await.unwrap();
        for _ in 0..MAX_RECEIVES {
            let taken = q.take_due().await.unwrap();
            assert_eq!(taken.len(), 1);
            q.settle(&taken[0], false, Duration::zero()).await.unwrap();
        }
        assert!(q.take_due().await.unwrap().is_empty());
        assert_eq!(q.next_due_at().await.unwrap(), None);
        assert_eq!(q.dead_letters().await.unwrap(), 1);
    }
}
