//! The cold-start floor: the Lambda runtime, the AWS configuration and the three clients a
//! function of the product needs at least, on the same HTTPS client (rustls with ring). It
//! answers every event with `{}`. `inbox-bench` times the functions against it.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http).load().await;
    let clients = (aws_sdk_dynamodb::Client::new(&sdk), aws_sdk_sqs::Client::new(&sdk), aws_sdk_kms::Client::new(&sdk));
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| {
        let _held = &clients;
        async move { Ok::<Value, lambda_runtime::Error>(json!({})) }
    }))
    .await
}
