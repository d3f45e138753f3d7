//! Conformance cases: each organization's event log.

use super::*;
use crate::domain::{InboxEvent, LoggedEvent};

/// Events are logged once each (by id), read in append order after a position, only the
/// organization's own, not once expired, and only while the record they tell of exists.
pub async fn events_are_logged_once_in_order_per_organization(store: &dyn Store) {
    let org = unique("org");
    let other = unique("org");
    let c = store.create_conversation(&conversation(&org, "acc_1", "6185", t(0))).await.unwrap();
    let first = InboxEvent::conversation_updated(&c);
    let mut read = c.clone();
    read.unread_count = 2;
    let second = InboxEvent::conversation_updated(&read);
    let theirs = store.create_conversation(&conversation(&other, "acc_1", "6185", t(0))).await.unwrap();
    let theirs = InboxEvent::conversation_updated(&theirs);
    // A change told of a record erased since (the relay runs a moment after the write).
    let gone = InboxEvent::conversation_updated(&conversation(&org, "acc_1", "6186", t(0)));
    let at = |when, seq, e: &InboxEvent| LoggedEvent {
        position: LoggedEvent::position_of(when, seq, &e.id),
        event: e.clone(),
    };
    store.append_events(&[at(t(1), 7, &first)], t(100)).await.unwrap();
    // Within one time, by the writer's sequence; an event already logged stays where it is,
    // and one told twice in a call is logged at its first place.
    let batch =
        [at(t(2), 9, &second), at(t(2), 8, &first), at(t(2), 10, &theirs), at(t(2), 11, &gone), at(t(2), 12, &second)];
    let gone_ids = store.append_events(&batch, t(100)).await.unwrap();
    assert_eq!(gone_ids, vec![gone.id.clone()], "the erased record's event is answered as gone");
    let all = store.events_after(&org, None, 10, t(3)).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|e| e.event.id.as_str()).collect();
    assert_eq!(ids, [first.id.as_str(), second.id.as_str()], "once each, in append order, only its own, not the gone");
    assert_eq!(all[0].event, first);
    assert_eq!(all[0].position, LoggedEvent::position_of(t(1), 7, &first.id));
    let after = store.events_after(&org, Some(&all[0].position), 10, t(3)).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].event.id, second.id);
    assert_eq!(after[0].position, LoggedEvent::position_of(t(2), 9, &second.id), "at its first place");
    assert!(store.events_after(&org, Some(&all[1].position), 10, t(3)).await.unwrap().is_empty());
    assert_eq!(store.events_after(&org, None, 1, t(3)).await.unwrap().len(), 1, "limit");
    assert!(store.events_after(&org, None, 10, t(100)).await.unwrap().is_empty(), "expired");
}
