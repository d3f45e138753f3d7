//! Leads: the organization's contacts, linked to conversations by Instagram handle or id.

use serde::Deserialize;

use crate::domain::{ConversationChange, Lead, Page, new_id};
use crate::error::AppError;

use super::Inbox;
use super::reads::ListQuery;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewLead {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub instagram_handle: Option<String>,
    pub instagram_user_id: Option<String>,
}

impl Inbox {
    pub async fn create_lead(&self, org: &str, input: NewLead) -> Result<Lead, AppError> {
        let clean = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let handle = clean(input.instagram_handle).map(|h| Lead::normalize_handle(&h)).filter(|h| !h.is_empty());
        if let Some(h) = &handle {
            let valid = h.len() <= 30 && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
            if !valid {
                return Err(AppError::validation("instagramHandle must be up to 30 letters, digits, '.' or '_'"));
            }
        }
        let user_id = clean(input.instagram_user_id);
        if user_id.as_deref().is_some_and(|id| id.len() > 32 || !id.chars().all(|c| c.is_ascii_digit())) {
            return Err(AppError::validation("instagramUserId must be up to 32 digits"));
        }
        for (field, value, max) in
            [("name", &input.name, 200), ("email", &input.email, 254), ("phone", &input.phone, 32)]
        {
            if value.as_deref().is_some_and(|v| v.trim().chars().count() > max) {
                return Err(AppError::validation(format!("{field} must be at most {max} characters")));
            }
        }
        let lead = Lead {
            id: new_id("lead"),
            organization_id: org.to_owned(),
            name: clean(input.name),
            email: clean(input.email),
            phone: clean(input.phone),
            instagram_handle: handle,
            instagram_user_id: user_id,
            created_at: self.now(),
        };
        if lead.name.is_none()
            && lead.instagram_handle.is_none()
            && lead.instagram_user_id.is_none()
            && lead.email.is_none()
        {
            return Err(AppError::validation("a lead needs a name, an email or an Instagram handle or id"));
        }
        self.ports.leads.create_lead(&lead).await?;
        self.link_conversations_to(&lead).await?;
        Ok(lead)
    }

    pub async fn list_leads(&self, org: &str, query: &ListQuery) -> Result<Page<Lead>, AppError> {
        Ok(self.ports.leads.list_leads(org, &query.page()?).await?)
    }

    /// A lead created after the customer wrote is linked to their conversations at once: by
    /// its Instagram id, or by its handle through the profile fetched for that username.
    async fn link_conversations_to(&self, lead: &Lead) -> Result<(), AppError> {
        let org = &lead.organization_id;
        let user_id = match (&lead.instagram_user_id, &lead.instagram_handle) {
            (Some(id), _) => id.clone(),
            (None, Some(handle)) => match self.ports.leads.find_profile_by_username(org, handle).await? {
                Some(profile) => profile.instagram_user_id,
                None => return Ok(()),
            },
            (None, None) => return Ok(()),
        };
        let user_id = &user_id;
        for account_id in self.ports.directory.accounts(org).await?.into_iter().map(|a| a.id) {
            if let Some(c) =
                self.ports.conversations.find_conversation(&lead.organization_id, &account_id, user_id).await?
            {
                let linked = ConversationChange::contact(None, None, Some(&lead.id));
                self.ports.conversations.change_conversation(org, &c.id, &linked).await?;
            }
        }
        Ok(())
    }
}
