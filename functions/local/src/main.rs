//! `inbox-local`: every HTTP route of the product in one process on port 3000, on embedded
//! defaults: data in SQLite under `DATA_DIR` (`STORE=memory`: in memory).
//! `inbox-local token <org>` prints a bearer token for the
//! inbox API signed with `AUTH_JWT_SECRET` (or the development default).
//! `inbox-local doctor [org]` checks the live setup at Meta (see `doctor.rs`).

mod doctor;

use anyhow::Context;
use inbox_shared::config::AppEnv;
use inbox_shared::{http, logging, runtime, secrets, worker};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    // Every route runs here, so every secret is needed (in production mode).
    let (config, sdk) = secrets::load_config(AppEnv::Development, &["META_APP_SECRET"], runtime::aws_config)
        .await
        .context("configuration")?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [cmd, org] = args.as_slice()
        && cmd == "token"
    {
        let secret = config.auth.jwt_secret.as_deref().context("AUTH_JWT_SECRET is not set")?;
        let expires = chrono_now() + 30 * 24 * 3600;
        println!("{}", http::mint_jwt(secret, &config.auth.org_claim, org, expires));
        return Ok(());
    }
    if args.first().map(String::as_str) == Some("doctor") {
        let healthy = doctor::run(config, sdk, args.get(1).map(String::as_str)).await?;
        std::process::exit(if healthy { 0 } else { 1 });
    }
    logging::init_tracing(false);
    let port: u16 = std::env::var("PORT").ok().map(|p| p.parse()).transpose().context("PORT")?.unwrap_or(3000);
    // The local server keeps its data (SQLite under DATA_DIR) unless STORE says otherwise.
    let built = inbox_shared::local::build_local_services(config, sdk).await?;
    let services = built.services;
    match (built.local_queue, &services.config.jobs_queue_url, built.sdk) {
        (Some(queue), _, _) => drop(tokio::spawn(worker::run_local_worker(services.clone(), queue))),
        // A queue URL is an AWS resource: the assembly loaded the configuration for it.
        (None, Some(url), Some(sdk)) => {
            // One consumer per queue, as each queue is its own event source in AWS.
            let config = &services.config;
            let lanes = [Some(url), config.webhook_queue_url.as_ref(), config.enrichment_queue_url.as_ref()];
            let mut urls: Vec<&String> = Vec::new();
            for url in lanes.into_iter().flatten() {
                if !urls.contains(&url) {
                    urls.push(url);
                }
            }
            for url in urls.into_iter().cloned() {
                drop(tokio::spawn(worker::run_sqs_worker(services.clone(), url, sdk.clone())));
            }
        }
        _ => {}
    }
    // Token refresh and the stranded-job sweep, every 15 minutes as in AWS (TokenRefreshSchedule).
    tokio::spawn(worker::run_schedule(services.clone(), std::time::Duration::from_secs(15 * 60)));
    let app = http::router(services.clone());
    let listener =
        tokio::net::TcpListener::bind(("127.0.0.1", port)).await.with_context(|| format!("bind 127.0.0.1:{port}"))?;
    tracing::info!(address = %listener.local_addr()?, env = ?services.config.app_env, "inbox-local listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
