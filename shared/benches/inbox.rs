//! Inbox page latency against the size of the organization's inbox, on the memory and the
//! SQLite stores: the first page and a later page of conversations, and one conversation's
//! page of messages, with 100, 10 000 and 100 000 conversations. Then SQLite's write
//! throughput with concurrent writers, each call its own transaction or grouped.
//! Run: `cargo bench -p inbox-shared --bench inbox`. Compare ratios, not absolute times.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use inbox_shared::adapters::memory_store::MemoryStore;
use inbox_shared::adapters::sqlite::{DEFAULT_GROUP, Db, SqliteStore};
use inbox_shared::conformance::{conversation, message, t};
use inbox_shared::domain::{Conversation, Cursor, Direction, PageRequest};
use inbox_shared::ports::Store;

const ORG: &str = "org_bench";
/// Writers at once when filling a store (a webhook's lanes write so).
const WRITERS: usize = 64;

/// Mean time of `f` over at least `min`.
fn time<F: FnMut()>(min: Duration, mut f: F) -> Duration {
    f();
    let (start, mut n) = (Instant::now(), 0u32);
    while start.elapsed() < min {
        f();
        n += 1;
    }
    start.elapsed() / n
}

fn sqlite(group: usize) -> Arc<dyn Store> {
    let dir = std::env::temp_dir().join(inbox_shared::domain::new_id("bench-sqlite"));
    Arc::new(SqliteStore::new(Db::open(&dir.join("inbox.sqlite3"), group).unwrap()))
}

/// `size` conversations, and as many messages over 10 more conversations, written by
/// `WRITERS` concurrent callers; returns the 10 conversations.
async fn fill(store: &Arc<dyn Store>, size: usize) -> Vec<Conversation> {
    let conversations = futures_util::stream::iter(0..size).map(|i| {
        let c = conversation(ORG, "acc_1", &format!("{}", 6_185_000_000_000_000u64 + i as u64), t(i as i64));
        async move { store.create_conversation(&c).await.unwrap() }
    });
    conversations.buffer_unordered(WRITERS).collect::<Vec<_>>().await;
    let convs: Vec<_> = (0..10).map(|i| conversation(ORG, "acc_2", &format!("c{i}"), t(0))).collect();
    for c in &convs {
        store.create_conversation(c).await.unwrap();
    }
    insert_messages(store, &convs, size).await;
    convs
}

async fn insert_messages(store: &Arc<dyn Store>, convs: &[Conversation], n: usize) {
    let messages = futures_util::stream::iter(0..n).map(|i| {
        let m = message(&convs[i % convs.len()], None, Direction::Inbound, t(i as i64), "hi");
        async move { store.insert_message(&m).await.unwrap() }
    });
    messages.buffer_unordered(WRITERS).collect::<Vec<_>>().await;
}

/// One row: the first page, the 5th page and a messages page, each a mean over 1 s.
fn row(rt: &tokio::runtime::Runtime, store: &Arc<dyn Store>, convs: &[Conversation]) -> [Duration; 3] {
    let page = |after: Option<Cursor>| PageRequest { limit: 20, after };
    let first = time(Duration::from_secs(1), || {
        rt.block_on(store.list_conversations(ORG, Default::default(), &page(None))).unwrap();
    });
    let mut after = None; // the cursor of page 4, so the timed call reads page 5
    for _ in 0..4 {
        let p = rt.block_on(store.list_conversations(ORG, Default::default(), &page(after.clone()))).unwrap();
        after = p.next_cursor.as_deref().and_then(Cursor::decode);
    }
    let later = time(Duration::from_secs(1), || {
        rt.block_on(store.list_conversations(ORG, Default::default(), &page(after.clone()))).unwrap();
    });
    let messages = time(Duration::from_secs(1), || {
        rt.block_on(store.list_messages(ORG, &convs[3].id, &page(None))).unwrap();
    });
    [first, later, messages]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {cores} cores; release build; means over >= 1 s");
    println!("{:>8} {:>8} {:>12} {:>12} {:>14}", "store", "size", "first page", "5th page", "messages page");
    for size in [100usize, 10_000, 100_000] {
        for (name, store) in
            [("memory", Arc::new(MemoryStore::new()) as Arc<dyn Store>), ("sqlite", sqlite(DEFAULT_GROUP))]
        {
            let convs = rt.block_on(fill(&store, size));
            let [first, later, messages] = row(&rt, &store, &convs);
            println!("{name:>8} {size:>8} {first:>12.2?} {later:>12.2?} {messages:>14.2?}");
        }
    }
    println!("\nSQLite writes, {WRITERS} concurrent writers, synchronous=FULL:");
    for group in [1, DEFAULT_GROUP] {
        let store = sqlite(group);
        let convs = rt.block_on(fill(&store, 0));
        let n = 5_000;
        let start = Instant::now();
        rt.block_on(insert_messages(&store, &convs, n));
        let per_second = n as f64 / start.elapsed().as_secs_f64();
        println!("  up to {group:>3} calls per transaction: {per_second:>8.0} messages/s");
    }
}
