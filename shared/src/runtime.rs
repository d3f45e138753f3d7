//! Start-up shared by every binary: the one assembly of the four flow services on the
//! backend the configuration names. The Lambda glue is `lambda.rs`; the local server's
//! SQLite opening is `local.rs`; logging is `logging.rs`.

use std::sync::Arc;

use anyhow::Context;

use crate::adapters::aws_transport::ReqwestTransport;
use crate::adapters::dynamodb::DynamoStore;
use crate::adapters::graph_http::HttpGraphApi;
use crate::adapters::kms_cipher::KmsCipher;
use crate::adapters::media_download::HttpMediaSource;
use crate::adapters::media_folder::MediaFolder;
use crate::adapters::memory_queue::MemoryQueue;
use crate::adapters::memory_store::MemoryStore;
use crate::adapters::sqs_queue::SqsQueue;
use crate::adapters::static_cipher::StaticKeyCipher;
use crate::config::{Config, EmbeddedStore};
use crate::ports::{
    AccountDirectory, Clock, JobQueue, LocalQueue, MediaStore, Store, SystemClock, ThreadRngJitter, TokenCipher,
};
use crate::services::{
    Accounts, AccountsPorts, Inbound, InboundPorts, Inbox, InboxPorts, Outbound, OutboundPorts, Services,
};

/// The four flows and, when an embedded queue is used, that queue (its consumer runs
/// in-process).
pub struct Built {
    pub services: Services,
    /// What the services were built on (tests seed and inspect the store through it).
    pub adapters: Adapters,
    pub local_queue: Option<Arc<dyn LocalQueue>>,
    /// The AWS configuration the adapters were built on, for the caller's own AWS work (the
    /// local server's SQS consumers) without loading it again.
    pub sdk: Option<aws_config::SdkConfig>,
}

/// The AWS SDK configuration: region and credentials from the environment as usual, and
/// `AWS_ENDPOINT_URL` (read by the SDK itself) pointing at a local AWS-compatible server.
/// Calls are bounded in time: an unreachable AWS makes a webhook answer 503 (and Meta
/// redeliver) or an API call answer 503 within seconds, never hang until API Gateway's 30 s.
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config_loader().load().await
}

/// `aws_config`'s loader, for a caller that sets more in code (the tests' second local server:
/// an endpoint set here outranks `AWS_ENDPOINT_URL`, one set on the loaded config does not).
pub fn aws_config_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(ReqwestTransport::default())
        .timeout_config(aws_timeouts())
        .retry_config(aws_retries())
}

/// The AWS SDK configuration of a Lambda function: the variables Lambda sets (`AWS_REGION`;
/// the role's `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`) and
/// `AWS_ENDPOINT_URL` when set, on the same transport, timeouts and retries as `aws_config`.
/// The default chain's other sources (profile files, SSO, web identity, containers, instance
/// metadata) are never the answer in Lambda; leaving the chain out keeps them, and the STS
/// client they use, out of every function's binary and cold start. Built without I/O.
pub fn lambda_aws_config() -> aws_config::SdkConfig {
    use aws_sdk_dynamodb::config::SharedCredentialsProvider;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let credentials = aws_config::environment::EnvironmentVariableCredentialsProvider::new();
    let mut builder = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .http_client(ReqwestTransport::default())
        .timeout_config(aws_timeouts())
        .retry_config(aws_retries())
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .identity_cache(aws_config::identity::IdentityCache::lazy().build())
        .sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new())
        .time_source(aws_smithy_async::time::SystemTimeSource::new());
    builder.set_region(env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")).map(aws_config::Region::new));
    builder.set_endpoint_url(env("AWS_ENDPOINT_URL"));
    builder.build()
}

/// Every AWS call is bounded in time (see `aws_config`).
fn aws_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(1))
        .operation_attempt_timeout(std::time::Duration::from_secs(2))
        .operation_timeout(std::time::Duration::from_secs(4))
        .build()
}

/// Short backoffs: a request path has seconds, not minutes (SQS redelivers the rest).
fn aws_retries() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(std::time::Duration::from_millis(100))
        .with_max_backoff(std::time::Duration::from_secs(1))
}

/// The one assembly of the services, for every process. The backend is decided here, once, from
/// the configuration: DynamoDB with `TABLE_NAME`, SQS with `JOBS_QUEUE_URL`, KMS with
/// `KMS_KEY_ID`; else `durable` (the local server's SQLite store and queue, which only it
/// passes); else memory. `sdk`: the AWS configuration, needed when any of those AWS resources
/// is named. The local server's and the tests' assembly: a Lambda function's is
/// `assemble_on_aws`, so no function binary links the embedded adapters.
pub async fn assemble(
    config: Config,
    sdk: Option<aws_config::SdkConfig>,
    durable: Option<Durable>,
) -> anyhow::Result<Built> {
    if config.table_name.is_none() && durable.is_none() && config.store == Some(EmbeddedStore::Sqlite) {
        anyhow::bail!("STORE=sqlite is the local server's store (inbox-local); this process keeps data in memory");
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let aws = match (config.uses_aws(), sdk) {
        (false, _) => None,
        (true, Some(sdk)) => Some(sdk),
        (true, None) => anyhow::bail!("an AWS resource is configured but no AWS SDK configuration was given"),
    };
    let store: Arc<dyn Store> = match (&config.table_name, &aws, &durable) {
        (Some(table), Some(aws), _) => dynamo_store(&config, table, aws),
        (_, _, Some((store, _))) => store.clone(),
        _ => Arc::new(MemoryStore::new()),
    };
    let (queue, local_queue): (Arc<dyn JobQueue>, Option<Arc<dyn LocalQueue>>) =
        match (&config.jobs_queue_url, &aws, &durable) {
            (Some(url), Some(aws), _) => (sqs_queue(&config, url, aws), None),
            (_, _, Some((_, queue))) => (queue.clone(), Some(queue.clone())),
            _ => {
                let q = Arc::new(MemoryQueue::new(clock.clone()));
                (q.clone(), Some(q))
            }
        };
    let cipher = token_cipher(&config, aws.as_ref())?;
    let media = match (s3_media(&config, aws.as_ref())?, durable.is_some()) {
        (Some(s3), _) => Some(s3),
        (None, true) => Some(media_folder(&config, clock.clone())?),
        (None, false) => None,
    };
    let adapters =
        Adapters { store, queue, cipher, graph: graph(&config), clock, jitter: Arc::new(ThreadRngJitter), media };
    Ok(built(config, adapters, local_queue, aws))
}

/// The assembly of a Lambda function: AWS adapters only (DynamoDB, SQS, KMS or the static key,
/// S3), so no embedded store, queue or media folder is linked into a function's binary. A
/// function instance's memory lives minutes and is not shared: `TABLE_NAME` and
/// `JOBS_QUEUE_URL` are required.
pub fn assemble_on_aws(config: Config, sdk: aws_config::SdkConfig) -> anyhow::Result<Built> {
    let (table, url) = match (&config.table_name, &config.jobs_queue_url) {
        (Some(table), Some(url)) => (table, url),
        (None, _) => anyhow::bail!("TABLE_NAME is required in production (the in-memory adapters would lose data)"),
        (_, None) => anyhow::bail!("JOBS_QUEUE_URL is required in production (the in-memory adapters would lose data)"),
    };
    let (store, queue) = (dynamo_store(&config, table, &sdk), sqs_queue(&config, url, &sdk));
    let cipher = token_cipher(&config, Some(&sdk))?;
    let media = s3_media(&config, Some(&sdk))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let adapters =
        Adapters { store, queue, cipher, graph: graph(&config), clock, jitter: Arc::new(ThreadRngJitter), media };
    Ok(built(config, adapters, None, Some(sdk)))
}

fn built(
    config: Config,
    adapters: Adapters,
    local_queue: Option<Arc<dyn LocalQueue>>,
    sdk: Option<aws_config::SdkConfig>,
) -> Built {
    Built { services: services_on(config, adapters.clone()), adapters, local_queue, sdk }
}

/// The DynamoDB store on `table`, sharded as configured (every function's, and the relay's log).
pub(crate) fn dynamo_store(config: &Config, table: &str, sdk: &aws_config::SdkConfig) -> Arc<dyn Store> {
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), table)
        .with_inbox_shards(config.limits.inbox_index_shards)
        .with_log_shards(config.limits.event_log_shards);
    Arc::new(store)
}

/// The jobs queue, with the webhook's and the enrichment's lanes when they are named.
fn sqs_queue(config: &Config, url: &str, sdk: &aws_config::SdkConfig) -> Arc<dyn JobQueue> {
    let lanes = (config.webhook_queue_url.clone(), config.enrichment_queue_url.clone());
    Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(sdk), url).with_lanes(lanes.0, lanes.1))
}

/// KMS with `KMS_KEY_ID`, else the static key (`static_cipher`).
fn token_cipher(config: &Config, aws: Option<&aws_config::SdkConfig>) -> anyhow::Result<Arc<dyn TokenCipher>> {
    match (&config.kms_key_id, aws) {
        (Some(key), Some(aws)) => Ok(Arc::new(KmsCipher::new(aws_sdk_kms::Client::new(aws), key))),
        _ => static_cipher(config),
    }
}

fn graph(config: &Config) -> Arc<dyn crate::ports::GraphApi> {
    Arc::new(HttpGraphApi::from_config(config))
}

/// The outside world the services talk to (a test rig gives its own: a manual clock, a
/// proxied client, a fake Graph API).
#[derive(Clone)]
pub struct Adapters {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    pub cipher: Arc<dyn TokenCipher>,
    pub graph: Arc<dyn crate::ports::GraphApi>,
    pub clock: Arc<dyn Clock>,
    pub jitter: Arc<dyn crate::ports::Jitter>,
    /// Where copies of messages' files are kept; `None` keeps Meta's links only.
    pub media: Option<Arc<dyn MediaStore>>,
}

/// The four flows on `adapters`, each given exactly the ports it uses; what follows from the
/// configuration (the account directory) is decided here, for `assemble` and every test rig
/// alike.
pub fn services_on(config: Config, adapters: Adapters) -> Services {
    let Adapters { store, queue, cipher, graph, clock, jitter, media } = adapters;
    let media_source = Arc::new(HttpMediaSource::new(config.media.download_timeout));
    let directory = directory_for(&config, store.clone(), cipher.clone(), clock.clone());
    let config = Arc::new(config);
    // Every store logs its own writes' events (`EventStore`): none of the flows publishes.
    store.keep_events_for(config.limits.event_retention);
    let inbound = Inbound::new(InboundPorts {
        config: config.clone(),
        conversations: store.clone(),
        messages: store.clone(),
        leads: store.clone(),
        raw_events: store.clone(),
        queue: queue.clone(),
        graph: graph.clone(),
        directory: directory.clone(),
        accounts: store.clone(),
        media: media.clone(),
        media_source,
        clock: clock.clone(),
        jitter: jitter.clone(),
    });
    let outbound = Outbound::new(OutboundPorts {
        config: config.clone(),
        conversations: store.clone(),
        messages: store.clone(),
        jobs: store.clone(),
        idempotency: store.clone(),
        accounts: store.clone(),
        queue: queue.clone(),
        graph: graph.clone(),
        directory: directory.clone(),
        clock: clock.clone(),
        jitter,
        media: media.clone(),
    });
    let accounts = Accounts::new(AccountsPorts {
        config: config.clone(),
        accounts: store.clone(),
        idempotency: store.clone(),
        cipher,
        graph,
        directory: directory.clone(),
        queue: queue.clone(),
        clock: clock.clone(),
        erasure: store.clone(),
        raw_events: store.clone(),
        media: media.clone(),
    });
    let inbox = Inbox::new(InboxPorts {
        config: config.clone(),
        conversations: store.clone(),
        messages: store.clone(),
        leads: store.clone(),
        log: store.clone(),
        erasure: store.clone(),
        settings: store,
        queue,
        media,
        directory,
        clock,
    });
    Services {
        config,
        inbound: Arc::new(inbound),
        outbound: Arc::new(outbound),
        accounts: Arc::new(accounts),
        inbox: Arc::new(inbox),
    }
}

/// The account directory: the store's, and in development (the local server only: Lambda
/// refuses development) with the environment's fallback account.
fn directory_for(
    config: &Config,
    store: Arc<dyn Store>,
    cipher: Arc<dyn TokenCipher>,
    clock: Arc<dyn Clock>,
) -> Arc<dyn AccountDirectory> {
    let accounts: Arc<dyn crate::ports::AccountStore> = store;
    let production = Arc::new(crate::services::StoreDirectory::new(accounts, cipher));
    if !config.is_development() {
        return production;
    }
    let (fallback, org) = (config.fallback_account.clone(), config.default_organization_id.clone());
    Arc::new(crate::adapters::development::DevelopmentDirectory::new(production, fallback, org, clock))
}

/// Media copies in S3 with `MEDIA_BUCKET` (and AWS configured).
fn s3_media(config: &Config, aws: Option<&aws_config::SdkConfig>) -> anyhow::Result<Option<Arc<dyn MediaStore>>> {
    let (Some(bucket), Some(aws)) = (&config.media.bucket, aws) else { return Ok(None) };
    Ok(Some(Arc::new(crate::adapters::s3_media::S3Media::new(aws, bucket)?)))
}

/// The local server's media copies without a bucket: a folder under `DATA_DIR`.
fn media_folder(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<dyn MediaStore>> {
    let root = config.data_dir.join("media");
    let folder = MediaFolder::open(&root, &config.media.public_url, clock).context("opening DATA_DIR/media")?;
    Ok(Arc::new(folder))
}

/// A store that outlives the process, with the jobs queue beside it (the local server's
/// SQLite file: `crate::local`).
pub type Durable = (Arc<dyn Store>, Arc<dyn LocalQueue>);

/// The static-key cipher (`TOKEN_ENCRYPTION_KEY`), or in development without one a key that
/// lives only in this process.
fn static_cipher(config: &Config) -> anyhow::Result<Arc<dyn TokenCipher>> {
    match &config.token_encryption_key {
        Some(_) if !config.is_development() && !config.allow_static_token_key => anyhow::bail!(
            "TOKEN_ENCRYPTION_KEY in production needs ALLOW_STATIC_TOKEN_KEY=true: KMS_KEY_ID is the production cipher"
        ),
        Some(key) => {
            let id = config.token_encryption_key_id.as_deref().unwrap_or("static-1");
            let cipher = StaticKeyCipher::from_base64(id, key)
                .and_then(|c| c.with_earlier_keys(config.token_encryption_keys.as_deref().unwrap_or_default()))
                .map_err(anyhow::Error::msg)
                .context("TOKEN_ENCRYPTION_KEY")?;
            Ok(Arc::new(cipher))
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
