//! The job-processor function through the Runtime API with an SQS batch, against the local
//! AWS-compatible server and a fake Graph API.

use inbox_shared::domain::{JobStatus, MessageStatus};
use inbox_shared::testing::fake_graph::Object;
use inbox_shared::testing::local_aws::*;
use inbox_shared::testing::runtime_api::{event, invoke};
use inbox_shared::testing::seed;
use serde_json::json;

#[tokio::test]
async fn the_job_processor_sends_and_reports_only_the_failed_records() {
    let Some(rig) = FunctionRig::start().await else { return };
    let (adapters, graph) = (&rig.adapters, &rig.graph);
    rig.connect_events_account("EAAB-page-token").await;
    let conversation =
        seed::conversation_with_inbound(adapters, EVENTS_ORG, EVENTS_ACCOUNT, EVENTS_CONVERSATION, CUSTOMER, "hi")
            .await;
    graph.world().know(CUSTOMER, Object::InstagramUser); // Meta delivered that DM
    let (message, _) = seed::queued_reply(adapters, &conversation, EVENTS_JOB, "Yes, we ship!").await;

    // The same batch twice: the second delivery must not send again.
    let mut batch = event("job-processor/sqs-batch.json");
    // The send was queued by an API request: its id travels as the correlation id.
    batch["Records"][0]["messageAttributes"] =
        json!({"correlationId": {"stringValue": "req-from-the-inbox-api", "dataType": "String"}});
    let run = invoke(env!("CARGO_BIN_EXE_job-processor"), &rig.env(), &[batch.clone(), batch]).await;
    for invocation in &run.invocations {
        assert_eq!(
            invocation.response(),
            &json!({"batchItemFailures": [{"itemIdentifier": "sqs-msg-unreadable"}]}),
            "only the unreadable record is delivered again"
        );
    }
    let sends: Vec<_> = graph.calls().into_iter().filter(|c| c.path.ends_with("/messages")).collect();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].path, format!("/{}/{PAGE_ID}/messages", inbox_shared::config::DEFAULT_GRAPH_API_VERSION));
    assert_eq!(sends[0].authorization.as_deref(), Some("Bearer EAAB-page-token"), "decrypted through KMS");
    assert_eq!(
        sends[0].body,
        json!({"recipient": {"id": CUSTOMER}, "message": {"text": "Yes, we ship!"}, "messaging_type": "RESPONSE"})
    );
    let job = adapters.store.get_job(EVENTS_ORG, EVENTS_JOB).await.unwrap().unwrap();
    assert_eq!((job.status, job.attempts), (JobStatus::Succeeded, 1));
    let sent = adapters.store.get_message(EVENTS_ORG, &message.id).await.unwrap().unwrap();
    assert_eq!((sent.status, sent.external_message_id.as_deref()), (MessageStatus::Sent, Some("aWdfZAG1fc2VudF8x")));
    assert!(!run.logs.contains("EAAB-page-token"), "tokens never logged");
    let handled: Vec<&str> = run.logs.lines().filter(|l| l.contains("job message handled")).collect();
    assert_eq!(handled.len(), 2, "the send, then the same send skipped: {handled:?}");
    assert!(
        handled.iter().all(|l| l.contains("sqs-msg-job") && l.contains("req-from-the-inbox-api")),
        "the send logs the request that queued it: {handled:?}"
    );
    // Metrics (CloudWatch Embedded Metric Format): one send succeeded, the second delivery
    // was skipped, the unreadable record delivered again; how old the batch was.
    assert_eq!(run.metric_sum("JobsHandled", &[("JobType", "SendMessage"), ("Outcome", "Succeeded")]), 1.0);
    assert_eq!(run.metric_sum("JobsHandled", &[("Outcome", "Skipped")]), 1.0);
    assert!(run.metric_sum("QueueAge", &[]) > 0.0, "{:?}", run.metric_lines());
}

#[tokio::test]
async fn the_job_processor_copies_a_message_s_media_into_the_bucket() {
    let Some(rig) = FunctionRig::start().await else { return };
    let adapters = &rig.adapters;
    let cdn = inbox_shared::testing::fake_cdn::FakeCdn::start().await;
    let photo = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00a parcel";
    let conversation =
        seed::conversation_with_inbound(adapters, EVENTS_ORG, EVENTS_ACCOUNT, EVENTS_CONVERSATION, CUSTOMER, "hi")
            .await;
    // The message the event names, with a photo on Meta's CDN.
    let now = chrono::Utc::now();
    let message = inbox_shared::domain::Message {
        id: "msg_events_media".into(),
        attachments: vec![json!({"type": "image", "payload": {"url": cdn.put("p.jpg", photo, "image/jpeg")}})],
        text: None,
        ..seed::inbound_message(&conversation, "mid-events-media", "", now)
    };
    let activity = inbox_shared::domain::Activity::live(inbox_shared::domain::Direction::Inbound, now, None, now);
    adapters.store.append_message(&conversation, &message, &activity).await.unwrap();

    let batch = event("job-processor/sqs-copy-media.json");
    let run = invoke(env!("CARGO_BIN_EXE_job-processor"), &rig.env(), &[batch.clone(), batch]).await;
    for invocation in &run.invocations {
        assert_eq!(invocation.response(), &json!({"batchItemFailures": []}));
    }
    let stored = adapters.store.get_message(EVENTS_ORG, &message.id).await.unwrap().unwrap();
    let key = stored.attachments[0]["payload"]["storedKey"].as_str().expect("the copy is recorded").to_owned();
    let media = adapters.media.as_deref().expect("MEDIA_BUCKET names the bucket");
    assert_eq!(media.list(&key).await.unwrap(), std::slice::from_ref(&key), "kept in the bucket");
    assert_eq!(cdn.hits("p.jpg"), 1, "the second delivery fetches nothing");
    assert_eq!(run.metric_sum("JobsHandled", &[("JobType", "CopyMedia"), ("Outcome", "Succeeded")]), 1.0);
    assert_eq!(run.metric_sum("JobsHandled", &[("JobType", "CopyMedia"), ("Outcome", "Skipped")]), 1.0);
}

/// Typing and a seen mark that waited on the queue far longer than 5 s: acknowledged and
/// dropped, Meta never told (a customer would see an agent typing long after they stopped).
#[tokio::test]
async fn the_job_processor_drops_late_typing_and_seen_marks() {
    let Some(rig) = FunctionRig::start().await else { return };
    let (adapters, graph) = (&rig.adapters, &rig.graph);
    seed::conversation_with_inbound(adapters, EVENTS_ORG, EVENTS_ACCOUNT, EVENTS_CONVERSATION, CUSTOMER, "hi").await;
    graph.world().know(CUSTOMER, Object::InstagramUser);
    let run =
        invoke(env!("CARGO_BIN_EXE_job-processor"), &rig.env(), &[event("job-processor/sqs-sender-actions.json")])
            .await;
    assert_eq!(run.invocations[0].response(), &json!({"batchItemFailures": []}));
    assert!(graph.calls().iter().all(|c| !c.path.ends_with("/messages")), "{:?}", graph.calls());
    assert_eq!(run.metric_sum("JobsHandled", &[("JobType", "SenderAction"), ("Outcome", "Skipped")]), 2.0);
}
