//! Who is calling the inbox API: the organization from API Gateway authorizer claims, or
//! from an HS256 bearer JWT when no authorizer ran.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lambda_http::request::RequestContext;
use serde_json::Value;

use crate::config::Config;
use crate::error::AppError;

use super::AppState;

/// The caller's organization id. Every inbox handler takes one, so no route can forget it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgId(pub String);

impl FromRequestParts<AppState> for OrgId {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let config = &state.config;
        // Claims placed by API Gateway can only come from API Gateway: lambda_http puts the
        // request context there, and the local server never does.
        if let Some(ctx) = parts.extensions.get::<RequestContext>()
            && let Some(org) = authorizer_org(ctx, &config.org_claim)
        {
            return checked_org(org).map(OrgId);
        }
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|h| h.to_str().ok());
        let token = header
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or_else(|| AppError::unauthorized("a Bearer token is required"))?;
        org_from_jwt(config, token).map(OrgId)
    }
}

/// Organization ids become parts of storage keys: only short ids of plain characters pass.
fn checked_org(org: String) -> Result<String, AppError> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':');
    if (1..=MAX_ORG_ID_LEN).contains(&org.len()) && org.chars().all(plain) {
        Ok(org)
    } else {
        Err(AppError::unauthorized("the organization claim is not a valid organization id"))
    }
}

/// The longest organization id accepted from a token.
pub const MAX_ORG_ID_LEN: usize = 64;

fn authorizer_org(ctx: &RequestContext, claim: &str) -> Option<String> {
    let authorizer = match ctx {
        RequestContext::ApiGatewayV2(c) => c.authorizer.as_ref()?,
        RequestContext::ApiGatewayV1(c) => &c.authorizer,
        #[allow(unreachable_patterns)]
        _ => return None,
    };
    if let Some(org) = authorizer.jwt.as_ref().and_then(|j| j.claims.get(claim)) {
        return Some(org.clone()).filter(|o| !o.is_empty());
    }
    // Lambda authorizers put their context in `fields`; Cognito (REST) nests `claims` there.
    let fields = &authorizer.fields;
    let value = fields.get(claim).or_else(|| fields.get("claims").and_then(|c| c.get(claim)))?;
    claim_string(value)
}

fn claim_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Verifies an HS256 token (signature, a required `exp`, `nbf` when present, `iss` and `aud`
/// when configured) and reads the organization claim.
pub fn org_from_jwt(config: &Config, token: &str) -> Result<String, AppError> {
    let secret = config
        .jwt_secret
        .as_deref()
        .ok_or_else(|| AppError::unauthorized("bearer tokens are not accepted here (no AUTH_JWT_SECRET)"))?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp"]);
    validation.validate_nbf = true;
    if let Some(iss) = &config.jwt_issuer {
        validation.set_issuer(&[iss]);
        validation.required_spec_claims.insert("iss".into());
    }
    match &config.jwt_audience {
        Some(aud) => validation.set_audience(&[aud]),
        None => validation.validate_aud = false,
    }
    let data = jsonwebtoken::decode::<serde_json::Map<String, Value>>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .map_err(|e| AppError::unauthorized(format!("invalid bearer token: {e}")))?;
    let org = data
        .claims
        .get(&config.org_claim)
        .and_then(claim_string)
        .ok_or_else(|| AppError::unauthorized(format!("token has no {} claim", config.org_claim)))?;
    checked_org(org)
}

/// Mints an HS256 token naming `org` (the local server's `token` command and tests).
pub fn mint_jwt(secret: &str, claim: &str, org: &str, expires_at: i64) -> String {
    let claims = serde_json::json!({ claim: org, "exp": expires_at, "sub": "inbox-local" });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 encoding cannot fail")
}
