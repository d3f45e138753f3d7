//! Messenger's receipts: a read watermark marks every outbound message sent before it READ;
//! a delivery marks the messages it names (or, with a watermark, every one sent before it)
//! DELIVERED. Instagram names the one message read instead (`changes.rs`).

use chrono::{DateTime, Utc};

use crate::domain::{ConnectedAccount, Direction, MessageChange, PageRequest};
use crate::error::AppError;
use crate::meta::webhook::Item;

use super::{Inbound, Outcome};

/// Recent messages a watermark is applied to (older ones were marked by earlier receipts).
const RECEIPT_LOOKBACK: usize = 50;

impl Inbound {
    /// The receipt's effect, or `None` when the item is not a Messenger receipt.
    /// Messenger's read receipt: every outbound message sent up to `watermark` is read.
    pub(super) async fn mark_read_up_to(
        &self,
        account: &ConnectedAccount,
        item: &Item,
        watermark: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Outcome, AppError> {
        self.mark_up_to(account, item, watermark, MessageChange::Read, at).await
    }

    /// A delivery receipt: each named message now, or when it is stored (a delivery may
    /// overtake the answer to our send), and with a watermark every message sent before it.
    pub(super) async fn mark_delivered(
        &self,
        account: &ConnectedAccount,
        item: &Item,
        mids: &[String],
        watermark: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<Outcome, AppError> {
        for mid in mids {
            self.apply_change(account, item, mid, &MessageChange::Delivered, at).await?;
        }
        if let Some(watermark) = watermark {
            self.mark_up_to(account, item, watermark, MessageChange::Delivered, at).await?;
        }
        Ok(Outcome::Updated)
    }

    async fn mark_up_to(
        &self,
        account: &ConnectedAccount,
        item: &Item,
        watermark: DateTime<Utc>,
        change: MessageChange,
        at: DateTime<Utc>,
    ) -> Result<Outcome, AppError> {
        let org = &account.organization_id;
        let customer = item.event.customer_id();
        let Some(c) = self.ports.conversations.find_conversation(org, &account.id, customer).await? else {
            return Ok(Outcome::Duplicate); // nothing of ours to mark
        };
        let recent = self.ports.messages.list_messages(org, &c.id, &PageRequest::first(RECEIPT_LOOKBACK)).await?;
        let ours = recent.data.iter().filter(|m| m.direction == Direction::Outbound && m.created_at <= watermark);
        for m in ours {
            // A message already at or past this state is left as it is (`Message::apply`).
            self.ports.messages.update_message(org, &m.id, &change, at).await?;
        }
        Ok(Outcome::Updated)
    }
}
