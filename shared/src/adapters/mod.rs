//! Adapters of the ports: embedded ones (memory, static key) and production ones.

pub mod graph_http;
pub mod memory_queue;
pub mod memory_store;
pub mod static_cipher;
