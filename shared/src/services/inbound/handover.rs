//! The handover protocol heard from Meta: `messaging_handovers` (control passed, taken or
//! requested) and messages on `standby` (another app owns the thread) keep the thread's owner
//! on its conversation, so a send there is refused before Meta refuses it.

use chrono::{DateTime, Utc};

use crate::domain::{ConnectedAccount, Conversation, ConversationChange, ThreadControl};
use crate::error::AppError;
use crate::meta::webhook::{Handover, Item};

use super::{Inbound, Outcome};

impl Inbound {
    /// Control passed or taken: the conversation (if the customer has one) learns its owner.
    /// A request for control changes nothing until the owner passes it.
    pub(super) async fn accept_handover(
        &self,
        account: &ConnectedAccount,
        item: &Item,
        handover: &Handover,
        at: DateTime<Utc>,
    ) -> Result<Outcome, AppError> {
        if handover.requested {
            return Ok(Outcome::Ignored);
        }
        let control = ThreadControl {
            ours: handover.new_owner_app_id.as_deref().is_some_and(|app| self.is_our_app(app)),
            owner_app_id: handover.new_owner_app_id.clone(),
            previous_owner_app_id: handover.previous_owner_app_id.clone(),
            at,
        };
        match self.set_thread_control(account, item.event.customer_id(), control).await? {
            true => Ok(Outcome::Updated),
            false => Ok(Outcome::Ignored),
        }
    }

    /// A message Meta delivered on standby: another app owns its thread, whichever.
    pub(super) async fn note_standby(
        &self,
        account: &ConnectedAccount,
        item: &Item,
        at: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let control = ThreadControl { owner_app_id: None, ours: false, previous_owner_app_id: None, at };
        self.set_thread_control(account, item.event.customer_id(), control).await.map(drop)
    }

    async fn set_thread_control(
        &self,
        account: &ConnectedAccount,
        customer: &str,
        control: ThreadControl,
    ) -> Result<bool, AppError> {
        let org = &account.organization_id;
        let id = Conversation::id_for(org, &account.id, customer);
        let change = ConversationChange::ThreadControl(control);
        Ok(self.ports.conversations.change_conversation(org, &id, &change).await?.is_some())
    }

    fn is_our_app(&self, app_id: &str) -> bool {
        let config = &self.ports.config;
        [&config.meta_app_id, &config.instagram_app_id].into_iter().flatten().any(|ours| ours == app_id)
    }
}
