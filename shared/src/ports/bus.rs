//! The wider inbox's event bus: every event of the log, put there by the stream relay.

use async_trait::async_trait;

use crate::domain::InboxEvent;

#[derive(Debug, thiserror::Error)]
#[error("event bus failed: {0}")]
pub struct BusError(pub String);

#[async_trait]
pub trait EventBus: Send + Sync {
    /// Puts the events on the bus; the indexes of those it did not take (to be put again).
    async fn put(&self, events: &[InboxEvent]) -> Result<Vec<usize>, BusError>;
}
