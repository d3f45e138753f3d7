//! Use cases over the ports. `Core` holds the adapters, built once at start-up; each file
//! adds one family of use cases to it.

mod accounts;
mod inbound;
mod inbox;
mod leads;

pub use inbound::AcceptReport;
pub use inbox::ListQuery;
pub use leads::NewLead;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::ports::{Clock, GraphApi, Store};

pub struct Core {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub graph: Arc<dyn GraphApi>,
    pub clock: Arc<dyn Clock>,
}

impl Core {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}
