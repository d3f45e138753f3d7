//! API Gateway Lambda function: serves the shared Router (API Gateway routes only this
//! function's paths to it).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    inbox_shared::runtime::run_http_lambda().await
}
