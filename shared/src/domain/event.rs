//! What the inbox tells the world: one event per change (a message stored or changed, a
//! conversation's summary, an account's status, a history import's progress), in one schema
//! (`schemaVersion` 1). An event's `id` is a digest of what it says, so the same change
//! told twice (a stream record delivered again) is the same event, and a consumer that
//! de-duplicates by `id` sees each change once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::{ConnectedAccount, Conversation, Direction, HistoryImport, Message, Provider};

/// The schema every event follows; a change that breaks consumers gets a new number.
pub const EVENT_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "message.created")]
    MessageCreated,
    /// Its status, an edit, an unsend, a reaction.
    #[serde(rename = "message.updated")]
    MessageUpdated,
    #[serde(rename = "conversation.updated")]
    ConversationUpdated,
    /// Connected, disconnected, `REAUTH_REQUIRED`.
    #[serde(rename = "account.status_changed")]
    AccountStatusChanged,
    #[serde(rename = "history.progress")]
    HistoryProgress,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::MessageCreated => "message.created",
            EventType::MessageUpdated => "message.updated",
            EventType::ConversationUpdated => "conversation.updated",
            EventType::AccountStatusChanged => "account.status_changed",
            EventType::HistoryProgress => "history.progress",
        }
    }
}

/// One change, as told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboxEvent {
    /// The same for every publication of the same change: consumers de-duplicate by it.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub schema_version: u32,
    pub organization_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// When the change was made.
    #[serde(serialize_with = "super::time_text::serialize")]
    pub at: DateTime<Utc>,
    /// The thing as it is after the change, as the inbox API shows it.
    pub data: EventData,
}

/// An event's data as the compact JSON it was written as: written once (and hashed as it
/// is), embedded whole wherever the event is written, and kept as text, not as a tree of
/// values (a tree took a quarter of the memory store's ingest to build and most of its RAM).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventData(Box<RawValue>);

impl EventData {
    fn of<T: Serialize>(thing: &T) -> Self {
        // Serializing a domain type cannot fail (string keys, no non-finite floats).
        EventData(serde_json::value::to_raw_value(thing).unwrap_or_else(|_| RawValue::NULL.to_owned()))
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Whether `thing` written as JSON is this data, byte for byte (written into a
    /// comparison, not into a string, and stopped at the first byte that differs).
    fn says<T: Serialize>(&self, thing: &T) -> bool {
        let mut same = SameBytes { rest: self.get().as_bytes() };
        serde_json::to_writer(&mut same, thing).is_ok() && same.rest.is_empty()
    }
}

impl PartialEq for EventData {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

/// A writer that compares what is written with `rest` and keeps nothing; it fails at the
/// first difference, which ends the writing (a changed conversation differs early on, before
/// most of its fields and all its times are written).
struct SameBytes<'a> {
    rest: &'a [u8],
}

impl std::io::Write for SameBytes<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let rest = self.rest.strip_prefix(buf).ok_or_else(|| std::io::Error::other("differs"))?;
        self.rest = rest;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An event in an organization's log, at its place: positions order the log.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    pub position: String,
    pub event: InboxEvent,
}

impl LoggedEvent {
    /// Where an event appended at `at`, `sequence`th in its process, sits in its
    /// organization's log: by time, then by the order its process appended it.
    pub fn position_of(at: DateTime<Utc>, sequence: u64, event_id: &str) -> String {
        format!("{}#{sequence:012}#{event_id}", super::time_sort_key(at))
    }

    /// A position `by` before `position` (before every event appended then): where a reader
    /// looks back from, for events another process appended late by its clock.
    pub fn position_before(position: &str, by: chrono::Duration) -> Option<String> {
        let (time, _) = position.split_once('#')?;
        let at = DateTime::parse_from_rfc3339(time).ok()?.with_timezone(&Utc);
        Some(format!("{}#", super::time_sort_key(at - by)))
    }
}

/// The kind of stored record an event tells of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Message,
    Conversation,
    Account,
}

impl InboxEvent {
    /// The record this event tells of (its kind and id in the organization): an event is only
    /// logged while that record exists, so none outlives an erasure.
    pub fn record(&self) -> Option<(RecordKind, &str)> {
        match self.kind {
            EventType::MessageCreated | EventType::MessageUpdated => {
                self.message_id.as_deref().map(|id| (RecordKind::Message, id))
            }
            EventType::ConversationUpdated => self.conversation_id.as_deref().map(|id| (RecordKind::Conversation, id)),
            EventType::AccountStatusChanged | EventType::HistoryProgress => {
                self.account_id.as_deref().map(|id| (RecordKind::Account, id))
            }
        }
    }

    fn of(kind: EventType, org: &str, at: DateTime<Utc>, data: EventData) -> Self {
        let digest = Sha256::new()
            .chain_update(kind.as_str())
            .chain_update([0])
            .chain_update(org)
            .chain_update([0])
            .chain_update(data.get())
            .finalize();
        InboxEvent {
            id: format!("evt_{}", hex::encode(&digest[..16])),
            kind,
            schema_version: EVENT_SCHEMA_VERSION,
            organization_id: org.to_owned(),
            provider: None,
            account_id: None,
            conversation_id: None,
            message_id: None,
            direction: None,
            at,
            data,
        }
    }

    fn message(kind: EventType, m: &Message) -> Self {
        let data = EventData::of(m);
        InboxEvent {
            provider: Some(m.provider),
            conversation_id: Some(m.conversation_id.clone()),
            message_id: Some(m.id.clone()),
            direction: Some(m.direction),
            ..Self::of(kind, &m.organization_id, m.updated_at, data)
        }
    }

    pub fn message_created(m: &Message) -> Self {
        Self::message(EventType::MessageCreated, m)
    }

    pub fn message_updated(m: &Message) -> Self {
        Self::message(EventType::MessageUpdated, m)
    }

    /// The summary as stored (its `version` is not part of it).
    pub fn conversation_updated(c: &Conversation) -> Self {
        let data = EventData::of(c);
        InboxEvent {
            provider: Some(c.provider),
            account_id: Some(c.connected_account_id.clone()),
            conversation_id: Some(c.id.clone()),
            direction: c.last_message_direction,
            ..Self::of(EventType::ConversationUpdated, &c.organization_id, c.updated_at, data)
        }
    }

    pub fn account_status_changed(a: &ConnectedAccount) -> Self {
        let data = EventData::of(&ConnectedAccount { history: None, ..a.clone() });
        InboxEvent {
            provider: Some(a.provider),
            account_id: Some(a.id.clone()),
            ..Self::of(EventType::AccountStatusChanged, &a.organization_id, a.updated_at, data)
        }
    }

    pub fn history_progress(a: &ConnectedAccount, run: &HistoryImport) -> Self {
        let data = EventData::of(run);
        InboxEvent {
            provider: Some(a.provider),
            account_id: Some(a.id.clone()),
            ..Self::of(EventType::HistoryProgress, &a.organization_id, run.updated_at, data)
        }
    }
}

/// One stored thing before and after one write. Every store makes its log of these, within
/// the write itself (the embedded stores) or from the table's stream (DynamoDB), so a change
/// that is stored is told, and one that is not stored is not.
pub enum StoredChange<'a> {
    Message { before: Option<&'a Message>, after: &'a Message },
    Conversation { before: Option<&'a Conversation>, after: &'a Conversation },
    Account { before: Option<&'a ConnectedAccount>, after: &'a ConnectedAccount },
}

impl StoredChange<'_> {
    /// What the write tells: nothing when nothing a consumer sees changed.
    pub fn events(&self) -> Vec<InboxEvent> {
        match *self {
            StoredChange::Message { before: None, after } => vec![InboxEvent::message_created(after)],
            StoredChange::Message { before: Some(before), after } => {
                unless_same(before, InboxEvent::message_updated(after))
            }
            // A conversation is told from its first message on, not as the empty row a first
            // message is appended to.
            StoredChange::Conversation { after, .. } if after.last_message_direction.is_none() => Vec::new(),
            StoredChange::Conversation { before, after } => {
                let told = InboxEvent::conversation_updated(after);
                match before {
                    Some(before) => unless_same(before, told),
                    None => vec![told],
                }
            }
            StoredChange::Account { before, after } => {
                let mut told = Vec::new();
                if before.map(|b| b.status) != Some(after.status) {
                    told.push(InboxEvent::account_status_changed(after));
                }
                if let Some(run) = &after.history {
                    let now = InboxEvent::history_progress(after, run);
                    told.extend(match before.and_then(|b| b.history.as_ref()) {
                        Some(was) => unless_same(was, now),
                        None => vec![now],
                    });
                }
                told
            }
        }
    }
}

/// `after`, unless it says what `before` said: the same data.
fn unless_same<T: Serialize>(before: &T, after: InboxEvent) -> Vec<InboxEvent> {
    if after.data.says(before) { Vec::new() } else { vec![after] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_change_is_the_same_event_and_another_change_another() {
        let now = Utc::now();
        let c = Conversation::opened("conv_1".into(), "org_a", "acc_1", "6185", now, now);
        let a = InboxEvent::conversation_updated(&c);
        assert_eq!(a, InboxEvent::conversation_updated(&c.clone()), "published twice: one event");
        let mut read = c.clone();
        read.unread_count = 3;
        assert_ne!(a.id, InboxEvent::conversation_updated(&read).id);
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["type"], "conversation.updated");
        assert_eq!((json["schemaVersion"].as_u64(), json["organizationId"].as_str()), (Some(1), Some("org_a")));
        assert_eq!(json["data"]["participantId"], "6185");
    }

    #[test]
    fn an_event_s_id_is_the_hash_of_its_kind_organization_and_data_as_compact_json() {
        // The data is the thing's own compact JSON (its fields in their order), kept as
        // written: the event carries the very text its id was hashed from.
        let now = Utc::now();
        let mut c = Conversation::opened("conv_1".into(), "org_a", "acc_1", "6185", now, now);
        c.preview_text = Some("naïve \"quoted\" ✓".into());
        let told = InboxEvent::conversation_updated(&c);
        let whole = serde_json::to_string(&c).unwrap();
        assert_eq!(told.data.get(), whole);
        let digest =
            Sha256::new().chain_update("conversation.updated\0org_a\0").chain_update(whole.as_bytes()).finalize();
        assert_eq!(told.id, format!("evt_{}", hex::encode(&digest[..16])));
    }

    #[test]
    fn data_says_a_thing_only_when_the_thing_is_written_as_the_same_text() {
        let data = EventData::of(&"ab");
        assert!(data.says(&"ab"));
        assert!(!data.says(&"abc"), "longer");
        assert!(!data.says(&"a"), "a prefix");
        assert!(!data.says(&"xb"), "another");
        assert_eq!(serde_json::from_str::<serde_json::Value>(data.get()).unwrap(), serde_json::json!("ab"));
    }

    #[test]
    fn a_write_tells_what_changed_and_nothing_when_nothing_did() {
        let now = Utc::now();
        let empty = Conversation::opened("conv_1".into(), "org_a", "acc_1", "6185", now, now);
        assert!(StoredChange::Conversation { before: None, after: &empty }.events().is_empty(), "nothing to show yet");
        let mut c = empty.clone();
        c.apply(&super::super::Activity::live(super::super::Direction::Inbound, now, Some("hi".into()), now));
        let first = StoredChange::Conversation { before: Some(&empty), after: &c }.events();
        assert_eq!(first.iter().map(|e| e.kind).collect::<Vec<_>>(), [EventType::ConversationUpdated]);
        assert!(StoredChange::Conversation { before: Some(&c), after: &c }.events().is_empty());
        let mut read = c.clone();
        read.unread_count = 0;
        assert_eq!(StoredChange::Conversation { before: Some(&c), after: &read }.events().len(), 1);
    }
}
