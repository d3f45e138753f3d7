//! Meta's `signed_request`, as its deauthorize and data deletion callbacks send it:
//! `<signature>.<payload>`, both base64url without padding; the signature is the HMAC-SHA256
//! of the encoded payload under the app secret, and the payload names the user
//! (`{"algorithm": "HMAC-SHA256", "issued_at": ..., "user_id": "..."}`). Checked in constant
//! time against each of the app's secrets (Facebook Login, Instagram Login).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SignedRequest {
    /// The app-scoped id of the user who removed the app or asked for deletion (Facebook
    /// Login), or the Instagram account's id (Instagram Login).
    pub user_id: String,
    #[serde(default)]
    pub issued_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SignedRequestError {
    #[error("signed_request is not <signature>.<payload> in base64url")]
    Malformed,
    #[error("signed_request is not signed with this app's secret")]
    BadSignature,
    #[error("signed_request's payload is not Meta's (HMAC-SHA256, a user_id)")]
    Unreadable,
}

/// The request, if one of `secrets` signed it.
pub fn verify(signed: &str, secrets: &[String]) -> Result<SignedRequest, SignedRequestError> {
    let (signature, payload) = signed.trim().split_once('.').ok_or(SignedRequestError::Malformed)?;
    let signature =
        URL_SAFE_NO_PAD.decode(signature.trim_end_matches('=')).map_err(|_| SignedRequestError::Malformed)?;
    let signed_by_us = secrets.iter().filter(|s| !s.is_empty()).any(|secret| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).is_ok()
    });
    if !signed_by_us {
        return Err(SignedRequestError::BadSignature);
    }
    let json = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).map_err(|_| SignedRequestError::Malformed)?;
    let value: serde_json::Value = serde_json::from_slice(&json).map_err(|_| SignedRequestError::Unreadable)?;
    if !value["algorithm"].as_str().is_some_and(|a| a.eq_ignore_ascii_case("HMAC-SHA256")) {
        return Err(SignedRequestError::Unreadable);
    }
    // Meta sends the id as a string; accept a number too.
    let user_id = match &value["user_id"] {
        serde_json::Value::String(s) if !s.is_empty() => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return Err(SignedRequestError::Unreadable),
    };
    Ok(SignedRequest { user_id, issued_at: value["issued_at"].as_i64() })
}

/// A `signed_request` for `payload` under `secret`: what Meta sends, and what tests sign with.
pub fn sign(secret: &str, payload: &serde_json::Value) -> String {
    let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(payload.as_bytes());
    format!("{}.{payload}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn meta_s_own_request_is_read_and_a_forged_or_broken_one_is_refused() {
        let secrets = vec!["app-secret".to_owned(), "ig-secret".to_owned()];
        let payload = json!({"algorithm": "HMAC-SHA256", "issued_at": 1732460000, "user_id": "10160000000000001"});
        let read = verify(&sign("ig-secret", &payload), &secrets).unwrap();
        assert_eq!((read.user_id.as_str(), read.issued_at), ("10160000000000001", Some(1732460000)));
        assert_eq!(verify(&sign("not-ours", &payload), &secrets), Err(SignedRequestError::BadSignature));
        let good = sign("app-secret", &payload);
        let (sig, body) = good.split_once('.').unwrap();
        let tampered = format!(
            "{sig}.{}",
            URL_SAFE_NO_PAD.encode(json!({"algorithm": "HMAC-SHA256", "user_id": "1"}).to_string())
        );
        assert_eq!(verify(&tampered, &secrets), Err(SignedRequestError::BadSignature));
        assert_eq!(verify(body, &secrets), Err(SignedRequestError::Malformed), "no signature part");
        assert_eq!(verify("%%%.%%%", &secrets), Err(SignedRequestError::Malformed));
        let no_user = sign("app-secret", &json!({"algorithm": "HMAC-SHA256"}));
        assert_eq!(verify(&no_user, &secrets), Err(SignedRequestError::Unreadable));
        assert_eq!(verify(&good, &[String::new()]), Err(SignedRequestError::BadSignature), "no secret signs nothing");
    }
}
