//! The table's stream on the local AWS-compatible server, fed to the event relay as Lambda's
//! event source mapping would: every shard read from its start, each batch of records handed
//! to `Relay::relay`, and a batch with failures read again from its first failure.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::relay::Relay;

/// Reads the stream until dropped.
pub struct StreamPump {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StreamPump {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StreamPump {
    /// Starts reading `table`'s stream (it must have one) at `endpoint` into `relay`.
    pub async fn start(sdk: &aws_config::SdkConfig, endpoint: &str, table: &str, relay: Arc<Relay>) -> StreamPump {
        let described = aws_sdk_dynamodb::Client::new(sdk).describe_table().table_name(table).send().await.unwrap();
        let arn = described.table.and_then(|t| t.latest_stream_arn).expect("the table has a stream");
        let streams = Streams { http: reqwest::Client::new(), endpoint: endpoint.to_owned() };
        StreamPump { task: tokio::spawn(async move { streams.pump(&arn, &relay).await }) }
    }
}

struct Streams {
    http: reqwest::Client,
    endpoint: String,
}

impl Streams {
    /// One call of the DynamoDB Streams API (the local server takes it unsigned).
    async fn call(&self, operation: &str, body: Value) -> Value {
        let auth = "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/dynamodb/aws4_request, \
                    SignedHeaders=host, Signature=0";
        let answer = self
            .http
            .post(&self.endpoint)
            .header("x-amz-target", format!("DynamoDBStreams_20120810.{operation}"))
            .header("content-type", "application/x-amz-json-1.0")
            .header("authorization", auth)
            .body(body.to_string())
            .send()
            .await;
        match answer {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        }
    }

    async fn pump(&self, arn: &str, relay: &Relay) {
        // Each shard's next iterator (the local server keeps one shard per table).
        let mut iterators: std::collections::HashMap<String, String> = Default::default();
        loop {
            // moto applies DynamoDB calls one at a time: the pump asks little (the stream's one
            // shard, found once, then a read of it every 100 ms).
            let shards = match iterators.is_empty() {
                true => self.call("DescribeStream", json!({ "StreamArn": arn })).await["StreamDescription"]["Shards"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
                false => Vec::new(),
            };
            for shard in shards {
                let id = shard["ShardId"].as_str().unwrap_or_default().to_owned();
                if let std::collections::hash_map::Entry::Vacant(slot) = iterators.entry(id.clone()) {
                    let start = json!({"StreamArn": arn, "ShardId": id, "ShardIteratorType": "TRIM_HORIZON"});
                    let it = self.call("GetShardIterator", start).await;
                    if let Some(it) = it["ShardIterator"].as_str() {
                        slot.insert(it.to_owned());
                    }
                }
            }
            for (shard, iterator) in iterators.clone() {
                let read = self.call("GetRecords", json!({"ShardIterator": iterator, "Limit": 100})).await;
                let records = read["Records"].as_array().cloned().unwrap_or_default();
                if records.is_empty() {
                    if let Some(next) = read["NextShardIterator"].as_str() {
                        iterators.insert(shard, next.to_owned());
                    }
                    continue;
                }
                let batch = serde_json::from_value(json!({ "Records": records })).expect("a stream batch");
                let answer = relay.relay(batch).await;
                match answer.batch_item_failures.first().and_then(|f| f.item_identifier.clone()) {
                    // As Lambda does: the batch again from its first failure.
                    Some(first) => {
                        let again = json!({"StreamArn": arn, "ShardId": shard,
                            "ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": first});
                        if let Some(it) = self.call("GetShardIterator", again).await["ShardIterator"].as_str() {
                            iterators.insert(shard, it.to_owned());
                        }
                    }
                    None => {
                        if let Some(next) = read["NextShardIterator"].as_str() {
                            iterators.insert(shard, next.to_owned());
                        }
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// An event bus that takes everything and keeps it, in order.
#[derive(Default)]
pub struct RecordingBus {
    pub events: std::sync::Mutex<Vec<crate::domain::InboxEvent>>,
}

#[async_trait::async_trait]
impl crate::ports::EventBus for RecordingBus {
    async fn put(&self, events: &[crate::domain::InboxEvent]) -> Result<Vec<usize>, crate::ports::BusError> {
        self.events.lock().unwrap().extend_from_slice(events);
        Ok(Vec::new())
    }
}
