//! The traits through which the core talks to the world. Each has an embedded adapter and a
//! production one, and both pass the same conformance tests.

mod clock;
mod graph;
mod store;

pub use clock::{Clock, ManualClock, SystemClock};
pub use graph::{GraphApi, GraphError, UserProfile};
pub use store::{Appended, RawEvent, Store, StoreError};
