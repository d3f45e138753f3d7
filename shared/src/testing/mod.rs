//! Test support shared by this crate's tests and the functions' Runtime API tests: a fake
//! Graph API, a fake Lambda Runtime API, and the local AWS-compatible server's resources.
//! Nothing here runs in production code paths.

pub mod aws_counter;
pub mod counted;
pub mod fake_cdn;
pub mod fake_graph;
pub mod fault_proxy;
pub mod local_aws;
pub mod runtime_api;
pub mod seed;
pub mod stream_pump;
