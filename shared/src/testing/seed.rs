//! Data the Runtime API tests put in the store before invoking a function.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::domain::{
    AccountStatus, Activity, ConnectedAccount, Conversation, Direction, IntegrationJob, Message, MessageStatus,
    OAuthToken, Provider, TokenKind,
};
use crate::ports::TokenContext;
use crate::runtime::Adapters;

/// Connects `external_id` to `org` with `token` (of `kind`, expiring at `expires_at`),
/// encrypted with the adapters' cipher.
#[allow(clippy::too_many_arguments)] // a test fixture: every field is one the tests vary
pub async fn connect_account(
    adapters: &Adapters,
    org: &str,
    account_id: &str,
    external_id: &str,
    page_id: &str,
    kind: TokenKind,
    token: &str,
    expires_at: Option<DateTime<Utc>>,
) -> ConnectedAccount {
    let now = adapters.clock.now();
    let account = ConnectedAccount {
        id: account_id.into(),
        organization_id: org.into(),
        provider: Provider::Instagram,
        external_account_id: external_id.into(),
        page_id: Some(page_id.into()),
        display_name: Some("Coast Shop".into()),
        username: Some("coast.shop".into()),
        status: AccountStatus::Active,
        meta_user_id: None,
        status_changed_by: None,
        history: None,
        created_at: now,
        updated_at: now,
    };
    adapters.store.put_account(&account).await.unwrap();
    let context = TokenContext { organization_id: org, connected_account_id: account_id };
    let encrypted = adapters.cipher.encrypt(token, &context).await.unwrap();
    adapters.store.put_token(&OAuthToken::issued(org, account_id, kind, encrypted, expires_at, now)).await.unwrap();
    account
}

/// A conversation with `id` whose customer wrote `text` just now.
pub async fn conversation_with_inbound(
    adapters: &Adapters,
    org: &str,
    account_id: &str,
    id: &str,
    customer: &str,
    text: &str,
) -> Conversation {
    let now = adapters.clock.now();
    let fresh = Conversation::opened(id.into(), org, account_id, customer, now, now);
    let conversation = adapters.store.create_conversation(&fresh).await.unwrap();
    let message = inbound_message(&conversation, &crate::domain::new_id("mid"), text, now);
    let activity = Activity::live(Direction::Inbound, now, Some(text.into()), now);
    adapters.store.append_message(&conversation, &message, &activity).await.unwrap();
    conversation
}

/// A DM from the conversation's customer, as ingest stores it (Meta id `mid`).
pub fn inbound_message(conversation: &Conversation, mid: &str, text: &str, at: DateTime<Utc>) -> Message {
    let sides = (conversation.participant_id.clone(), conversation.connected_account_id.clone());
    Message {
        text: Some(text.into()),
        external_message_id: Some(mid.into()),
        meta_json: json!({}),
        ..Message::told_by_meta(conversation, Direction::Inbound, sides, at, at)
    }
}

/// A queued reply and its pending SEND_MESSAGE job `job_id`, as the send route makes them.
pub async fn queued_reply(
    adapters: &Adapters,
    conversation: &Conversation,
    job_id: &str,
    text: &str,
) -> (Message, IntegrationJob) {
    let now = adapters.clock.now();
    let org = &conversation.organization_id;
    let message = Message {
        id: crate::domain::Message::new_id(),
        organization_id: org.clone(),
        conversation_id: conversation.id.clone(),
        provider: Provider::Instagram,
        direction: Direction::Outbound,
        from: String::new(),
        to: conversation.participant_id.clone(),
        text: Some(text.into()),
        attachments: vec![],
        status: MessageStatus::Queued,
        error_code: None,
        external_message_id: None,
        meta_json: json!({}),
        created_at: now,
        updated_at: now,
    };
    adapters.store.insert_message(&message).await.unwrap();
    let payload = crate::domain::SendPayload {
        conversation_id: conversation.id.clone(),
        message_id: message.id.clone(),
        text: text.to_owned(),
        attachment: None,
        quick_replies: Vec::new(),
        template: None,
        take_control: false,
        recipient_id: conversation.participant_id.clone(),
        thread_id: conversation.external_thread_id.clone(),
        author: crate::domain::Author::Person,
        route: crate::domain::SendRoute::Direct,
    };
    let job = IntegrationJob::send_message(job_id.into(), org, conversation.provider, payload, now);
    adapters.store.put_job(&job).await.unwrap();
    (message, job)
}
