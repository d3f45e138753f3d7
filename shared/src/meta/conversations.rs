//! Meta's Conversations API as it answers (`GET /{owner}/conversations`, `GET /{thread}?fields=
//! messages{...}`): threads and the messages Meta still details (the 20 most recent of a
//! thread), read into the port's types. Lenient like the webhook readers: a field Meta leaves
//! out is none, an item that cannot be read is skipped, never the whole page.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::id_string;
use crate::ports::{MetaMessage, MetaThread, MetaThreadPage};

/// The thread fields the import and the sweep ask for.
pub const THREAD_FIELDS: &str = "id,updated_time,participants";
/// The message fields they ask for (Meta details only the 20 most recent of a thread).
pub const MESSAGE_FIELDS: &str = "messages{id,created_time,from,to,message,attachments,is_unsupported}";

/// Meta's time: ISO 8601 with `+0000` (its usual form), RFC 3339, or Unix seconds.
pub fn graph_time(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Number(n) => n.as_i64().and_then(|s| DateTime::from_timestamp(s, 0)),
        Value::String(s) => DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z")
            .or_else(|_| DateTime::parse_from_rfc3339(s))
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| s.parse::<i64>().ok().and_then(|s| DateTime::from_timestamp(s, 0))),
        _ => None,
    }
}

/// A page of `GET /{owner}/conversations`.
pub fn thread_page(body: &Value) -> MetaThreadPage {
    let threads = items(body).filter_map(thread).collect();
    let after = body.pointer("/paging/cursors/after").and_then(Value::as_str);
    // Meta gives `next` only when another page follows; the cursor alone is not enough.
    let more = body.pointer("/paging/next").is_some_and(|n| n.as_str().is_some_and(|s| !s.is_empty()));
    MetaThreadPage { threads, after: after.filter(|_| more).map(str::to_owned) }
}

fn thread(t: &Value) -> Option<MetaThread> {
    Some(MetaThread {
        id: t.get("id").and_then(id_string)?,
        updated_time: t.get("updated_time").and_then(graph_time),
        participants: t
            .get("participants")
            .map(|p| items(p).filter_map(|u| u.get("id")).filter_map(id_string).collect())
            .unwrap_or_default(),
    })
}

/// The messages of `GET /{thread}?fields=messages{...}`, newest first as Meta lists them.
pub fn thread_messages(body: &Value) -> Vec<MetaMessage> {
    body.get("messages").map(|m| items(m).filter_map(message).collect()).unwrap_or_default()
}

fn message(m: &Value) -> Option<MetaMessage> {
    Some(MetaMessage {
        id: m.get("id").and_then(id_string)?,
        created_time: m.get("created_time").and_then(graph_time)?,
        from: m.pointer("/from/id").and_then(id_string)?,
        to: m
            .get("to")
            .map(|t| items(t).filter_map(|u| u.get("id")).filter_map(id_string).collect())
            .unwrap_or_default(),
        text: m.get("message").and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_owned),
        attachments: m.get("attachments").map(|a| items(a).filter_map(attachment).collect()).unwrap_or_default(),
        is_unsupported: m.get("is_unsupported").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// A Conversations API attachment in the webhook's shape (`{type, payload: {url}}`), which
/// the inbox shows every attachment in.
fn attachment(a: &Value) -> Option<Value> {
    let url_at = |path: &str| a.pointer(path).and_then(Value::as_str);
    let mime = a.get("mime_type").and_then(Value::as_str).unwrap_or_default();
    let (kind, url) = if let Some(url) = url_at("/image_data/url") {
        ("image", url)
    } else if let Some(url) = url_at("/video_data/url") {
        ("video", url)
    } else if let Some(url) = url_at("/file_url") {
        (if mime.starts_with("audio/") { "audio" } else { "file" }, url)
    } else {
        return None;
    };
    Some(json!({ "type": kind, "payload": { "url": url } }))
}

/// The entries of a Graph collection (`{"data": [...]}`).
fn items(collection: &Value) -> impl Iterator<Item = &Value> {
    collection.get("data").and_then(Value::as_array).into_iter().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_s_shapes_are_read_and_what_cannot_be_read_is_skipped() {
        let page = json!({"data": [
            {"id": "t_1", "updated_time": "2026-11-30T10:00:00+0000", "participants": {"data": [{"id": "17841", "username": "shop"}, {"id": "6185"}]}},
            {"updated_time": "2026-11-30T10:00:00+0000"}
        ], "paging": {"cursors": {"after": "QVFI"}, "next": "https://graph.facebook.com/next"}});
        let read = thread_page(&page);
        assert_eq!(read.threads.len(), 1);
        assert_eq!(read.threads[0].participants, ["17841", "6185"]);
        assert_eq!(read.threads[0].updated_time, graph_time(&json!("2026-11-30T10:00:00Z")));
        assert_eq!(read.after.as_deref(), Some("QVFI"));
        let last = json!({"data": [], "paging": {"cursors": {"after": "QVFJ"}}});
        assert_eq!(thread_page(&last).after, None, "no next: the last page");
        let thread = json!({"id": "t_1", "messages": {"data": [
            {"id": "m_2", "created_time": "2026-11-30T10:00:00+0000", "from": {"id": "6185"}, "to": {"data": [{"id": "17841"}]},
             "message": "", "attachments": {"data": [{"mime_type": "image/jpeg", "image_data": {"url": "https://cdn/x.jpg"}}]}},
            {"id": "m_1", "created_time": 1764496800, "from": {"id": "17841"}, "message": "Hi"},
            {"id": "m_0", "from": {"id": "17841"}}
        ]}});
        let messages = thread_messages(&thread);
        assert_eq!(messages.len(), 2, "a message without a time is skipped");
        assert_eq!(messages[0].text, None);
        assert_eq!(messages[0].attachments, [json!({"type": "image", "payload": {"url": "https://cdn/x.jpg"}})]);
        assert_eq!(messages[1].text.as_deref(), Some("Hi"));
        assert!(messages[1].to.is_empty());
    }
}
