//! How many AWS calls one inbound text and one send make, counted by an SDK interceptor on
//! DynamoDB, SQS and KMS (moto). The bounds guard against a change that quietly adds calls
//! to the hot paths; run with `--nocapture` to see the breakdown. Rounds are the calls made
//! one after another (calls made side by side count once): what latency multiplies.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use inbox_shared::adapters::dynamodb::DynamoStore;
use inbox_shared::adapters::graph_http::HttpGraphApi;
use inbox_shared::adapters::kms_cipher::KmsCipher;
use inbox_shared::adapters::sqs_queue::SqsQueue;
use inbox_shared::config::{AppEnv, Config};
use inbox_shared::domain::Caller;
use inbox_shared::domain::TokenKind;
use inbox_shared::meta::webhook;
use inbox_shared::ports::{QueueMessage, SystemClock, ThreadRngJitter};
use inbox_shared::services::JobOutcome;
use inbox_shared::testing::fake_graph::{FakeGraph, Object};
use inbox_shared::testing::local_aws::{CUSTOMER, IG_ACCOUNT, PAGE_ID, local_aws};
use inbox_shared::testing::seed;

/// One call: its operation, when it was sent and when its answer came.
type Call = (String, Instant, Option<Instant>);

#[derive(Debug, Clone, Default)]
struct CallCounter(Arc<Mutex<Vec<Call>>>);

/// Which entry of the counter a call in flight is.
#[derive(Debug, Clone, Copy)]
struct CallIndex(usize);

impl Storable for CallIndex {
    type Storer = StoreReplace<Self>;
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The JSON protocols of DynamoDB, SQS and KMS name the operation in `X-Amz-Target`.
        let target = context.request().headers().get("x-amz-target").unwrap_or("unknown");
        let mut calls = self.0.lock().unwrap();
        cfg.interceptor_state().store_put(CallIndex(calls.len()));
        calls.push((target.rsplit('.').next().unwrap_or(target).to_owned(), Instant::now(), None));
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(CallIndex(i)) = cfg.load::<CallIndex>() {
            self.0.lock().unwrap()[*i].2 = Some(Instant::now());
        }
        Ok(())
    }
}

impl CallCounter {
    /// Calls by operation, and the rounds: a call starts a round when every call before it
    /// had been answered.
    fn take(&self) -> (BTreeMap<String, usize>, usize) {
        let calls: Vec<Call> = self.0.lock().unwrap().drain(..).collect();
        let mut counts = BTreeMap::new();
        let mut rounds = 0;
        let mut answered_by: Option<Instant> = None;
        for (name, start, end) in &calls {
            *counts.entry(name.clone()).or_default() += 1;
            if answered_by.is_none_or(|t| *start >= t) {
                rounds += 1;
            }
            let end = end.unwrap_or(*start);
            answered_by = Some(answered_by.map_or(end, |t| t.max(end)));
        }
        (counts, rounds)
    }
}

fn text(mid: &str, ts: i64) -> webhook::Envelope {
    let body = serde_json::json!({"object":"instagram","entry":[{"id":IG_ACCOUNT,"messaging":[
        {"sender":{"id":CUSTOMER},"recipient":{"id":IG_ACCOUNT},"timestamp":ts,"message":{"mid":mid,"text":"hi"}}]}]});
    webhook::parse(body.to_string().as_bytes()).unwrap()
}

#[tokio::test]
async fn aws_calls_per_inbound_text_and_per_send_stay_small() {
    let Some(aws) = local_aws().await else { return };
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
            .unwrap();
    let store: Arc<dyn inbox_shared::ports::Store> = Arc::new(DynamoStore::new(ddb, &table));
    let cipher: Arc<dyn inbox_shared::ports::TokenCipher> = Arc::new(KmsCipher::new(kms, &aws.kms_key_id));
    let adapters = inbox_shared::runtime::Adapters {
        graph: Arc::new(HttpGraphApi::from_config(&config)),
        store,
        queue: Arc::new(SqsQueue::new(sqs.clone(), &queue_url)),
        cipher,
        clock: Arc::new(SystemClock),
        jitter: Arc::new(ThreadRngJitter),
        media: None,
    };
    let services = inbox_shared::runtime::services_on(config, adapters.clone());
    seed::connect_account(&adapters, "org_calls", "acc_calls", IG_ACCOUNT, PAGE_ID, TokenKind::Page, "EAAB-t", None)
        .await;
    // Meta knows the Page and the customer who writes (the webhooks below are Meta's).
    graph.world().page(PAGE_ID, "EAAB-t");
    graph.world().know(CUSTOMER, Object::InstagramUser);
    let now_ms = chrono::Utc::now().timestamp_millis();
    services.inbound.accept_webhook(text("first", now_ms - 1000)).await.unwrap();
    // The new customer's profile lookup, queued by the first message.
    let queued = sqs.receive_message().queue_url(&queue_url).wait_time_seconds(2).send().await.unwrap();
    for m in queued.messages.unwrap_or_default() {
        services.process(&serde_json::from_str::<QueueMessage>(m.body().unwrap()).unwrap()).await.unwrap();
        sqs.delete_message().queue_url(&queue_url).receipt_handle(m.receipt_handle().unwrap()).send().await.unwrap();
    }
    counter.take();

    services.inbound.accept_webhook(text("second", now_ms)).await.unwrap();
    let (inbound, inbound_rounds) = counter.take();
    services.inbound.accept_webhook(text("second", now_ms)).await.unwrap();
    let (duplicate, duplicate_rounds) = counter.take();

    let conversation = adapters.store.find_conversation("org_calls", "acc_calls", CUSTOMER).await.unwrap().unwrap();
    counter.take();
    let agent = Caller { organization_id: "org_calls".into(), subject: Some("agent-1".into()), admin: false };
    services.outbound.send_text(&agent, &conversation.id, "reply", None).await.unwrap();
    let (send_api, _) = counter.take();

    let received = sqs.receive_message().queue_url(&queue_url).wait_time_seconds(2).send().await.unwrap();
    let body = received.messages.unwrap()[0].body.clone().unwrap();
    counter.take();
    let outcome = services.process(&serde_json::from_str::<QueueMessage>(&body).unwrap()).await.unwrap();
    assert_eq!(outcome, JobOutcome::Succeeded);
    let (processor, _) = counter.take();

    let total = |m: &BTreeMap<String, usize>| m.values().sum::<usize>();
    eprintln!("inbound text (existing conversation): {} calls in {inbound_rounds} rounds {inbound:?}", total(&inbound));
    eprintln!("the same text redelivered: {} calls in {duplicate_rounds} rounds {duplicate:?}", total(&duplicate));
    eprintln!("send, API side: {} calls {send_api:?}", total(&send_api));
    eprintln!("send, processor side: {} calls {processor:?}", total(&processor));
    // mid ‖ conversation, the transaction, then the changes that waited for this mid (its
    // events come from the table's stream, not from these calls).
    assert!(total(&inbound) <= 4, "{inbound:?}");
    assert!(inbound_rounds <= 3, "inbound text took {inbound_rounds} rounds: {inbound:?}");
    assert_eq!(duplicate_rounds, 1, "a duplicate is recognised in one round trip: {duplicate:?}");
    assert!(!duplicate.contains_key("TransactWriteItems"), "{duplicate:?}");
    assert!(total(&send_api) <= 5, "{send_api:?}");
    // Exactly-once costs two writes: the attempt recorded before Meta is called, and Meta's id
    // recorded on the job before the rest of the bookkeeping.
    assert!(total(&processor) <= 13, "{processor:?}");
    // The Page token was opened (KMS Decrypt) for the new customer's profile lookup a moment
    // before: the send reads its record but opens it from the process's cache.
    assert!(!processor.contains_key("Decrypt"), "no KMS call per send: {processor:?}");
    assert!(
        !inbound.keys().chain(send_api.keys()).chain(processor.keys()).any(|k| k.as_str() == "Scan"),
        "no Scan anywhere"
    );
}
