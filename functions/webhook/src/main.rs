//! API Gateway Lambda function: serves the shared Router (API Gateway routes only this
//! function's paths to it).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Secrets it uses: signatures and the verification handshake.
    inbox_shared::runtime::run_http_lambda(&["META_APP_SECRET", "INSTAGRAM_VERIFY_TOKEN"]).await
}
