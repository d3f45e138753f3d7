//! SQS-triggered Lambda function: sends queued replies, reports partial batch failures.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    inbox_shared::lambda::run_job_processor().await
}
