//! Each organization's settings (retention, and whether reading sends Meta's seen mark), and
//! the retention they set: the scheduled run erases whole
//! every conversation (media copies included) with no message for that many days, the longest inactive first, a
//! bounded amount a run (the next run goes on from what is left).

use serde::{Deserialize, Serialize};

use crate::domain::{Caller, ERASURE_CALLS_PER_REQUEST, MAX_RETENTION_DAYS, OrganizationSettings};
use crate::error::AppError;

use super::Inbox;

/// Conversations one look at an organization's oldest takes.
const INACTIVE_PAGE: usize = 25;

/// `PUT .../settings`: the whole settings; a missing or null retention keeps everything.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsInput {
    #[serde(default)]
    pub message_retention_days: Option<i64>,
    /// Missing or null: on.
    #[serde(default)]
    pub mark_seen_on_read: Option<bool>,
}

/// What one scheduled run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionReport {
    pub conversations_expired: usize,
    /// Organizations whose expired conversations were not all erased in this run.
    pub organizations_behind: usize,
}

impl Inbox {
    pub async fn settings(&self, org: &str) -> Result<OrganizationSettings, AppError> {
        let stored = self.ports.settings.get_settings(org).await?;
        Ok(stored.unwrap_or_else(|| OrganizationSettings::defaults(org, self.now())))
    }

    pub async fn put_settings(&self, caller: &Caller, input: SettingsInput) -> Result<OrganizationSettings, AppError> {
        let days = match input.message_retention_days {
            None => None,
            Some(d) if (1..=i64::from(MAX_RETENTION_DAYS)).contains(&d) => Some(d as u32),
            Some(_) => {
                return Err(AppError::validation(format!(
                    "messageRetentionDays must be 1 to {MAX_RETENTION_DAYS}, or null to keep everything"
                )));
            }
        };
        let settings = OrganizationSettings {
            message_retention_days: days,
            mark_seen_on_read: input.mark_seen_on_read.unwrap_or(true),
            ..OrganizationSettings::defaults(&caller.organization_id, self.now())
        };
        self.ports.settings.put_settings(&settings).await?;
        tracing::info!(organization = %caller.organization_id, by = ?caller.subject, retention_days = ?days, "settings changed");
        Ok(settings)
    }

    /// The scheduled run: every organization's conversations past its retention, erased.
    pub async fn enforce_retention(&self) -> Result<RetentionReport, AppError> {
        let mut report = RetentionReport::default();
        for settings in self.ports.settings.organizations_with_retention().await? {
            let Some(cutoff) = settings.retention_cutoff(self.now()) else { continue };
            let org = settings.organization_id.as_str();
            let erasure = &self.ports.erasure;
            let mut calls = ERASURE_CALLS_PER_REQUEST;
            'organization: loop {
                let expired = erasure.inactive_conversations(org, cutoff, INACTIVE_PAGE).await?;
                if expired.is_empty() {
                    break;
                }
                for conversation in expired {
                    let progress = self.erase_conversation(org, &conversation.id, &mut calls).await?;
                    if !progress.done {
                        report.organizations_behind += 1;
                        break 'organization;
                    }
                    report.conversations_expired += 1;
                }
            }
        }
        Ok(report)
    }
}
