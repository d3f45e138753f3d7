//! Who is calling the inbox API: the organization from API Gateway authorizer claims, or
//! from an HS256 bearer JWT when no authorizer ran.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lambda_http::request::RequestContext;
use serde_json::Value;

use crate::config::{Auth, Config};
use crate::domain::Caller;
use crate::error::{AppError, ErrorCode};

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

/// A caller who may administer the organization's channels (connect, disconnect): with a
/// role claim configured (`AUTH_ROLE_CLAIM`), one of `AUTH_ADMIN_ROLES`; else any caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin(pub Caller);

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if !caller.admin {
            return Err(AppError::new(ErrorCode::Forbidden, "this needs an admin of the organization"));
        }
        Ok(Admin(caller))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let config = &state.config;
        // Claims placed by API Gateway can only come from API Gateway: lambda_http puts the
        // request context there, and the local server never does.
        if let Some(ctx) = parts.extensions.get::<RequestContext>()
            && let Some(caller) = authorizer_caller(ctx, &config.auth)
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

fn authorizer_caller(ctx: &RequestContext, auth: &Auth) -> Option<Caller> {
    let authorizer = match ctx {
        RequestContext::ApiGatewayV2(c) => c.authorizer.as_ref()?,
        RequestContext::ApiGatewayV1(c) => &c.authorizer,
        #[allow(unreachable_patterns)]
        _ => return None,
    };
    if let Some(jwt) = authorizer.jwt.as_ref()
        && let Some(org) = jwt.claims.get(&auth.org_claim).filter(|o| !o.is_empty())
    {
        let subject = jwt.claims.get("sub").filter(|s| !s.is_empty()).cloned();
        let roles = auth.role_claim.as_ref().and_then(|c| jwt.claims.get(c)).map(|r| Value::from(r.as_str()));
        let admin = is_admin(auth, roles.as_ref());
        return Some(Caller { organization_id: org.clone(), subject, admin });
    }
    // Lambda authorizers put their context in `fields`; Cognito (REST) nests `claims` there.
    let fields = &authorizer.fields;
    let field = |name: &str| fields.get(name).or_else(|| fields.get("claims").and_then(|c| c.get(name)));
    let read = |name: &str| field(name).and_then(crate::meta::id_string);
    let organization_id = read(&auth.org_claim)?;
    let admin = is_admin(auth, auth.role_claim.as_deref().and_then(field));
    Some(Caller { organization_id, subject: read("sub").or_else(|| read("principalId")), admin })
}

/// Whether the caller whose role claim is `roles` is an admin (see `Auth::is_admin`).
fn is_admin(auth: &Auth, roles: Option<&Value>) -> bool {
    let roles = roles.map(roles_in).unwrap_or_default();
    auth.is_admin(roles.iter().map(String::as_str))
}

/// The roles a claim holds: a list, or a string of them (API Gateway passes a list as
/// `"[admin agent]"`), split on spaces and commas.
fn roles_in(claim: &Value) -> Vec<String> {
    let words = |s: &str| -> Vec<String> {
        s.trim_matches(|c| c == '[' || c == ']')
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect()
    };
    match claim {
        Value::Array(items) => items.iter().filter_map(Value::as_str).flat_map(words).collect(),
        Value::String(s) => words(s),
        _ => Vec::new(),
    }
}

/// Verifies an HS256 token (signature, a required `exp`, `nbf` when present, `iss` and `aud`
/// when configured) and reads the organization claim and the subject.
pub fn caller_from_jwt(config: &Config, token: &str) -> Result<Caller, AppError> {
    let secret = config
        .auth
        .jwt_secret
        .as_deref()
        .ok_or_else(|| AppError::unauthorized("bearer tokens are not accepted here (no AUTH_JWT_SECRET)"))?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp"]);
    validation.validate_nbf = true;
    if let Some(iss) = &config.auth.jwt_issuer {
        validation.set_issuer(&[iss]);
        validation.required_spec_claims.insert("iss".into());
    }
    match &config.auth.jwt_audience {
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
        .get(&config.auth.org_claim)
        .and_then(crate::meta::id_string)
        .ok_or_else(|| AppError::unauthorized(format!("token has no {} claim", config.auth.org_claim)))?;
    let subject = data.claims.get("sub").and_then(crate::meta::id_string);
    let admin = is_admin(&config.auth, config.auth.role_claim.as_ref().and_then(|c| data.claims.get(c)));
    Ok(Caller { organization_id: checked_org(org)?, subject, admin })
}

/// Mints an HS256 token naming `org` (the local server's `token` command and tests).
pub fn mint_jwt(secret: &str, claim: &str, org: &str, expires_at: i64) -> String {
    mint_jwt_for(secret, claim, org, "inbox-local", expires_at)
}

/// Mints an HS256 token naming `org` for the user `sub`.
pub fn mint_jwt_for(secret: &str, claim: &str, org: &str, sub: &str, expires_at: i64) -> String {
    mint_jwt_claims(secret, &serde_json::json!({ claim: org, "exp": expires_at, "sub": sub }))
}

/// Mints an HS256 token carrying `claims` as they are (tests of roles and odd claims).
pub fn mint_jwt_claims(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 encoding cannot fail")
}
