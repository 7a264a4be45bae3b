//! Presentation requests for the page: the JS-facing options and answer shapes, converted by hand
//! to and from `certledger_core::request`, and the counter's request-signing key (a 32-byte seed
//! the page draws from `crypto.getRandomValues` and keeps in its storage; the department registers
//! its public key with `certledger-node verifier register`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::request::{PresentationRequest, RequestError, RequestOptions};
use certledger_core::sig::SecretKey;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};

/// Largest options JSON accepted from the page, in bytes.
pub const MAX_OPTIONS_BYTES: usize = 8 * 1024;
/// Lifetime of a request when the options do not give one: ten minutes at a counter.
pub const DEFAULT_LIFETIME_S: u64 = 600;

/// Why a request could not be made or read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PageRequestError {
    /// The options JSON is too large, malformed, or has unknown fields.
    #[error("request options are not valid JSON of the expected shape")]
    BadOptions,
    /// `now_ms` is not a finite, non-negative number.
    #[error("the current time is not a valid number of milliseconds")]
    BadTime,
    /// The signing key is not the unpadded base64url of a 32-byte seed.
    #[error("the counter's signing key must be the base64url of 32 bytes")]
    BadKey,
    /// The request itself breaks a rule of `specs/request.md`.
    #[error("{0}")]
    Request(#[from] RequestError),
}

/// `RequestOptionsJs` in `types.d.ts`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionsJs {
    verifier_id: String,
    purpose: String,
    claims: Vec<String>,
    credential_types: Vec<String>,
    #[serde(default)]
    audience: Option<String>,
    #[serde(default)]
    lifetime_s: Option<u64>,
}

/// `CreatedRequest` in `types.d.ts`.
#[derive(Serialize)]
struct CreatedJs {
    request: serde_json::Value,
    text: String,
}

/// Converts JS `Date.now()` milliseconds to Unix seconds.
pub fn unix_seconds(now_ms: f64) -> Option<u64> {
    // NaN and infinities are outside the range too.
    if !(0.0..=1.0e15).contains(&now_ms) {
        return None;
    }
    // In range and finite: the truncating cast is exact for whole seconds below 2^53.
    Some((now_ms / 1000.0).floor() as u64)
}

/// The signing key from its stored form, the unpadded base64url of its 32-byte seed.
pub fn signing_key(seed_b64: &str) -> Result<SecretKey, PageRequestError> {
    if seed_b64.len() > 64 {
        return Err(PageRequestError::BadKey);
    }
    let seed: [u8; 32] = URL_SAFE_NO_PAD
        .decode(seed_b64.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(PageRequestError::BadKey)?;
    Ok(SecretKey::from_seed(&seed))
}

/// The public key of a stored seed as `{"base64url": .., "hex": ..}`: what the counter shows the
/// department to register.
pub fn public_key_json(seed_b64: &str) -> Result<String, PageRequestError> {
    let public = signing_key(seed_b64)?.public_key();
    let v = serde_json::json!({
        "base64url": URL_SAFE_NO_PAD.encode(public.0),
        "hex": certledger_core::sig::to_hex(&public.0),
    });
    Ok(v.to_string())
}

/// Builds a request from the page's options, signed with the counter's key (`seed_b64`). The
/// audience defaults to the verifier id and the lifetime to [`DEFAULT_LIFETIME_S`]; types must be
/// shipped profiles and every claim must be defined by one of them.
pub fn create_request_json(
    options_json: &str,
    seed_b64: &str,
    now_ms: f64,
    rng: &mut impl CryptoRngCore,
) -> Result<String, PageRequestError> {
    let key = signing_key(seed_b64)?;
    if options_json.len() > MAX_OPTIONS_BYTES {
        return Err(PageRequestError::BadOptions);
    }
    let js: OptionsJs =
        serde_json::from_str(options_json).map_err(|_| PageRequestError::BadOptions)?;
    let now = unix_seconds(now_ms).ok_or(PageRequestError::BadTime)?;
    let options = RequestOptions {
        audience: js.audience.unwrap_or_else(|| js.verifier_id.clone()),
        verifier_id: js.verifier_id,
        purpose: js.purpose,
        claims: js.claims,
        credential_types: js.credential_types,
        lifetime_s: js.lifetime_s.unwrap_or(DEFAULT_LIFETIME_S),
    };
    let request = PresentationRequest::new(options, &key, rng, now)?;
    request.check_against_profiles()?;
    Ok(created_json(&request))
}

/// Reads a request in text form and answers `{"request": .., "text": ..}` like
/// [`create_request_json`].
pub fn parse_request_json(text: &str) -> Result<String, PageRequestError> {
    let request = PresentationRequest::from_text(text)?;
    Ok(created_json(&request))
}

fn created_json(request: &PresentationRequest) -> String {
    let created = CreatedJs {
        request: serde_json::from_str(&request.to_json()).unwrap_or(serde_json::Value::Null),
        text: request.to_text(),
    };
    serde_json::to_string(&created).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const SEED: &str = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI";

    const OPTIONS: &str = r#"{"verifier_id":"counter-7","purpose":"核验学历 check a diploma",
        "claims":["name","institution","name"],
        "credential_types":["urn:cn:certledger:vct:diploma:1"]}"#;

    #[test]
    fn creates_a_request_with_defaults_and_round_trips_its_text() {
        let out =
            create_request_json(OPTIONS, SEED, 1_800_000_000_123.0, &mut StdRng::seed_from_u64(1))
                .unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["request"]["audience"], "counter-7");
        assert_eq!(v["request"]["claims"], serde_json::json!(["institution", "name"]));
        assert_eq!(v["request"]["created_at"], 1_800_000_000u64);
        assert_eq!(v["request"]["expires_at"], 1_800_000_000u64 + DEFAULT_LIFETIME_S);
        let text = v["text"].as_str().unwrap();
        let again: serde_json::Value =
            serde_json::from_str(&parse_request_json(text).unwrap()).unwrap();
        assert_eq!(again, v);
    }

    #[test]
    fn refuses_bad_options_and_times() {
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            create_request_json("{}", SEED, 0.0, &mut rng),
            Err(PageRequestError::BadOptions)
        );
        let extra = OPTIONS.replacen('{', r#"{"x":1,"#, 1);
        assert_eq!(
            create_request_json(&extra, SEED, 0.0, &mut rng),
            Err(PageRequestError::BadOptions)
        );
        for t in [f64::NAN, -1.0, f64::INFINITY] {
            assert_eq!(
                create_request_json(OPTIONS, SEED, t, &mut rng),
                Err(PageRequestError::BadTime)
            );
        }
        let wrong_claim = OPTIONS.replace("institution", "vehicle_classes");
        assert_eq!(
            create_request_json(&wrong_claim, SEED, 0.0, &mut rng),
            Err(PageRequestError::Request(RequestError::UnknownClaim))
        );
        assert!(parse_request_json("CLB1.AAAA").is_err());
        for bad in ["", "AAAA", "not base64!"] {
            assert_eq!(
                create_request_json(OPTIONS, bad, 0.0, &mut rng),
                Err(PageRequestError::BadKey)
            );
        }
    }

    #[test]
    fn requests_are_signed_by_the_counter_key_it_shows() {
        let out =
            create_request_json(OPTIONS, SEED, 1_800_000_000_000.0, &mut StdRng::seed_from_u64(2))
                .unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let request = PresentationRequest::from_text(v["text"].as_str().unwrap()).unwrap();
        let shown: serde_json::Value =
            serde_json::from_str(&public_key_json(SEED).unwrap()).unwrap();
        let public = signing_key(SEED).unwrap().public_key();
        assert_eq!(shown["base64url"], URL_SAFE_NO_PAD.encode(public.0));
        assert_eq!(shown["hex"], certledger_core::sig::to_hex(&public.0));
        request.verify_signature(&public).unwrap();
        let other = SecretKey::from_seed(&[1; 32]).public_key();
        assert!(request.verify_signature(&other).is_err());
    }
}
