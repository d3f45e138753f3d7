//! Meta's wire formats: webhook signatures and payloads.

pub mod graph_errors;
pub mod signature;
pub mod webhook;
