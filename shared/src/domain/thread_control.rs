//! Who controls a conversation's thread at Meta (Messenger's handover protocol, Instagram's
//! too): a bot app beside the inbox may own it, and while it does Meta delivers the customer's
//! messages to the inbox on `standby` and takes no send from it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The thread's owner as last heard: from a handover webhook, a message on standby, or the
/// inbox taking or passing control itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadControl {
    /// The app that owns it, when Meta named it (a message on standby does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_app_id: Option<String>,
    /// Whether this deployment's app owns it.
    pub ours: bool,
    /// The app that owned it before (where "pass back" goes by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_owner_app_id: Option<String>,
    pub at: DateTime<Utc>,
}

impl ThreadControl {
    /// What is known once `next` is heard: `None` when it is older than what is known. A
    /// message on standby names no owner: the one named before stays.
    pub fn merged(current: Option<&ThreadControl>, next: &ThreadControl) -> Option<ThreadControl> {
        match current {
            Some(c) if next.at < c.at => None,
            Some(c) if !c.ours && !next.ours && next.owner_app_id.is_none() => {
                Some(ThreadControl { at: next.at, ..c.clone() })
            }
            _ => Some(next.clone()),
        }
    }

    /// Another app owns the thread: the inbox's sends would be refused.
    pub fn held_elsewhere(control: Option<&ThreadControl>) -> bool {
        control.is_some_and(|c| !c.ours)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn the_latest_word_on_the_owner_stands_and_standby_keeps_the_named_owner() {
        let at = Utc::now();
        let bot = ThreadControl {
            owner_app_id: Some("bot".into()),
            ours: false,
            previous_owner_app_id: Some("inbox".into()),
            at,
        };
        let standby = ThreadControl {
            owner_app_id: None,
            ours: false,
            previous_owner_app_id: None,
            at: at + Duration::seconds(1),
        };
        let kept = ThreadControl::merged(Some(&bot), &standby).unwrap();
        assert_eq!((kept.owner_app_id.as_deref(), kept.at), (Some("bot"), standby.at));
        let back = ThreadControl {
            owner_app_id: Some("inbox".into()),
            ours: true,
            previous_owner_app_id: None,
            at: at - Duration::seconds(1),
        };
        assert_eq!(ThreadControl::merged(Some(&bot), &back), None, "older news changes nothing");
        assert!(ThreadControl::held_elsewhere(Some(&bot)));
        assert!(!ThreadControl::held_elsewhere(None));
    }
}
