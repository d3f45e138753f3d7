//! The event-relay function through the Runtime API with a DynamoDB stream batch, against the
//! local AWS-compatible server's DynamoDB and EventBridge: what the batch's writes tell is
//! logged once and reaches a rule's target, the table's other writes tell nothing, a batch
//! delivered again logs nothing twice, and a log or a bus that takes nothing has those
//! records retried.

use aws_sdk_eventbridge::types::Target;
use inbox_shared::testing::local_aws::*;
use inbox_shared::testing::runtime_api::{event, invoke};
use serde_json::{Value, json};

/// A bus with a rule sending the inbox's events to a fresh queue: (bus name, queue URL).
async fn bus_to_queue(aws: &LocalAws) -> (String, String) {
    let eventbridge = aws_sdk_eventbridge::Client::new(&aws.sdk);
    let name = inbox_shared::domain::new_id("inbox-events");
    eventbridge.create_event_bus().name(&name).send().await.unwrap();
    let (queue, _) = aws.fresh_queue().await;
    let arn = aws.queue_arn(&queue).await;
    let pattern = json!({"source": [inbox_shared::adapters::eventbridge::SOURCE]}).to_string();
    eventbridge.put_rule().name("inbox-to-queue").event_bus_name(&name).event_pattern(pattern).send().await.unwrap();
    let target = Target::builder().id("queue").arn(arn).build().unwrap();
    eventbridge.put_targets().rule("inbox-to-queue").event_bus_name(&name).targets(target).send().await.unwrap();
    (name, queue)
}

async fn received(aws: &LocalAws, queue: &str) -> Vec<Value> {
    let sqs = aws_sdk_sqs::Client::new(&aws.sdk);
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let out = sqs.receive_message().queue_url(queue).max_number_of_messages(10).wait_time_seconds(1).send().await;
        bodies.extend(out.unwrap().messages.unwrap_or_default().into_iter().filter_map(|m| m.body));
    }
    bodies.iter().map(|b| serde_json::from_str(b).unwrap()).collect()
}

/// The organization's log in the rig's table: (type, event id) in log order.
async fn logged(rig: &FunctionRig) -> Vec<(String, String)> {
    let log = rig.adapters.store.events_after(EVENTS_ORG, None, 100, chrono::Utc::now()).await.unwrap();
    log.into_iter().map(|l| (l.event.kind.as_str().to_owned(), l.event.id)).collect()
}

#[tokio::test]
async fn what_the_writes_tell_is_logged_once_and_reaches_the_bus() {
    let Some(rig) = FunctionRig::start().await else { return };
    let (bus, queue) = bus_to_queue(&rig.aws).await;
    let mut env = rig.env();
    env.push(("EVENT_BUS_NAME".into(), bus));
    // The table holds what the batch tells of: the relay logs events only of stored records.
    rig.store_images_of(&event("event-relay/stream-batch.json")).await;
    let run = invoke(env!("CARGO_BIN_EXE_event-relay"), &env, &[event("event-relay/stream-batch.json")]).await;
    assert_eq!(run.invocations[0].response(), &json!({"batchItemFailures": []}));
    let log = logged(&rig).await;
    let kinds: Vec<&str> = log.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["message.created", "message.updated"], "the stored DM and its read; nothing else: {log:?}");
    let delivered = received(&rig.aws, &queue).await;
    let mut seen: Vec<(&str, &str)> =
        delivered.iter().map(|e| (e["detail-type"].as_str().unwrap(), e["detail"]["id"].as_str().unwrap())).collect();
    seen.sort();
    let mut expected: Vec<(&str, &str)> = log.iter().map(|(k, id)| (k.as_str(), id.as_str())).collect();
    expected.sort();
    assert_eq!(seen, expected, "the bus got what the log holds");
    let read = delivered.iter().find(|e| e["detail-type"] == "message.updated").unwrap();
    assert_eq!(read["source"], "unified-inbox");
    assert_eq!(
        (read["detail"]["organizationId"].as_str(), read["detail"]["messageId"].as_str()),
        (Some(EVENTS_ORG), Some("msg_events"))
    );
    assert_eq!(read["detail"]["data"]["status"], "READ");

    // Lambda delivers the batch again (a retry): the log keeps each event once; the bus gets
    // them again, with the same ids for consumers to de-duplicate.
    let again = invoke(env!("CARGO_BIN_EXE_event-relay"), &env, &[event("event-relay/stream-batch.json")]).await;
    assert_eq!(again.invocations[0].response(), &json!({"batchItemFailures": []}));
    assert_eq!(logged(&rig).await, log, "nothing logged twice");
    let redelivered = received(&rig.aws, &queue).await;
    let mut ids: Vec<&str> = redelivered.iter().map(|e| e["detail"]["id"].as_str().unwrap()).collect();
    ids.sort();
    let mut expected_ids: Vec<&str> = expected.iter().map(|(_, id)| *id).collect();
    expected_ids.sort();
    assert_eq!(ids, expected_ids);

    // A log that cannot be written (no such table): nothing goes to the bus, and the records
    // that told something come back to be retried.
    let mut env: Vec<(String, String)> = env.into_iter().filter(|(k, _)| k != "TABLE_NAME").collect();
    env.push(("TABLE_NAME".into(), "no-such-table".into()));
    let run = invoke(env!("CARGO_BIN_EXE_event-relay"), &env, &[event("event-relay/stream-batch.json")]).await;
    assert_eq!(
        run.invocations[0].response(),
        &json!({"batchItemFailures": [{"itemIdentifier": "100"}, {"itemIdentifier": "102"}]})
    );
    assert!(received(&rig.aws, &queue).await.is_empty(), "nothing put before it was logged");

    // A bus that does not exist takes nothing: the records that told something come back.
    let mut env = rig.env();
    env.push(("EVENT_BUS_NAME".into(), "no-such-bus".into()));
    let run = invoke(env!("CARGO_BIN_EXE_event-relay"), &env, &[event("event-relay/stream-batch.json")]).await;
    assert_eq!(
        run.invocations[0].response(),
        &json!({"batchItemFailures": [{"itemIdentifier": "100"}, {"itemIdentifier": "102"}]})
    );
}

/// The batch arrives after the message it tells of was erased (the relay runs a moment after
/// the writes): nothing is logged, nothing reaches the bus, and nothing comes back.
#[tokio::test]
async fn a_batch_about_an_erased_message_tells_nothing() {
    let Some(rig) = FunctionRig::start().await else { return };
    let (bus, queue) = bus_to_queue(&rig.aws).await;
    let mut env = rig.env();
    env.push(("EVENT_BUS_NAME".into(), bus));
    let run = invoke(env!("CARGO_BIN_EXE_event-relay"), &env, &[event("event-relay/stream-batch.json")]).await;
    assert_eq!(run.invocations[0].response(), &json!({"batchItemFailures": []}));
    assert_eq!(logged(&rig).await, vec![], "no event outlives its record");
    assert!(received(&rig.aws, &queue).await.is_empty(), "nor reaches the bus");
}

/// `PublishEvents=false`: an empty `EVENT_BUS_NAME` logs the batch's events for the live
/// stream and puts nothing on any bus (not even the account's default one).
#[tokio::test]
async fn with_no_bus_the_events_are_logged_and_put_nowhere() {
    let Some(rig) = FunctionRig::start().await else { return };
    let eventbridge = aws_sdk_eventbridge::Client::new(&rig.aws.sdk);
    let (queue, _) = rig.aws.fresh_queue().await;
    let (rule, arn) = (inbox_shared::domain::new_id("inbox-default"), rig.aws.queue_arn(&queue).await);
    let pattern = json!({"source": [inbox_shared::adapters::eventbridge::SOURCE]}).to_string();
    eventbridge.put_rule().name(&rule).event_bus_name("default").event_pattern(pattern).send().await.unwrap();
    let target = Target::builder().id("queue").arn(arn).build().unwrap();
    eventbridge.put_targets().rule(&rule).event_bus_name("default").targets(target).send().await.unwrap();
    let mut env = rig.env();
    env.push(("EVENT_BUS_NAME".into(), String::new()));
    rig.store_images_of(&event("event-relay/stream-batch.json")).await;
    let run = invoke(env!("CARGO_BIN_EXE_event-relay"), &env, &[event("event-relay/stream-batch.json")]).await;
    assert_eq!(run.invocations[0].response(), &json!({"batchItemFailures": []}));
    let kinds: Vec<String> = logged(&rig).await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, ["message.created", "message.updated"], "logged for the live stream");
    assert!(received(&rig.aws, &queue).await.is_empty(), "nothing put on a bus");
    eventbridge.remove_targets().rule(&rule).event_bus_name("default").ids("queue").send().await.unwrap();
    eventbridge.delete_rule().name(&rule).event_bus_name("default").send().await.unwrap();
}
