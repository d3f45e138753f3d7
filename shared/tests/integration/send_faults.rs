//! A reply reaches the customer exactly once, counted at a fake Graph API that accepts every
//! send and echoes it as Meta does, but answers late, answers 500 without Meta's error body,
//! answers 200 with garbage, or never answers; and with a processor killed after the Graph
//! call. Each scenario runs on the embedded adapters and on DynamoDB + KMS (moto).

use std::time::Duration as StdDuration;

use crate::common::*;
use chrono::Duration;
use inbox_shared::config::AppEnv;
use inbox_shared::domain::JobExpectation;
use inbox_shared::error::ErrorCode;
use inbox_shared::fixtures;
use inbox_shared::services::JobOutcome;
use serde_json::{Value, json};

const ORG: &str = "org_a";
const ECHO_MID: &str = "m_echo_of_the_send";
/// The Graph client gives up after this (GRAPH_TIMEOUT_MS) in these tests.
const GRAPH_TIMEOUT_MS: &str = "300";

async fn app(on_aws: bool) -> Option<TestApp> {
    app_with(on_aws, GRAPH_TIMEOUT_MS).await
}

async fn app_with(on_aws: bool, graph_timeout_ms: &str) -> Option<TestApp> {
    let extra = [("GRAPH_TIMEOUT_MS", graph_timeout_ms), ("SEND_CONFIRM_WAIT_SECS", "120")];
    let app = match on_aws {
        true => TestApp::on_aws(AppEnv::Production, &extra).await?,
        false => TestApp::with(AppEnv::Production, &extra).await,
    };
    app.connect_account(ORG, "acc_a", IG_ACCOUNT, "EAAB-page-token").await;
    assert_eq!(app.deliver(&fixtures::webhook("text.json")).await.status(), 200);
    app.run_jobs().await; // the new customer's profile lookup
    app.graph.state.calls.lock().unwrap().clear();
    Some(app)
}

/// The agent's reply, queued: (conversation, message id, job id).
async fn reply(app: &TestApp, text: &str) -> (String, String, String) {
    let conv = app.conversations(ORG).await[0]["id"].as_str().unwrap().to_owned();
    let (status, accepted) =
        app.post(ORG, &format!("/api/inbox/conversations/{conv}/send-text"), json!({ "text": text })).await;
    assert_eq!(status, 202, "{accepted}");
    (conv, accepted["messageId"].as_str().unwrap().to_owned(), accepted["jobId"].as_str().unwrap().to_owned())
}

/// Meta's echo of a send of `text`, now.
fn echo(app: &TestApp, text: &str) -> String {
    let at = app.clock_now().timestamp_millis();
    json!({"object":"instagram","entry":[{"id":IG_ACCOUNT,"time":at,"messaging":[
        {"sender":{"id":IG_ACCOUNT},"recipient":{"id":CUSTOMER},"timestamp":at,
         "message":{"mid":ECHO_MID,"text":text,"is_echo":true}}]}]})
    .to_string()
}

/// Meta echoes every send, `after` it arrived.
fn echo_every_send(app: &TestApp, text: &str, after_ms: u64) {
    let url = format!("{}/api/webhooks/instagram", app.url);
    *app.graph.state.echo_after.lock().unwrap() =
        Some((url, echo(app, text), APP_SECRET.to_owned(), StdDuration::from_millis(after_ms)));
}

fn deliveries(app: &TestApp) -> usize {
    app.graph.calls().iter().filter(|c| c.path.ends_with("/messages")).count()
}

async fn wait_for_echo(app: &TestApp, conv: &str) {
    for _ in 0..100 {
        if app.messages(ORG, conv).await.iter().any(|m| m["externalMessageId"] == ECHO_MID) {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("the echo never arrived");
}

async fn outbound(app: &TestApp, conv: &str) -> Vec<Value> {
    app.messages(ORG, conv).await.into_iter().filter(|m| m["direction"] == "OUTBOUND").collect()
}

async fn job(app: &TestApp, id: &str) -> Value {
    app.get(ORG, &format!("/api/integrations/jobs/{id}")).await.1
}

/// One reply whose send Meta accepted but whose answer was lost: confirmed by its echo,
/// delivered once, one message in the conversation.
async fn an_ambiguous_send_is_confirmed_by_its_echo_not_resent(app: TestApp, lose_the_answer: impl Fn(&TestApp)) {
    let (conv, message_id, job_id) = reply(&app, "See you tomorrow").await;
    // The echo comes after the client gave up (GRAPH_TIMEOUT_MS), as on a slow Meta.
    echo_every_send(&app, "See you tomorrow", 600);
    lose_the_answer(&app);
    let first = app.queue.take_due();
    let outcome = app.services.process(&first[0]).await.unwrap();
    assert!(matches!(outcome, JobOutcome::AwaitingConfirmation { .. }), "{outcome:?}");
    wait_for_echo(&app, &conv).await;
    let ran = app.run_jobs().await;
    // The echo also queued a check of its conversation: the send succeeded among the runs.
    assert!(ran.iter().any(|(_, o)| *o == JobOutcome::Succeeded), "{ran:?}");
    assert_eq!(deliveries(&app), 1, "the customer got one copy");
    let sent = outbound(&app, &conv).await;
    assert_eq!(sent.len(), 1, "the echo folded into our message: {sent:?}");
    assert_eq!((sent[0]["id"].as_str(), sent[0]["status"].as_str()), (Some(message_id.as_str()), Some("SENT")));
    assert_eq!(sent[0]["externalMessageId"], ECHO_MID);
    let j = job(&app, &job_id).await;
    assert_eq!((j["status"].as_str(), j["attempts"].as_u64()), (Some("SUCCEEDED"), Some(1)), "{j}");
}

fn late_answer(app: &TestApp) {
    *app.graph.state.answer_delay.lock().unwrap() = Some(StdDuration::from_millis(1500));
}

fn bare_500(app: &TestApp) {
    app.graph.answer(500, &[], "<html>upstream error</html>");
}

/// Meta's own error body on a 500 (code 2, "an unexpected error has occurred"), after it sent.
fn metas_500(app: &TestApp) {
    app.graph.answer(500, &[], &fixtures::graph("error_temporary.json"));
}

fn garbage_200(app: &TestApp) {
    app.graph.answer(200, &[], "<html>not json</html>");
}

fn no_answer(app: &TestApp) {
    *app.graph.state.answer_delay.lock().unwrap() = Some(StdDuration::from_secs(3600));
}

macro_rules! on_both_stores {
    ($($name:ident: $lose:expr;)*) => {
        mod embedded {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    an_ambiguous_send_is_confirmed_by_its_echo_not_resent(app(false).await.unwrap(), $lose).await;
                }
            )*
        }
        mod dynamodb {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(app) = app(true).await else { return };
                    an_ambiguous_send_is_confirmed_by_its_echo_not_resent(app, $lose).await;
                }
            )*
        }
    };
}

on_both_stores! {
    a_late_answer_is_not_resent: late_answer;
    a_500_without_metas_body_is_not_resent: bare_500;
    a_500_with_metas_own_body_is_not_resent: metas_500;
    a_200_with_garbage_is_not_resent: garbage_200;
    no_answer_at_all_is_not_resent: no_answer;
}

#[tokio::test]
async fn a_processor_killed_after_the_graph_call_does_not_send_twice() {
    for on_aws in [false, true] {
        let Some(app) = app(on_aws).await else { return };
        let (conv, message_id, job_id) = reply(&app, "On its way").await;
        echo_every_send(&app, "On its way", 200);
        *app.graph.state.answer_delay.lock().unwrap() = Some(StdDuration::from_millis(100));
        let due = app.queue.take_due().remove(0);
        let services = app.services.clone();
        let worker = tokio::spawn(async move { services.process(&due).await });
        while deliveries(&app) == 0 {
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
        worker.abort(); // killed while Meta is answering
        assert!(worker.await.unwrap_err().is_cancelled());
        wait_for_echo(&app, &conv).await;
        // Nothing is queued for it: the stranded job comes back when its claim expires.
        app.clock.advance(Duration::minutes(10));
        assert_eq!(app.services.outbound.requeue_stranded_jobs().await.unwrap(), 1);
        let ran = app.run_jobs().await;
        // The echo also queued a check of its conversation: the send succeeded among the runs.
        assert!(ran.iter().any(|(_, o)| *o == JobOutcome::Succeeded), "{ran:?}");
        assert_eq!(deliveries(&app), 1, "restarted, and still one copy");
        let sent = outbound(&app, &conv).await;
        assert_eq!((sent.len(), sent[0]["id"].as_str()), (1, Some(message_id.as_str())), "{sent:?}");
        assert_eq!(job(&app, &job_id).await["status"], "SUCCEEDED");
    }
}

/// A reply whose answer could not be read and whose echo never came: FAILED, unconfirmed,
/// after several looks for the echo; (conversation, message id, job id).
async fn unconfirmed_send(app: &TestApp, text: &str) -> (String, String, String) {
    let ids = reply(app, text).await;
    bare_500(app);
    let ran = app.run_jobs().await;
    assert_eq!(ran.last().unwrap().1, JobOutcome::Failed(ErrorCode::DeliveryUnconfirmed), "{ran:?}");
    assert!(ran.len() > 2, "checked for the echo several times: {ran:?}");
    ids
}

#[tokio::test]
async fn with_no_echo_the_send_ends_unconfirmed_and_the_agent_resends_it_once() {
    for on_aws in [false, true] {
        let Some(app) = app(on_aws).await else { return };
        let (conv, message_id, job_id) = unconfirmed_send(&app, "Are you there?").await;
        assert_eq!(deliveries(&app), 1, "never resent on its own");
        let m = outbound(&app, &conv).await.into_iter().find(|m| m["id"] == message_id.as_str()).unwrap();
        assert_eq!((m["status"].as_str(), m["errorCode"].as_str()), (Some("FAILED"), Some("DELIVERY_UNCONFIRMED")));
        // The agent decides to resend: one call, one more delivery.
        let (status, reopened) = app.post(ORG, &format!("/api/integrations/jobs/{job_id}/retry"), json!({})).await;
        assert_eq!((status, reopened["status"].as_str()), (202, Some("PENDING")), "{reopened}");
        let (again, _) = app.post(ORG, &format!("/api/integrations/jobs/{job_id}/retry"), json!({})).await;
        assert_eq!(again, 409, "a job not failed is not retried");
        let (other, _) = app.post("org_b", &format!("/api/integrations/jobs/{job_id}/retry"), json!({})).await;
        assert_eq!(other, 404, "another organization's job");
        assert_eq!(app.run_jobs().await.last().unwrap().1, JobOutcome::Succeeded);
        assert_eq!(deliveries(&app), 2);
        let m = outbound(&app, &conv).await.into_iter().find(|m| m["id"] == message_id.as_str()).unwrap();
        assert_eq!(m["status"], "SENT");
    }
}

/// Meta's own error body on a 500 may hide a send: the echo is awaited first, and only when
/// none came within SEND_CONFIRM_WAIT_SECS is the reply sent again, once.
#[tokio::test]
async fn metas_own_500_without_an_echo_is_sent_again_only_after_the_wait() {
    for on_aws in [false, true] {
        let Some(app) = app(on_aws).await else { return };
        let (conv, _, _) = reply(&app, "hello").await;
        let start = app.clock_now();
        metas_500(&app);
        let ran = app.run_jobs().await;
        assert!(matches!(ran[0].1, JobOutcome::AwaitingConfirmation { .. }), "{ran:?}");
        let (retried_at, _) = ran.iter().find(|(_, o)| matches!(o, JobOutcome::Retrying { .. })).expect("sent again");
        assert!(*retried_at - start >= Duration::seconds(120), "not before the echo was awaited: {ran:?}");
        assert_eq!(ran.last().unwrap().1, JobOutcome::Succeeded);
        assert_eq!(deliveries(&app), 2);
        assert_eq!(outbound(&app, &conv).await.len(), 1);
    }
}

/// Meta's own 500, no echo within the wait, so a retry is due; the first attempt's echo comes
/// late, before the retry runs: the retry finds it and sends nothing (one copy, one message).
#[tokio::test]
async fn an_earlier_attempts_late_echo_stops_the_retry() {
    for on_aws in [false, true] {
        let Some(app) = app(on_aws).await else { return };
        let (conv, message_id, _) = reply(&app, "On my way").await;
        metas_500(&app);
        'waiting: loop {
            let due = app.queue.take_due();
            if due.is_empty() {
                app.clock.set(app.queue.next_due_at().expect("a check or the retry is queued"));
            }
            for message in &due {
                if matches!(app.services.process(message).await.unwrap(), JobOutcome::Retrying { .. }) {
                    break 'waiting;
                }
            }
        }
        assert_eq!(app.deliver(&echo(&app, "On my way")).await.status(), 200);
        let ran = app.run_jobs().await;
        assert!(ran.iter().any(|(_, o)| *o == JobOutcome::Succeeded), "{ran:?}");
        assert_eq!(deliveries(&app), 1, "the customer got one copy");
        let sent = outbound(&app, &conv).await;
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(
            (sent[0]["id"].as_str(), sent[0]["externalMessageId"].as_str()),
            (Some(message_id.as_str()), Some(ECHO_MID))
        );
    }
}

/// A worker that recorded its attempt and died before calling Meta: the next one finds no
/// echo of it, so the reply goes out then, once, instead of ending unconfirmed.
#[tokio::test]
async fn a_worker_that_died_before_calling_meta_leaves_a_send_that_goes_out_once() {
    for on_aws in [false, true] {
        let Some(app) = app(on_aws).await else { return };
        let (conv, message_id, job_id) = reply(&app, "Coming up").await;
        app.queue.take_due();
        let now = app.clock_now();
        let claimed = app.store.claim_job(ORG, &job_id, now, now + Duration::minutes(5), "w1").await.unwrap();
        let mut job = claimed.expect("claimed");
        job.start_attempt(now);
        assert!(app.store.replace_job(&job, JobExpectation::ClaimedBy("w1")).await.unwrap());
        // ...and died there. Its claim expires; the sweep queues it again.
        app.clock.advance(Duration::minutes(10));
        assert_eq!(app.services.outbound.requeue_stranded_jobs().await.unwrap(), 1);
        let ran = app.run_jobs().await;
        assert_eq!(ran.last().unwrap().1, JobOutcome::Succeeded, "{ran:?}");
        assert_eq!(deliveries(&app), 1);
        let sent = outbound(&app, &conv).await;
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!((sent[0]["id"].as_str(), sent[0]["status"].as_str()), (Some(message_id.as_str()), Some("SENT")));
    }
}

/// A send that ended unconfirmed whose echo comes late: the echo confirms it on its own
/// (SENT under Meta's id, the echo folded in); the agent's retry then answers 409 and sends
/// nothing. When the agent retries before that check has run, the retry confirms it itself.
#[tokio::test]
async fn a_late_echo_confirms_a_failed_send_and_the_retry_sends_nothing() {
    for (on_aws, checked_first) in [(false, true), (false, false), (true, true)] {
        let Some(app) = app(on_aws).await else { return };
        let (conv, message_id, job_id) = unconfirmed_send(&app, "Are you there?").await;
        assert_eq!(app.deliver(&echo(&app, "Are you there?")).await.status(), 200);
        if checked_first {
            let ran = app.run_jobs().await;
            assert_eq!(ran.last().map(|r| r.1.clone()), Some(JobOutcome::Succeeded), "{ran:?}");
            assert_eq!(job(&app, &job_id).await["status"], "SUCCEEDED", "confirmed by the echo alone");
        }
        let (status, body) = app.post(ORG, &format!("/api/integrations/jobs/{job_id}/retry"), json!({})).await;
        assert_eq!((status, body["error"]["code"].as_str()), (409, Some("CONFLICT")), "{body}");
        assert_eq!(deliveries(&app), 1, "nothing sent again");
        assert_eq!(job(&app, &job_id).await["status"], "SUCCEEDED");
        let sent = outbound(&app, &conv).await;
        assert_eq!(sent.len(), 1, "the echo folded into our message: {sent:?}");
        assert_eq!((sent[0]["id"].as_str(), sent[0]["status"].as_str()), (Some(message_id.as_str()), Some("SENT")));
        assert_eq!(sent[0]["externalMessageId"], ECHO_MID);
    }
}

/// An echo that another pending reply of the same text could own (or the phone app's) does
/// not confirm an Instagram send whose answer was lost; once that reply went out on its own,
/// the echo is beyond doubt and confirms it.
#[tokio::test]
async fn an_echo_two_pending_replies_could_own_waits_until_only_one_can() {
    for on_aws in [false, true] {
        let Some(app) = app(on_aws).await else { return };
        let (conv, first_id, first_job) = reply(&app, "Thanks!").await;
        let first = app.queue.take_due().remove(0);
        bare_500(&app);
        assert!(matches!(app.services.process(&first).await.unwrap(), JobOutcome::AwaitingConfirmation { .. }));
        let (_, second_id, _) = reply(&app, "Thanks!").await;
        let second = app.queue.take_due().remove(0);
        assert_eq!(app.deliver(&echo(&app, "Thanks!")).await.status(), 200);
        app.clock.advance(Duration::seconds(15));
        for due in app.queue.take_due() {
            app.services.process(&due).await.unwrap(); // the first send's check, and the echo's
        }
        assert_eq!(job(&app, &first_job).await["status"], "PENDING", "not confirmed while the twin waits");
        assert_eq!(app.services.process(&second).await.unwrap(), JobOutcome::Succeeded);
        let ran = app.run_jobs().await;
        // The echo also queued a check of its conversation: the send succeeded among the runs.
        assert!(ran.iter().any(|(_, o)| *o == JobOutcome::Succeeded), "{ran:?}");
        let sent = outbound(&app, &conv).await;
        let status = |id: &str| {
            sent.iter().find(|m| m["id"] == id).map(|m| (m["status"].clone(), m["externalMessageId"].clone()))
        };
        assert_eq!(status(&first_id), Some((json!("SENT"), json!(ECHO_MID))), "{sent:?}");
        assert_eq!(status(&second_id).unwrap().0, "SENT");
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert_eq!(deliveries(&app), 2);
    }
}

#[tokio::test]
async fn a_batch_runs_its_records_at_once_and_stops_the_slow_one_at_the_deadline() {
    use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
    let app = app_with(false, "10000").await.unwrap();
    // A send to a Graph API that hangs, beside a webhook item that needs only the store.
    let (conv, _, job_id) = reply(&app, "slow").await;
    *app.graph.state.answer_delay.lock().unwrap() = Some(StdDuration::from_secs(30));
    let send = serde_json::to_string(&app.queue.take_due().remove(0)).unwrap();
    let item = json!({"jobType":"PROCESS_WEBHOOK","payload":{"items":[{"entryId":IG_ACCOUNT,"item":{
        "sender":{"id":CUSTOMER},"recipient":{"id":IG_ACCOUNT},"timestamp":app.clock_now().timestamp_millis(),
        "message":{"mid":"m-beside","text":"meanwhile"}}}]}});
    let record = |id: &str, body: String| {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.to_owned());
        m.body = Some(body);
        m
    };
    let mut event = SqsEvent::default();
    event.records = vec![record("slow-send", send), record("webhook-item", item.to_string())];
    let started = std::time::Instant::now();
    let deadline = started + StdDuration::from_millis(800);
    let response = inbox_shared::lambda::process_sqs_batch(&app.services, event, deadline).await;
    assert!(started.elapsed() < StdDuration::from_secs(5), "stopped at the deadline: {:?}", started.elapsed());
    let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    assert_eq!(failed, vec!["slow-send".to_owned()], "only the stopped record is delivered again");
    assert!(app.messages(ORG, &conv).await.iter().any(|m| m["text"] == "meanwhile"), "the other record was done");
    let j = job(&app, &job_id).await;
    assert!(j["sendStartedAt"].is_string(), "the attempt was recorded before Meta was called: {j}");
}

/// In a batch, one tenant's records take turns, at most two at once, while another tenant's
/// run beside them: tenant B's reply is among the first sends even behind six of tenant A's,
/// and A's six take three turns.
#[tokio::test]
async fn a_batch_runs_at_most_two_records_of_one_tenant_at_once() {
    use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
    const B_ACCOUNT: &str = "17841400000000002";
    const B_CUSTOMER: &str = "6185000000000042";
    let app = app_with(false, "10000").await.unwrap();
    app.connect_account_on_page("org_b", "acc_b", B_ACCOUNT, "112233445566779", "EAAB-b").await;
    let b_text = json!({"object":"instagram","entry":[{"id":B_ACCOUNT,"messaging":[{"sender":{"id":B_CUSTOMER},
        "recipient":{"id":B_ACCOUNT},"timestamp":app.clock_now().timestamp_millis(),"message":{"mid":"b-1","text":"hi"}}]}]});
    assert_eq!(app.deliver(&b_text.to_string()).await.status(), 200);
    app.run_jobs().await;
    let mut records = Vec::new();
    for i in 0..6 {
        reply(&app, &format!("A's reply {i}")).await;
    }
    let b_conv = app.conversations("org_b").await[0]["id"].as_str().unwrap().to_owned();
    let (status, _) =
        app.post("org_b", &format!("/api/inbox/conversations/{b_conv}/send-text"), json!({"text": "B's reply"})).await;
    assert_eq!(status, 202);
    for (i, message) in app.queue.take_due().into_iter().enumerate() {
        let mut record = SqsMessage::default();
        record.message_id = Some(format!("r{i}"));
        record.body = Some(serde_json::to_string(&message).unwrap());
        records.push(record);
    }
    assert_eq!(records.len(), 7);
    app.graph.state.calls.lock().unwrap().clear();
    *app.graph.state.answer_delay.lock().unwrap() = Some(StdDuration::from_millis(300));
    let mut event = SqsEvent::default();
    event.records = records;
    let started = std::time::Instant::now();
    let deadline = started + StdDuration::from_secs(20);
    let response = inbox_shared::lambda::process_sqs_batch(&app.services, event, deadline).await;
    let elapsed = started.elapsed();
    assert!(response.batch_item_failures.is_empty(), "{:?}", response.batch_item_failures);
    let sends: Vec<GraphCall> = app.graph.calls().into_iter().filter(|c| c.path.ends_with("/messages")).collect();
    assert_eq!(sends.len(), 7);
    let b_turn = sends.iter().position(|c| c.body["recipient"]["id"] == B_CUSTOMER).unwrap();
    assert!(b_turn < 3, "B's reply went out in the first turn, not behind A's: call {b_turn}");
    assert!(elapsed >= StdDuration::from_millis(850), "A's six took three turns of two: {elapsed:?}");
}

#[tokio::test]
async fn a_job_whose_workers_keep_dying_before_meta_is_called_ends_failed_unsent() {
    let app = app(false).await.unwrap();
    let (_, message_id, job_id) = reply(&app, "hello").await;
    app.queue.take_due();
    let max = app.services.config.limits.job_max_attempts;
    for worker in 0..max {
        let now = app.clock_now();
        let claim = format!("w{worker}");
        let claimed = app.store.claim_job(ORG, &job_id, now, now + Duration::minutes(5), &claim).await.unwrap();
        assert!(claimed.is_some(), "claim {worker}");
        app.clock.advance(Duration::minutes(6)); // died: the claim expires
    }
    app.clock.advance(Duration::minutes(10));
    assert_eq!(app.services.outbound.requeue_stranded_jobs().await.unwrap(), 1);
    let ran = app.run_jobs().await;
    assert_eq!(ran.last().unwrap().1, JobOutcome::Failed(ErrorCode::SendAttemptsExhausted), "{ran:?}");
    assert_eq!(deliveries(&app), 0);
    let conv = app.conversations(ORG).await[0]["id"].as_str().unwrap().to_owned();
    let m = outbound(&app, &conv).await.into_iter().find(|m| m["id"] == message_id.as_str()).unwrap();
    assert_eq!(m["errorCode"], "SEND_ATTEMPTS_EXHAUSTED");
}

#[tokio::test]
async fn concurrent_requests_with_one_idempotency_key_make_one_job_and_one_delivery() {
    for on_aws in [false, true] {
        let Some(app) = app(on_aws).await else { return };
        let conv = app.conversations(ORG).await[0]["id"].as_str().unwrap().to_owned();
        let url = format!("{}/api/inbox/conversations/{conv}/send-text", app.url);
        let requests = (0..5).map(|_| {
            app.client
                .post(&url)
                .bearer_auth(TestApp::token(ORG))
                .header("Idempotency-Key", "reply-1")
                .json(&json!({"text": "only once"}))
                .send()
        });
        let mut answers: Vec<Value> = Vec::new();
        for r in futures_util::future::join_all(requests).await {
            let r = r.unwrap();
            assert_eq!(r.status(), 202);
            answers.push(r.json().await.unwrap());
        }
        assert!(answers.windows(2).all(|w| w[0] == w[1]), "the same answer: {answers:?}");
        app.run_jobs().await;
        assert_eq!(deliveries(&app), 1);
        assert_eq!(outbound(&app, &conv).await.len(), 1);
        assert_eq!(job(&app, answers[0]["jobId"].as_str().unwrap()).await["status"], "SUCCEEDED");
    }
}

#[tokio::test]
async fn a_send_keeps_retrying_through_a_15_minute_meta_outage() {
    let app = app(false).await.unwrap();
    let (conv, _, _) = reply(&app, "still there?").await;
    let start = app.clock_now();
    for _ in 0..11 {
        app.graph.answer(503, &[], &fixtures::graph("error_temporary.json"));
    }
    let ran = app.run_jobs().await;
    let (finished_at, outcome) = ran.last().unwrap().clone();
    assert_eq!(outcome, JobOutcome::Succeeded, "{ran:?}");
    assert!(finished_at - start >= Duration::minutes(15), "retried for {:?}", finished_at - start);
    assert_eq!(deliveries(&app), 12, "11 refusals, then the send");
    assert_eq!(outbound(&app, &conv).await.len(), 1);
}

/// Meta's usage headers on a send's answer say the account is at 96 % and regains access in
/// 3 minutes: the next send waits that out (no attempt spent, nothing sent meanwhile) instead
/// of running into Meta's throttling, then goes out once.
#[tokio::test]
async fn usage_headers_hold_the_accounts_sends_until_meta_said() {
    let app = app(false).await.unwrap();
    let usage = fixtures::graph("usage_header_x_business_use_case_usage.json").replace('\n', "");
    *app.graph.state.usage_headers.lock().unwrap() = vec![("X-Business-Use-Case-Usage".into(), usage)];
    let (_, _, first) = reply(&app, "first").await;
    let (_, _, second) = reply(&app, "second").await;
    let started = app.clock_now();
    let due = app.queue.take_due();
    assert_eq!(app.services.process(&due[0]).await.unwrap(), JobOutcome::Succeeded);
    let held = app.services.process(&due[1]).await.unwrap();
    assert_eq!(held, JobOutcome::Retrying { delay: Duration::minutes(3) });
    assert_eq!(deliveries(&app), 1, "nothing more sent while Meta asked to wait");
    let (_, waiting) = app.get(ORG, &format!("/api/integrations/jobs/{second}")).await;
    assert_eq!((waiting["status"].as_str(), waiting["attempts"].as_u64()), (Some("PENDING"), Some(0)), "{waiting}");
    assert_eq!(waiting["lastError"]["code"], "RATE_LIMITED");
    app.graph.state.usage_headers.lock().unwrap().clear();
    let ran = app.run_jobs().await;
    assert_eq!(ran.len(), 1, "{ran:?}");
    assert_eq!(ran[0].1, JobOutcome::Succeeded);
    assert!(ran[0].0 >= started + Duration::minutes(3), "{ran:?}");
    assert_eq!(deliveries(&app), 2, "each reply sent once");
    for job in [first, second] {
        assert_eq!(app.get(ORG, &format!("/api/integrations/jobs/{job}")).await.1["status"], "SUCCEEDED");
    }
}
