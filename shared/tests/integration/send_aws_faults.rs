//! A send whose bookkeeping meets an AWS outage right after Meta took it, on DynamoDB (moto)
//! through the fault proxy: the reply still ends SENT, once, never DELIVERY_UNCONFIRMED.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use inbox_shared::adapters::dynamodb::DynamoStore;
use inbox_shared::adapters::graph_http::HttpGraphApi;
use inbox_shared::adapters::sqs_queue::SqsQueue;
use inbox_shared::adapters::static_cipher::StaticKeyCipher;
use inbox_shared::config::{AppEnv, Config};
use inbox_shared::domain::{Caller, PageRequest, TokenKind};
use inbox_shared::ports::{JobStore, MessageStore, QueueMessage, SystemClock, ThreadRngJitter};
use inbox_shared::testing::fault_proxy::FaultProxy;
use inbox_shared::testing::local_aws::local_aws;
use inbox_shared::testing::seed;
use serde_json::json;

const ORG: &str = "org_cut";
const SECRET: &str = "cut-secret";
/// The fake's answer to the first send; Meta's echo of a send carries the same id.
const MID: &str = "aWdfZAG1fc2VudF8x";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn aws_cut_right_after_meta_took_a_send_leaves_it_sent_once() {
    let Some(aws) = local_aws().await else { return };
    let table = aws.fresh_table().await;
    let (queue_url, _) = aws.fresh_queue().await;
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL").unwrap()).await;
    let graph = FakeGraph::start().await;
    // A worker's claim lasts 2 s, so the redelivery can take the job soon after the outage.
    let mut vars = vec![("META_APP_SECRET", SECRET.to_owned()), ("JOB_LEASE_SECS", "2".to_owned())];
    vars.extend(graph.env());
    let config =
        Config::from_lookup(AppEnv::Production, |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    let dynamodb = aws_sdk_dynamodb::config::Builder::from(&aws.sdk).endpoint_url(&proxy.url).build();
    let store = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(dynamodb), &table));
    let adapters = inbox_shared::runtime::Adapters {
        graph: Arc::new(HttpGraphApi::from_config(&config)),
        store: store.clone(),
        queue: Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(&aws.sdk), &queue_url)),
        cipher: Arc::new(StaticKeyCipher::ephemeral()),
        clock: Arc::new(SystemClock),
        jitter: Arc::new(ThreadRngJitter),
        media: None,
    };
    let services = inbox_shared::runtime::services_on(config, adapters.clone());
    let url = serve_webhook(&services).await;
    seed::connect_account(&adapters, ORG, "acc_cut", IG_ACCOUNT, PAGE_ID, TokenKind::Page, "EAAB-cut", None).await;
    graph.world().page(PAGE_ID, "EAAB-cut");
    graph.world().know(CUSTOMER, Object::InstagramUser);
    let conversation = seed::conversation_with_inbound(&adapters, ORG, "acc_cut", "conv_cut", CUSTOMER, "hi").await;
    let agent = Caller { organization_id: ORG.into(), subject: Some("agent".into()), admin: false };
    let accepted = services.outbound.send_text(&agent, &conversation.id, "On its way", None).await.unwrap();

    // Meta takes the send, answers 300 ms later, and echoes it 3 s later.
    let now = chrono::Utc::now().timestamp_millis();
    let echo = json!({"object":"instagram","entry":[{"id":IG_ACCOUNT,"time":now,"messaging":[{"sender":{"id":IG_ACCOUNT},
        "recipient":{"id":CUSTOMER},"timestamp":now,"message":{"mid":MID,"text":"On its way","is_echo":true}}]}]});
    *graph.state.echo_after.lock().unwrap() = Some((url, echo.to_string(), SECRET.to_owned(), Duration::from_secs(3)));
    *graph.state.answer_delay.lock().unwrap() = Some(Duration::from_millis(300));
    let send = QueueMessage::send(ORG, &accepted.job_id);
    let worker = tokio::spawn({
        let (services, send) = (services.clone(), send.clone());
        async move { services.process(&send).await }
    });
    let sends = || graph.calls().into_iter().filter(|c| c.path.ends_with("/messages")).count();
    while sends() == 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // AWS goes away while Meta answers: the bookkeeping after the answer meets the outage.
    proxy.cut(Duration::from_millis(2500));
    let first = worker.await.unwrap();
    eprintln!("the worker that met the outage: {first:?}");

    // The queue delivers the message again (SQS would, after its visibility timeout).
    let started = Instant::now();
    let job = loop {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // The echo's webhook may have been queued (a slow moto overruns the acknowledgement
        // budget): the processor takes it too.
        work_queued_webhooks(&services, &aws.sdk, &queue_url).await;
        let outcome = services.process(&send).await;
        eprintln!("{:?} redelivered: {outcome:?}", started.elapsed());
        let job = store.get_job(ORG, &accepted.job_id).await.ok().flatten();
        if job.as_ref().is_some_and(|j| j.last_error.is_none() && j.next_attempt_at.is_none())
            || started.elapsed() > Duration::from_secs(30)
        {
            break job.expect("the job");
        }
    };
    assert_eq!(serde_json::to_value(&job).unwrap()["status"], "SUCCEEDED", "{job:?}");
    assert_eq!(sends(), 1, "the customer got one copy");
    let page = store.list_messages(ORG, &conversation.id, &PageRequest::first(10)).await.unwrap();
    let ours: Vec<_> = page.data.iter().filter(|m| m.direction == inbox_shared::domain::Direction::Outbound).collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!(
        (ours[0].id.as_str(), ours[0].external_message_id.as_deref()),
        (accepted.message_id.as_str(), Some(MID))
    );
    assert_eq!(serde_json::to_value(ours[0]).unwrap()["status"], "SENT");
}

/// Processes the webhook items the queue holds now, as the job processor would.
async fn work_queued_webhooks(
    services: &inbox_shared::services::Services,
    sdk: &aws_config::SdkConfig,
    queue_url: &str,
) {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let out = sqs.receive_message().queue_url(queue_url).max_number_of_messages(10).send().await.unwrap();
    for m in out.messages.unwrap_or_default() {
        let message: QueueMessage = serde_json::from_str(m.body().unwrap()).unwrap();
        if message.job_type() == inbox_shared::domain::JobType::ProcessWebhook {
            services.process(&message).await.unwrap();
            sqs.delete_message().queue_url(queue_url).receipt_handle(m.receipt_handle().unwrap()).send().await.unwrap();
        }
    }
}
