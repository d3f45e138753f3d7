//! Conformance cases: webhook events kept for replay.

use super::*;

pub async fn raw_events_are_kept_once_and_listed_oldest_first(store: &dyn Store) {
    let account = unique("ext");
    let ev = |id: &str, secs: i64| RawEvent {
        id: id.to_owned(),
        external_account_id: account.clone(),
        reason: "no connected account".into(),
        payload: json!({"n": secs}),
        received_at: t(secs),
        expires_at: Some(t(secs) + chrono::Duration::days(30)),
    };
    store.put_raw_event(&ev("b", 20)).await.unwrap();
    store.put_raw_event(&ev("a", 10)).await.unwrap();
    store.put_raw_event(&ev("a", 10)).await.unwrap();
    let listed = store.list_raw_events(&account).await.unwrap();
    assert_eq!(listed.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    let first = store.raw_events_page(&account, &PageRequest::first(1)).await.unwrap();
    assert_eq!(first.data.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["a"], "oldest first, one page");
    let after = first.next_cursor.as_deref().and_then(Cursor::decode).expect("a second page");
    let second = store.raw_events_page(&account, &PageRequest { limit: 1, after: Some(after) }).await.unwrap();
    assert_eq!((second.data.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), second.next_cursor), (vec!["b"], None));
    store.delete_raw_event(&account, "a").await.unwrap();
    assert_eq!(store.list_raw_events(&account).await.unwrap(), vec![ev("b", 20)]);
    assert!(store.list_raw_events(&unique("ext")).await.unwrap().is_empty());
}
