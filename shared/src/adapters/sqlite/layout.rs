//! The file's layout (`user_version`): this build's, made by `schema.sql`, or one it moves
//! forward when opening the file. Any other is refused, not half-used.

use std::path::Path;

use rusqlite::Connection;

use super::{backend, sql};
use crate::ports::StoreError;

/// The layout `schema.sql` creates.
pub(super) const SCHEMA_VERSION: i64 = 2;

/// Layout 1 to 2: the event log from a table keyed by (org, position) without rowids, where
/// each event's document spilled to an overflow page, to a rowid table with its time beside
/// it (`schema.sql` then indexes it). Events keep their positions, so readers' cursors hold.
const FROM_1: &str = "
    CREATE TABLE events_2 (
        org TEXT NOT NULL, position TEXT NOT NULL, id TEXT NOT NULL, at TEXT NOT NULL, expires_at TEXT NOT NULL,
        body TEXT NOT NULL
    );
    INSERT INTO events_2 (org, position, id, at, expires_at, body)
        SELECT org, position, id, json_extract(body, '$.at'), expires_at, body FROM events ORDER BY org, position;
    DROP TABLE events;
    ALTER TABLE events_2 RENAME TO events;
    PRAGMA user_version = 2;
";

/// Moves a file of an earlier layout to this one, in one transaction; refuses any other.
pub(super) fn bring_up_to_date(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(sql)?;
    let tables: i64 =
        conn.query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'", [], |r| r.get(0)).map_err(sql)?;
    match version {
        _ if tables == 0 || version == SCHEMA_VERSION => Ok(()),
        1 => conn.execute_batch(&format!("BEGIN IMMEDIATE; {FROM_1} COMMIT;")).map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            backend(format!("{}: moving layout 1 to 2: {e}", path.display()))
        }),
        _ => Err(backend(format!(
            "{} has schema version {version}, this build reads {SCHEMA_VERSION}: move it away (or set another DATA_DIR)",
            path.display()
        ))),
    }
}
