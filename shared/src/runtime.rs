//! Start-up shared by every binary: logging and building the adapters once.

use std::sync::Arc;

use anyhow::Context;

use crate::adapters::graph_http::HttpGraphApi;
use crate::adapters::memory_queue::MemoryQueue;
use crate::adapters::memory_store::MemoryStore;
use crate::adapters::static_cipher::StaticKeyCipher;
use crate::config::Config;
use crate::ports::{Clock, JobQueue, Store, SystemClock, ThreadRngJitter, TokenCipher};
use crate::services::Core;

/// JSON logs without timestamps in Lambda (CloudWatch adds them); readable ones locally.
/// `RUST_LOG` filters (default `info`).
pub fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let result =
        if json { builder.json().without_time().with_current_span(true).try_init() } else { builder.try_init() };
    let _ = result; // already initialised (tests): keep the first
}

/// The core and, when the embedded queue is used, that queue (its consumer runs in-process).
pub struct Built {
    pub core: Arc<Core>,
    pub memory_queue: Option<Arc<MemoryQueue>>,
}

/// The adapters the configuration asks for; the embedded ones by default.
pub async fn build_core(config: Config) -> anyhow::Result<Built> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let memory_queue = Arc::new(MemoryQueue::new(clock.clone()));
    let queue: Arc<dyn JobQueue> = memory_queue.clone();
    let cipher = static_cipher(&config)?;
    let graph = Arc::new(HttpGraphApi::new(&config.graph_api_base_url, &config.graph_api_version));
    let core = Core { config: Arc::new(config), store, queue, cipher, graph, clock, jitter: Arc::new(ThreadRngJitter) };
    Ok(Built { core: Arc::new(core), memory_queue: Some(memory_queue) })
}

fn static_cipher(config: &Config) -> anyhow::Result<Arc<dyn TokenCipher>> {
    match &config.token_encryption_key {
        Some(key) => {
            let id = config.token_encryption_key_id.as_deref().unwrap_or("static-1");
            Ok(Arc::new(
                StaticKeyCipher::from_base64(id, key).map_err(anyhow::Error::msg).context("TOKEN_ENCRYPTION_KEY")?,
            ))
        }
        None if config.is_development() => {
            tracing::warn!(
                "TOKEN_ENCRYPTION_KEY unset: tokens are encrypted with a key that lives only in this process"
            );
            Ok(Arc::new(StaticKeyCipher::ephemeral()))
        }
        None => anyhow::bail!("TOKEN_ENCRYPTION_KEY (or KMS_KEY_ID) is required in production"),
    }
}

/// Consumes the in-process queue: runs every due message, then sleeps until the next one is
/// due or something is enqueued. A message whose processing fails is delivered again later,
/// as SQS would.
pub async fn run_memory_worker(core: Arc<Core>, queue: Arc<MemoryQueue>) {
    loop {
        for message in queue.take_due() {
            if let Err(e) = core.process(&message).await {
                tracing::error!(error = %e, "job failed; delivering it again in 30 s");
                let _ = queue.enqueue(&message, chrono::Duration::seconds(30)).await;
            }
        }
        let wait = queue
            .next_due_at()
            .map(|due| (due - core.now()).to_std().unwrap_or_default())
            .unwrap_or(std::time::Duration::from_secs(60))
            .min(std::time::Duration::from_secs(60));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = queue.notify.notified() => {}
        }
    }
}

/// Whether this process runs inside Lambda (the runtime API is only set there).
pub fn in_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// Runs the HTTP Router as an API Gateway Lambda function (webhook, inbox API): production
/// environment unless `APP_ENV` says otherwise, adapters built once for every invocation.
pub async fn run_http_lambda() -> Result<(), lambda_http::Error> {
    init_tracing(true);
    let config = Config::from_env(crate::config::AppEnv::Production)?;
    let built = build_core(config).await?;
    lambda_http::run(crate::http::router(built.core)).await
}
