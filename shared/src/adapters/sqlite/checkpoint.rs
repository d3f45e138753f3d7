//! WAL checkpoints on a thread of their own. SQLite's automatic checkpoint runs inside the
//! commit that takes the WAL past its threshold, on the writer's thread: copying the WAL's
//! pages into the database and syncing it held every call queued behind that commit (a tenth
//! of the writer's time under a stream of webhooks). Here the writer's commit only nudges
//! at the same threshold; this thread copies what is committed on its own connection
//! (PASSIVE: it never blocks the writer or a reader).

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;

use super::{backend, sql};
use crate::ports::StoreError;

/// SQLite's own threshold for its automatic checkpoint: the WAL's pages after a commit.
const WAL_PAGES: i32 = 1000;

/// Replaces the writer's automatic checkpoint with a nudge to the thread started here.
pub(super) fn start(writer: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let conn = Connection::open(path).map_err(|e| backend(format!("{}: {e}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(sql)?;
    let (nudge, nudged) = mpsc::sync_channel::<()>(1);
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || run(conn, nudged))
        .map_err(|e| backend(e.to_string()))?;
    let hook = move |_: &mut rusqlite::hooks::Wal, pages: i32| {
        if pages >= WAL_PAGES {
            let _ = nudge.try_send(()); // one waiting nudge is enough
        }
        Ok(())
    };
    writer.wal_hook(Some(hook)).map_err(sql)
}

fn run(conn: Connection, nudged: mpsc::Receiver<()>) {
    while nudged.recv().is_ok() {
        // A checkpoint that cannot copy everything (a reader still on old pages) copies what it
        // can; the WAL's next commit past the threshold nudges again.
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "sqlite checkpoint");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    /// Pages reach the database file only through checkpoints: with the writer's own turned
    /// off, the checkpoint thread is what copies a WAL past its threshold into the file.
    #[tokio::test]
    async fn a_wal_past_its_threshold_is_copied_into_the_database_file() {
        let dir = std::env::temp_dir().join(crate::domain::new_id("sqlite-checkpoint"));
        let path = dir.join("inbox.sqlite3");
        let db = super::super::Db::open(&path, 8).unwrap();
        db.call(|c| c.execute_batch("CREATE TABLE filler (x BLOB)").map_err(super::sql)).await.unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        // 80 commits of 80 KiB: about 1700 pages, well past the threshold of 1000.
        for _ in 0..80 {
            let blob = vec![7u8; 80 * 1024];
            db.call(move |c| c.execute("INSERT INTO filler (x) VALUES (?1)", [blob]).map(drop).map_err(super::sql))
                .await
                .unwrap();
        }
        let waited = Instant::now();
        while std::fs::metadata(&path).unwrap().len() < before + 3 * 1024 * 1024 {
            assert!(waited.elapsed() < Duration::from_secs(10), "no checkpoint copied the WAL into the file");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
