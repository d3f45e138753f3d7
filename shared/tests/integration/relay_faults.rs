//! The relay's log on DynamoDB when AWS fails part way through a batch: the log's transaction
//! commits but the read of the records after it fails, or the transaction commits and its
//! answer never arrives. Either way the batch comes back (Lambda retries it) and each event is
//! in the log exactly once after the retry.

use inbox_shared::adapters::dynamodb::DynamoStore;
use inbox_shared::conformance::{conversation, t};
use inbox_shared::domain::{InboxEvent, LoggedEvent};
use inbox_shared::ports::{ConversationStore, EventStore};
use inbox_shared::testing::fault_proxy::{FaultProxy, Unanswered};

/// Two conversations' events logged through a proxy that fails every request naming
/// `operation` as `at` says, then again once it is healed (the retry, at another position
/// as a new relay run would give): the log holds each event once.
async fn logged_once_after(operation: &str, at: Unanswered) {
    let Some(aws) = inbox_shared::testing::local_aws::local_aws().await else { return };
    let direct = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws.sdk), &aws.table);
    let proxy = FaultProxy::start(&aws.endpoint).await;
    let sdk = inbox_shared::runtime::aws_config_loader().endpoint_url(&proxy.url).load().await;
    let proxied = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &aws.table);
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
