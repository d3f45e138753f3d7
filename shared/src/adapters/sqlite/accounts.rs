//! SQLite store: connected accounts and their encrypted tokens.

use rusqlite::{Connection, params};

use super::*;
use crate::domain::{
    AccountStatus, ConnectedAccount, Cursor, HistoryExpectation, HistoryImport, OAuthToken, TokenKind,
};
use crate::ports::AccountStore;

/// Its expression is the index's (`accounts_by_meta_user`), so the lookup uses it.
const ACCOUNTS_OF_META_USER: &str =
    "SELECT body FROM accounts WHERE json_extract(body, '$.metaUserId') = ? ORDER BY org, id";

/// Writes the account and logs what changed since `before` (the row as the caller read it).
fn save_account(conn: &Connection, before: Option<&ConnectedAccount>, a: &ConnectedAccount) -> Result<(), StoreError> {
    conn.execute_cached(
        "INSERT OR REPLACE INTO accounts (org, id, created_at, body) VALUES (?, ?, ?, ?)",
        params![a.organization_id, a.id, time(a.created_at), to_json(a)?],
    )
    .map_err(sql)?;
    super::events::log(conn, crate::domain::StoredChange::Account { before, after: a })
}

/// Applies `change` to the stored account and writes it: what `change` answered and the
/// account after, or `None` when there is no such account.
fn change_account<T>(
    conn: &Connection,
    org: &str,
    id: &str,
    change: impl FnOnce(&mut ConnectedAccount) -> T,
) -> Result<Option<(T, ConnectedAccount)>, StoreError> {
    let Some(before) = account(conn, org, id)? else { return Ok(None) };
    let mut after = before.clone();
    let answer = change(&mut after);
    save_account(conn, Some(&before), &after)?;
    Ok(Some((answer, after)))
}

fn account(conn: &Connection, org: &str, id: &str) -> Result<Option<ConnectedAccount>, StoreError> {
    one(conn, "SELECT body FROM accounts WHERE org = ? AND id = ?", &[&org, &id])
}

fn save_token(conn: &Connection, t: &OAuthToken) -> Result<(), StoreError> {
    let due_at = t.refresh_failed_at.is_none().then_some(t.expires_at).flatten().map(time);
    conn.execute_cached(
        "INSERT OR REPLACE INTO tokens (org, account_id, kind, due_at, body) VALUES (?, ?, ?, ?, ?)",
        params![t.organization_id, t.connected_account_id, t.kind.as_str(), due_at, to_json(t)?],
    )
    .map_err(sql)?;
    Ok(())
}

fn token(conn: &Connection, org: &str, account_id: &str, kind: TokenKind) -> Result<Option<OAuthToken>, StoreError> {
    one(
        conn,
        "SELECT body FROM tokens WHERE org = ? AND account_id = ? AND kind = ?",
        &[&org, &account_id, &kind.as_str()],
    )
}

/// The account of one organization holding `external_id`, while it is not disconnected.
fn held_elsewhere(conn: &Connection, account: &ConnectedAccount) -> Result<bool, StoreError> {
    for external_id in &account.route_keys() {
        let owner: Option<ConnectedAccount> = one(
            conn,
            "SELECT a.body FROM account_routes r JOIN accounts a ON a.org = r.org AND a.id = r.id \
             WHERE r.external_id = ?",
            &[external_id],
        )?;
        if owner
            .is_some_and(|o| o.organization_id != account.organization_id && o.status != AccountStatus::Disconnected)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

#[async_trait::async_trait]
impl AccountStore for SqliteStore {
    async fn put_account(&self, account: &ConnectedAccount) -> Result<(), StoreError> {
        let account = account.clone();
        self.db
            .call(move |conn| {
                if held_elsewhere(conn, &account)? {
                    return Err(StoreError::Conflict("account connected to another organization"));
                }
                let (org, id) = (&account.organization_id, &account.id);
                conn.execute_cached("DELETE FROM account_routes WHERE org = ? AND id = ?", params![org, id])
                    .map_err(sql)?;
                for external_id in &account.route_keys() {
                    conn.execute_cached(
                        "INSERT OR REPLACE INTO account_routes (external_id, org, id) VALUES (?, ?, ?)",
                        params![external_id, org, id],
                    )
                    .map_err(sql)?;
                }
                let before = self::account(conn, org, id)?;
                save_account(conn, before.as_ref(), &account)
            })
            .await
    }

    async fn get_account(&self, org: &str, id: &str) -> Result<Option<ConnectedAccount>, StoreError> {
        let (org, id) = (owned(org), owned(id));
        self.db.read(move |conn| account(conn, &org, &id)).await
    }

    async fn find_account_by_external_id(&self, external_id: &str) -> Result<Option<ConnectedAccount>, StoreError> {
        let external_id = owned(external_id);
        self.db
            .read(move |conn| {
                one(
                    conn,
                    "SELECT a.body FROM account_routes r JOIN accounts a ON a.org = r.org AND a.id = r.id \
                     WHERE r.external_id = ?",
                    &[&external_id],
                )
            })
            .await
    }

    async fn list_accounts(&self, org: &str) -> Result<Vec<ConnectedAccount>, StoreError> {
        let org = owned(org);
        self.db
            .read(move |conn| all(conn, "SELECT body FROM accounts WHERE org = ? ORDER BY created_at, id", &[&org]))
            .await
    }

    async fn accounts_of_meta_user(&self, meta_user_id: &str) -> Result<Vec<ConnectedAccount>, StoreError> {
        let user = owned(meta_user_id);
        self.db.call(move |conn| all(conn, ACCOUNTS_OF_META_USER, &[&user])).await
    }

    async fn forget_meta_user(
        &self,
        org: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ConnectedAccount>, StoreError> {
        let (org, id) = (owned(org), owned(id));
        self.db.call(move |conn| Ok(change_account(conn, &org, &id, |a| a.forget_meta_user(at))?.map(|(_, a)| a))).await
    }

    async fn put_token(&self, token: &OAuthToken) -> Result<(), StoreError> {
        let token = token.clone();
        self.db.call(move |conn| save_token(conn, &token)).await
    }

    async fn get_token(&self, org: &str, account_id: &str, kind: TokenKind) -> Result<Option<OAuthToken>, StoreError> {
        let (org, account_id) = (owned(org), owned(account_id));
        self.db.read(move |conn| token(conn, &org, &account_id, kind)).await
    }

    async fn delete_token(&self, org: &str, account_id: &str, kind: TokenKind) -> Result<(), StoreError> {
        let (org, account_id) = (owned(org), owned(account_id));
        self.db
            .call(move |conn| {
                conn.execute_cached(
                    "DELETE FROM tokens WHERE org = ? AND account_id = ? AND kind = ?",
                    params![org, account_id, kind.as_str()],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn list_tokens_due(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<OAuthToken>, StoreError> {
        self.db
            .call(move |conn| {
                all(
                    conn,
                    "SELECT body FROM tokens WHERE due_at IS NOT NULL AND due_at < ? \
                     ORDER BY due_at, org, account_id LIMIT ?",
                    &[&time(before), &(limit as i64)],
                )
            })
            .await
    }

    async fn claim_token_refresh(
        &self,
        org: &str,
        account_id: &str,
        kind: TokenKind,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (org, account_id) = (owned(org), owned(account_id));
        self.db
            .call(move |conn| {
                let Some(mut tok) = token(conn, &org, &account_id, kind)? else { return Ok(false) };
                let taken = tok.take_refresh_lease(now, lease_until);
                if taken {
                    save_token(conn, &tok)?;
                }
                Ok(taken)
            })
            .await
    }

    async fn set_account_status(
        &self,
        org: &str,
        id: &str,
        status: AccountStatus,
        by: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Option<ConnectedAccount>, StoreError> {
        let (org, id, by) = (owned(org), owned(id), by.map(owned));
        self.db
            .call(move |conn| {
                let changed = change_account(conn, &org, &id, |a| a.set_status(status, by.as_deref(), at))?;
                Ok(changed.map(|(_, a)| a))
            })
            .await
    }

    async fn put_history(
        &self,
        org: &str,
        account_id: &str,
        history: &HistoryImport,
        expected: HistoryExpectation<'_>,
    ) -> Result<bool, StoreError> {
        let (org, id, history) = (owned(org), owned(account_id), history.clone());
        // Owned, to cross to the store's thread; read and written there in one transaction.
        let (run, stale_before) = match expected {
            HistoryExpectation::Run(run) => (Some(owned(run)), None),
            HistoryExpectation::Startable { stale_before } => (None, Some(stale_before)),
        };
        self.db
            .call(move |conn| {
                let expected = match (&run, stale_before) {
                    (Some(run), _) => HistoryExpectation::Run(run),
                    (None, stale) => HistoryExpectation::Startable { stale_before: stale.unwrap_or_default() },
                };
                let Some(a) = account(conn, &org, &id)? else { return Ok(false) };
                if !expected.holds_for(a.history.as_ref()) {
                    return Ok(false);
                }
                let mut after = a.clone();
                after.history = Some(history);
                save_account(conn, Some(&a), &after)?;
                Ok(true)
            })
            .await
    }

    async fn list_active_accounts(&self, page: &PageRequest) -> Result<Page<ConnectedAccount>, StoreError> {
        let (limit, after) = (page.limit, page.after.clone());
        self.db
            .call(move |conn| {
                let (after_org, after_id) = after.map(|c| (c.sort_key, c.id)).unwrap_or_default();
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT org, id, body FROM accounts WHERE json_extract(body, '$.status') = 'ACTIVE' \
                         AND (org, id) > (?, ?) ORDER BY org, id LIMIT ?",
                    )
                    .map_err(sql)?;
                let rows = stmt
                    .query_map(params![after_org, after_id, (limit + 1) as i64], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
                    })
                    .map_err(sql)?;
                let mut rows: Vec<(String, String, String)> = rows.collect::<Result<_, _>>().map_err(sql)?;
                let more = rows.len() > limit;
                rows.truncate(limit);
                let next_cursor = rows
                    .last()
                    .filter(|_| more)
                    .map(|(org, id, _)| Cursor { sort_key: org.clone(), id: id.clone() }.encode());
                let data = rows.iter().map(|(_, _, body)| from_json(body)).collect::<Result<_, _>>()?;
                Ok(Page { data, next_cursor })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_meta_user_lookup_reads_its_index_not_the_table() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(include_str!("schema.sql")).unwrap();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", super::ACCOUNTS_OF_META_USER))
            .unwrap()
            .query_map(["someone"], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(plan.iter().any(|step| step.contains("USING INDEX accounts_by_meta_user")), "{plan:?}");
    }
}
