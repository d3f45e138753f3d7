//! Conformance cases for changes that wait for their message, and for the preview an unsent
//! message gives back (see `crate::conformance`).

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{append, new_conversation, t, unique};
use crate::domain::{ConversationChange, Direction};
use crate::ports::{RawEvent, Store};

fn waiting(id: &str, at: i64) -> RawEvent {
    RawEvent {
        id: id.into(),
        external_account_id: "acc_1".into(),
        reason: "waiting for its message".into(),
        payload: json!({"reaction": {"mid": "m"}}),
        received_at: t(at),
        expires_at: None,
    }
}

pub async fn changes_wait_for_their_message_once_each(store: &dyn Store) {
    let (org, mid) = (unique("org"), unique("mid"));
    store.put_pending_change(&org, &mid, &waiting("a", 1)).await.unwrap();
    store.put_pending_change(&org, &mid, &waiting("a", 1)).await.unwrap();
    store.put_pending_change(&org, &mid, &waiting("b", 2)).await.unwrap();
    let mut ids: Vec<String> = store.pending_changes(&org, &mid).await.unwrap().into_iter().map(|e| e.id).collect();
    ids.sort();
    assert_eq!(ids, ["a", "b"], "kept once each");
    assert!(store.pending_changes(&unique("org"), &mid).await.unwrap().is_empty(), "per organization");
    assert!(store.pending_changes(&org, &format!("{mid}x")).await.unwrap().is_empty(), "per message");
    store.delete_pending_change(&org, &mid, "a").await.unwrap();
    let left: Vec<String> = store.pending_changes(&org, &mid).await.unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(left, ["b"]);
}

pub async fn an_unsent_preview_is_replaced_only_while_nothing_newer_came(store: &dyn Store) {
    let org = unique("org");
    let c = new_conversation(store, &org, "cust", t(0)).await;
    append(store, &c, &unique("mid"), Direction::Inbound, t(5), "hello").await;
    let got = store.change_conversation(&org, &c.id, &preview(t(5), "[message unsent]")).await.unwrap().unwrap();
    assert_eq!(got.preview_text.as_deref(), Some("[message unsent]"));
    append(store, &c, &unique("mid"), Direction::Inbound, t(9), "newer").await;
    let got = store.change_conversation(&org, &c.id, &preview(t(5), "stale")).await.unwrap().unwrap();
    assert_eq!(got.preview_text.as_deref(), Some("newer"), "a newer message keeps its preview");
    assert_eq!(store.get_conversation(&org, &c.id).await.unwrap().unwrap().preview_text.as_deref(), Some("newer"));
    assert_eq!(got.unread_count, 2);
}

fn preview(newest_at: DateTime<Utc>, text: &str) -> ConversationChange {
    ConversationChange::Preview { newest_at, text: text.to_owned() }
}
