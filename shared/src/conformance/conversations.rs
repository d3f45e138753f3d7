//! Conformance cases: conversations and their summary.

use super::*;

pub async fn one_conversation_per_customer_even_when_created_twice(store: &dyn Store) {
    let org = unique("org");
    let first = new_conversation(store, &org, "cust", t(0)).await;
    let second = store.create_conversation(&conversation(&org, "acc_1", "cust", t(1))).await.unwrap();
    assert_eq!(first.id, second.id);
    let found = store.find_conversation(&org, "acc_1", "cust").await.unwrap().unwrap();
    assert_eq!(found.id, first.id);
    assert_eq!(store.find_conversation(&org, "acc_2", "cust").await.unwrap(), None);
    assert_eq!(store.find_conversation(&unique("org"), "acc_1", "cust").await.unwrap(), None);
    assert_eq!(store.get_conversation(&unique("org"), &first.id).await.unwrap(), None);
}

pub async fn conversation_summary_follows_the_newest_message_whatever_the_arrival_order(store: &dyn Store) {
    let org = unique("org");
    let c = new_conversation(store, &org, "cust", t(0)).await;
    append(store, &c, &unique("m"), Direction::Inbound, t(20), "second").await;
    append(store, &c, &unique("m"), Direction::Inbound, t(10), "first (late)").await;
    let got = store.get_conversation(&org, &c.id).await.unwrap().unwrap();
    assert_eq!(got.preview_text.as_deref(), Some("second"));
    assert_eq!(got.last_message_at, t(20));
    assert_eq!(got.last_inbound_at, Some(t(20)));
    assert_eq!(got.unread_count, 2);
    assert_eq!(got.awaiting_reply_since, Some(t(10)));
    assert_eq!(got.last_message_direction, Some(Direction::Inbound));
    append(store, &c, &unique("m"), Direction::Outbound, t(30), "answer").await;
    let got = store.get_conversation(&org, &c.id).await.unwrap().unwrap();
    assert_eq!(got.last_outbound_at, Some(t(30)));
    assert_eq!(got.last_message_direction, Some(Direction::Outbound));
    assert_eq!(got.preview_text.as_deref(), Some("answer"));
    assert_eq!(got.awaiting_reply_since, None);
    assert_eq!(got.unread_count, 2, "our own replies are not unread");
    let read = store.change_conversation(&org, &c.id, &ConversationChange::Read).await.unwrap().unwrap();
    assert_eq!(read.unread_count, 0);
    assert_eq!(store.change_conversation(&unique("org"), &c.id, &ConversationChange::Read).await.unwrap(), None);
}

pub async fn conversations_list_newest_first_in_cursor_pages_within_one_organization(store: &dyn Store) {
    let org = unique("org");
    let mut ids = Vec::new();
    for i in 0..5 {
        let c = new_conversation(store, &org, &format!("cust{i}"), t(0)).await;
        append(store, &c, &unique("m"), Direction::Inbound, t(100 + i), "x").await;
        ids.push(c.id);
    }
    new_conversation(store, &unique("org"), "stranger", t(500)).await;
    ids.reverse();
    let first = store.list_conversations(&org, instagram(), &PageRequest::first(2)).await.unwrap();
    assert_eq!(first.data.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), ids[..2]);
    let mut seen: Vec<String> = first.data.iter().map(|c| c.id.clone()).collect();
    let mut cursor = first.next_cursor;
    while let Some(c) = cursor {
        let page = PageRequest { limit: 2, after: Some(Cursor::decode(&c).unwrap()) };
        let next = store.list_conversations(&org, ConversationFilter::default(), &page).await.unwrap();
        seen.extend(next.data.iter().map(|c| c.id.clone()));
        cursor = next.next_cursor;
    }
    assert_eq!(seen, ids, "every conversation once, newest first, none of another organization");
    let all = store.list_conversations(&org, ConversationFilter::default(), &PageRequest::first(5)).await.unwrap();
    assert_eq!(all.data.len(), 5);
    assert_eq!(all.next_cursor, None, "an exactly full last page has no next cursor");
}

/// The whole inbox interleaves every provider's conversations by last message across cursor
/// pages; a provider's list has only its own; retention and erasure find them all.
pub async fn every_provider_s_conversations_are_one_inbox(store: &dyn Store) {
    let org = unique("org");
    let mut newest_first: Vec<(String, Provider)> = Vec::new();
    for i in 0..6 {
        let mut c = conversation(&org, "acc_1", &format!("cust{i}"), t(0));
        if i % 2 == 1 {
            c.provider = Provider::Messenger;
        }
        let c = store.create_conversation(&c).await.unwrap();
        append(store, &c, &unique("m"), Direction::Inbound, t(100 + i), "x").await;
        newest_first.insert(0, (c.id, c.provider));
    }
    let (mut seen, mut page) = (Vec::new(), PageRequest::first(2));
    loop {
        let got = store.list_conversations(&org, ConversationFilter::default(), &page).await.unwrap();
        seen.extend(got.data.into_iter().map(|c| (c.id, c.provider)));
        let Some(cursor) = got.next_cursor else { break };
        page = PageRequest { limit: 2, after: Some(Cursor::decode(&cursor).unwrap()) };
    }
    assert_eq!(seen, newest_first, "both providers' conversations once each, newest first");
    let messenger = ConversationFilter { provider: Some(Provider::Messenger), kind: None };
    let got = store.list_conversations(&org, messenger, &PageRequest::first(10)).await.unwrap();
    let theirs: Vec<&(String, Provider)> = newest_first.iter().filter(|(_, p)| *p == Provider::Messenger).collect();
    assert_eq!(
        got.data.iter().map(|c| (&c.id, &c.provider)).collect::<Vec<_>>(),
        theirs.iter().map(|(id, p)| (id, p)).collect::<Vec<_>>()
    );
    let inactive = store.inactive_conversations(&org, t(103), 10).await.unwrap();
    let oldest: Vec<&String> = newest_first.iter().rev().take(3).map(|(id, _)| id).collect();
    assert_eq!(inactive.iter().map(|c| &c.id).collect::<Vec<_>>(), oldest, "retention: oldest first over both");
    let of_cust1 = store.conversations_of_participant(&org, "cust1").await.unwrap();
    assert_eq!(of_cust1.iter().map(|c| c.provider).collect::<Vec<_>>(), [Provider::Messenger], "erasure finds it");
}

pub async fn contact_details_and_lead_link_are_set(store: &dyn Store) {
    let org = unique("org");
    let c = new_conversation(store, &org, "cust", t(0)).await;
    let got = store
        .change_conversation(&org, &c.id, &ConversationChange::contact(Some("ana"), Some("Ana"), Some("lead_1")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (got.handle.as_deref(), got.display_name.as_deref(), got.lead_id.as_deref()),
        (Some("ana"), Some("Ana"), Some("lead_1"))
    );
    let got = store
        .change_conversation(&org, &c.id, &ConversationChange::contact(None, None, Some("lead_2")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (got.handle.as_deref(), got.lead_id.as_deref()),
        (Some("ana"), Some("lead_2")),
        "None leaves a field as it is"
    );
    assert_eq!(
        store
            .change_conversation(&unique("org"), &c.id, &ConversationChange::contact(Some("x"), None, None))
            .await
            .unwrap(),
        None
    );
}

/// Who controls the thread is kept, the latest word standing, and read back as written.
pub async fn the_thread_s_controlling_app_is_kept(store: &dyn Store) {
    let org = unique("org");
    let c = new_conversation(store, &org, "cust", t(0)).await;
    let control = |app: &str, ours: bool, at| ThreadControl {
        owner_app_id: Some(app.to_owned()),
        ours,
        previous_owner_app_id: None,
        at,
    };
    let bot = control("bot", false, t(10));
    store.change_conversation(&org, &c.id, &ConversationChange::ThreadControl(bot.clone())).await.unwrap();
    let older = control("inbox", true, t(5));
    store.change_conversation(&org, &c.id, &ConversationChange::ThreadControl(older)).await.unwrap();
    let got = store.get_conversation(&org, &c.id).await.unwrap().unwrap();
    assert_eq!(got.thread_control, Some(bot), "an older handover changes nothing");
}

/// Concurrent writers never lose each other's updates: first messages from one customer
/// share one conversation, every message is counted, one worker wins a job claim.
pub async fn concurrent_writers_lose_nothing(store: &dyn Store) {
    let org = unique("org");
    let racers = 12;
    let fresh: Vec<Conversation> = (0..racers).map(|i| conversation(&org, "acc_1", "cust", t(i))).collect();
    let created = futures_util::future::join_all(fresh.iter().map(|c| store.create_conversation(c))).await;
    let ids: std::collections::BTreeSet<_> = created.into_iter().map(|c| c.unwrap().id).collect();
    assert_eq!(ids.len(), 1, "one conversation per customer");
    let c = store.find_conversation(&org, "acc_1", "cust").await.unwrap().unwrap();
    let mids: Vec<String> = (0..racers).map(|_| unique("mid")).collect();
    let appended = futures_util::future::join_all(
        mids.iter().enumerate().map(|(i, mid)| append(store, &c, mid, Direction::Inbound, t(10 + i as i64), "x")),
    )
    .await;
    assert!(appended.iter().all(|a| matches!(a, Appended::New { .. })));
    let got = store.get_conversation(&org, &c.id).await.unwrap().unwrap();
    assert_eq!(got.unread_count, racers as u32, "every concurrent message counted once");
    assert_eq!(got.last_message_at, t(10 + racers - 1));
    assert_eq!(store.list_messages(&org, &c.id, &PageRequest::first(100)).await.unwrap().data.len(), racers as usize);
    let j = job(&org, t(0));
    store.put_job(&j).await.unwrap();
    let claims =
        futures_util::future::join_all((0..racers).map(|_| store.claim_job(&org, &j.id, t(1), t(100), "racer"))).await;
    assert_eq!(claims.into_iter().filter(|c| matches!(c, Ok(Some(_)))).count(), 1, "one worker wins the claim");
}

fn instagram() -> ConversationFilter {
    ConversationFilter { provider: Some(Provider::Instagram), kind: None }
}

pub async fn comment_threads_are_conversations_of_their_own_listed_by_kind(store: &dyn Store) {
    let org = unique("org");
    let dm = new_conversation(store, &org, "cust", t(0)).await;
    let thread = CommentThread {
        comment_id: "c1".into(),
        media_id: Some("m1".into()),
        media_product_type: None,
        permalink: None,
        live: false,
    };
    let comments = Conversation::comment_thread(&org, "acc_1", "cust", thread, t(5), t(5));
    let stored = store.create_conversation(&comments).await.unwrap();
    assert_ne!(stored.id, dm.id, "the same customer's comment thread is not their DM thread");
    assert_eq!(store.create_conversation(&comments).await.unwrap().id, stored.id, "created once");
    let found = store.find_conversation(&org, "acc_1", "comment:c1").await.unwrap().unwrap();
    assert_eq!(
        (found.kind, found.comment.as_ref().map(|c| c.comment_id.as_str())),
        (ConversationKind::Comment, Some("c1"))
    );
    assert_eq!(store.find_conversation(&org, "acc_1", "cust").await.unwrap().unwrap().id, dm.id);
    for (kind, provider, expected) in [
        (ConversationKind::Comment, None, &stored.id),
        (ConversationKind::Dm, None, &dm.id),
        (ConversationKind::Comment, Some(Provider::Instagram), &stored.id),
    ] {
        let filter = ConversationFilter { provider, kind: Some(kind) };
        let page = store.list_conversations(&org, filter, &PageRequest::first(10)).await.unwrap();
        assert_eq!(page.data.into_iter().map(|c| c.id).collect::<Vec<_>>(), vec![expected.clone()], "{filter:?}");
    }
    let all = store.list_conversations(&org, instagram(), &PageRequest::first(10)).await.unwrap();
    assert_eq!(all.data.len(), 2, "a provider lists both kinds");
    let linked =
        CommentThread { permalink: Some("https://instagram.com/p/x/".into()), ..found.comment.clone().unwrap() };
    store.change_conversation(&org, &stored.id, &ConversationChange::CommentThread(linked.clone())).await.unwrap();
    let got = store.get_conversation(&org, &stored.id).await.unwrap().unwrap();
    assert_eq!(got.comment.unwrap().permalink.as_deref(), Some("https://instagram.com/p/x/"));
    assert_eq!(
        store
            .change_conversation(&unique("org"), &stored.id, &ConversationChange::CommentThread(linked.clone()))
            .await
            .unwrap(),
        None,
        "another org's"
    );
}
