//! The embedded durable store: SQLite in one file (WAL), the local server's default. It
//! answers exactly as the memory and DynamoDB adapters do (the conformance suite holds all
//! three to that), and every list is an ordered index range, as DynamoDB's queries are.
//!
//! One thread owns the connection. Calls queue their work to it; it runs whatever has
//! queued up in one transaction, each call in its own savepoint (a failed call undoes only
//! itself), and answers every caller once that transaction is committed. Concurrent writers
//! (a webhook's lanes) so share one commit, and one disk sync, instead of paying one each.

mod accounts;
mod checkpoint;
mod conversations;
mod erasure;
mod events;
mod idempotency;
mod jobs;
mod layout;
mod leads;
mod messages;
pub mod queue;
mod raw_events;
mod rows;

use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, ToSql};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::{Cursor, Page, PageRequest};
use crate::ports::StoreError;

/// The most calls one transaction takes.
pub const DEFAULT_GROUP: usize = 256;

/// Prepared statements kept per connection: more than the store has, so each is parsed and
/// planned once (parsing them on every call was a fifth of the writer thread's time).
const STATEMENT_CACHE: usize = 256;

type Answer = Box<dyn FnOnce(Result<(), String>) + Send>;
type Work = Box<dyn FnOnce(&Connection) -> Answer + Send>;

/// Pages each connection keeps, in KiB (SQLite's default is 2 MiB): the unique indexes on
/// random ids (Meta's message ids, events' ids) take writes all over, and at the default their
/// pages were read back from the file on most writes.
const CACHE_KIB: i64 = 32 * 1024;

/// A read: runs on a reader's connection and answers at once.
type Read = Box<dyn FnOnce(&Connection) + Send>;

/// Threads that each hold a read-only connection: reads see only committed (synced) data,
/// and neither wait for the writer's commit nor take its thread.
const READERS: usize = 2;

/// The handle to the thread that owns the connection (and to the readers); cheap to clone.
#[derive(Clone)]
pub struct Db {
    work: mpsc::Sender<Work>,
    reads: mpsc::Sender<Read>,
}

impl Db {
    /// Opens (creating if needed) the database at `path`. `group`: the most calls one
    /// transaction takes (1: a transaction per call).
    pub fn open(path: &Path, group: usize) -> Result<Db, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| backend(format!("{}: {e}", dir.display())))?;
        }
        let mut conn = Connection::open(path).map_err(|e| backend(format!("{}: {e}", path.display())))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.pragma_update(None, "cache_size", -CACHE_KIB).map_err(sql)?;
        // FULL: a committed call survives a power cut, not only a killed process; grouping
        // calls into one commit is what keeps that affordable.
        // temp_store MEMORY: each call's savepoint journals the pages it changes; on disk that
        // journal spilled to a temporary file past 64 KiB of a group, a write per page.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA temp_store = MEMORY;",
        )
        .map_err(sql)?;
        layout::bring_up_to_date(&conn, path)?;
        conn.execute_batch(include_str!("schema.sql")).map_err(sql)?;
        conn.pragma_update(None, "user_version", layout::SCHEMA_VERSION).map_err(sql)?;
        let (reads, asked) = mpsc::channel::<Read>();
        let asked = Arc::new(Mutex::new(asked));
        for n in 0..READERS {
            let reader =
                Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                    .map_err(|e| backend(format!("{}: {e}", path.display())))?;
            reader.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            reader.pragma_update(None, "cache_size", -CACHE_KIB).map_err(sql)?;
            // A WAL reader can meet a lock for a moment (the WAL's recovery, a checkpoint
            // that truncates it): wait for it as the writer does.
            reader.busy_timeout(std::time::Duration::from_secs(5)).map_err(sql)?;
            let asked = asked.clone();
            std::thread::Builder::new()
                .name(format!("sqlite-read-{n}"))
                .spawn(move || read_loop(reader, &asked))
                .map_err(|e| backend(e.to_string()))?;
        }
        checkpoint::start(&mut conn, path)?;
        let (work, queued) = mpsc::channel::<Work>();
        std::thread::Builder::new()
            .name("sqlite".into())
            .spawn(move || serve(conn, queued, group.max(1)))
            .map_err(|e| backend(e.to_string()))?;
        Ok(Db { work, reads })
    }

    /// Runs the read-only `f` on a reader's connection, in one read transaction (one
    /// snapshot of what was committed), and answers at once. A write in `f` fails: the
    /// connection is read-only.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        ask(&self.reads, "readers", |answer| -> Read {
            Box::new(move |conn| {
                let _ = answer.send(in_read_transaction(conn, f));
            })
        })
        .await
    }

    /// Runs `f` on the connection, inside a transaction shared with other calls; answers
    /// once that transaction is committed.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        ask(&self.work, "writer", |answer| -> Work {
            Box::new(move |conn| {
                let result = in_savepoint(conn, f);
                Box::new(move |committed| {
                    let _ = answer.send(committed.map_err(StoreError::Backend).and(result));
                })
            })
        })
        .await
    }
}

/// Sends the job `wrap` makes around an answer channel to `thread`, and waits for its answer.
async fn ask<J, T>(
    thread: &mpsc::Sender<J>,
    who: &str,
    wrap: impl FnOnce(tokio::sync::oneshot::Sender<Result<T, StoreError>>) -> J,
) -> Result<T, StoreError> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    let stopped = || backend(format!("the sqlite {who} stopped"));
    thread.send(wrap(answer)).map_err(|_| stopped())?;
    answered.await.map_err(|_| stopped())?
}

impl Db {
    /// Queues `f` on the connection's thread without waiting for it (the thread's settings).
    pub fn queue(&self, f: impl FnOnce(&Connection) + Send + 'static) {
        let work: Work = Box::new(move |conn| {
            f(conn);
            Box::new(|_| {})
        });
        let _ = self.work.send(work); // a stopped thread has nothing left to set
    }
}

/// The connection's thread: takes what has queued (up to `group`), runs it in one
/// transaction, commits, answers each caller with the commit's outcome. Checkpoints are the
/// checkpoint thread's (`checkpoint.rs`).
fn serve(conn: Connection, queued: mpsc::Receiver<Work>, group: usize) {
    while let Ok(first) = queued.recv() {
        let mut batch = vec![first];
        batch.extend(queued.try_iter().take(group - 1));
        if let Err(e) = conn.execute_cached("BEGIN IMMEDIATE", []) {
            let answers: Vec<Answer> = batch.into_iter().map(|w| w(&conn)).collect();
            answers.into_iter().for_each(|a| a(Err(format!("begin: {e}"))));
            continue;
        }
        let answers: Vec<Answer> = batch.into_iter().map(|w| w(&conn)).collect();
        let committed = conn.execute_cached("COMMIT", []).map(|_| ()).map_err(|e| format!("commit: {e}"));
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        answers.into_iter().for_each(|a| a(committed.clone()));
    }
}

/// A reader: takes the next read (any reader may), runs it, until the store is dropped.
fn read_loop(conn: Connection, asked: &Mutex<mpsc::Receiver<Read>>) {
    loop {
        let next = asked.lock().map(|r| r.recv());
        let Ok(Ok(read)) = next else { return };
        read(&conn);
    }
}

fn in_read_transaction<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.execute_cached("BEGIN", []).map_err(sql)?;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)))
        .unwrap_or_else(|_| Err(backend("a store read panicked".into())));
    conn.execute_cached("COMMIT", []).map_err(sql)?;
    result
}

/// One call in its own savepoint: an error (or a panic) undoes its writes and only its.
fn in_savepoint<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
    conn.execute_cached("SAVEPOINT call", []).map_err(sql)?;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)))
        .unwrap_or_else(|_| Err(backend("a store call panicked".into())));
    if result.is_err() {
        conn.execute_cached("ROLLBACK TO call", []).map_err(sql)?;
    }
    conn.execute_cached("RELEASE call", []).map_err(sql)?;
    result
}

/// `execute` and `query_row` through the connection's statement cache (`STATEMENT_CACHE`).
pub(crate) trait CachedStatements {
    fn execute_cached<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    fn query_row_cached<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;
}

impl CachedStatements for Connection {
    fn execute_cached<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn query_row_cached<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

/// The durable store; `queue::SqliteQueue` shares its file (`Db`).
#[derive(Clone)]
pub struct SqliteStore {
    db: Db,
}

impl SqliteStore {
    pub fn new(db: Db) -> Self {
        SqliteStore { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }
}

pub(crate) fn backend(why: String) -> StoreError {
    StoreError::Backend(why)
}

pub(crate) fn sql(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(format!("sqlite: {e}"))
}

/// A uniqueness constraint failed: `Conflict(what)`; any other error is the backend's.
fn conflict_or_sql(what: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::Conflict(what),
        _ => sql(e),
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| backend(format!("encoding a row: {e}")))
}

fn from_json<T: DeserializeOwned>(body: &str) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|e| backend(format!("decoding a row: {e}")))
}

/// The document of the one row `query` selects (its first column), if any.
fn one<T: DeserializeOwned>(conn: &Connection, query: &str, params: &[&dyn ToSql]) -> Result<Option<T>, StoreError> {
    let body: Option<String> = conn.query_row_cached(query, params, |r| r.get(0)).optional().map_err(sql)?;
    body.map(|b| from_json(&b)).transpose()
}

/// The documents of every row `query` selects (their first column), in its order.
fn all<T: DeserializeOwned>(conn: &Connection, query: &str, params: &[&dyn ToSql]) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(query).map_err(sql)?;
    let bodies = stmt.query_map(params, |r| r.get::<_, String>(0)).map_err(sql)?;
    bodies.map(|b| from_json(&b.map_err(sql)?)).collect()
}

/// One page of `table`'s rows whose `equal` columns hold the values given, ordered by
/// `(sort_key, id)`: newest first when `descending`, resuming after the cursor. The index
/// on those columns and `(sort_key, id)` makes this a range read of one page.
fn page<T: DeserializeOwned>(
    conn: &Connection,
    table: &str,
    equal: &[(&str, &dyn ToSql)],
    page: &PageRequest,
    descending: bool,
) -> Result<Page<T>, StoreError> {
    let (after_key, after_id) = match &page.after {
        Some(c) => (c.sort_key.clone(), c.id.clone()),
        None => (if descending { MAX_KEY } else { "" }.to_owned(), String::new()),
    };
    let columns: Vec<&str> = equal.iter().map(|(column, _)| *column).collect();
    let query = page_query(table, &columns, descending);
    let params: Vec<&dyn ToSql> = equal.iter().map(|(_, value)| *value).collect();
    let limit = (page.limit + 1) as i64;
    let mut all_params = params;
    all_params.extend([&after_key as &dyn ToSql, &after_id, &limit]);
    let mut stmt = conn.prepare_cached(&query).map_err(sql)?;
    let rows = stmt
        .query_map(all_params.as_slice(), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })
        .map_err(sql)?;
    let mut rows: Vec<(String, String, String)> = rows.collect::<Result<_, _>>().map_err(sql)?;
    let more = rows.len() > page.limit;
    rows.truncate(page.limit);
    let next_cursor =
        rows.last().filter(|_| more).map(|(k, id, _)| Cursor { sort_key: k.clone(), id: id.clone() }.encode());
    let data = rows.iter().map(|(_, _, body)| from_json(body)).collect::<Result<_, _>>()?;
    Ok(Page { data, next_cursor })
}

/// The statement `page` runs.
fn page_query(table: &str, equal: &[&str], descending: bool) -> String {
    let (cmp, order) = if descending { ("<", "DESC") } else { (">", "ASC") };
    let filter: Vec<String> = equal.iter().map(|column| format!("{column} = {UNPLANNED}")).collect();
    format!(
        "SELECT sort_key, id, body FROM {table} WHERE {} AND (sort_key, id) {cmp} (?, ?) \
         ORDER BY sort_key {order}, id {order} LIMIT {UNPLANNED}",
        filter.join(" AND ")
    )
}

/// A bound value SQLite does not plan with. SQLite plans with the value bound to `column = ?`
/// when an ORDER BY follows (it puts the value in for the column) and to `LIMIT ?`, and so
/// parses and plans the statement again on the next step after that value is bound: every
/// call, whatever the statement cache holds (a fresh plan per DM for its pending changes was
/// 45% of the readers' time in the ingest bench). `+?` binds the same value to the same plan,
/// made once; `store_tests` checks the statements that run per DM and per page.
const UNPLANNED: &str = "+?";

/// Above every sort key (they are digits): where a newest-first listing starts.
const MAX_KEY: &str = "\u{10ffff}";

fn time(t: DateTime<Utc>) -> String {
    crate::domain::time_sort_key(t)
}

fn owned(s: &str) -> String {
    s.to_owned()
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod conformance;
