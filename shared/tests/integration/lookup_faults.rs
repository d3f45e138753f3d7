//! The profile lookup a new customer's DMs queue (one a minute per conversation), when SQS
//! fails the send: refused before SQS sees it, or done with its answer lost, the next DM
//! queues it once and the rest of the burst does not. The DMs are stored either way.

use inbox_shared::domain::JobType;
use inbox_shared::meta::webhook;
use inbox_shared::ports::QueueMessage;
use inbox_shared::testing::fault_proxy::Unanswered;
use inbox_shared::testing::local_aws::{IG_ACCOUNT, solo_local_aws};
use serde_json::json;

use crate::aws_faults::{ONE_AT_A_TIME, ORG, Rig, rig};

async fn dm(rig: &Rig, customer: &str, n: i64) {
    let at = chrono::Utc::now().timestamp_millis() + n;
    let body = json!({"object":"instagram","entry":[{"id":IG_ACCOUNT,"time":at,"messaging":[
        {"sender":{"id":customer},"recipient":{"id":IG_ACCOUNT},"timestamp":at,
         "message":{"mid":format!("lookup-{customer}-{n}"),"text":"hi"}}]}]});
    let report = rig.services.inbound.accept_webhook(webhook::parse(body.to_string().as_bytes()).unwrap()).await;
    assert_eq!(report.unwrap().stored, 1, "the DM is stored whatever the queue does");
}

/// The lookup jobs on the queue now, taken off it.
async fn lookups_queued(rig: &Rig) -> usize {
    let mut found = 0;
    loop {
        let out = rig.sqs.receive_message().queue_url(&rig.queue_url).max_number_of_messages(10).send().await.unwrap();
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return found;
        }
        for m in messages {
            let job: QueueMessage = serde_json::from_str(m.body().unwrap()).unwrap();
            found += usize::from(job.job_type() == JobType::EnrichContact);
            let receipt = m.receipt_handle().unwrap();
            rig.sqs.delete_message().queue_url(&rig.queue_url).receipt_handle(receipt).send().await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_sqs_refused_or_left_unheard_is_queued_once_by_the_next_dm() {
    let Some(aws) = solo_local_aws().await else { return };
    let _one = ONE_AT_A_TIME.lock().await;
    let rig = rig(&aws).await;

    // Refused: SQS never sees the send. The next DM queues the lookup, the one after does not.
    rig.proxy.fail_requests("SendMessage", Unanswered::BeforeAws);
    dm(&rig, "6185000000000771", 0).await;
    rig.proxy.heal();
    assert_eq!(lookups_queued(&rig).await, 0);
    dm(&rig, "6185000000000771", 1).await;
    dm(&rig, "6185000000000771", 2).await;
    assert_eq!(lookups_queued(&rig).await, 1, "queued by the next DM, once");

    // Sent, its answer lost (the SDK's tries too): SQS holds the lookup, and this process,
    // told the send failed, queues it again with the next DM, once. The job is harmless twice:
    // it skips a customer whose profile is known.
    rig.proxy.fail_requests("SendMessage", Unanswered::AfterAws);
    dm(&rig, "6185000000000772", 0).await;
    rig.proxy.heal();
    assert!(lookups_queued(&rig).await >= 1, "what SQS did is kept");
    dm(&rig, "6185000000000772", 1).await;
    dm(&rig, "6185000000000772", 2).await;
    assert_eq!(lookups_queued(&rig).await, 1, "queued again by the next DM, once");
    let stored = rig.store.list_conversations(ORG, Default::default(), &Default::default()).await.unwrap();
    assert_eq!(stored.data.len(), 2);
}
