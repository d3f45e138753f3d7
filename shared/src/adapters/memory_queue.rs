//! The in-process jobs queue: messages wait until their delay has passed on the injected
//! clock. The local server drains it in a loop; tests drain it step by step, moving a
//! manual clock instead of sleeping.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use tokio::sync::Notify;

use crate::ports::{Clock, Delivery, JobQueue, LocalQueue, QueueError, QueueMessage};

struct Entry {
    due: DateTime<Utc>,
    seq: u64,
    message: QueueMessage,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

pub struct MemoryQueue {
    clock: Arc<dyn Clock>,
    heap: Mutex<(BinaryHeap<Reverse<Entry>>, u64)>,
    /// Wakes the local server's worker when something is enqueued.
    pub notify: Notify,
}

impl MemoryQueue {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        MemoryQueue { clock, heap: Mutex::new((BinaryHeap::new(), 0)), notify: Notify::new() }
    }

    /// Removes and returns every message due now, oldest due first.
    pub fn take_due(&self) -> Vec<QueueMessage> {
        let now = self.clock.now();
        let mut guard = self.heap.lock().expect("queue lock");
        let mut due = Vec::new();
        while guard.0.peek().is_some_and(|Reverse(e)| e.due <= now) {
            due.push(guard.0.pop().expect("peeked").0.message);
        }
        due
    }

    /// When the next message becomes due, if any waits.
    pub fn next_due_at(&self) -> Option<DateTime<Utc>> {
        self.heap.lock().expect("queue lock").0.peek().map(|Reverse(e)| e.due)
    }
}

#[async_trait]
impl JobQueue for MemoryQueue {
    async fn enqueue(&self, message: &QueueMessage, delay: Duration) -> Result<(), QueueError> {
        let due = self.clock.now() + delay.max(Duration::zero());
        {
            let mut guard = self.heap.lock().expect("queue lock");
            guard.1 += 1;
            let seq = guard.1;
            guard.0.push(Reverse(Entry { due, seq, message: message.clone() }));
        }
        self.notify.notify_one();
        Ok(())
    }
}

/// The worker's view: a taken message is already out of the heap; one not handled is
/// enqueued again. (Nothing survives the process: the SQLite queue is the durable one.)
#[async_trait]
impl LocalQueue for MemoryQueue {
    async fn take_due(&self) -> Result<Vec<Delivery>, QueueError> {
        MemoryQueue::take_due(self)
            .into_iter()
            .map(|m| {
                let body = serde_json::to_string(&m).map_err(|e| QueueError(e.to_string()))?;
                Ok(Delivery { id: "in-process".into(), body, correlation: None })
            })
            .collect()
    }

    async fn settle(&self, delivery: &Delivery, handled: bool, retry_in: Duration) -> Result<(), QueueError> {
        if handled {
            return Ok(());
        }
        let message = serde_json::from_str(&delivery.body).map_err(|e| QueueError(e.to_string()))?;
        self.enqueue(&message, retry_in).await
    }

    async fn next_due_at(&self) -> Result<Option<DateTime<Utc>>, QueueError> {
        Ok(MemoryQueue::next_due_at(self))
    }

    fn wakeup(&self) -> &Notify {
        &self.notify
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::ManualClock;

    #[tokio::test]
    async fn messages_become_due_after_their_delay_in_due_order() {
        let clock = Arc::new(ManualClock::new(DateTime::from_timestamp(0, 0).unwrap()));
        let q = MemoryQueue::new(clock.clone());
        let m = |id: &str| QueueMessage::send("org", id);
        q.enqueue(&m("late"), Duration::seconds(10)).await.unwrap();
        q.enqueue(&m("now"), Duration::zero()).await.unwrap();
        q.enqueue(&m("soon"), Duration::seconds(5)).await.unwrap();
        assert_eq!(q.take_due(), vec![m("now")]);
        assert_eq!(q.next_due_at(), Some(DateTime::from_timestamp(5, 0).unwrap()));
        clock.advance(Duration::seconds(10));
        assert_eq!(q.take_due(), vec![m("soon"), m("late")]);
        assert!(q.take_due().is_empty());
    }
}
