//! The inbox-API function through the Runtime API with the sample events, against the
//! local AWS-compatible server (DynamoDB, SQS, KMS).

use inbox_shared::testing::local_aws::*;
use inbox_shared::testing::runtime_api::{event, http_answer, invoke};
use inbox_shared::testing::seed;
use serde_json::Value;

#[tokio::test]
async fn the_inbox_api_function_answers_every_route_family() {
    let Some(rig) = FunctionRig::start().await else { return };
    let adapters = &rig.adapters;
    rig.connect_events_account("EAAB-page-token").await;
    seed::conversation_with_inbound(
        adapters,
        EVENTS_ORG,
        EVENTS_ACCOUNT,
        EVENTS_CONVERSATION,
        CUSTOMER,
        "Do you ship?",
    )
    .await;

    let names = [
        "inbox-api/list-conversations.json",
        "inbox-api/get-conversation.json",
        "inbox-api/get-conversation-other-org.json",
        "inbox-api/list-messages.json",
        "inbox-api/mark-read.json",
        "inbox-api/send-text.json",
        "inbox-api/send-text.json",
        "inbox-api/integrations-send.json",
        "inbox-api/get-job-unknown.json",
        "inbox-api/create-lead.json",
        "inbox-api/list-leads.json",
        "inbox-api/unauthenticated.json",
        "webhook/receive-text.json",
    ];
    let events: Vec<_> = names.iter().map(|n| event(n)).collect();
    let run = invoke(env!("CARGO_BIN_EXE_inbox-api"), &rig.env(), &events).await;
    let a: Vec<(u16, Value)> = run.invocations.iter().map(http_answer).collect();
    assert_eq!(a[0].0, 200);
    assert_eq!(a[0].1["data"][0]["id"], EVENTS_CONVERSATION);
    assert_eq!(a[0].1["data"][0]["canReply"], true);
    assert_eq!((a[1].0, a[1].1["unreadCount"].as_u64()), (200, Some(1)));
    assert_eq!((a[2].0, a[2].1["error"]["code"].as_str()), (404, Some("NOT_FOUND")), "another organization");
    assert_eq!((a[3].0, a[3].1["data"][0]["text"].as_str()), (200, Some("Do you ship?")));
    assert_eq!((a[4].0, a[4].1["unreadCount"].as_u64()), (200, Some(0)));
    assert_eq!((a[5].0, a[5].1["status"].as_str()), (202, Some("QUEUED")));
    assert_eq!(a[6], a[5], "the same Idempotency-Key answers the same");
    assert_eq!(a[7].0, 202);
    assert_eq!(a[8].0, 404);
    assert_eq!((a[9].0, a[9].1["instagramHandle"].as_str()), (201, Some("ana.silva")));
    assert_eq!(a[10].1["data"].as_array().map(Vec::len), Some(1));
    assert_eq!((a[11].0, a[11].1["error"]["code"].as_str()), (401, Some("UNAUTHORIZED")));
    assert_eq!((a[12].0, a[12].1["error"]["code"].as_str()), (404, Some("NOT_FOUND")), "not this function's route");

    // Two sends queued on SQS (the repeated one only once), and the seen mark the read asked.
    let sqs = aws_sdk_sqs::Client::new(&rig.aws.sdk);
    let mut bodies = Vec::new();
    for _ in 0..5 {
        let out = sqs
            .receive_message()
            .queue_url(&rig.queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_attribute_names("correlationId")
            .send()
            .await
            .unwrap();
        for m in out.messages.unwrap_or_default() {
            let correlation = m.message_attributes().and_then(|a| a.get("correlationId")?.string_value.clone());
            bodies.push((m.body.unwrap_or_default(), correlation.unwrap_or_default()));
        }
        if bodies.len() >= 3 {
            break;
        }
    }
    let (seen, sends): (Vec<_>, Vec<_>) = bodies.iter().cloned().partition(|(b, _)| b.contains("SENDER_ACTION"));
    assert_eq!(seen.len(), 1, "{bodies:?}");
    assert!(seen[0].0.contains("MARK_SEEN") && seen[0].1.starts_with("req-4-"), "{seen:?}");
    let bodies = sends;
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    let first: Value = serde_json::from_str(&bodies[0].0).unwrap();
    // Each carries the id of the request that queued it (send-text is event 5, the
    // integrations send event 7).
    let mut correlations: Vec<String> =
        bodies.iter().map(|(_, c)| c.splitn(3, '-').take(2).collect::<Vec<_>>().join("-")).collect();
    correlations.sort();
    assert_eq!(correlations, ["req-5", "req-7"], "{bodies:?}");
    assert_eq!((first["jobType"].as_str(), first["organizationId"].as_str()), (Some("SEND_MESSAGE"), Some(EVENTS_ORG)));
}
