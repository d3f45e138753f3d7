//! Instagram webhook payloads, parsed leniently item by item: one malformed item is
//! reported beside the good ones instead of failing the batch.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("body is not an {{\"object\":\"instagram\",\"entry\":[...]}} envelope")]
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
    /// `entry[].id`: our Instagram account id ("0" from the dashboard's test button).
    pub entry_id: String,
    pub entry_time: Option<DateTime<Utc>>,
    pub source: Source,
    pub event: MessagingEvent,
    /// The item as Meta sent it, kept for replay and for kinds we do not interpret.
    pub raw: Value,
}

impl Item {
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
    read: Option<MidOnly>,
    postback: Option<Postback>,
    message_edit: Option<MessageEdit>,
    referral: Option<Value>,
}

impl From<WireMessaging> for MessagingEvent {
    fn from(w: WireMessaging) -> Self {
        let kind = if let Some(m) = w.message {
            EventKind::Message(m)
        } else if let Some(r) = w.reaction {
            EventKind::Reaction(r)
        } else if let Some(r) = w.read {
            EventKind::Read(r)
        } else if let Some(p) = w.postback {
            EventKind::Postback(p)
        } else if let Some(e) = w.message_edit {
            EventKind::MessageEdit(e)
        } else if let Some(r) = w.referral {
            EventKind::Referral(r)
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
    Postback(Postback),
    Referral(Value),
    MessageEdit(MessageEdit),
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
    let (Some("instagram"), Some(entries)) =
        (value.get("object").and_then(Value::as_str), value.get("entry").and_then(Value::as_array))
    else {
        return Err(EnvelopeError::NotInstagram);
    };
    let mut envelope = Envelope::default();
    for entry in entries {
        parse_entry(entry, &mut envelope);
    }
    Ok(envelope)
}

fn parse_entry(entry: &Value, out: &mut Envelope) {
    let entry_id = entry.get("id").and_then(super::id_string);
    let Some(entry_id) = entry_id else {
        out.rejected.push(Rejected { entry_id: None, reason: "entry without id".into(), raw: entry.clone() });
        return;
    };
    let entry_time = entry.get("time").and_then(time_of);
    let push = |out: &mut Envelope, source: Source, raw: &Value| match MessagingEvent::deserialize(raw) {
        Ok(event) => out.items.push(Item { entry_id: entry_id.clone(), entry_time, source, event, raw: raw.clone() }),
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
            _ => out.rejected.push(Rejected {
                entry_id: Some(entry_id.clone()),
                reason: format!("unsupported change field {field:?}"),
                raw: change.clone(),
            }),
        }
    }
}

/// A time as epoch milliseconds or seconds, number or string, or RFC 3339.
fn time_of(v: &Value) -> Option<DateTime<Utc>> {
    let n = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(n) => n,
            Err(_) => {
                return DateTime::parse_from_rfc3339(s.trim()).ok().map(|t| t.with_timezone(&Utc));
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
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_and_timestamps_accept_every_shape_meta_sends() {
        assert_eq!(crate::meta::id_string(&json!(17841400000000001u64)).as_deref(), Some("17841400000000001"));
        assert_eq!(crate::meta::id_string(&json!("17841400000000001")).as_deref(), Some("17841400000000001"));
        let ms = time_of(&json!(1732460000123i64)).unwrap();
        assert_eq!(ms.timestamp_millis(), 1732460000123);
        assert_eq!(time_of(&json!(1732460000)).unwrap().timestamp(), 1732460000);
        assert_eq!(time_of(&json!("1732460000123")).unwrap(), ms);
        assert_eq!(time_of(&json!("2024-11-24T14:53:20.123Z")).unwrap(), ms);
        assert_eq!(time_of(&json!(true)), None);
    }

    #[test]
    fn numeric_ids_and_string_timestamps_parse_in_messaging_items() {
        let body = json!({"object":"instagram","entry":[{"id":17841400000000001u64,"time":"1732460000","messaging":[
            {"sender":{"id":6185000000000001u64},"recipient":{"id":"17841400000000001"},"timestamp":"1732460000123",
             "message":{"mid":"m1","text":"hi"}}]}]});
        let env = parse(body.to_string().as_bytes()).unwrap();
        assert!(env.rejected.is_empty());
        let item = &env.items[0];
        assert_eq!(item.entry_id, "17841400000000001");
        assert_eq!(item.event.sender, "6185000000000001");
        assert_eq!(item.occurred_at().unwrap().timestamp_millis(), 1732460000123);
    }

    #[test]
    fn a_bad_item_is_rejected_beside_the_good_ones() {
        let body = json!({"object":"instagram","entry":[
            {"id":"1","messaging":[{"sender":{},"recipient":{"id":"1"}},
                                   {"sender":{"id":"2"},"recipient":{"id":"1"},"message":{"mid":"m","text":"ok"}}]},
            "not an entry"]});
        let env = parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(env.items.len(), 1);
        assert_eq!(env.rejected.len(), 2);
    }

    #[test]
    fn unknown_kinds_parse_as_unknown() {
        let body = json!({"object":"instagram","entry":[{"id":"1","messaging":[
            {"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"something_new":{"x":1}}]}]});
        let env = parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(env.items[0].event.kind, EventKind::Unknown);
    }

    #[test]
    fn standby_and_changes_forms_yield_items() {
        let msg = json!({"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1732460000123i64,"message":{"mid":"m","text":"t"}});
        let body = json!({"object":"instagram","entry":[
            {"id":"1","standby":[msg.clone()]},
            {"id":"0","time":1732460000,"changes":[{"field":"messages","value":msg},{"field":"comments","value":{}}]}]});
        let env = parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(env.items.len(), 2);
        assert_eq!(env.items[0].source, Source::Standby);
        assert_eq!(env.items[1].source, Source::Changes);
        assert_eq!(env.items[1].account_id(), "1", "entry id 0 falls back to the recipient");
        assert_eq!(env.rejected.len(), 1);
    }

    #[test]
    fn every_meta_fixture_parses_without_a_rejected_item() {
        let fixtures = crate::fixtures::all_webhooks();
        assert!(fixtures.len() >= 20, "fixtures found: {}", fixtures.len());
        for (name, body) in fixtures {
            let envelope = parse(body.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(envelope.rejected.is_empty(), "{name}: {:?}", envelope.rejected);
            assert!(!envelope.items.is_empty(), "{name}");
            for item in &envelope.items {
                assert!(item.occurred_at().is_some(), "{name}: no timestamp");
                assert_ne!(item.event.kind, EventKind::Unknown, "{name}: kind not recognised");
            }
        }
    }

    #[test]
    fn envelope_errors_are_distinguished() {
        assert!(matches!(parse(b"{nope"), Err(EnvelopeError::NotJson(_))));
        assert_eq!(parse(br#"{"object":"page","entry":[]}"#), Err(EnvelopeError::NotInstagram));
        assert_eq!(parse(br#"{"object":"instagram"}"#), Err(EnvelopeError::NotInstagram));
    }
}
