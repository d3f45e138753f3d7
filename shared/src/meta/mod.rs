//! Meta's wire formats: webhook signatures and payloads.

pub mod signature;
pub mod webhook;
