//! Erasure under faults, on DynamoDB (moto) through a proxy that slows and cuts AWS, with
//! Meta unreachable: an erasure or a data deletion cut part way answers an error, the
//! request made again finishes it, and the end is the same as without the fault: nothing of
//! the person left, everyone else's untouched.

use std::time::Duration;

use chrono::Utc;
use inbox_shared::conformance::{conversation, message};
use inbox_shared::domain::{Activity, Caller, Direction, PageRequest, TokenKind};
use inbox_shared::meta::signed_request::sign;
use inbox_shared::ports::Store;
use inbox_shared::services::DeletionStatus;
use inbox_shared::testing::local_aws::solo_local_aws;
use serde_json::json;

use crate::aws_faults::{ONE_AT_A_TIME, ORG, Rig, rig};

const ANA: &str = "6185000000000001";
const BOB: &str = "6185000000000002";

async fn thread_of(store: &dyn Store, customer: &str, messages: usize) -> String {
    let at = Utc::now();
    let c = store.create_conversation(&conversation(ORG, "acc_faults", customer, at)).await.unwrap();
    for i in 0..messages {
        let m = message(&c, Some(&format!("mid-{customer}-{i}")), Direction::Inbound, at, "my address is ...");
        store.append_message(&c, &m, &Activity::live(Direction::Inbound, at, m.text.clone(), at)).await.unwrap();
    }
    c.id
}

fn admin() -> Caller {
    Caller { organization_id: ORG.into(), subject: Some("admin-1".into()), admin: true }
}

/// Runs `attempt` with AWS slowed and then cut part way; then again, with AWS back, until it
/// says it is done. How many attempts failed on the way.
async fn through_a_cut<F, Fut>(rig: &Rig, mut attempt: F) -> usize
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    rig.proxy.set_latency(Duration::from_millis(15));
    let cutter = async {
        tokio::time::sleep(Duration::from_millis(120)).await;
        rig.proxy.cut(Duration::from_millis(1500));
    };
    let (done, ()) = tokio::join!(attempt(), cutter);
    let mut failed = usize::from(!done);
    rig.proxy.set_latency(Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    while !attempt().await {
        failed += 1;
        assert!(failed < 20, "it finishes once AWS is back");
    }
    failed
}

#[tokio::test]
async fn a_customer_s_erasure_cut_part_way_finishes_when_asked_again_and_touches_no_one_else() {
    let Some(aws) = solo_local_aws().await else { return };
    let _one = ONE_AT_A_TIME.lock().await;
    let rig = rig(&aws).await;
    let ana = thread_of(&*rig.store, ANA, 40).await;
    let bob = thread_of(&*rig.store, BOB, 3).await;
    let inbox = rig.services.inbox.clone();
    let failed = through_a_cut(&rig, || async {
        matches!(inbox.erase_contact(&admin(), ANA).await, Ok(progress) if progress.done)
    })
    .await;
    assert!(failed >= 1, "the cut was felt");
    assert_eq!(rig.store.get_conversation(ORG, &ana).await.unwrap(), None);
    for i in 0..40 {
        assert_eq!(rig.store.message_id_by_external_id(ORG, &format!("mid-{ANA}-{i}")).await.unwrap(), None);
    }
    let bobs = rig.store.list_messages(ORG, &bob, &PageRequest::first(10)).await.unwrap();
    assert_eq!(bobs.data.len(), 3, "the other customer's messages, once each");
}

#[tokio::test]
async fn a_data_deletion_cut_part_way_finishes_when_meta_asks_again() {
    let Some(aws) = solo_local_aws().await else { return };
    let _one = ONE_AT_A_TIME.lock().await;
    let rig = rig(&aws).await;
    let mut account = rig.store.get_account(ORG, "acc_faults").await.unwrap().unwrap();
    account.meta_user_id = Some("10220000000000001".into());
    rig.store.put_account(&account).await.unwrap();
    thread_of(&*rig.store, ANA, 2).await;
    // Meta signs with the app secret of the rig's configuration; Meta's own API is unreachable.
    let signed = sign("fault-secret", &json!({"algorithm": "HMAC-SHA256", "user_id": "10220000000000001"}));
    let accounts = rig.services.accounts.clone();
    let code = std::sync::Mutex::new(None);
    rig.proxy.cut(Duration::from_millis(1500));
    assert!(accounts.meta_data_deletion(&signed).await.is_err(), "AWS down: an error Meta sees, to ask again");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    through_a_cut(&rig, || async {
        let answer = accounts.meta_data_deletion(&signed).await;
        let ok = answer.is_ok();
        if let Ok(request) = answer {
            *code.lock().unwrap() = Some(request.confirmation_code);
        }
        ok
    })
    .await;
    let code = code.into_inner().unwrap().expect("a confirmation code");
    assert_eq!(accounts.meta_data_deletion_status(&code).await.unwrap(), DeletionStatus::Completed);
    let stored = rig.store.get_account(ORG, "acc_faults").await.unwrap().unwrap();
    assert_eq!(stored.meta_user_id, None);
    assert_eq!(rig.store.get_token(ORG, "acc_faults", TokenKind::Page).await.unwrap(), None);
    let inbox = rig.store.list_conversations(ORG, Default::default(), &PageRequest::first(10)).await.unwrap();
    assert_eq!(inbox.data.len(), 1, "the organization's inbox stays");
}

#[tokio::test]
async fn an_organization_s_erasure_with_meta_unreachable_and_aws_cut_part_way_leaves_nothing() {
    let Some(aws) = solo_local_aws().await else { return };
    let _one = ONE_AT_A_TIME.lock().await;
    let rig = rig(&aws).await;
    thread_of(&*rig.store, ANA, 30).await;
    thread_of(&*rig.store, BOB, 30).await;
    // Meta (unreachable in this rig) cannot be told to stop delivering: the erasure goes on.
    let accounts = rig.services.accounts.clone();
    let failed = through_a_cut(&rig, || async {
        matches!(accounts.erase_organization(&admin(), ORG).await, Ok(progress) if progress.done)
    })
    .await;
    assert!(failed >= 1, "the cut was felt");
    assert!(rig.store.list_accounts(ORG).await.unwrap().is_empty());
    assert_eq!(
        rig.store.find_account_by_external_id(inbox_shared::testing::local_aws::IG_ACCOUNT).await.unwrap(),
        None
    );
    assert_eq!(rig.store.get_token(ORG, "acc_faults", TokenKind::Page).await.unwrap(), None);
    let inbox = rig.store.list_conversations(ORG, Default::default(), &PageRequest::first(10)).await.unwrap();
    assert!(inbox.data.is_empty());
    assert_eq!(rig.store.erase_organization(ORG, 100).await.unwrap(), 0, "nothing left under the organization");
}
