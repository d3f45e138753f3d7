//! The relay's log on DynamoDB when AWS fails part way through a batch: the guards written but
//! their answer lost (the events not written yet), the events written but their answer lost,
//! or the read of the records after them failing. Each way the batch comes back (Lambda
//! retries it) and each event is in the log exactly once after the retry: through the store's
//! call, and through the relay fed by the table's stream, where each event also reaches the
//! bus once. And when an event tells of a record erased before it was logged, the take-back's
//! deletes failing leave nothing of it behind after the retry.

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

/// `events` as one relay run at `second` logs them, each at its place in that run.
fn logged_at(events: &[InboxEvent], second: i64) -> Vec<LoggedEvent> {
    let position = |i: usize, e: &InboxEvent| LoggedEvent::position_of(t(second), i as u64, &e.id);
    events.iter().enumerate().map(|(i, e)| LoggedEvent { position: position(i, e), event: e.clone() }).collect()
}

/// Two conversations' events logged through a proxy that fails every request naming
/// `operation` as `at` says, then again once it is healed (the retry, at another position
/// as a new relay run would give): the log holds each event once. Answers whether they are
/// at the first run's positions (else the retry's).
async fn logged_once_after(operation: &str, at: Unanswered) -> Option<bool> {
    let aws = inbox_shared::testing::local_aws::local_aws().await?;
    let direct = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws.sdk), &aws.table);
    let (proxy, proxied) = through_a_proxy(&aws, &aws.table).await;
    let org = inbox_shared::domain::new_id("org");
    let mut events = Vec::new();
    for customer in ["cust1", "cust2"] {
        let c = direct.create_conversation(&conversation(&org, "acc_1", customer, t(0))).await.unwrap();
        events.push(InboxEvent::conversation_updated(&c));
    }

    proxy.fail_requests(operation, at);
    let first = proxied.append_events(&logged_at(&events, 1), t(1_000)).await;
    assert!(proxy.failed() >= 1, "the fault happened");
    assert!(first.is_err(), "the batch comes back when its {operation} is lost: {first:?}");
    proxy.heal();
    let retry = proxied.append_events(&logged_at(&events, 2), t(1_000)).await.expect("the retry goes through");
    assert!(retry.is_empty(), "both records are there: {retry:?}");

    let logged = direct.events_after(&org, None, 10, t(3)).await.unwrap();
    let mut ids: Vec<String> = logged.iter().map(|e| e.event.id.clone()).collect();
    ids.sort();
    let mut told: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    told.sort();
    assert_eq!(ids, told, "each event in the log exactly once");
    let positions = |run: Vec<LoggedEvent>| {
        let mut p: Vec<String> = run.into_iter().map(|e| e.position).collect();
        p.sort();
        p
    };
    for e in &logged {
        // The guard (its key as `adapters/dynamodb/keys.rs` lays it out) names where its event
        // is, so a take-back finds it.
        let guard = direct_guard(&aws, &org, &e.event.id).await.expect("each logged event has its guard");
        let named = guard.get("eventSk").and_then(|v| v.as_s().ok()).cloned();
        assert_eq!(named, Some(format!("EVT#{}", e.position)), "the guard names where its event is");
    }
    let (first_run, logged) = (positions(logged_at(&events, 1)), positions(logged));
    assert!(logged == first_run || logged == positions(logged_at(&events, 2)), "at one run's positions: {logged:?}");
    Some(logged == first_run)
}

#[tokio::test]
async fn the_check_after_the_log_s_writes_failing_logs_each_event_once_on_the_retry() {
    let at_first = logged_once_after(".BatchGetItem", Unanswered::BeforeAws).await;
    assert!(at_first.is_none_or(|first| first), "logged by the first run, kept where it was");
}

/// The guards written, their answers lost (the SDK's retries too), so the events were not
/// written: the retry moves each guard to its own position and writes the event there, late
/// readers seeing it after where they are.
#[tokio::test]
async fn the_guards_written_but_never_answered_log_each_event_once_at_the_retry_s_position() {
    let at_first = logged_once_after(".PutItem", Unanswered::AfterAws).await;
    assert!(at_first.is_none_or(|first| !first), "the guards moved to the retry's positions");
}

#[tokio::test]
async fn the_events_never_sent_after_their_guards_are_logged_once_at_the_retry_s_position() {
    let at_first = logged_once_after(".BatchWriteItem", Unanswered::BeforeAws).await;
    assert!(at_first.is_none_or(|first| !first), "the guards moved to the retry's positions");
}

#[tokio::test]
async fn the_events_written_but_never_answered_stay_once_where_they_were_written() {
    let at_first = logged_once_after(".BatchWriteItem", Unanswered::AfterAws).await;
    assert!(at_first.is_none_or(|first| first), "not written again at the retry's positions");
}

/// A conversation erased before its event is logged: the event is taken back out of the log,
/// through a proxy that fails its deletes as `at` says, then again once healed. The call fails
/// (the batch comes back); the retry takes the event back, and neither it nor its guard stays,
/// while the kept conversation's event is logged once.
async fn taken_back_after(at: Unanswered) {
    use inbox_shared::ports::ErasureStore;

    let Some(aws) = inbox_shared::testing::local_aws::local_aws().await else { return };
    let direct = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws.sdk), &aws.table);
    let (proxy, proxied) = through_a_proxy(&aws, &aws.table).await;
    let org = inbox_shared::domain::new_id("org");
    let kept = direct.create_conversation(&conversation(&org, "acc_1", "cust1", t(0))).await.unwrap();
    let erased = direct.create_conversation(&conversation(&org, "acc_1", "cust2", t(0))).await.unwrap();
    let events = [InboxEvent::conversation_updated(&kept), InboxEvent::conversation_updated(&erased)];
    direct.erase_conversation(&org, &erased.id, 100).await.unwrap();

    proxy.fail_requests(".DeleteItem", at);
    let first = proxied.append_events(&logged_at(&events, 1), t(1_000)).await;
    assert!(proxy.failed() >= 1, "the fault happened");
    assert!(first.is_err(), "the batch comes back when the take-back's delete is lost: {first:?}");
    proxy.heal();
    let retry = proxied.append_events(&logged_at(&events, 2), t(1_000)).await.expect("the retry goes through");
    assert_eq!(retry, [events[1].id.clone()], "the erased conversation's event is taken back");

    let logged = direct.events_after(&org, None, 10, t(3)).await.unwrap();
    let ids: Vec<&str> = logged.iter().map(|e| e.event.id.as_str()).collect();
    assert_eq!(ids, [events[0].id.as_str()], "only the kept conversation's event, once");
    // The guard's key as `adapters/dynamodb/keys.rs` lays it out: nothing of the taken-back
    // event stays under the organization.
    let guard = direct_guard(&aws, &org, &events[1].id).await;
    assert!(guard.is_none(), "the taken-back event's guard is gone: {guard:?}");
}

/// The log's guard of event `id` in `org`, read straight from the table.
async fn direct_guard(
    aws: &LocalAws,
    org: &str,
    id: &str,
) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let key = |v: String| aws_sdk_dynamodb::types::AttributeValue::S(v);
    let client = aws_sdk_dynamodb::Client::new(&aws.sdk);
    let get = client.get_item().table_name(&aws.table).key("pk", key(format!("ORG#{org}")));
    get.key("sk", key(format!("EVTID#{id}"))).consistent_read(true).send().await.unwrap().item
}

#[tokio::test]
async fn the_take_back_s_delete_lost_leaves_nothing_of_the_erased_record_s_event_after_the_retry() {
    taken_back_after(Unanswered::BeforeAws).await;
}

#[tokio::test]
async fn the_take_back_s_delete_done_but_never_answered_leaves_nothing_after_the_retry() {
    taken_back_after(Unanswered::AfterAws).await;
}

/// The same faults under the relay as Lambda runs it (the table's stream, a failed batch read
/// again from its first failure): a DM's two events reach the bus once each, and the log.
/// `retried_without_it`: the batch's retry no longer makes the failing call (the events it
/// wrote are found), so it goes through before the proxy heals.
async fn relayed_once_after(operation: &str, at: Unanswered, retried_without_it: bool) {
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
    if !retried_without_it {
        assert!(bus.events.lock().unwrap().is_empty(), "nothing reached the bus from the failed batch");
    }
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
async fn the_relay_sends_each_event_once_when_its_check_failed_after_its_writes() {
    relayed_once_after(".BatchGetItem", Unanswered::BeforeAws, false).await;
}

#[tokio::test]
async fn the_relay_sends_each_event_once_when_its_guards_were_never_answered() {
    relayed_once_after(".PutItem", Unanswered::AfterAws, false).await;
}

#[tokio::test]
async fn the_relay_sends_each_event_once_when_its_events_were_never_answered() {
    relayed_once_after(".BatchWriteItem", Unanswered::AfterAws, true).await;
}
