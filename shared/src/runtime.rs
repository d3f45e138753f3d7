//! Start-up shared by every binary: logging and building the adapters once.

use std::sync::Arc;

use crate::adapters::graph_http::HttpGraphApi;
use crate::adapters::memory_store::MemoryStore;
use crate::config::Config;
use crate::ports::{Store, SystemClock};
use crate::services::Core;

/// JSON logs without timestamps in Lambda (CloudWatch adds them); readable ones locally.
/// `RUST_LOG` filters (default `info`).
pub fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let result = if json {
        builder
            .json()
            .without_time()
            .with_current_span(true)
            .try_init()
    } else {
        builder.try_init()
    };
    let _ = result; // already initialised (tests): keep the first
}

/// The adapters the configuration asks for; the embedded ones by default.
pub async fn build_core(config: Config) -> anyhow::Result<Arc<Core>> {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let graph = Arc::new(HttpGraphApi::new(
        &config.graph_api_base_url,
        &config.graph_api_version,
    ));
    Ok(Arc::new(Core {
        config: Arc::new(config),
        store,
        graph,
        clock: Arc::new(SystemClock),
    }))
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
    let core = build_core(config).await?;
    lambda_http::run(crate::http::router(core)).await
}
