//! The webhook's optional source allow-list: the address API Gateway saw decides, never a
//! header the caller writes.

use crate::common::*;
use axum::body::Body;
use inbox_shared::config::AppEnv;
use inbox_shared::meta::signature;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::request::RequestContext;
use tower::ServiceExt;

#[tokio::test]
async fn only_allowed_source_ranges_may_deliver_webhooks() {
    let app = TestApp::with(AppEnv::Development, &[("WEBHOOK_ALLOWED_CIDRS", "31.13.24.0/21, 2a03:2880::/32")]).await;
    let router = inbox_shared::http::router(app.services.clone());
    let body = inbox_shared::fixtures::webhook("text.json");
    let deliver = |source: Option<&str>, forwarded: Option<&str>| {
        let mut req = axum::http::Request::post("/api/webhooks/instagram")
            .header("x-hub-signature-256", signature::sign(APP_SECRET, body.as_bytes()))
            .header("content-type", "application/json");
        if let Some(f) = forwarded {
            req = req.header("x-forwarded-for", f);
        }
        let mut req = req.body(Body::from(body.clone())).unwrap();
        if let Some(ip) = source {
            let mut ctx = ApiGatewayV2httpRequestContext::default();
            ctx.http.source_ip = Some(ip.to_owned());
            req.extensions_mut().insert(RequestContext::ApiGatewayV2(ctx));
        }
        let router = router.clone();
        async move { router.oneshot(req).await.unwrap().status().as_u16() }
    };
    assert_eq!(deliver(Some("31.13.24.7"), None).await, 200);
    assert_eq!(deliver(Some("2a03:2880:f003::9"), None).await, 200);
    assert_eq!(deliver(Some("203.0.113.9"), None).await, 403);
    assert_eq!(deliver(Some("203.0.113.9"), Some("31.13.24.7")).await, 403, "a header does not vouch");
    assert_eq!(deliver(None, None).await, 200, "the local server has no request context");
}
