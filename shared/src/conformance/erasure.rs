//! Conformance cases: erasure of one customer's data and of a whole organization's, a page
//! at a time, leaving every other customer's and organization's as it was.

use super::*;

fn profile(org: &str, customer: &str, username: &str) -> CustomerProfile {
    CustomerProfile {
        organization_id: org.to_owned(),
        instagram_user_id: customer.to_owned(),
        username: Some(username.to_owned()),
        name: Some("Ana Silva".into()),
        fetched: true,
        fetched_at: t(0),
        picture: None,
        facts: Default::default(),
    }
}

fn lead(org: &str, customer: &str, handle: &str) -> Lead {
    Lead {
        id: unique("lead"),
        organization_id: org.to_owned(),
        name: Some("Ana Silva".into()),
        email: Some("ana@example.com".into()),
        phone: None,
        instagram_handle: Some(handle.to_owned()),
        instagram_user_id: Some(customer.to_owned()),
        created_at: t(0),
    }
}

/// A customer with a DM thread of three messages (one with a change waiting for it), a
/// comment thread, a profile and a lead; another customer; the same person in another
/// organization. Erasing the first leaves nothing of them and all of the rest.
pub async fn a_customer_s_conversations_and_identity_are_erased_and_nothing_else(store: &dyn Store) {
    let (org, other_org) = (unique("org"), unique("org"));
    let (ana, bob) = (unique("ana"), unique("bob"));
    let dm = new_conversation(store, &org, &ana, t(0)).await;
    let mids: Vec<String> = (0..3).map(|_| unique("mid")).collect();
    for (i, mid) in mids.iter().enumerate() {
        append(store, &dm, mid, Direction::Inbound, t(i as i64 + 1), "my address is ...").await;
    }
    let waiting = RawEvent {
        id: "w".into(),
        external_account_id: "acc_1".into(),
        reason: "waiting".into(),
        payload: json!({}),
        received_at: t(9),
        expires_at: None,
    };
    store.put_pending_change(&org, &mids[0], &waiting).await.unwrap();
    let thread = CommentThread {
        comment_id: unique("c"),
        media_id: None,
        media_product_type: None,
        permalink: None,
        live: false,
    };
    let comments = store
        .create_conversation(&Conversation::comment_thread(&org, "acc_1", &ana, thread, t(5), t(5)))
        .await
        .unwrap();
    append(store, &comments, &unique("mid"), Direction::Inbound, t(6), "nice").await;
    let bobs = new_conversation(store, &org, &bob, t(0)).await;
    append(store, &bobs, &unique("mid"), Direction::Inbound, t(1), "hello").await;
    let elsewhere = new_conversation(store, &other_org, &ana, t(0)).await;
    append(store, &elsewhere, &mids[0], Direction::Inbound, t(1), "hi there").await;
    for (o, who, name) in [(&org, &ana, "ana.silva"), (&org, &bob, "bob"), (&other_org, &ana, "ana.silva")] {
        store.put_profile(&profile(o, who, name)).await.unwrap();
        store.create_lead(&lead(o, who, name)).await.unwrap();
    }

    let mut theirs: Vec<String> =
        store.conversations_of_participant(&org, &ana).await.unwrap().into_iter().map(|c| c.id).collect();
    let mut expected = vec![dm.id.clone(), comments.id.clone()];
    expected.sort();
    theirs.sort();
    assert_eq!(theirs, expected);
    let mut pages = 0;
    for id in &theirs {
        while store.erase_conversation(&org, id, 2).await.unwrap() > 0 {
            pages += 1;
        }
    }
    assert!(pages >= 4, "two pages of messages and the conversation itself, then the comment thread: {pages}");
    assert!(store.erase_customer(&org, &ana).await.unwrap() >= 2, "the profile and the lead's link");
    assert_eq!(store.erase_customer(&org, &ana).await.unwrap(), 0, "nothing left the second time");

    for id in &theirs {
        assert_eq!(store.get_conversation(&org, id).await.unwrap(), None);
        let messages = store.list_messages(&org, id, &PageRequest::first(10)).await.unwrap();
        assert!(messages.data.is_empty(), "{messages:?}");
    }
    assert_eq!(store.find_conversation(&org, "acc_1", &ana).await.unwrap(), None);
    assert!(store.conversations_of_participant(&org, &ana).await.unwrap().is_empty());
    for mid in &mids {
        assert_eq!(store.message_id_by_external_id(&org, mid).await.unwrap(), None);
    }
    assert!(store.pending_changes(&org, &mids[0]).await.unwrap().is_empty());
    assert_eq!(store.get_profile(&org, &ana).await.unwrap(), None);
    assert_eq!(store.find_profile_by_username(&org, "ana.silva").await.unwrap(), None);
    assert_eq!(store.find_lead_by_instagram_user_id(&org, &ana).await.unwrap(), None);
    assert_eq!(store.find_lead_by_instagram_handle(&org, "ana.silva").await.unwrap(), None);
    let leads = store.list_leads(&org, &PageRequest::first(10)).await.unwrap().data;
    let unlinked = leads.iter().find(|l| l.instagram_user_id.is_none()).expect("the lead stays, unlinked");
    assert_eq!(unlinked.email.as_deref(), Some("ana@example.com"), "its other details are the organization's");
    let logged = store.events_after(&org, None, 1000, t(0)).await.unwrap();
    assert!(logged.iter().all(|e| !theirs.contains(&e.event.conversation_id.clone().unwrap_or_default())));

    // Everyone else's, as it was.
    assert_eq!(store.list_messages(&org, &bobs.id, &PageRequest::first(10)).await.unwrap().data.len(), 1);
    assert!(store.find_lead_by_instagram_user_id(&org, &bob).await.unwrap().is_some());
    assert!(store.get_profile(&org, &bob).await.unwrap().is_some());
    assert_eq!(store.list_messages(&other_org, &elsewhere.id, &PageRequest::first(10)).await.unwrap().data.len(), 1);
    assert!(store.message_id_by_external_id(&other_org, &mids[0]).await.unwrap().is_some());
    assert!(store.get_profile(&other_org, &ana).await.unwrap().is_some());
    assert!(store.find_lead_by_instagram_user_id(&other_org, &ana).await.unwrap().is_some());
}

/// Everything of an organization goes, a few records a call, its webhook routes with its
/// accounts; another organization keeps all of its own.
pub async fn an_organization_is_erased_a_page_at_a_time_and_only_it(store: &dyn Store) {
    let (org, other_org) = (unique("org"), unique("org"));
    let mut kept = Vec::new();
    for o in [&org, &other_org] {
        let a = account(o);
        store.put_account(&a).await.unwrap();
        // Routed once before the erasure: a store that keeps routes must forget this one.
        assert!(store.find_account_by_external_id(&a.external_account_id).await.unwrap().is_some());
        store.put_token(&token(o, &a.id)).await.unwrap();
        let c = new_conversation(store, o, "cust", t(0)).await;
        append(store, &c, &unique("mid"), Direction::Inbound, t(1), "hello").await;
        store.create_lead(&lead(o, "cust", "ana")).await.unwrap();
        store.put_profile(&profile(o, "cust", "ana")).await.unwrap();
        let j = job(o, t(10));
        store.put_job(&j).await.unwrap();
        let record = IdempotencyRecord {
            organization_id: o.to_string(),
            key: "key-1".into(),
            request_digest: "d".into(),
            response: json!({}),
            created_at: t(0),
        };
        store.reserve_idempotency_key(&record).await.unwrap();
        let settings =
            OrganizationSettings { message_retention_days: Some(30), ..OrganizationSettings::defaults(o, t(0)) };
        store.put_settings(&settings).await.unwrap();
        kept.push((a, c, j, record));
    }
    let mut calls = 0;
    let mut removed = 0;
    loop {
        let page = store.erase_organization(&org, 3).await.unwrap();
        assert!(page <= 3, "a page is bounded: {page}");
        if page == 0 {
            break;
        }
        removed += page;
        calls += 1;
        assert!(calls < 100, "erasure ends");
    }
    assert!(calls >= 3 && removed >= 9, "{calls} calls removed {removed} records");

    let (a, c, j, record) = &kept[0];
    assert!(store.list_accounts(&org).await.unwrap().is_empty());
    assert_eq!(store.find_account_by_external_id(&a.external_account_id).await.unwrap(), None);
    assert_eq!(store.get_token(&org, &a.id, TokenKind::Page).await.unwrap(), None);
    assert_eq!(store.get_conversation(&org, &c.id).await.unwrap(), None);
    assert!(store.list_messages(&org, &c.id, &PageRequest::first(10)).await.unwrap().data.is_empty());
    assert!(store.list_leads(&org, &PageRequest::first(10)).await.unwrap().data.is_empty());
    assert_eq!(store.find_lead_by_instagram_user_id(&org, "cust").await.unwrap(), None);
    assert_eq!(store.get_profile(&org, "cust").await.unwrap(), None);
    assert_eq!(store.get_job(&org, &j.id).await.unwrap(), None);
    assert_eq!(store.reserve_idempotency_key(record).await.unwrap(), None, "the key is free again");
    assert!(store.events_after(&org, None, 100, t(0)).await.unwrap().is_empty());
    assert_eq!(store.get_settings(&org).await.unwrap(), None);
    assert!(!store.organizations_with_retention().await.unwrap().iter().any(|s| s.organization_id == org));

    let (a, c, j, record) = &kept[1];
    assert_eq!(store.list_accounts(&other_org).await.unwrap().len(), 1);
    assert!(store.find_account_by_external_id(&a.external_account_id).await.unwrap().is_some());
    assert!(store.get_token(&other_org, &a.id, TokenKind::Page).await.unwrap().is_some());
    assert_eq!(store.list_messages(&other_org, &c.id, &PageRequest::first(10)).await.unwrap().data.len(), 1);
    assert!(store.find_lead_by_instagram_user_id(&other_org, "cust").await.unwrap().is_some());
    assert!(store.get_profile(&other_org, "cust").await.unwrap().is_some());
    assert!(store.get_job(&other_org, &j.id).await.unwrap().is_some());
    assert!(store.reserve_idempotency_key(record).await.unwrap().is_some(), "the other key is still held");
    assert!(store.get_settings(&other_org).await.unwrap().is_some());
}

/// Settings are each organization's; those with a retention are listed for the scheduled
/// run; conversations are listed by how long they have been inactive, oldest first.
pub async fn settings_are_kept_per_organization_and_inactive_conversations_listed_oldest_first(store: &dyn Store) {
    let (org, other) = (unique("org"), unique("org"));
    assert_eq!(store.get_settings(&org).await.unwrap(), None);
    let kept = OrganizationSettings { message_retention_days: Some(30), ..OrganizationSettings::defaults(&org, t(1)) };
    store.put_settings(&kept).await.unwrap();
    store.put_settings(&OrganizationSettings::defaults(&other, t(1))).await.unwrap();
    assert_eq!(store.get_settings(&org).await.unwrap(), Some(kept.clone()));
    let with_retention = store.organizations_with_retention().await.unwrap();
    assert!(with_retention.contains(&kept));
    assert!(!with_retention.iter().any(|s| s.organization_id == other), "no retention, not in the round");
    let unlimited = OrganizationSettings::defaults(&org, t(2));
    store.put_settings(&unlimited).await.unwrap();
    assert!(!store.organizations_with_retention().await.unwrap().iter().any(|s| s.organization_id == org));

    let mut at = Vec::new();
    for (who, secs) in [("c", 300), ("a", 100), ("b", 200), ("d", 400)] {
        at.push((secs, new_conversation(store, &org, who, t(secs)).await.id));
    }
    new_conversation(store, &other, "a", t(50)).await;
    at.sort();
    let ids = |cs: Vec<Conversation>| cs.into_iter().map(|c| c.id).collect::<Vec<_>>();
    let inactive = store.inactive_conversations(&org, t(301), 10).await.unwrap();
    assert_eq!(
        ids(inactive),
        [at[0].1.clone(), at[1].1.clone(), at[2].1.clone()],
        "before the time only, oldest first"
    );
    assert_eq!(ids(store.inactive_conversations(&org, t(301), 2).await.unwrap()), [at[0].1.clone(), at[1].1.clone()]);
    assert!(store.inactive_conversations(&org, t(100), 10).await.unwrap().is_empty(), "strictly before");
}
