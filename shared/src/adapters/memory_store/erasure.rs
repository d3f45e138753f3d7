//! Memory store: erasure of a customer's or an organization's data, a page at a time.

use super::*;
use crate::domain::OrganizationSettings;
use crate::ports::{ErasureStore, SettingsStore};

impl Tables {
    /// Whether the record an event tells of is still stored (none outlives an erasure).
    pub(super) fn record_exists(&self, e: &crate::domain::InboxEvent) -> bool {
        use crate::domain::RecordKind;
        let org = &e.organization_id;
        match e.record() {
            Some((RecordKind::Message, id)) => self.messages.contains_key(&key(org, id)),
            Some((RecordKind::Conversation, id)) => self.conversations.contains_key(&key(org, id)),
            Some((RecordKind::Account, id)) => self.accounts.contains_key(&key(org, id)),
            None => true,
        }
    }

    /// Removes the message and its `mid` lookup and waiting changes: the records that went.
    fn erase_message(&mut self, org: &str, id: &str) -> usize {
        let Some(removed) = self.remove_message(org, id) else { return 0 };
        let mid = removed.external_message_id.as_deref().unwrap_or_default();
        let lookup = usize::from(self.message_ids.remove(&key(org, mid)).is_some());
        let waiting = usize::from(self.pending.remove(&key(org, mid)).is_some());
        1 + lookup + waiting
    }

    fn erase_conversation_itself(&mut self, org: &str, id: &str) -> usize {
        let Some(c) = self.conversations.remove(&key(org, id)) else { return 0 };
        self.conversation_order.remove(&(org.to_owned(), c.sort_key(), id.to_owned()));
        let lookup =
            self.conversation_keys.remove(&(org.to_owned(), c.connected_account_id.clone(), c.thread_key().to_owned()));
        let about = |e: &crate::domain::InboxEvent| e.conversation_id.as_deref() == Some(id);
        let events: Vec<_> =
            self.events.iter().filter(|((o, _), (e, _))| o == org && about(e)).map(|(k, _)| k.clone()).collect();
        for place in &events {
            if let Some((event, _)) = self.events.remove(place) {
                self.event_ids.remove(&key(org, &event.id));
            }
        }
        1 + usize::from(lookup.is_some()) + events.len()
    }

    /// Removes one record of the organization, of whatever kind is left: whether one went.
    fn erase_one_of(&mut self, org: &str) -> bool {
        let mine = |k: &OrgKey| k.0 == org;
        if let Some(id) = self.messages.keys().find(|k| mine(k)).map(|k| k.1.clone()) {
            return self.erase_message(org, &id) > 0;
        }
        if let Some(id) = self.conversations.keys().find(|k| mine(k)).map(|k| k.1.clone()) {
            return self.erase_conversation_itself(org, &id) > 0;
        }
        if let Some(k) = self.accounts.keys().find(|k| mine(k)).cloned() {
            self.account_by_external_id.retain(|_, owner| *owner != k);
            self.accounts_changed = true;
            return self.accounts.remove(&k).is_some();
        }
        if let Some(k) = self.events.keys().find(|k| k.0 == org).cloned() {
            let (event, _) = self.events.remove(&k).expect("found");
            self.event_ids.remove(&key(org, &event.id));
            return true;
        }
        take_one(&mut self.tokens, org)
            || take_one(&mut self.leads, org)
            || take_one(&mut self.profiles, org)
            || take_one(&mut self.jobs, org)
            || take_one(&mut self.idempotency, org)
            || take_one(&mut self.pending, org)
            || take_one(&mut self.message_ids, org)
            || self.settings.remove(org).is_some()
    }
}

fn take_one<V>(table: &mut HashMap<OrgKey, V>, org: &str) -> bool {
    let found = table.keys().find(|k| k.0 == org).cloned();
    found.is_some_and(|k| table.remove(&k).is_some())
}

#[async_trait]
impl ErasureStore for MemoryStore {
    async fn conversations_of_participant(
        &self,
        org: &str,
        participant_id: &str,
    ) -> Result<Vec<Conversation>, StoreError> {
        Ok(self.with(|t| {
            let theirs =
                t.conversations.values().filter(|c| c.organization_id == org && c.participant_id == participant_id);
            let mut found: Vec<_> = theirs.cloned().collect();
            found.sort_by(|a, b| a.id.cmp(&b.id));
            found
        }))
    }

    async fn inactive_conversations(
        &self,
        org: &str,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let (low, high) =
            ((org.to_owned(), String::new(), String::new()), (org.to_owned(), time_sort_key(before), String::new()));
        Ok(self.with(|t| {
            let ids = t.conversation_order.range(low..high).take(limit);
            ids.filter_map(|(_, _, id)| t.conversations.get(&key(org, id)).cloned()).collect()
        }))
    }

    async fn erase_conversation(&self, org: &str, id: &str, limit: usize) -> Result<usize, StoreError> {
        Ok(self.with(|t| {
            let page = t.message_page(org, id, &PageRequest { limit, after: None });
            if page.data.is_empty() {
                return t.erase_conversation_itself(org, id);
            }
            page.data.iter().map(|m| t.erase_message(org, &m.id)).sum()
        }))
    }

    async fn erase_customer(&self, org: &str, participant_id: &str) -> Result<usize, StoreError> {
        Ok(self.with(|t| {
            let profile = usize::from(t.profiles.remove(&key(org, participant_id)).is_some());
            let lead = t
                .leads
                .values_mut()
                .find(|l| l.organization_id == org && l.instagram_user_id.as_deref() == Some(participant_id));
            let unlinked = lead.map(|l| {
                l.instagram_user_id = None;
                l.instagram_handle = None;
            });
            profile + usize::from(unlinked.is_some())
        }))
    }

    async fn erase_organization(&self, org: &str, limit: usize) -> Result<usize, StoreError> {
        Ok(self.with(|t| (0..limit).take_while(|_| t.erase_one_of(org)).count()))
    }
}

#[async_trait]
impl SettingsStore for MemoryStore {
    async fn get_settings(&self, org: &str) -> Result<Option<OrganizationSettings>, StoreError> {
        Ok(self.with(|t| t.settings.get(org).cloned()))
    }

    async fn put_settings(&self, settings: &OrganizationSettings) -> Result<(), StoreError> {
        self.with(|t| t.settings.insert(settings.organization_id.clone(), settings.clone()));
        Ok(())
    }

    async fn organizations_with_retention(&self) -> Result<Vec<OrganizationSettings>, StoreError> {
        Ok(self.with(|t| {
            let mut set: Vec<_> = t.settings.values().filter(|s| s.message_retention_days.is_some()).cloned().collect();
            set.sort_by(|a, b| a.organization_id.cmp(&b.organization_id));
            set
        }))
    }
}
