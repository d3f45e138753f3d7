//! The product's services on the local AWS server with every DynamoDB, SQS and KMS call
//! counted (`aws_counter`), an account connected and a fake Graph API: what the AWS-calls
//! test and the bench's cost figures drive.

use std::sync::Arc;

use super::aws_counter::CallCounter;
use super::fake_graph::{FakeGraph, Object};
use super::local_aws::{CUSTOMER, IG_ACCOUNT, LocalAws, PAGE_ID};
use crate::adapters::dynamodb::DynamoStore;
use crate::adapters::graph_http::HttpGraphApi;
use crate::adapters::kms_cipher::KmsCipher;
use crate::adapters::sqs_queue::SqsQueue;
use crate::config::{AppEnv, Config};
use crate::domain::TokenKind;
use crate::ports::{SystemClock, ThreadRngJitter};
use crate::runtime::Adapters;
use crate::services::Services;

pub const ORG: &str = "org_calls";
pub const ACCOUNT_ID: &str = "acc_calls";

pub struct Counted {
    pub services: Services,
    pub adapters: Adapters,
    pub counter: CallCounter,
    pub graph: FakeGraph,
    pub table: String,
    pub queue_url: String,
    /// The queue, read without counting (what Lambda's event source does for the jobs).
    pub sqs: aws_sdk_sqs::Client,
}

impl Counted {
    /// A fresh table and queue on `aws`, the account `ACCOUNT_ID` of `ORG` connected with a
    /// Page token, Meta knowing the Page and `CUSTOMER`.
    pub async fn start(aws: &LocalAws) -> Counted {
        let table = aws.fresh_table().await;
        let (queue_url, _) = aws.fresh_queue().await;
        let graph = FakeGraph::start().await;
        let counter = CallCounter::default();
        let ddb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&aws.sdk).interceptor(counter.clone()).build(),
        );
        let sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&aws.sdk).interceptor(counter.clone()).build(),
        );
        let kms = aws_sdk_kms::Client::from_conf(
            aws_sdk_kms::config::Builder::from(&aws.sdk).interceptor(counter.clone()).build(),
        );
        let mut vars = vec![("META_APP_SECRET", "s".to_owned())];
        vars.extend(graph.env());
        let config =
            Config::from_lookup(AppEnv::Production, |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
                .expect("configuration");
        let adapters = Adapters {
            graph: Arc::new(HttpGraphApi::from_config(&config)),
            store: Arc::new(DynamoStore::new(ddb, &table)),
            queue: Arc::new(SqsQueue::new(sqs, &queue_url)),
            cipher: Arc::new(KmsCipher::new(kms, &aws.kms_key_id)),
            clock: Arc::new(SystemClock),
            jitter: Arc::new(ThreadRngJitter),
            media: None,
        };
        let services = crate::runtime::services_on(config, adapters.clone());
        super::seed::connect_account(&adapters, ORG, ACCOUNT_ID, IG_ACCOUNT, PAGE_ID, TokenKind::Page, "EAAB-t", None)
            .await;
        graph.world().page(PAGE_ID, "EAAB-t");
        graph.world().know(CUSTOMER, Object::InstagramUser);
        let sqs = aws_sdk_sqs::Client::new(&aws.sdk);
        Counted { services, adapters, counter, graph, table, queue_url, sqs }
    }

    /// Runs every job waiting on the queue, as the job processor would (the receive and
    /// delete are Lambda's, not counted); how many ran.
    pub async fn run_queued(&self) -> usize {
        let mut ran = 0;
        loop {
            let received = self.sqs.receive_message().queue_url(&self.queue_url).max_number_of_messages(10);
            let received = received.wait_time_seconds(1).send().await.expect("receive");
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                return ran;
            }
            for m in messages {
                let job = serde_json::from_str(m.body().unwrap_or_default()).expect("a queue message");
                self.services.process(&job).await.expect("the job runs");
                let handle = m.receipt_handle().unwrap_or_default();
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("delete");
                ran += 1;
            }
        }
    }
}

/// A comment by `customer` on a feed post as Meta sends it (`entry.changes`), parsed: a new
/// thread, or a reply in the thread of comment `parent`.
pub fn comment(customer: &str, id: &str, parent: Option<&str>) -> crate::meta::webhook::Envelope {
    let mut value = serde_json::json!({"id":id,"from":{"id":customer,"username":"jane.doe"},"text":"How much is this?",
        "media":{"id":"17895695668004550","media_product_type":"FEED"}});
    if let Some(parent) = parent {
        value["parent_id"] = parent.into();
    }
    let body = serde_json::json!({"object":"instagram","entry":[{"id":IG_ACCOUNT,"time":1569262486134i64,
        "changes":[{"field":"comments","value":value}]}]});
    crate::meta::webhook::parse(body.to_string().as_bytes()).expect("a webhook")
}

/// One DM from `customer` as Meta sends it, parsed.
pub fn text(customer: &str, mid: &str, ts: i64) -> crate::meta::webhook::Envelope {
    let body = serde_json::json!({"object":"instagram","entry":[{"id":IG_ACCOUNT,"messaging":[
        {"sender":{"id":customer},"recipient":{"id":IG_ACCOUNT},"timestamp":ts,"message":{"mid":mid,"text":"hi"}}]}]});
    crate::meta::webhook::parse(body.to_string().as_bytes()).expect("a webhook")
}
