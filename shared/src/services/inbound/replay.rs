//! Events that arrived for an account before anyone connected it go into its inbox once it is
//! connected: as queued work (`REPLAY_EVENTS`), a page at a time, never on the OAuth
//! callback's path. A kept event is deleted only after its replay is durable.

use chrono::Duration;

use crate::domain::{Cursor, PageRequest};
use crate::error::AppError;
use crate::meta::webhook::Item;
use crate::ports::{QueueMessage, ReplayPage};

use super::{Inbound, NO_ACCOUNT, Outcome};

/// Kept events replayed by one job; the next page is another job.
const REPLAY_PAGE: usize = 100;

impl Inbound {
    /// The `REPLAY_EVENTS` job: one page of kept events into the inbox; the next page queued.
    /// How many were replayed.
    pub(in crate::services) async fn replay_kept_events(&self, p: &ReplayPage) -> Result<usize, AppError> {
        let external_id = p.external_account_id.as_str();
        // Still nobody's (disconnected again): the events keep waiting, untouched.
        if self.ports.directory.route(external_id).await?.is_none() {
            return Ok(0);
        }
        let after = p.cursor.as_deref().and_then(Cursor::decode);
        let page =
            self.ports.raw_events.raw_events_page(external_id, &PageRequest { limit: REPLAY_PAGE, after }).await?;
        let mut replayed = 0;
        for event in page.data.iter().filter(|e| e.reason == NO_ACCOUNT) {
            let Ok(item) = Item::from_raw(external_id, None, event.payload.clone()) else { continue };
            // Durable first (stored, waiting for its message, or kept under another reason,
            // which is another id), then forgotten. An error leaves it for the retry.
            if self.accept_item(&item).await? == Outcome::NoAccount {
                return Ok(replayed); // disconnected meanwhile: it waits on
            }
            self.ports.raw_events.delete_raw_event(external_id, &event.id).await?;
            replayed += 1;
        }
        if let Some(cursor) = page.next_cursor {
            let next = QueueMessage::replay(external_id, Some(cursor));
            self.ports.queue.enqueue(&next, Duration::zero()).await.map_err(AppError::unavailable)?;
        }
        Ok(replayed)
    }
}
