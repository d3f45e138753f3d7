//! Telling the world what changed: every flow publishes its changes' events to the
//! organization's log once the change is stored, and fails (so its source retries: Meta's
//! redelivery, the queue, the client) when the log cannot take them. An event's id is a digest
//! of what it says, so a retry publishing the same change again adds nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Duration;

use crate::domain::{ConnectedAccount, Conversation, InboxEvent, LoggedEvent, Message};
use crate::error::AppError;
use crate::ports::{Clock, EventStore};

pub struct Publisher {
    log: Arc<dyn EventStore>,
    clock: Arc<dyn Clock>,
    /// How long the log keeps an event (`EVENT_RETENTION_HOURS`): how far back a stream resumes.
    retain: Duration,
    /// This process's count of events published: orders those of one millisecond.
    sequence: AtomicU64,
}

impl Publisher {
    pub fn new(log: Arc<dyn EventStore>, clock: Arc<dyn Clock>, retain: Duration) -> Self {
        Publisher { log, clock, retain, sequence: AtomicU64::new(0) }
    }

    /// `conversation.updated` for a conversation a change returned (none: nothing to tell).
    pub async fn conversation_changed(&self, changed: Option<&Conversation>) -> Result<(), AppError> {
        self.publish(&changed.into_iter().map(InboxEvent::conversation_updated).collect::<Vec<_>>()).await
    }

    /// `message.updated` for a message a change returned (none: nothing to tell).
    pub async fn message_changed(&self, changed: Option<&Message>) -> Result<(), AppError> {
        self.publish(&changed.into_iter().map(InboxEvent::message_updated).collect::<Vec<_>>()).await
    }

    /// `account.status_changed` for an account a status change returned.
    pub async fn account_changed(&self, changed: Option<&ConnectedAccount>) -> Result<(), AppError> {
        self.publish(&changed.into_iter().map(InboxEvent::account_status_changed).collect::<Vec<_>>()).await
    }

    pub async fn publish(&self, events: &[InboxEvent]) -> Result<(), AppError> {
        if events.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        let logged: Vec<LoggedEvent> = events
            .iter()
            .map(|e| {
                let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
                LoggedEvent { position: LoggedEvent::position_of(now, sequence, &e.id), event: e.clone() }
            })
            .collect();
        self.log.append_events(&logged, now + self.retain).await?;
        Ok(())
    }
}
