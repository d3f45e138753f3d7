//! API Gateway Lambda function: serves the shared Router (API Gateway routes only this
//! function's paths to it).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Secrets it uses: the OAuth exchange and its state signature.
    inbox_shared::runtime::run_http_lambda(&["META_APP_SECRET"]).await
}
