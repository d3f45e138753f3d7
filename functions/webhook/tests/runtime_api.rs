//! The webhook function, as Lambda runs it: through the Runtime API with the sample events,
//! against DynamoDB, SQS and KMS on the local AWS-compatible server.

use inbox_shared::domain::{ConversationFilter, ConversationKind, PageRequest};
use inbox_shared::testing::local_aws::*;
use inbox_shared::testing::runtime_api::{event, http_answer, invoke};
use serde_json::json;

#[tokio::test]
async fn the_webhook_function_verifies_accepts_once_and_refuses_bad_input() {
    let Some(rig) = FunctionRig::start().await else { return };
    let adapters = &rig.adapters;
    rig.connect_events_account("EAAB-page-token").await;

    let names = [
        "webhook/verify.json",
        "webhook/verify-wrong-token.json",
        "webhook/receive-text.json",
        "webhook/receive-text.json",
        "webhook/receive-batch.json",
        "webhook/receive-reaction-react.json",
        "webhook/receive-comment.json",
        "webhook/receive-page-message.json",
        "webhook/receive-bad-signature.json",
        "webhook/receive-not-json.json",
        "inbox-api/list-conversations.json",
    ];
    let events: Vec<_> = names.iter().map(|n| event(n)).collect();
    let run = invoke(env!("CARGO_BIN_EXE_webhook"), &rig.env(), &events).await;
    let answers: Vec<_> = run.invocations.iter().map(http_answer).collect();
    assert_eq!(answers[0], (200, json!(1158201444)), "the challenge, as the raw body");
    assert_eq!(answers[1].0, 403);
    for (i, answer) in answers.iter().enumerate().take(8).skip(2) {
        assert_eq!(answer, &(200, json!({"status": "ok"})), "{}", names[i]);
    }
    assert_eq!((answers[8].0, answers[8].1["error"]["code"].as_str()), (403, Some("INVALID_SIGNATURE")));
    assert_eq!((answers[9].0, answers[9].1["error"]["code"].as_str()), (400, Some("VALIDATION_ERROR")));
    assert_eq!((answers[10].0, answers[10].1["error"]["code"].as_str()), (404, Some("NOT_FOUND")), "not its route");

    let of_kind = |kind| ConversationFilter { provider: None, kind: Some(kind) };
    let conversations = adapters
        .store
        .list_conversations(EVENTS_ORG, of_kind(ConversationKind::Dm), &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(conversations.data.len(), 2, "text + batch: two customers");
    let first = PageRequest::first(10);
    let threads = adapters.store.list_conversations(EVENTS_ORG, of_kind(ConversationKind::Comment), &first).await;
    let threads = threads.unwrap().data;
    assert_eq!(threads.len(), 1, "the comment's thread");
    assert_eq!(threads[0].comment.as_ref().unwrap().comment_id, "17865799348089039");
    // The Page's Messenger channel is not connected here: its message waits for it, kept.
    let page_kept = adapters.store.list_raw_events(&format!("messenger:{PAGE_ID}")).await.unwrap();
    assert_eq!(page_kept.len(), 1, "kept under the Page's Messenger key");
    let ana = conversations.data.iter().find(|c| c.participant_id == CUSTOMER).unwrap();
    assert_eq!(ana.unread_count, 3, "the redelivered text counted once, plus the batch's two");
    let messages = adapters.store.list_messages(EVENTS_ORG, &ana.id, &PageRequest::first(10)).await.unwrap();
    assert_eq!(messages.data.len(), 3);
    let waiting = adapters.store.pending_changes(EVENTS_ORG, "aWdfZAG1fZWNobw").await.unwrap();
    assert_eq!(waiting.len(), 1, "the reaction waits for the message it names");
    assert!(adapters.store.list_raw_events(IG_ACCOUNT).await.unwrap().is_empty());
    // Structured JSON logs carrying the request id.
    let line = run.logs.lines().find(|l| l.contains("webhook accepted")).expect("a log line per delivery");
    let log: serde_json::Value = serde_json::from_str(line).expect("JSON log line");
    assert!(log.to_string().contains("req-"), "request id in {log}");
    assert!(!run.logs.contains("EAAB-page-token"));
    // Metrics (CloudWatch Embedded Metric Format): per delivery, its items by outcome and how
    // long it took to answer.
    assert_eq!(run.metric_sum("WebhookItemsStored", &[]), 5.0, "{:?}", run.metric_lines());
    assert_eq!(run.metric_sum("WebhookItemsKeptRaw", &[]), 1.0, "the Page's message");
    assert_eq!(run.metric_sum("WebhookDuplicates", &[]), 1.0);
    assert!(run.metric_lines().iter().all(|l| l["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "UnifiedInbox/Meta"));
}

/// The template's `WebhookOnFunctionUrl` option: Meta calls the function's own URL, whose
/// events say `$default` for the route and carry nulls where the HTTP API's have values. The
/// same handler verifies, stores once and reads the sender's address from them.
#[tokio::test]
async fn the_webhook_answers_on_its_function_url_as_on_the_http_api() {
    let Some(rig) = FunctionRig::start().await else { return };
    rig.connect_events_account("EAAB-page-token").await;
    let names = ["webhook/function-url-verify.json", "webhook/function-url-receive-text.json"];
    let events = [event(names[0]), event(names[1]), event(names[1])];
    let with_cidrs = |cidrs: &str| {
        let mut env = rig.env();
        env.push(("WEBHOOK_ALLOWED_CIDRS".into(), cidrs.into()));
        env
    };
    let run = invoke(env!("CARGO_BIN_EXE_webhook"), &with_cidrs("192.0.2.0/24"), &events).await;
    let answers: Vec<_> = run.invocations.iter().map(http_answer).collect();
    assert_eq!(answers[0], (200, json!(1158201444)), "the challenge");
    assert_eq!(answers[1], (200, json!({"status": "ok"})));
    assert_eq!(answers[2], (200, json!({"status": "ok"})), "a redelivery");
    assert_eq!(run.metric_sum("WebhookItemsStored", &[]), 1.0, "{:?}", run.metric_lines());
    assert_eq!(run.metric_sum("WebhookDuplicates", &[]), 1.0);
    let first = PageRequest::first(10);
    let dms = ConversationFilter { provider: None, kind: Some(ConversationKind::Dm) };
    let conversations = rig.adapters.store.list_conversations(EVENTS_ORG, dms, &first).await.unwrap();
    assert_eq!(conversations.data.len(), 1);
    let messages = rig.adapters.store.list_messages(EVENTS_ORG, &conversations.data[0].id, &first).await.unwrap();
    assert_eq!(messages.data.len(), 1, "stored once");

    let elsewhere = invoke(env!("CARGO_BIN_EXE_webhook"), &with_cidrs("198.51.100.0/24"), &events[1..2]).await;
    let refused = http_answer(&elsewhere.invocations[0]);
    assert_eq!((refused.0, refused.1["error"]["code"].as_str()), (403, Some("FORBIDDEN")), "the sender's address read");
}

/// Production fails closed: without the app secret, or without the table and queue, the
/// function stops at start-up with a message naming what is missing.
#[test]
fn the_function_refuses_to_start_without_its_secret_or_its_storage() {
    let run = |env: &[(&str, &str)]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_webhook"))
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout)
    };
    assert!(run(&[]).contains("META_APP_SECRET is required in production"));
    assert!(run(&[("META_APP_SECRET", "s")]).contains("INSTAGRAM_VERIFY_TOKEN is required in production"));
    let secrets = [("META_APP_SECRET", "s"), ("INSTAGRAM_VERIFY_TOKEN", "v")];
    assert!(run(&secrets).contains("TABLE_NAME is required in production"));
    assert!(run(&[secrets[0], secrets[1], ("TABLE_NAME", "t")]).contains("JOBS_QUEUE_URL is required in production"));
    let both = [("META_APP_SECRET", "s"), ("META_APP_SECRET_PARAM", "/inbox/meta-app-secret")];
    assert!(run(&both).contains("set META_APP_SECRET or META_APP_SECRET_PARAM, not both"));
    assert!(run(&[("APP_ENV", "development")]).contains("cannot run in Lambda"));
    assert!(run(&[("NODE_ENV", "development")]).contains("cannot run in Lambda"));
    let static_key = [
        ("META_APP_SECRET", "s"),
        ("INSTAGRAM_VERIFY_TOKEN", "v"),
        ("TABLE_NAME", "t"),
        ("JOBS_QUEUE_URL", "http://127.0.0.1:9/q"),
        ("AWS_REGION", "us-east-1"),
        ("TOKEN_ENCRYPTION_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
    ];
    assert!(run(&static_key).contains("ALLOW_STATIC_TOKEN_KEY"), "the static key is refused in production");
}

/// The secrets come from SSM Parameter Store at cold start (`FunctionRig::env` names them
/// with `*_PARAM`; the first test above verifies and accepts with them). A parameter that
/// cannot be read stops the start, naming the variable and never a value.
#[tokio::test]
async fn a_secret_parameter_that_cannot_be_read_stops_the_start() {
    let Some(rig) = FunctionRig::start().await else { return };
    let mut env = rig.env();
    assert!(env.iter().any(|(k, _)| k == "META_APP_SECRET_PARAM") && !env.iter().any(|(k, _)| k == "META_APP_SECRET"));
    for (k, v) in env.iter_mut() {
        if k == "META_APP_SECRET_PARAM" {
            *v = "/inbox-test/no-such-parameter".into();
        }
    }
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_webhook"))
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(said.contains("META_APP_SECRET_PARAM names /inbox-test/no-such-parameter"), "{said}");
    assert!(!said.contains(EVENTS_VERIFY_TOKEN), "no secret value in the message");
}

/// Even with `RUST_LOG=trace` the runtime's own logging of whole events stays off: a DM's
/// text never reaches the logs.
#[tokio::test]
async fn trace_logging_never_prints_the_events_it_receives() {
    let Some(rig) = FunctionRig::start().await else { return };
    rig.connect_events_account("EAAB-page-token").await;
    let mut env = rig.env();
    env.retain(|(k, _)| k != "RUST_LOG");
    env.push(("RUST_LOG".into(), "trace".into()));
    let run = invoke(env!("CARGO_BIN_EXE_webhook"), &env, &[event("webhook/receive-text.json")]).await;
    assert_eq!(http_answer(&run.invocations[0]).0, 200);
    assert!(run.logs.contains("webhook accepted"), "logging is on");
    assert!(!run.logs.contains("Lisbon"), "a DM's text in the logs");
}
