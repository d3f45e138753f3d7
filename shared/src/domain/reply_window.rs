use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

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

    /// Whether a reply sent `now` needs the `HUMAN_AGENT` tag (past 24 h, inside 7 days).
    pub fn needs_human_agent_tag(&self, last_inbound_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        self.human_agent_tag && last_inbound_at.is_some_and(|t| now >= t + STANDARD_WINDOW)
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
        assert!(!policy(true).needs_human_agent_tag(Some(t0), t0 + Duration::hours(23)));
        assert!(policy(true).needs_human_agent_tag(Some(t0), t0 + Duration::hours(25)));
        assert!(!policy(false).needs_human_agent_tag(Some(t0), t0 + Duration::hours(25)));
        assert_eq!(policy(false).window_ends_at(None), None);
    }
}
