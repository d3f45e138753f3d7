//! DynamoDB: connected accounts and their encrypted tokens.

use super::*;
use crate::domain::{HistoryExpectation, HistoryImport, HistoryStatus};

impl DynamoStore {
    /// Deletes the webhook route `ext` if it still leads to `account`.
    pub(super) async fn delete_route_if_owned(&self, ext: &str, account: &ConnectedAccount) -> Result<(), StoreError> {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::external_account(ext)))
            .key(keys::SK, s("EXTACC"))
            .condition_expression("accountId = :id AND organizationId = :org")
            .expression_attribute_values(":id", s(&account.id))
            .expression_attribute_values(":org", s(&account.organization_id));
        match delete.send().await {
            Err(e) if !ops::is_conditional_failure(&e) => Err(ops::backend(e)),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl AccountStore for DynamoStore {
    async fn put_account(&self, account: &ConnectedAccount) -> Result<(), StoreError> {
        let previous: Option<ConnectedAccount> = self.get_account(&account.organization_id, &account.id).await?;
        let mut item = to_item(account)?;
        ops::keyed(&mut item, keys::org(&account.organization_id), keys::account(&account.id));
        if account.is_active() {
            item.insert("gsi1pk".into(), s(keys::ACTIVE_ACCOUNTS));
            item.insert("gsi1sk".into(), s(keys::ordered(&account.organization_id, &account.id)));
        }
        if let Some(user) = &account.meta_user_id {
            item.insert("gsi2pk".into(), s(keys::meta_user(user)));
            item.insert("gsi2sk".into(), s(keys::ordered(&account.organization_id, &account.id)));
        }
        let mut tx = vec![TxItem::put(item, None)];
        let external_ids = account.route_keys();
        for ext in &external_ids {
            tx.push(Self::account_lookup(account, ext));
        }
        // The lookups are conditional: an account is one organization's while connected there.
        self.transact(tx).await.map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict("account connected to another organization"),
            other => other,
        })?;
        self.routes.clear();
        // Lookups of ids the account no longer has (a page re-linked): removed if still ours.
        let mut stale: Vec<String> = Vec::new();
        if let Some(p) = previous {
            stale = p.route_keys();
        }
        stale.retain(|e| !external_ids.contains(e));
        for ext in stale {
            self.delete_route_if_owned(&ext, account).await?;
        }
        Ok(())
    }

    async fn get_account(&self, org: &str, id: &str) -> Result<Option<ConnectedAccount>, StoreError> {
        self.get(keys::org(org), keys::account(id)).await?.map(from_item).transpose()
    }

    async fn find_account_by_external_id(&self, external_id: &str) -> Result<Option<ConnectedAccount>, StoreError> {
        if let Some(found) = self.routes.get(external_id) {
            return Ok(found);
        }
        let found =
            self.follow(keys::external_account(external_id), "EXTACC".into(), "accountId", keys::account).await?;
        let account: Option<ConnectedAccount> = found.map(from_item).transpose()?;
        self.routes.put(external_id, account.as_ref());
        Ok(account)
    }

    async fn list_accounts(&self, org: &str) -> Result<Vec<ConnectedAccount>, StoreError> {
        let items = self.query_prefix(keys::org(org), "ACCOUNT#").await?;
        let mut accounts: Vec<ConnectedAccount> = items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        accounts.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        Ok(accounts)
    }

    async fn accounts_of_meta_user(&self, meta_user_id: &str) -> Result<Vec<ConnectedAccount>, StoreError> {
        let items = self.query_all(GSI2, keys::meta_user(meta_user_id), true).await?;
        items.into_iter().map(from_item).collect()
    }

    async fn forget_meta_user(
        &self,
        org: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ConnectedAccount>, StoreError> {
        let item = self
            .update_returning(
                keys::org(org),
                keys::account(id),
                "SET updatedAt = :at REMOVE metaUserId, gsi2pk, gsi2sk",
                "attribute_exists(pk)",
                vec![],
                vec![(":at", attr_of(&at)?)],
            )
            .await?;
        self.routes.clear();
        item.map(from_item).transpose()
    }

    async fn put_token(&self, token: &OAuthToken) -> Result<(), StoreError> {
        let mut item = to_item(token)?;
        ops::keyed(&mut item, keys::org(&token.organization_id), keys::token(&token.connected_account_id, token.kind));
        if let (Some(expires), None) = (token.expires_at, token.refresh_failed_at) {
            item.insert("gsi2pk".into(), s(keys::TOKENS));
            let owner = format!("{}#{}#{}", token.organization_id, token.connected_account_id, token.kind.as_str());
            item.insert("gsi2sk".into(), s(keys::ordered(&time_sort_key(expires), &owner)));
        }
        self.put(item, None).await.map(|_| ())
    }

    async fn get_token(&self, org: &str, account_id: &str, kind: TokenKind) -> Result<Option<OAuthToken>, StoreError> {
        self.get(keys::org(org), keys::token(account_id, kind)).await?.map(from_item).transpose()
    }

    async fn delete_token(&self, org: &str, account_id: &str, kind: TokenKind) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::org(org)))
            .key(keys::SK, s(keys::token(account_id, kind)))
            .send()
            .await
            .map_err(ops::backend)?;
        Ok(())
    }

    async fn list_tokens_due(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<OAuthToken>, StoreError> {
        // gsi2sk starts with the expiry: everything below `before` is due, soonest first.
        self.index_before(GSI2, vec![keys::TOKENS.to_owned()], before, limit).await
    }

    async fn claim_token_refresh(
        &self,
        org: &str,
        account_id: &str,
        kind: TokenKind,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let claimed = self
            .update_returning(
                keys::org(org),
                keys::token(account_id, kind),
                "SET refreshLeaseUntil = :until, refreshLeaseMs = :untilMs",
                "attribute_exists(pk) AND (attribute_not_exists(refreshLeaseMs) OR refreshLeaseMs <= :nowMs)",
                vec![],
                vec![
                    (":until", attr_of(&lease_until)?),
                    (":untilMs", n(lease_until.timestamp_millis())),
                    (":nowMs", n(now.timestamp_millis())),
                ],
            )
            .await?;
        Ok(claimed.is_some())
    }

    async fn set_account_status(
        &self,
        org: &str,
        id: &str,
        status: AccountStatus,
        by: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Option<ConnectedAccount>, StoreError> {
        let mut values = vec![(":status", attr_of(&status)?), (":at", attr_of(&at)?)];
        let (mut set, mut remove) = (vec!["#status = :status", "updatedAt = :at"], Vec::new());
        match by {
            Some(by) => {
                values.push((":by", s(by)));
                set.push("statusChangedBy = :by");
            }
            None => remove.push("statusChangedBy"),
        }
        // Only active accounts are in the sweep's index.
        if status == AccountStatus::Active {
            values.push((":gpk", s(keys::ACTIVE_ACCOUNTS)));
            values.push((":gsk", s(keys::ordered(org, id))));
            set.extend(["gsi1pk = :gpk", "gsi1sk = :gsk"]);
        } else {
            remove.extend(["gsi1pk", "gsi1sk"]);
        }
        let mut update = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            update.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let item = self
            .update_returning(
                keys::org(org),
                keys::account(id),
                &update,
                "attribute_exists(pk)",
                vec![("#status", "status")],
                values,
            )
            .await?;
        self.routes.clear();
        let account: Option<ConnectedAccount> = item.map(from_item).transpose()?;
        if let Some(a) = &account {
            // The lookups mirror whether the owner still holds the id.
            for ext in &a.route_keys() {
                let update = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .key(keys::PK, s(keys::external_account(ext)))
                    .key(keys::SK, s("EXTACC"))
                    .update_expression("SET ownerActive = :active")
                    .condition_expression("accountId = :id AND organizationId = :org")
                    .expression_attribute_values(":active", AttributeValue::Bool(status != AccountStatus::Disconnected))
                    .expression_attribute_values(":id", s(&a.id))
                    .expression_attribute_values(":org", s(&a.organization_id));
                if let Err(e) = update.send().await
                    && !ops::is_conditional_failure(&e)
                {
                    return Err(ops::backend(e));
                }
            }
        }
        Ok(account)
    }

    async fn put_history(
        &self,
        org: &str,
        account_id: &str,
        history: &HistoryImport,
        expected: HistoryExpectation<'_>,
    ) -> Result<bool, StoreError> {
        // `historyUpdatedMs` beside the map: a number to compare (a whole-account put drops
        // it, and a run copied over by a reconnect may then start again).
        let mut values = vec![(":h", attr_of(history)?), (":ms", n(history.updated_at.timestamp_millis()))];
        let mut names = vec![];
        let condition = match expected {
            HistoryExpectation::Run(run) => {
                values.push((":run", s(run)));
                "attribute_exists(pk) AND history.runId = :run"
            }
            HistoryExpectation::Startable { stale_before } => {
                names.push(("#hs", "status"));
                values.push((":done", attr_of(&HistoryStatus::Done)?));
                values.push((":failed", attr_of(&HistoryStatus::Failed)?));
                values.push((":stale", n(stale_before.timestamp_millis())));
                "attribute_exists(pk) AND (attribute_not_exists(history) OR history.#hs IN (:done, :failed) \
                 OR attribute_not_exists(historyUpdatedMs) OR historyUpdatedMs < :stale)"
            }
        };
        let update = "SET history = :h, historyUpdatedMs = :ms";
        let written =
            self.update_returning(keys::org(org), keys::account(account_id), update, condition, names, values).await?;
        Ok(written.is_some())
    }

    async fn list_active_accounts(&self, page: &PageRequest) -> Result<Page<ConnectedAccount>, StoreError> {
        self.query_page(GSI1, keys::ACTIVE_ACCOUNTS.to_owned(), page, true).await
    }
}
