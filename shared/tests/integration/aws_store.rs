//! The store conformance suite against DynamoDB (moto), on a table created from
//! template.yaml's own definition.

use std::sync::Arc;

use inbox_shared::adapters::dynamodb::DynamoStore;

async fn dynamo() -> Option<Arc<DynamoStore>> {
    let aws = inbox_shared::testing::local_aws::local_aws().await?;
    Some(Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws.sdk), aws.table)))
}

inbox_shared::store_conformance_tests!(dynamo());

/// A store on the local table beside its raw client (to reach past the store), and a new
/// organization.
async fn beside_the_table() -> Option<(aws_sdk_dynamodb::Client, String, DynamoStore, String)> {
    let aws = inbox_shared::testing::local_aws::local_aws().await?;
    let client = aws_sdk_dynamodb::Client::new(&aws.sdk);
    let store = DynamoStore::new(client.clone(), &aws.table);
    Some((client, aws.table, store, inbox_shared::domain::new_id("org")))
}

/// Deletes an item of `org` by its sort key, as an erasure would, without the store's search
/// of the log that follows it.
async fn delete_record(client: &aws_sdk_dynamodb::Client, table: &str, org: &str, sk: String) {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    let delete = client.delete_item().table_name(table).key("pk", S(format!("ORG#{org}")));
    delete.key("sk", S(sk)).send().await.unwrap();
}

/// The same suite on conversation-list indexes spread over 4 shards per organization
/// (`INBOX_INDEX_SHARDS`): every list reads them all and merges, unchanged to its callers.
mod sharded {
    use super::*;

    async fn dynamo_sharded() -> Option<Arc<DynamoStore>> {
        Some(Arc::new(Arc::into_inner(dynamo().await?)?.with_inbox_shards(4).with_log_shards(3)))
    }

    inbox_shared::store_conformance_tests!(dynamo_sharded());
}

/// A log over several shards read a small page at a time, some events expired among them: each
/// shard gives its next events, and the merge stops where the first of them stopped reading
/// (a page of expired events filtered out is short but not the shard's end), so no event is
/// skipped or read twice.
#[tokio::test]
async fn a_sharded_event_log_is_read_once_in_order_a_page_at_a_time() {
    use inbox_shared::conformance::{conversation, t};
    use inbox_shared::domain::{InboxEvent, LoggedEvent};
    use inbox_shared::ports::{ConversationStore, EventStore};

    let Some(aws) = inbox_shared::testing::local_aws::local_aws().await else { return };
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws.sdk), &aws.table).with_log_shards(5);
    let org = inbox_shared::domain::new_id("org");
    let c = store.create_conversation(&conversation(&org, "acc_1", "6185", t(0))).await.unwrap();
    let mut logged = Vec::new();
    for i in 0..23 {
        let mut told = c.clone();
        told.unread_count = i;
        let event = InboxEvent::conversation_updated(&told);
        logged
            .push(LoggedEvent { position: LoggedEvent::position_of(t(1 + i as i64 / 4), i as u64, &event.id), event });
    }
    // Every third expired by the time it is read (t(200)).
    let (expired, kept): (Vec<_>, Vec<_>) = logged.into_iter().enumerate().partition(|(i, _)| i % 3 == 0);
    let expired: Vec<LoggedEvent> = expired.into_iter().map(|(_, e)| e).collect();
    let kept: Vec<LoggedEvent> = kept.into_iter().map(|(_, e)| e).collect();
    store.append_events(&expired, t(100)).await.unwrap();
    store.append_events(&kept, t(1_000)).await.unwrap();
    let mut read: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..30 {
        let page = store.events_after(&org, after.as_deref(), 3, t(200)).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.position.clone());
        read.extend(page.into_iter().map(|e| e.position));
    }
    let mut expected: Vec<String> = kept.iter().map(|e| e.position.clone()).collect();
    expected.sort();
    assert_eq!(read, expected, "the 15 unexpired events, in position order, once each");
}

/// Messages made before ids were spread (`msg_...`) keep their key `MSG#<id>`; new ones
/// (`msg2_...`) are keyed by their id's random end: both are found, changed, listed and erased
/// the same way, side by side.
#[tokio::test]
async fn messages_with_earlier_ids_keep_their_keys_beside_spread_ones() {
    use inbox_shared::conformance::{conversation, message, t};
    use inbox_shared::domain::{Activity, Direction, Message, MessageChange, PageRequest};
    use inbox_shared::ports::{ConversationStore, ErasureStore, MessageStore};

    let Some(aws) = inbox_shared::testing::local_aws::local_aws().await else { return };
    let client = aws_sdk_dynamodb::Client::new(&aws.sdk);
    let store = DynamoStore::new(client.clone(), &aws.table);
    let org = inbox_shared::domain::new_id("org");
    let c = store.create_conversation(&conversation(&org, "acc_1", "6185", t(0))).await.unwrap();
    let earlier = Message {
        id: inbox_shared::domain::new_id("msg"),
        ..message(&c, Some("mid.old"), Direction::Inbound, t(1), "old")
    };
    let spread = message(&c, Some("mid.new"), Direction::Inbound, t(2), "new");
    assert!(earlier.id.starts_with("msg_") && spread.id.starts_with("msg2_"));
    let mut seen = c.clone();
    for m in [&earlier, &spread] {
        let activity = Activity::live(Direction::Inbound, m.created_at, m.text.clone(), m.created_at);
        store.append_message(&seen, m, &activity).await.unwrap();
        seen = store.get_conversation(&org, &c.id).await.unwrap().unwrap();
    }
    let sks: Vec<String> = {
        let out = client
            .query()
            .table_name(&aws.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :m)")
            .expression_attribute_values(":pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("ORG#{org}")))
            .expression_attribute_values(":m", aws_sdk_dynamodb::types::AttributeValue::S("MSG#".into()))
            .send()
            .await
            .unwrap();
        out.items().iter().filter_map(|i| i.get("sk")?.as_s().ok().cloned()).collect()
    };
    let tail = &spread.id[spread.id.len() - 4..];
    assert!(sks.contains(&format!("MSG#{}", earlier.id)), "{sks:?}");
    assert!(sks.contains(&format!("MSG#{tail}#{}", spread.id)), "{sks:?}");
    for m in [&earlier, &spread] {
        assert_eq!(store.get_message(&org, &m.id).await.unwrap().unwrap().id, m.id);
        assert_eq!(
            store
                .find_message_by_external_id(&org, m.external_message_id.as_deref().unwrap())
                .await
                .unwrap()
                .unwrap()
                .id,
            m.id
        );
        let edit = MessageChange::Edited { text: Some("edited".into()), edits: None };
        let changed = store.update_message(&org, &m.id, &edit, t(5)).await.unwrap().unwrap();
        assert_eq!(changed.text.as_deref(), Some("edited"), "{}", m.id);
    }
    let listed = store.list_messages(&org, &c.id, &PageRequest::first(10)).await.unwrap();
    assert_eq!(listed.data.iter().map(|m| m.id.clone()).collect::<Vec<_>>(), [spread.id.clone(), earlier.id.clone()]);
    while store.erase_conversation(&org, &c.id, 25).await.unwrap() > 0 {}
    for m in [&earlier, &spread] {
        assert!(store.get_message(&org, &m.id).await.unwrap().is_none());
    }
}

/// Sharded reads when AWS is slow or unreachable: a slow AWS still gives the whole page in
/// order (the shards are read side by side); an unreachable one fails the read, never answers
/// part of the shards as if it were all; once AWS is back, everything is there.
#[tokio::test]
async fn sharded_reads_fail_whole_when_aws_is_cut_and_stay_whole_when_it_is_slow() {
    use std::time::Duration;

    use inbox_shared::conformance::{conversation, t};
    use inbox_shared::domain::{ConversationFilter, InboxEvent, LoggedEvent, PageRequest};
    use inbox_shared::ports::{ConversationStore, EventStore};
    use inbox_shared::testing::fault_proxy::FaultProxy;

    let Some(aws) = inbox_shared::testing::local_aws::local_aws().await else { return };
    let proxy = FaultProxy::start(&aws.endpoint).await;
    let proxied = aws_sdk_dynamodb::config::Builder::from(&aws.sdk).endpoint_url(&proxy.url).build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(proxied), &aws.table)
        .with_inbox_shards(4)
        .with_log_shards(3);
    let org = inbox_shared::domain::new_id("org");
    let mut newest_first = Vec::new();
    let mut logged = Vec::new();
    for i in 0..8 {
        let c = store.create_conversation(&conversation(&org, "acc_1", &format!("cust{i}"), t(i))).await.unwrap();
        let event = InboxEvent::conversation_updated(&c);
        logged.push(LoggedEvent { position: LoggedEvent::position_of(t(i), i as u64, &event.id), event });
        newest_first.insert(0, c.id);
    }
    store.append_events(&logged, t(1_000)).await.unwrap();
    let first_page = PageRequest::first(20);
    let list = || store.list_conversations(&org, ConversationFilter::default(), &first_page);
    let ids = |page: inbox_shared::domain::Page<inbox_shared::domain::Conversation>| {
        page.data.into_iter().map(|c| c.id).collect::<Vec<_>>()
    };

    proxy.set_latency(Duration::from_millis(300));
    assert_eq!(ids(list().await.unwrap()), newest_first, "slow: whole and in order");
    assert_eq!(store.events_after(&org, None, 20, t(10)).await.unwrap().len(), 8);
    proxy.set_latency(Duration::ZERO);

    proxy.cut(Duration::from_secs(3));
    assert!(list().await.is_err(), "cut: the page fails, no shard's part of it is answered");
    assert!(store.events_after(&org, None, 20, t(10)).await.is_err(), "cut: the log read fails");
    tokio::time::sleep(Duration::from_secs(3)).await;

    assert_eq!(ids(list().await.unwrap()), newest_first, "back: everything there");
    assert_eq!(store.events_after(&org, None, 20, t(10)).await.unwrap().len(), 8);
}

/// The relay logged a conversation's event, and the conversation was erased before the relay
/// heard back (its check never ran: a timeout, a crash). Given the same record again, it finds
/// the record gone and takes back the event its first attempt logged, wherever that went; the
/// other conversation's event stays, once.
#[tokio::test]
async fn an_event_logged_before_its_record_was_erased_is_taken_back_when_the_relay_retries() {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    use inbox_shared::conformance::{conversation, t};
    use inbox_shared::domain::{InboxEvent, LoggedEvent};
    use inbox_shared::ports::{ConversationStore, EventStore};

    let Some((client, table, store, org)) = beside_the_table().await else { return };
    let store = store.with_log_shards(3);
    let erased = store.create_conversation(&conversation(&org, "acc_1", "cust1", t(0))).await.unwrap();
    let kept = store.create_conversation(&conversation(&org, "acc_1", "cust2", t(0))).await.unwrap();
    let events = [InboxEvent::conversation_updated(&erased), InboxEvent::conversation_updated(&kept)];
    let attempt = |at: i64| {
        let logged = events
            .iter()
            .enumerate()
            .map(|(i, e)| LoggedEvent { position: LoggedEvent::position_of(t(at), i as u64, &e.id), event: e.clone() });
        logged.collect::<Vec<_>>()
    };
    assert!(store.append_events(&attempt(1), t(1_000)).await.unwrap().is_empty(), "both records there");
    // The erasure's delete of the record, between the first attempt's logging and its check.
    delete_record(&client, &table, &org, format!("CONV#{}", erased.id)).await;

    let gone = store.append_events(&attempt(2), t(1_000)).await.unwrap();
    assert_eq!(gone, vec![events[0].id.clone()], "the erased record's event is answered as gone");
    let left: Vec<String> =
        store.events_after(&org, None, 10, t(3)).await.unwrap().into_iter().map(|e| e.event.id).collect();
    assert_eq!(
        left,
        vec![events[1].id.clone()],
        "the erased conversation's event is out of the log; the other's is there once"
    );
    let guard = client.get_item().table_name(&table).key("pk", S(format!("ORG#{org}")));
    let guard = guard.key("sk", S(format!("EVTID#{}", events[0].id))).consistent_read(true).send().await.unwrap();
    assert!(guard.item.is_none(), "and so is its guard: nothing of it stays behind");
}

/// A relay batch of more records than one `BatchGetItem` reads (100): a record erased among
/// the second hundred is still found gone and its event taken back; every other event stays.
#[tokio::test]
async fn a_batch_of_more_than_100_records_is_checked_whole() {
    use inbox_shared::conformance::{conversation, t};
    use inbox_shared::domain::{InboxEvent, LoggedEvent};
    use inbox_shared::ports::{ConversationStore, EventStore};

    let Some((client, table, store, org)) = beside_the_table().await else { return };
    let mut logged = Vec::new();
    for i in 0..120u64 {
        let c = store.create_conversation(&conversation(&org, "acc_1", &format!("cust{i}"), t(0))).await.unwrap();
        let event = InboxEvent::conversation_updated(&c);
        logged.push((c.id, LoggedEvent { position: LoggedEvent::position_of(t(1), i, &event.id), event }));
    }
    delete_record(&client, &table, &org, format!("CONV#{}", logged[110].0)).await;

    let events: Vec<LoggedEvent> = logged.iter().map(|(_, e)| e.clone()).collect();
    let gone = store.append_events(&events, t(1_000)).await.unwrap();
    assert_eq!(gone, vec![events[110].event.id.clone()], "the one erased, in the second hundred");
    let left = store.events_after(&org, None, 200, t(2)).await.unwrap();
    assert_eq!(left.len(), 119);
    assert!(left.iter().all(|e| e.event.id != events[110].event.id));
}

/// Two processes on one table (the webhook function and the inbox API): an id the first found
/// routing nowhere routes to the account the second connects, at once. DynamoDB's route cache
/// keeps only accounts found; only the memory store, which no other process writes, keeps
/// absences.
#[tokio::test]
async fn an_account_connected_by_another_process_is_routed_at_once() {
    use inbox_shared::ports::AccountStore;

    let Some((client, table, webhook, org)) = beside_the_table().await else { return };
    let api = DynamoStore::new(client, &table);
    let connected = inbox_shared::conformance::account(&org);
    let id = &connected.external_account_id;
    assert_eq!(webhook.find_account_by_external_id(id).await.unwrap(), None, "not connected yet");
    api.put_account(&connected).await.unwrap();
    assert_eq!(webhook.find_account_by_external_id(id).await.unwrap(), Some(connected));
}

/// A conversation whose id is derived from its thread is one item: no lookup item is written,
/// it is found by its key, and creating it again answers the first. One with a drawn id (as
/// before ids were derived) keeps its lookup item and is found through it.
#[tokio::test]
async fn a_derived_conversation_is_one_item_and_a_drawn_one_keeps_its_lookup() {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    use inbox_shared::domain::{Conversation, new_id};
    use inbox_shared::ports::ConversationStore;

    let Some((client, table, store, org)) = beside_the_table().await else { return };
    let lookup = |customer: &str| {
        let get = client.get_item().table_name(&table).key("pk", S(format!("ORG#{org}")));
        get.key("sk", S(format!("CONVKEY#acc_1#{customer}"))).consistent_read(true).send()
    };
    let now = chrono::Utc::now();
    let derived = Conversation::opened(Conversation::id_for(&org, "acc_1", "6185"), &org, "acc_1", "6185", now, now);
    let created = store.create_conversation(&derived).await.unwrap();
    assert!(lookup("6185").await.unwrap().item.is_none(), "no lookup item beside a derived id");
    let again = Conversation { unread_count: 7, ..derived.clone() };
    let second = store.create_conversation(&again).await.unwrap();
    assert_eq!((second.id.as_str(), second.unread_count), (created.id.as_str(), 0), "the first one, kept");
    let found = store.find_conversation(&org, "acc_1", "6185").await.unwrap();
    assert_eq!(found.map(|c| c.id), Some(created.id));

    let drawn = Conversation::opened(new_id("conv"), &org, "acc_1", "6186", now, now);
    store.create_conversation(&drawn).await.unwrap();
    assert!(lookup("6186").await.unwrap().item.is_some(), "a drawn id keeps its lookup item");
    let found = store.find_conversation(&org, "acc_1", "6186").await.unwrap();
    assert_eq!(found.map(|c| c.id), Some(drawn.id));
}
