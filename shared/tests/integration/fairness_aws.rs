//! Fairness between tenants on the real queues (moto): one tenant's viral post (5 000 comment
//! webhooks waiting on the queue) does not hold another tenant's reply, which travels on the
//! sends queue and reaches Meta within 30 s while the backlog is still being worked through.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use inbox_shared::adapters::dynamodb::DynamoStore;
use inbox_shared::adapters::graph_http::HttpGraphApi;
use inbox_shared::adapters::sqs_queue::SqsQueue;
use inbox_shared::adapters::static_cipher::StaticKeyCipher;
use inbox_shared::config::{AppEnv, Config};
use inbox_shared::domain::{Caller, TokenKind};
use inbox_shared::ports::{QueueMessage, QueuedItem, QueuedItems, SystemClock, ThreadRngJitter};
use inbox_shared::testing::local_aws::local_aws;
use inbox_shared::testing::seed;
use serde_json::json;

const BACKLOG: usize = 5_000;
const ITEMS_PER_MESSAGE: usize = 500;
const B_ACCOUNT: &str = "17841400000000002";
const B_PAGE: &str = "112233445566779";
const B_CUSTOMER: &str = "6185000000000077";

/// Tenant A's comment webhooks as the webhook's spill queues them: packed, 500 to a message
/// (about 125 KiB of SQS's 256), in lane order.
async fn fill_with_comments(sqs: &aws_sdk_sqs::Client, url: &str) {
    for chunk in 0..BACKLOG / ITEMS_PER_MESSAGE {
        let items = (0..ITEMS_PER_MESSAGE)
            .map(|i| {
                let n = chunk * ITEMS_PER_MESSAGE + i;
                let item = json!({"field": "comments", "value": {"from": {"id": format!("6185{n:012}"), "username": "fan"},
                    "media": {"id": "17900000000000100", "media_product_type": "FEED"},
                    "id": format!("1786{n:013}"), "text": "Love it"}});
                QueuedItem { entry_id: IG_ACCOUNT.into(), entry_time: None, item }
            })
            .collect();
        let queued = QueuedItems { items, attempt: 1, ..Default::default() };
        let body = serde_json::to_string(&QueueMessage::ProcessWebhook(queued)).unwrap();
        sqs.send_message().queue_url(url).message_body(body).send().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reply_of_one_tenant_goes_out_within_30_s_behind_another_tenants_5000_comment_backlog() {
    let Some(aws) = local_aws().await else { return };
    let table = aws.fresh_table().await;
    let [(sends, _), (webhooks, _), (enrichment, _)] =
        [aws.fresh_queue().await, aws.fresh_queue().await, aws.fresh_queue().await];
    let graph = FakeGraph::start().await;
    let mut vars = vec![("META_APP_SECRET", "s".to_owned())];
    vars.extend(graph.env());
    let config =
        Config::from_lookup(AppEnv::Production, |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&aws.sdk);
    let queue = SqsQueue::new(sqs.clone(), &sends).with_lanes(Some(webhooks.clone()), Some(enrichment.clone()));
    let adapters = inbox_shared::runtime::Adapters {
        graph: Arc::new(HttpGraphApi::from_config(&config)),
        store: Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws.sdk), &table)),
        queue: Arc::new(queue),
        cipher: Arc::new(StaticKeyCipher::ephemeral()),
        clock: Arc::new(SystemClock),
        jitter: Arc::new(ThreadRngJitter),
        media: None,
    };
    let services = inbox_shared::runtime::services_on(config, adapters.clone());
    seed::connect_account(&adapters, "org_a", "acc_a", IG_ACCOUNT, PAGE_ID, TokenKind::Page, "EAAB-a", None).await;
    seed::connect_account(&adapters, "org_b", "acc_b", B_ACCOUNT, B_PAGE, TokenKind::Page, "EAAB-b", None).await;
    graph.world().page(PAGE_ID, "EAAB-a");
    graph.world().page(B_PAGE, "EAAB-b");
    graph.world().know(B_CUSTOMER, Object::InstagramUser);
    let conversation =
        seed::conversation_with_inbound(&adapters, "org_b", "acc_b", "conv_b", B_CUSTOMER, "Is it in stock?").await;
    let filling = Instant::now();
    fill_with_comments(&sqs, &webhooks).await;
    eprintln!("backlog of {BACKLOG} queued in {:?}", filling.elapsed());

    // The job processor: one consumer per queue, as each queue is its own event source.
    let workers: Vec<_> = [&sends, &webhooks, &enrichment]
        .into_iter()
        .map(|url| tokio::spawn(inbox_shared::worker::run_sqs_worker(services.clone(), url.clone(), aws.sdk.clone())))
        .collect();
    let started = Instant::now();
    let agent = Caller { organization_id: "org_b".into(), subject: Some("agent-b".into()), admin: false };
    services.outbound.send_text(&agent, &conversation.id, "Yes, size M too", None).await.unwrap();
    let delivered = loop {
        let to_b =
            graph.calls().into_iter().any(|c| c.path.ends_with("/messages") && c.body["recipient"]["id"] == B_CUSTOMER);
        if to_b || started.elapsed() > Duration::from_secs(30) {
            break to_b.then(|| started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&webhooks)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    for worker in workers {
        worker.abort();
    }
    let count = |name: &str| {
        let attributes = attributes.attributes().cloned().unwrap_or_default();
        let value = attributes.iter().find(|(k, _)| k.as_str() == name).map(|(_, v)| v.clone());
        value.and_then(|v| v.parse::<usize>().ok()).unwrap_or(0)
    };
    // Waiting, and taken by the consumer but not yet done.
    let waiting = count("ApproximateNumberOfMessages") + count("ApproximateNumberOfMessagesNotVisible");
    eprintln!("tenant B's reply reached Meta after {delivered:?}; tenant A's messages still queued: {waiting}");
    let delivered = delivered.expect("tenant B's reply reached Meta within 30 s");
    assert!(delivered < Duration::from_secs(30));
    assert!(waiting > 0, "measured while the backlog was still being worked through");
}
