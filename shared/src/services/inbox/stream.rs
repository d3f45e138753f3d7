//! The organization's live stream: its event log read from a position, looking back a little
//! for events another process appended late by its clock (the reader skips what it sent).

use std::collections::{HashSet, VecDeque};

use chrono::Duration;

use crate::domain::LoggedEvent;
use crate::error::AppError;

use super::Inbox;

/// How far back a reader looks from its last position.
pub const STREAM_LOOKBACK: Duration = Duration::seconds(5);
/// Events read at once.
const BATCH: usize = 100;
/// How many delivered event ids a reader remembers (well over what the look-back re-reads).
const REMEMBERED: usize = 10_000;

/// Where one reader of the stream is: its last position and what it already sent.
#[derive(Debug, Default)]
pub struct StreamCursor {
    position: Option<String>,
    sent: HashSet<String>,
    order: VecDeque<String>,
}

impl StreamCursor {
    /// From a client's `Last-Event-ID` (a position), or from the oldest event kept.
    pub fn resume(last_event_id: Option<&str>) -> Self {
        // Only a position this log gave (anything else reads from the oldest kept).
        let given = last_event_id.filter(|p| LoggedEvent::position_before(p, Duration::zero()).is_some());
        StreamCursor { position: given.map(str::to_owned), ..Default::default() }
    }

    fn remember(&mut self, id: &str) {
        if self.sent.insert(id.to_owned()) {
            self.order.push_back(id.to_owned());
            if self.order.len() > REMEMBERED
                && let Some(old) = self.order.pop_front()
            {
                self.sent.remove(&old);
            }
        }
    }
}

impl Inbox {
    /// The organization's events not yet sent to this reader, oldest first (pages past those
    /// it already sent, so a burst larger than a page inside the look-back never stalls it).
    pub async fn next_events(&self, org: &str, cursor: &mut StreamCursor) -> Result<Vec<LoggedEvent>, AppError> {
        let mut from = cursor.position.as_deref().and_then(|p| LoggedEvent::position_before(p, STREAM_LOOKBACK));
        let mut fresh = Vec::new();
        loop {
            let read = self.ports.log.events_after(org, from.as_deref(), BATCH, self.now()).await?;
            let full = read.len() == BATCH;
            from = read.last().map(|l| l.position.clone()).or(from);
            for logged in read {
                if cursor.position.as_deref().is_none_or(|p| logged.position.as_str() > p) {
                    cursor.position = Some(logged.position.clone());
                }
                if !cursor.sent.contains(&logged.event.id) {
                    cursor.remember(&logged.event.id);
                    fresh.push(logged);
                }
            }
            if !full || !fresh.is_empty() {
                return Ok(fresh);
            }
        }
    }
}
