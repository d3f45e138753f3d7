//! The embedded store: every table in one mutex. It may iterate (it has no indexes to
//! query), but it answers exactly as the DynamoDB adapter does; the conformance suite in
//! `crate::conformance` holds both to that.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::domain::time_sort_key;
use chrono::{DateTime, Utc};

use crate::domain::{
    AccountStatus, Activity, ConnectedAccount, Conversation, Cursor, CustomerProfile, IdempotencyRecord,
    IntegrationJob, JobExpectation, JobStatus, Lead, Message, MessageChange, MessageStatus, OAuthToken, Page,
    PageRequest, Provider, TokenKind,
};
use crate::ports::{Appended, MarkSent, RawEvent, Store, StoreError};

type OrgKey = (String, String);

#[derive(Default)]
struct Tables {
    accounts: HashMap<OrgKey, ConnectedAccount>,
    /// Instagram account id or page id → the account last stored with it.
    account_by_external_id: HashMap<String, OrgKey>,
    conversations: HashMap<OrgKey, Conversation>,
    /// (organization, account, customer) → conversation id: the conversation key items.
    conversation_keys: HashMap<(String, String, String), String>,
    messages: HashMap<OrgKey, Message>,
    /// (organization, Meta `mid`) → message id: the `mid` lookup items.
    message_ids: HashMap<OrgKey, String>,
    leads: HashMap<OrgKey, Lead>,
    profiles: HashMap<OrgKey, CustomerProfile>,
    raw_events: Vec<RawEvent>,
    /// (organization, mid) → changes waiting for that message.
    pending: HashMap<(String, String), Vec<RawEvent>>,
    jobs: HashMap<OrgKey, IntegrationJob>,
    idempotency: HashMap<OrgKey, IdempotencyRecord>,
    tokens: HashMap<OrgKey, OAuthToken>,
}

impl Tables {
    fn message_with_external_id(&self, org: &str, external_id: &str) -> Option<&Message> {
        let id = self.message_ids.get(&key(org, external_id))?;
        self.messages.get(&key(org, id))
    }

    fn insert_message(&mut self, message: &Message) {
        if let Some(mid) = &message.external_message_id {
            self.message_ids.insert(key(&message.organization_id, mid), message.id.clone());
        }
        self.messages.insert(key(&message.organization_id, &message.id), message.clone());
    }

    fn conversation_of(&self, org: &str, account_id: &str, participant_id: &str) -> Option<&Conversation> {
        let id = self.conversation_keys.get(&(org.to_owned(), account_id.to_owned(), participant_id.to_owned()))?;
        self.conversations.get(&key(org, id))
    }
}

#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Tables) -> T) -> T {
        f(&mut self.tables.lock().expect("memory store lock poisoned"))
    }
}

fn key(org: &str, id: &str) -> OrgKey {
    (org.to_owned(), id.to_owned())
}

fn token_key(org: &str, account_id: &str, kind: TokenKind) -> OrgKey {
    key(org, &format!("{account_id}#{}", kind.as_str()))
}

/// Newest first by (sort key, id), resuming after the cursor: the order a descending
/// DynamoDB `Query` on a `<time>#<id>` sort key gives.
fn page_desc<T: Clone>(items: Vec<(String, String, T)>, page: &PageRequest) -> Page<T> {
    page_ordered(items, page, true)
}

/// One page of `(sort key, id, item)`s in sort-key order (newest first when `descending`).
fn page_ordered<T: Clone>(mut items: Vec<(String, String, T)>, page: &PageRequest, descending: bool) -> Page<T> {
    items.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    if descending {
        items.reverse();
    }
    let start = match &page.after {
        Some(c) if descending => items.partition_point(|(k, id, _)| (k, id) >= (&c.sort_key, &c.id)),
        Some(c) => items.partition_point(|(k, id, _)| (k, id) <= (&c.sort_key, &c.id)),
        None => 0,
    };
    let rest = &items[start..];
    let taken: Vec<_> = rest.iter().take(page.limit).collect();
    let next_cursor = (rest.len() > page.limit).then(|| {
        let (k, id, _) = taken.last().expect("limit is at least 1");
        Cursor { sort_key: k.clone(), id: id.clone() }.encode()
    });
    Page { data: taken.into_iter().map(|(_, _, t)| t.clone()).collect(), next_cursor }
}

#[async_trait]
impl Store for MemoryStore {
    async fn put_account(&self, account: &ConnectedAccount) -> Result<(), StoreError> {
        self.with(|t| {
            let k = key(&account.organization_id, &account.id);
            // One organization's while connected there.
            let held_elsewhere = [Some(&account.external_account_id), account.page_id.as_ref()]
                .into_iter()
                .flatten()
                .filter_map(|ext| t.account_by_external_id.get(ext).and_then(|owner| t.accounts.get(owner)))
                .any(|owner| {
                    owner.organization_id != account.organization_id && owner.status != AccountStatus::Disconnected
                });
            if held_elsewhere {
                return Err(StoreError::Conflict("account connected to another organization"));
            }
            t.account_by_external_id.retain(|_, owner| *owner != k);
            for external_id in [Some(&account.external_account_id), account.page_id.as_ref()].into_iter().flatten() {
                t.account_by_external_id.insert(external_id.clone(), k.clone());
            }
            t.accounts.insert(k, account.clone());
            Ok(())
        })
    }

    async fn get_account(&self, org: &str, id: &str) -> Result<Option<ConnectedAccount>, StoreError> {
        Ok(self.with(|t| t.accounts.get(&key(org, id)).cloned()))
    }

    async fn find_account_by_external_id(&self, external_id: &str) -> Result<Option<ConnectedAccount>, StoreError> {
        Ok(self.with(|t| t.account_by_external_id.get(external_id).and_then(|k| t.accounts.get(k)).cloned()))
    }

    async fn list_accounts(&self, org: &str) -> Result<Vec<ConnectedAccount>, StoreError> {
        Ok(self.with(|t| {
            let mut v: Vec<_> = t.accounts.values().filter(|a| a.organization_id == org).cloned().collect();
            v.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
            v
        }))
    }

    async fn get_conversation(&self, org: &str, id: &str) -> Result<Option<Conversation>, StoreError> {
        Ok(self.with(|t| t.conversations.get(&key(org, id)).cloned()))
    }

    async fn find_conversation(
        &self,
        org: &str,
        account_id: &str,
        participant_id: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        Ok(self.with(|t| t.conversation_of(org, account_id, participant_id).cloned()))
    }

    async fn create_conversation(&self, conversation: &Conversation) -> Result<Conversation, StoreError> {
        Ok(self.with(|t| {
            let c = conversation;
            if let Some(existing) = t.conversation_of(&c.organization_id, &c.connected_account_id, &c.participant_id) {
                return existing.clone();
            }
            let owner = (c.organization_id.clone(), c.connected_account_id.clone(), c.participant_id.clone());
            t.conversation_keys.insert(owner, c.id.clone());
            t.conversations.insert(key(&c.organization_id, &c.id), c.clone());
            conversation.clone()
        }))
    }

    async fn set_conversation_contact(
        &self,
        org: &str,
        id: &str,
        handle: Option<&str>,
        display_name: Option<&str>,
        lead_id: Option<&str>,
    ) -> Result<Option<Conversation>, StoreError> {
        Ok(self.with(|t| {
            let c = t.conversations.get_mut(&key(org, id))?;
            if let Some(h) = handle {
                c.handle = Some(h.to_owned());
            }
            if let Some(n) = display_name {
                c.display_name = Some(n.to_owned());
            }
            if let Some(l) = lead_id {
                c.lead_id = Some(l.to_owned());
            }
            Some(c.clone())
        }))
    }

    async fn set_conversation_preview(
        &self,
        org: &str,
        id: &str,
        newest_at: DateTime<Utc>,
        preview: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        Ok(self.with(|t| {
            let c = t.conversations.get_mut(&key(org, id))?;
            c.set_preview_if_newest(newest_at, preview);
            Some(c.clone())
        }))
    }

    async fn mark_conversation_read(&self, org: &str, id: &str) -> Result<Option<Conversation>, StoreError> {
        Ok(self.with(|t| {
            let c = t.conversations.get_mut(&key(org, id))?;
            c.unread_count = 0;
            Some(c.clone())
        }))
    }

    async fn list_conversations(
        &self,
        org: &str,
        provider: Option<Provider>,
        page: &PageRequest,
    ) -> Result<Page<Conversation>, StoreError> {
        Ok(self.with(|t| {
            let items = t
                .conversations
                .values()
                .filter(|c| c.organization_id == org && provider.is_none_or(|p| c.provider == p))
                .map(|c| (c.sort_key(), c.id.clone(), c.clone()))
                .collect();
            page_desc(items, page)
        }))
    }

    async fn append_message(
        &self,
        _seen: &Conversation,
        message: &Message,
        activity: &Activity,
    ) -> Result<Appended, StoreError> {
        self.with(|t| {
            if let Some(mid) = &message.external_message_id
                && let Some(existing) = t.message_with_external_id(&message.organization_id, mid)
            {
                return Ok(Appended::Duplicate(Box::new(existing.clone())));
            }
            let conversation = t
                .conversations
                .get_mut(&key(&message.organization_id, &message.conversation_id))
                .ok_or_else(|| StoreError::Backend(format!("conversation {} not found", message.conversation_id)))?;
            conversation.apply(activity);
            let conversation = conversation.clone();
            t.insert_message(message);
            Ok(Appended::New { message: Box::new(message.clone()), conversation: Box::new(conversation) })
        })
    }

    async fn get_message(&self, org: &str, id: &str) -> Result<Option<Message>, StoreError> {
        Ok(self.with(|t| t.messages.get(&key(org, id)).cloned()))
    }

    async fn find_message_by_external_id(&self, org: &str, external_id: &str) -> Result<Option<Message>, StoreError> {
        Ok(self.with(|t| t.message_with_external_id(org, external_id).cloned()))
    }

    async fn message_id_by_external_id(&self, org: &str, external_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self.with(|t| t.message_with_external_id(org, external_id).map(|m| m.id.clone())))
    }

    async fn list_messages(
        &self,
        org: &str,
        conversation_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Message>, StoreError> {
        Ok(self.with(|t| {
            let items = t
                .messages
                .values()
                .filter(|m| m.organization_id == org && m.conversation_id == conversation_id)
                .map(|m| (time_sort_key(m.created_at), m.id.clone(), m.clone()))
                .collect();
            page_desc(items, page)
        }))
    }

    async fn create_lead(&self, lead: &Lead) -> Result<(), StoreError> {
        self.with(|t| {
            let taken = t.leads.values().any(|l| {
                l.organization_id == lead.organization_id
                    && ((lead.instagram_handle.is_some() && l.instagram_handle == lead.instagram_handle)
                        || (lead.instagram_user_id.is_some() && l.instagram_user_id == lead.instagram_user_id))
            });
            if taken {
                return Err(StoreError::Conflict("lead with this Instagram handle or user id"));
            }
            t.leads.insert(key(&lead.organization_id, &lead.id), lead.clone());
            Ok(())
        })
    }

    async fn list_leads(&self, org: &str, page: &PageRequest) -> Result<Page<Lead>, StoreError> {
        Ok(self.with(|t| {
            let items = t
                .leads
                .values()
                .filter(|l| l.organization_id == org)
                .map(|l| (time_sort_key(l.created_at), l.id.clone(), l.clone()))
                .collect();
            page_desc(items, page)
        }))
    }

    async fn find_lead_by_instagram_user_id(&self, org: &str, user_id: &str) -> Result<Option<Lead>, StoreError> {
        Ok(self.with(|t| {
            t.leads
                .values()
                .find(|l| l.organization_id == org && l.instagram_user_id.as_deref() == Some(user_id))
                .cloned()
        }))
    }

    async fn find_lead_by_instagram_handle(&self, org: &str, handle: &str) -> Result<Option<Lead>, StoreError> {
        Ok(self.with(|t| {
            t.leads
                .values()
                .find(|l| l.organization_id == org && l.instagram_handle.as_deref() == Some(handle))
                .cloned()
        }))
    }

    async fn get_profile(&self, org: &str, instagram_user_id: &str) -> Result<Option<CustomerProfile>, StoreError> {
        Ok(self.with(|t| t.profiles.get(&key(org, instagram_user_id)).cloned()))
    }

    async fn put_profile(&self, profile: &CustomerProfile) -> Result<(), StoreError> {
        self.with(|t| {
            t.profiles.insert(key(&profile.organization_id, &profile.instagram_user_id), profile.clone());
        });
        Ok(())
    }

    async fn put_raw_event(&self, event: &RawEvent) -> Result<(), StoreError> {
        self.with(|t| {
            if !t.raw_events.iter().any(|e| e.id == event.id) {
                t.raw_events.push(event.clone());
            }
        });
        Ok(())
    }

    async fn put_pending_change(&self, org: &str, mid: &str, change: &RawEvent) -> Result<(), StoreError> {
        self.with(|t| {
            let waiting = t.pending.entry((org.to_owned(), mid.to_owned())).or_default();
            if !waiting.iter().any(|e| e.id == change.id) {
                waiting.push(change.clone());
            }
        });
        Ok(())
    }

    async fn pending_changes(&self, org: &str, mid: &str) -> Result<Vec<RawEvent>, StoreError> {
        Ok(self.with(|t| t.pending.get(&(org.to_owned(), mid.to_owned())).cloned().unwrap_or_default()))
    }

    async fn delete_pending_change(&self, org: &str, mid: &str, id: &str) -> Result<(), StoreError> {
        self.with(|t| {
            if let Some(waiting) = t.pending.get_mut(&(org.to_owned(), mid.to_owned())) {
                waiting.retain(|e| e.id != id);
            }
        });
        Ok(())
    }

    async fn raw_events_page(
        &self,
        external_account_id: &str,
        page: &PageRequest,
    ) -> Result<Page<RawEvent>, StoreError> {
        Ok(self.with(|t| {
            let items = t
                .raw_events
                .iter()
                .filter(|e| e.external_account_id == external_account_id)
                .map(|e| (crate::domain::time_sort_key(e.received_at), e.id.clone(), e.clone()))
                .collect();
            page_ordered(items, page, false)
        }))
    }

    async fn list_raw_events(&self, external_account_id: &str) -> Result<Vec<RawEvent>, StoreError> {
        Ok(self.with(|t| {
            let mut v: Vec<_> =
                t.raw_events.iter().filter(|e| e.external_account_id == external_account_id).cloned().collect();
            v.sort_by(|a, b| a.received_at.cmp(&b.received_at).then_with(|| a.id.cmp(&b.id)));
            v
        }))
    }

    async fn delete_raw_event(&self, external_account_id: &str, id: &str) -> Result<(), StoreError> {
        self.with(|t| t.raw_events.retain(|e| !(e.external_account_id == external_account_id && e.id == id)));
        Ok(())
    }

    async fn insert_message(&self, message: &Message) -> Result<(), StoreError> {
        self.with(|t| {
            let taken = message
                .external_message_id
                .as_deref()
                .is_some_and(|mid| t.message_with_external_id(&message.organization_id, mid).is_some());
            if taken {
                return Err(StoreError::Conflict("message with this Meta id"));
            }
            if t.messages.contains_key(&key(&message.organization_id, &message.id)) {
                return Err(StoreError::Conflict("message"));
            }
            t.insert_message(message);
            Ok(())
        })
    }

    async fn apply_activity(
        &self,
        org: &str,
        conversation_id: &str,
        activity: &Activity,
    ) -> Result<Option<Conversation>, StoreError> {
        Ok(self.with(|t| {
            let c = t.conversations.get_mut(&key(org, conversation_id))?;
            c.apply(activity);
            Some(c.clone())
        }))
    }

    async fn mark_message_sent(
        &self,
        org: &str,
        id: &str,
        external_id: &str,
        at: DateTime<Utc>,
    ) -> Result<MarkSent, StoreError> {
        Ok(self.with(|t| {
            if let Some(holder) = t.message_with_external_id(org, external_id)
                && holder.id != id
            {
                return MarkSent::IdTakenBy(Box::new(holder.clone()));
            }
            let Some(m) = t.messages.get_mut(&key(org, id)) else { return MarkSent::NotFound };
            t.message_ids.insert(key(org, external_id), id.to_owned());
            m.status = MessageStatus::Sent;
            m.external_message_id = Some(external_id.to_owned());
            m.error_code = None;
            m.updated_at = at;
            MarkSent::Sent(Box::new(m.clone()))
        }))
    }

    async fn mark_message_failed(
        &self,
        org: &str,
        id: &str,
        code: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError> {
        Ok(self.with(|t| {
            let m = t.messages.get_mut(&key(org, id))?;
            m.status = MessageStatus::Failed;
            m.error_code = Some(code.to_owned());
            m.updated_at = at;
            Some(m.clone())
        }))
    }

    async fn update_message(
        &self,
        org: &str,
        id: &str,
        change: &MessageChange,
        at: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError> {
        Ok(self.with(|t| {
            let m = t.messages.get_mut(&key(org, id))?;
            m.apply(change, at);
            Some(m.clone())
        }))
    }

    async fn delete_message(&self, org: &str, id: &str) -> Result<(), StoreError> {
        self.with(|t| {
            let removed = t.messages.remove(&key(org, id));
            if let Some(mid) = removed.and_then(|m| m.external_message_id) {
                t.message_ids.remove(&key(org, &mid));
            }
        });
        Ok(())
    }

    async fn put_job(&self, job: &IntegrationJob) -> Result<(), StoreError> {
        self.with(|t| t.jobs.insert(key(&job.organization_id, &job.id), job.clone()));
        Ok(())
    }

    async fn get_job(&self, org: &str, id: &str) -> Result<Option<IntegrationJob>, StoreError> {
        Ok(self.with(|t| t.jobs.get(&key(org, id)).cloned()))
    }

    async fn replace_job(&self, job: &IntegrationJob, expected: JobExpectation<'_>) -> Result<bool, StoreError> {
        Ok(self.with(|t| {
            let k = key(&job.organization_id, &job.id);
            if !expected.holds_for(t.jobs.get(&k)) {
                return false;
            }
            t.jobs.insert(k, job.clone());
            true
        }))
    }

    async fn claim_job(
        &self,
        org: &str,
        id: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        claim_id: &str,
    ) -> Result<Option<IntegrationJob>, StoreError> {
        Ok(self.with(|t| {
            let job = t.jobs.get_mut(&key(org, id)).filter(|j| j.claimable(now))?;
            job.status = JobStatus::Processing;
            job.attempts += 1;
            job.lease_expires_at = Some(lease_until);
            job.claim_id = Some(claim_id.to_owned());
            job.updated_at = now;
            Some(job.clone())
        }))
    }

    async fn list_stranded_jobs(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<IntegrationJob>, StoreError> {
        Ok(self.with(|t| {
            let mut open: Vec<_> =
                t.jobs.values().filter(|j| j.open_until().is_some_and(|at| at < before)).cloned().collect();
            open.sort_by_key(|j| (j.open_until(), j.organization_id.clone(), j.id.clone()));
            open.truncate(limit);
            open
        }))
    }

    async fn reserve_idempotency_key(
        &self,
        record: &IdempotencyRecord,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        Ok(self.with(|t| {
            let k = key(&record.organization_id, &record.key);
            if let Some(existing) = t.idempotency.get(&k) {
                return Some(existing.clone());
            }
            t.idempotency.insert(k, record.clone());
            None
        }))
    }

    async fn put_token(&self, token: &OAuthToken) -> Result<(), StoreError> {
        self.with(|t| {
            t.tokens.insert(token_key(&token.organization_id, &token.connected_account_id, token.kind), token.clone())
        });
        Ok(())
    }

    async fn get_token(&self, org: &str, account_id: &str, kind: TokenKind) -> Result<Option<OAuthToken>, StoreError> {
        Ok(self.with(|t| t.tokens.get(&token_key(org, account_id, kind)).cloned()))
    }

    async fn delete_token(&self, org: &str, account_id: &str, kind: TokenKind) -> Result<(), StoreError> {
        self.with(|t| t.tokens.remove(&token_key(org, account_id, kind)));
        Ok(())
    }

    async fn list_tokens_due(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<OAuthToken>, StoreError> {
        Ok(self.with(|t| {
            let mut due: Vec<_> = t.tokens.values().filter(|tok| tok.due_before(before)).cloned().collect();
            due.sort_by_key(|tok| (tok.expires_at, tok.organization_id.clone(), tok.connected_account_id.clone()));
            due.truncate(limit);
            due
        }))
    }

    async fn claim_token_refresh(
        &self,
        org: &str,
        account_id: &str,
        kind: TokenKind,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.with(|t| {
            let Some(tok) = t.tokens.get_mut(&token_key(org, account_id, kind)) else { return false };
            if tok.refresh_lease_until.is_some_and(|l| l > now) {
                return false;
            }
            tok.refresh_lease_until = Some(lease_until);
            true
        }))
    }

    async fn set_account_status(
        &self,
        org: &str,
        id: &str,
        status: AccountStatus,
        at: DateTime<Utc>,
    ) -> Result<Option<ConnectedAccount>, StoreError> {
        Ok(self.with(|t| {
            let a = t.accounts.get_mut(&key(org, id))?;
            a.status = status;
            a.updated_at = at;
            Some(a.clone())
        }))
    }
}

#[cfg(test)]
mod conformance {
    crate::store_conformance_tests!(async { Some(std::sync::Arc::new(super::MemoryStore::new())) });
}
