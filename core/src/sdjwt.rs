//! SD-JWT (RFC 9901) and SD-JWT VC with EdDSA (Ed25519) and key binding.
//!
//! Hand-written on top of [`crate::sig`] and [`crate::jcs::parse_strict`]; `specs/credentials.md`
//! says why no existing crate is used and states the profile normatively. In short:
//! - Issuer-signed JWT header: `{"alg":"EdDSA","typ":"dc+sd-jwt","kid":...}`, no `crit`.
//! - Payload: the always-visible claims, `_sd` (sorted SHA-256 digests of the disclosures plus
//!   decoys) and `_sd_alg: "sha-256"`.
//! - Disclosures: base64url of `[salt, name, value]` (object member) or `[salt, value]` (array
//!   element), 128-bit salts; the digest is base64url(SHA-256(ASCII of the disclosure text)).
//! - Presentation: `<issuer-jwt>~<disclosure>~...~<kb-jwt>`, KB-JWT header
//!   `{"alg":"EdDSA","typ":"kb+jwt"}`, payload `{nonce, aud, iat, sd_hash}`.
//!
//! [`verify`] fails closed: every disclosure must match exactly one digest, a digest may appear
//! only once, and a credential with `cnf` is refused without a valid, fresh KB-JWT for the
//! verifier's nonce and audience.

use std::collections::{BTreeMap, BTreeSet};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand_core::CryptoRngCore;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::jcs::{self, JsonError};
use crate::sig::{PreparedKey, PublicKey, SecretKey, Signature, SIGNATURE_LEN};

/// `typ` of the issuer-signed JWT of an SD-JWT VC.
pub const TYP_SD_JWT: &str = "dc+sd-jwt";
/// `typ` of a key-binding JWT.
pub const TYP_KB_JWT: &str = "kb+jwt";
/// The only JWS algorithm accepted.
pub const ALG: &str = "EdDSA";
/// The only disclosure digest algorithm accepted.
pub const SD_ALG: &str = "sha-256";
/// Largest SD-JWT or presentation accepted, in bytes.
pub const MAX_SD_JWT_BYTES: usize = 64 * 1024;
/// Most disclosures in one SD-JWT.
pub const MAX_DISCLOSURES: usize = 64;
/// Most decoy digests [`issue`] adds.
pub const MAX_DECOYS: usize = 64;
/// Deepest nesting of disclosures inside disclosed values while processing.
pub const MAX_PROCESS_DEPTH: usize = 48;

/// Why an SD-JWT could not be made or was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdJwtError {
    /// The KB-JWT `aud` is not the verifier's audience.
    #[error("key binding audience mismatch")]
    AudienceMismatch,
    /// The issuer-signed JWT does not verify under the issuer key.
    #[error("issuer signature does not verify")]
    BadIssuerSignature,
    /// The KB-JWT does not verify under the `cnf` key.
    #[error("key binding signature does not verify")]
    BadKeyBindingSignature,
    /// A disclosed claim name already exists in its object, or is reserved.
    #[error("claim name collision")]
    ClaimCollision,
    /// A disclosure's digest appears in no `_sd` array or array element.
    #[error("disclosure digest not found in the payload")]
    DigestNotFound,
    /// A digest appears more than once in the payload.
    #[error("digest appears more than once")]
    DuplicateDigest,
    /// The same disclosure is presented twice.
    #[error("duplicate disclosure")]
    DuplicateDisclosure,
    /// `exp` is not after `now` (see [`VerifiedSdJwt::check_validity`]).
    #[error("credential expired")]
    Expired,
    /// The holder key given to [`SdJwt::present`] is not the `cnf` key.
    #[error("holder key does not match cnf")]
    HolderKeyMismatch,
    /// A JSON part was refused by the strict parser.
    #[error("JSON refused: {0}")]
    Json(#[from] JsonError),
    /// The KB-JWT `iat` lies too far in the future.
    #[error("key binding issued in the future")]
    KeyBindingInFuture,
    /// The KB-JWT `iat` is older than the allowed age.
    #[error("key binding too old")]
    KeyBindingStale,
    /// Structure or encoding is wrong.
    #[error("malformed: {0}")]
    Malformed(&'static str),
    /// The payload has `cnf` but the presentation carries no KB-JWT.
    #[error("key binding JWT missing")]
    MissingKeyBinding,
    /// The KB-JWT `nonce` is not the verifier's nonce.
    #[error("key binding nonce mismatch")]
    NonceMismatch,
    /// `nbf` is after `now`.
    #[error("credential not yet valid")]
    NotYetValid,
    /// The KB-JWT `sd_hash` does not cover the presented SD-JWT.
    #[error("key binding sd_hash mismatch")]
    SdHashMismatch,
    /// Over a size or count bound.
    #[error("too large: {0}")]
    TooLarge(&'static str),
    /// A KB-JWT is present although the payload has no `cnf`.
    #[error("key binding JWT without cnf")]
    UnexpectedKeyBinding,
    /// [`SdJwt::present`] was asked for a claim that has no disclosure.
    #[error("claim is not selectively disclosable")]
    UnknownClaim,
    /// `alg` is not `EdDSA`, or `_sd_alg` is not `sha-256`.
    #[error("unsupported algorithm")]
    UnsupportedAlg,
    /// A header is not acceptable (`crit`, or a `cnf` that is not an Ed25519 OKP JWK).
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// The JWT `typ` is not the expected one.
    #[error("wrong typ")]
    WrongType,
}

/// One disclosure as presented.
#[derive(Clone, Debug, PartialEq)]
pub struct Disclosure {
    /// The base64url text as it appears between `~`.
    pub encoded: String,
    /// The salt.
    pub salt: String,
    /// The claim name (`None` for an array element).
    pub name: Option<String>,
    /// The claim value.
    pub value: Value,
    /// base64url(SHA-256(`encoded`)).
    pub digest: String,
}

impl Disclosure {
    /// Decodes and checks one disclosure.
    pub fn parse(encoded: &str) -> Result<Self, SdJwtError> {
        let bytes = b64_decode(encoded, "disclosure is not base64url")?;
        let Value::Array(mut items) = jcs::parse_strict_bytes(&bytes)? else {
            return Err(SdJwtError::Malformed("disclosure is not an array"));
        };
        let (salt, name, value) = match items.len() {
            2 => {
                let value = items.pop().unwrap_or(Value::Null);
                (items.pop(), None, value)
            }
            3 => {
                let value = items.pop().unwrap_or(Value::Null);
                let name = match items.pop() {
                    Some(Value::String(n)) => n,
                    _ => return Err(SdJwtError::Malformed("claim name is not a string")),
                };
                if name == "_sd" || name == "..." || name == "_sd_alg" {
                    return Err(SdJwtError::ClaimCollision);
                }
                (items.pop(), Some(name), value)
            }
            _ => return Err(SdJwtError::Malformed("disclosure has neither 2 nor 3 elements")),
        };
        let Some(Value::String(salt)) = salt else {
            return Err(SdJwtError::Malformed("salt is not a string"));
        };
        Ok(Self { digest: digest_of(encoded), encoded: encoded.to_owned(), salt, name, value })
    }

    fn make(salt: &str, name: Option<&str>, value: &Value) -> Result<Self, SdJwtError> {
        let array = match name {
            Some(n) => Value::Array(vec![salt.into(), n.into(), value.clone()]),
            None => Value::Array(vec![salt.into(), value.clone()]),
        };
        let text =
            serde_json::to_string(&array).map_err(|_| SdJwtError::Malformed("unencodable"))?;
        let encoded = URL_SAFE_NO_PAD.encode(text.as_bytes());
        Ok(Self {
            digest: digest_of(&encoded),
            encoded,
            salt: salt.to_owned(),
            name: name.map(str::to_owned),
            value: value.clone(),
        })
    }
}

/// base64url(SHA-256(ASCII of `text`)): the digest of a disclosure and the KB-JWT `sd_hash`.
pub fn digest_of(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}

/// The result of [`issue`].
#[derive(Clone, Debug, PartialEq)]
pub struct Issued {
    /// `<issuer-jwt>~<disclosure>~...~` (no key binding yet).
    pub compact: String,
    /// The issuer-signed JWT alone.
    pub issuer_jwt: String,
    /// The disclosures, in the order of `compact`.
    pub disclosures: Vec<Disclosure>,
}

/// Issues an SD-JWT VC. `claims` are always visible (`iss`, `iat`, `exp`, `vct`, `cnf`, ...);
/// each `sd_claims` entry becomes a top-level selectively disclosable claim; `decoys` extra
/// random digests hide how many claims exist.
pub fn issue(
    issuer: &SecretKey,
    header_kid: &str,
    claims: Map<String, Value>,
    sd_claims: &[(String, Value)],
    decoys: usize,
    rng: &mut impl CryptoRngCore,
) -> Result<Issued, SdJwtError> {
    if decoys > MAX_DECOYS || sd_claims.len() > MAX_DISCLOSURES {
        return Err(SdJwtError::TooLarge("too many disclosures or decoys"));
    }
    if claims.contains_key("_sd") || claims.contains_key("_sd_alg") {
        return Err(SdJwtError::ClaimCollision);
    }
    let mut payload = claims;
    let mut disclosures = Vec::with_capacity(sd_claims.len());
    let mut digests = Vec::with_capacity(sd_claims.len() + decoys);
    let mut names = BTreeSet::new();
    for (name, value) in sd_claims {
        if payload.contains_key(name) || !names.insert(name.as_str()) || name == "..." {
            return Err(SdJwtError::ClaimCollision);
        }
        let d = Disclosure::make(&random_b64(rng), Some(name), value)?;
        digests.push(d.digest.clone());
        disclosures.push(d);
    }
    for _ in 0..decoys {
        digests.push(digest_of(&random_b64(rng)));
    }
    digests.sort();
    payload.insert("_sd".into(), Value::Array(digests.into_iter().map(Value::String).collect()));
    payload.insert("_sd_alg".into(), SD_ALG.into());
    let mut header = Map::new();
    header.insert("alg".into(), ALG.into());
    header.insert("typ".into(), TYP_SD_JWT.into());
    header.insert("kid".into(), header_kid.into());
    let issuer_jwt = sign_jwt(issuer, &header, &payload)?;
    let mut compact = issuer_jwt.clone();
    compact.push('~');
    for d in &disclosures {
        compact.push_str(&d.encoded);
        compact.push('~');
    }
    if compact.len() > MAX_SD_JWT_BYTES {
        return Err(SdJwtError::TooLarge("SD-JWT"));
    }
    Ok(Issued { compact, issuer_jwt, disclosures })
}

/// A parsed (not yet verified) SD-JWT or SD-JWT+KB.
#[derive(Clone, Debug, PartialEq)]
pub struct SdJwt {
    /// The issuer-signed JWT text.
    pub issuer_jwt: String,
    /// The disclosures in order.
    pub disclosures: Vec<Disclosure>,
    /// The KB-JWT text, if any.
    pub kb_jwt: Option<String>,
}

impl SdJwt {
    /// Splits and decodes a compact SD-JWT (bounded size, disclosure count and JSON depth).
    pub fn parse(text: &str) -> Result<Self, SdJwtError> {
        if text.len() > MAX_SD_JWT_BYTES {
            return Err(SdJwtError::TooLarge("SD-JWT"));
        }
        let mut parts: Vec<&str> = text.split('~').collect();
        if parts.len() < 2 {
            return Err(SdJwtError::Malformed("no ~ separator"));
        }
        if parts.len() > MAX_DISCLOSURES + 2 {
            return Err(SdJwtError::TooLarge("too many disclosures"));
        }
        let last = parts.pop().unwrap_or_default();
        let kb_jwt = (!last.is_empty()).then(|| last.to_owned());
        let mut iter = parts.into_iter();
        let issuer_jwt = iter.next().unwrap_or_default();
        if issuer_jwt.is_empty() {
            return Err(SdJwtError::Malformed("empty issuer JWT"));
        }
        let mut disclosures = Vec::new();
        for part in iter {
            if part.is_empty() {
                return Err(SdJwtError::Malformed("empty disclosure"));
            }
            disclosures.push(Disclosure::parse(part)?);
        }
        Ok(Self { issuer_jwt: issuer_jwt.to_owned(), disclosures, kb_jwt })
    }

    /// The text before the KB-JWT: `<issuer-jwt>~<disclosure>~...~`.
    pub fn without_key_binding(&self) -> String {
        let mut out = self.issuer_jwt.clone();
        out.push('~');
        for d in &self.disclosures {
            out.push_str(&d.encoded);
            out.push('~');
        }
        out
    }

    /// Builds a presentation disclosing the named claims, bound to `nonce` and `aud` by a KB-JWT
    /// signed with `holder` (which must be the `cnf` key).
    pub fn present(
        &self,
        disclose: &[&str],
        holder: &SecretKey,
        nonce: &str,
        aud: &str,
        iat: u64,
    ) -> Result<String, SdJwtError> {
        let (_, payload, _) = split_jwt(&self.issuer_jwt)?;
        let cnf = cnf_key(&payload)?.ok_or(SdJwtError::Unsupported("credential has no cnf"))?;
        if cnf != holder.public_key() {
            return Err(SdJwtError::HolderKeyMismatch);
        }
        let mut chosen = Vec::new();
        for name in disclose {
            let d = self
                .disclosures
                .iter()
                .find(|d| d.name.as_deref() == Some(*name))
                .ok_or(SdJwtError::UnknownClaim)?;
            if !chosen.iter().any(|c: &Disclosure| c.encoded == d.encoded) {
                chosen.push(d.clone());
            }
        }
        let unbound =
            SdJwt { issuer_jwt: self.issuer_jwt.clone(), disclosures: chosen, kb_jwt: None }
                .without_key_binding();
        let mut header = Map::new();
        header.insert("alg".into(), ALG.into());
        header.insert("typ".into(), TYP_KB_JWT.into());
        let mut kb = Map::new();
        kb.insert("nonce".into(), nonce.into());
        kb.insert("aud".into(), aud.into());
        kb.insert("iat".into(), iat.into());
        kb.insert("sd_hash".into(), digest_of(&unbound).into());
        let kb_jwt = sign_jwt(holder, &header, &kb)?;
        let out = unbound + &kb_jwt;
        if out.len() > MAX_SD_JWT_BYTES {
            return Err(SdJwtError::TooLarge("presentation"));
        }
        Ok(out)
    }
}

/// What the verifier requires of the key binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyBindingCheck<'a> {
    /// The nonce the verifier issued.
    pub nonce: &'a str,
    /// The verifier's audience identifier.
    pub aud: &'a str,
    /// The verifier's current time (Unix seconds).
    pub now: u64,
    /// Oldest acceptable KB-JWT `iat`, as an age in seconds.
    pub max_age_s: u64,
    /// How far in the future a KB-JWT `iat` may lie (clock skew), in seconds.
    pub max_future_skew_s: u64,
}

/// A presentation that verified.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedSdJwt {
    /// The processed claims: disclosed claims in place, `_sd`, `_sd_alg` and decoys removed.
    pub claims: Value,
    /// The names of the disclosed object claims, in presentation order.
    pub disclosed: Vec<String>,
    /// The issuer JWT header.
    pub header: Map<String, Value>,
    /// The header `kid`, if any.
    pub kid: Option<String>,
    /// The issuer-signed JWT text (what issuance anchors commit to).
    pub issuer_jwt: String,
    /// The holder key from `cnf` (the KB-JWT verified under it), if the payload has `cnf`.
    pub holder_key: Option<PublicKey>,
    /// `exp`, not judged here.
    pub exp: Option<u64>,
    /// `nbf`, not judged here.
    pub nbf: Option<u64>,
    /// `iat` of the issuer JWT.
    pub iat: Option<u64>,
}

impl VerifiedSdJwt {
    /// Judges `exp` and `nbf` at `now`, allowing `skew_s` seconds either way.
    pub fn check_validity(&self, now: u64, skew_s: u64) -> Result<(), SdJwtError> {
        if let Some(exp) = self.exp {
            if now >= exp.saturating_add(skew_s) {
                return Err(SdJwtError::Expired);
            }
        }
        if let Some(nbf) = self.nbf {
            if now.saturating_add(skew_s) < nbf {
                return Err(SdJwtError::NotYetValid);
            }
        }
        Ok(())
    }
}

/// Verifies an SD-JWT presentation (see the module docs; fails closed on holder binding).
pub fn verify(
    presentation: &str,
    issuer_key: &PublicKey,
    kb: KeyBindingCheck<'_>,
) -> Result<VerifiedSdJwt, SdJwtError> {
    verify_inner(presentation, &issuer_key.prepare(), Some(kb))
}

/// [`verify`] with the issuer key already decoded (a verifier that sees the same issuer key many
/// times decodes it once); the same answer as [`verify`] under `issuer_key.public_key()`.
pub fn verify_prepared(
    presentation: &str,
    issuer_key: &PreparedKey,
    kb: KeyBindingCheck<'_>,
) -> Result<VerifiedSdJwt, SdJwtError> {
    verify_inner(presentation, issuer_key, Some(kb))
}

/// Verifies an SD-JWT as issued, before any presentation: the holder's check at import. The
/// issuer signature and every disclosure are checked exactly as in [`verify`]; a key-binding JWT
/// must be absent (an issued credential has none) and is not required. Never use this to accept
/// a presentation from someone else: that is [`verify`], which fails closed on holder binding.
pub fn verify_issued(sd_jwt: &str, issuer_key: &PublicKey) -> Result<VerifiedSdJwt, SdJwtError> {
    verify_inner(sd_jwt, &issuer_key.prepare(), None)
}

fn verify_inner(
    presentation: &str,
    issuer_key: &PreparedKey,
    kb: Option<KeyBindingCheck<'_>>,
) -> Result<VerifiedSdJwt, SdJwtError> {
    let sd = SdJwt::parse(presentation)?;
    let (header, payload) =
        verify_jwt(&sd.issuer_jwt, issuer_key, TYP_SD_JWT).map_err(|e| match e {
            SdJwtError::BadKeyBindingSignature => SdJwtError::BadIssuerSignature,
            other => other,
        })?;
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(SdJwtError::Malformed("kid is not a string")),
    };
    match payload.get("_sd_alg") {
        None => {}
        Some(Value::String(a)) if a == SD_ALG => {}
        Some(_) => return Err(SdJwtError::UnsupportedAlg),
    }

    // Index the disclosures by digest; the same disclosure twice is refused.
    let mut by_digest: BTreeMap<&str, &Disclosure> = BTreeMap::new();
    for d in &sd.disclosures {
        if by_digest.insert(d.digest.as_str(), d).is_some() {
            return Err(SdJwtError::DuplicateDisclosure);
        }
    }
    let mut state =
        Process { by_digest, seen: BTreeSet::new(), used: BTreeSet::new(), disclosed: Vec::new() };
    let mut claims = Value::Object(payload.clone());
    state.walk(&mut claims, 0)?;
    if state.used.len() != sd.disclosures.len() {
        return Err(SdJwtError::DigestNotFound);
    }
    let mut disclosed_order = Vec::new();
    for d in &sd.disclosures {
        if let Some(n) = &d.name {
            if state.disclosed.iter().any(|x| x == n) {
                disclosed_order.push(n.clone());
            }
        }
    }
    if let Value::Object(map) = &mut claims {
        map.remove("_sd_alg");
    }

    let holder_key = cnf_key(&payload)?;
    match (&holder_key, &sd.kb_jwt, &kb) {
        // As issued: no key binding yet, and none may be present.
        (_, Some(_), None) => return Err(SdJwtError::UnexpectedKeyBinding),
        (_, None, None) => {}
        (Some(_), None, Some(_)) => return Err(SdJwtError::MissingKeyBinding),
        (None, Some(_), Some(_)) => return Err(SdJwtError::UnexpectedKeyBinding),
        (None, None, Some(_)) => {}
        (Some(key), Some(kb_jwt), Some(kb)) => check_key_binding(&sd, kb_jwt, key, kb)?,
    }

    Ok(VerifiedSdJwt {
        claims,
        disclosed: disclosed_order,
        kid,
        header,
        issuer_jwt: sd.issuer_jwt,
        holder_key,
        exp: numeric_date(&payload, "exp")?,
        nbf: numeric_date(&payload, "nbf")?,
        iat: numeric_date(&payload, "iat")?,
    })
}

fn check_key_binding(
    sd: &SdJwt,
    kb_jwt: &str,
    key: &PublicKey,
    kb: &KeyBindingCheck<'_>,
) -> Result<(), SdJwtError> {
    let (_, claims) = verify_jwt(kb_jwt, &key.prepare(), TYP_KB_JWT)?;
    let sd_hash = claims.get("sd_hash").and_then(Value::as_str);
    if sd_hash != Some(digest_of(&sd.without_key_binding()).as_str()) {
        return Err(SdJwtError::SdHashMismatch);
    }
    if claims.get("nonce").and_then(Value::as_str) != Some(kb.nonce) {
        return Err(SdJwtError::NonceMismatch);
    }
    if claims.get("aud").and_then(Value::as_str) != Some(kb.aud) {
        return Err(SdJwtError::AudienceMismatch);
    }
    let iat = numeric_date(&claims, "iat")?.ok_or(SdJwtError::Malformed("KB-JWT lacks iat"))?;
    if iat > kb.now.saturating_add(kb.max_future_skew_s) {
        return Err(SdJwtError::KeyBindingInFuture);
    }
    if kb.now > iat.saturating_add(kb.max_age_s) {
        return Err(SdJwtError::KeyBindingStale);
    }
    Ok(())
}

/// Replaces digests by their disclosures, recursively.
struct Process<'a> {
    by_digest: BTreeMap<&'a str, &'a Disclosure>,
    seen: BTreeSet<String>,
    used: BTreeSet<&'a str>,
    disclosed: Vec<String>,
}

impl<'a> Process<'a> {
    fn note_digest(&mut self, digest: &str) -> Result<Option<&'a Disclosure>, SdJwtError> {
        if !self.seen.insert(digest.to_owned()) {
            return Err(SdJwtError::DuplicateDigest);
        }
        match self.by_digest.get(digest) {
            Some(d) => {
                self.used.insert(d.digest.as_str());
                Ok(Some(*d))
            }
            None => Ok(None),
        }
    }

    fn walk(&mut self, value: &mut Value, depth: usize) -> Result<(), SdJwtError> {
        if depth > MAX_PROCESS_DEPTH {
            return Err(SdJwtError::TooLarge("disclosures nest too deeply"));
        }
        match value {
            Value::Object(map) => {
                let sd = map.remove("_sd");
                for child in map.values_mut() {
                    self.walk(child, depth + 1)?;
                }
                let Some(sd) = sd else { return Ok(()) };
                let Value::Array(digests) = sd else {
                    return Err(SdJwtError::Malformed("_sd is not an array"));
                };
                for digest in digests {
                    let Value::String(digest) = digest else {
                        return Err(SdJwtError::Malformed("_sd entry is not a string"));
                    };
                    let Some(d) = self.note_digest(&digest)? else {
                        continue;
                    };
                    let Some(name) = &d.name else {
                        return Err(SdJwtError::Malformed("array disclosure used in _sd"));
                    };
                    if map.contains_key(name) {
                        return Err(SdJwtError::ClaimCollision);
                    }
                    let mut v = d.value.clone();
                    self.walk(&mut v, depth + 1)?;
                    map.insert(name.clone(), v);
                    self.disclosed.push(name.clone());
                }
            }
            Value::Array(items) => {
                let old = core::mem::take(items);
                for mut item in old {
                    // RFC 9901 section 7.1: only an object whose one member is `...` with a
                    // string value is an array-element digest; an object with `...` and other
                    // members, or a non-string `...`, is an ordinary array element.
                    let digest = match &item {
                        Value::Object(m) if m.len() == 1 => match m.get("...") {
                            Some(Value::String(s)) => Some(s.clone()),
                            _ => None,
                        },
                        _ => None,
                    };
                    match digest {
                        None => {
                            self.walk(&mut item, depth + 1)?;
                            items.push(item);
                        }
                        Some(digest) => {
                            let Some(d) = self.note_digest(&digest)? else {
                                continue;
                            };
                            if d.name.is_some() {
                                return Err(SdJwtError::Malformed(
                                    "object disclosure used in array",
                                ));
                            }
                            let mut v = d.value.clone();
                            self.walk(&mut v, depth + 1)?;
                            items.push(v);
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// The Ed25519 key of `cnf.jwk` (OKP, Ed25519), if `cnf` is present.
fn cnf_key(payload: &Map<String, Value>) -> Result<Option<PublicKey>, SdJwtError> {
    let Some(cnf) = payload.get("cnf") else {
        return Ok(None);
    };
    let jwk = cnf
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or(SdJwtError::Unsupported("cnf without jwk"))?;
    if jwk.get("kty").and_then(Value::as_str) != Some("OKP")
        || jwk.get("crv").and_then(Value::as_str) != Some("Ed25519")
    {
        return Err(SdJwtError::Unsupported("cnf jwk is not OKP Ed25519"));
    }
    let x =
        jwk.get("x").and_then(Value::as_str).ok_or(SdJwtError::Unsupported("cnf jwk lacks x"))?;
    let bytes = b64_decode(x, "cnf jwk x is not base64url")?;
    let key: [u8; 32] =
        bytes.try_into().map_err(|_| SdJwtError::Unsupported("cnf jwk x is not 32 bytes"))?;
    Ok(Some(PublicKey(key)))
}

/// The `cnf` claim for holder key `key`: `{"jwk":{"kty":"OKP","crv":"Ed25519","x":...}}`.
pub fn cnf_for(key: &PublicKey) -> Value {
    serde_json::json!({"jwk": {"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(key.0)}})
}

fn numeric_date(map: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, SdJwtError> {
    match map.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or(SdJwtError::Malformed("date claim is not a non-negative integer")),
    }
}

fn random_b64(rng: &mut impl CryptoRngCore) -> String {
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    URL_SAFE_NO_PAD.encode(salt)
}

fn b64_decode(text: &str, what: &'static str) -> Result<Vec<u8>, SdJwtError> {
    if text.len() > MAX_SD_JWT_BYTES {
        return Err(SdJwtError::TooLarge("base64url part"));
    }
    URL_SAFE_NO_PAD.decode(text).map_err(|_| SdJwtError::Malformed(what))
}

fn sign_jwt(
    key: &SecretKey,
    header: &Map<String, Value>,
    payload: &Map<String, Value>,
) -> Result<String, SdJwtError> {
    let h = serde_json::to_string(header).map_err(|_| SdJwtError::Malformed("unencodable"))?;
    let p = serde_json::to_string(payload).map_err(|_| SdJwtError::Malformed("unencodable"))?;
    let mut jwt = URL_SAFE_NO_PAD.encode(h.as_bytes());
    jwt.push('.');
    jwt.push_str(&URL_SAFE_NO_PAD.encode(p.as_bytes()));
    let sig = key.sign_raw(jwt.as_bytes());
    jwt.push('.');
    jwt.push_str(&URL_SAFE_NO_PAD.encode(sig.0));
    Ok(jwt)
}

type JwtParts = (Map<String, Value>, Map<String, Value>, Signature);
type HeaderAndPayload = (Map<String, Value>, Map<String, Value>);

/// Splits a compact JWS into decoded header, payload and signature (nothing verified).
fn split_jwt(jwt: &str) -> Result<JwtParts, SdJwtError> {
    let mut parts = jwt.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SdJwtError::Malformed("JWT is not three parts"));
    };
    let Value::Object(header) = jcs::parse_strict_bytes(&b64_decode(h, "JWT header")?)? else {
        return Err(SdJwtError::Malformed("JWT header is not an object"));
    };
    let Value::Object(payload) = jcs::parse_strict_bytes(&b64_decode(p, "JWT payload")?)? else {
        return Err(SdJwtError::Malformed("JWT payload is not an object"));
    };
    let sig: [u8; SIGNATURE_LEN] = b64_decode(s, "JWT signature")?
        .try_into()
        .map_err(|_| SdJwtError::Malformed("JWT signature is not 64 bytes"))?;
    Ok((header, payload, Signature(sig)))
}

/// Checks `alg`, `typ` and no `crit`, then the signature over the JWS signing input. A bad
/// signature is reported as `BadKeyBindingSignature`; the issuer path maps it.
fn verify_jwt(jwt: &str, key: &PreparedKey, typ: &str) -> Result<HeaderAndPayload, SdJwtError> {
    let (header, payload, sig) = split_jwt(jwt)?;
    if header.get("alg").and_then(Value::as_str) != Some(ALG) {
        return Err(SdJwtError::UnsupportedAlg);
    }
    if header.get("typ").and_then(Value::as_str) != Some(typ) {
        return Err(SdJwtError::WrongType);
    }
    if header.contains_key("crit") {
        return Err(SdJwtError::Unsupported("crit header"));
    }
    let signing_input = jwt
        .rsplit_once('.')
        .map(|(input, _)| input)
        .ok_or(SdJwtError::Malformed("JWT is not three parts"))?;
    key.verify_raw(signing_input.as_bytes(), &sig)
        .map_err(|_| SdJwtError::BadKeyBindingSignature)?;
    Ok((header, payload))
}
