//! The store conformance suite: one behaviour, every adapter. Each case uses fresh ids
//! (organization, account), so the suite can share one backing table.
//!
//! `store_conformance_tests!(async_expr_returning_store)` expands to one `#[tokio::test]` per
//! case; the memory adapter runs it in this crate, the DynamoDB adapter against moto.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::domain::{
    AccountStatus, Activity, ConnectedAccount, Conversation, Cursor, CustomerProfile, Direction, EncryptedToken,
    IdempotencyRecord, IntegrationJob, JobExpectation, JobStatus, Lead, Message, MessageChange, MessageStatus,
    OAuthToken, PageRequest, Provider, TokenKind, new_id,
};
use crate::ports::{Appended, MarkSent, RawEvent, Store, StoreError};

pub use crate::conformance_waiting::{
    an_unsent_preview_is_replaced_only_while_nothing_newer_came, changes_wait_for_their_message_once_each,
};

pub fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000 + secs, 0).unwrap()
}

pub(crate) fn unique(prefix: &str) -> String {
    new_id(prefix)
}

pub fn account(org: &str) -> ConnectedAccount {
    ConnectedAccount {
        id: unique("acc"),
        organization_id: org.to_owned(),
        provider: Provider::Instagram,
        external_account_id: unique("ig").replace("ig_", ""),
        page_id: Some(unique("page")),
        display_name: Some("Shop".into()),
        username: Some("shop".into()),
        status: AccountStatus::Active,
        created_at: t(0),
        updated_at: t(0),
    }
}

pub fn conversation(org: &str, account_id: &str, participant: &str, at: DateTime<Utc>) -> Conversation {
    Conversation::opened(unique("conv"), org, account_id, participant, at, at)
}

pub fn message(c: &Conversation, mid: Option<&str>, direction: Direction, at: DateTime<Utc>, text: &str) -> Message {
    Message {
        id: unique("msg"),
        organization_id: c.organization_id.clone(),
        conversation_id: c.id.clone(),
        provider: Provider::Instagram,
        direction,
        from: c.participant_id.clone(),
        to: "us".into(),
        text: Some(text.into()),
        attachments: vec![],
        status: MessageStatus::Received,
        error_code: None,
        external_message_id: mid.map(str::to_owned),
        meta_json: json!({"messageId": mid}),
        created_at: at,
        updated_at: at,
    }
}

fn activity(direction: Direction, at: DateTime<Utc>, text: &str) -> Activity {
    Activity { direction, at, preview: Some(text.into()), recorded_at: at }
}

pub(crate) async fn append(
    store: &dyn Store,
    c: &Conversation,
    mid: &str,
    direction: Direction,
    at: DateTime<Utc>,
    text: &str,
) -> Appended {
    store.append_message(c, &message(c, Some(mid), direction, at, text), &activity(direction, at, text)).await.unwrap()
}

pub(crate) async fn new_conversation(
    store: &dyn Store,
    org: &str,
    participant: &str,
    at: DateTime<Utc>,
) -> Conversation {
    store.create_conversation(&conversation(org, "acc_1", participant, at)).await.unwrap()
}

pub async fn accounts_are_found_by_instagram_id_and_page_id(store: &dyn Store) {
    let org = unique("org");
    let a = account(&org);
    store.put_account(&a).await.unwrap();
    assert_eq!(store.get_account(&org, &a.id).await.unwrap().as_ref(), Some(&a));
    assert_eq!(store.find_account_by_external_id(&a.external_account_id).await.unwrap().as_ref(), Some(&a));
    assert_eq!(store.find_account_by_external_id(a.page_id.as_deref().unwrap()).await.unwrap().as_ref(), Some(&a));
    assert_eq!(store.get_account(&unique("org"), &a.id).await.unwrap(), None, "other organization");
    assert_eq!(store.find_account_by_external_id(&unique("nobody")).await.unwrap(), None);
    let mut updated = a.clone();
    updated.status = AccountStatus::ReauthRequired;
    updated.updated_at = t(5);
    store.put_account(&updated).await.unwrap();
    assert_eq!(store.find_account_by_external_id(&a.external_account_id).await.unwrap(), Some(updated.clone()));
    assert_eq!(store.list_accounts(&org).await.unwrap(), vec![updated]);
}

/// An Instagram account is one organization's while connected there: another organization's
/// write is refused (also when both write at once), and takes it over once it is
/// disconnected; the earlier owner's record stays its own.
pub async fn the_account_stored_last_owns_its_external_ids(store: &dyn Store) {
    let first = account(&unique("org"));
    store.put_account(&first).await.unwrap();
    let mut second = account(&unique("org"));
    second.external_account_id = first.external_account_id.clone();
    second.page_id = first.page_id.clone();
    assert!(matches!(store.put_account(&second).await, Err(StoreError::Conflict(_))), "connected elsewhere");
    assert_eq!(store.find_account_by_external_id(&first.external_account_id).await.unwrap(), Some(first.clone()));
    store.set_account_status(&first.organization_id, &first.id, AccountStatus::Disconnected, t(3)).await.unwrap();
    store.put_account(&second).await.unwrap();
    assert_eq!(store.find_account_by_external_id(&first.external_account_id).await.unwrap(), Some(second.clone()));
    assert_eq!(
        store.find_account_by_external_id(first.page_id.as_deref().unwrap()).await.unwrap(),
        Some(second.clone())
    );
    let mut first_disconnected = first.clone();
    first_disconnected.status = AccountStatus::Disconnected;
    first_disconnected.updated_at = t(3);
    assert_eq!(store.get_account(&first.organization_id, &first.id).await.unwrap(), Some(first_disconnected));
    // Two organizations connecting one new account at the same moment: exactly one gets it.
    let contested = unique("contested");
    let racers: Vec<ConnectedAccount> = (0..4)
        .map(|_| ConnectedAccount { external_account_id: contested.clone(), page_id: None, ..account(&unique("org")) })
        .collect();
    let results = futures_join_all(racers.iter().map(|a| store.put_account(a))).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    // A page re-linked to another account stops routing to the old one.
    let mut moved = second.clone();
    moved.page_id = Some(unique("page"));
    store.put_account(&moved).await.unwrap();
    assert_eq!(store.find_account_by_external_id(first.page_id.as_deref().unwrap()).await.unwrap(), None);
    assert_eq!(store.find_account_by_external_id(moved.page_id.as_deref().unwrap()).await.unwrap(), Some(moved));
}

pub async fn one_conversation_per_customer_even_when_created_twice(store: &dyn Store) {
    let org = unique("org");
    let first = new_conversation(store, &org, "cust", t(0)).await;
    let second = store.create_conversation(&conversation(&org, "acc_1", "cust", t(1))).await.unwrap();
    assert_eq!(first.id, second.id);
    let found = store.find_conversation(&org, "acc_1", "cust").await.unwrap().unwrap();
    assert_eq!(found.id, first.id);
    assert_eq!(store.find_conversation(&org, "acc_2", "cust").await.unwrap(), None);
    assert_eq!(store.find_conversation(&unique("org"), "acc_1", "cust").await.unwrap(), None);
    assert_eq!(store.get_conversation(&unique("org"), &first.id).await.unwrap(), None);
}

pub async fn a_redelivered_message_id_is_stored_once(store: &dyn Store) {
    let org = unique("org");
    let c = new_conversation(store, &org, "cust", t(0)).await;
    let mid = unique("mid");
    let Appended::New { message, conversation } = append(store, &c, &mid, Direction::Inbound, t(10), "hi").await else {
        panic!("first delivery is new");
    };
    assert_eq!(conversation.unread_count, 1);
    let Appended::Duplicate(dup) = append(store, &c, &mid, Direction::Inbound, t(10), "hi").await else {
        panic!("second delivery is a duplicate");
    };
    assert_eq!(dup.id, message.id);
    assert_eq!(store.get_conversation(&org, &c.id).await.unwrap().unwrap().unread_count, 1);
    assert_eq!(store.find_message_by_external_id(&org, &mid).await.unwrap().unwrap().id, message.id);
    assert_eq!(store.get_message(&org, &message.id).await.unwrap().unwrap(), *message);
    // Another organization may hold the same Meta id (the same account connected twice).
    let other = unique("org");
    let c2 = new_conversation(store, &other, "cust", t(0)).await;
    assert!(matches!(append(store, &c2, &mid, Direction::Inbound, t(10), "hi").await, Appended::New { .. }));
    assert_eq!(store.get_message(&other, &message.id).await.unwrap(), None);
}

pub async fn conversation_summary_follows_the_newest_message_whatever_the_arrival_order(store: &dyn Store) {
    let org = unique("org");
    let c = new_conversation(store, &org, "cust", t(0)).await;
    append(store, &c, &unique("m"), Direction::Inbound, t(20), "second").await;
    append(store, &c, &unique("m"), Direction::Inbound, t(10), "first (late)").await;
    let got = store.get_conversation(&org, &c.id).await.unwrap().unwrap();
    assert_eq!(got.preview_text.as_deref(), Some("second"));
    assert_eq!(got.last_message_at, t(20));
    assert_eq!(got.last_inbound_at, Some(t(20)));
    assert_eq!(got.unread_count, 2);
    assert_eq!(got.awaiting_reply_since, Some(t(10)));
    assert_eq!(got.last_message_direction, Some(Direction::Inbound));
    append(store, &c, &unique("m"), Direction::Outbound, t(30), "answer").await;
    let got = store.get_conversation(&org, &c.id).await.unwrap().unwrap();
    assert_eq!(got.last_outbound_at, Some(t(30)));
    assert_eq!(got.last_message_direction, Some(Direction::Outbound));
    assert_eq!(got.preview_text.as_deref(), Some("answer"));
    assert_eq!(got.awaiting_reply_since, None);
    assert_eq!(got.unread_count, 2, "our own replies are not unread");
    let read = store.mark_conversation_read(&org, &c.id).await.unwrap().unwrap();
    assert_eq!(read.unread_count, 0);
    assert_eq!(store.mark_conversation_read(&unique("org"), &c.id).await.unwrap(), None);
}

pub async fn conversations_list_newest_first_in_cursor_pages_within_one_organization(store: &dyn Store) {
    let org = unique("org");
    let mut ids = Vec::new();
    for i in 0..5 {
        let c = new_conversation(store, &org, &format!("cust{i}"), t(0)).await;
        append(store, &c, &unique("m"), Direction::Inbound, t(100 + i), "x").await;
        ids.push(c.id);
    }
    new_conversation(store, &unique("org"), "stranger", t(500)).await;
    ids.reverse();
    let first = store.list_conversations(&org, Some(Provider::Instagram), &PageRequest::first(2)).await.unwrap();
    assert_eq!(first.data.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), ids[..2]);
    let mut seen: Vec<String> = first.data.iter().map(|c| c.id.clone()).collect();
    let mut cursor = first.next_cursor;
    while let Some(c) = cursor {
        let page = PageRequest { limit: 2, after: Some(Cursor::decode(&c).unwrap()) };
        let next = store.list_conversations(&org, None, &page).await.unwrap();
        seen.extend(next.data.iter().map(|c| c.id.clone()));
        cursor = next.next_cursor;
    }
    assert_eq!(seen, ids, "every conversation once, newest first, none of another organization");
    let all = store.list_conversations(&org, None, &PageRequest::first(5)).await.unwrap();
    assert_eq!(all.data.len(), 5);
    assert_eq!(all.next_cursor, None, "an exactly full last page has no next cursor");
}

pub async fn messages_list_newest_first_in_cursor_pages(store: &dyn Store) {
    let org = unique("org");
    let c = new_conversation(store, &org, "cust", t(0)).await;
    let other = new_conversation(store, &org, "other", t(0)).await;
    for i in 0..3 {
        append(store, &c, &unique("m"), Direction::Inbound, t(10 + i), &format!("m{i}")).await;
    }
    append(store, &other, &unique("m"), Direction::Inbound, t(50), "elsewhere").await;
    let p1 = store.list_messages(&org, &c.id, &PageRequest::first(2)).await.unwrap();
    assert_eq!(p1.data.iter().map(|m| m.text.clone().unwrap()).collect::<Vec<_>>(), ["m2", "m1"]);
    let after = Cursor::decode(p1.next_cursor.as_deref().unwrap()).unwrap();
    let p2 = store.list_messages(&org, &c.id, &PageRequest { limit: 2, after: Some(after) }).await.unwrap();
    assert_eq!(p2.data.iter().map(|m| m.text.clone().unwrap()).collect::<Vec<_>>(), ["m0"]);
    assert_eq!(p2.next_cursor, None);
    assert!(store.list_messages(&unique("org"), &c.id, &PageRequest::first(10)).await.unwrap().data.is_empty());
}

pub async fn contact_details_and_lead_link_are_set(store: &dyn Store) {
    let org = unique("org");
    let c = new_conversation(store, &org, "cust", t(0)).await;
    let got =
        store.set_conversation_contact(&org, &c.id, Some("ana"), Some("Ana"), Some("lead_1")).await.unwrap().unwrap();
    assert_eq!(
        (got.handle.as_deref(), got.display_name.as_deref(), got.lead_id.as_deref()),
        (Some("ana"), Some("Ana"), Some("lead_1"))
    );
    let got = store.set_conversation_contact(&org, &c.id, None, None, Some("lead_2")).await.unwrap().unwrap();
    assert_eq!(
        (got.handle.as_deref(), got.lead_id.as_deref()),
        (Some("ana"), Some("lead_2")),
        "None leaves a field as it is"
    );
    assert_eq!(store.set_conversation_contact(&unique("org"), &c.id, Some("x"), None, None).await.unwrap(), None);
}

pub async fn leads_are_unique_per_instagram_identity_and_found_by_it(store: &dyn Store) {
    let org = unique("org");
    let lead = |i: i64, handle: Option<&str>, user: Option<&str>| Lead {
        id: unique("lead"),
        organization_id: org.clone(),
        name: Some(format!("Lead {i}")),
        email: None,
        phone: None,
        instagram_handle: handle.map(str::to_owned),
        instagram_user_id: user.map(str::to_owned),
        created_at: t(i),
    };
    let ana = lead(1, Some("ana.silva"), Some("6185"));
    store.create_lead(&ana).await.unwrap();
    store.create_lead(&lead(2, None, None)).await.unwrap();
    store.create_lead(&lead(3, Some("bob"), None)).await.unwrap();
    assert!(matches!(store.create_lead(&lead(4, Some("ana.silva"), None)).await, Err(StoreError::Conflict(_))));
    assert!(matches!(store.create_lead(&lead(5, None, Some("6185"))).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.find_lead_by_instagram_handle(&org, "ana.silva").await.unwrap().as_ref(), Some(&ana));
    assert_eq!(store.find_lead_by_instagram_user_id(&org, "6185").await.unwrap().as_ref(), Some(&ana));
    assert_eq!(store.find_lead_by_instagram_handle(&unique("org"), "ana.silva").await.unwrap(), None);
    let page = store.list_leads(&org, &PageRequest::first(2)).await.unwrap();
    assert_eq!(page.data.iter().map(|l| l.name.clone().unwrap()).collect::<Vec<_>>(), ["Lead 3", "Lead 2"]);
    let rest = PageRequest { limit: 2, after: Cursor::decode(page.next_cursor.as_deref().unwrap()) };
    assert_eq!(store.list_leads(&org, &rest).await.unwrap().data, vec![ana.clone()]);
    // Another organization may have its own lead for the same person.
    let mut theirs = ana.clone();
    theirs.id = unique("lead");
    theirs.organization_id = unique("org");
    store.create_lead(&theirs).await.unwrap();
}

pub async fn profiles_are_cached_per_organization(store: &dyn Store) {
    let org = unique("org");
    let p = CustomerProfile {
        organization_id: org.clone(),
        instagram_user_id: "6185".into(),
        username: Some("ana".into()),
        name: None,
        fetched: true,
        fetched_at: t(0),
    };
    store.put_profile(&p).await.unwrap();
    assert_eq!(store.get_profile(&org, "6185").await.unwrap(), Some(p));
    assert_eq!(store.get_profile(&unique("org"), "6185").await.unwrap(), None);
}

pub async fn raw_events_are_kept_once_and_listed_oldest_first(store: &dyn Store) {
    let account = unique("ext");
    let ev = |id: &str, secs: i64| RawEvent {
        id: id.to_owned(),
        external_account_id: account.clone(),
        reason: "no connected account".into(),
        payload: json!({"n": secs}),
        received_at: t(secs),
        expires_at: Some(t(secs) + chrono::Duration::days(30)),
    };
    store.put_raw_event(&ev("b", 20)).await.unwrap();
    store.put_raw_event(&ev("a", 10)).await.unwrap();
    store.put_raw_event(&ev("a", 10)).await.unwrap();
    let listed = store.list_raw_events(&account).await.unwrap();
    assert_eq!(listed.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    let first = store.raw_events_page(&account, &PageRequest::first(1)).await.unwrap();
    assert_eq!(first.data.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["a"], "oldest first, one page");
    let after = first.next_cursor.as_deref().and_then(Cursor::decode).expect("a second page");
    let second = store.raw_events_page(&account, &PageRequest { limit: 1, after: Some(after) }).await.unwrap();
    assert_eq!((second.data.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), second.next_cursor), (vec!["b"], None));
    store.delete_raw_event(&account, "a").await.unwrap();
    assert_eq!(store.list_raw_events(&account).await.unwrap(), vec![ev("b", 20)]);
    assert!(store.list_raw_events(&unique("ext")).await.unwrap().is_empty());
}

pub fn job(org: &str, at: DateTime<Utc>) -> IntegrationJob {
    IntegrationJob::send_message(unique("job"), org, json!({"text": "hi"}), at)
}

pub async fn a_job_is_claimed_by_one_worker_until_its_lease_expires(store: &dyn Store) {
    let org = unique("org");
    let j = job(&org, t(10));
    assert!(store.replace_job(&j, JobExpectation::Absent).await.unwrap(), "created once");
    assert!(!store.replace_job(&j, JobExpectation::Absent).await.unwrap(), "never created over itself");
    assert_eq!(store.claim_job(&org, &j.id, t(5), t(65), "w0").await.unwrap(), None, "not due yet");
    let claimed = store.claim_job(&org, &j.id, t(10), t(70), "w1").await.unwrap().expect("due");
    assert_eq!((claimed.status, claimed.attempts, claimed.lease_expires_at), (JobStatus::Processing, 1, Some(t(70))));
    assert_eq!(claimed.claim_id.as_deref(), Some("w1"));
    assert_eq!(store.claim_job(&org, &j.id, t(11), t(71), "w2").await.unwrap(), None, "held by the first worker");
    assert_eq!(store.claim_job(&unique("org"), &j.id, t(80), t(90), "w2").await.unwrap(), None, "other organization");
    let again = store.claim_job(&org, &j.id, t(70), t(130), "w2").await.unwrap().expect("lease expired");
    assert_eq!(again.attempts, 2);
    // The first worker, late, can no longer write; the second can.
    let mut late = claimed.clone();
    late.status = JobStatus::Failed;
    assert!(!store.replace_job(&late, JobExpectation::ClaimedBy("w1")).await.unwrap(), "claim lost");
    let mut done = again.clone();
    done.status = JobStatus::Succeeded;
    done.lease_expires_at = None;
    assert!(store.replace_job(&done, JobExpectation::ClaimedBy("w2")).await.unwrap());
    assert_eq!(store.claim_job(&org, &j.id, t(500), t(600), "w3").await.unwrap(), None, "finished jobs stay finished");
    assert_eq!(store.get_job(&org, &j.id).await.unwrap(), Some(done.clone()));
    assert_eq!(store.get_job(&unique("org"), &j.id).await.unwrap(), None);
    let mut reopened = done.clone();
    reopened.status = JobStatus::Pending;
    assert!(!store.replace_job(&reopened, JobExpectation::Status(JobStatus::Failed)).await.unwrap(), "not failed");
    assert!(store.replace_job(&reopened, JobExpectation::Status(JobStatus::Succeeded)).await.unwrap());
}

pub async fn stranded_jobs_are_found_until_they_finish(store: &dyn Store) {
    let org = unique("org");
    let past = t(0) - chrono::Duration::days(3650);
    let mut due = job(&org, past);
    let mut future = job(&org, t(1000));
    let mut done = job(&org, past);
    done.status = JobStatus::Succeeded;
    done.next_attempt_at = None;
    for j in [&due, &future, &done] {
        store.put_job(j).await.unwrap();
    }
    let claimed = job(&org, past);
    store.put_job(&claimed).await.unwrap();
    store.claim_job(&org, &claimed.id, past, past + chrono::Duration::minutes(5), "w1").await.unwrap().unwrap();
    let mine = |jobs: Vec<IntegrationJob>| -> Vec<String> {
        jobs.into_iter().filter(|j| j.organization_id == org).map(|j| j.id).collect()
    };
    let mut expected = vec![due.id.clone(), claimed.id.clone()];
    expected.sort();
    let mut found = mine(store.list_stranded_jobs(t(500), 10_000).await.unwrap());
    found.sort();
    assert_eq!(found, expected, "the due pending job and the one whose claim expired");
    due.status = JobStatus::Succeeded;
    store.put_job(&due).await.unwrap();
    future.next_attempt_at = Some(t(2000));
    store.put_job(&future).await.unwrap();
    assert_eq!(mine(store.list_stranded_jobs(t(500), 10_000).await.unwrap()), vec![claimed.id.clone()]);
}

pub async fn an_idempotency_key_is_reserved_once_per_organization(store: &dyn Store) {
    let org = unique("org");
    let record = |org: &str, digest: &str| IdempotencyRecord {
        organization_id: org.to_owned(),
        key: "key-1".into(),
        request_digest: digest.into(),
        response: json!({"jobId": digest}),
        created_at: t(0),
    };
    assert_eq!(store.reserve_idempotency_key(&record(&org, "first")).await.unwrap(), None);
    assert_eq!(store.reserve_idempotency_key(&record(&org, "second")).await.unwrap(), Some(record(&org, "first")));
    let other = unique("org");
    assert_eq!(store.reserve_idempotency_key(&record(&other, "x")).await.unwrap(), None);
}

pub async fn a_sent_message_takes_its_meta_id_unless_another_holds_it(store: &dyn Store) {
    let org = unique("org");
    let c = new_conversation(store, &org, "cust", t(0)).await;
    let mut ours = message(&c, None, Direction::Outbound, t(5), "reply");
    ours.status = MessageStatus::Queued;
    store.insert_message(&ours).await.unwrap();
    assert_eq!(
        store.get_conversation(&org, &c.id).await.unwrap().unwrap().last_outbound_at,
        None,
        "queued is not sent"
    );
    let mid = unique("mid");
    let Appended::New { message: echo, .. } = append(store, &c, &mid, Direction::Outbound, t(6), "reply").await else {
        panic!("echo stored");
    };
    let MarkSent::IdTakenBy(holder) = store.mark_message_sent(&org, &ours.id, &mid, t(7)).await.unwrap() else {
        panic!("the echo holds the id");
    };
    assert_eq!(holder.id, echo.id);
    store.delete_message(&org, &echo.id).await.unwrap();
    assert_eq!(store.get_message(&org, &echo.id).await.unwrap(), None);
    let MarkSent::Sent(sent) = store.mark_message_sent(&org, &ours.id, &mid, t(7)).await.unwrap() else {
        panic!("id free now");
    };
    assert_eq!((sent.status, sent.external_message_id.as_deref()), (MessageStatus::Sent, Some(mid.as_str())));
    assert_eq!(store.find_message_by_external_id(&org, &mid).await.unwrap().unwrap().id, ours.id);
    assert!(
        matches!(store.mark_message_sent(&org, &ours.id, &mid, t(8)).await.unwrap(), MarkSent::Sent(_)),
        "idempotent"
    );
    assert_eq!(
        store.mark_message_sent(&unique("org"), &ours.id, &unique("mid"), t(8)).await.unwrap(),
        MarkSent::NotFound
    );
    let mut clash = message(&c, Some(&mid), Direction::Outbound, t(9), "dup");
    clash.status = MessageStatus::Queued;
    assert!(matches!(store.insert_message(&clash).await, Err(StoreError::Conflict(_))));
    let failed = store.mark_message_failed(&org, &ours.id, "RATE_LIMITED", t(9)).await.unwrap().unwrap();
    assert_eq!((failed.status, failed.error_code.as_deref()), (MessageStatus::Failed, Some("RATE_LIMITED")));
    let applied =
        store.apply_activity(&org, &c.id, &activity(Direction::Outbound, t(7), "reply")).await.unwrap().unwrap();
    assert_eq!((applied.last_outbound_at, applied.preview_text.as_deref()), (Some(t(7)), Some("reply")));
    assert_eq!(
        store.apply_activity(&unique("org"), &c.id, &activity(Direction::Outbound, t(7), "x")).await.unwrap(),
        None
    );
}

pub async fn later_events_change_a_stored_message(store: &dyn Store) {
    let org = unique("org");
    let c = new_conversation(store, &org, "cust", t(0)).await;
    let mut ours = message(&c, Some(&unique("mid")), Direction::Outbound, t(5), "reply");
    ours.status = MessageStatus::Sent;
    store.insert_message(&ours).await.unwrap();
    let react = MessageChange::Reaction {
        by: "cust".into(),
        reaction: Some("love".into()),
        emoji: Some("❤️".into()),
        removed: false,
    };
    let got = store.update_message(&org, &ours.id, &react, t(6)).await.unwrap().unwrap();
    assert_eq!(got.meta_json["reactions"]["cust"]["emoji"], "❤️");
    let got = store.update_message(&org, &ours.id, &MessageChange::Read, t(7)).await.unwrap().unwrap();
    assert_eq!(got.status, MessageStatus::Read);
    let edit = MessageChange::Edited { text: Some("reply, edited".into()), edits: Some("1".into()) };
    let got = store.update_message(&org, &ours.id, &edit, t(8)).await.unwrap().unwrap();
    assert_eq!((got.text.as_deref(), got.meta_json["previousText"].as_str()), (Some("reply, edited"), Some("reply")));
    assert_eq!(got.meta_json["reactions"]["cust"]["reaction"], "love", "earlier changes kept");
    // A later status change and a content change do not overwrite each other.
    store.mark_message_failed(&org, &ours.id, "X", t(9)).await.unwrap();
    let got = store.update_message(&org, &ours.id, &MessageChange::Deleted, t(10)).await.unwrap().unwrap();
    assert_eq!((got.status, got.text.as_deref(), got.error_code.as_deref()), (MessageStatus::Deleted, None, Some("X")));
    assert_eq!(store.get_message(&org, &ours.id).await.unwrap(), Some(got));
    assert_eq!(store.update_message(&unique("org"), &ours.id, &MessageChange::Read, t(11)).await.unwrap(), None);
}

/// Concurrent writers never lose each other's updates: first messages from one customer
/// share one conversation, every message is counted, one worker wins a job claim.
pub async fn concurrent_writers_lose_nothing(store: &dyn Store) {
    let org = unique("org");
    let racers = 12;
    let fresh: Vec<Conversation> = (0..racers).map(|i| conversation(&org, "acc_1", "cust", t(i))).collect();
    let created = futures_join_all(fresh.iter().map(|c| store.create_conversation(c))).await;
    let ids: std::collections::BTreeSet<_> = created.into_iter().map(|c| c.unwrap().id).collect();
    assert_eq!(ids.len(), 1, "one conversation per customer");
    let c = store.find_conversation(&org, "acc_1", "cust").await.unwrap().unwrap();
    let mids: Vec<String> = (0..racers).map(|_| unique("mid")).collect();
    let appended = futures_join_all(
        mids.iter().enumerate().map(|(i, mid)| append(store, &c, mid, Direction::Inbound, t(10 + i as i64), "x")),
    )
    .await;
    assert!(appended.iter().all(|a| matches!(a, Appended::New { .. })));
    let got = store.get_conversation(&org, &c.id).await.unwrap().unwrap();
    assert_eq!(got.unread_count, racers as u32, "every concurrent message counted once");
    assert_eq!(got.last_message_at, t(10 + racers - 1));
    assert_eq!(store.list_messages(&org, &c.id, &PageRequest::first(100)).await.unwrap().data.len(), racers as usize);
    let j = job(&org, t(0));
    store.put_job(&j).await.unwrap();
    let claims = futures_join_all((0..racers).map(|_| store.claim_job(&org, &j.id, t(1), t(100), "racer"))).await;
    assert_eq!(claims.into_iter().filter(|c| matches!(c, Ok(Some(_)))).count(), 1, "one worker wins the claim");
}

/// Runs futures concurrently on the current task (no extra crate for `join_all`).
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in pinned.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    out.into_iter().map(|o| o.expect("every future finished")).collect()
}

pub async fn tokens_and_account_status_are_kept_per_account(store: &dyn Store) {
    let org = unique("org");
    let a = account(&org);
    store.put_account(&a).await.unwrap();
    let token = OAuthToken {
        organization_id: org.clone(),
        connected_account_id: a.id.clone(),
        kind: TokenKind::Page,
        encrypted: EncryptedToken {
            scheme: "AES256GCM".into(),
            key_id: "k".into(),
            nonce: "bm9uY2U=".into(),
            ciphertext: "Y2lwaGVy".into(),
            encrypted_data_key: None,
        },
        expires_at: Some(t(3600)),
        refreshed_at: t(0),
        created_at: t(0),
        refresh_failed_at: None,
        refresh_lease_until: None,
    };
    store.put_token(&token).await.unwrap();
    assert_eq!(store.get_token(&org, &a.id, TokenKind::Page).await.unwrap(), Some(token.clone()));
    assert_eq!(store.get_token(&org, &a.id, TokenKind::User).await.unwrap(), None, "one token per kind");
    assert_eq!(store.get_token(&unique("org"), &a.id, TokenKind::Page).await.unwrap(), None);
    let user = OAuthToken { kind: TokenKind::User, ..token.clone() };
    store.put_token(&user).await.unwrap();
    store.delete_token(&org, &a.id, TokenKind::Page).await.unwrap();
    assert_eq!(store.get_token(&org, &a.id, TokenKind::Page).await.unwrap(), None);
    assert_eq!(store.get_token(&org, &a.id, TokenKind::User).await.unwrap(), Some(user));
    let flagged = store.set_account_status(&org, &a.id, AccountStatus::ReauthRequired, t(9)).await.unwrap().unwrap();
    assert_eq!((flagged.status, flagged.updated_at), (AccountStatus::ReauthRequired, t(9)));
    assert_eq!(store.get_account(&org, &a.id).await.unwrap().unwrap().status, AccountStatus::ReauthRequired);
    assert_eq!(store.set_account_status(&unique("org"), &a.id, AccountStatus::Active, t(9)).await.unwrap(), None);
}

/// Tokens due soonest come first; failed ones never; one run at a time holds a token.
/// Due lists span organizations, so this case uses expiries far from every other case's.
pub async fn tokens_due_for_refresh_are_listed_soonest_first_and_claimed_once(store: &dyn Store) {
    let org = unique("org");
    let base = t(0) + chrono::Duration::days(365 * 300) + chrono::Duration::seconds(rand::random::<u32>() as i64);
    let token = |account: &str, expires: Option<DateTime<Utc>>, failed: bool| OAuthToken {
        organization_id: org.clone(),
        connected_account_id: account.to_owned(),
        kind: TokenKind::User,
        encrypted: EncryptedToken {
            scheme: "AES256GCM".into(),
            key_id: "k".into(),
            nonce: "bg==".into(),
            ciphertext: "Yw==".into(),
            encrypted_data_key: None,
        },
        expires_at: expires,
        refreshed_at: t(0),
        created_at: t(0),
        refresh_failed_at: failed.then(|| t(1)),
        refresh_lease_until: None,
    };
    let hour = chrono::Duration::hours(1);
    store.put_token(&token("later", Some(base + hour * 2), false)).await.unwrap();
    store.put_token(&token("sooner", Some(base + hour), false)).await.unwrap();
    store.put_token(&token("failed", Some(base + hour), true)).await.unwrap();
    store.put_token(&token("page", None, false)).await.unwrap();
    store.put_token(&token("far", Some(base + hour * 10), false)).await.unwrap();
    let due: Vec<_> = store
        .list_tokens_due(base + hour * 3, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.organization_id == org)
        .map(|t| t.connected_account_id)
        .collect();
    assert_eq!(due, ["sooner", "later"]);
    assert!(
        store
            .claim_token_refresh(&org, "sooner", TokenKind::User, base, base + chrono::Duration::minutes(5))
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_token_refresh(&org, "sooner", TokenKind::User, base, base + chrono::Duration::minutes(5))
            .await
            .unwrap()
    );
    let after = base + chrono::Duration::minutes(5);
    assert!(
        store
            .claim_token_refresh(&org, "sooner", TokenKind::User, after, after + chrono::Duration::minutes(5))
            .await
            .unwrap()
    );
    assert!(!store.claim_token_refresh(&org, "missing", TokenKind::User, base, after).await.unwrap());
}

/// Expands to one test per conformance case. `$make` is an async block giving
/// `Option<store>`; `None` skips (an adapter whose server is not running).
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::store_conformance_tests!(@cases $make;
            accounts_are_found_by_instagram_id_and_page_id,
            the_account_stored_last_owns_its_external_ids,
            one_conversation_per_customer_even_when_created_twice,
            a_redelivered_message_id_is_stored_once,
            conversation_summary_follows_the_newest_message_whatever_the_arrival_order,
            conversations_list_newest_first_in_cursor_pages_within_one_organization,
            messages_list_newest_first_in_cursor_pages,
            contact_details_and_lead_link_are_set,
            leads_are_unique_per_instagram_identity_and_found_by_it,
            profiles_are_cached_per_organization,
            raw_events_are_kept_once_and_listed_oldest_first,
            a_job_is_claimed_by_one_worker_until_its_lease_expires,
            stranded_jobs_are_found_until_they_finish,
            an_idempotency_key_is_reserved_once_per_organization,
            a_sent_message_takes_its_meta_id_unless_another_holds_it,
            tokens_and_account_status_are_kept_per_account,
            later_events_change_a_stored_message,
            concurrent_writers_lose_nothing,
            tokens_due_for_refresh_are_listed_soonest_first_and_claimed_once,
            changes_wait_for_their_message_once_each,
            an_unsent_preview_is_replaced_only_while_nothing_newer_came,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let Some(store) = $make.await else { return };
                $crate::conformance::$case(&*store).await;
            }
        )*
    };
}
