//! Conformance cases: jobs and idempotency keys.

use super::*;
use crate::domain::{Author, SendPayload, SendRoute};

pub fn job(org: &str, at: DateTime<Utc>) -> IntegrationJob {
    let payload = SendPayload {
        conversation_id: unique("conv"),
        message_id: unique("msg"),
        text: "hi".into(),
        attachment: None,
        quick_replies: Vec::new(),
        template: None,
        take_control: false,
        recipient_id: "6185".into(),
        thread_id: "6185".into(),
        author: Author::Person,
        route: SendRoute::Direct,
    };
    IntegrationJob::send_message(unique("job"), org, Provider::Instagram, payload, at)
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
