//! The token-refresh function through the Runtime API with the schedule's event, against
//! the local AWS-compatible server and a fake Graph API.

use chrono::Duration;
use inbox_shared::domain::{AccountStatus, TokenKind};
use inbox_shared::ports::TokenContext;
use inbox_shared::testing::local_aws::*;
use inbox_shared::testing::runtime_api::{event, invoke};
use inbox_shared::testing::seed;
use serde_json::json;

#[tokio::test]
async fn the_refresh_function_renews_due_tokens_and_flags_the_ones_it_cannot() {
    let Some(rig) = FunctionRig::start().await else { return };
    let (adapters, graph) = (&rig.adapters, &rig.graph);
    let now = adapters.clock.now();
    let token = |days| Some(now + Duration::days(days));
    seed::connect_account(
        adapters,
        EVENTS_ORG,
        "acc_due",
        "1001",
        "2001",
        TokenKind::User,
        "EAAB-old-user-token",
        token(2),
    )
    .await;
    seed::connect_account(adapters, EVENTS_ORG, "acc_later", "1002", "2002", TokenKind::User, "EAAB-fine", token(30))
        .await;
    // An Instagram Login token (the one its sends use) already expired: only its owner helps.
    seed::connect_account(
        adapters,
        EVENTS_ORG,
        "acc_expired",
        "1003",
        "2003",
        TokenKind::InstagramUser,
        "EAAB-dead",
        token(-1),
    )
    .await;
    seed::connect_account(adapters, EVENTS_ORG, "acc_page", "1004", "2004", TokenKind::Page, "EAAB-page", None).await;

    // A send whose queue message was lost ten minutes ago.
    let conversation =
        seed::conversation_with_inbound(adapters, EVENTS_ORG, "acc_later", "conv_stranded", "42", "hi").await;
    let (_, mut job) = seed::queued_reply(adapters, &conversation, "job_stranded", "hello").await;
    job.next_attempt_at = Some(now - Duration::minutes(10));
    adapters.store.put_job(&job).await.unwrap();

    let run = invoke(env!("CARGO_BIN_EXE_token-refresh"), &rig.env(), &[event("token-refresh/scheduled.json")]).await;
    assert_eq!(
        run.invocations[0].response(),
        &json!({"due": 2, "refreshed": 1, "failed": 1, "reauthRequired": 1, "skipped": 0,
                "reasons": {"token_expired": 1}, "jobsRequeued": 1, "sweepsQueued": 3, "historyImportsResumed": 0, "conversationsExpired": 0}),
        "the three accounts still active are swept"
    );
    // One queue in this rig: the stranded send and the three sweeps.
    let sqs = aws_sdk_sqs::Client::new(&rig.aws.sdk);
    let mut bodies = Vec::new();
    for _ in 0..5 {
        let queued =
            sqs.receive_message().queue_url(&rig.queue).max_number_of_messages(10).wait_time_seconds(1).send().await;
        bodies.extend(queued.unwrap().messages.unwrap_or_default().into_iter().filter_map(|m| m.body));
    }
    assert!(bodies.iter().any(|b| b.contains("job_stranded")), "the stranded job is back on the queue: {bodies:?}");
    assert_eq!(bodies.iter().filter(|b| b.contains("SWEEP_ACCOUNT")).count(), 3, "{bodies:?}");

    let exchanges: Vec<_> = graph.calls().into_iter().filter(|c| c.path.ends_with("/oauth/access_token")).collect();
    assert_eq!(exchanges.len(), 1);
    assert!(exchanges[0].query.contains("grant_type=fb_exchange_token"));
    let refreshed = adapters.store.get_token(EVENTS_ORG, "acc_due", TokenKind::User).await.unwrap().unwrap();
    assert!(refreshed.expires_at.unwrap() > now + Duration::days(59), "the new ~60-day expiry");
    let context = TokenContext { organization_id: EVENTS_ORG, connected_account_id: "acc_due" };
    assert_eq!(adapters.cipher.decrypt(&refreshed.encrypted, &context).await.unwrap(), "EAAB-long-lived-user-token");
    let flagged = adapters.store.get_account(EVENTS_ORG, "acc_expired").await.unwrap().unwrap();
    assert_eq!(flagged.status, AccountStatus::ReauthRequired);
    assert_eq!(
        adapters.store.get_account(EVENTS_ORG, "acc_later").await.unwrap().unwrap().status,
        AccountStatus::Active
    );
    assert!(!run.logs.contains("EAAB-"), "no token in any log line");

    // A second run finds nothing due: the refreshed token moved out, the failed one is parked.
    let again = invoke(env!("CARGO_BIN_EXE_token-refresh"), &rig.env(), &[event("token-refresh/scheduled.json")]).await;
    assert_eq!(
        again.invocations[0].response(),
        &json!({"due": 0, "refreshed": 0, "failed": 0, "reauthRequired": 0, "skipped": 0, "reasons": {},
                "jobsRequeued": 1, "sweepsQueued": 3, "historyImportsResumed": 0, "conversationsExpired": 0}),
        "the job is still open, so it is queued again until a worker takes it"
    );
}
