//! Instagram webhook payloads, parsed leniently item by item: one malformed item is
//! reported beside the good ones instead of failing the batch.

use chrono::{DateTime, Utc};

use crate::domain::{ConnectedAccount, Provider};
use serde_json::Value;

use serde::Deserialize;

use super::event::time_of;
// The event model lives in `event`; it is named from here too, where webhooks are read.
pub use super::event::{EventKind, Handover, InboundMessage, MessageEdit, MessagingEvent, MidOnly, Postback, Reaction};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("body is not an {{\"object\":\"instagram\" or \"page\",\"entry\":[...]}} envelope")]
    NotInstagram,
}

/// Where in the entry an item came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Messaging,
    /// Threads handed over to another app (handover protocol) arrive under `standby`.
    Standby,
    /// The `changes: [{field, value}]` form (the dashboard's "Test" button).
    Changes,
}

/// One messaging item with the account it was addressed to.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// `entry[].id`: our Instagram account id ("0" from the dashboard's test button), or the
    /// Page id of a Messenger (`object: "page"`) entry.
    pub entry_id: String,
    /// Instagram, or Messenger for `object: "page"`.
    pub provider: Provider,
    pub entry_time: Option<DateTime<Utc>>,
    pub source: Source,
    pub event: MessagingEvent,
    /// The item as Meta sent it, kept for replay and for kinds we do not interpret.
    pub raw: Value,
}

impl Item {
    /// An item again from what `raw` kept (queued, or kept for replay) under its `route_key`:
    /// a messaging item, or a comment change (`{"field","value"}`).
    pub fn from_raw(route_key: &str, entry_time: Option<DateTime<Utc>>, raw: Value) -> Result<Item, String> {
        let (provider, entry_id) = ConnectedAccount::parse_route_key(route_key);
        let field = raw.get("field").and_then(Value::as_str).filter(|f| super::comments::is_comment_field(f));
        let event = match (field, raw.get("value")) {
            (Some(field), Some(value)) => super::comments::comment_event(field, value, entry_id)?,
            _ => MessagingEvent::deserialize(&raw).map_err(|e| format!("unreadable messaging item: {e}"))?,
        };
        let source = if field.is_some() { Source::Changes } else { Source::Messaging };
        Ok(Item { entry_id: entry_id.to_owned(), provider, entry_time, source, event, raw })
    }

    /// What routes it to an account (`ConnectedAccount::route_key`), and what it is kept
    /// and queued under.
    pub fn route_key(&self) -> String {
        ConnectedAccount::route_key(self.provider, self.account_id())
    }

    /// Our account's id: the entry id, or our side of the item when the entry has none.
    pub fn account_id(&self) -> &str {
        if self.entry_id.is_empty() || self.entry_id == "0" { self.event.our_id() } else { &self.entry_id }
    }

    pub fn occurred_at(&self) -> Option<DateTime<Utc>> {
        self.event.timestamp.or(self.entry_time)
    }
}

/// An item that could not be understood; kept raw so nothing is silently lost.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub entry_id: Option<String>,
    pub reason: String,
    pub raw: Value,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Envelope {
    pub items: Vec<Item>,
    pub rejected: Vec<Rejected>,
    /// Items of no use to an inbox, acknowledged and kept nowhere (a postback from a
    /// plugin's `user_ref`, with no person to answer).
    pub ignored: usize,
}

/// Parses a webhook body. Fails only when the body as a whole is not an Instagram envelope;
/// bad entries and items land in `rejected`.
pub fn parse(body: &[u8]) -> Result<Envelope, EnvelopeError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| EnvelopeError::NotJson(e.to_string()))?;
    let provider = match value.get("object").and_then(Value::as_str) {
        Some("instagram") => Provider::Instagram,
        Some("page") => Provider::Messenger,
        _ => return Err(EnvelopeError::NotInstagram),
    };
    let Some(entries) = value.get("entry").and_then(Value::as_array) else {
        return Err(EnvelopeError::NotInstagram);
    };
    let mut envelope = Envelope::default();
    for entry in entries {
        parse_entry(entry, provider, &mut envelope);
    }
    Ok(envelope)
}

fn parse_entry(entry: &Value, provider: Provider, out: &mut Envelope) {
    let entry_id = entry.get("id").and_then(super::id_string);
    let Some(entry_id) = entry_id else {
        out.rejected.push(Rejected { entry_id: None, reason: "entry without id".into(), raw: entry.clone() });
        return;
    };
    let entry_time = entry.get("time").and_then(time_of);
    let push = |out: &mut Envelope, source: Source, raw: &Value| match MessagingEvent::deserialize(raw) {
        Ok(event) => {
            out.items.push(Item { entry_id: entry_id.clone(), provider, entry_time, source, event, raw: raw.clone() })
        }
        // A plugin's person (`sender.user_ref`, no id): nobody the inbox can answer.
        Err(_) if raw.get("sender").is_some_and(|s| s.get("id").is_none() && s.get("user_ref").is_some()) => {
            out.ignored += 1
        }
        Err(e) => out.rejected.push(Rejected {
            entry_id: Some(entry_id.clone()),
            reason: format!("unreadable messaging item: {e}"),
            raw: raw.clone(),
        }),
    };
    for (field, source) in [("messaging", Source::Messaging), ("standby", Source::Standby)] {
        for raw in entry.get(field).and_then(Value::as_array).into_iter().flatten() {
            push(out, source, raw);
        }
    }
    for change in entry.get("changes").and_then(Value::as_array).into_iter().flatten() {
        // Only the `messages`-family fields carry messaging items; others are kept raw.
        let field = change.get("field").and_then(Value::as_str).unwrap_or_default();
        match change.get("value") {
            Some(value) if field.starts_with("messag") || field == "message_reactions" => {
                push(out, Source::Changes, value)
            }
            Some(_) if super::comments::is_comment_field(field) => {
                match Item::from_raw(&ConnectedAccount::route_key(provider, &entry_id), entry_time, change.clone()) {
                    Ok(item) => out.items.push(item),
                    Err(reason) => {
                        out.rejected.push(Rejected { entry_id: Some(entry_id.clone()), reason, raw: change.clone() })
                    }
                }
            }
            _ => out.rejected.push(Rejected {
                entry_id: Some(entry_id.clone()),
                reason: format!("unsupported change field {field:?}"),
                raw: change.clone(),
            }),
        }
    }
}

#[cfg(test)]
#[path = "webhook_tests.rs"]
mod tests;
