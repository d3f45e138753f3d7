//! The inbox's read side: conversations and their messages, always within one organization.

use std::collections::HashMap;

use chrono::Duration;

use crate::domain::{
    Author, Conversation, ConversationFilter, ConversationKind, ConversationView, Cursor, Message, Page, PageRequest,
    Provider, QueuedAction, SenderAction, page,
};
use crate::error::AppError;
use crate::ports::QueueMessage;

use super::Inbox;
use crate::services::threads::conversation;

/// Channels of a unified inbox that other services own: asked here, they have no
/// conversations (an empty page), so a shared inbox can ask every channel alike.
pub const OTHER_CHANNELS: [&str; 5] = ["WHATSAPP", "SMS", "EMAIL", "WEBCHAT", "TELEGRAM"];

/// `limit` and `cursor` as the client sent them, validated here.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct ListQuery {
    pub limit: Option<String>,
    pub cursor: Option<String>,
    pub provider: Option<String>,
    /// `DM` or `COMMENT`.
    pub kind: Option<String>,
}

impl ListQuery {
    pub fn page(&self) -> Result<PageRequest, AppError> {
        let limit = match self.limit.as_deref() {
            None | Some("") => page::DEFAULT_PAGE_SIZE,
            Some(s) => match s.parse::<usize>() {
                Ok(n) if (1..=page::MAX_PAGE_SIZE).contains(&n) => n,
                _ => {
                    return Err(AppError::validation(format!("limit must be 1 to {}", page::MAX_PAGE_SIZE)));
                }
            },
        };
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => {
                Some(Cursor::decode(c).ok_or_else(|| AppError::validation("cursor is not one this API returned"))?)
            }
        };
        Ok(PageRequest { limit, after })
    }

    /// Whether the query names a channel another service owns (`OTHER_CHANNELS`).
    fn other_channel(&self) -> bool {
        self.provider.as_deref().is_some_and(|p| OTHER_CHANNELS.iter().any(|c| c.eq_ignore_ascii_case(p)))
    }

    /// `INSTAGRAM`, `MESSENGER`, or `ALL` (the same as none).
    pub fn provider(&self) -> Result<Option<Provider>, AppError> {
        match self.provider.as_deref() {
            None | Some("") => Ok(None),
            Some(all) if all.eq_ignore_ascii_case("ALL") => Ok(None),
            Some(p) => {
                Provider::parse(p).map(Some).ok_or_else(|| AppError::validation(format!("unknown provider {p:?}")))
            }
        }
    }

    pub fn filter(&self) -> Result<ConversationFilter, AppError> {
        let kind = match self.kind.as_deref() {
            None | Some("") => None,
            Some(k) => Some(
                ConversationKind::parse(k)
                    .ok_or_else(|| AppError::validation(format!("unknown kind {k:?}: DM or COMMENT")))?,
            ),
        };
        Ok(ConversationFilter { provider: self.provider()?, kind })
    }
}

impl Inbox {
    pub async fn list_conversations(&self, org: &str, query: &ListQuery) -> Result<Page<ConversationView>, AppError> {
        if query.other_channel() {
            query.page()?; // a bad limit or cursor is still refused
            return Ok(Page { data: Vec::new(), next_cursor: None });
        }
        let page = self.ports.conversations.list_conversations(org, query.filter()?, &query.page()?).await?;
        // A page usually spans few accounts: look each up once, not once per conversation.
        let mut active: HashMap<String, bool> = HashMap::new();
        for c in &page.data {
            if !active.contains_key(&c.connected_account_id) {
                let is_active = self.account_active(org, &c.connected_account_id).await?;
                active.insert(c.connected_account_id.clone(), is_active);
            }
        }
        let (policy, now) = (self.ports.config.reply_policy(), self.now());
        Ok(page.map(|c| {
            let is_active = active[&c.connected_account_id];
            ConversationView::new(c, is_active, &policy, now)
        }))
    }

    pub async fn get_conversation(&self, org: &str, id: &str) -> Result<ConversationView, AppError> {
        let c = conversation(&*self.ports.conversations, org, id).await?;
        self.view(c).await
    }

    pub async fn list_messages(
        &self,
        org: &str,
        conversation_id: &str,
        query: &ListQuery,
    ) -> Result<Page<Message>, AppError> {
        let page = query.page()?;
        conversation(&*self.ports.conversations, org, conversation_id).await?;
        let page = self.ports.messages.list_messages(org, conversation_id, &page).await?;
        let now = self.now();
        let shown = page.data.into_iter().map(|m| m.show_story_expiry(now)).collect();
        Ok(Page { data: self.with_signed_media(shown).await, ..page })
    }

    pub async fn mark_read(&self, org: &str, id: &str) -> Result<ConversationView, AppError> {
        let c = self
            .ports
            .conversations
            .change_conversation(org, id, &crate::domain::ConversationChange::Read)
            .await?
            .ok_or_else(|| AppError::not_found("conversation"))?;
        self.mark_seen(&c).await;
        self.view(c).await
    }

    /// Tells the customer their messages were seen (Meta's `mark_seen`, from the sends
    /// queue), when the organization wants it and Meta would take it: a DM inside its 24 h.
    /// The read stands whatever happens to this moment.
    async fn mark_seen(&self, c: &Conversation) {
        let open = self.ports.config.reply_policy().is_open(c.last_inbound_at, Author::Automation, self.now());
        if c.kind != ConversationKind::Dm || !open {
            return;
        }
        match self.settings(&c.organization_id).await {
            Ok(s) if s.mark_seen_on_read => {}
            _ => return,
        }
        let action = QueuedAction {
            organization_id: c.organization_id.clone(),
            conversation_id: c.id.clone(),
            action: SenderAction::MarkSeen,
            queued_at: self.now(),
            attempt: 0,
        };
        if let Err(e) = self.ports.queue.enqueue(&QueueMessage::SenderAction(action), Duration::zero()).await {
            tracing::warn!(error = %e, conversation = %c.id, "seen mark not queued");
        }
    }

    /// The organization's conversation, or `NOT_FOUND`, whether it is another organization's
    /// or does not exist at all.
    async fn account_active(&self, org: &str, account_id: &str) -> Result<bool, AppError> {
        Ok(self.ports.directory.account(org, account_id).await?.is_some_and(|a| a.is_active()))
    }

    async fn view(&self, c: Conversation) -> Result<ConversationView, AppError> {
        let active = self.account_active(&c.organization_id, &c.connected_account_id).await?;
        Ok(ConversationView::new(c, active, &self.ports.config.reply_policy(), self.now()))
    }
}
