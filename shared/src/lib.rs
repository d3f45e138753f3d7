//! The core of the Instagram DM channel of the unified inbox: domain types, use cases
//! (`services`), the ports they need and their adapters, and the HTTP edge. The Lambda
//! functions and the local server are thin shells around it.

pub mod adapters;
pub mod cidr;
pub mod config;
#[cfg(any(test, feature = "test-util"))]
pub mod conformance;
pub mod correlation;
pub mod deadline;
pub mod domain;
pub mod error;
#[cfg(any(test, feature = "test-util"))]
pub mod fixtures;
pub mod http;
pub mod lambda;
/// The local server's start-up on SQLite: only with the `sqlite` feature (`inbox-local`).
#[cfg(feature = "sqlite")]
pub mod local;
pub mod logging;
pub mod meta;
pub mod metrics;
pub mod ports;
pub mod relay;
pub mod runtime;
pub mod secrets;
pub mod services;
/// Test helpers: only with the `test-util` feature (tests enable it), never in a release binary.
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
pub mod worker;
