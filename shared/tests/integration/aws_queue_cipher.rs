//! The SQS queue and the KMS envelope cipher against the local AWS-compatible server.

use chrono::Duration;
use inbox_shared::adapters::dynamodb::DynamoStore;
use inbox_shared::adapters::kms_cipher::KmsCipher;
use inbox_shared::adapters::sqs_queue::SqsQueue;
use inbox_shared::domain::{OAuthToken, TokenKind};
use inbox_shared::ports::AccountStore;
use inbox_shared::ports::{CipherError, JobQueue, QueueMessage, TokenCipher, TokenContext};
use inbox_shared::testing::local_aws::local_aws;

async fn receive(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    wait: i32,
    visibility: Option<i32>,
) -> Vec<aws_sdk_sqs::types::Message> {
    let out = sqs
        .receive_message()
        .queue_url(url)
        .wait_time_seconds(wait)
        .set_visibility_timeout(visibility)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    out.messages.unwrap_or_default()
}

#[tokio::test]
async fn a_delayed_job_stays_hidden_until_its_delay_has_passed() {
    let Some(aws) = local_aws().await else { return };
    let (url, _) = aws.fresh_queue().await;
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&aws.sdk), &url);
    let message = QueueMessage::send("org_a", "job_1");
    queue.enqueue(&message, Duration::seconds(2)).await.unwrap();
    assert!(receive(queue.client(), &url, 0, None).await.is_empty(), "hidden during its delay");
    let mut got = Vec::new();
    for _ in 0..5 {
        got = receive(queue.client(), &url, 2, None).await;
        if !got.is_empty() {
            break;
        }
    }
    assert_eq!(got.len(), 1, "visible once the delay passed");
    let body: QueueMessage = serde_json::from_str(got[0].body().unwrap()).unwrap();
    assert_eq!(body, message);
}

/// Each lane of work on its own queue: a burst of webhook items or enrichment never waits in
/// front of a reply; without a queue of its own a lane shares the jobs queue.
#[tokio::test]
async fn each_kind_of_work_goes_to_the_queue_of_its_lane() {
    let Some(aws) = local_aws().await else { return };
    let [(sends, _), (webhooks, _), (enrichment, _)] =
        [aws.fresh_queue().await, aws.fresh_queue().await, aws.fresh_queue().await];
    let client = aws_sdk_sqs::Client::new(&aws.sdk);
    let queue = SqsQueue::new(client.clone(), &sends).with_lanes(Some(webhooks.clone()), Some(enrichment.clone()));
    let enrich = QueueMessage::EnrichContact { organization_id: "org_a".into(), conversation_id: "c1".into() };
    let kinds = [QueueMessage::send("org_a", "job_1"), QueueMessage::replay("178", None), enrich];
    for message in &kinds {
        queue.enqueue(message, Duration::zero()).await.unwrap();
    }
    for (url, expected) in [(&sends, &kinds[0]), (&webhooks, &kinds[1]), (&enrichment, &kinds[2])] {
        let got = receive(&client, url, 1, None).await;
        let bodies: Vec<QueueMessage> = got.iter().map(|m| serde_json::from_str(m.body().unwrap()).unwrap()).collect();
        assert_eq!(bodies, vec![expected.clone()], "{url}");
    }
    let shared = SqsQueue::new(client.clone(), &sends);
    shared.enqueue(&kinds[2], Duration::zero()).await.unwrap();
    assert_eq!(receive(&client, &sends, 1, None).await.len(), 1, "without its own queue, on the jobs queue");
}

#[tokio::test]
async fn a_job_received_too_often_moves_to_the_dead_letter_queue() {
    let Some(aws) = local_aws().await else { return };
    let (url, dlq) = aws.fresh_queue().await;
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&aws.sdk), &url);
    queue.enqueue(&QueueMessage::send("org_a", "job_poison"), Duration::zero()).await.unwrap();
    for attempt in 1..=aws.max_receives {
        // Received and not deleted: the processor failed it.
        assert_eq!(receive(queue.client(), &url, 1, Some(0)).await.len(), 1, "receive {attempt}");
    }
    assert!(receive(queue.client(), &url, 1, Some(0)).await.is_empty(), "gone from the jobs queue");
    let dead = receive(queue.client(), &dlq, 1, None).await;
    assert_eq!(dead.len(), 1);
    assert!(dead[0].body().unwrap().contains("job_poison"));
}

fn ctx<'a>(org: &'a str, account: &'a str) -> TokenContext<'a> {
    TokenContext { organization_id: org, connected_account_id: account }
}

#[tokio::test]
async fn kms_envelope_ciphertexts_open_only_for_their_own_organization_and_account() {
    let Some(aws) = local_aws().await else { return };
    let cipher = KmsCipher::new(aws_sdk_kms::Client::new(&aws.sdk), &aws.kms_key_id);
    let sealed = cipher.encrypt("EAAB-secret-page-token", &ctx("org_a", "acc_1")).await.unwrap();
    assert_eq!(sealed.scheme, "KMS_ENVELOPE");
    assert!(sealed.encrypted_data_key.is_some(), "the wrapped data key is stored beside the ciphertext");
    assert!(!serde_json::to_string(&sealed).unwrap().contains("EAAB"));
    assert_eq!(cipher.decrypt(&sealed, &ctx("org_a", "acc_1")).await.unwrap(), "EAAB-secret-page-token");
    assert_eq!(cipher.decrypt(&sealed, &ctx("org_b", "acc_1")).await, Err(CipherError::Undecryptable));
    assert_eq!(cipher.decrypt(&sealed, &ctx("org_a", "acc_2")).await, Err(CipherError::Undecryptable));
    // Another token's data key with this ciphertext does not open it either.
    let other = cipher.encrypt("x", &ctx("org_a", "acc_1")).await.unwrap();
    let mut swapped = sealed.clone();
    swapped.encrypted_data_key = other.encrypted_data_key;
    assert_eq!(cipher.decrypt(&swapped, &ctx("org_a", "acc_1")).await, Err(CipherError::Undecryptable));
}

#[tokio::test]
async fn tokens_stored_in_dynamodb_are_never_plaintext() {
    let Some(aws) = local_aws().await else { return };
    let cipher = KmsCipher::new(aws_sdk_kms::Client::new(&aws.sdk), &aws.kms_key_id);
    let ddb = aws_sdk_dynamodb::Client::new(&aws.sdk);
    let store = DynamoStore::new(ddb.clone(), &aws.table);
    let org = format!("org_{}", uuid::Uuid::now_v7().simple());
    let now = chrono::Utc::now();
    let token = OAuthToken {
        organization_id: org.clone(),
        connected_account_id: "acc_1".into(),
        kind: TokenKind::Page,
        encrypted: cipher.encrypt("EAAB-plaintext-never-stored", &ctx(&org, "acc_1")).await.unwrap(),
        expires_at: None,
        refreshed_at: now,
        created_at: now,
        refresh_failed_at: None,
        refresh_lease_until: None,
    };
    store.put_token(&token).await.unwrap();
    let raw = ddb
        .get_item()
        .table_name(&aws.table)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("ORG#{org}")))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("TOKEN#acc_1#PAGE".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("stored");
    assert!(!format!("{raw:?}").contains("EAAB-plaintext"), "{raw:?}");
    let back = store.get_token(&org, "acc_1", TokenKind::Page).await.unwrap().unwrap();
    assert_eq!(cipher.decrypt(&back.encrypted, &ctx(&org, "acc_1")).await.unwrap(), "EAAB-plaintext-never-stored");
}
