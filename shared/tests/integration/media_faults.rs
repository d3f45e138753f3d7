//! Media copies when S3 goes away, on DynamoDB and S3 (moto) with only S3 behind the fault
//! proxy: a copy job that meets the outage fails, keeps Meta's link, and once delivered again
//! keeps the file once; an unsend that meets the outage still deletes the copy in the end.

use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use inbox_shared::adapters::dynamodb::DynamoStore;
use inbox_shared::adapters::graph_http::HttpGraphApi;
use inbox_shared::adapters::memory_queue::MemoryQueue;
use inbox_shared::adapters::s3_media::S3Media;
use inbox_shared::adapters::static_cipher::StaticKeyCipher;
use inbox_shared::config::{AppEnv, Config};
use inbox_shared::domain::{JobType, PageRequest, TokenKind};
use inbox_shared::ports::{JobQueue, MediaStore, MessageStore, SystemClock, ThreadRngJitter};
use inbox_shared::services::Services;
use inbox_shared::testing::fake_cdn::FakeCdn;
use inbox_shared::testing::fault_proxy::FaultProxy;
use inbox_shared::testing::local_aws::local_aws;
use inbox_shared::testing::seed;
use serde_json::json;

const ORG: &str = "org_media_cut";
const SECRET: &str = "media-cut-secret";
const PHOTO: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00a photo";
const OUTAGE: Duration = Duration::from_millis(2500);

fn signed(body: &str) -> String {
    inbox_shared::meta::signature::sign(SECRET, body.as_bytes())
}

async fn deliver(client: &reqwest::Client, url: &str, body: &str) -> u16 {
    let r = client.post(url).header("x-hub-signature-256", signed(body)).body(body.to_owned()).send().await.unwrap();
    r.status().as_u16()
}

/// Runs what is queued; a failed job is delivered again, as SQS does: how many failed.
async fn drain(services: &Services, queue: &MemoryQueue) -> usize {
    let mut failed = 0;
    for _ in 0..20 {
        let due = queue.take_due();
        if due.is_empty() {
            return failed;
        }
        for m in due {
            if services.process(&m).await.is_err() {
                failed += 1;
                queue.enqueue(&m, chrono::Duration::zero()).await.unwrap();
            }
        }
    }
    panic!("the queue never drained");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_outage_delays_a_copy_and_an_unsend_but_loses_and_doubles_nothing() {
    let Some(aws) = local_aws().await else { return };
    let table = aws.fresh_table().await;
    let bucket = format!("media-cut-{}", uuid::Uuid::now_v7().simple());
    aws.create_bucket(&bucket).await;
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    let media: Arc<dyn MediaStore> = Arc::new(S3Media::at(&aws.sdk, Some(&proxy.url), &bucket).unwrap());
    let (graph, cdn) = (FakeGraph::start().await, FakeCdn::start().await);
    let mut vars = vec![("META_APP_SECRET", SECRET.to_owned())];
    vars.extend(graph.env());
    let config =
        Config::from_lookup(AppEnv::Production, |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    let queue = Arc::new(MemoryQueue::new(Arc::new(SystemClock)));
    let store = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws.sdk), &table));
    let adapters = inbox_shared::runtime::Adapters {
        graph: Arc::new(HttpGraphApi::from_config(&config)),
        store: store.clone(),
        queue: queue.clone(),
        cipher: Arc::new(StaticKeyCipher::ephemeral()),
        clock: Arc::new(SystemClock),
        jitter: Arc::new(ThreadRngJitter),
        media: Some(media.clone()),
    };
    let services = inbox_shared::runtime::services_on(config, adapters.clone());
    let url = serve_webhook(&services).await;
    let token = "EAAB-media-cut";
    seed::connect_account(&adapters, ORG, "acc_media", IG_ACCOUNT, PAGE_ID, TokenKind::Page, token, None).await;
    graph.world().page(PAGE_ID, token);
    graph.world().know(CUSTOMER, Object::InstagramUser);
    graph.world().set_profile(CUSTOMER, json!({"profile_pic": cdn.put("ana.jpg", PHOTO, "image/jpeg")}));
    let client = reqwest::Client::new();
    let now = chrono::Utc::now().timestamp_millis();
    let photo = cdn.put("photo.jpg", PHOTO, "image/jpeg");
    let webhook = |message: serde_json::Value, at: i64| {
        json!({"object":"instagram","entry":[{"id":IG_ACCOUNT,"time":at,"messaging":[
            {"sender":{"id":CUSTOMER},"recipient":{"id":IG_ACCOUNT},"timestamp":at,"message":message}]}]})
        .to_string()
    };
    let dm = webhook(json!({"mid":"mid-cut","attachments":[{"type":"image","payload":{"url":photo}}]}), now);
    assert_eq!(deliver(&client, &url, &dm).await, 200);

    // S3 goes away as the copy jobs run: they fail, and the message keeps Meta's link.
    proxy.cut(OUTAGE);
    let mut failed = Vec::new();
    for m in queue.take_due() {
        if services.process(&m).await.is_err() {
            failed.push(m.job_type());
            queue.enqueue(&m, chrono::Duration::zero()).await.unwrap();
        }
    }
    assert_eq!(
        failed,
        [JobType::EnrichContact, JobType::CopyMedia],
        "the picture's and the photo's copies wait for S3"
    );
    let id = store.message_id_by_external_id(ORG, "mid-cut").await.unwrap().unwrap();
    let kept = store.get_message(ORG, &id).await.unwrap().unwrap();
    assert_eq!(kept.attachments[0]["payload"], json!({"url": photo}), "Meta's link, nothing recorded");
    tokio::time::sleep(OUTAGE).await;
    assert_eq!(drain(&services, &queue).await, 0, "delivered again, each job finishes");
    let keys = |prefix: String| {
        let media = media.clone();
        async move {
            let mut keys = media.list(&prefix).await.unwrap();
            keys.sort();
            keys
        }
    };
    let copies = keys(format!("{ORG}/")).await;
    assert_eq!(copies.len(), 2, "the photo and the profile picture, once each: {copies:?}");
    let stored = store.get_message(ORG, &id).await.unwrap().unwrap();
    let key = stored.attachments[0]["payload"]["storedKey"].as_str().unwrap().to_owned();
    assert!(copies.contains(&key));
    assert_eq!(cdn.hits("photo.jpg"), 2, "fetched again only because the first copy was not kept");

    // The customer unsends it while S3 is away: Meta gets an answer it acts on (200, or an
    // error it redelivers on), and once S3 is back the copy is gone.
    proxy.cut(OUTAGE);
    let unsend = webhook(json!({"mid":"mid-cut","is_deleted":true}), now + 1000);
    let first = deliver(&client, &url, &unsend).await;
    tokio::time::sleep(OUTAGE).await;
    if first != 200 {
        assert_eq!(deliver(&client, &url, &unsend).await, 200, "Meta's redelivery");
    }
    drain(&services, &queue).await;
    let left = keys(format!("{ORG}/")).await;
    assert_eq!(left, [format!("{ORG}/contacts/{CUSTOMER}/picture")], "the unsent photo's copy is gone");
    let unsent = store.list_messages(ORG, &stored.conversation_id, &PageRequest::first(5)).await.unwrap();
    assert_eq!(unsent.data[0].attachments, Vec::<serde_json::Value>::new());
}

/// An empty file is a file: kept, told as 0 bytes (S3 has no byte 0 to answer a range with),
/// read back empty, listed and deleted.
#[tokio::test]
async fn an_empty_copy_is_kept_told_and_deleted_on_s3() {
    let Some(aws) = local_aws().await else { return };
    let media = aws.fresh_media_bucket().await;
    media.put("org_empty/c/m/0", Vec::new(), "application/pdf").await.expect("an empty PUT lands");
    let head = media.head("org_empty/c/m/0", 16).await.unwrap();
    assert_eq!(head, Some(inbox_shared::ports::Head { size: 0, first_bytes: Vec::new() }));
    assert_eq!(media.get("org_empty/c/m/0").await.unwrap(), Some(Vec::new()));
    assert_eq!(media.list("org_empty/").await.unwrap(), ["org_empty/c/m/0"]);
    media.delete_prefix("org_empty/").await.unwrap();
    assert_eq!(media.get("org_empty/c/m/0").await.unwrap(), None);
}
