//! Adapters of the ports: embedded ones (memory) and production ones.

pub mod graph_http;
pub mod memory_store;
