//! Instagram webhook payloads, parsed leniently item by item: one malformed item is
//! reported beside the good ones instead of failing the batch.

use chrono::{DateTime, Utc};

use crate::domain::{ConnectedAccount, Provider};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

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

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "WireMessaging")]
pub struct MessagingEvent {
    pub sender: String,
    pub recipient: String,
    pub timestamp: Option<DateTime<Utc>>,
    pub kind: EventKind,
}

/// A messaging item as it is on the wire: one of several optional kind fields is present.
#[derive(Deserialize)]
struct WireMessaging {
    #[serde(deserialize_with = "party_id")]
    sender: String,
    #[serde(deserialize_with = "party_id")]
    recipient: String,
    #[serde(default, deserialize_with = "opt_time")]
    timestamp: Option<DateTime<Utc>>,
    message: Option<InboundMessage>,
    reaction: Option<Reaction>,
    /// Instagram names the message read (`mid`); Messenger a time (`watermark`).
    read: Option<Value>,
    postback: Option<Postback>,
    message_edit: Option<MessageEdit>,
    referral: Option<Value>,
    pass_thread_control: Option<Value>,
    take_thread_control: Option<Value>,
    request_thread_control: Option<Value>,
    /// Messenger: delivery receipts (`mids`, `watermark`).
    delivery: Option<WireDelivery>,
}

#[derive(Deserialize)]
struct WireDelivery {
    #[serde(default)]
    mids: Vec<String>,
    #[serde(default, deserialize_with = "opt_time")]
    watermark: Option<DateTime<Utc>>,
}

impl From<WireMessaging> for MessagingEvent {
    fn from(w: WireMessaging) -> Self {
        let kind = if let Some(m) = w.message {
            EventKind::Message(m)
        } else if let Some(r) = w.reaction {
            EventKind::Reaction(r)
        } else if let Some(r) = w.read {
            match (r.get("mid").and_then(super::id_string), r.get("watermark").and_then(time_of)) {
                (Some(mid), _) => EventKind::Read(MidOnly { mid }),
                (None, Some(watermark)) => EventKind::ReadUpTo(watermark),
                (None, None) => EventKind::Unknown,
            }
        } else if let Some(d) = w.delivery {
            EventKind::Delivered { mids: d.mids, watermark: d.watermark }
        } else if let Some(p) = w.postback {
            EventKind::Postback(p)
        } else if let Some(e) = w.message_edit {
            EventKind::MessageEdit(e)
        } else if let Some(r) = w.referral {
            EventKind::Referral(r)
        } else if w.pass_thread_control.or(w.take_thread_control).or(w.request_thread_control).is_some() {
            EventKind::Handover
        } else {
            EventKind::Unknown
        };
        MessagingEvent { sender: w.sender, recipient: w.recipient, timestamp: w.timestamp, kind }
    }
}

impl MessagingEvent {
    pub fn is_echo(&self) -> bool {
        matches!(&self.kind, EventKind::Message(m) if m.is_echo)
    }

    /// What orders its events: a comment thread, else the customer (a webhook's lanes).
    pub fn thread_key(&self) -> std::borrow::Cow<'_, str> {
        match &self.kind {
            EventKind::Comment(c) => crate::domain::CommentThread::thread_key(c.thread_root()).into(),
            _ => self.customer_id().into(),
        }
    }

    /// The customer: the sender of inbound events, the recipient of echoes.
    pub fn customer_id(&self) -> &str {
        if self.is_echo() { &self.recipient } else { &self.sender }
    }

    /// Our account: the recipient of inbound events, the sender of echoes.
    pub fn our_id(&self) -> &str {
        if self.is_echo() { &self.sender } else { &self.recipient }
    }
}

/// What happened. Unknown kinds parse as `Unknown` and are kept raw.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    Message(InboundMessage),
    Reaction(Reaction),
    Read(MidOnly),
    /// Messenger: every message sent before this time was read.
    ReadUpTo(DateTime<Utc>),
    /// Messenger: these messages (and, with a watermark, all sent before it) were delivered.
    Delivered {
        mids: Vec<String>,
        watermark: Option<DateTime<Utc>>,
    },
    Postback(Postback),
    /// A customer opened the thread from a link or an ad, writing nothing (yet).
    Referral(Value),
    /// Thread control passing between apps (the handover protocol).
    Handover,
    MessageEdit(MessageEdit),
    /// A comment on the account's media, a reply to one, or a mention (`meta::comments`).
    Comment(super::comments::Comment),
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InboundMessage {
    #[serde(deserialize_with = "flex_string")]
    pub mid: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub attachments: Vec<Value>,
    #[serde(default)]
    pub is_echo: bool,
    #[serde(default)]
    pub is_deleted: bool,
    #[serde(default)]
    pub is_unsupported: bool,
    #[serde(default)]
    pub reply_to: Option<Value>,
    #[serde(default)]
    pub quick_reply: Option<Value>,
    #[serde(default)]
    pub referral: Option<Value>,
    /// What the sender attached to its send (Messenger's `message.metadata`), back on its echo.
    #[serde(default)]
    pub metadata: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Reaction {
    #[serde(deserialize_with = "flex_string")]
    pub mid: String,
    pub action: String,
    #[serde(default)]
    pub reaction: Option<String>,
    #[serde(default)]
    pub emoji: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MidOnly {
    #[serde(deserialize_with = "flex_string")]
    pub mid: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Postback {
    #[serde(default, deserialize_with = "opt_flex_string")]
    pub mid: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub payload: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MessageEdit {
    #[serde(deserialize_with = "flex_string")]
    pub mid: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default, deserialize_with = "opt_flex_string")]
    pub num_edit: Option<String>,
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

/// A time as epoch milliseconds or seconds, number or string, RFC 3339, or the Graph API's
/// own ISO 8601 form (`2021-09-08T06:34:04+0000`: the offset without a colon).
pub(super) fn time_of(v: &Value) -> Option<DateTime<Utc>> {
    let n = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(n) => n,
            Err(_) => {
                let s = s.trim();
                let parsed =
                    DateTime::parse_from_rfc3339(s).or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z"));
                return parsed.ok().map(|t| t.with_timezone(&Utc));
            }
        },
        _ => return None,
    };
    // Seconds since 1970 stay below 1e11 until the year 5138; milliseconds passed it in 1973.
    let millis = if n.abs() < 1e11 { n * 1000.0 } else { n };
    DateTime::from_timestamp_millis(millis as i64)
}

fn flex_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    super::id_string(&v).ok_or_else(|| serde::de::Error::custom("expected a non-empty string or number"))
}

fn opt_flex_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(super::id_string))
}

fn party_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    v.get("id").and_then(super::id_string).ok_or_else(|| serde::de::Error::custom("party without id"))
}

fn opt_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(time_of))
}

#[cfg(test)]
#[path = "webhook_tests.rs"]
mod tests;
