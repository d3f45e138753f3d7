//! Outbound: replies queued over HTTP, sent by the job processor to a fake Graph API.

use crate::common::*;
use chrono::Duration;
use inbox_shared::domain::AccountStatus;
use inbox_shared::error::ErrorCode;
use inbox_shared::fixtures;
use inbox_shared::ports::QueueMessage;
use inbox_shared::services::JobOutcome;
use serde_json::{Value, json};

const ORG: &str = "org_a";
const TOKEN: &str = "EAAB-page-token-secret";

/// Production app with a connected account (encrypted token) and one inbound conversation.
async fn connected() -> (TestApp, String) {
    let app = TestApp::prod().await;
    app.connect_account(ORG, "acc_a", IG_ACCOUNT, TOKEN).await;
    assert_eq!(app.deliver(&fixtures::webhook("text.json")).await.status(), 200);
    app.run_jobs().await; // the new customer's profile lookup
    app.graph.state.calls.lock().unwrap().clear();
    let id = app.conversations(ORG).await[0]["id"].as_str().unwrap().to_owned();
    (app, id)
}

async fn send(app: &TestApp, conversation: &str, text: &str) -> (u16, Value) {
    app.post(ORG, &format!("/api/inbox/conversations/{conversation}/send-text"), json!({ "text": text })).await
}

async fn job(app: &TestApp, id: &str) -> Value {
    let (status, job) = app.get(ORG, &format!("/api/integrations/jobs/{id}")).await;
    assert_eq!(status, 200, "{job}");
    job
}

async fn message(app: &TestApp, conversation: &str, id: &str) -> Value {
    app.messages(ORG, conversation).await.into_iter().find(|m| m["id"] == id).expect("message listed")
}

fn sends(app: &TestApp) -> Vec<GraphCall> {
    app.graph.calls().into_iter().filter(|c| c.path.ends_with("/messages")).collect()
}

#[tokio::test]
async fn a_reply_reaches_the_graph_api_and_ends_sent() {
    let (app, conv) = connected().await;
    let (status, accepted) = send(&app, &conv, "We do! Shipping takes 3 days.").await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["status"], "QUEUED");
    let (message_id, job_id) = (accepted["messageId"].as_str().unwrap(), accepted["jobId"].as_str().unwrap());
    let queued = message(&app, &conv, message_id).await;
    assert_eq!((queued["status"].as_str(), queued["direction"].as_str()), (Some("QUEUED"), Some("OUTBOUND")));
    let j = job(&app, job_id).await;
    assert_eq!(
        (j["status"].as_str(), j["jobType"].as_str(), j["provider"].as_str()),
        (Some("PENDING"), Some("SEND_MESSAGE"), Some("INSTAGRAM"))
    );
    assert_eq!(j["payloadJson"]["conversationId"], conv.as_str());
    assert_eq!(j["payloadJson"]["recipientId"], CUSTOMER);
    assert_eq!(j["payloadJson"]["threadId"], CUSTOMER);
    assert_eq!(j["payloadJson"]["text"], "We do! Shipping takes 3 days.");

    let ran = app.run_jobs().await;
    assert_eq!(ran.iter().map(|(_, o)| o.clone()).collect::<Vec<_>>(), [JobOutcome::Succeeded]);
    let calls = sends(&app);
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0].method.as_str(), calls[0].path.as_str()), ("POST", "/v21.0/112233445566778/messages"));
    assert_eq!(calls[0].authorization.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
    assert_eq!(
        calls[0].body,
        json!({"recipient": {"id": CUSTOMER}, "message": {"text": "We do! Shipping takes 3 days."},
               "messaging_type": "RESPONSE"})
    );

    let sent = message(&app, &conv, message_id).await;
    assert_eq!(sent["status"], "SENT");
    assert_eq!(sent["externalMessageId"], "aWdfZAG1fc2VudF8x");
    let j = job(&app, job_id).await;
    assert_eq!((j["status"].as_str(), j["attempts"].as_u64()), (Some("SUCCEEDED"), Some(1)));
    let (_, c) = app.get(ORG, &format!("/api/inbox/conversations/{conv}")).await;
    assert_eq!(c["lastMessageDirection"], "OUTBOUND");
    assert_eq!(c["previewText"], "We do! Shipping takes 3 days.");
    assert_eq!(c["lastOutboundAt"], serde_json::to_value(app.clock_now()).unwrap());
    assert_eq!(c["slaStatus"], "NONE", "answered");
    let everything = format!("{accepted}{j}{c}{}", json!(app.messages(ORG, &conv).await));
    assert!(!everything.contains(TOKEN), "the token never appears in an API answer");
}

#[tokio::test]
async fn throttling_and_transient_errors_are_retried_with_exponential_backoff_until_sent() {
    let (app, conv) = connected().await;
    app.graph.answer(429, &[], "");
    app.graph.answer(400, &[], &fixtures::graph("error_app_rate_limit.json"));
    app.graph.answer(400, &[], &fixtures::graph("error_custom_rate_limit.json"));
    app.graph.answer(400, &[], &fixtures::graph("error_ig_buc_rate_limit.json"));
    let (_, accepted) = send(&app, &conv, "hello").await;
    let start = app.clock_now();
    let ran = app.run_jobs().await;
    // base 2000 ms doubling per attempt, equal jitter at 0.25: 62.5 % of 2, 4, 8, 16 s.
    let expected_delays = [1250, 2500, 5000, 10000];
    let outcomes: Vec<_> = ran.iter().map(|(_, o)| o.clone()).collect();
    let mut expected: Vec<_> =
        expected_delays.iter().map(|ms| JobOutcome::Retrying { delay: Duration::milliseconds(*ms) }).collect();
    expected.push(JobOutcome::Succeeded);
    assert_eq!(outcomes, expected);
    let mut at = start;
    for (i, ms) in expected_delays.iter().enumerate() {
        at += Duration::milliseconds(*ms);
        assert_eq!(ran[i + 1].0, at, "attempt {} ran when its backoff ended", i + 2);
    }
    assert_eq!(sends(&app).len(), 5);
    let j = job(&app, accepted["jobId"].as_str().unwrap()).await;
    assert_eq!((j["status"].as_str(), j["attempts"].as_u64()), (Some("SUCCEEDED"), Some(5)));
    assert_eq!(message(&app, &conv, accepted["messageId"].as_str().unwrap()).await["status"], "SENT");
}

#[tokio::test]
async fn a_waiting_job_shows_pending_with_its_next_attempt_and_last_error() {
    let (app, conv) = connected().await;
    // Meta's refusal (a 4xx): nothing was sent, so the retry waits only for its backoff.
    app.graph.answer(400, &[], &fixtures::graph("error_app_rate_limit.json"));
    let (_, accepted) = send(&app, &conv, "hello").await;
    let due = app.queue.take_due();
    assert_eq!(
        app.services.process(&due[0]).await.unwrap(),
        JobOutcome::Retrying { delay: Duration::milliseconds(1250) }
    );
    let j = job(&app, accepted["jobId"].as_str().unwrap()).await;
    assert_eq!(j["status"], "PENDING");
    assert_eq!(j["attempts"], 1);
    assert_eq!(j["nextAttemptAt"], serde_json::to_value(app.clock_now() + Duration::milliseconds(1250)).unwrap());
    assert_eq!(j["lastError"]["code"], "RATE_LIMITED");
    assert_eq!(message(&app, &conv, accepted["messageId"].as_str().unwrap()).await["status"], "QUEUED");
}

#[tokio::test]
async fn metas_estimated_time_to_regain_access_sets_the_delay() {
    let (app, conv) = connected().await;
    let usage = fixtures::graph("usage_header_x_business_use_case_usage.json").replace(['\n', ' '], "");
    app.graph.answer(400, &[("x-business-use-case-usage", &usage)], &fixtures::graph("error_ig_buc_rate_limit.json"));
    send(&app, &conv, "hello").await;
    let ran = app.run_jobs().await;
    assert_eq!(ran[0].1, JobOutcome::Retrying { delay: Duration::minutes(3) });
    assert_eq!(ran[1].1, JobOutcome::Succeeded);
}

#[tokio::test]
async fn throttling_past_the_retry_budget_fails_rate_limited() {
    let (app, conv) = connected().await;
    for _ in 0..12 {
        app.graph.answer(400, &[], &fixtures::graph("error_custom_rate_limit.json"));
    }
    let (_, accepted) = send(&app, &conv, "hello").await;
    let ran = app.run_jobs().await;
    assert_eq!(ran.last().unwrap().1, JobOutcome::Failed(ErrorCode::RateLimited));
    assert_eq!(sends(&app).len(), 12, "JOB_MAX_ATTEMPTS defaults to 12");
    let j = job(&app, accepted["jobId"].as_str().unwrap()).await;
    assert_eq!((j["status"].as_str(), j["lastError"]["code"].as_str()), (Some("FAILED"), Some("RATE_LIMITED")));
    let m = message(&app, &conv, accepted["messageId"].as_str().unwrap()).await;
    assert_eq!((m["status"].as_str(), m["errorCode"].as_str()), (Some("FAILED"), Some("RATE_LIMITED")));
}

#[tokio::test]
async fn permanent_errors_fail_at_the_first_attempt_with_their_stable_code() {
    for (fixture, code) in [
        ("error_outside_window.json", "MESSAGING_WINDOW_CLOSED"),
        ("error_user_unavailable.json", "RECIPIENT_UNAVAILABLE"),
        ("error_no_matching_user.json", "RECIPIENT_UNAVAILABLE"),
        ("error_messaging_disabled.json", "INSTAGRAM_MESSAGING_NOT_SUPPORTED"),
    ] {
        let (app, conv) = connected().await;
        app.graph.answer(400, &[], &fixtures::graph(fixture));
        let (_, accepted) = send(&app, &conv, "hello").await;
        let ran = app.run_jobs().await;
        assert_eq!(ran.len(), 1, "{fixture}");
        let j = job(&app, accepted["jobId"].as_str().unwrap()).await;
        assert_eq!(
            (j["status"].as_str(), j["attempts"].as_u64(), j["lastError"]["code"].as_str()),
            (Some("FAILED"), Some(1), Some(code))
        );
        let m = message(&app, &conv, accepted["messageId"].as_str().unwrap()).await;
        assert_eq!((m["status"].as_str(), m["errorCode"].as_str()), (Some("FAILED"), Some(code)), "{fixture}");
        assert_eq!(app.store.get_account(ORG, "acc_a").await.unwrap().unwrap().status, AccountStatus::Active);
    }
}

#[tokio::test]
async fn an_invalid_token_flags_the_account_and_later_sends_fail_fast() {
    let (app, conv) = connected().await;
    app.graph.answer(400, &[], &fixtures::graph("error_token_expired.json"));
    let (_, accepted) = send(&app, &conv, "hello").await;
    app.run_jobs().await;
    let j = job(&app, accepted["jobId"].as_str().unwrap()).await;
    assert_eq!(
        (j["status"].as_str(), j["lastError"]["code"].as_str()),
        (Some("FAILED"), Some("ACCOUNT_REAUTH_REQUIRED"))
    );
    assert_eq!(app.store.get_account(ORG, "acc_a").await.unwrap().unwrap().status, AccountStatus::ReauthRequired);
    let (_, c) = app.get(ORG, &format!("/api/inbox/conversations/{conv}")).await;
    assert_eq!(c["canReply"], false);
    let (status, body) = send(&app, &conv, "again").await;
    assert_eq!((status, error_code(&body)), (422, "ACCOUNT_REAUTH_REQUIRED"));
    // Inbound still flows while the account waits for its owner.
    assert_eq!(
        app.deliver(&text_webhook(IG_ACCOUNT, CUSTOMER, "after-190", "still there?", 1732460030000)).await.status(),
        200
    );
    assert_eq!(app.conversations(ORG).await[0]["previewText"], "still there?");
    assert_eq!(sends(&app).len(), 1);
}

#[tokio::test]
async fn bad_send_requests_get_clear_errors() {
    let (app, conv) = connected().await;
    let path = format!("/api/inbox/conversations/{conv}/send-text");
    for (body, code) in [
        (json!({"text": ""}), "VALIDATION_ERROR"),
        (json!({"text": "   "}), "VALIDATION_ERROR"),
        (json!({"text": "€".repeat(334)}), "VALIDATION_ERROR"), // 1002 bytes
        (json!({}), "VALIDATION_ERROR"),
        (json!({"text": 5}), "VALIDATION_ERROR"),
        (json!({"text": "hi", "extra": 1}), "VALIDATION_ERROR"),
    ] {
        let (status, answer) = app.post(ORG, &path, body.clone()).await;
        assert_eq!((status, error_code(&answer)), (400, code), "{body}");
    }
    let (status, _) = app.post(ORG, &path, json!({"text": "a".repeat(1000)})).await;
    assert_eq!(status, 202, "exactly 1000 bytes is allowed");
    let (status, answer) = app.post("org_b", &path, json!({"text": "hi"})).await;
    assert_eq!((status, error_code(&answer)), (404, "NOT_FOUND"));
    let (status, _) = app.post(ORG, "/api/inbox/conversations/conv_nope/send-text", json!({"text": "hi"})).await;
    assert_eq!(status, 404);
    let (status, answer) = app.post(ORG, "/api/integrations/instagram/send", json!({"text": "hi"})).await;
    assert_eq!((status, error_code(&answer)), (400, "VALIDATION_ERROR"));
    let (status, answer) =
        app.post("org_b", "/api/integrations/instagram/send", json!({"conversationId": conv, "text": "hi"})).await;
    assert_eq!((status, error_code(&answer)), (404, "NOT_FOUND"));
    app.clock.advance(Duration::hours(25));
    let (status, answer) = app.post(ORG, &path, json!({"text": "too late"})).await;
    assert_eq!((status, error_code(&answer)), (422, "MESSAGING_WINDOW_CLOSED"));
}

#[tokio::test]
async fn the_integrations_send_route_is_the_same_send() {
    let (app, conv) = connected().await;
    let (status, accepted) = app
        .post(ORG, "/api/integrations/instagram/send", json!({"conversationId": conv, "text": "via integrations"}))
        .await;
    assert_eq!(status, 202, "{accepted}");
    app.run_jobs().await;
    assert_eq!(message(&app, &conv, accepted["messageId"].as_str().unwrap()).await["status"], "SENT");
    assert_eq!(sends(&app)[0].body["message"]["text"], "via integrations");
}

#[tokio::test]
async fn an_idempotency_key_returns_the_first_answer_and_sends_once() {
    let (app, conv) = connected().await;
    let post = |key: &'static str, org: &'static str, text: &'static str| {
        let url = format!("{}/api/inbox/conversations/{conv}/send-text", app.url);
        let client = app.client.clone();
        async move {
            let r = client
                .post(url)
                .bearer_auth(TestApp::token(org))
                .header("idempotency-key", key)
                .json(&json!({"text": text}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let first = post("key-1", ORG, "once").await;
    let again = post("key-1", ORG, "once").await;
    assert_eq!(first.0, 202);
    assert_eq!(first, again);
    let other = post("key-1", ORG, "something else").await;
    assert_eq!((other.0, error_code(&other.1)), (409, "CONFLICT"));
    let other_org = post("key-1", "org_b", "once").await;
    assert_eq!(other_org.0, 404, "keys are per organization; org_b cannot see the conversation");
    app.run_jobs().await;
    assert_eq!(sends(&app).len(), 1);
    assert_eq!(app.messages(ORG, &conv).await.iter().filter(|m| m["direction"] == "OUTBOUND").count(), 1);
}

#[tokio::test]
async fn a_job_delivered_again_after_success_is_not_sent_twice() {
    let (app, conv) = connected().await;
    let (_, accepted) = send(&app, &conv, "hello").await;
    app.run_jobs().await;
    let again = QueueMessage::send(ORG, accepted["jobId"].as_str().unwrap());
    assert_eq!(app.services.process(&again).await.unwrap(), JobOutcome::Skipped);
    assert_eq!(sends(&app).len(), 1);
    // Another organization naming the job is not given it either.
    let foreign = QueueMessage::send("org_b", accepted["jobId"].as_str().unwrap());
    assert_eq!(app.services.process(&foreign).await.unwrap(), JobOutcome::Skipped);
    let (status, _) =
        app.get("org_b", &format!("/api/integrations/jobs/{}", accepted["jobId"].as_str().unwrap())).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_claimed_job_is_only_taken_again_after_its_lease_expires() {
    let (app, conv) = connected().await;
    let (_, accepted) = send(&app, &conv, "hello").await;
    let job_id = accepted["jobId"].as_str().unwrap();
    let now = app.clock_now();
    // A worker claims the job and dies before finishing.
    assert!(app.store.claim_job(ORG, job_id, now, now + Duration::minutes(5), "dead-worker").await.unwrap().is_some());
    let msg = app.queue.take_due().remove(0);
    assert_eq!(app.services.process(&msg).await.unwrap(), JobOutcome::Skipped, "claimed by the other worker");
    assert!(sends(&app).is_empty());
    // The message is not lost: it comes back when the claim expires, and the job is sent then.
    assert_eq!(app.queue.next_due_at(), Some(now + Duration::minutes(5)));
    let ran = app.run_jobs().await;
    assert_eq!(ran, vec![(now + Duration::minutes(5), JobOutcome::Succeeded)]);
    assert_eq!(job(&app, job_id).await["attempts"], 2);
    assert_eq!(sends(&app).len(), 1);
}

/// The echo webhook of a send, with the message id the fake Graph API answers.
fn echo_of_send(text: &str) -> String {
    json!({"object":"instagram","entry":[{"id":IG_ACCOUNT,"time":1732460070000i64,"messaging":[
        {"sender":{"id":IG_ACCOUNT},"recipient":{"id":CUSTOMER},"timestamp":1732460070000i64,
         "message":{"mid":"aWdfZAG1fc2VudF8x","text":text,"is_echo":true}}]}]})
    .to_string()
}

#[tokio::test]
async fn an_echo_after_the_send_returned_is_not_stored_twice() {
    let (app, conv) = connected().await;
    let (_, accepted) = send(&app, &conv, "hello").await;
    app.run_jobs().await;
    assert_eq!(app.deliver(&echo_of_send("hello")).await.status(), 200);
    let outbound: Vec<_> =
        app.messages(ORG, &conv).await.into_iter().filter(|m| m["direction"] == "OUTBOUND").collect();
    assert_eq!(outbound.len(), 1);
    assert_eq!(outbound[0]["id"], accepted["messageId"]);
    assert_eq!(outbound[0]["status"], "SENT");
}

#[tokio::test]
async fn an_echo_arriving_before_the_send_call_returns_is_not_stored_twice() {
    let (app, conv) = connected().await;
    let (_, accepted) = send(&app, &conv, "hello").await;
    // The fake Graph API delivers the echo webhook, and waits for it, before it answers.
    *app.graph.state.echo_before_answer.lock().unwrap() =
        Some((format!("{}/api/webhooks/instagram", app.url), echo_of_send("hello"), APP_SECRET.to_owned()));
    assert_eq!(app.run_jobs().await[0].1, JobOutcome::Succeeded);
    assert!(app.graph.state.echo_before_answer.lock().unwrap().is_none(), "the echo was delivered mid-send");
    let outbound: Vec<_> =
        app.messages(ORG, &conv).await.into_iter().filter(|m| m["direction"] == "OUTBOUND").collect();
    assert_eq!(outbound.len(), 1, "{outbound:?}");
    assert_eq!(outbound[0]["id"], accepted["messageId"]);
    assert_eq!(outbound[0]["status"], "SENT");
    assert_eq!(outbound[0]["externalMessageId"], "aWdfZAG1fc2VudF8x");
    // Redelivering the echo later changes nothing either.
    app.deliver(&echo_of_send("hello")).await;
    assert_eq!(app.messages(ORG, &conv).await.iter().filter(|m| m["direction"] == "OUTBOUND").count(), 1);
}

#[tokio::test]
async fn development_sends_use_the_fallback_token() {
    let app = TestApp::with(
        inbox_shared::config::AppEnv::Development,
        &[
            ("DEFAULT_ORGANIZATION_ID", ORG),
            ("META_PAGE_ACCESS_TOKEN", "dev-page-token"),
            ("INSTAGRAM_PAGE_ID", PAGE_ID),
            ("INSTAGRAM_USER_ID", IG_ACCOUNT),
        ],
    )
    .await;
    app.deliver(&fixtures::webhook("text.json")).await;
    let conv = app.conversations(ORG).await[0]["id"].as_str().unwrap().to_owned();
    let (status, _) = send(&app, &conv, "dev reply").await;
    assert_eq!(status, 202);
    assert_eq!(app.run_jobs().await[0].1, JobOutcome::Succeeded);
    let call = sends(&app).remove(0);
    assert_eq!(call.path, format!("/v21.0/{PAGE_ID}/messages"));
    assert_eq!(call.authorization.as_deref(), Some("Bearer dev-page-token"));
}

#[tokio::test]
async fn human_agent_replies_after_24_hours_carry_the_tag() {
    let app = TestApp::with(inbox_shared::config::AppEnv::Production, &[("INSTAGRAM_HUMAN_AGENT_TAG", "true")]).await;
    app.connect_account(ORG, "acc_a", IG_ACCOUNT, TOKEN).await;
    app.deliver(&fixtures::webhook("text.json")).await;
    let conv = app.conversations(ORG).await[0]["id"].as_str().unwrap().to_owned();
    send(&app, &conv, "within a day").await;
    app.run_jobs().await;
    app.clock.advance(Duration::hours(30));
    send(&app, &conv, "two days later").await;
    app.run_jobs().await;
    let calls = sends(&app);
    assert_eq!((calls[0].body.get("tag"), &calls[0].body["messaging_type"]), (None, &json!("RESPONSE")));
    assert_eq!(calls[1].body["tag"], "HUMAN_AGENT");
    assert_eq!(calls[1].body["messaging_type"], "MESSAGE_TAG");
}

/// The tag is decided when each attempt is made: a reply queued inside the 24 h and retried
/// after it goes out under HUMAN_AGENT (a person wrote it), or, written by an automation,
/// not at all.
#[tokio::test]
async fn the_tag_is_decided_at_each_attempt_and_never_for_an_automated_reply() {
    let app = TestApp::with(inbox_shared::config::AppEnv::Production, &[("INSTAGRAM_HUMAN_AGENT_TAG", "true")]).await;
    app.connect_account(ORG, "acc_a", IG_ACCOUNT, TOKEN).await;
    app.deliver(&fixtures::webhook("text.json")).await;
    let conv = app.conversations(ORG).await[0]["id"].as_str().unwrap().to_owned();
    app.run_jobs().await; // the customer's profile
    // The last second of the window (the fixture's DM came at 1732460000.123 s).
    let inbound = chrono::DateTime::from_timestamp_millis(1_732_460_000_123).unwrap();
    app.clock.set(inbound + Duration::hours(24) - Duration::seconds(1));
    app.graph.answer(500, &[], &fixtures::graph("error_temporary.json"));
    app.graph.answer(500, &[], &fixtures::graph("error_temporary.json"));
    let path = format!("/api/inbox/conversations/{conv}/send-text");
    let (status, person) = app.post(ORG, &path, json!({"text": "on it"})).await;
    assert_eq!(status, 202, "{person}");
    let (status, bot) = app.post(ORG, &path, json!({"text": "auto: we got it", "automated": true})).await;
    assert_eq!(status, 202, "{bot}");
    let ran = app.run_jobs().await; // both refused once for now, retried after the 24 h
    assert!(ran.iter().any(|(at, _)| *at > inbound + Duration::hours(24)), "{ran:?}");
    let calls = sends(&app);
    let tagged: Vec<&GraphCall> = calls.iter().filter(|c| c.body["tag"] == "HUMAN_AGENT").collect();
    assert_eq!(tagged.len(), 1, "{calls:?}");
    assert_eq!(tagged[0].body["message"]["text"], "on it");
    assert!(calls.iter().all(|c| c.body["message"]["text"] != "auto: we got it" || c.body.get("tag").is_none()));
    let job = |accepted: &Value| accepted["jobId"].as_str().unwrap().to_owned();
    let (_, bot_job) = app.get(ORG, &format!("/api/integrations/jobs/{}", job(&bot))).await;
    assert_eq!(
        (bot_job["status"].as_str(), bot_job["lastError"]["code"].as_str()),
        (Some("FAILED"), Some("MESSAGING_WINDOW_CLOSED"))
    );
    let (_, person_job) = app.get(ORG, &format!("/api/integrations/jobs/{}", job(&person))).await;
    assert_eq!(person_job["status"], "SUCCEEDED");
    // After 24 h an automation cannot even queue one; a person still can.
    let (status, body) = app.post(ORG, &path, json!({"text": "auto again", "automated": true})).await;
    assert_eq!((status, error_code(&body)), (422, "MESSAGING_WINDOW_CLOSED"));
    assert_eq!(app.post(ORG, &path, json!({"text": "a person again"})).await.0, 202);
}

#[tokio::test]
async fn an_instagram_login_account_sends_from_its_own_id_with_its_user_token() {
    use inbox_shared::domain::{OAuthToken, TokenKind};
    use inbox_shared::ports::TokenContext;
    let app = TestApp::prod().await;
    let account = app.connect_account(ORG, "acc_ig", IG_ACCOUNT, "unused").await;
    app.store.delete_token(ORG, "acc_ig", TokenKind::Page).await.unwrap();
    app.graph.world().instagram_login(IG_ACCOUNT, "IGAA-instagram-user-token");
    let ctx = TokenContext { organization_id: ORG, connected_account_id: "acc_ig" };
    let encrypted = app.cipher.encrypt("IGAA-instagram-user-token", &ctx).await.unwrap();
    let expires = Some(app.clock_now() + Duration::days(60));
    let token = OAuthToken::issued(ORG, &account.id, TokenKind::InstagramUser, encrypted, expires, app.clock_now());
    app.store.put_token(&token).await.unwrap();
    app.deliver(&fixtures::webhook("text.json")).await;
    app.run_jobs().await;
    // graph.instagram.com, apart from graph.facebook.com
    let instagram = || app.graph.calls().into_iter().filter(|c| c.host == Host::Instagram).collect::<Vec<_>>();
    let profile = instagram().remove(0);
    assert_eq!(profile.path, format!("/v21.0/{CUSTOMER}"));
    assert_eq!(profile.authorization.as_deref(), Some("Bearer IGAA-instagram-user-token"));
    let conv = app.conversations(ORG).await[0]["id"].as_str().unwrap().to_owned();
    send(&app, &conv, "hi from Instagram Login").await;
    assert_eq!(app.run_jobs().await.last().unwrap().1, JobOutcome::Succeeded);
    let call = instagram().into_iter().find(|c| c.path.ends_with("/messages")).expect("sent on graph.instagram.com");
    assert_eq!(call.path, format!("/v21.0/{IG_ACCOUNT}/messages"));
    assert_eq!(call.authorization.as_deref(), Some("Bearer IGAA-instagram-user-token"));
    assert!(app.graph.calls().iter().all(|c| c.host == Host::Instagram), "nothing went to graph.facebook.com");
}

#[tokio::test]
async fn a_job_whose_queue_message_was_lost_is_swept_back_into_the_queue() {
    let (app, conv) = connected().await;
    let (_, accepted) = send(&app, &conv, "lost in transit").await;
    assert_eq!(app.queue.take_due().len(), 1, "the queue message is lost here");
    assert_eq!(app.services.outbound.requeue_stranded_jobs().await.unwrap(), 0, "not yet: it may still be on its way");
    app.clock.advance(Duration::minutes(3));
    assert_eq!(app.services.outbound.requeue_stranded_jobs().await.unwrap(), 1);
    assert_eq!(app.run_jobs().await.last().unwrap().1, JobOutcome::Succeeded);
    assert_eq!(message(&app, &conv, accepted["messageId"].as_str().unwrap()).await["status"], "SENT");
    assert_eq!(app.services.outbound.requeue_stranded_jobs().await.unwrap(), 0, "finished jobs leave the index");
}

#[tokio::test]
async fn an_agent_sends_media_by_url() {
    let (app, conv) = connected().await;
    let path = format!("/api/inbox/conversations/{conv}/send-attachment");
    let image = json!({"type": "image", "url": "https://cdn.example.com/catalogue/sandals.jpg"});
    let (status, accepted) = app.post(ORG, &path, image.clone()).await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(app.run_jobs().await.last().unwrap().1, JobOutcome::Succeeded);
    let call = sends(&app).remove(0);
    assert_eq!(
        call.body,
        json!({"recipient": {"id": CUSTOMER}, "messaging_type": "RESPONSE",
               "message": {"attachment": {"type": "image", "payload": {"url": "https://cdn.example.com/catalogue/sandals.jpg"}}}})
    );
    let m = message(&app, &conv, accepted["messageId"].as_str().unwrap()).await;
    assert_eq!((m["status"].as_str(), m["text"].is_null()), (Some("SENT"), true));
    assert_eq!(m["attachments"][0]["payload"]["url"], "https://cdn.example.com/catalogue/sandals.jpg");
    assert_eq!(app.get(ORG, &format!("/api/inbox/conversations/{conv}")).await.1["previewText"], "[image]");
    for bad in [
        json!({"type": "sticker", "url": "https://x.example/a.png"}),
        json!({"type": "image", "url": "http://x.example/a.png"}),
        json!({"type": "image", "url": "not a url"}),
        json!({"type": "image"}),
        json!({"type": "image", "url": "https://x.example/a.png", "caption": "no"}),
    ] {
        let (status, body) = app.post(ORG, &path, bad.clone()).await;
        assert_eq!((status, error_code(&body)), (400, "VALIDATION_ERROR"), "{bad}");
    }
    let (status, _) = app.post("org_b", &path, image).await;
    assert_eq!(status, 404);
}
