//! Each store logs its own writes: a flow that dies right after its write (before anything
//! else runs) loses no event, a write Meta repeats (the same `mid`) logs nothing new, and a
//! write that failed logs nothing. On memory, SQLite (in the write's transaction) and
//! DynamoDB (from the table's stream, through the event relay as Lambda runs it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use inbox_shared::adapters::dynamodb::DynamoStore;
use inbox_shared::adapters::memory_store::MemoryStore;
use inbox_shared::adapters::sqlite::{DEFAULT_GROUP, Db, SqliteStore};
use inbox_shared::domain::{Activity, Conversation, Direction, MessageChange, new_id};
use inbox_shared::ports::{Appended, Store};
use inbox_shared::relay::Relay;
use inbox_shared::testing::local_aws::local_aws;
use inbox_shared::testing::seed::inbound_message;
use inbox_shared::testing::stream_pump::{RecordingBus, StreamPump};

const ORG: &str = "org_log";

/// The organization's log once it holds `count` events (or after 15 s): (type, event id).
async fn log_of(store: &dyn Store, count: usize) -> Vec<(String, String)> {
    let started = Instant::now();
    loop {
        let log = store.events_after(ORG, None, 100, Utc::now()).await.unwrap();
        if log.len() >= count || started.elapsed() > Duration::from_secs(15) {
            return log.into_iter().map(|l| (l.event.kind.as_str().to_owned(), l.event.id)).collect();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn writes_are_told_once(store: Arc<dyn Store>) {
    let now = Utc::now();
    let opened = Conversation::opened(new_id("conv"), ORG, "acc_log", "6185000000000077", now, now);
    let conversation = store.create_conversation(&opened).await.unwrap();
    let message = inbound_message(&conversation, "m_log_1", "hello", now);
    let activity = Activity::live(Direction::Inbound, now, Some("hello".into()), now);
    // The write, and then nothing: the process dies here.
    let appended = store.append_message(&conversation, &message, &activity).await.unwrap();
    assert!(matches!(appended, Appended::New { .. }));
    let log = log_of(&*store, 2).await;
    let kinds: Vec<&str> = log.iter().map(|(k, _)| k.as_str()).collect();
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(sorted, ["conversation.updated", "message.created"], "the empty conversation told nothing: {log:?}");

    // Meta redelivers it (the same mid): a duplicate, nothing logged.
    let again = inbound_message(&conversation, "m_log_1", "hello", now);
    let appended = store.append_message(&conversation, &again, &activity).await.unwrap();
    assert!(matches!(appended, Appended::Duplicate(_)));
    // A change that changes nothing a consumer sees (only a failed send is requeued), and a
    // write that fails: nothing either.
    store.update_message(ORG, &message.id, &MessageChange::Requeued, now).await.unwrap();
    let mut orphan = inbound_message(&conversation, "m_log_2", "lost", now);
    orphan.conversation_id = "conv_missing".into();
    assert!(store.append_message(&conversation, &orphan, &activity).await.is_err());
    // Then a change that shows: it is the only new event.
    let heart = MessageChange::Reaction {
        by: "6185000000000077".into(),
        reaction: Some("love".into()),
        emoji: None,
        removed: false,
    };
    store.update_message(ORG, &message.id, &heart, now).await.unwrap();
    log_of(&*store, 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await; // anything late would show by now
    let after = log_of(&*store, 0).await;
    assert_eq!(&after[..2], &log[..], "nothing before it changed: {after:?}");
    let new: Vec<&str> = after[2..].iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(new, ["message.updated"], "{after:?}");
}

#[tokio::test]
async fn on_memory() {
    writes_are_told_once(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn on_sqlite() {
    let dir = std::env::temp_dir().join(new_id("event-log"));
    let db = Db::open(&dir.join("inbox.sqlite3"), DEFAULT_GROUP).unwrap();
    writes_are_told_once(Arc::new(SqliteStore::new(db))).await;
}

#[tokio::test]
async fn on_dynamodb_through_the_stream() {
    let Some(aws) = local_aws().await else { return };
    let table = aws.fresh_table().await;
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws.sdk), &table));
    let relay = Arc::new(Relay::new(store.clone(), Arc::new(RecordingBus::default()), chrono::Duration::hours(24)));
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let _pump = StreamPump::start(&aws.sdk, &endpoint, &table, relay).await;
    writes_are_told_once(store).await;
}
