//! The store conformance suite: one behaviour, every adapter. Each case uses fresh ids
//! (organization, account), so the suite can share one backing table.
//!
//! `store_conformance_tests!(async_expr_returning_store)` expands to one `#[tokio::test]` per
//! case; the memory adapter runs it in this crate, the DynamoDB adapter against moto.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::domain::{
    AccountStatus, Activity, CommentThread, ConnectedAccount, Conversation, ConversationChange, ConversationFilter,
    ConversationKind, Cursor, CustomerProfile, Direction, EncryptedToken, IdempotencyRecord, IntegrationJob,
    JobExpectation, JobStatus, Lead, Message, MessageChange, MessageStatus, OAuthToken, OrganizationSettings,
    PageRequest, Provider, ThreadControl, TokenKind, new_id,
};
use crate::ports::{Appended, MarkSent, RawEvent, Store, StoreError};

mod accounts;
mod conversations;
mod erasure;
mod events;
mod jobs;
mod leads;
mod messages;
mod raw_events;
mod waiting;

pub use accounts::*;
pub use conversations::*;
pub use erasure::*;
pub use events::*;
pub use jobs::*;
pub use leads::*;
pub use messages::*;
pub use raw_events::*;
pub use waiting::*;

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
        meta_user_id: None,
        status_changed_by: None,
        history: None,
        created_at: t(0),
        updated_at: t(0),
    }
}

/// A Page token of the account, expiring an hour after `t(0)`.
pub fn token(org: &str, account_id: &str) -> OAuthToken {
    OAuthToken {
        organization_id: org.to_owned(),
        connected_account_id: account_id.to_owned(),
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
    }
}

pub fn conversation(org: &str, account_id: &str, participant: &str, at: DateTime<Utc>) -> Conversation {
    Conversation::opened(unique("conv"), org, account_id, participant, at, at)
}

pub fn message(c: &Conversation, mid: Option<&str>, direction: Direction, at: DateTime<Utc>, text: &str) -> Message {
    Message {
        id: Message::new_id(),
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
    Activity::live(direction, at, Some(text.into()), at)
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

/// Expands to one test per conformance case. `$make` is an async block giving
/// `Option<store>`; `None` skips (an adapter whose server is not running).
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::store_conformance_tests!(@cases $make;
            accounts_are_found_by_instagram_id_and_page_id,
            accounts_are_found_by_the_meta_user_who_connected_them,
            the_account_stored_last_owns_its_external_ids,
            one_conversation_per_customer_even_when_created_twice,
            a_redelivered_message_id_is_stored_once,
            conversation_summary_follows_the_newest_message_whatever_the_arrival_order,
            conversations_list_newest_first_in_cursor_pages_within_one_organization,
            every_provider_s_conversations_are_one_inbox,
            messages_list_newest_first_in_cursor_pages,
            contact_details_and_lead_link_are_set,
            the_thread_s_controlling_app_is_kept,
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
            comment_threads_are_conversations_of_their_own_listed_by_kind,
            history_runs_are_written_over_their_own_and_active_accounts_are_listed,
            events_are_logged_once_in_order_per_organization,
            a_customer_s_conversations_and_identity_are_erased_and_nothing_else,
            an_organization_is_erased_a_page_at_a_time_and_only_it,
            settings_are_kept_per_organization_and_inactive_conversations_listed_oldest_first,
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
