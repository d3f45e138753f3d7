//! Messenger's receipts: a read watermark marks every outbound message sent before it READ;
//! a delivery marks the messages it names (or, with a watermark, every one sent before it)
//! DELIVERED. Instagram names the one message read instead (`changes.rs`).

use chrono::{DateTime, Utc};

use crate::domain::{ConnectedAccount, Direction, MessageChange, PageRequest};
use crate::error::AppError;
use crate::meta::webhook::{EventKind, Item};

use super::Core;
use super::inbound::Outcome;

/// Recent messages a watermark is applied to (older ones were marked by earlier receipts).
const RECEIPT_LOOKBACK: usize = 50;

impl Core {
    /// The receipt's effect, or `None` when the item is not a Messenger receipt.
    pub(super) async fn apply_receipt(
        &self,
        account: &ConnectedAccount,
        item: &Item,
        at: DateTime<Utc>,
    ) -> Result<Option<Outcome>, AppError> {
        match &item.event.kind {
            EventKind::ReadUpTo(watermark) => {
                Ok(Some(self.mark_up_to(account, item, *watermark, MessageChange::Read, at).await?))
            }
            EventKind::Delivered { mids, watermark } => {
                // Each named message now, or when it is stored (a delivery may overtake the
                // answer to our send).
                for mid in mids {
                    self.apply_change(account, item, mid, &MessageChange::Delivered, at).await?;
                }
                if let Some(watermark) = watermark {
                    self.mark_up_to(account, item, *watermark, MessageChange::Delivered, at).await?;
                }
                Ok(Some(Outcome::Updated))
            }
            _ => Ok(None),
        }
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
        let Some(c) = self.conversations().find_conversation(org, &account.id, customer).await? else {
            return Ok(Outcome::Duplicate); // nothing of ours to mark
        };
        let recent = self.messages().list_messages(org, &c.id, &PageRequest::first(RECEIPT_LOOKBACK)).await?;
        let ours = recent.data.iter().filter(|m| m.direction == Direction::Outbound && m.created_at <= watermark);
        for m in ours {
            // A message already at or past this state is left as it is (`Message::apply`).
            self.messages().update_message(org, &m.id, &change, at).await?;
        }
        Ok(Outcome::Updated)
    }
}
