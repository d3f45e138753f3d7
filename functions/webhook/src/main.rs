//! API Gateway Lambda function: Meta's webhook routes only (anything else answers 404).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Secrets it uses: signatures and the verification handshake.
    inbox_shared::lambda::run_http_lambda(
        &["META_APP_SECRET", "INSTAGRAM_VERIFY_TOKEN"],
        inbox_shared::http::webhook_router,
    )
    .await
}
