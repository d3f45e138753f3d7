//! Inbox page latency against the size of the organization's inbox: the first page and a
//! later page of conversations, with 100, 10 000 and 100 000 conversations, on the embedded
//! store. Run: `cargo bench -p inbox-shared --bench inbox`. Compare the ratios between sizes,
//! not the absolute times (machines differ).

use std::time::{Duration, Instant};

use inbox_shared::adapters::memory_store::MemoryStore;
use inbox_shared::conformance::{conversation, message, t};
use inbox_shared::domain::{Cursor, Direction, PageRequest};
use inbox_shared::ports::{ConversationStore, MessageStore};

const ORG: &str = "org_bench";

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

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    println!(
        "machine: {} cores; release build; means over >= 1 s",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("{:>12} {:>14} {:>14} {:>22}", "conversations", "first page", "5th page", "messages page (as many msgs)");
    for size in [100usize, 10_000, 100_000] {
        let store = MemoryStore::new();
        rt.block_on(async {
            for i in 0..size {
                let c = conversation(ORG, "acc_1", &format!("{}", 6_185_000_000_000_000u64 + i as u64), t(i as i64));
                store.create_conversation(&c).await.unwrap();
            }
        });
        let first = time(Duration::from_secs(1), || {
            rt.block_on(store.list_conversations(ORG, None, &PageRequest::first(20))).unwrap();
        });
        // The cursor of page 4, so the timed call reads page 5.
        let mut after = None;
        for _ in 0..4 {
            let page = rt
                .block_on(store.list_conversations(ORG, None, &PageRequest { limit: 20, after: after.clone() }))
                .unwrap();
            after = page.next_cursor.as_deref().and_then(Cursor::decode);
        }
        let later = time(Duration::from_secs(1), || {
            rt.block_on(store.list_conversations(ORG, None, &PageRequest { limit: 20, after: after.clone() })).unwrap();
        });
        // As many messages as conversations, over 10 conversations: one conversation's page.
        let convs: Vec<_> = (0..10).map(|i| conversation(ORG, "acc_2", &format!("c{i}"), t(0))).collect();
        rt.block_on(async {
            for c in &convs {
                store.create_conversation(c).await.unwrap();
            }
            for i in 0..size {
                let m = message(&convs[i % 10], None, Direction::Inbound, t(i as i64), "hi");
                store.insert_message(&m).await.unwrap();
            }
        });
        let messages = time(Duration::from_secs(1), || {
            rt.block_on(store.list_messages(ORG, &convs[3].id, &PageRequest::first(20))).unwrap();
        });
        println!("{size:>12} {first:>14.2?} {later:>14.2?} {messages:>22.2?}");
    }
}
