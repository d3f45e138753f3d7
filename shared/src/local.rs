//! The local server's start-up: the core on the SQLite store and queue (`STORE=sqlite`, its
//! default) or on what the configuration names. Only `inbox-local` calls this, so the
//! Lambda binaries never reach (nor link) SQLite.

use std::sync::Arc;

use anyhow::Context;

use crate::adapters::sqlite::queue::SqliteQueue;
use crate::adapters::sqlite::{DEFAULT_GROUP, Db, SqliteStore};
use crate::config::{Config, EmbeddedStore};
use crate::ports::SystemClock;
use crate::runtime::{Built, Durable, assemble};

/// The local server's core: SQLite under `DATA_DIR` unless `STORE=memory` or `TABLE_NAME`.
pub async fn build_local_core(config: Config, sdk: Option<aws_config::SdkConfig>) -> anyhow::Result<Built> {
    let durable = match (&config.table_name, config.store.unwrap_or(EmbeddedStore::Sqlite)) {
        (None, EmbeddedStore::Sqlite) => Some(open(&config).await?),
        _ => None,
    };
    assemble(config, sdk, durable).await
}

async fn open(config: &Config) -> anyhow::Result<Durable> {
    let path = config.data_dir.join("inbox.sqlite3");
    let db = Db::open(&path, DEFAULT_GROUP).with_context(|| format!("opening {}", path.display()))?;
    let queue = SqliteQueue::open(db.clone(), Arc::new(SystemClock)).await?;
    tracing::info!(path = %path.display(), "data and queued jobs kept in SQLite");
    Ok((Arc::new(SqliteStore::new(db)), Arc::new(queue)))
}
