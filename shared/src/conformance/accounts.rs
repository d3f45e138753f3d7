//! Conformance cases: connected accounts and their tokens.

use super::*;

pub async fn accounts_are_found_by_instagram_id_and_page_id(store: &dyn Store) {
    let org = unique("org");
    let a = account(&org);
    store.put_account(&a).await.unwrap();
    assert_eq!(store.get_account(&org, &a.id).await.unwrap().as_ref(), Some(&a));
    assert_eq!(store.find_account_by_external_id(&a.external_account_id).await.unwrap().as_ref(), Some(&a));
    assert_eq!(store.find_account_by_external_id(a.page_id.as_deref().unwrap()).await.unwrap().as_ref(), Some(&a));
    assert_eq!(store.get_account(&unique("org"), &a.id).await.unwrap(), None, "other organization");
    let nobody = unique("nobody");
    assert_eq!(store.find_account_by_external_id(&nobody).await.unwrap(), None);
    let mut updated = a.clone();
    updated.status = AccountStatus::ReauthRequired;
    updated.updated_at = t(5);
    store.put_account(&updated).await.unwrap();
    assert_eq!(store.find_account_by_external_id(&a.external_account_id).await.unwrap(), Some(updated.clone()));
    assert_eq!(store.list_accounts(&org).await.unwrap(), vec![updated.clone()]);
    // A status change is routed as changed, though the route was just looked up.
    let disconnected =
        store.set_account_status(&org, &a.id, AccountStatus::Disconnected, None, t(6)).await.unwrap().unwrap();
    assert_eq!(store.find_account_by_external_id(&a.external_account_id).await.unwrap(), Some(disconnected));
    // An id that routed nowhere routes to the account connected with it.
    let later = ConnectedAccount { external_account_id: nobody.clone(), page_id: None, ..account(&org) };
    store.put_account(&later).await.unwrap();
    assert_eq!(store.find_account_by_external_id(&nobody).await.unwrap(), Some(later));
}

/// An Instagram account is one organization's while connected there: another organization's
/// write is refused (also when both write at once), and takes it over once it is
/// disconnected; the earlier owner's record stays its own.
pub async fn the_account_stored_last_owns_its_external_ids(store: &dyn Store) {
    let first = account(&unique("org"));
    store.put_account(&first).await.unwrap();
    let mut second = account(&unique("org"));
    second.external_account_id = first.external_account_id.clone();
    second.page_id = first.page_id.clone();
    assert!(matches!(store.put_account(&second).await, Err(StoreError::Conflict(_))), "connected elsewhere");
    assert_eq!(store.find_account_by_external_id(&first.external_account_id).await.unwrap(), Some(first.clone()));
    store
        .set_account_status(&first.organization_id, &first.id, AccountStatus::Disconnected, Some("agent-1"), t(3))
        .await
        .unwrap();
    store.put_account(&second).await.unwrap();
    assert_eq!(store.find_account_by_external_id(&first.external_account_id).await.unwrap(), Some(second.clone()));
    assert_eq!(
        store.find_account_by_external_id(first.page_id.as_deref().unwrap()).await.unwrap(),
        Some(second.clone())
    );
    let mut first_disconnected = first.clone();
    first_disconnected.set_status(AccountStatus::Disconnected, Some("agent-1"), t(3));
    assert_eq!(store.get_account(&first.organization_id, &first.id).await.unwrap(), Some(first_disconnected));
    // Two organizations connecting one new account at the same moment: exactly one gets it.
    let contested = unique("contested");
    let racers: Vec<ConnectedAccount> = (0..4)
        .map(|_| ConnectedAccount { external_account_id: contested.clone(), page_id: None, ..account(&unique("org")) })
        .collect();
    let results = futures_util::future::join_all(racers.iter().map(|a| store.put_account(a))).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    // A page re-linked to another account stops routing to the old one.
    let mut moved = second.clone();
    moved.page_id = Some(unique("page"));
    store.put_account(&moved).await.unwrap();
    assert_eq!(store.find_account_by_external_id(first.page_id.as_deref().unwrap()).await.unwrap(), None);
    assert_eq!(store.find_account_by_external_id(moved.page_id.as_deref().unwrap()).await.unwrap(), Some(moved));
}

pub async fn tokens_and_account_status_are_kept_per_account(store: &dyn Store) {
    let org = unique("org");
    let a = account(&org);
    store.put_account(&a).await.unwrap();
    let token = token(&org, &a.id);
    store.put_token(&token).await.unwrap();
    assert_eq!(store.get_token(&org, &a.id, TokenKind::Page).await.unwrap(), Some(token.clone()));
    assert_eq!(store.get_token(&org, &a.id, TokenKind::User).await.unwrap(), None, "one token per kind");
    assert_eq!(store.get_token(&unique("org"), &a.id, TokenKind::Page).await.unwrap(), None);
    let user = OAuthToken { kind: TokenKind::User, ..token.clone() };
    store.put_token(&user).await.unwrap();
    store.delete_token(&org, &a.id, TokenKind::Page).await.unwrap();
    assert_eq!(store.get_token(&org, &a.id, TokenKind::Page).await.unwrap(), None);
    assert_eq!(store.get_token(&org, &a.id, TokenKind::User).await.unwrap(), Some(user));
    let flagged =
        store.set_account_status(&org, &a.id, AccountStatus::ReauthRequired, None, t(9)).await.unwrap().unwrap();
    assert_eq!((flagged.status, flagged.updated_at), (AccountStatus::ReauthRequired, t(9)));
    assert_eq!(store.get_account(&org, &a.id).await.unwrap().unwrap().status, AccountStatus::ReauthRequired);
    assert_eq!(store.set_account_status(&unique("org"), &a.id, AccountStatus::Active, None, t(9)).await.unwrap(), None);
}

/// Tokens due soonest come first; failed ones never; one run at a time holds a token.
/// Due lists span organizations, so this case uses expiries far from every other case's.
pub async fn tokens_due_for_refresh_are_listed_soonest_first_and_claimed_once(store: &dyn Store) {
    let org = unique("org");
    let base = t(0) + chrono::Duration::days(365 * 300) + chrono::Duration::seconds(rand::random::<u32>() as i64);
    let token = |account: &str, expires: Option<DateTime<Utc>>, failed: bool| OAuthToken {
        organization_id: org.clone(),
        connected_account_id: account.to_owned(),
        kind: TokenKind::User,
        encrypted: EncryptedToken {
            scheme: "AES256GCM".into(),
            key_id: "k".into(),
            nonce: "bg==".into(),
            ciphertext: "Yw==".into(),
            encrypted_data_key: None,
        },
        expires_at: expires,
        refreshed_at: t(0),
        created_at: t(0),
        refresh_failed_at: failed.then(|| t(1)),
        refresh_lease_until: None,
    };
    let hour = chrono::Duration::hours(1);
    store.put_token(&token("later", Some(base + hour * 2), false)).await.unwrap();
    store.put_token(&token("sooner", Some(base + hour), false)).await.unwrap();
    store.put_token(&token("failed", Some(base + hour), true)).await.unwrap();
    store.put_token(&token("page", None, false)).await.unwrap();
    store.put_token(&token("far", Some(base + hour * 10), false)).await.unwrap();
    let due: Vec<_> = store
        .list_tokens_due(base + hour * 3, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.organization_id == org)
        .map(|t| t.connected_account_id)
        .collect();
    assert_eq!(due, ["sooner", "later"]);
    assert!(
        store
            .claim_token_refresh(&org, "sooner", TokenKind::User, base, base + chrono::Duration::minutes(5))
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_token_refresh(&org, "sooner", TokenKind::User, base, base + chrono::Duration::minutes(5))
            .await
            .unwrap()
    );
    let after = base + chrono::Duration::minutes(5);
    assert!(
        store
            .claim_token_refresh(&org, "sooner", TokenKind::User, after, after + chrono::Duration::minutes(5))
            .await
            .unwrap()
    );
    assert!(!store.claim_token_refresh(&org, "missing", TokenKind::User, base, after).await.unwrap());
}

/// An account's history import is written only over what its writer expects (a new run over
/// none, an ended or a stranded one; a run's progress over its own run), without touching the
/// rest of the account; and every organization's active accounts are listed in pages.
pub async fn history_runs_are_written_over_their_own_and_active_accounts_are_listed(store: &dyn Store) {
    use crate::domain::{HistoryExpectation, HistoryImport};
    let org = unique("org");
    let a = account(&org);
    store.put_account(&a).await.unwrap();
    let start = HistoryExpectation::Startable { stale_before: t(0) };
    let run = HistoryImport::queued("run_1".into(), t(1));
    assert!(!store.put_history(&unique("org"), &a.id, &run, start).await.unwrap(), "another organization's");
    assert!(store.put_history(&org, &a.id, &run, start).await.unwrap());
    let second = HistoryImport::queued("run_2".into(), t(2));
    assert!(!store.put_history(&org, &a.id, &second, start).await.unwrap(), "one runs");
    let mut progress = run.clone();
    progress.page_done(3, 40, Some("cursor-1".into()), t(3));
    assert!(store.put_history(&org, &a.id, &progress, HistoryExpectation::Run("run_1")).await.unwrap());
    assert!(!store.put_history(&org, &a.id, &progress, HistoryExpectation::Run("run_0")).await.unwrap());
    let stranded = HistoryExpectation::Startable { stale_before: t(4) };
    assert!(store.put_history(&org, &a.id, &second, stranded).await.unwrap(), "stranded since t(3)");
    assert!(!store.put_history(&org, &a.id, &progress, HistoryExpectation::Run("run_1")).await.unwrap(), "replaced");
    let stored = store.get_account(&org, &a.id).await.unwrap().unwrap();
    assert_eq!(stored.history, Some(second));
    assert_eq!(ConnectedAccount { history: None, ..stored }, a, "the rest of the account is as it was");

    let b = account(&org);
    store.put_account(&b).await.unwrap();
    let ids = active_accounts(store).await;
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "ordered by organization and id, each once");
    sorted.dedup();
    assert_eq!(ids.len(), sorted.len());
    assert!(ids.contains(&(org.clone(), a.id.clone())) && ids.contains(&(org.clone(), b.id.clone())));
    store.set_account_status(&org, &b.id, AccountStatus::Disconnected, None, t(5)).await.unwrap();
    let ids = active_accounts(store).await;
    assert!(!ids.contains(&(org.clone(), b.id.clone())), "a disconnected account is not swept");
    store.set_account_status(&org, &b.id, AccountStatus::Active, None, t(6)).await.unwrap();
    assert!(active_accounts(store).await.contains(&(org.clone(), b.id.clone())), "active again");
}

/// Every active account, following the cursor to the end.
async fn active_accounts(store: &dyn Store) -> Vec<(String, String)> {
    let (mut ids, mut page) = (Vec::new(), crate::domain::PageRequest::first(7));
    loop {
        let got = store.list_active_accounts(&page).await.unwrap();
        ids.extend(got.data.into_iter().map(|x| (x.organization_id, x.id)));
        match got.next_cursor.as_deref().and_then(crate::domain::Cursor::decode) {
            Some(after) => page.after = Some(after),
            None => return ids,
        }
    }
}

/// Meta's deauthorize and data deletion callbacks find the accounts one Meta user connected,
/// in every organization; once an account forgets the user, it is no longer found.
pub async fn accounts_are_found_by_the_meta_user_who_connected_them(store: &dyn Store) {
    let (user, other_user) = (unique("metauser"), unique("metauser"));
    let by = |org: &str, user: Option<&str>| ConnectedAccount { meta_user_id: user.map(str::to_owned), ..account(org) };
    let (org_a, org_b) = (unique("org"), unique("org"));
    let (a, b, c, d) =
        (by(&org_a, Some(&user)), by(&org_b, Some(&user)), by(&org_a, Some(&other_user)), by(&org_b, None));
    for x in [&a, &b, &c, &d] {
        store.put_account(x).await.unwrap();
    }
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort_by(|x, y| (&x.organization_id, &x.id).cmp(&(&y.organization_id, &y.id)));
    assert_eq!(store.accounts_of_meta_user(&user).await.unwrap(), expected);
    assert_eq!(store.accounts_of_meta_user(&other_user).await.unwrap(), vec![c.clone()]);
    assert_eq!(store.accounts_of_meta_user(&unique("nobody")).await.unwrap(), vec![]);

    let forgotten = store.forget_meta_user(&org_a, &a.id, t(9)).await.unwrap().expect("the account");
    assert_eq!((forgotten.meta_user_id.as_deref(), forgotten.updated_at), (None, t(9)));
    assert_eq!(store.get_account(&org_a, &a.id).await.unwrap(), Some(forgotten.clone()));
    assert_eq!(store.accounts_of_meta_user(&user).await.unwrap(), vec![b.clone()]);
    assert_eq!(store.forget_meta_user(&org_b, &a.id, t(9)).await.unwrap(), None, "another organization's id");
    // Connected again by someone else: found under them only.
    store.put_account(&ConnectedAccount { meta_user_id: Some(other_user.clone()), ..b.clone() }).await.unwrap();
    assert_eq!(store.accounts_of_meta_user(&user).await.unwrap(), vec![]);
    assert_eq!(store.accounts_of_meta_user(&other_user).await.unwrap().len(), 2);
}
