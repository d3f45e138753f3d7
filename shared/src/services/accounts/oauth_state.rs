//! The OAuth `state`: signed, expiring, single-use, and bound to the agent who started the
//! flow. A link started in one organization and approved by someone else connects nothing:
//! the connection completes only under the initiator's own bearer token (see `oauth_complete`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::domain::{Caller, IdempotencyRecord, new_id};
use crate::error::{AppError, ErrorCode};

use super::Accounts;

const STATE_TTL: Duration = Duration::minutes(10);

/// Which login dialog a flow went through: each has its own client, redirect and exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flow {
    /// Facebook Login for Business (a Page with its Instagram professional account).
    Facebook,
    /// Business Login for Instagram (the Instagram account alone).
    Instagram,
}

/// What the signed `state` carries through Meta's dialog.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StateClaims {
    pub org: String,
    /// The initiator's `sub`; `None` when their token carried none.
    #[serde(default)]
    pub sub: Option<String>,
    pub flow: Flow,
    pub nonce: String,
    pub exp: i64,
}

impl StateClaims {
    fn started_by(&self, caller: &Caller) -> bool {
        self.org == caller.organization_id && self.sub == caller.subject
    }
}

impl Accounts {
    fn state_key(&self) -> Result<Hmac<Sha256>, AppError> {
        let secret = self
            .ports
            .config
            .app_secrets
            .first()
            .ok_or_else(|| AppError::new(ErrorCode::NotConfigured, "META_APP_SECRET is not configured"))?;
        // A key of its own, derived from the app secret, so state signatures never double as webhook signatures.
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(b"oauth-state-v1");
        Ok(Hmac::<Sha256>::new_from_slice(&mac.finalize().into_bytes()).expect("any key length"))
    }

    /// A signed state for `caller`'s `flow`, valid for 10 minutes.
    pub(super) fn new_state(&self, caller: &Caller, flow: Flow) -> Result<String, AppError> {
        let claims = StateClaims {
            org: caller.organization_id.clone(),
            sub: caller.subject.clone(),
            flow,
            nonce: new_id("st"),
            exp: (self.now() + STATE_TTL).timestamp(),
        };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialise"));
        let mut mac = self.state_key()?;
        mac.update(payload.as_bytes());
        Ok(format!("{payload}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())))
    }

    /// Checks the state's signature (constant time), expiry and flow, without spending it.
    pub(super) fn check_state(&self, state: &str, flow: Option<Flow>) -> Result<StateClaims, AppError> {
        let (payload, signature) = state.split_once('.').ok_or_else(|| state_invalid("is malformed"))?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| state_invalid("is malformed"))?;
        let mut mac = self.state_key()?;
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).map_err(|_| state_invalid("is not ours"))?;
        let claims: StateClaims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| state_invalid("is malformed"))?;
        if self.now().timestamp() >= claims.exp {
            return Err(state_invalid("has expired"));
        }
        if flow.is_some_and(|f| f != claims.flow) {
            return Err(state_invalid("belongs to the other login flow"));
        }
        Ok(claims)
    }

    /// Checks the state, that `caller` (when given) started it, then spends it: a state
    /// completes one connection, and a refused completion leaves it unspent.
    pub(super) async fn redeem_state(
        &self,
        state: &str,
        flow: Option<Flow>,
        caller: Option<&Caller>,
    ) -> Result<StateClaims, AppError> {
        let claims = self.check_state(state, flow)?;
        if let Some(caller) = caller.filter(|c| !claims.started_by(c)) {
            tracing::warn!(organization = %caller.organization_id, started_in = %claims.org, "OAuth completion by someone other than its initiator");
            return Err(AppError::new(
                ErrorCode::OauthInitiatorMismatch,
                "this connection was started by another user; start it again from your own account",
            ));
        }
        let spent = IdempotencyRecord {
            organization_id: claims.org.clone(),
            // A control character no Idempotency-Key may hold: the two never share a key.
            key: format!("\u{1}oauth-state:{}", claims.nonce),
            request_digest: String::new(),
            response: serde_json::Value::Null,
            created_at: self.now(),
        };
        if self.ports.idempotency.reserve_idempotency_key(&spent).await?.is_some() {
            return Err(state_invalid("was already used"));
        }
        Ok(claims)
    }
}

fn state_invalid(why: &str) -> AppError {
    AppError::new(ErrorCode::OauthStateInvalid, format!("state {why}; start the connection again"))
}
