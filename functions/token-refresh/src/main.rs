//! Scheduled Lambda function: refreshes tokens before they expire.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    inbox_shared::lambda::run_token_refresh().await
}
