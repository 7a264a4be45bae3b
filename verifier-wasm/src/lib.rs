//! # certledger-verifier
//!
//! The browser side of certledger: core's verification pipeline and request format compiled to
//! WebAssembly, and the counter clerk's page in `web/`. This is the only crate that knows JS
//! (ARCHITECTURE.md): every export converts JS values into core types, calls core, and converts
//! the answer into the plain JSON shapes described in `web/types.d.ts`.
//!
//! Exports (all pure apart from [`create_request`], which draws its nonce from
//! `crypto.getRandomValues`):
//! - [`create_request`]: a fresh presentation request (JSON and `CLR1.` text form), signed with
//!   the counter's key, and [`signing_public_key`]: that key's public half, to register;
//! - [`parse_request`]: the JSON of a request given in text form;
//! - [`request_qr_svg`]: a QR code of any short text as an SVG document;
//! - [`decode_qr_image`]: the text of the first QR code found in an RGBA image, and
//!   [`decode_qr_codes`] all of them;
//! - [`collect_bundle_parts`]: joins a bundle split over several QR codes (`CLBQ1` parts);
//! - [`profiles()`]: the shipped credential types and their bilingual claim labels;
//! - [`verify_bundle`]: the verdict on a presentation bundle (plain, or with the identity
//!   extension: pseudonym and linked credentials, `specs/identity.md`) as a structured value;
//! - [`Verifier`] (class): the same verdicts for a stream of bundles under one trust root, each
//!   checkpoint's quorum signatures checked once (`specs/verifier.md`);
//! - [`follow_validator_chain`]: today's trust root from a followable trust root and a node's
//!   validator chain.
//!
//! The Rust functions behind the exports (`*_json`, [`qr`]) are plain Rust and tested natively.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod chain;
pub mod parts;
pub mod profiles;
pub mod qr;
pub mod request;
pub mod verdict;

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = include_str!("../web/types.d.ts");

/// Creates a presentation request from `options_json` (see `RequestOptionsJs` in `types.d.ts`)
/// at `now_ms` (JS `Date.now()`), with a 256-bit nonce from `crypto.getRandomValues`, signed with
/// the counter's key (`seed_b64`, the base64url of its 32-byte seed). Returns the JSON
/// `{"request": <request JSON>, "text": "CLR1...."}`; throws an `Error` whose message says what
/// is wrong with the options or key.
#[wasm_bindgen]
pub fn create_request(options_json: &str, seed_b64: &str, now_ms: f64) -> Result<String, JsError> {
    request::create_request_json(options_json, seed_b64, now_ms, &mut rand_core::OsRng)
        .map_err(js_error)
}

/// The public key of the counter's signing key (`seed_b64`) as JSON `{"base64url", "hex"}`: what
/// the department registers with `certledger-node verifier register --verifier-key`.
#[wasm_bindgen]
pub fn signing_public_key(seed_b64: &str) -> Result<String, JsError> {
    request::public_key_json(seed_b64).map_err(js_error)
}

/// Parses a request in `CLR1.` text form (for example a decoded QR code) and returns its JSON.
#[wasm_bindgen]
pub fn parse_request(text: &str) -> Result<String, JsError> {
    request::parse_request_json(text).map_err(js_error)
}

/// Renders `text` as a QR code (error correction M, with quiet zone) in an SVG document.
#[wasm_bindgen]
pub fn request_qr_svg(text: &str) -> Result<String, JsError> {
    qr::svg(text).map_err(js_error)
}

/// Finds and decodes a QR code in an RGBA image (`ImageData.data`, `width` x `height`) and
/// returns its text; throws if there is none.
#[wasm_bindgen]
pub fn decode_qr_image(rgba: &[u8], width: u32, height: u32) -> Result<String, JsError> {
    qr::decode_rgba(rgba, width, height).map_err(js_error)
}

/// Every decodable QR code in an RGBA image, as a JSON array of strings; throws if there is none.
#[wasm_bindgen]
pub fn decode_qr_codes(rgba: &[u8], width: u32, height: u32) -> Result<String, JsError> {
    let texts = qr::decode_rgba_all(rgba, width, height).map_err(js_error)?;
    Ok(serde_json::to_string(&texts).unwrap_or_else(|_| "[]".to_owned()))
}

/// Adds scanned `CLBQ1/<i>/<n>/<piece>` parts (`texts_json`, a JSON array) to those collected so
/// far (`parts_json`, the previous answer's `parts`, or `[]`) and returns `PartsProgress` as JSON;
/// throws on a malformed, mixed or conflicting part.
#[wasm_bindgen]
pub fn collect_bundle_parts(parts_json: &str, texts_json: &str) -> Result<String, JsError> {
    parts::collect_json(parts_json, texts_json).map_err(js_error)
}

/// The shipped credential types with bilingual names and claim labels, as a JSON array
/// (`CredentialTypeInfo[]`).
#[wasm_bindgen]
pub fn profiles() -> String {
    profiles::profiles_json()
}

/// Verifies a bundle (`CLB1.` text, plain or with the identity extension) against a trust root
/// or a trust list of several ledgers (`specs/trust-list.md`, the verdict then names the issuing
/// ledger) and a policy (JSON) at `now_s` (Unix seconds) and returns a `VerifyResult`, with the wallet's
/// pseudonym for this verifier and the linked credentials when the bundle carries them. Never
/// throws: malformed input is `status: "error"`.
#[wasm_bindgen(unchecked_return_type = "VerifyResult")]
pub fn verify_bundle(
    bundle_text: &str,
    trust_root_json: &str,
    policy_json: &str,
    now_s: f64,
) -> JsValue {
    json_value(&verdict::verify_bundle_json(bundle_text, trust_root_json, policy_json, now_s))
}

/// Whether a newly loaded trust file (`offered_json`) may replace the one in use (`held_json`):
/// a `TrustUpdate` (`status: "ok"`, or `"error"` with a reason such as `rollback` in English and
/// Chinese). A listed ledger is never rolled back to an older root (`specs/trust-list.md`).
#[wasm_bindgen(unchecked_return_type = "TrustUpdate")]
pub fn next_trust(held_json: &str, offered_json: &str) -> JsValue {
    json_value(&verdict::next_trust_json(held_json, offered_json))
}

/// A verifier for one trust root that remembers the checkpoints it has accepted (at most 64),
/// so the department quorum's signatures are checked once per checkpoint rather than per bundle
/// (or per credential of a bundle with linked credentials).
/// Its answers are exactly those of [`verify_bundle`] with the same trust root.
#[wasm_bindgen]
pub struct Verifier {
    inner: verdict::CachedVerifier,
}

#[wasm_bindgen]
impl Verifier {
    /// A verifier for `trust_root_json`; throws an `Error` saying why the trust root is unusable.
    #[wasm_bindgen(constructor)]
    pub fn new(trust_root_json: &str) -> Result<Verifier, JsError> {
        verdict::CachedVerifier::new(trust_root_json)
            .map(|inner| Verifier { inner })
            .map_err(js_error)
    }

    /// Verifies a bundle (`CLB1.` text, plain or with the identity extension) under `policy_json`
    /// at `now_s` (Unix seconds) and returns a `VerifyResult`. Never throws.
    #[wasm_bindgen(unchecked_return_type = "VerifyResult")]
    pub fn verify(&mut self, bundle_text: &str, policy_json: &str, now_s: f64) -> JsValue {
        json_value(&self.inner.verify_json(bundle_text, policy_json, now_s))
    }

    /// The checkpoint cache's counters (`CacheStats`).
    #[wasm_bindgen(unchecked_return_type = "CacheStats")]
    pub fn cache_stats(&self) -> JsValue {
        json_value(&self.inner.cache_stats_json())
    }

    /// The trust root, as JSON (the trust list of signed ledger roots when it has those).
    #[wasm_bindgen(getter)]
    pub fn trust_root(&self) -> String {
        self.inner.trust_root_json()
    }

    /// The trusted ledgers (`TrustLedger[]`): names, chain ids, sequence numbers, fingerprints.
    #[wasm_bindgen(unchecked_return_type = "TrustLedger[]")]
    pub fn ledgers(&self) -> JsValue {
        json_value(&self.inner.ledgers_json())
    }
}

/// Follows validator-set changes: from `trust_root_json`, a trust root that lists its
/// `departments` (with admin keys), through `chain` (unpadded base64url of the validator chain, the
/// `chain` field of a node's `GET /v1/validator-chain`) to today's set. Returns a `FollowResult`;
/// never throws (problems are `status: "error"` with an `error_code`).
#[wasm_bindgen(unchecked_return_type = "FollowResult")]
pub fn follow_validator_chain(trust_root_json: &str, chain: &str) -> JsValue {
    json_value(&chain::follow_json(trust_root_json, chain))
}

fn json_value(json: &str) -> JsValue {
    // The JSON comes from serde_json, so JSON.parse accepts it; fall back to the string.
    js_sys::JSON::parse(json).unwrap_or_else(|_| JsValue::from_str(json))
}

fn js_error(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}
