//! API Gateway Lambda function: the inbox, integrations and leads routes only (anything else
//! answers 404).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Secrets it uses: the OAuth exchange and its state signature.
    inbox_shared::lambda::run_http_lambda(&["META_APP_SECRET"], inbox_shared::http::inbox_router).await
}
