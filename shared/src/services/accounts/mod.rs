//! The accounts flow: companies connect Instagram accounts and Facebook Pages with Meta
//! OAuth; tokens are stored encrypted and refreshed on a schedule; accounts are listed,
//! checked against Meta (the doctor) and disconnected. `StoreDirectory` is the account
//! directory every flow reads (route, account of, access token).

mod connected;
mod directory;
mod erasure;
mod greeting;
mod health;
mod history;
mod link;
mod meta_callbacks;
mod oauth;
mod oauth_state;
mod opened_tokens;
mod tokens;

pub use directory::StoreDirectory;
pub use health::{CheckStatus, HealthCheck, HealthReport};
pub use meta_callbacks::{DeletionRequest, DeletionStatus};
/// The permissions Facebook Login asks for (the doctor checks a token has them all).
pub use oauth::SCOPES as OAUTH_SCOPES;
pub use oauth::{CallbackOutcome, CallbackParams, ConnectResult};
pub use oauth_state::Flow;
pub use tokens::RefreshReport;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::ports::{
    AccountDirectory, AccountStore, Clock, ErasureStore, GraphApi, IdempotencyStore, JobQueue, RawEventStore,
    TokenCipher,
};

/// Exactly the ports the accounts flow uses.
pub struct AccountsPorts {
    pub config: Arc<Config>,
    pub accounts: Arc<dyn AccountStore>,
    /// The OAuth state's single use.
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub cipher: Arc<dyn TokenCipher>,
    pub graph: Arc<dyn GraphApi>,
    /// The accounts as every flow sees them (in development with the fallback account).
    pub directory: Arc<dyn AccountDirectory>,
    /// The replay of what waited for a newly connected account, and its history import.
    pub queue: Arc<dyn JobQueue>,
    pub clock: Arc<dyn Clock>,
    /// An organization's data removed when it leaves.
    pub erasure: Arc<dyn ErasureStore>,
    /// The webhook events kept for its accounts, dropped with it.
    pub raw_events: Arc<dyn RawEventStore>,
    /// Media copies, which go with the organization's data.
    pub media: Option<Arc<dyn crate::ports::MediaStore>>,
}

pub struct Accounts {
    ports: AccountsPorts,
}

impl Accounts {
    pub fn new(ports: AccountsPorts) -> Self {
        Self { ports }
    }

    fn now(&self) -> DateTime<Utc> {
        self.ports.clock.now()
    }
}
