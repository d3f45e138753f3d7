//! The history import and the reconciliation sweep over HTTP, against the strict fake Graph
//! API serving Meta's Conversations API (pages, cursors, the 20-message rule): what came
//! before a connect appears with Meta's times and nothing unread, each message once whatever
//! else delivers it, a crash resumes where it stopped, Meta's pace is kept, and a DM whose
//! webhook never came is found.

use chrono::{DateTime, Duration, Utc};
use inbox_shared::config::AppEnv;
use inbox_shared::domain::Provider;
use inbox_shared::ports::QueueMessage;
use inbox_shared::testing::fake_graph::{DETAILED_MESSAGES, Thread};
use serde_json::Value;

use crate::common::{IG_ACCOUNT, PAGE_ID, TestApp, error_code, start_time, text_webhook};

const ORG: &str = "org_hist";
const ACCOUNT: &str = "acc_hist";
const TOKEN: &str = "page-token-hist";

fn customer(i: usize) -> String {
    format!("61850000000{i:05}")
}

/// An Instagram thread of the account with customer `i`, its last message `days_ago` (and
/// `i` hours): the higher `i`, the older.
fn thread(i: usize, messages: usize, days_ago: i64) -> Thread {
    let first =
        start_time() - Duration::days(days_ago) - Duration::hours(i as i64) - Duration::minutes(messages as i64);
    Thread::between(&format!("t_{i}"), PAGE_ID, IG_ACCOUNT, Provider::Instagram, &customer(i))
        .with_messages(messages, first)
}

async fn app_with(threads: Vec<Thread>, extra: &[(&str, &str)]) -> TestApp {
    set_up(TestApp::with(AppEnv::Production, extra).await, threads).await
}

async fn set_up(app: TestApp, threads: Vec<Thread>) -> TestApp {
    app.connect_account(ORG, ACCOUNT, IG_ACCOUNT, TOKEN).await;
    for t in threads {
        app.graph.world().add_thread(t);
    }
    app
}

async fn start_import(app: &TestApp) -> (u16, Value) {
    app.post(ORG, &format!("/api/integrations/connected-accounts/{ACCOUNT}/history/import"), Value::Null).await
}

async fn history(app: &TestApp) -> Value {
    let (_, body) = app.get(ORG, "/api/integrations/connected-accounts").await;
    let account = body["data"].as_array().unwrap().iter().find(|a| a["id"] == ACCOUNT).unwrap().clone();
    account["history"].clone()
}

/// The import's queue messages due now, taken; the rest due (profile lookups) run.
async fn import_jobs(app: &TestApp) -> Vec<QueueMessage> {
    let (imports, rest): (Vec<_>, Vec<_>) =
        app.queue.take_due().into_iter().partition(|m| matches!(m, QueueMessage::ImportHistory { .. }));
    for m in rest {
        app.services.process(&m).await.unwrap();
    }
    imports
}

fn meta_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[tokio::test]
async fn three_conversations_with_history_appear_with_meta_s_times_and_nothing_unread() {
    // 5 messages; 25 (Meta details the 20 newest); 3; and one quiet for 120 days.
    let threads = vec![thread(1, 5, 1), thread(2, 25, 2), thread(3, 3, 10), thread(4, 2, 120)];
    let expected = threads.clone();
    let app = app_with(threads, &[]).await;
    let (status, account) = start_import(&app).await;
    assert_eq!(status, 202, "{account}");
    assert_eq!(account["history"]["status"], "PENDING");
    app.run_jobs().await;
    let h = history(&app).await;
    assert_eq!(
        (h["status"].as_str(), h["conversations"].as_u64(), h["messages"].as_u64()),
        (Some("DONE"), Some(3), Some(28)),
        "{h}"
    );
    assert!(h["finishedAt"].is_string() && h.get("error").is_none(), "{h}");

    let conversations = app.conversations(ORG).await;
    assert_eq!(conversations.len(), 3, "the 120-day-old thread is outside HISTORY_IMPORT_DAYS");
    for (i, t) in expected.iter().take(3).enumerate() {
        let c = conversations.iter().find(|c| c["participantId"] == customer(i + 1)).unwrap();
        let newest = t.messages.last().unwrap();
        assert_eq!(c["unreadCount"], 0, "{c}");
        assert_eq!(c["slaStatus"], "NONE", "history waits for no reply: {c}");
        assert_eq!(c["externalThreadId"], t.id, "Meta's conversation id");
        assert_eq!(c["lastMessageAt"], meta_time(newest.at));
        assert_eq!(c["previewText"], newest.text);
        let messages = app.messages(ORG, c["id"].as_str().unwrap()).await;
        let kept: Vec<_> = t.messages.iter().rev().take(DETAILED_MESSAGES).collect();
        assert_eq!(messages.len(), kept.len());
        for (got, want) in messages.iter().zip(&kept) {
            assert_eq!(got["externalMessageId"], want.id);
            assert_eq!(got["createdAt"], meta_time(want.at), "Meta's time, newest first");
            let direction = if want.from == IG_ACCOUNT { "OUTBOUND" } else { "INBOUND" };
            assert_eq!(got["direction"], direction);
            assert_eq!(got["metaJson"]["recoveredBy"], "history");
        }
    }

    // Meta redelivers the webhook of a message the import stored: nothing new.
    let imported = &expected[0].messages[3];
    let body = text_webhook(IG_ACCOUNT, &customer(1), &imported.id, &imported.text, imported.at.timestamp_millis());
    assert_eq!(app.deliver(&body).await.status(), 200);
    app.run_jobs().await;
    let c = app.conversations(ORG).await.into_iter().find(|c| c["participantId"] == customer(1)).unwrap();
    assert_eq!((c["unreadCount"].as_u64(), app.messages(ORG, c["id"].as_str().unwrap()).await.len()), (Some(0), 5));

    // A new DM after the import counts as unread, in the same conversation.
    let now = app.clock_now().timestamp_millis();
    assert_eq!(app.deliver(&text_webhook(IG_ACCOUNT, &customer(1), "m_new", "still there?", now)).await.status(), 200);
    let c = app.conversations(ORG).await.into_iter().find(|c| c["participantId"] == customer(1)).unwrap();
    assert_eq!((c["unreadCount"].as_u64(), c["externalThreadId"].as_str()), (Some(1), Some("t_1")));
}

#[tokio::test]
async fn one_import_at_a_time_for_admins_of_the_organization_and_a_disconnect_stops_it() {
    let app = app_with((1..=25).map(|i| thread(i, 2, 1)).collect(), &[]).await;
    assert_eq!(start_import(&app).await.0, 202);
    let (status, body) = start_import(&app).await;
    assert_eq!((status, error_code(&body)), (409, "HISTORY_IMPORT_RUNNING"));
    let path = format!("/api/integrations/connected-accounts/{ACCOUNT}/history/import");
    let (status, body) = app.post("org_other", &path, Value::Null).await;
    assert_eq!((status, error_code(&body)), (404, "NOT_FOUND"), "another organization's account");

    // One page (10 threads), then the account is disconnected.
    let first = import_jobs(&app).await;
    assert_eq!(first.len(), 1);
    app.services.process(&first[0]).await.unwrap();
    assert_eq!(history(&app).await["conversations"], 10);
    let (status, _) = app.delete(ORG, &format!("/api/integrations/connected-accounts/{ACCOUNT}")).await;
    assert_eq!(status, 200);
    app.run_jobs().await;
    let h = history(&app).await;
    assert_eq!(
        (h["status"].as_str(), h["error"]["code"].as_str()),
        (Some("FAILED"), Some("ACCOUNT_DISCONNECTED")),
        "{h}"
    );
    assert_eq!(app.conversations(ORG).await.len(), 10, "nothing read after the disconnect");
}

#[tokio::test]
async fn a_crash_halfway_resumes_where_it_stopped_without_duplicates() {
    crash_halfway_resumes(app_with((1..=25).map(|i| thread(i, 2, 1)).collect(), &[]).await).await;
}

#[tokio::test]
async fn a_crash_halfway_resumes_on_dynamodb() {
    let Some(app) = TestApp::on_aws(AppEnv::Production, &[]).await else { return };
    crash_halfway_resumes(set_up(app, (1..=25).map(|i| thread(i, 2, 1)).collect()).await).await;
}

async fn crash_halfway_resumes(app: TestApp) {
    assert_eq!(start_import(&app).await.0, 202);
    // Page 1 (t_1..t_10, newest first) done; Meta fails on the fourth thread of page 2.
    let page1 = import_jobs(&app).await;
    app.services.process(&page1[0]).await.unwrap();
    app.graph.fail_next("/t_14", 500);
    let page2 = import_jobs(&app).await;
    assert!(app.services.process(&page2[0]).await.is_err(), "the queue message comes back");
    let h = history(&app).await;
    assert_eq!((h["status"].as_str(), h["conversations"].as_u64()), (Some("RUNNING"), Some(10)), "{h}");
    assert_eq!(h["error"]["code"], "META_UNAVAILABLE");
    assert_eq!(app.conversations(ORG).await.len(), 13, "three threads of page 2 stored before the failure");
    // Redelivered, as SQS does: page 2 again from its start, then a worker dies after page 3
    // (its next message lost): the scheduled round finds the run stranded and resumes it.
    app.services.process(&page2[0]).await.unwrap();
    let page3 = import_jobs(&app).await;
    assert_eq!(page3.len(), 1, "taken and never finished");
    app.clock.advance(Duration::minutes(16));
    let round = inbox_shared::worker::scheduled_maintenance(&app.services).await.unwrap();
    assert_eq!(round["historyImportsResumed"], 1, "{round}");
    app.run_jobs().await;
    let h = history(&app).await;
    assert_eq!(
        (h["status"].as_str(), h["conversations"].as_u64(), h["messages"].as_u64()),
        (Some("DONE"), Some(25), Some(50)),
        "{h}"
    );
    let conversations = app.list_conversations(ORG, "").await;
    assert_eq!(conversations.len(), 25);
    for c in &conversations {
        assert_eq!(app.messages(ORG, c["id"].as_str().unwrap()).await.len(), 2, "each message once: {c}");
    }
}

#[tokio::test]
async fn the_import_keeps_meta_s_pace_of_two_calls_a_second() {
    let app = app_with((1..=4).map(|i| thread(i, 3, 1)).collect(), &[("HISTORY_CALLS_PER_SECOND", "2")]).await;
    assert_eq!(start_import(&app).await.0, 202);
    app.run_jobs().await;
    assert_eq!(history(&app).await["status"], "DONE");
    let calls: Vec<_> =
        app.graph.calls().into_iter().filter(|c| c.path.contains("conversations") || c.path.contains("/t_")).collect();
    assert_eq!(calls.len(), 5, "one listing, one read per thread");
    let gaps: Vec<f64> = calls.windows(2).map(|w| (w[1].at - w[0].at).as_secs_f64()).collect();
    let elapsed = (calls[4].at - calls[0].at).as_secs_f64();
    println!("conversations API: {} calls, gaps {gaps:.3?} s, {:.2} calls/s", calls.len(), 4.0 / elapsed);
    assert!(gaps.iter().all(|g| *g >= 0.49), "at most 2 calls a second: {gaps:?}");
}

#[tokio::test]
async fn the_sweep_finds_a_dm_whose_webhook_never_came_and_nothing_twice() {
    let now = start_time();
    let mut t = Thread::between("t_sweep", PAGE_ID, IG_ACCOUNT, Provider::Instagram, &customer(1));
    let delivered = t.push(now - Duration::hours(3), false, "hello");
    let lost = t.push(now - Duration::hours(2), false, "is the blue one in stock?");
    let quiet = thread(2, 3, 5);
    let app = app_with(vec![t.clone(), quiet], &[]).await;
    let first =
        text_webhook(IG_ACCOUNT, &customer(1), &delivered, "hello", (now - Duration::hours(3)).timestamp_millis());
    assert_eq!(app.deliver(&first).await.status(), 200);
    app.run_jobs().await;
    let calls_before = app.graph.calls().len();

    let round = inbox_shared::worker::scheduled_maintenance(&app.services).await.unwrap();
    assert_eq!(round["sweepsQueued"], 1, "{round}");
    app.run_jobs().await;
    let conversations = app.conversations(ORG).await;
    assert_eq!(conversations.len(), 1, "the thread quiet for 5 days is outside the sweep's 48 h");
    let c = &conversations[0];
    assert_eq!((c["unreadCount"].as_u64(), c["externalThreadId"].as_str()), (Some(2), Some("t_sweep")), "{c}");
    let messages = app.messages(ORG, c["id"].as_str().unwrap()).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(
        (messages[0]["externalMessageId"].as_str(), messages[0]["metaJson"]["recoveredBy"].as_str()),
        (Some(lost.as_str()), Some("sweep"))
    );
    assert_eq!(messages[1]["metaJson"].get("recoveredBy"), None, "the webhook's own");
    let sweep_calls: Vec<_> = app.graph.calls()[calls_before..]
        .iter()
        .filter(|c| c.path.contains("conversations") || c.path.contains("/t_"))
        .map(|c| c.path.clone())
        .collect();
    println!("sweep: {} Conversations API calls for 1 active conversation: {sweep_calls:?}", sweep_calls.len());
    assert_eq!(sweep_calls.len(), 2, "one listing, one read of the active thread");

    // The next round finds nothing missing and adds nothing.
    inbox_shared::worker::scheduled_maintenance(&app.services).await.unwrap();
    app.run_jobs().await;
    assert_eq!(app.messages(ORG, c["id"].as_str().unwrap()).await.len(), 2);
    assert_eq!(app.conversations(ORG).await[0]["unreadCount"], 2);
}

#[tokio::test]
async fn a_sweep_meta_fails_halfway_comes_back_and_stores_the_lost_dm_once() {
    let now = start_time();
    let mut t = Thread::between("t_flaky", PAGE_ID, IG_ACCOUNT, Provider::Instagram, &customer(1));
    let lost = t.push(now - Duration::hours(2), false, "still there?");
    let app = app_with(vec![t], &[]).await;
    inbox_shared::worker::scheduled_maintenance(&app.services).await.unwrap();
    let sweep = app.queue.take_due();
    assert_eq!(sweep.len(), 1, "one SWEEP_ACCOUNT");
    // Meta lists the thread, then fails its read: the queue message comes back, nothing stored.
    app.graph.fail_next("/t_flaky", 500);
    assert!(app.services.process(&sweep[0]).await.is_err(), "the queue message comes back");
    assert!(app.conversations(ORG).await.is_empty());
    // Redelivered (as SQS does), and once more after it worked: the DM once.
    app.services.process(&sweep[0]).await.unwrap();
    app.services.process(&sweep[0]).await.unwrap();
    app.run_jobs().await;
    let conversations = app.conversations(ORG).await;
    assert_eq!(conversations.len(), 1);
    let messages = app.messages(ORG, conversations[0]["id"].as_str().unwrap()).await;
    let found: Vec<(&str, &str)> = messages
        .iter()
        .map(|m| (m["externalMessageId"].as_str().unwrap(), m["metaJson"]["recoveredBy"].as_str().unwrap()))
        .collect();
    assert_eq!(found, [(lost.as_str(), "sweep")]);
}

#[tokio::test]
async fn a_page_s_messenger_history_lands_in_its_messenger_conversations_only() {
    let app = TestApp::with(AppEnv::Production, &[]).await;
    app.connect_messenger(ORG, "acc_messenger", PAGE_ID, TOKEN).await;
    let psid = "24000000000000001";
    let messenger = Thread::between("t_m", PAGE_ID, PAGE_ID, Provider::Messenger, psid)
        .with_messages(4, start_time() - Duration::days(3));
    app.graph.world().add_thread(messenger.clone());
    app.graph.world().add_thread(thread(1, 3, 1));
    let path = "/api/integrations/connected-accounts/acc_messenger/history/import";
    assert_eq!(app.post(ORG, path, Value::Null).await.0, 202);
    app.run_jobs().await;
    let all = app.list_conversations(ORG, "provider=ALL").await;
    assert_eq!(all.len(), 1, "the Page's Instagram threads are the Instagram account's: {all:?}");
    assert_eq!((all[0]["provider"].as_str(), all[0]["participantId"].as_str()), (Some("MESSENGER"), Some(psid)));
    let messages = app.messages(ORG, all[0]["id"].as_str().unwrap()).await;
    let outbound = messages.iter().filter(|m| m["direction"] == "OUTBOUND").count();
    assert_eq!((messages.len(), outbound), (4, 1), "the Page's own message is outbound");
    let listing = app.graph.calls().into_iter().find(|c| c.path.ends_with("/conversations")).unwrap();
    assert!(listing.query.contains("platform=messenger"), "{listing:?}");
}
