//! The local server's start-up: the services on the SQLite store and queue (`STORE=sqlite`, its
//! default) or on what the configuration names. Only `inbox-local` calls this, so the
//! Lambda binaries never reach (nor link) SQLite.

use std::sync::Arc;

use anyhow::Context;

use crate::adapters::sqlite::queue::SqliteQueue;
use crate::adapters::sqlite::{DEFAULT_GROUP, Db, SqliteStore};
use crate::config::{Config, EmbeddedStore};
use crate::ports::SystemClock;
use crate::runtime::{Built, Durable, assemble};

/// The local server's services: SQLite under `DATA_DIR` unless `STORE=memory` or `TABLE_NAME`.
/// In development without `TOKEN_ENCRYPTION_KEY` (or KMS), the stored tokens are sealed with
/// a key kept beside the file, so they can be opened after a restart.
pub async fn build_local_services(config: Config, sdk: Option<aws_config::SdkConfig>) -> anyhow::Result<Built> {
    build(config, sdk, Use::Serve).await
}

/// The services of a command run beside a server that may be running on the same data (the
/// doctor): the same store, without taking over the queue's leases.
pub async fn build_reading_services(config: Config, sdk: Option<aws_config::SdkConfig>) -> anyhow::Result<Built> {
    build(config, sdk, Use::Read).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    Serve,
    Read,
}

async fn build(config: Config, sdk: Option<aws_config::SdkConfig>, mode: Use) -> anyhow::Result<Built> {
    let durable = match (&config.table_name, config.store.unwrap_or(EmbeddedStore::Sqlite)) {
        (None, EmbeddedStore::Sqlite) => Some(open(&config, mode).await?),
        _ => None,
    };
    let keyless = config.token_encryption_key.is_none() && config.kms_key_id.is_none() && config.is_development();
    let config = match durable.is_some() && keyless {
        true => Config {
            token_encryption_key: Some(local_token_key(&config.data_dir.join("token.key"))?),
            token_encryption_key_id: Some("local-1".to_owned()),
            ..config
        },
        false => config,
    };
    // The local server may run against AWS with any of the default chain's credentials.
    let sdk = match (sdk, config.uses_aws()) {
        (Some(sdk), _) => Some(sdk),
        (None, true) => Some(crate::runtime::aws_config().await),
        (None, false) => None,
    };
    assemble(config, sdk, durable).await
}

async fn open(config: &Config, mode: Use) -> anyhow::Result<Durable> {
    let path = config.data_dir.join("inbox.sqlite3");
    let db = Db::open(&path, DEFAULT_GROUP).with_context(|| format!("opening {}", path.display()))?;
    let queue = match mode {
        // A server starting takes over the leases of one that died.
        Use::Serve => SqliteQueue::open(db.clone(), Arc::new(SystemClock)).await?,
        Use::Read => SqliteQueue::attach(db.clone(), Arc::new(SystemClock)),
    };
    tracing::info!(path = %path.display(), "data and queued jobs kept in SQLite");
    Ok((Arc::new(SqliteStore::new(db)), Arc::new(queue)))
}

/// The development token key kept at `path` (created on first use, readable by its owner
/// only), so tokens stored in the SQLite file can be opened after a restart.
fn local_token_key(path: &std::path::Path) -> anyhow::Result<String> {
    use base64::Engine;
    use rand::RngCore;
    if let Ok(key) = std::fs::read_to_string(path) {
        return Ok(key.trim().to_owned());
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let key = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    std::io::Write::write_all(&mut file, key.as_bytes())?;
    tracing::warn!(path = %path.display(), "TOKEN_ENCRYPTION_KEY unset: tokens are sealed with a key kept in this file");
    Ok(key)
}
