//! What a webhook item says, typed: the messaging event (a message, reaction, read,
//! delivery, postback, edit, referral, handover) or a comment, and the lenient readers of
//! Meta's ids and times. `webhook` and `comments` read the wire into it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

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
        } else if let Some(h) =
            Handover::from_wire(w.pass_thread_control, w.take_thread_control, w.request_thread_control)
        {
            EventKind::Handover(h)
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

/// Thread control passed to an app, taken by one, or asked for (`messaging_handovers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    pub new_owner_app_id: Option<String>,
    pub previous_owner_app_id: Option<String>,
    /// Asked for only: the owner stays until it passes control.
    pub requested: bool,
}

impl Handover {
    fn from_wire(pass: Option<Value>, take: Option<Value>, request: Option<Value>) -> Option<Self> {
        let app = |v: &Value, key: &str| v.get(key).and_then(super::id_string);
        match (pass.or(take), request) {
            (Some(v), _) => Some(Handover {
                new_owner_app_id: app(&v, "new_owner_app_id"),
                previous_owner_app_id: app(&v, "previous_owner_app_id"),
                requested: false,
            }),
            (None, Some(_)) => Some(Handover { new_owner_app_id: None, previous_owner_app_id: None, requested: true }),
            (None, None) => None,
        }
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
    Handover(Handover),
    MessageEdit(MessageEdit),
    /// A comment on the account's media, a reply to one, or a mention (`meta::comments`).
    Comment(Comment),
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

/// One comment event.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub id: String,
    /// `from.id` as Meta gave it (with Instagram Login, the commenter's Instagram user id;
    /// the event's sender is then `from.self_ig_scoped_id`, the id their DMs carry).
    pub from_id: Option<String>,
    /// The top-level comment this one replies to (Instagram nests one level).
    pub parent_id: Option<String>,
    pub text: Option<String>,
    pub username: Option<String>,
    pub media_id: Option<String>,
    pub media_product_type: Option<String>,
    pub verb: CommentVerb,
    /// From the `mentions` field: our account was @mentioned (Meta sends no text or author).
    pub mention: bool,
    /// A comment on a live broadcast (`live_comments`): its thread is the broadcast's.
    pub live: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentVerb {
    Add,
    Edited,
    Removed,
}

/// A time as epoch milliseconds or seconds, number or string, RFC 3339, or the Graph API's
/// own ISO 8601 form (`2021-09-08T06:34:04+0000`: the offset without a colon).
pub(crate) fn time_of(v: &Value) -> Option<DateTime<Utc>> {
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
