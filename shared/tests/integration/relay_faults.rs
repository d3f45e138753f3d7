//! The relay's log on DynamoDB when AWS fails part way through a batch: the log's transaction
//! commits but the read of the records after it fails, or the transaction commits and its
//! answer never arrives. Either way the batch comes back (Lambda retries it) and each event is
//! in the log exactly once after the retry: through the store's call, and through the relay
//! fed by the table's stream, where each event also reaches the bus once.

use inbox_shared::adapters::dynamodb::DynamoStore;
use inbox_shared::conformance::{conversation, t};
use inbox_shared::domain::{InboxEvent, LoggedEvent};
use inbox_shared::ports::{ConversationStore, EventStore};
use inbox_shared::testing::fault_proxy::{FaultProxy, Unanswered};
use inbox_shared::testing::local_aws::LocalAws;

/// The store on `table`, its calls going through a fault proxy in front of the local server.
async fn through_a_proxy(aws: &LocalAws, table: &str) -> (FaultProxy, DynamoStore) {
    let proxy = FaultProxy::start(&aws.endpoint).await;
    let proxied = aws_sdk_dynamodb::config::Builder::from(&aws.sdk).endpoint_url(&proxy.url).build();
    (proxy, DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(proxied), table))
}

/// Two conversations' events logged through a proxy that fails every request naming
/// `operation` as `at` says, then again once it is healed (the retry, at another position
/// as a new relay run would give): the log holds each event once.
async fn logged_once_after(operation: &str, at: Unanswered) {
    let Some(aws) = inbox_shared::testing::local_aws::local_aws().await else { return };
    let direct = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws.sdk), &aws.table);
    let (proxy, proxied) = through_a_proxy(&aws, &aws.table).await;
    let org = inbox_shared::domain::new_id("org");
    let mut events = Vec::new();
    for customer in ["cust1", "cust2"] {
        let c = direct.create_conversation(&conversation(&org, "acc_1", customer, t(0))).await.unwrap();
        events.push(InboxEvent::conversation_updated(&c));
    }
    let attempt = |second: i64| -> Vec<LoggedEvent> {
        let position = |i: usize, e: &InboxEvent| LoggedEvent::position_of(t(second), i as u64, &e.id);
        events.iter().enumerate().map(|(i, e)| LoggedEvent { position: position(i, e), event: e.clone() }).collect()
    };

    proxy.fail_requests(operation, at);
    let first = proxied.append_events(&attempt(1), t(1_000)).await;
    assert!(proxy.failed() >= 1, "the fault happened");
    assert!(first.is_err(), "the batch comes back when its {operation} is lost: {first:?}");
    proxy.heal();
    let retry = proxied.append_events(&attempt(2), t(1_000)).await.expect("the retry goes through");
    assert!(retry.is_empty(), "both records are there: {retry:?}");

    let logged = direct.events_after(&org, None, 10, t(3)).await.unwrap();
    let mut ids: Vec<String> = logged.into_iter().map(|e| e.event.id).collect();
    ids.sort();
    let mut told: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    told.sort();
    assert_eq!(ids, told, "each event in the log exactly once");
}

#[tokio::test]
async fn the_check_after_the_log_s_transaction_failing_logs_each_event_once_on_the_retry() {
    logged_once_after(".BatchGetItem", Unanswered::BeforeAws).await;
}

#[tokio::test]
async fn the_log_s_transaction_done_but_never_answered_logs_each_event_once_on_the_retry() {
    logged_once_after(".TransactWriteItems", Unanswered::AfterAws).await;
}

/// The same faults under the relay as Lambda runs it (the table's stream, a failed batch read
/// again from its first failure): a DM's two events reach the bus once each, and the log.
async fn relayed_once_after(operation: &str, at: Unanswered) {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use inbox_shared::domain::{Activity, Conversation, Direction, new_id};
    use inbox_shared::ports::Store;
    use inbox_shared::relay::Relay;
    use inbox_shared::testing::stream_pump::{RecordingBus, StreamPump};

    let Some(aws) = inbox_shared::testing::local_aws::local_aws().await else { return };
    let table = aws.fresh_table().await;
    let direct = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws.sdk), &table);
    let (proxy, proxied) = through_a_proxy(&aws, &table).await;
    let proxied: Arc<dyn Store> = Arc::new(proxied);
    let bus = Arc::new(RecordingBus::default());
    let relay = Arc::new(Relay::new(proxied, bus.clone(), chrono::Duration::hours(24)));
    proxy.fail_requests(operation, at);
    let _pump = StreamPump::start(&aws.sdk, &aws.endpoint, &table, relay).await;

    let (org, now) = (new_id("org"), chrono::Utc::now());
    let opened = Conversation::opened(new_id("conv"), &org, "acc_1", "6185000000000088", now, now);
    let conversation = direct.create_conversation(&opened).await.unwrap();
    let message = inbox_shared::testing::seed::inbound_message(&conversation, "m_relay_1", "hello", now);
    let activity = Activity::live(Direction::Inbound, now, Some("hello".into()), now);
    direct.append_message(&conversation, &message, &activity).await.unwrap();

    // All three of the SDK's attempts fail, so the relay's run fails and the batch comes back.
    let waited = Instant::now();
    while proxy.failed() < 3 && waited.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(proxy.failed() >= 3, "the relay's call met the fault on every attempt");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(bus.events.lock().unwrap().is_empty(), "nothing reached the bus from the failed batch");
    proxy.heal();
    let waited = Instant::now();
    while bus.events.lock().unwrap().len() < 2 && waited.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // anything sent twice would show by now
    let mut sent: Vec<String> = bus.events.lock().unwrap().iter().map(|e| e.kind.as_str().to_owned()).collect();
    sent.sort();
    assert_eq!(sent, ["conversation.updated", "message.created"], "each event on the bus once");
    let logged = direct.events_after(&org, None, 10, chrono::Utc::now()).await.unwrap();
    assert_eq!(logged.len(), 2, "and in the log once: {logged:?}");
}

#[tokio::test]
async fn the_relay_sends_each_event_once_when_its_check_failed_after_its_transaction() {
    relayed_once_after(".BatchGetItem", Unanswered::BeforeAws).await;
}

#[tokio::test]
async fn the_relay_sends_each_event_once_when_its_transaction_was_never_answered() {
    relayed_once_after(".TransactWriteItems", Unanswered::AfterAws).await;
}
