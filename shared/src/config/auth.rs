//! How the inbox API reads a bearer token: the HS256 secret and what the token must say
//! (issuer, audience), which claim names the organization, and which claim gives the
//! caller's role.

use super::{ConfigError, DEVELOPMENT_JWT_SECRET, MIN_PRODUCTION_JWT_SECRET_BYTES, parse_bool};

/// The organization claim every token carries unless `AUTH_ORG_CLAIM` names another.
pub const DEFAULT_ORG_CLAIM: &str = "org_id";

#[derive(Clone)]
pub struct Auth {
    pub jwt_secret: Option<String>,
    /// When set, bearer tokens must carry this `iss` (`AUTH_JWT_ISSUER`) / `aud` (`AUTH_JWT_AUDIENCE`).
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    pub org_claim: String,
    /// The claim holding the caller's role(s) (`AUTH_ROLE_CLAIM`, a string or a list). Unset:
    /// every caller of an organization may do everything, as before roles existed.
    pub role_claim: Option<String>,
    /// The roles that make a caller an admin (`AUTH_ADMIN_ROLES`, default `admin,owner`).
    pub admin_roles: Vec<String>,
}

impl Auth {
    pub(super) fn from_lookup(get: &impl Fn(&str) -> Option<String>, production: bool) -> Result<Self, ConfigError> {
        let org_claim = get("AUTH_ORG_CLAIM").unwrap_or_else(|| DEFAULT_ORG_CLAIM.to_owned());
        // A claim other than ours may be one the user can set (a profile field at the identity
        // provider): it must be said, on purpose, that it names organizations.
        if production && org_claim != DEFAULT_ORG_CLAIM && !parse_bool(get, "AUTH_ORG_CLAIM_TRUSTED")? {
            return Err(ConfigError::Malformed {
                name: "AUTH_ORG_CLAIM",
                why: format!(
                    "{org_claim:?} is not {DEFAULT_ORG_CLAIM:?}: set AUTH_ORG_CLAIM_TRUSTED=true if only your identity provider sets it"
                ),
            });
        }
        let admin_roles = get("AUTH_ADMIN_ROLES").unwrap_or_else(|| "admin,owner".to_owned());
        Ok(Auth {
            jwt_secret: jwt_secret(get("AUTH_JWT_SECRET"), production)?,
            jwt_issuer: get("AUTH_JWT_ISSUER"),
            jwt_audience: get("AUTH_JWT_AUDIENCE"),
            org_claim,
            role_claim: get("AUTH_ROLE_CLAIM"),
            admin_roles: admin_roles.split(',').map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()).collect(),
        })
    }

    /// Whether a caller with `roles` is an admin: always without a role claim configured.
    pub fn is_admin<'a>(&self, mut roles: impl Iterator<Item = &'a str>) -> bool {
        self.role_claim.is_none() || roles.any(|r| self.admin_roles.iter().any(|a| a.eq_ignore_ascii_case(r)))
    }
}

/// The HS256 secret: at least 32 bytes in production, where none means only API Gateway
/// authorizer claims are accepted; a development default locally.
fn jwt_secret(given: Option<String>, production: bool) -> Result<Option<String>, ConfigError> {
    match given {
        Some(s) if production && s.len() < MIN_PRODUCTION_JWT_SECRET_BYTES => Err(ConfigError::Malformed {
            name: "AUTH_JWT_SECRET",
            why: format!("must be at least {MIN_PRODUCTION_JWT_SECRET_BYTES} bytes in production"),
        }),
        Some(s) => Ok(Some(s)),
        None if production => Ok(None),
        None => Ok(Some(DEVELOPMENT_JWT_SECRET.to_owned())),
    }
}
