//! Instagram story links in messages: a story mention's media and the story a reply answers.
//! Meta's policy forbids keeping story media, and a story lasts 24 hours, so the inbox keeps
//! only Meta's link, with when it stops working (`expiresAt`, the message's time + 24 h),
//! and says `expired: true` once it has, for a frontend to show a placeholder instead.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use super::Message;

/// How long a story (and its link) lasts.
pub const STORY_LIFETIME: Duration = Duration::hours(24);

impl Message {
    /// Marks its story links with when they expire (on storing it).
    pub fn mark_story_links(&mut self) {
        let expires_at = json!(self.created_at + STORY_LIFETIME);
        for link in story_links(&mut self.attachments, &mut self.meta_json) {
            link.insert("expiresAt".to_owned(), expires_at.clone());
        }
    }

    /// Says which of its story links have expired by `now` (on showing it).
    pub fn show_story_expiry(mut self, now: DateTime<Utc>) -> Message {
        for link in story_links(&mut self.attachments, &mut self.meta_json) {
            let expires_at =
                link.get("expiresAt").and_then(Value::as_str).and_then(|t| t.parse::<DateTime<Utc>>().ok());
            if expires_at.is_some_and(|at| at <= now) {
                link.insert("expired".to_owned(), Value::Bool(true));
            }
        }
        self
    }
}

/// The objects holding a story link: each `story_mention` attachment, and `replyTo.story`.
fn story_links<'m>(attachments: &'m mut [Value], meta: &'m mut Value) -> Vec<&'m mut Map<String, Value>> {
    let mentions = attachments
        .iter_mut()
        .filter(|a| a.get("type").and_then(Value::as_str) == Some("story_mention"))
        .filter_map(Value::as_object_mut);
    let reply = meta.pointer_mut("/replyTo/story").and_then(Value::as_object_mut);
    mentions.chain(reply).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Conversation, Direction};

    #[test]
    fn a_story_link_expires_a_day_after_the_message_and_says_so_then() {
        let at: DateTime<Utc> = "2024-11-24T14:54:20Z".parse().unwrap();
        let c = Conversation::opened("conv_1".into(), "org_a", "acc_1", "6185", at, at);
        let mut m = Message {
            attachments: vec![
                json!({"type": "story_mention", "payload": {"url": "https://lookaside.fbsbx.com/s"}}),
                json!({"type": "image", "payload": {"url": "https://lookaside.fbsbx.com/i"}}),
            ],
            meta_json: json!({"replyTo": {"story": {"id": "1785", "url": "https://lookaside.fbsbx.com/r"}}}),
            ..Message::told_by_meta(&c, Direction::Inbound, ("6185".into(), "1784".into()), at, at)
        };
        m.mark_story_links();
        assert_eq!(m.attachments[0]["expiresAt"], "2024-11-25T14:54:20Z");
        assert_eq!(m.meta_json["replyTo"]["story"]["expiresAt"], "2024-11-25T14:54:20Z");
        assert!(m.attachments[1].get("expiresAt").is_none(), "an image is not a story");
        let fresh = m.clone().show_story_expiry(at + Duration::hours(23));
        assert!(
            fresh.attachments[0].get("expired").is_none()
                && fresh.meta_json["replyTo"]["story"].get("expired").is_none()
        );
        let old = m.show_story_expiry(at + STORY_LIFETIME);
        assert_eq!(
            (&old.attachments[0]["expired"], &old.meta_json["replyTo"]["story"]["expired"]),
            (&json!(true), &json!(true))
        );
    }
}
