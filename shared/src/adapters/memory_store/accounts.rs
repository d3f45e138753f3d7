//! Memory store: connected accounts and their encrypted tokens.

use super::*;

#[async_trait]
impl AccountStore for MemoryStore {
    async fn put_account(&self, account: &ConnectedAccount) -> Result<(), StoreError> {
        self.with(|t| {
            let k = key(&account.organization_id, &account.id);
            // One organization's while connected there.
            let keys = account.route_keys();
            let held_elsewhere = keys
                .iter()
                .filter_map(|ext| t.account_by_external_id.get(ext).and_then(|owner| t.accounts.get(owner)))
                .any(|owner| {
                    owner.organization_id != account.organization_id && owner.status != AccountStatus::Disconnected
                });
            if held_elsewhere {
                return Err(StoreError::Conflict("account connected to another organization"));
            }
            t.account_by_external_id.retain(|_, owner| *owner != k);
            for key in keys {
                t.account_by_external_id.insert(key, k.clone());
            }
            let before = t.accounts.insert(k, account.clone());
            t.accounts_changed = true;
            t.log(StoredChange::Account { before: before.as_ref(), after: account });
            Ok(())
        })
    }

    async fn get_account(&self, org: &str, id: &str) -> Result<Option<ConnectedAccount>, StoreError> {
        Ok(self.with(|t| t.accounts.get(&key(org, id)).cloned()))
    }

    async fn find_account_by_external_id(&self, external_id: &str) -> Result<Option<ConnectedAccount>, StoreError> {
        if let Some(found) = self.routes.get(external_id) {
            return Ok(found);
        }
        Ok(self.with(|t| {
            let found = t.account_by_external_id.get(external_id).and_then(|k| t.accounts.get(k)).cloned();
            self.routes.put(external_id, found.as_ref());
            found
        }))
    }

    async fn list_accounts(&self, org: &str) -> Result<Vec<ConnectedAccount>, StoreError> {
        Ok(self.with(|t| {
            let mut v: Vec<_> = t.accounts.values().filter(|a| a.organization_id == org).cloned().collect();
            v.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
            v
        }))
    }

    async fn accounts_of_meta_user(&self, meta_user_id: &str) -> Result<Vec<ConnectedAccount>, StoreError> {
        Ok(self.with(|t| {
            let named = t.accounts.values().filter(|a| a.meta_user_id.as_deref() == Some(meta_user_id));
            let mut v: Vec<_> = named.cloned().collect();
            v.sort_by(|a, b| (&a.organization_id, &a.id).cmp(&(&b.organization_id, &b.id)));
            v
        }))
    }

    async fn forget_meta_user(
        &self,
        org: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ConnectedAccount>, StoreError> {
        Ok(self.with(|t| t.change_account(org, id, |a| a.forget_meta_user(at)).map(|(_, a)| a)))
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
            tok.take_refresh_lease(now, lease_until)
        }))
    }

    async fn set_account_status(
        &self,
        org: &str,
        id: &str,
        status: AccountStatus,
        by: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Option<ConnectedAccount>, StoreError> {
        Ok(self.with(|t| t.change_account(org, id, |a| a.set_status(status, by, at)).map(|(_, a)| a)))
    }

    async fn put_history(
        &self,
        org: &str,
        account_id: &str,
        history: &HistoryImport,
        expected: HistoryExpectation<'_>,
    ) -> Result<bool, StoreError> {
        Ok(self.with(|t| {
            let put = t.change_account(org, account_id, |a| {
                let holds = expected.holds_for(a.history.as_ref());
                if holds {
                    a.history = Some(history.clone());
                }
                holds
            });
            put.is_some_and(|(holds, _)| holds)
        }))
    }

    async fn list_active_accounts(&self, page: &PageRequest) -> Result<Page<ConnectedAccount>, StoreError> {
        let active: Vec<_> = self.with(|t| {
            let active = t.accounts.values().filter(|a| a.is_active());
            active.map(|a| (a.organization_id.clone(), a.id.clone(), a.clone())).collect()
        });
        Ok(page_ordered(active, page, false))
    }
}
