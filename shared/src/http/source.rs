//! The optional allow-list of webhook source addresses (`WEBHOOK_ALLOWED_CIDRS`, e.g. Meta's
//! published ranges). The caller's address is API Gateway's (`requestContext`), never a
//! header the caller controls; without a request context (the local server) it does not apply.

use std::net::IpAddr;

use lambda_http::request::RequestContext;

pub use crate::cidr::{Cidr, parse_list};

/// The caller's address as API Gateway saw it.
pub fn source_ip(ctx: &RequestContext) -> Option<IpAddr> {
    let ip = match ctx {
        RequestContext::ApiGatewayV2(c) => c.http.source_ip.clone(),
        RequestContext::ApiGatewayV1(c) => c.identity.source_ip.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    };
    ip?.parse().ok()
}
