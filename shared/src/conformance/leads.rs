//! Conformance cases: leads and customer profiles.

use super::*;

pub async fn leads_are_unique_per_instagram_identity_and_found_by_it(store: &dyn Store) {
    let org = unique("org");
    let lead = |i: i64, handle: Option<&str>, user: Option<&str>| Lead {
        id: unique("lead"),
        organization_id: org.clone(),
        name: Some(format!("Lead {i}")),
        email: None,
        phone: None,
        instagram_handle: handle.map(str::to_owned),
        instagram_user_id: user.map(str::to_owned),
        created_at: t(i),
    };
    let ana = lead(1, Some("ana.silva"), Some("6185"));
    store.create_lead(&ana).await.unwrap();
    store.create_lead(&lead(2, None, None)).await.unwrap();
    store.create_lead(&lead(3, Some("bob"), None)).await.unwrap();
    assert!(matches!(store.create_lead(&lead(4, Some("ana.silva"), None)).await, Err(StoreError::Conflict(_))));
    assert!(matches!(store.create_lead(&lead(5, None, Some("6185"))).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.find_lead_by_instagram_handle(&org, "ana.silva").await.unwrap().as_ref(), Some(&ana));
    assert_eq!(store.find_lead_by_instagram_user_id(&org, "6185").await.unwrap().as_ref(), Some(&ana));
    assert_eq!(store.find_lead_by_instagram_handle(&unique("org"), "ana.silva").await.unwrap(), None);
    let page = store.list_leads(&org, &PageRequest::first(2)).await.unwrap();
    assert_eq!(page.data.iter().map(|l| l.name.clone().unwrap()).collect::<Vec<_>>(), ["Lead 3", "Lead 2"]);
    let rest = PageRequest { limit: 2, after: Cursor::decode(page.next_cursor.as_deref().unwrap()) };
    assert_eq!(store.list_leads(&org, &rest).await.unwrap().data, vec![ana.clone()]);
    // Another organization may have its own lead for the same person.
    let mut theirs = ana.clone();
    theirs.id = unique("lead");
    theirs.organization_id = unique("org");
    store.create_lead(&theirs).await.unwrap();
}

pub async fn profiles_are_cached_per_organization(store: &dyn Store) {
    let org = unique("org");
    let p = CustomerProfile {
        organization_id: org.clone(),
        instagram_user_id: "6185".into(),
        username: Some("ana".into()),
        name: None,
        fetched: true,
        fetched_at: t(0),
        picture: None,
        facts: Default::default(),
    };
    store.put_profile(&p).await.unwrap();
    assert_eq!(store.get_profile(&org, "6185").await.unwrap(), Some(p.clone()));
    assert_eq!(store.get_profile(&unique("org"), "6185").await.unwrap(), None);
    // Found by username (as a lead's handle names it), in its organization only.
    assert_eq!(store.find_profile_by_username(&org, "ana").await.unwrap(), Some(p.clone()));
    assert_eq!(store.find_profile_by_username(&unique("org"), "ana").await.unwrap(), None);
    let renamed = CustomerProfile { username: Some("Ana.Costa".into()), ..p };
    store.put_profile(&renamed).await.unwrap();
    assert_eq!(store.find_profile_by_username(&org, "ana").await.unwrap(), None, "the old name no longer");
    assert_eq!(store.find_profile_by_username(&org, "ana.costa").await.unwrap(), Some(renamed));
}
