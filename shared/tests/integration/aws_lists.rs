//! The conversation lists on DynamoDB (moto), as the table holds them: spread over shards,
//! and a DM in its provider's list only, a comment thread in the comment threads' list too.

use inbox_shared::adapters::dynamodb::DynamoStore;
use inbox_shared::conformance::{conversation, message, t};
use inbox_shared::domain::{
    Activity, CommentThread, Conversation, ConversationFilter, ConversationKind, Cursor, Direction, Page, PageRequest,
};
use inbox_shared::ports::{ConversationStore, ErasureStore};

/// Turning sharding on over an existing table: what was written unsharded is read as shard 0,
/// so every list (pages, kinds, retention, erasure) keeps every conversation once, in order,
/// and a conversation written again moves to its own shard.
#[tokio::test]
async fn conversations_written_before_sharding_stay_listed_in_one_order() {
    let Some(aws) = inbox_shared::testing::local_aws::local_aws().await else { return };
    let client = aws_sdk_dynamodb::Client::new(&aws.sdk);
    let unsharded = DynamoStore::new(client.clone(), &aws.table);
    let sharded = DynamoStore::new(client.clone(), &aws.table).with_inbox_shards(8);
    let org = inbox_shared::domain::new_id("org");
    let mut newest_first = Vec::new();
    for i in 0..12 {
        // Even ones before sharding, odd ones after, interleaved in time.
        let store = if i % 2 == 0 { &unsharded } else { &sharded };
        let c = store.create_conversation(&conversation(&org, "acc_1", &format!("cust{i}"), t(i))).await.unwrap();
        newest_first.insert(0, c.id);
    }
    let list = |page: PageRequest| {
        let sharded = &sharded;
        let org = &org;
        async move { sharded.list_conversations(org, ConversationFilter::default(), &page).await.unwrap() }
    };
    let mut seen = Vec::new();
    let mut page = list(PageRequest::first(5)).await;
    loop {
        seen.extend(page.data.iter().map(|c| c.id.clone()));
        let Some(cursor) = page.next_cursor else { break };
        page = list(PageRequest { limit: 5, after: Some(Cursor::decode(&cursor).unwrap()) }).await;
    }
    assert_eq!(seen, newest_first, "every conversation once, newest first, across the old partition and 7 shards");

    // The sharded writes really are spread (else this test would prove nothing).
    let out = client
        .scan()
        .table_name(&aws.table)
        .filter_expression("organizationId = :o AND begins_with(sk, :c)")
        .expression_attribute_values(":o", aws_sdk_dynamodb::types::AttributeValue::S(org.clone()))
        .expression_attribute_values(":c", aws_sdk_dynamodb::types::AttributeValue::S("CONV#".into()))
        .send()
        .await
        .unwrap();
    let partitions: std::collections::BTreeSet<String> =
        out.items().iter().filter_map(|i| i.get("gsi1pk")?.as_s().ok().cloned()).collect();
    assert!(partitions.len() >= 3, "12 conversations over at least 3 list partitions: {partitions:?}");

    // The oldest (written unsharded) gets a message through the sharded store: it moves to
    // its shard and heads the list, listed once.
    let oldest = sharded.get_conversation(&org, newest_first.last().unwrap()).await.unwrap().unwrap();
    let reply = message(&oldest, Some("mid.sharding"), Direction::Inbound, t(100), "hi");
    sharded
        .append_message(&oldest, &reply, &Activity::live(Direction::Inbound, t(100), Some("hi".into()), t(100)))
        .await
        .unwrap();
    let all = list(PageRequest::first(20)).await;
    let ids: Vec<String> = all.data.iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids.len(), 12);
    assert_eq!(ids[0], oldest.id);
    assert_eq!(ids[1..], newest_first[..11]);

    // A kind's list, retention's oldest-first scan and an erasure's search read every shard too.
    let dms = sharded
        .list_conversations(
            &org,
            ConversationFilter { kind: Some(oldest.kind), ..Default::default() },
            &PageRequest::first(20),
        )
        .await
        .unwrap();
    assert_eq!(dms.data.len(), 12);
    let inactive = sharded.inactive_conversations(&org, t(50), 4).await.unwrap();
    let oldest_four: Vec<String> = newest_first[7..11].iter().rev().cloned().collect();
    assert_eq!(inactive.into_iter().map(|c| c.id).collect::<Vec<_>>(), oldest_four);
    let found = sharded.conversations_of_participant(&org, "cust3").await.unwrap();
    assert_eq!(found.len(), 1);
}

/// Every conversation of `filter`, `limit` a page, newest first, following the cursors.
async fn listed(store: &DynamoStore, org: &str, filter: ConversationFilter, limit: usize) -> Vec<String> {
    let (mut seen, mut after) = (Vec::new(), None);
    loop {
        let page: Page<Conversation> =
            store.list_conversations(org, filter, &PageRequest { limit, after }).await.unwrap();
        seen.extend(page.data.into_iter().map(|c| c.id));
        let Some(cursor) = page.next_cursor else { return seen };
        after = Some(Cursor::decode(&cursor).unwrap());
    }
}

/// A DM's message moves it in one index, not two: DMs are not in the kind index (gsi3), and
/// the DMs' list is the providers' lists read past their comment threads, a page at a time.
/// DMs stored the earlier ways, in the kind index or with no kind at all, are listed once,
/// and leave the kind index at their next write.
#[tokio::test]
async fn dms_are_listed_from_the_provider_lists_past_the_comment_threads() {
    use aws_sdk_dynamodb::types::AttributeValue::S;

    let Some(aws) = inbox_shared::testing::local_aws::local_aws().await else { return };
    let client = aws_sdk_dynamodb::Client::new(&aws.sdk);
    let store = DynamoStore::new(client.clone(), &aws.table).with_inbox_shards(2);
    let org = inbox_shared::domain::new_id("org");
    let mut dms = Vec::new();
    for i in 0..3 {
        dms.insert(
            0,
            store.create_conversation(&conversation(&org, "acc_1", &format!("cust{i}"), t(i))).await.unwrap(),
        );
    }
    // Six comment threads, all newer than the DMs: a page of DMs reads past them.
    let mut threads = Vec::new();
    for i in 0..6 {
        let anchor = CommentThread {
            comment_id: format!("c{i}"),
            media_id: Some("m1".into()),
            media_product_type: None,
            permalink: None,
            live: false,
        };
        let thread = Conversation::comment_thread(&org, "acc_1", "fan", anchor, t(10 + i), t(10 + i));
        threads.insert(0, store.create_conversation(&thread).await.unwrap().id);
    }
    let item = |id: String| {
        let get = client.get_item().table_name(&aws.table).key("pk", S(format!("ORG#{org}")));
        async move { get.key("sk", S(format!("CONV#{id}"))).send().await.unwrap().item.unwrap() }
    };
    for dm in &dms {
        assert!(!item(dm.id.clone()).await.contains_key("gsi3pk"), "a DM is not in the kind index");
    }
    for id in &threads {
        assert!(item(id.clone()).await.contains_key("gsi3pk"), "a comment thread is");
    }
    // The oldest DM as stored before: in the kind index too; the middle one with no kind.
    let mut earlier = item(dms[2].id.clone()).await;
    earlier.insert("gsi3pk".into(), S(format!("ORG#{org}#CONVS#KIND#DM")));
    earlier.insert("gsi3sk".into(), earlier["gsi1sk"].clone());
    client.put_item().table_name(&aws.table).set_item(Some(earlier)).send().await.unwrap();
    let mut kindless = item(dms[1].id.clone()).await;
    kindless.remove("kind");
    client.put_item().table_name(&aws.table).set_item(Some(kindless)).send().await.unwrap();

    let of_kind = |kind| ConversationFilter { kind: Some(kind), ..Default::default() };
    let dm_ids: Vec<String> = dms.iter().map(|c| c.id.clone()).collect();
    assert_eq!(listed(&store, &org, of_kind(ConversationKind::Dm), 2).await, dm_ids);
    assert_eq!(listed(&store, &org, of_kind(ConversationKind::Comment), 4).await, threads);
    assert_eq!(listed(&store, &org, ConversationFilter::default(), 4).await.len(), 9, "the whole inbox once");

    // The earlier-stored DM gets a message: it leaves the kind index and heads the DMs.
    let oldest = store.get_conversation(&org, &dms[2].id).await.unwrap().unwrap();
    let hi = message(&oldest, Some("mid.kinds"), Direction::Inbound, t(100), "hi");
    let activity = Activity::live(Direction::Inbound, t(100), Some("hi".into()), t(100));
    store.append_message(&oldest, &hi, &activity).await.unwrap();
    assert!(!item(oldest.id.clone()).await.contains_key("gsi3pk"));
    let newest_first = [&dm_ids[2], &dm_ids[0], &dm_ids[1]].map(String::clone).to_vec();
    assert_eq!(listed(&store, &org, of_kind(ConversationKind::Dm), 2).await, newest_first);
}

/// A page of DMs past many newer comment threads reads further at each round (DynamoDB's
/// `Limit` counts the items read, kept or not): a few queries, not one per page's worth.
#[tokio::test]
async fn a_dm_page_reads_past_many_comment_threads_in_a_few_queries() {
    use inbox_shared::testing::aws_counter::CallCounter;

    let Some(aws) = inbox_shared::testing::local_aws::local_aws().await else { return };
    let counter = CallCounter::default();
    let config = aws_sdk_dynamodb::config::Builder::from(&aws.sdk).interceptor(counter.clone()).build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), &aws.table);
    let org = inbox_shared::domain::new_id("org");
    let mut dms = Vec::new();
    for i in 0..2 {
        dms.insert(
            0,
            store.create_conversation(&conversation(&org, "acc_1", &format!("cust{i}"), t(i))).await.unwrap().id,
        );
    }
    let threads = (0..120).map(|i| {
        let anchor = CommentThread {
            comment_id: format!("c{i}"),
            media_id: None,
            media_product_type: None,
            permalink: None,
            live: false,
        };
        Conversation::comment_thread(&org, "acc_1", "fan", anchor, t(10 + i), t(10 + i))
    });
    for thread in threads.collect::<Vec<_>>() {
        store.create_conversation(&thread).await.unwrap();
    }
    counter.take();
    let of_kind = ConversationFilter { kind: Some(ConversationKind::Dm), ..Default::default() };
    assert_eq!(listed(&store, &org, of_kind, 2).await, dms);
    let queries = counter.take().count("Query");
    // 3, 6, 12, 24, 48 and 96 items read: six queries (one more for an empty last page);
    // reading a page's worth at a time took 41.
    assert!(queries <= 8, "{queries} queries");
}
