//! Memory store: each organization's event log.

use super::*;
use crate::domain::LoggedEvent;
use crate::ports::EventStore;

#[async_trait]
impl EventStore for MemoryStore {
    fn keep_events_for(&self, retain: chrono::Duration) {
        self.with(|t| t.event_retention = Some(retain));
    }

    async fn append_events(
        &self,
        events: &[LoggedEvent],
        expires_at: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        Ok(self.with(|t| {
            let mut gone = Vec::new();
            for LoggedEvent { position, event: e } in events {
                if !t.record_exists(e) {
                    gone.push(e.id.clone());
                } else if t.event_ids.insert(key(&e.organization_id, &e.id)) {
                    t.events.insert((e.organization_id.clone(), position.clone()), (e.clone(), expires_at));
                }
            }
            gone
        }))
    }

    async fn events_after(
        &self,
        org: &str,
        after: Option<&str>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        use std::ops::Bound::{Excluded, Included};
        let low = match after {
            Some(a) => Excluded((org.to_owned(), a.to_owned())),
            None => Included((org.to_owned(), String::new())),
        };
        let high = Excluded((org.to_owned(), "\u{10ffff}".to_owned()));
        Ok(self.with(|t| {
            t.events
                .range((low, high))
                .filter(|(_, (_, expires))| *expires > now)
                .take(limit)
                .map(|((_, position), (event, _))| LoggedEvent { position: position.clone(), event: event.clone() })
                .collect()
        }))
    }
}
