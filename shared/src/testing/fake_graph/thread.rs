//! A thread the fake Meta holds: an account's conversation with one customer, and its
//! messages (what a test sets up; `threads` answers Meta's Conversations API from them).

use chrono::{DateTime, Utc};

use crate::domain::Provider;

/// One message of a thread.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadMessage {
    pub id: String,
    pub at: DateTime<Utc>,
    pub from: String,
    pub to: String,
    pub text: String,
}

/// A thread between an account and a customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Thread {
    pub id: String,
    /// What the thread is listed under: the Page (Facebook Login) or the Instagram account.
    pub owner: String,
    /// The business side as messages name it: the Instagram account, or the Page.
    pub account: String,
    pub platform: Provider,
    pub customer: String,
    /// Oldest first.
    pub messages: Vec<ThreadMessage>,
}

impl Thread {
    /// An empty thread between the account (listed under `owner`) and `customer`.
    pub fn between(id: &str, owner: &str, account: &str, platform: Provider, customer: &str) -> Self {
        Thread {
            id: id.to_owned(),
            owner: owner.to_owned(),
            account: account.to_owned(),
            platform,
            customer: customer.to_owned(),
            messages: Vec::new(),
        }
    }

    /// `count` messages a minute apart from `first`, every third the account's; ids
    /// `<thread>_m<i>`.
    pub fn with_messages(mut self, count: usize, first: DateTime<Utc>) -> Self {
        for i in 0..count {
            let at = first + chrono::Duration::minutes(i as i64);
            self.push(at, i % 3 == 2, &format!("{} message {i}", self.id));
        }
        self
    }

    /// Appends a message (from the account when `ours`), returning its id.
    pub fn push(&mut self, at: DateTime<Utc>, ours: bool, text: &str) -> String {
        let id = format!("{}_m{}", self.id, self.messages.len());
        let (from, to) = if ours { (&self.account, &self.customer) } else { (&self.customer, &self.account) };
        let message = ThreadMessage { id: id.clone(), at, from: from.clone(), to: to.clone(), text: text.to_owned() };
        self.messages.push(message);
        id
    }

    pub(super) fn updated_time(&self) -> Option<DateTime<Utc>> {
        self.messages.last().map(|m| m.at)
    }
}
