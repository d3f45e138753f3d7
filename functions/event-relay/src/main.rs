//! DynamoDB-stream-triggered Lambda function: puts each event the inbox logged on the event
//! bus (EventBridge), reporting the records the bus did not take.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    inbox_shared::lambda::run_event_relay().await
}
