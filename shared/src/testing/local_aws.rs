//! The local AWS-compatible server the test command started (moto), and the resources it
//! created from template.yaml. Without it the AWS tests skip, unless `REQUIRE_AWS_TESTS`
//! is set (the test command sets it), when they fail.

use aws_sdk_dynamodb::types::{GlobalSecondaryIndex, Projection, ProjectionType};

pub struct LocalAws {
    pub sdk: aws_config::SdkConfig,
    /// The server's URL (what a fault proxy stands in front of).
    pub endpoint: String,
    pub table: String,
    pub queue_url: String,
    pub dlq_url: String,
    pub max_receives: i32,
    pub kms_key_id: String,
    /// The bucket made from the template's `MediaBucket`.
    pub media_bucket: String,
}

pub async fn local_aws() -> Option<LocalAws> {
    local_aws_named("").await
}

/// The local AWS server of the tests that must have one to themselves (moto applies DynamoDB
/// calls one at a time, and these measure a scenario's own pace): the second server the test
/// command starts (`FAULTS_*`), so they run beside the others, or the shared one without it.
pub async fn solo_local_aws() -> Option<LocalAws> {
    match std::env::var_os("FAULTS_AWS_ENDPOINT_URL") {
        Some(_) => local_aws_named("FAULTS_").await,
        None => local_aws().await,
    }
}

/// The server and resources the variables starting with `prefix` name.
async fn local_aws_named(prefix: &str) -> Option<LocalAws> {
    let var = |k: &str| std::env::var(format!("{prefix}{k}")).ok().filter(|v| !v.is_empty());
    let names = [
        "AWS_ENDPOINT_URL",
        "TEST_TABLE_NAME",
        "TEST_JOBS_QUEUE_URL",
        "TEST_JOBS_DLQ_URL",
        "TEST_KMS_KEY_ID",
        "TEST_MEDIA_BUCKET",
    ];
    if let Some(missing) = names.iter().find(|k| var(k).is_none()) {
        if std::env::var_os("REQUIRE_AWS_TESTS").is_some() {
            panic!("{prefix}{missing} is not set: run the tests with `bash infra/test.sh`");
        }
        eprintln!("skipped: no local AWS server ({prefix}{missing} unset); `bash infra/test.sh` runs these tests");
        return None;
    }
    let endpoint = var("AWS_ENDPOINT_URL")?;
    Some(LocalAws {
        sdk: crate::runtime::aws_config_loader().endpoint_url(&endpoint).load().await,
        endpoint,
        table: var("TEST_TABLE_NAME")?,
        queue_url: var("TEST_JOBS_QUEUE_URL")?,
        dlq_url: var("TEST_JOBS_DLQ_URL")?,
        max_receives: var("TEST_JOBS_MAX_RECEIVES").and_then(|v| v.parse().ok()).unwrap_or(5),
        kms_key_id: var("TEST_KMS_KEY_ID")?,
        media_bucket: var("TEST_MEDIA_BUCKET")?,
    })
}

impl LocalAws {
    /// A new empty table with exactly the keys, indexes and stream of the one created from
    /// template.yaml, for a test that must see only its own items.
    pub async fn fresh_table(&self) -> String {
        let ddb = aws_sdk_dynamodb::Client::new(&self.sdk);
        let template = ddb.describe_table().table_name(&self.table).send().await.unwrap().table.unwrap();
        let name = format!("{}-{}", self.table, uuid::Uuid::now_v7().simple());
        let indexes = template.global_secondary_indexes().iter().map(|g| {
            GlobalSecondaryIndex::builder()
                .index_name(g.index_name().unwrap())
                .set_key_schema(Some(g.key_schema().to_vec()))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .unwrap()
        });
        ddb.create_table()
            .table_name(&name)
            .set_attribute_definitions(Some(template.attribute_definitions().to_vec()))
            .set_key_schema(Some(template.key_schema().to_vec()))
            .set_global_secondary_indexes(Some(indexes.collect()))
            .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
            .set_stream_specification(template.stream_specification().cloned())
            .send()
            .await
            .unwrap();
        name
    }

    /// A new empty bucket for media copies, as the template's `MediaBucket` (private,
    /// encrypted by default), and the store on it.
    pub async fn fresh_media_bucket(&self) -> std::sync::Arc<dyn crate::ports::MediaStore> {
        let name = format!("media-{}", uuid::Uuid::now_v7().simple());
        std::sync::Arc::new(self.create_bucket(&name).await)
    }

    /// An empty bucket named `name`, and the media store on it.
    pub async fn create_bucket(&self, name: &str) -> crate::adapters::s3_media::S3Media {
        let media = crate::adapters::s3_media::S3Media::new(&self.sdk, name).unwrap();
        media.create_bucket().await.unwrap();
        media
    }

    /// An SSM SecureString parameter (encrypted with the account's default SSM key).
    pub async fn put_secure_string(&self, name: &str, value: &str) {
        aws_sdk_ssm::Client::new(&self.sdk)
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .unwrap();
    }

    /// The ARN of the queue at `url`.
    pub async fn queue_arn(&self, url: &str) -> String {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let arn = aws_sdk_sqs::types::QueueAttributeName::QueueArn;
        let out = sqs.get_queue_attributes().queue_url(url).attribute_names(arn.clone()).send().await.unwrap();
        out.attributes.unwrap()[&arn].clone()
    }

    /// A new queue with its own dead-letter queue, redriven as the template's.
    pub async fn fresh_queue(&self) -> (String, String) {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let suffix = uuid::Uuid::now_v7().simple().to_string();
        let dlq = sqs.create_queue().queue_name(format!("dlq-{suffix}")).send().await.unwrap().queue_url.unwrap();
        let arn = self.queue_arn(&dlq).await;
        let redrive = format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"{}"}}"#, self.max_receives);
        let url = sqs
            .create_queue()
            .queue_name(format!("jobs-{suffix}"))
            .attributes(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy, redrive)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        (url, dlq)
    }
}

/// The organization, account and ids the sample events in `events/` name.
pub const EVENTS_ORG: &str = "org_events";
pub const EVENTS_ACCOUNT: &str = "acc_events";
pub const EVENTS_CONVERSATION: &str = "conv_events";
pub const EVENTS_JOB: &str = "job_events";
pub const EVENTS_APP_SECRET: &str = "events-app-secret";
pub const EVENTS_VERIFY_TOKEN: &str = "events-verify-token";
pub const IG_ACCOUNT: &str = "17841400000000001";
pub const PAGE_ID: &str = "112233445566778";
pub const CUSTOMER: &str = "6185000000000001";

impl LocalAws {
    /// The environment of a function binary run against this server's `table` and `queue`,
    /// with Meta's hosts at `graph` (`FakeGraph::env`): production, as deployed.
    pub fn function_env(&self, table: &str, queue: &str, graph: &[(&str, String)]) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("APP_ENV", "production"),
            ("META_APP_SECRET", EVENTS_APP_SECRET),
            ("META_APP_ID", crate::testing::fake_graph::TEST_APP_ID),
            ("INSTAGRAM_VERIFY_TOKEN", EVENTS_VERIFY_TOKEN),
            ("TABLE_NAME", table),
            ("JOBS_QUEUE_URL", queue),
            ("KMS_KEY_ID", &self.kms_key_id),
            ("MEDIA_BUCKET", &self.media_bucket),
            ("RUST_LOG", "info"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        env.extend(graph.iter().map(|(k, v)| (k.to_string(), v.clone())));
        env
    }

    /// The adapters a function run with `function_env` works on, to seed data and read
    /// results.
    pub async fn adapters(&self, table: &str, queue: &str, graph: &[(&str, String)]) -> crate::runtime::Adapters {
        let env: std::collections::HashMap<String, String> =
            self.function_env(table, queue, graph).into_iter().collect();
        let config =
            crate::config::Config::from_lookup(crate::config::AppEnv::Production, |k| env.get(k).cloned()).unwrap();
        crate::runtime::assemble_on_aws(config, self.sdk.clone()).unwrap().adapters
    }
}

/// What a function's Runtime API test runs against: a fresh table and queue on the local
/// server, a fake Graph API, and the same adapters to seed and inspect.
pub struct FunctionRig {
    pub aws: LocalAws,
    pub table: String,
    pub queue: String,
    pub graph: crate::testing::fake_graph::FakeGraph,
    pub adapters: crate::runtime::Adapters,
    /// SSM SecureString parameters holding the events' secrets: (variable, parameter name).
    pub secret_params: Vec<(&'static str, String)>,
}

impl FunctionRig {
    pub async fn start() -> Option<Self> {
        let aws = local_aws().await?;
        let table = aws.fresh_table().await;
        let (queue, _) = aws.fresh_queue().await;
        let graph = crate::testing::fake_graph::FakeGraph::start().await;
        let adapters = aws.adapters(&table, &queue, &graph.env()).await;
        let prefix = format!("/inbox-test/{}", uuid::Uuid::now_v7().simple());
        let mut secret_params = Vec::new();
        for (var, value) in [("META_APP_SECRET", EVENTS_APP_SECRET), ("INSTAGRAM_VERIFY_TOKEN", EVENTS_VERIFY_TOKEN)] {
            let name = format!("{prefix}/{}", var.to_lowercase());
            aws.put_secure_string(&name, value).await;
            secret_params.push((var, name));
        }
        Some(FunctionRig { aws, table, queue, graph, adapters, secret_params })
    }

    /// The function's environment as deployed: `LocalAws::function_env` with the secrets
    /// named as SSM parameters (`<NAME>_PARAM`) instead of given in plain.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = self.plain_env();
        env.retain(|(k, _)| !self.secret_params.iter().any(|(var, _)| k == var));
        env.extend(self.secret_params.iter().map(|(var, name)| (format!("{var}_PARAM"), name.clone())));
        env
    }

    /// The same environment with the secrets given in plain: no Parameter Store read at start.
    pub fn plain_env(&self) -> Vec<(String, String)> {
        self.aws.function_env(&self.table, &self.queue, &self.graph.env())
    }

    /// Writes what a stream batch says was written (each record's new image, the last one of
    /// an item winning), as the table holds it when Lambda delivers that batch.
    pub async fn store_images_of(&self, batch: &serde_json::Value) {
        let client = aws_sdk_dynamodb::Client::new(&self.aws.sdk);
        for record in batch["Records"].as_array().into_iter().flatten() {
            let image = &record["dynamodb"]["NewImage"];
            let Ok(item) = serde_json::from_value::<serde_dynamo::Item>(image.clone()) else { continue };
            let item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> = item.into();
            client.put_item().table_name(&self.table).set_item(Some(item)).send().await.unwrap();
        }
    }

    /// Connects the events' Instagram account to the events' organization with a page token.
    pub async fn connect_events_account(&self, page_token: &str) {
        let (adapters, kind) = (&self.adapters, crate::domain::TokenKind::Page);
        self.graph.world().page(PAGE_ID, page_token);
        self.graph.world().know(IG_ACCOUNT, crate::testing::fake_graph::Object::InstagramAccount);
        crate::testing::seed::connect_account(
            adapters,
            EVENTS_ORG,
            EVENTS_ACCOUNT,
            IG_ACCOUNT,
            PAGE_ID,
            kind,
            page_token,
            None,
        )
        .await;
    }
}
