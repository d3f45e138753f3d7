//! Ingest under faults, on the AWS adapters against moto through a proxy that slows or cuts
//! AWS: a backlog of 300 items (1000 with `FAULT_FULL=1`) at 10 ms per call, the same backlog delivered 5 times at once,
//! and AWS cut for 6 s under a stream of webhooks that are redelivered as Meta does. Each
//! asserts counts: every message stored once, unread counts exact. Run with `--nocapture`
//! to see the acknowledgement times (figures for the README; not asserted tightly here,
//! these machines are noisy).

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use inbox_shared::adapters::dynamodb::DynamoStore;
use inbox_shared::adapters::graph_http::HttpGraphApi;
use inbox_shared::adapters::sqs_queue::SqsQueue;
use inbox_shared::adapters::static_cipher::StaticKeyCipher;
use inbox_shared::config::{AppEnv, Config};
use inbox_shared::domain::{JobType, PageRequest, TokenKind};
use inbox_shared::meta::{signature, webhook};
use inbox_shared::ports::{QueueMessage, SystemClock, ThreadRngJitter};
use inbox_shared::services::Services;
use inbox_shared::testing::fault_proxy::FaultProxy;
use inbox_shared::testing::local_aws::{IG_ACCOUNT, LocalAws, PAGE_ID, solo_local_aws};
use inbox_shared::testing::seed;
use serde_json::{Value, json};

pub(crate) const ORG: &str = "org_faults";
const SECRET: &str = "fault-secret";
const JWT: &str = "fault-jwt-secret-of-at-least-32-bytes";

pub(crate) struct Rig {
    pub(crate) services: Services,
    pub(crate) store: Arc<dyn inbox_shared::ports::Store>,
    pub(crate) proxy: FaultProxy,
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub(crate) queue_url: String,
}

/// moto applies DynamoDB calls one at a time: these tests measure one scenario at a time, on a
/// server of their own when the test command started one (`solo_local_aws`), so the rest of
/// the suite neither slows them nor waits behind them.
pub(crate) static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The services on a fresh table and queue, every AWS call through a fault proxy.
pub(crate) async fn rig(aws: &LocalAws) -> Rig {
    if std::env::var_os("RUST_LOG").is_some() {
        inbox_shared::logging::init_tracing(false); // RUST_LOG=warn shows what failed and was queued
    }
    let table = aws.fresh_table().await;
    let (queue_url, _) = aws.fresh_queue().await;
    let proxy = FaultProxy::start(&aws.endpoint).await;
    let vars = [
        ("META_APP_SECRET", SECRET),
        ("AUTH_JWT_SECRET", JWT),
        ("GRAPH_API_BASE_URL", "http://127.0.0.1:9"),
        ("JOB_RETRY_BASE_DELAY_MS", "50"),
        // moto applies DynamoDB calls one at a time (~4 ms each here): more lanes only queue
        // up inside moto past the SDK's 2 s attempt timeout.
        ("WEBHOOK_CONCURRENCY", "8"),
    ];
    let config =
        Config::from_lookup(AppEnv::Production, |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
            .unwrap();
    let dynamodb = aws_sdk_dynamodb::config::Builder::from(&aws.sdk).endpoint_url(&proxy.url).build();
    let store: Arc<dyn inbox_shared::ports::Store> =
        Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(dynamodb), &table));
    let cipher: Arc<dyn inbox_shared::ports::TokenCipher> = Arc::new(StaticKeyCipher::ephemeral());
    let sqs = aws_sdk_sqs::config::Builder::from(&aws.sdk).endpoint_url(&proxy.url).build();
    let adapters = inbox_shared::runtime::Adapters {
        graph: Arc::new(HttpGraphApi::from_config(&config)),
        store,
        queue: Arc::new(SqsQueue::new(aws_sdk_sqs::Client::from_conf(sqs), &queue_url)),
        cipher,
        clock: Arc::new(SystemClock),
        jitter: Arc::new(ThreadRngJitter),
        media: None,
    };
    let services = inbox_shared::runtime::services_on(config, adapters.clone());
    seed::connect_account(&adapters, ORG, "acc_faults", IG_ACCOUNT, PAGE_ID, TokenKind::Page, "EAAB-t", None).await;
    Rig { services, store: adapters.store, proxy, sqs: aws_sdk_sqs::Client::new(&aws.sdk), queue_url }
}

fn customer(c: usize) -> String {
    format!("61850000{c:08}")
}

/// `per_customer` text messages from each of `customers` customers, as one webhook body.
fn backlog(tag: &str, customers: usize, per_customer: usize) -> Vec<u8> {
    let base = chrono::Utc::now().timestamp_millis() - 3_600_000;
    let mut items = Vec::new();
    for m in 0..per_customer {
        for c in 0..customers {
            items.push(json!({"sender":{"id":customer(c)},"recipient":{"id":IG_ACCOUNT},
                "timestamp": base + (m * customers + c) as i64,
                "message":{"mid":format!("{tag}-{c}-{m}"),"text":format!("message {m}")}}));
        }
    }
    json!({"object":"instagram","entry":[{"id":IG_ACCOUNT,"time":base,"messaging":items}]}).to_string().into_bytes()
}

/// Processes every webhook item the queue holds (as the job processor would) until the
/// queue is empty, delayed messages included. The fault was on the delivery being measured;
/// the queued rest is worked through at moto's own pace (the counts are what is asserted).
async fn drain(rig: &Rig) {
    rig.proxy.set_latency(Duration::ZERO);
    let started = Instant::now();
    loop {
        assert!(started.elapsed() < Duration::from_secs(180), "queue did not drain");
        let out = rig
            .sqs
            .receive_message()
            .queue_url(&rig.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            if queue_is_empty(rig).await {
                return;
            }
            continue;
        }
        // As several processor instances would: the batch's items side by side.
        let handled = messages.iter().map(|m| async move {
            let message: QueueMessage = serde_json::from_str(m.body().unwrap()).unwrap();
            if message.job_type() == JobType::ProcessWebhook {
                rig.services.process(&message).await.unwrap();
            }
            let receipt = m.receipt_handle().unwrap();
            rig.sqs.delete_message().queue_url(&rig.queue_url).receipt_handle(receipt).send().await.unwrap();
        });
        futures_util::future::join_all(handled).await;
    }
}

async fn queue_is_empty(rig: &Rig) -> bool {
    let attrs = rig
        .sqs
        .get_queue_attributes()
        .queue_url(&rig.queue_url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        QueueAttributeName::ApproximateNumberOfMessagesDelayed,
    ]
    .iter()
    .all(|k| attrs.get(k).map(String::as_str).unwrap_or("0") == "0")
}

/// Each of these customers' conversations holds exactly `per_customer` messages, each
/// counted unread once.
async fn assert_stored_once(rig: &Rig, customers: std::ops::Range<usize>, per_customer: usize) {
    rig.proxy.set_latency(Duration::ZERO);
    for c in customers {
        let conversation =
            rig.store.find_conversation(ORG, "acc_faults", &customer(c)).await.unwrap().expect("conversation");
        let page = rig.store.list_messages(ORG, &conversation.id, &PageRequest::first(100)).await.unwrap();
        assert_eq!(page.data.len(), per_customer, "messages of customer {c}");
        assert_eq!(conversation.unread_count as usize, per_customer, "unread count of customer {c}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backlog_past_the_budget_at_10_ms_per_call_is_acknowledged_fast_then_stored_once() {
    let Some(aws) = solo_local_aws().await else { return };
    let _one = ONE_AT_A_TIME.lock().await;
    let rig = rig(&aws).await;
    // 300 items by default, past the acknowledgement budget twice over; FAULT_FULL=1 runs the
    // README's 1000 (moto's queries slow as its table grows: 1000 take it about 150 s).
    let customers = if std::env::var_os("FAULT_FULL").is_some() { 100 } else { 30 };
    let body = backlog("a", customers, 10);
    rig.proxy.set_latency(Duration::from_millis(10));

    let started = Instant::now();
    let report = rig.services.inbound.accept_webhook(webhook::parse(&body).unwrap()).await.unwrap();
    let first = started.elapsed();
    let items = customers * 10;
    eprintln!("{items} new items at 10 ms per AWS call: acknowledged in {first:?}: {report:?}");
    assert_eq!(report.stored + report.deferred, items, "{report:?}");
    assert!(report.deferred > 0, "the backlog overran the budget: {report:?}");
    drain(&rig).await;

    rig.proxy.set_latency(Duration::from_millis(10));
    let started = Instant::now();
    let again = rig.services.inbound.accept_webhook(webhook::parse(&body).unwrap()).await.unwrap();
    let redelivered = started.elapsed();
    eprintln!("the same {items} items redelivered: acknowledged in {redelivered:?}: {again:?}");
    assert_eq!(again.stored, 0, "{again:?}");
    assert_eq!(again.duplicates + again.deferred, items, "{again:?}");
    drain(&rig).await;

    // One more message into an existing conversation whose customer's profile is known (no
    // enrichment job to queue).
    let c0 = rig.store.find_conversation(ORG, "acc_faults", &customer(0)).await.unwrap().unwrap();
    let contact = inbox_shared::domain::ConversationChange::contact(Some("ana"), Some("Ana"), None);
    rig.store.change_conversation(ORG, &c0.id, &contact).await.unwrap();
    let one = json!({"object":"instagram","entry":[{"id":IG_ACCOUNT,"messaging":[{"sender":{"id":customer(0)},
        "recipient":{"id":IG_ACCOUNT},"timestamp":chrono::Utc::now().timestamp_millis(),
        "message":{"mid":"a-single","text":"one more"}}]}]});
    rig.proxy.set_latency(Duration::from_millis(10));
    let started = Instant::now();
    let single =
        rig.services.inbound.accept_webhook(webhook::parse(one.to_string().as_bytes()).unwrap()).await.unwrap();
    eprintln!("1 item into an existing conversation at 10 ms per AWS call: acknowledged in {:?}", started.elapsed());
    assert_eq!(single.stored, 1);

    // The budget bounds the answer whatever the backlog: what it leaves is queued.
    let budget = rig.services.config.limits.webhook_ack_budget;
    assert!(first < budget + Duration::from_secs(3), "first delivery answered in {first:?}");
    assert!(redelivered < budget + Duration::from_secs(3), "redelivery answered in {redelivered:?}");
    rig.proxy.set_latency(Duration::ZERO);
    let c0 = rig.store.find_conversation(ORG, "acc_faults", &customer(0)).await.unwrap().unwrap();
    assert_eq!(c0.unread_count, 11);
    assert_eq!(c0.preview_text.as_deref(), Some("one more"));
    assert_stored_once(&rig, 1..customers, 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_backlog_delivered_five_times_at_once_is_stored_once() {
    let Some(aws) = solo_local_aws().await else { return };
    let _one = ONE_AT_A_TIME.lock().await;
    let rig = rig(&aws).await;
    // 100 items, each delivered 5 times at once, enough to overrun the acknowledgement budget
    // and race on every conversation; FAULT_FULL=1 runs the README's 1000 (moto applies
    // DynamoDB calls one at a time: 5 x 1000 items take it about 90 s).
    let (customers, per_customer) = if std::env::var_os("FAULT_FULL").is_some() { (50, 20) } else { (10, 10) };
    let body = backlog("c", customers, per_customer);
    rig.proxy.set_latency(Duration::from_millis(10));
    let deliveries = (0..5).map(|_| {
        let inbound = rig.services.inbound.clone();
        let envelope = webhook::parse(&body).unwrap();
        tokio::spawn(async move { inbound.accept_webhook(envelope).await })
    });
    for d in futures_util::future::join_all(deliveries).await {
        d.unwrap().expect("every delivery is acknowledged");
    }
    drain(&rig).await;
    assert_stored_once(&rig, 0..customers, per_customer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn aws_cut_for_6_s_under_a_stream_of_webhooks_loses_nothing_and_the_api_answers_503() {
    let Some(aws) = solo_local_aws().await else { return };
    let _one = ONE_AT_A_TIME.lock().await;
    let rig = rig(&aws).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = inbox_shared::http::router(rig.services.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::new();
    let (customers, count) = (4usize, 40usize);
    let base = chrono::Utc::now().timestamp_millis() - 60_000;

    // Meta: each webhook posted until it is answered 200, again after a pause when it is not.
    let deliveries = (0..count).map(|i| {
        let (client, url) = (client.clone(), url.clone());
        let body = json!({"object":"instagram","entry":[{"id":IG_ACCOUNT,"messaging":[{
            "sender":{"id":customer(i % customers)},"recipient":{"id":IG_ACCOUNT},"timestamp":base + i as i64,
            "message":{"mid":format!("b-{i}"),"text":format!("stream {i}")}}]}]})
        .to_string();
        async move {
            tokio::time::sleep(Duration::from_millis(150 * i as u64)).await;
            let mut failures = 0;
            loop {
                let sent = client
                    .post(format!("{url}/api/webhooks/instagram"))
                    .header("X-Hub-Signature-256", signature::sign(SECRET, body.as_bytes()))
                    .header("Content-Type", "application/json")
                    .body(body.clone())
                    .timeout(Duration::from_secs(20))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 200 => return failures,
                    Ok(r) => assert_eq!(r.status(), 503, "a failed delivery is a clear 503"),
                    Err(e) => panic!("webhook request did not complete: {e}"),
                }
                failures += 1;
                assert!(failures < 60, "webhook {i} never accepted");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    });
    let stream = tokio::spawn(futures_util::future::join_all(deliveries));

    tokio::time::sleep(Duration::from_millis(1500)).await;
    rig.proxy.cut(Duration::from_secs(6));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let direct = rig.store.list_accounts(ORG).await;
    eprintln!("store while cut: {direct:?}");
    let token = inbox_shared::http::mint_jwt(JWT, "org_id", ORG, chrono::Utc::now().timestamp() + 600);
    let started = Instant::now();
    let answer = client
        .get(format!("{url}/api/inbox/conversations?provider=INSTAGRAM"))
        .bearer_auth(&token)
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("the inbox API answers while AWS is down");
    let took = started.elapsed();
    let status = answer.status();
    let error: Value = answer.json().await.unwrap();
    eprintln!("inbox API while AWS is cut: {status} in {took:?}: {error}");
    assert_eq!(status, 503);
    assert_eq!(error["error"]["code"], "SERVICE_UNAVAILABLE");
    assert!(!error["error"]["message"].as_str().unwrap().contains("dispatch"), "no SDK text leaks");

    let failures: Vec<usize> = stream.await.unwrap();
    eprintln!("webhooks refused while AWS was cut (then redelivered): {}", failures.iter().sum::<usize>());
    assert!(failures.iter().sum::<usize>() > 0, "the cut was felt");
    drain(&rig).await;
    assert_stored_once(&rig, 0..customers, count / customers).await;
}
