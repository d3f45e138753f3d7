//! The event-relay function through the Runtime API with a DynamoDB stream batch, against the
//! local AWS-compatible server's EventBridge: the log's events reach a rule's target, the
//! table's other changes do not, and a bus that takes nothing has every event retried.

use aws_sdk_eventbridge::types::Target;
use inbox_shared::testing::local_aws::*;
use inbox_shared::testing::runtime_api::{event, invoke};
use serde_json::{Value, json};

/// A bus with a rule sending the inbox's events to a fresh queue: (bus name, queue URL).
async fn bus_to_queue(aws: &LocalAws) -> (String, String) {
    let eventbridge = aws_sdk_eventbridge::Client::new(&aws.sdk);
    let name = format!("inbox-events-{}", std::process::id());
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

#[tokio::test]
async fn the_logs_events_reach_the_bus_and_the_tables_other_changes_do_not() {
    let Some(rig) = FunctionRig::start().await else { return };
    let (bus, queue) = bus_to_queue(&rig.aws).await;
    let mut env = rig.env();
    env.push(("EVENT_BUS_NAME".into(), bus));
    let run = invoke(env!("CARGO_BIN_EXE_event-relay"), &env, &[event("event-relay/stream-batch.json")]).await;
    assert_eq!(run.invocations[0].response(), &json!({"batchItemFailures": []}));
    let delivered = received(&rig.aws, &queue).await;
    let mut seen: Vec<(&str, &str)> =
        delivered.iter().map(|e| (e["detail-type"].as_str().unwrap(), e["detail"]["id"].as_str().unwrap())).collect();
    seen.sort();
    assert_eq!(
        seen,
        [("conversation.updated", "evt_events_conversation"), ("message.created", "evt_events_created")],
        "the two logged events, not the guard nor the conversation's own change"
    );
    assert_eq!(delivered[0]["source"], "unified-inbox");
    assert_eq!(delivered[0]["detail"]["organizationId"], EVENTS_ORG);

    // A bus that does not exist takes nothing: both events' records come back to be retried.
    let mut env = rig.env();
    env.push(("EVENT_BUS_NAME".into(), "no-such-bus".into()));
    let run = invoke(env!("CARGO_BIN_EXE_event-relay"), &env, &[event("event-relay/stream-batch.json")]).await;
    assert_eq!(
        run.invocations[0].response(),
        &json!({"batchItemFailures": [{"itemIdentifier": "100"}, {"itemIdentifier": "103"}]})
    );
}
