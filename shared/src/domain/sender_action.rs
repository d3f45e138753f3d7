//! What an agent does in a conversation that is not a message: typing, seen, and reactions.
//! They travel on the sends queue without a job record: typing and seen are moments (one
//! older than a few seconds means nothing any more and is dropped), a reaction is a state
//! (sending it twice sets it twice, so it is retried a few times, then given up).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::Provider;
use super::rich::Refused;

/// A typing indicator or a seen mark older than this is dropped, not sent late.
pub const SENDER_ACTION_MAX_AGE: Duration = Duration::seconds(5);
/// A reaction Meta keeps failing with transient errors is tried this many times in all.
pub const REACTION_ATTEMPTS: u32 = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SenderAction {
    TypingOn,
    TypingOff,
    MarkSeen,
    /// React to the message (ours, by id) with `reaction` as the channel names it.
    #[serde(rename_all = "camelCase")]
    React {
        message_id: String,
        reaction: String,
    },
    #[serde(rename_all = "camelCase")]
    Unreact {
        message_id: String,
    },
}

impl SenderAction {
    /// A moment rather than a state: dropped when late, never retried.
    pub fn is_moment(&self) -> bool {
        matches!(self, SenderAction::TypingOn | SenderAction::TypingOff | SenderAction::MarkSeen)
    }
}

/// A sender action on the queue: whose, where, and when it was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedAction {
    pub organization_id: String,
    pub conversation_id: String,
    pub action: SenderAction,
    pub queued_at: DateTime<Utc>,
    /// Tries before this one.
    #[serde(default)]
    pub attempt: u32,
}

impl QueuedAction {
    /// Too late to mean anything at `now`.
    pub fn is_stale(&self, now: DateTime<Utc>) -> bool {
        self.action.is_moment() && now - self.queued_at > SENDER_ACTION_MAX_AGE
    }
}

/// The reaction as the conversation's channel takes it: Instagram only `love` (❤️ is read
/// as it); Messenger any one emoji (`love` is read as ❤️).
pub fn channel_reaction(reaction: &str, provider: Provider) -> Result<String, Refused> {
    let reaction = reaction.trim();
    match provider {
        Provider::Instagram => match reaction {
            "love" | "❤️" | "❤" => Ok("love".to_owned()),
            _ => Err(Refused::Unsupported(format!(
                "Instagram takes the reaction \"love\" (❤️) only, not \"{reaction}\""
            ))),
        },
        Provider::Messenger => match reaction {
            "love" => Ok(reaction_emoji("love").to_owned()),
            r if is_one_emoji(r) => Ok(r.to_owned()),
            _ => Err(Refused::Invalid(format!("Messenger takes one emoji as a reaction, not \"{reaction}\""))),
        },
    }
}

/// The emoji a reaction shows as: Instagram's `love` is the heart.
pub fn reaction_emoji(reaction: &str) -> &str {
    if reaction == "love" { "❤️" } else { reaction }
}

/// One emoji, give or take its modifiers and joiners: no letters, digits, spaces or ASCII,
/// and short (a family emoji is 7 code points).
fn is_one_emoji(s: &str) -> bool {
    let n = s.chars().count();
    (1..=8).contains(&n) && s.chars().all(|c| !c.is_ascii() && !c.is_alphanumeric() && !c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_channel_gets_the_reaction_it_takes() {
        assert_eq!(channel_reaction("❤️", Provider::Instagram).unwrap(), "love");
        assert_eq!(channel_reaction("love", Provider::Instagram).unwrap(), "love");
        assert!(matches!(channel_reaction("😂", Provider::Instagram), Err(Refused::Unsupported(_))));
        assert_eq!(channel_reaction("😂", Provider::Messenger).unwrap(), "😂");
        assert_eq!(channel_reaction("love", Provider::Messenger).unwrap(), "❤️");
        assert_eq!(channel_reaction("👍🏽", Provider::Messenger).unwrap(), "👍🏽");
        for bad in ["", "lol", "😂 x", "ünï"] {
            assert!(channel_reaction(bad, Provider::Messenger).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_late_moment_is_stale_and_a_late_reaction_is_not() {
        let at = Utc::now();
        let queued = |action| QueuedAction {
            organization_id: "o".into(),
            conversation_id: "c".into(),
            action,
            queued_at: at,
            attempt: 0,
        };
        let typing = queued(SenderAction::TypingOn);
        assert!(!typing.is_stale(at + Duration::seconds(5)));
        assert!(typing.is_stale(at + Duration::seconds(6)));
        let react = queued(SenderAction::React { message_id: "m".into(), reaction: "love".into() });
        assert!(!react.is_stale(at + Duration::hours(1)));
    }
}
