//! The cold-start floor: the Lambda runtime, the AWS configuration and the three clients a
//! function of the product needs at least, on the same HTTPS transport (reqwest, rustls with
//! ring; nothing else of the product is reached, so nothing else is linked). It
//! answers every event with `{}`. `inbox-bench` times the functions against it.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let http = inbox_shared::adapters::aws_transport::ReqwestTransport::default();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http).load().await;
    let clients = (aws_sdk_dynamodb::Client::new(&sdk), aws_sdk_sqs::Client::new(&sdk), aws_sdk_kms::Client::new(&sdk));
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| {
        let _held = &clients;
        async move { Ok::<Value, lambda_runtime::Error>(json!({})) }
    }))
    .await
}
