use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Instagram lets a business answer for 24 h after the customer's last message.
pub const STANDARD_WINDOW: Duration = Duration::hours(24);
/// With the `HUMAN_AGENT` tag (approved by Meta), a human may answer for 7 days.
pub const HUMAN_AGENT_WINDOW: Duration = Duration::days(7);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SlaStatus {
    None,
    OnTrack,
    AtRisk,
    Breached,
}

/// Who wrote a reply. Meta's `HUMAN_AGENT` tag (the 7-day window) is for a person's replies
/// only; an automation's replies have the 24 h window, whatever the configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Author {
    #[default]
    Person,
    Automation,
}

/// On what basis a DM goes out, as the Send API's `messaging_type` states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessagingBasis {
    /// Inside the 24 h window: `RESPONSE`.
    Response,
    /// A person's reply after 24 h, inside 7 days: `MESSAGE_TAG` with `HUMAN_AGENT`.
    HumanAgent,
}

/// The messaging-window and SLA rules of CONTRACT.md, from configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyPolicy {
    pub human_agent_tag: bool,
    pub sla: Duration,
}

impl ReplyPolicy {
    pub fn window(&self) -> Duration {
        if self.human_agent_tag { HUMAN_AGENT_WINDOW } else { STANDARD_WINDOW }
    }

    pub fn window_ends_at(&self, last_inbound_at: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        last_inbound_at.map(|t| t + self.window())
    }

    /// When the window closes for a reply by `author`.
    pub fn window_ends_for(&self, last_inbound_at: Option<DateTime<Utc>>, author: Author) -> Option<DateTime<Utc>> {
        match author {
            Author::Person => self.window_ends_at(last_inbound_at),
            Author::Automation => last_inbound_at.map(|t| t + STANDARD_WINDOW),
        }
    }

    /// Whether a reply by `author` may go out at `now`.
    pub fn is_open(&self, last_inbound_at: Option<DateTime<Utc>>, author: Author, now: DateTime<Utc>) -> bool {
        self.window_ends_for(last_inbound_at, author).is_some_and(|end| now < end)
    }

    /// The basis a reply by `author` goes out on at `now` (decided at each attempt, so a send
    /// retried after the 24 h carries the tag); `None`: the window is closed for it.
    pub fn basis_at(
        &self,
        last_inbound_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        author: Author,
    ) -> Option<MessagingBasis> {
        let last = last_inbound_at?;
        if now < last + STANDARD_WINDOW {
            Some(MessagingBasis::Response)
        } else if self.is_open(last_inbound_at, author, now) {
            Some(MessagingBasis::HumanAgent)
        } else {
            None
        }
    }

    pub fn sla_status(&self, awaiting_since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> SlaStatus {
        let Some(since) = awaiting_since else {
            return SlaStatus::None;
        };
        let waited = (now - since).num_milliseconds().max(0) as f64;
        let budget = self.sla.num_milliseconds().max(1) as f64;
        match waited / budget {
            r if r >= 1.0 => SlaStatus::Breached,
            r if r >= 0.8 => SlaStatus::AtRisk,
            _ => SlaStatus::OnTrack,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(tag: bool) -> ReplyPolicy {
        ReplyPolicy { human_agent_tag: tag, sla: Duration::minutes(60) }
    }

    #[test]
    fn sla_thresholds_are_80_and_100_percent() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let p = policy(false);
        assert_eq!(p.sla_status(None, t0), SlaStatus::None);
        assert_eq!(p.sla_status(Some(t0), t0 + Duration::minutes(47)), SlaStatus::OnTrack);
        assert_eq!(p.sla_status(Some(t0), t0 + Duration::minutes(48)), SlaStatus::AtRisk);
        assert_eq!(p.sla_status(Some(t0), t0 + Duration::minutes(59)), SlaStatus::AtRisk);
        assert_eq!(p.sla_status(Some(t0), t0 + Duration::minutes(60)), SlaStatus::Breached);
    }

    #[test]
    fn human_agent_tag_extends_the_window_to_seven_days() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(policy(false).window_ends_at(Some(t0)), Some(t0 + Duration::hours(24)));
        assert_eq!(policy(true).window_ends_at(Some(t0)), Some(t0 + Duration::days(7)));
        let (person, bot) = (Author::Person, Author::Automation);
        let at = |h: i64| t0 + Duration::hours(h);
        assert_eq!(policy(true).basis_at(Some(t0), at(23), person), Some(MessagingBasis::Response));
        assert_eq!(policy(true).basis_at(Some(t0), at(25), person), Some(MessagingBasis::HumanAgent));
        assert_eq!(policy(true).basis_at(Some(t0), at(24 * 7), person), None);
        assert_eq!(policy(false).basis_at(Some(t0), at(25), person), None);
        // An automation never gets the tag, nor the 7 days.
        assert_eq!(policy(true).basis_at(Some(t0), at(23), bot), Some(MessagingBasis::Response));
        assert_eq!(policy(true).basis_at(Some(t0), at(25), bot), None);
        assert_eq!(policy(true).window_ends_for(Some(t0), bot), Some(at(24)));
        assert_eq!(policy(true).basis_at(None, at(0), person), None);
        assert_eq!(policy(false).window_ends_at(None), None);
    }
}
