//! The traits through which the core talks to the world. Each has an embedded adapter and a
//! production one, and both pass the same conformance tests.

mod bus;
mod cipher;
mod clock;
mod directory;
mod erasure;
mod graph;
mod graph_threads;
mod media;
mod queue;
mod random;
mod raw_events;
mod store;

pub use bus::{BusError, EventBus};
pub use cipher::{CipherError, TokenCipher, TokenContext};
pub use clock::{Clock, ManualClock, SystemClock};
pub use directory::{AccountDirectory, AccountToken, requested_org, with_requested_org};
pub use erasure::{ErasureStore, SettingsStore};
pub use graph::{
    ActionCall, AppWebhook, GraphApi, GraphError, GraphHost, GraphMessaging, GraphOAuth, GraphSetup, InstagramGrant,
    InstagramMe, LinkedInstagram, ManagedPage, OutgoingContent, OutgoingMessage, Recipient, SendTarget, SentMessage,
    SubscribedApp, ThreadCall, TokenDebug, TokenGrant, Usage, UserProfile,
};
pub use graph_threads::{GraphThreads, MetaMessage, MetaThread, MetaThreadPage, ThreadQuery};
pub use media::{FetchError, Head, MediaError, MediaSource, MediaStore, SignedPut};
pub use queue::{
    Delivery, JobQueue, LocalQueue, QueueError, QueueLane, QueueMessage, QueuedItem, QueuedItems, ReplayPage,
};
pub use random::{FixedJitter, Jitter, ThreadRngJitter};
pub use raw_events::{RawEvent, RawEventStore};
pub use store::{
    AccountStore, Appended, ConversationStore, EventStore, IdempotencyStore, JobStore, LeadStore, MarkSent,
    MessageStore, ROUTE_CACHE_TTL, Store, StoreError,
};
