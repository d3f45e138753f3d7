//! Comment webhooks: the `comments` and `live_comments` change fields (a comment on the
//! account's media, or a reply to one) and `mentions` (the account @mentioned in a comment),
//! for the Instagram API with Facebook Login and with Instagram Login alike.
//!
//! Instagram sends no edit or deletion of a comment; Facebook's Page feed does, as a
//! `verb` (`edited`, `remove`) beside the comment. A `comments` value carrying such a verb is
//! read the same way, so those changes update the stored comment.

use serde::Deserialize;
use serde_json::Value;

pub use super::event::{Comment, CommentVerb};
use super::event::{EventKind, MessagingEvent};

impl Comment {
    /// What its thread is named by: the top-level comment, or for a live broadcast (whose
    /// comments are flat and many) the broadcast's media.
    pub fn thread_root(&self) -> &str {
        match (&self.media_id, self.live) {
            (Some(media), true) => media,
            _ => self.parent_id.as_deref().unwrap_or(&self.id),
        }
    }
}

#[derive(Deserialize)]
struct WireComment {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    comment_id: Option<Value>,
    #[serde(default)]
    from: Option<WireFrom>,
    #[serde(default)]
    parent_id: Option<Value>,
    #[serde(default, alias = "message")]
    text: Option<String>,
    #[serde(default)]
    media: Option<WireMedia>,
    #[serde(default)]
    media_id: Option<Value>,
    #[serde(default)]
    verb: Option<String>,
    #[serde(default)]
    created_time: Option<Value>,
    #[serde(default)]
    timestamp: Option<Value>,
}

#[derive(Deserialize)]
struct WireFrom {
    id: Value,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    self_ig_scoped_id: Option<Value>,
}

#[derive(Deserialize)]
struct WireMedia {
    id: Value,
    #[serde(default)]
    media_product_type: Option<String>,
}

/// Whether a change field carries comments.
pub fn is_comment_field(field: &str) -> bool {
    matches!(field, "comments" | "live_comments" | "mentions")
}

/// The event of one `comments`/`live_comments`/`mentions` change addressed to `entry_id`:
/// the commenter is its sender, our account its recipient.
pub fn comment_event(field: &str, value: &Value, entry_id: &str) -> Result<MessagingEvent, String> {
    let w = WireComment::deserialize(value).map_err(|e| format!("unreadable {field} change: {e}"))?;
    let id = w.id.as_ref().or(w.comment_id.as_ref()).and_then(super::id_string);
    let id = id.ok_or_else(|| format!("{field} change without a comment id"))?;
    let verb = match w.verb.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("add") => CommentVerb::Add,
        Some("edited" | "edit") => CommentVerb::Edited,
        Some("remove" | "removed" | "delete" | "deleted") => CommentVerb::Removed,
        Some(other) => return Err(format!("{field} change with an unknown verb {other:?}")),
    };
    let mention = field == "mentions";
    let from_id = w.from.as_ref().and_then(|f| super::id_string(&f.id));
    // The id the commenter's DMs carry, so a private reply joins the thread they write in.
    let scoped = w.from.as_ref().and_then(|f| f.self_ig_scoped_id.as_ref()).and_then(super::id_string);
    let from = scoped.or(from_id.clone());
    if from.is_none() && !mention && verb == CommentVerb::Add {
        return Err(format!("{field} change without its author (from.id)"));
    }
    let media_id =
        w.media.as_ref().and_then(|m| super::id_string(&m.id)).or(w.media_id.as_ref().and_then(super::id_string));
    let media_product_type = w.media.and_then(|m| m.media_product_type);
    let comment = Comment {
        live: field == "live_comments" || media_product_type.as_deref() == Some("LIVE"),
        from_id,
        parent_id: w.parent_id.as_ref().and_then(super::id_string),
        text: w.text,
        username: w.from.as_ref().and_then(|f| f.username.clone()),
        media_id,
        media_product_type,
        verb,
        mention,
        id,
    };
    let timestamp = w.timestamp.as_ref().or(w.created_time.as_ref()).and_then(super::event::time_of);
    Ok(MessagingEvent {
        // A mention names no author: the thread is the comment's own.
        sender: from.unwrap_or_default(),
        recipient: entry_id.to_owned(),
        timestamp,
        kind: EventKind::Comment(comment),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_comment_a_reply_and_a_mention_read_as_meta_sends_them() {
        let value = json!({"from":{"id":"6185000000000001","username":"ana"},"media":{"id":"1790","media_product_type":"FEED"},
                           "id":"17865799348089039","text":"Price?"});
        let e = comment_event("comments", &value, "17841400000000001").unwrap();
        let EventKind::Comment(c) = &e.kind else { panic!("{e:?}") };
        assert_eq!((e.sender.as_str(), e.recipient.as_str()), ("6185000000000001", "17841400000000001"));
        assert_eq!(
            (c.thread_root(), c.media_id.as_deref(), c.username.as_deref()),
            ("17865799348089039", Some("1790"), Some("ana"))
        );
        let reply = json!({"from":{"id":"2"},"id":17900000000000001u64,"parent_id":"17865799348089039","text":"M"});
        let EventKind::Comment(r) = comment_event("comments", &reply, "1").unwrap().kind else { panic!() };
        assert_eq!((r.id.as_str(), r.thread_root()), ("17900000000000001", "17865799348089039"));
        let mention = json!({"media_id":"1791","comment_id":"17999"});
        let m = comment_event("mentions", &mention, "1").unwrap();
        let EventKind::Comment(c) = &m.kind else { panic!() };
        assert!(c.mention && m.sender.is_empty() && c.id == "17999");
        // Instagram Login: the commenter's messaging id is `self_ig_scoped_id`.
        let login = json!({"from":{"id":"17841474524784050","username":"ana","self_ig_scoped_id":"2105722729836161"},
                           "media":{"id":"18172143295349192","media_product_type":"FEED"},"id":"17919697626119712","text":"hi"});
        let e = comment_event("comments", &login, "1").unwrap();
        let EventKind::Comment(c) = &e.kind else { panic!() };
        assert_eq!((e.sender.as_str(), c.from_id.as_deref()), ("2105722729836161", Some("17841474524784050")));
        // A live broadcast's comments share one thread: the broadcast's.
        let live = json!({"from":{"id":"3","username":"v"},"media":{"id":"17895695668004551","media_product_type":"LIVE"},
                          "id":"17865799348089040","text":"Hello from the live!"});
        let EventKind::Comment(c) = comment_event("live_comments", &live, "1").unwrap().kind else { panic!() };
        assert!(c.live);
        assert_eq!(c.thread_root(), "17895695668004551");
    }

    #[test]
    fn edits_and_removals_carry_their_verb_and_bad_changes_say_why() {
        let edited = json!({"id":"5","verb":"edited","message":"new text"});
        let EventKind::Comment(c) = comment_event("comments", &edited, "1").unwrap().kind else { panic!() };
        assert_eq!((c.verb, c.text.as_deref()), (CommentVerb::Edited, Some("new text")));
        let removed = json!({"id":"5","verb":"remove"});
        let EventKind::Comment(c) = comment_event("comments", &removed, "1").unwrap().kind else { panic!() };
        assert_eq!(c.verb, CommentVerb::Removed);
        for bad in [
            json!({}),
            json!({"id":"5","text":"no author"}),
            json!({"id":"5","from":{"id":"2"},"verb":"zap"}),
            json!("x"),
        ] {
            assert!(comment_event("comments", &bad, "1").is_err(), "{bad}");
        }
    }
}
