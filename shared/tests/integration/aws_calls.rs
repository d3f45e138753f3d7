//! How many AWS calls one inbound text and one send make, counted by an SDK interceptor on
//! DynamoDB, SQS and KMS (moto). The bounds guard against a change that quietly adds calls
//! to the hot paths; run with `--nocapture` to see the breakdown. Rounds are the calls made
//! one after another (calls made side by side count once): what latency multiplies.

use inbox_shared::domain::Caller;
use inbox_shared::testing::aws_counter::Work;
use inbox_shared::testing::counted::{ACCOUNT_ID, Counted, ORG, text};
use inbox_shared::testing::local_aws::{CUSTOMER, local_aws};

#[tokio::test]
async fn aws_calls_per_inbound_text_and_per_send_stay_small() {
    let Some(aws) = local_aws().await else { return };
    let rig = Counted::start(&aws).await;
    let (services, counter) = (&rig.services, &rig.counter);
    let now_ms = chrono::Utc::now().timestamp_millis();
    services.inbound.accept_webhook(text(CUSTOMER, "first", now_ms - 1000)).await.unwrap();
    // The new customer's profile lookup, queued by the first message.
    rig.run_queued().await;
    counter.take();

    services.inbound.accept_webhook(text(CUSTOMER, "second", now_ms)).await.unwrap();
    let inbound = counter.take();
    services.inbound.accept_webhook(text(CUSTOMER, "second", now_ms)).await.unwrap();
    let duplicate = counter.take();

    let conversation = rig.adapters.store.find_conversation(ORG, ACCOUNT_ID, CUSTOMER).await.unwrap().unwrap();
    counter.take();
    let agent = Caller { organization_id: ORG.into(), subject: Some("agent-1".into()), admin: false };
    services.outbound.send_text(&agent, &conversation.id, "reply", None).await.unwrap();
    let send_api = counter.take();
    assert_eq!(rig.run_queued().await, 1, "the send's job");
    let processor = counter.take();
    let sends = rig.graph.calls().iter().filter(|c| c.path.ends_with("/messages")).count();
    assert_eq!(sends, 1);

    let show = |w: &Work| {
        format!("{} calls in {} rounds {:?}, {} WRU, {} RRU", w.total(), w.rounds, w.calls, w.write_units, w.read_units)
    };
    eprintln!("inbound text (existing conversation): {}", show(&inbound));
    eprintln!("the same text redelivered: {}", show(&duplicate));
    eprintln!("send, API side: {}", show(&send_api));
    eprintln!("send, processor side: {}", show(&processor));
    // mid ‖ conversation, the transaction, then the changes that waited for this mid (its
    // events come from the table's stream, not from these calls).
    assert!(inbound.total() <= 4, "{inbound:?}");
    assert!(inbound.rounds <= 3, "{inbound:?}");
    assert_eq!(duplicate.rounds, 1, "a duplicate is recognised in one round trip: {duplicate:?}");
    assert_eq!(duplicate.count("TransactWriteItems"), 0, "{duplicate:?}");
    assert_eq!(duplicate.write_units, 0.0, "a duplicate writes nothing: {duplicate:?}");
    assert!(inbound.write_units > 0.0 && inbound.read_units > 0.0, "{inbound:?}");
    assert!(send_api.total() <= 5, "{send_api:?}");
    // Exactly-once costs two writes: the attempt recorded before Meta is called, and Meta's id
    // recorded on the job before the rest of the bookkeeping.
    assert!(processor.total() <= 13, "{processor:?}");
    // The Page token was opened (KMS Decrypt) for the new customer's profile lookup a moment
    // before: the send reads its record but opens it from the process's cache.
    assert_eq!(processor.count("Decrypt"), 0, "no KMS call per send: {processor:?}");
    for work in [&inbound, &send_api, &processor] {
        assert_eq!(work.count("Scan"), 0, "no Scan anywhere: {work:?}");
    }
}
