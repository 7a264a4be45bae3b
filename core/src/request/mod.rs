//! The presentation request a verifier shows and a wallet answers.
//!
//! A verifier (a counter clerk's browser page, an agency's service) creates a request naming who
//! asks ([`PresentationRequest::verifier_id`]), why ([`PresentationRequest::purpose`]), which
//! credential types it accepts, which claims it needs disclosed, a fresh random nonce of at least
//! 128 bits and the audience the wallet must bind its key-binding JWT to. The wallet shows the
//! verifier and purpose to the citizen, discloses only the named claims, and puts `nonce` and
//! `audience` into the KB-JWT; the verifier later checks them through the bundle policy.
//!
//! Two interchangeable forms, specified in `specs/request.md`:
//! - JSON (the object below), parsed strictly: unknown or duplicate fields, a wrong version,
//!   unsorted or repeated lists and oversized input are refused;
//! - a compact text form for QR codes: `CLR1.` followed by the unpadded base64url of the canonical
//!   binary encoding ([`crate::codec`]).
//!
//! Both forms pass through the same validation, so a value accepted from one is accepted from the
//! other, and converting between them is lossless.
//!
//! Version 2 requests are signed: `signature` is the verifier's registered key
//! ([`crate::ledger::RegisterVerifier::verifier_key`]) over the canonical bytes of every other
//! field, under [`crate::sig::ns::VERIFIER_REQUEST`]. Parsing checks the form only; a wallet
//! checks the signature against a proven registry record with
//! [`crate::registry::check_signed_request`] before it uses any field.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};

use crate::codec::{Decode as _, DecodeError, Encode, Reader, Writer};
use crate::sig::{ns, PublicKey, SecretKey, Signature, SignatureError, SIGNATURE_LEN};

/// The request format version this module reads and writes.
pub const VERSION: u8 = 2;
/// Magic bytes opening the binary form: `CLR` and the version.
pub const MAGIC: [u8; 4] = [0x43, 0x4C, 0x52, VERSION];
/// Prefix of the text form (the text form's own name, unchanged across request versions: the
/// version is the fourth byte of the binary form).
pub const TEXT_PREFIX: &str = "CLR1.";
/// Largest JSON form accepted, in bytes.
pub const MAX_JSON_BYTES: usize = 8 * 1024;
/// Largest text form accepted, in bytes.
pub const MAX_TEXT_BYTES: usize = 8 * 1024;
/// Longest verifier id, in bytes.
pub const MAX_VERIFIER_ID_BYTES: u32 = 128;
/// Longest purpose, in bytes of UTF-8.
pub const MAX_PURPOSE_BYTES: u32 = 256;
/// Longest audience, in bytes.
pub const MAX_AUDIENCE_BYTES: u32 = 256;
/// Most claims one request may name.
pub const MAX_CLAIMS: u32 = 32;
/// Longest claim name, in bytes.
pub const MAX_CLAIM_NAME_BYTES: u32 = 64;
/// Most credential types one request may accept.
pub const MAX_CREDENTIAL_TYPES: u32 = 8;
/// Longest credential type id, in bytes.
pub const MAX_CREDENTIAL_TYPE_BYTES: u32 = 128;
/// Shortest nonce accepted, in bytes (128 bits).
pub const MIN_NONCE_BYTES: u32 = 16;
/// Longest nonce accepted, in bytes.
pub const MAX_NONCE_BYTES: u32 = 64;
/// Length of the nonces [`PresentationRequest::new`] draws, in bytes (256 bits).
pub const NEW_NONCE_BYTES: usize = 32;
/// Longest lifetime (`expires_at - created_at`) of a request, in seconds.
pub const MAX_LIFETIME_S: u64 = 24 * 60 * 60;

// The binary form of the largest valid request must fit the text bound once base64url-encoded,
// or a valid request could have no text form.
const _: () = {
    let strs = 4 * 5
        + MAX_VERIFIER_ID_BYTES
        + MAX_PURPOSE_BYTES
        + MAX_AUDIENCE_BYTES
        + MAX_NONCE_BYTES
        + 4
        + MAX_CLAIMS * (4 + MAX_CLAIM_NAME_BYTES)
        + 4
        + MAX_CREDENTIAL_TYPES * (4 + MAX_CREDENTIAL_TYPE_BYTES);
    let binary = 4 + strs + 16 + SIGNATURE_LEN as u32;
    assert!((binary as usize).div_ceil(3) * 4 + TEXT_PREFIX.len() <= MAX_TEXT_BYTES);
    assert!(MIN_NONCE_BYTES as usize <= NEW_NONCE_BYTES);
    assert!(NEW_NONCE_BYTES <= MAX_NONCE_BYTES as usize);
};

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// An input, field or list is over its maximum.
    #[error("{what} is {len} long, over the maximum of {max}")]
    TooLarge {
        /// The input or field.
        what: &'static str,
        /// The size found (bytes or items).
        len: u64,
        /// The maximum allowed.
        max: u64,
    },
    /// The JSON form is not JSON, lacks a field, has an unknown or repeated field or a wrong type.
    #[error("request JSON is malformed or has unknown, missing or repeated fields")]
    MalformedJson,
    /// The text form is not `CLR1.` followed by unpadded base64url.
    #[error("request text must be CLR1. followed by unpadded base64url")]
    MalformedText,
    /// The binary form could not be decoded.
    #[error("request bytes: {0}")]
    Decode(#[from] DecodeError),
    /// A version other than [`VERSION`].
    #[error("unsupported request version {0}")]
    UnsupportedVersion(u64),
    /// A required field or list is empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// A field holds a character its rule does not allow.
    #[error("{0} contains a character that is not allowed")]
    BadCharacter(&'static str),
    /// A list is not in strictly ascending byte order (unsorted or with repeats).
    #[error("{0} must be sorted and without repeats")]
    NotSortedUnique(&'static str),
    /// The nonce is not unpadded base64url of 16 to 64 bytes.
    #[error("nonce must be unpadded base64url of 16 to 64 bytes")]
    BadNonce,
    /// `expires_at` is not after `created_at`, or more than [`MAX_LIFETIME_S`] after it.
    #[error("expires_at must be after created_at and at most one day later")]
    BadLifetime,
    /// A credential type that is not one of the shipped profiles.
    #[error("credential type is not a shipped profile")]
    UnknownCredentialType,
    /// A claim that none of the requested credential types defines.
    #[error("a requested claim is not defined by any requested credential type")]
    UnknownClaim,
    /// `now` is at or after `expires_at`.
    #[error("the request has expired")]
    Expired,
    /// `created_at` is more than the tolerated skew after `now`.
    #[error("the request was created in the future")]
    NotYetValid,
    /// The signature is not unpadded base64url of 64 bytes.
    #[error("signature must be unpadded base64url of 64 bytes")]
    BadSignature,
}

/// What a verifier asks for; the input of [`PresentationRequest::new`].
///
/// Lists may be in any order and contain repeats: `new` sorts them and drops repeats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestOptions {
    /// Who asks: the verifier's registered id.
    pub verifier_id: String,
    /// Why, in words shown to the citizen.
    pub purpose: String,
    /// Claim names that must be disclosed.
    pub claims: Vec<String>,
    /// Credential type ids (`vct`) accepted.
    pub credential_types: Vec<String>,
    /// The audience the wallet binds its key-binding JWT to.
    pub audience: String,
    /// Lifetime in seconds, 1 to [`MAX_LIFETIME_S`].
    pub lifetime_s: u64,
}

/// A validated presentation request. Every value of this type satisfies the rules of
/// `specs/request.md`; fields are reachable only through getters. The signature is carried, not
/// trusted: see [`PresentationRequest::verify_signature`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresentationRequest {
    verifier_id: String,
    purpose: String,
    claims: Vec<String>,
    credential_types: Vec<String>,
    nonce: Vec<u8>,
    audience: String,
    created_at: u64,
    expires_at: u64,
    signature: Signature,
}

/// The JSON form, field for field (`specs/request.md`).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestJson {
    version: u64,
    verifier_id: String,
    purpose: String,
    claims: Vec<String>,
    credential_types: Vec<String>,
    nonce: String,
    audience: String,
    created_at: u64,
    expires_at: u64,
    signature: String,
}

impl PresentationRequest {
    /// Creates a request with a fresh 256-bit nonce drawn from `rng`, created at `now` (Unix
    /// seconds), expiring `options.lifetime_s` later, signed by `key` (the verifier's registered
    /// request-signing key).
    pub fn new(
        options: RequestOptions,
        key: &SecretKey,
        rng: &mut impl CryptoRngCore,
        now: u64,
    ) -> Result<Self, RequestError> {
        if options.lifetime_s == 0 || options.lifetime_s > MAX_LIFETIME_S {
            return Err(RequestError::BadLifetime);
        }
        let mut nonce = vec![0u8; NEW_NONCE_BYTES];
        rng.fill_bytes(&mut nonce);
        let mut claims = options.claims;
        claims.sort();
        claims.dedup();
        let mut credential_types = options.credential_types;
        credential_types.sort();
        credential_types.dedup();
        let mut request = Self {
            verifier_id: options.verifier_id,
            purpose: options.purpose,
            claims,
            credential_types,
            nonce,
            audience: options.audience,
            created_at: now,
            expires_at: now.checked_add(options.lifetime_s).ok_or(RequestError::BadLifetime)?,
            signature: Signature([0; SIGNATURE_LEN]),
        };
        request.validate()?;
        request.signature = key.sign(ns::VERIFIER_REQUEST, &request.signed_bytes());
        Ok(request)
    }

    /// The bytes the verifier signs: the canonical binary form without its signature (magic,
    /// then every field up to `expires_at`).
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode_fields(&mut w);
        w.into_bytes()
    }

    /// The signature, as carried (unchecked).
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Checks the signature under `key` (the verifier's registered key), strictly and under
    /// [`crate::sig::ns::VERIFIER_REQUEST`].
    pub fn verify_signature(&self, key: &PublicKey) -> Result<(), SignatureError> {
        key.verify(ns::VERIFIER_REQUEST, &self.signed_bytes(), &self.signature)
    }

    /// The format version (always [`VERSION`]).
    pub fn version(&self) -> u8 {
        VERSION
    }

    /// Who asks.
    pub fn verifier_id(&self) -> &str {
        &self.verifier_id
    }

    /// Why, as shown to the citizen.
    pub fn purpose(&self) -> &str {
        &self.purpose
    }

    /// The claims that must be disclosed, sorted, without repeats.
    pub fn claims(&self) -> &[String] {
        &self.claims
    }

    /// The accepted credential type ids, sorted, without repeats.
    pub fn credential_types(&self) -> &[String] {
        &self.credential_types
    }

    /// The nonce bytes (16 to 64).
    pub fn nonce(&self) -> &[u8] {
        &self.nonce
    }

    /// The nonce as unpadded base64url: the value the KB-JWT `nonce` must equal.
    pub fn nonce_b64(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.nonce)
    }

    /// The audience the KB-JWT `aud` must equal.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Creation time, Unix seconds.
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// Expiry time, Unix seconds (exclusive).
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// Checks the request is current at `now`: not expired, and created no more than `skew_s`
    /// seconds in the future.
    pub fn check_time(&self, now: u64, skew_s: u64) -> Result<(), RequestError> {
        if self.created_at > now.saturating_add(skew_s) {
            return Err(RequestError::NotYetValid);
        }
        if now >= self.expires_at {
            return Err(RequestError::Expired);
        }
        Ok(())
    }

    /// Checks every credential type is a shipped profile ([`crate::profiles::ALL`]) and every
    /// claim is defined by at least one requested type. Verifier pages use it to refuse requests
    /// for claims no accepted credential can disclose; a wallet may use it to refuse such
    /// requests too.
    pub fn check_against_profiles(&self) -> Result<(), RequestError> {
        let mut types = Vec::with_capacity(self.credential_types.len());
        for id in &self.credential_types {
            types.push(crate::profiles::by_id(id).ok_or(RequestError::UnknownCredentialType)?);
        }
        for claim in &self.claims {
            if !types.iter().any(|t| t.claim(claim).is_some()) {
                return Err(RequestError::UnknownClaim);
            }
        }
        Ok(())
    }

    /// Parses the JSON form strictly (see the module docs).
    pub fn from_json(json: &str) -> Result<Self, RequestError> {
        if json.len() > MAX_JSON_BYTES {
            return Err(RequestError::TooLarge {
                what: "request JSON",
                len: json.len() as u64,
                max: MAX_JSON_BYTES as u64,
            });
        }
        // The version first, so that an older (unsigned, version 1) request is named as such.
        #[derive(Deserialize)]
        struct Version {
            version: u64,
        }
        let v: Version = serde_json::from_str(json).map_err(|_| RequestError::MalformedJson)?;
        if v.version != u64::from(VERSION) {
            return Err(RequestError::UnsupportedVersion(v.version));
        }
        let raw: RequestJson =
            serde_json::from_str(json).map_err(|_| RequestError::MalformedJson)?;
        if raw.nonce.len() > (MAX_NONCE_BYTES as usize).div_ceil(3) * 4 {
            return Err(RequestError::BadNonce);
        }
        let nonce =
            URL_SAFE_NO_PAD.decode(raw.nonce.as_bytes()).map_err(|_| RequestError::BadNonce)?;
        if raw.signature.len() > SIGNATURE_LEN.div_ceil(3) * 4 {
            return Err(RequestError::BadSignature);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(raw.signature.as_bytes())
            .ok()
            .and_then(|b| <[u8; SIGNATURE_LEN]>::try_from(b).ok())
            .map(Signature)
            .ok_or(RequestError::BadSignature)?;
        let request = Self {
            verifier_id: raw.verifier_id,
            purpose: raw.purpose,
            claims: raw.claims,
            credential_types: raw.credential_types,
            nonce,
            audience: raw.audience,
            created_at: raw.created_at,
            expires_at: raw.expires_at,
            signature,
        };
        request.validate()?;
        Ok(request)
    }

    /// The JSON form, with fields in the order of `specs/request.md` and no whitespace.
    pub fn to_json(&self) -> String {
        let raw = RequestJson {
            version: u64::from(VERSION),
            verifier_id: self.verifier_id.clone(),
            purpose: self.purpose.clone(),
            claims: self.claims.clone(),
            credential_types: self.credential_types.clone(),
            nonce: self.nonce_b64(),
            audience: self.audience.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            signature: URL_SAFE_NO_PAD.encode(self.signature.0),
        };
        // Serialising a struct of strings, string lists and integers into a String cannot fail.
        serde_json::to_string(&raw).unwrap_or_default()
    }

    /// Parses the text form `CLR1.<base64url>`; surrounding ASCII whitespace is ignored.
    pub fn from_text(text: &str) -> Result<Self, RequestError> {
        if text.len() > MAX_TEXT_BYTES {
            return Err(RequestError::TooLarge {
                what: "request text",
                len: text.len() as u64,
                max: MAX_TEXT_BYTES as u64,
            });
        }
        let body =
            text.trim_ascii().strip_prefix(TEXT_PREFIX).ok_or(RequestError::MalformedText)?;
        let bytes =
            URL_SAFE_NO_PAD.decode(body.as_bytes()).map_err(|_| RequestError::MalformedText)?;
        Self::from_canonical_bytes(&bytes)
    }

    /// The text form for QR codes: `CLR1.` + unpadded base64url of the canonical bytes.
    pub fn to_text(&self) -> String {
        let mut text = String::from(TEXT_PREFIX);
        URL_SAFE_NO_PAD.encode_string(self.to_bytes(), &mut text);
        text
    }

    /// Decodes and validates the canonical binary form.
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Self, RequestError> {
        let mut reader = Reader::new(bytes);
        let request = Self::decode_fields(&mut reader)?;
        reader.finish()?;
        request.validate()?;
        Ok(request)
    }

    fn decode_fields(r: &mut Reader<'_>) -> Result<Self, RequestError> {
        let magic: [u8; 4] = r.array("request magic")?;
        if magic[..3] != MAGIC[..3] {
            return Err(DecodeError::NonCanonical("request magic").into());
        }
        if magic[3] != VERSION {
            return Err(RequestError::UnsupportedVersion(magic[3].into()));
        }
        let verifier_id = r.string(MAX_VERIFIER_ID_BYTES, "verifier_id")?;
        let purpose = r.string(MAX_PURPOSE_BYTES, "purpose")?;
        let claims = read_strings(r, MAX_CLAIMS, MAX_CLAIM_NAME_BYTES, "claims")?;
        let credential_types =
            read_strings(r, MAX_CREDENTIAL_TYPES, MAX_CREDENTIAL_TYPE_BYTES, "credential_types")?;
        let nonce = r.bytes(MAX_NONCE_BYTES, "nonce")?.to_vec();
        let audience = r.string(MAX_AUDIENCE_BYTES, "audience")?;
        let created_at = r.u64("created_at")?;
        let expires_at = r.u64("expires_at")?;
        let signature = Signature::decode(r)?;
        Ok(Self {
            verifier_id,
            purpose,
            claims,
            credential_types,
            nonce,
            audience,
            created_at,
            expires_at,
            signature,
        })
    }

    /// Every rule of `specs/request.md` except the clock.
    fn validate(&self) -> Result<(), RequestError> {
        check_text(&self.verifier_id, MAX_VERIFIER_ID_BYTES, "verifier_id")?;
        check_text(&self.purpose, MAX_PURPOSE_BYTES, "purpose")?;
        check_text(&self.audience, MAX_AUDIENCE_BYTES, "audience")?;
        check_list(&self.claims, MAX_CLAIMS, "claims")?;
        for claim in &self.claims {
            check_len(claim, MAX_CLAIM_NAME_BYTES, "claim name")?;
            if !is_claim_name(claim) {
                return Err(RequestError::BadCharacter("claim name"));
            }
        }
        check_list(&self.credential_types, MAX_CREDENTIAL_TYPES, "credential_types")?;
        if self.credential_types.is_empty() {
            return Err(RequestError::Empty("credential_types"));
        }
        for id in &self.credential_types {
            check_len(id, MAX_CREDENTIAL_TYPE_BYTES, "credential type")?;
            if !id.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(RequestError::BadCharacter("credential type"));
            }
        }
        let nonce_len = self.nonce.len();
        if nonce_len < MIN_NONCE_BYTES as usize || nonce_len > MAX_NONCE_BYTES as usize {
            return Err(RequestError::BadNonce);
        }
        match self.expires_at.checked_sub(self.created_at) {
            Some(lifetime) if lifetime > 0 && lifetime <= MAX_LIFETIME_S => Ok(()),
            _ => Err(RequestError::BadLifetime),
        }
    }
}

impl Encode for PresentationRequest {
    fn encode(&self, w: &mut Writer) {
        self.encode_fields(w);
        w.put(&self.signature);
    }
}

impl PresentationRequest {
    fn encode_fields(&self, w: &mut Writer) {
        w.fixed(&MAGIC);
        w.str(&self.verifier_id);
        w.str(&self.purpose);
        w.count(self.claims.len());
        for claim in &self.claims {
            w.str(claim);
        }
        w.count(self.credential_types.len());
        for id in &self.credential_types {
            w.str(id);
        }
        w.bytes(&self.nonce);
        w.str(&self.audience);
        w.u64(self.created_at);
        w.u64(self.expires_at);
    }
}

fn read_strings(
    r: &mut Reader<'_>,
    max_items: u32,
    max_bytes: u32,
    what: &'static str,
) -> Result<Vec<String>, DecodeError> {
    let n = r.count(max_items, what)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(r.string(max_bytes, what)?);
    }
    Ok(out)
}

fn check_len(s: &str, max: u32, what: &'static str) -> Result<(), RequestError> {
    if s.is_empty() {
        return Err(RequestError::Empty(what));
    }
    if s.len() > max as usize {
        return Err(RequestError::TooLarge { what, len: s.len() as u64, max: max.into() });
    }
    Ok(())
}

/// Non-empty, bounded, no control characters (which could hide or reorder displayed text).
fn check_text(s: &str, max: u32, what: &'static str) -> Result<(), RequestError> {
    check_len(s, max, what)?;
    if s.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return Err(RequestError::BadCharacter(what));
    }
    Ok(())
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn check_list(items: &[String], max: u32, what: &'static str) -> Result<(), RequestError> {
    if items.len() > max as usize {
        return Err(RequestError::TooLarge { what, len: items.len() as u64, max: max.into() });
    }
    if items.windows(2).any(|w| matches!(w, [a, b] if a >= b)) {
        return Err(RequestError::NotSortedUnique(what));
    }
    Ok(())
}

/// `[a-z][a-z0-9_]*`: the shape of every claim name in `specs/profiles.md`.
fn is_claim_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests;
