//! The local AWS-compatible server the test command started (moto), and the resources it
//! created from template.yaml. Without it the AWS tests skip, unless `REQUIRE_AWS_TESTS`
//! is set (the test command sets it), when they fail.
#![allow(dead_code)]

pub struct LocalAws {
    pub sdk: aws_config::SdkConfig,
    pub table: String,
    pub queue_url: String,
    pub dlq_url: String,
    pub max_receives: i32,
    pub kms_key_id: String,
}

pub async fn local_aws() -> Option<LocalAws> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let names = ["AWS_ENDPOINT_URL", "TEST_TABLE_NAME", "TEST_JOBS_QUEUE_URL", "TEST_JOBS_DLQ_URL", "TEST_KMS_KEY_ID"];
    if let Some(missing) = names.iter().find(|k| var(k).is_none()) {
        if var("REQUIRE_AWS_TESTS").is_some() {
            panic!("{missing} is not set: run the tests with `bash infra/test.sh`");
        }
        eprintln!("skipped: no local AWS server ({missing} unset); `bash infra/test.sh` runs these tests");
        return None;
    }
    Some(LocalAws {
        sdk: inbox_shared::runtime::aws_config().await,
        table: var("TEST_TABLE_NAME")?,
        queue_url: var("TEST_JOBS_QUEUE_URL")?,
        dlq_url: var("TEST_JOBS_DLQ_URL")?,
        max_receives: var("TEST_JOBS_MAX_RECEIVES").and_then(|v| v.parse().ok()).unwrap_or(5),
        kms_key_id: var("TEST_KMS_KEY_ID")?,
    })
}
