//! The HTTP edge: axum Routers under `lambda_http` in Lambda (each function its own routes)
//! and under `axum::serve` in the local server (all of them).

mod accounts;
mod actions;
mod auth;
mod comments;
mod data;
mod error;
mod extract;
mod inbox;
mod leads;
mod media;
mod meta_callbacks;
mod page;
mod request_id;
mod send;
pub mod source;
mod stream;
mod webhook;

pub use auth::{Admin, OrgId, caller_from_jwt, mint_jwt, mint_jwt_claims, mint_jwt_for};
pub use webhook::MAX_WEBHOOK_BODY_BYTES;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use axum::extract::FromRef;

use crate::config::Config;
use crate::error::AppError;
use crate::services::{Accounts, Inbound, Inbox, Outbound, Services};

/// Every Router's state: the four flows, of which each handler takes the one it needs
/// (`State<Arc<Inbox>>`, ...), and the configuration the extractors read (the bearer).
pub type AppState = Services;

macro_rules! substate {
    ($($field:ident: $ty:ty),*) => {$(
        impl FromRef<AppState> for Arc<$ty> {
            fn from_ref(state: &AppState) -> Self {
                state.$field.clone()
            }
        }
    )*};
}
substate!(config: Config, inbound: Inbound, outbound: Outbound, accounts: Accounts, inbox: Inbox);

/// Every route of the product: the local server and the tests mount both functions' routes;
/// in development, the inbox page at `/` too.
pub fn router(services: Services) -> Router {
    let mut routes = webhook_routes().merge(inbox_routes());
    if services.config.is_development() {
        routes = routes.merge(page::routes());
    }
    finish(routes, services)
}

/// The webhook function's routes (Meta's verification handshake and deliveries); any other
/// path answers 404, whatever API Gateway sends it.
pub fn webhook_router(services: Services) -> Router {
    finish(webhook_routes(), services)
}

/// The inbox API function's routes: inbox, integrations (jobs, OAuth, accounts) and leads.
pub fn inbox_router(services: Services) -> Router {
    finish(inbox_routes(), services)
}

fn webhook_routes() -> Router<AppState> {
    // One handler for both of Meta's objects (`instagram`, `page`): `/api/webhooks/meta` names
    // it neutrally; `/api/webhooks/instagram` stays for apps already pointed at it.
    Router::new()
        .route("/api/webhooks/instagram", get(webhook::verify).post(webhook::receive))
        .route("/api/webhooks/meta", get(webhook::verify).post(webhook::receive))
}

fn inbox_routes() -> Router<AppState> {
    Router::new()
        .route("/api/inbox/conversations", get(inbox::list_conversations))
        .route("/api/inbox/events", get(stream::events))
        .route("/api/inbox/conversations/{id}", get(inbox::get_conversation))
        .route("/api/inbox/conversations/{id}/messages", get(inbox::list_messages))
        .route("/api/inbox/conversations/{id}/read", post(inbox::mark_read))
        .route("/api/inbox/conversations/{id}/send", post(send::send_rich))
        .route("/api/inbox/conversations/{id}/typing", post(actions::typing))
        .route("/api/inbox/conversations/{id}/pass-thread", post(actions::pass_thread))
        .route(
            "/api/inbox/conversations/{id}/messages/{messageId}/react",
            post(actions::react).delete(actions::unreact),
        )
        .route("/api/inbox/conversations/{id}/send-text", post(send::send_text))
        .route("/api/inbox/conversations/{id}/send-attachment", post(send::send_attachment))
        .route("/api/inbox/conversations/{id}/uploads", post(send::create_upload))
        .route("/api/inbox/conversations/{id}/reply-public", post(comments::reply_public))
        .route("/api/inbox/conversations/{id}/reply-private", post(comments::reply_private))
        .route("/api/inbox/conversations/{id}/hide", post(comments::hide))
        .route("/api/integrations/instagram/send", post(send::send))
        .route("/api/integrations/jobs/{id}", get(send::get_job))
        .route("/api/integrations/jobs/{id}/retry", post(send::retry_job))
        .route("/api/integrations/meta/oauth/start", get(accounts::oauth_start))
        .route("/api/integrations/meta/oauth/callback", get(accounts::oauth_callback))
        .route("/api/integrations/instagram/oauth/start", get(accounts::instagram_oauth_start))
        .route("/api/integrations/instagram/oauth/callback", get(accounts::instagram_oauth_callback))
        .route("/api/integrations/meta/oauth/complete", post(accounts::oauth_complete))
        .route("/api/integrations/meta/deauthorize", post(meta_callbacks::deauthorize))
        .route("/api/integrations/meta/data-deletion", post(meta_callbacks::data_deletion))
        .route("/api/integrations/meta/data-deletion/{code}", get(meta_callbacks::data_deletion_status))
        .route("/api/integrations/connected-accounts", get(accounts::list))
        .route("/api/integrations/connected-accounts/{id}", axum::routing::delete(accounts::disconnect))
        .route("/api/integrations/connected-accounts/{id}/health", get(accounts::health))
        .route("/api/integrations/connected-accounts/{id}/profile", get(accounts::greeting).put(accounts::put_greeting))
        .route("/api/integrations/connected-accounts/{id}/history/import", post(accounts::import_history))
        .route("/api/inbox/contacts/{participantId}", get(inbox::contact).delete(data::erase_contact))
        .route("/api/organizations/current/data", axum::routing::delete(data::erase_organization))
        .route("/api/organizations/current/settings", get(data::settings).put(data::put_settings))
        .route("/api/leads", get(leads::list).post(leads::create))
        .route("/api/media/{*key}", get(media::serve).put(media::accept_upload))
        .route("/api/openapi.json", get(openapi))
}

/// The OpenAPI 3.1 document of every route (`shared/openapi.json`, checked against the Router
/// and the answers by `shared/tests/openapi_http.rs`). No bearer.
async fn openapi() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}

pub const OPENAPI: &str = include_str!("../../openapi.json");

/// What every function's Router shares: health, JSON 404/405 and the request id.
fn finish(routes: Router<AppState>, services: Services) -> Router {
    routes
        .route("/health", get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }))
        .fallback(|| async { AppError::not_found("route") })
        .method_not_allowed_fallback(|| async {
            AppError::new(crate::error::ErrorCode::MethodNotAllowed, "method not allowed on this route")
        })
        .layer(axum::middleware::from_fn(request_id::with_request_id))
        .with_state(services)
}
