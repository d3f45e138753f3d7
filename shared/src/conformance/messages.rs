//! Conformance cases: messages after they are appended.

use super::*;

pub async fn a_redelivered_message_id_is_stored_once(store: &dyn Store) {
    let org = unique("org");
    let c = new_conversation(store, &org, "cust", t(0)).await;
    let mid = unique("mid");
    let Appended::New { message, conversation } = append(store, &c, &mid, Direction::Inbound, t(10), "hi").await else {
        panic!("first delivery is new");
    };
    assert_eq!(conversation.unread_count, 1);
    let Appended::Duplicate(dup) = append(store, &c, &mid, Direction::Inbound, t(10), "hi").await else {
        panic!("second delivery is a duplicate");
    };
    assert_eq!(dup.id, message.id);
    assert_eq!(store.get_conversation(&org, &c.id).await.unwrap().unwrap().unread_count, 1);
    assert_eq!(store.find_message_by_external_id(&org, &mid).await.unwrap().unwrap().id, message.id);
    assert_eq!(store.get_message(&org, &message.id).await.unwrap().unwrap(), *message);
    // Another organization may hold the same Meta id (the same account connected twice).
    let other = unique("org");
    let c2 = new_conversation(store, &other, "cust", t(0)).await;
    assert!(matches!(append(store, &c2, &mid, Direction::Inbound, t(10), "hi").await, Appended::New { .. }));
    assert_eq!(store.get_message(&other, &message.id).await.unwrap(), None);
}

pub async fn messages_list_newest_first_in_cursor_pages(store: &dyn Store) {
    let org = unique("org");
    let c = new_conversation(store, &org, "cust", t(0)).await;
    let other = new_conversation(store, &org, "other", t(0)).await;
    for i in 0..3 {
        append(store, &c, &unique("m"), Direction::Inbound, t(10 + i), &format!("m{i}")).await;
    }
    append(store, &other, &unique("m"), Direction::Inbound, t(50), "elsewhere").await;
    let p1 = store.list_messages(&org, &c.id, &PageRequest::first(2)).await.unwrap();
    assert_eq!(p1.data.iter().map(|m| m.text.clone().unwrap()).collect::<Vec<_>>(), ["m2", "m1"]);
    let after = Cursor::decode(p1.next_cursor.as_deref().unwrap()).unwrap();
    let p2 = store.list_messages(&org, &c.id, &PageRequest { limit: 2, after: Some(after) }).await.unwrap();
    assert_eq!(p2.data.iter().map(|m| m.text.clone().unwrap()).collect::<Vec<_>>(), ["m0"]);
    assert_eq!(p2.next_cursor, None);
    assert!(store.list_messages(&unique("org"), &c.id, &PageRequest::first(10)).await.unwrap().data.is_empty());
}

pub async fn a_sent_message_takes_its_meta_id_unless_another_holds_it(store: &dyn Store) {
    let org = unique("org");
    let c = new_conversation(store, &org, "cust", t(0)).await;
    let mut ours = message(&c, None, Direction::Outbound, t(5), "reply");
    ours.status = MessageStatus::Queued;
    store.insert_message(&ours).await.unwrap();
    assert_eq!(
        store.get_conversation(&org, &c.id).await.unwrap().unwrap().last_outbound_at,
        None,
        "queued is not sent"
    );
    let mid = unique("mid");
    let Appended::New { message: echo, .. } = append(store, &c, &mid, Direction::Outbound, t(6), "reply").await else {
        panic!("echo stored");
    };
    let MarkSent::IdTakenBy(holder) = store.mark_message_sent(&org, &ours.id, &mid, t(7)).await.unwrap() else {
        panic!("the echo holds the id");
    };
    assert_eq!(holder.id, echo.id);
    store.delete_message(&org, &echo.id).await.unwrap();
    assert_eq!(store.get_message(&org, &echo.id).await.unwrap(), None);
    let MarkSent::Sent(sent) = store.mark_message_sent(&org, &ours.id, &mid, t(7)).await.unwrap() else {
        panic!("id free now");
    };
    assert_eq!((sent.status, sent.external_message_id.as_deref()), (MessageStatus::Sent, Some(mid.as_str())));
    assert_eq!(store.find_message_by_external_id(&org, &mid).await.unwrap().unwrap().id, ours.id);
    assert!(
        matches!(store.mark_message_sent(&org, &ours.id, &mid, t(8)).await.unwrap(), MarkSent::Sent(_)),
        "idempotent"
    );
    assert_eq!(
        store.mark_message_sent(&unique("org"), &ours.id, &unique("mid"), t(8)).await.unwrap(),
        MarkSent::NotFound
    );
    let mut clash = message(&c, Some(&mid), Direction::Outbound, t(9), "dup");
    clash.status = MessageStatus::Queued;
    assert!(matches!(store.insert_message(&clash).await, Err(StoreError::Conflict(_))));
    let failed = store.mark_message_failed(&org, &ours.id, "RATE_LIMITED", t(9)).await.unwrap().unwrap();
    assert_eq!((failed.status, failed.error_code.as_deref()), (MessageStatus::Failed, Some("RATE_LIMITED")));
    let applied =
        store.apply_activity(&org, &c.id, &activity(Direction::Outbound, t(7), "reply")).await.unwrap().unwrap();
    assert_eq!((applied.last_outbound_at, applied.preview_text.as_deref()), (Some(t(7)), Some("reply")));
    assert_eq!(
        store.apply_activity(&unique("org"), &c.id, &activity(Direction::Outbound, t(7), "x")).await.unwrap(),
        None
    );
}

pub async fn later_events_change_a_stored_message(store: &dyn Store) {
    let org = unique("org");
    let c = new_conversation(store, &org, "cust", t(0)).await;
    let mut ours = message(&c, Some(&unique("mid")), Direction::Outbound, t(5), "reply");
    ours.status = MessageStatus::Sent;
    store.insert_message(&ours).await.unwrap();
    let react = MessageChange::Reaction {
        by: "cust".into(),
        reaction: Some("love".into()),
        emoji: Some("❤️".into()),
        removed: false,
    };
    let got = store.update_message(&org, &ours.id, &react, t(6)).await.unwrap().unwrap();
    assert_eq!(got.meta_json["reactions"]["cust"]["emoji"], "❤️");
    let got = store.update_message(&org, &ours.id, &MessageChange::Read, t(7)).await.unwrap().unwrap();
    assert_eq!(got.status, MessageStatus::Read);
    let edit = MessageChange::Edited { text: Some("reply, edited".into()), edits: Some("1".into()) };
    let got = store.update_message(&org, &ours.id, &edit, t(8)).await.unwrap().unwrap();
    assert_eq!((got.text.as_deref(), got.meta_json["previousText"].as_str()), (Some("reply, edited"), Some("reply")));
    assert_eq!(got.meta_json["reactions"]["cust"]["reaction"], "love", "earlier changes kept");
    // A later status change and a content change do not overwrite each other.
    store.mark_message_failed(&org, &ours.id, "X", t(9)).await.unwrap();
    let got = store.update_message(&org, &ours.id, &MessageChange::Deleted, t(10)).await.unwrap().unwrap();
    assert_eq!((got.status, got.text.as_deref(), got.error_code.as_deref()), (MessageStatus::Deleted, None, Some("X")));
    assert_eq!(store.get_message(&org, &ours.id).await.unwrap(), Some(got));
    assert_eq!(store.update_message(&unique("org"), &ours.id, &MessageChange::Read, t(11)).await.unwrap(), None);
}
