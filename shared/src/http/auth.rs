//! Who is calling the inbox API: the organization from API Gateway authorizer claims, or
//! from an HS256 bearer JWT when no authorizer ran.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lambda_http::request::RequestContext;
use serde_json::Value;

use crate::config::Config;
use crate::domain::Caller;
use crate::error::AppError;

use super::AppState;

/// The caller's organization id. Every inbox handler takes one, so no route can forget it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgId(pub String);

impl FromRequestParts<AppState> for OrgId {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Caller::from_request_parts(parts, state).await.map(|c| OrgId(c.organization_id))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let config = &state.config;
        // Claims placed by API Gateway can only come from API Gateway: lambda_http puts the
        // request context there, and the local server never does.
        if let Some(ctx) = parts.extensions.get::<RequestContext>()
            && let Some(caller) = authorizer_caller(ctx, &config.org_claim)
        {
            return Ok(Caller { organization_id: checked_org(caller.organization_id)?, ..caller });
        }
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|h| h.to_str().ok());
        let token = header
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or_else(|| AppError::unauthorized("a Bearer token is required"))?;
        caller_from_jwt(config, token)
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

fn authorizer_caller(ctx: &RequestContext, claim: &str) -> Option<Caller> {
    let authorizer = match ctx {
        RequestContext::ApiGatewayV2(c) => c.authorizer.as_ref()?,
        RequestContext::ApiGatewayV1(c) => &c.authorizer,
        #[allow(unreachable_patterns)]
        _ => return None,
    };
    if let Some(jwt) = authorizer.jwt.as_ref()
        && let Some(org) = jwt.claims.get(claim).filter(|o| !o.is_empty())
    {
        let subject = jwt.claims.get("sub").filter(|s| !s.is_empty()).cloned();
        return Some(Caller { organization_id: org.clone(), subject });
    }
    // Lambda authorizers put their context in `fields`; Cognito (REST) nests `claims` there.
    let fields = &authorizer.fields;
    let read = |name: &str| {
        fields.get(name).or_else(|| fields.get("claims").and_then(|c| c.get(name))).and_then(crate::meta::id_string)
    };
    let organization_id = read(claim)?;
    Some(Caller { organization_id, subject: read("sub").or_else(|| read("principalId")) })
}

/// Verifies an HS256 token (signature, a required `exp`, `nbf` when present, `iss` and `aud`
/// when configured) and reads the organization claim and the subject.
pub fn caller_from_jwt(config: &Config, token: &str) -> Result<Caller, AppError> {
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
        .and_then(crate::meta::id_string)
        .ok_or_else(|| AppError::unauthorized(format!("token has no {} claim", config.org_claim)))?;
    let subject = data.claims.get("sub").and_then(crate::meta::id_string);
    Ok(Caller { organization_id: checked_org(org)?, subject })
}

/// Mints an HS256 token naming `org` (the local server's `token` command and tests).
pub fn mint_jwt(secret: &str, claim: &str, org: &str, expires_at: i64) -> String {
    mint_jwt_for(secret, claim, org, "inbox-local", expires_at)
}

/// Mints an HS256 token naming `org` for the user `sub`.
pub fn mint_jwt_for(secret: &str, claim: &str, org: &str, sub: &str, expires_at: i64) -> String {
    let claims = serde_json::json!({ claim: org, "exp": expires_at, "sub": sub });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 encoding cannot fail")
}
