//! Connected accounts and the Meta OAuth routes.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::Config;
use crate::domain::ConnectedAccount;
use crate::domain::greeting::Greeting;
use crate::error::AppError;
use crate::services::{Accounts, CallbackOutcome, CallbackParams, ConnectResult, Flow, HealthReport};

use super::OrgId;
use super::auth::Admin;
use super::extract::{ApiJson, ApiQuery};

pub async fn oauth_start(State(accounts): State<Arc<Accounts>>, Admin(caller): Admin) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({ "url": accounts.oauth_start(&caller)? })))
}

pub async fn instagram_oauth_start(
    State(accounts): State<Arc<Accounts>>,
    Admin(caller): Admin,
) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({ "url": accounts.instagram_oauth_start(&caller)? })))
}

/// No bearer: the signed state names the flow's initiator.
pub async fn oauth_callback(
    State(accounts): State<Arc<Accounts>>,
    State(config): State<Arc<Config>>,
    ApiQuery(params): ApiQuery<CallbackParams>,
) -> Response {
    let result = accounts.oauth_callback(Flow::Facebook, params).await;
    callback_answer(&config, result)
}

/// No bearer: the signed state names the flow's initiator.
pub async fn instagram_oauth_callback(
    State(accounts): State<Arc<Accounts>>,
    State(config): State<Arc<Config>>,
    ApiQuery(params): ApiQuery<CallbackParams>,
) -> Response {
    let result = accounts.oauth_callback(Flow::Instagram, params).await;
    callback_answer(&config, result)
}

#[derive(Debug, Deserialize)]
pub struct Completion {
    code: String,
    state: String,
}

/// The initiator, under their own bearer, completes what the callback authorised.
pub async fn oauth_complete(
    State(accounts): State<Arc<Accounts>>,
    Admin(caller): Admin,
    ApiJson(body): ApiJson<Completion>,
) -> Result<Json<ConnectResult>, AppError> {
    Ok(Json(accounts.oauth_complete(&caller, &body.code, &body.state).await?))
}

/// The callback's answer. Without `OAUTH_RETURN_URL`: JSON (the connection, or
/// `{"status":"AUTHORIZED","code","state"}` to complete). With it, the browser goes back to
/// the frontend with the outcome in the query: `status=authorized&code=..&state=..` (the
/// frontend then completes), `status=connected&connected=N&refused=R&replayQueued=M`, or
/// `status=error&code=CODE&message=...`.
fn callback_answer(config: &Config, result: Result<CallbackOutcome, AppError>) -> Response {
    let Some(return_url) = config.oauth_return_url.as_deref() else {
        return match result {
            Ok(CallbackOutcome::Connected(r)) => Json(r).into_response(),
            Ok(CallbackOutcome::Authorized { code, state }) => Json(json!({
                "status": "AUTHORIZED", "code": code, "state": state,
                "complete": "POST /api/integrations/meta/oauth/complete"
            }))
            .into_response(),
            Err(e) => e.into_response(),
        };
    };
    let query: Vec<(&str, String)> = match result {
        Ok(CallbackOutcome::Connected(r)) => vec![
            ("status", "connected".into()),
            ("connected", r.connected.len().to_string()),
            ("refused", r.refused.len().to_string()),
            ("replayQueued", r.replay_queued.to_string()),
        ],
        Ok(CallbackOutcome::Authorized { code, state }) => {
            vec![("status", "authorized".into()), ("code", code), ("state", state)]
        }
        Err(e) => vec![("status", "error".into()), ("code", e.code.as_str().into()), ("message", e.message)],
    };
    match reqwest::Url::parse_with_params(return_url, &query) {
        Ok(url) => Redirect::to(url.as_str()).into_response(),
        Err(_) => AppError::internal("OAUTH_RETURN_URL is not a URL").into_response(),
    }
}

pub async fn list(State(accounts): State<Arc<Accounts>>, OrgId(org): OrgId) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({ "data": accounts.list_connected_accounts(&org).await? })))
}

pub async fn disconnect(
    State(accounts): State<Arc<Accounts>>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<Json<ConnectedAccount>, AppError> {
    Ok(Json(accounts.disconnect_account(&caller, &id).await?))
}

/// `GET /api/integrations/connected-accounts/:id/health`: the account's setup as Meta sees it
/// now (the app's webhooks, the account's token, subscription and messaging), each check with
/// its fix. `200` whatever the verdict; another organization's id is `404`.
pub async fn health(
    State(accounts): State<Arc<Accounts>>,
    OrgId(org): OrgId,
    Path(id): Path<String>,
) -> Result<Json<HealthReport>, AppError> {
    Ok(Json(accounts.account_health(&org, &id).await?))
}

/// `POST /api/integrations/connected-accounts/:id/history/import` (admin): the import of the
/// account's earlier conversations queued again; `202` with the account and its `history`,
/// `409 HISTORY_IMPORT_RUNNING` while one runs.
pub async fn import_history(
    State(accounts): State<Arc<Accounts>>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<(axum::http::StatusCode, Json<ConnectedAccount>), AppError> {
    Ok((axum::http::StatusCode::ACCEPTED, Json(accounts.start_history_import(&caller, &id).await?)))
}

/// `GET /api/integrations/connected-accounts/:id/profile` (admin): the account's ice breakers
/// and persistent menu as Meta has them.
pub async fn greeting(
    State(accounts): State<Arc<Accounts>>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> Result<Json<Greeting>, AppError> {
    Ok(Json(accounts.greeting(&caller.organization_id, &id).await?))
}

/// `PUT /api/integrations/connected-accounts/:id/profile` (admin): the whole greeting, set at
/// Meta (an empty list removes that part).
pub async fn put_greeting(
    State(accounts): State<Arc<Accounts>>,
    Admin(caller): Admin,
    Path(id): Path<String>,
    ApiJson(greeting): ApiJson<Greeting>,
) -> Result<Json<Greeting>, AppError> {
    Ok(Json(accounts.set_greeting(&caller, &id, greeting).await?))
}
