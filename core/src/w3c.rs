//! Full-disclosure W3C VC 2.0 credentials and presentations secured with `eddsa-jcs-2022`, for
//! interoperability with verifiers that do not speak SD-JWT.
//!
//! A certledger W3C credential is a VC 2.0 document whose `credentialSubject` carries every claim
//! of its type plus `id` = the holder's `did:key`; its type id is in `credentialSchema.id`; its
//! `id` is `urn:certledger:credential:<base64url credential id>` (256 random bits, which salts the
//! anchored commitment); the issuer's `did:key` signs it with a Data Integrity proof
//! (`assertionMethod`). A presentation is a VC 2.0 `VerifiablePresentation` holding exactly that
//! one credential, with an `authentication` proof by the holder's `did:key` whose `challenge` is
//! the verifier's nonce and whose `domain` is its audience. No JSON-LD context is ever fetched or
//! processed: JCS makes the signed bytes the JSON itself. Normative text: `specs/credentials.md`.

use serde_json::{json, Map, Value};

use crate::didkey;
use crate::jcs;
use crate::sig::{PublicKey, SecretKey};
use crate::vcdi::{self, ProofOptions};

/// The VC 2.0 base context (a name only: never fetched).
pub const VC_CONTEXT_V2: &str = "https://www.w3.org/ns/credentials/v2";
/// The `credentialSchema.type` naming a certledger credential type.
pub const SCHEMA_TYPE: &str = "CertledgerCredentialType";
/// The `credentialStatus.type` pointing at certledger's ledger status.
pub const STATUS_TYPE: &str = "CertledgerLedgerStatus";
/// Prefix of a credential's `id`.
pub const ID_PREFIX: &str = "urn:certledger:credential:";
/// Longest credential or presentation JSON accepted, in bytes.
pub const MAX_W3C_BYTES: usize = 16 * 1024;

/// Why a W3C credential or presentation was refused or could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum W3cError {
    /// The JSON is malformed or has the wrong shape.
    #[error("W3C credential malformed: {0}")]
    Malformed(&'static str),
    /// The issuer's proof does not verify under the expected key.
    #[error("the issuer's proof is invalid")]
    BadIssuerProof,
    /// The presentation has no holder proof.
    #[error("the presentation has no holder proof")]
    MissingHolderProof,
    /// The holder proof does not verify, or is by another key than the credential subject.
    #[error("the holder proof is invalid")]
    BadHolderProof,
    /// The holder proof's `challenge` is not the verifier's nonce.
    #[error("challenge does not match the nonce")]
    ChallengeMismatch,
    /// The holder proof's `domain` is not the verifier's audience.
    #[error("domain does not match the audience")]
    DomainMismatch,
    /// The holder proof's `created` is too old.
    #[error("the presentation is too old")]
    Stale,
    /// The holder proof's `created` is in the future beyond the skew.
    #[error("the presentation is dated in the future")]
    InFuture,
}

/// What a verified W3C credential gives the pipeline.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedW3c {
    /// The subject's claims (without `id`) plus `vct` (the type id).
    pub claims: Value,
    /// The JCS text of the issuer-signed credential (what the anchor commits to).
    pub committed: String,
    /// The holder key (`credentialSubject.id`).
    pub holder_key: Option<PublicKey>,
    /// `validUntil` in Unix seconds.
    pub exp: Option<u64>,
    /// `validFrom` in Unix seconds.
    pub nbf: Option<u64>,
}

/// Issues a full-disclosure VC. `claims` must already fit the type (see
/// `profiles::CredentialType::check_claims`).
#[allow(clippy::too_many_arguments)]
pub fn issue(
    issuer: &SecretKey,
    type_id: &str,
    claims: &Map<String, Value>,
    holder: &PublicKey,
    chain_id: &str,
    credential_id: &[u8; 32],
    valid_from: u64,
    valid_until: u64,
) -> Result<String, W3cError> {
    use base64::Engine as _;
    let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(credential_id);
    let mut subject = claims.clone();
    subject.insert("id".into(), Value::String(didkey::did_key(holder)));
    let doc = json!({
        "@context": [VC_CONTEXT_V2],
        "id": format!("{ID_PREFIX}{id}"),
        "type": ["VerifiableCredential"],
        "issuer": didkey::did_key(&issuer.public_key()),
        "validFrom": xsd_datetime(valid_from),
        "validUntil": xsd_datetime(valid_until),
        "credentialSchema": {"id": type_id, "type": SCHEMA_TYPE},
        "credentialStatus": {"id": format!("{ID_PREFIX}{id}#status"), "type": STATUS_TYPE,
            "chainId": chain_id},
        "credentialSubject": Value::Object(subject),
    });
    let options = ProofOptions {
        created: Some(xsd_datetime(valid_from)),
        verification_method: didkey::did_key_verification_method(&issuer.public_key()),
        proof_purpose: "assertionMethod".into(),
        challenge: None,
        domain: None,
        expires: None,
    };
    let signed = vcdi::create(&doc, issuer, &options).map_err(|_| W3cError::Malformed("sign"))?;
    jcs::canonicalize(&signed).map_err(|_| W3cError::Malformed("canonicalize"))
}

/// Wraps an issued VC in a presentation with the holder's `authentication` proof for `nonce`
/// and `audience` at `now`.
pub fn present(
    vc_json: &str,
    holder: &SecretKey,
    nonce: &str,
    audience: &str,
    now: u64,
) -> Result<String, W3cError> {
    let vc = parse(vc_json)?;
    let vp = json!({
        "@context": [VC_CONTEXT_V2],
        "type": ["VerifiablePresentation"],
        "holder": didkey::did_key(&holder.public_key()),
        "verifiableCredential": [vc],
    });
    let options = ProofOptions {
        created: Some(xsd_datetime(now)),
        verification_method: didkey::did_key_verification_method(&holder.public_key()),
        proof_purpose: "authentication".into(),
        challenge: Some(nonce.to_owned()),
        domain: Some(audience.to_owned()),
        expires: None,
    };
    let signed = vcdi::create(&vp, holder, &options).map_err(|_| W3cError::Malformed("sign"))?;
    jcs::canonicalize(&signed).map_err(|_| W3cError::Malformed("canonicalize"))
}

/// The verifier's expectations of the holder proof: the same as for an SD-JWT key-binding JWT
/// (`challenge` is checked against `nonce`, `domain` against `aud`, `created` like `iat`).
pub type HolderCheck<'a> = crate::sdjwt::KeyBindingCheck<'a>;

/// Verifies a presentation: the holder proof (fail closed), then the one credential's issuer
/// proof under `issuer_key`.
pub fn verify_presentation(
    vp_json: &str,
    issuer_key: &PublicKey,
    check: HolderCheck<'_>,
) -> Result<VerifiedW3c, W3cError> {
    let vp = parse(vp_json)?;
    if vp.get("proof").is_none() {
        return Err(W3cError::MissingHolderProof);
    }
    let vc = match vp.get("verifiableCredential").and_then(Value::as_array).map(Vec::as_slice) {
        Some([vc]) => vc.clone(),
        _ => return Err(W3cError::Malformed("a presentation must hold exactly one credential")),
    };
    let verified = verify_credential_value(&vc, issuer_key, check.now)?;
    let holder = verified.holder_key.ok_or(W3cError::Malformed("credential has no subject id"))?;
    let proof = vcdi::verify(&vp, &holder, check.now).map_err(|_| W3cError::BadHolderProof)?;
    let config = &proof.proof_config;
    let vm = didkey::did_key_verification_method(&holder);
    if config.get("verificationMethod").and_then(Value::as_str) != Some(vm.as_str())
        || config.get("proofPurpose").and_then(Value::as_str) != Some("authentication")
        || vp.get("holder").and_then(Value::as_str) != Some(didkey::did_key(&holder).as_str())
    {
        return Err(W3cError::BadHolderProof);
    }
    if config.get("challenge").and_then(Value::as_str) != Some(check.nonce) {
        return Err(W3cError::ChallengeMismatch);
    }
    if config.get("domain").and_then(Value::as_str) != Some(check.aud) {
        return Err(W3cError::DomainMismatch);
    }
    let created = config
        .get("created")
        .and_then(Value::as_str)
        .and_then(parse_xsd_datetime)
        .ok_or(W3cError::Malformed("holder proof needs a created time"))?;
    if created > check.now.saturating_add(check.max_future_skew_s) {
        return Err(W3cError::InFuture);
    }
    if check.now > created.saturating_add(check.max_age_s) {
        return Err(W3cError::Stale);
    }
    Ok(verified)
}

/// Verifies an issued credential (no presentation) under `issuer_key` at `now` (a proof
/// `expires` time is enforced): the holder's check.
pub fn verify_credential(
    vc_json: &str,
    issuer_key: &PublicKey,
    now: u64,
) -> Result<VerifiedW3c, W3cError> {
    verify_credential_value(&parse(vc_json)?, issuer_key, now)
}

fn verify_credential_value(
    vc: &Value,
    issuer_key: &PublicKey,
    now: u64,
) -> Result<VerifiedW3c, W3cError> {
    let verified = vcdi::verify(vc, issuer_key, now).map_err(|_| W3cError::BadIssuerProof)?;
    let vm = didkey::did_key_verification_method(issuer_key);
    if verified.proof_config.get("verificationMethod").and_then(Value::as_str) != Some(vm.as_str())
        || verified.proof_config.get("proofPurpose").and_then(Value::as_str)
            != Some("assertionMethod")
        || vc.get("issuer").and_then(Value::as_str) != Some(didkey::did_key(issuer_key).as_str())
    {
        return Err(W3cError::BadIssuerProof);
    }
    let doc = &verified.document;
    let type_id = doc
        .get("credentialSchema")
        .and_then(|s| s.get("id"))
        .and_then(Value::as_str)
        .ok_or(W3cError::Malformed("credentialSchema.id missing"))?;
    let mut subject = doc
        .get("credentialSubject")
        .and_then(Value::as_object)
        .cloned()
        .ok_or(W3cError::Malformed("credentialSubject must be an object"))?;
    let holder_key = match subject.remove("id") {
        Some(Value::String(did)) => Some(
            didkey::public_key_from_did_key(&did)
                .map_err(|_| W3cError::Malformed("credentialSubject.id is not a did:key"))?,
        ),
        Some(_) => return Err(W3cError::Malformed("credentialSubject.id must be a string")),
        None => None,
    };
    subject.insert("vct".into(), Value::String(type_id.to_owned()));
    let time = |name: &'static str| -> Result<Option<u64>, W3cError> {
        match doc.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .and_then(parse_xsd_datetime)
                .map(Some)
                .ok_or(W3cError::Malformed("validFrom/validUntil must be a UTC dateTime")),
        }
    };
    Ok(VerifiedW3c {
        claims: Value::Object(subject),
        committed: jcs::canonicalize(vc).map_err(|_| W3cError::Malformed("canonicalize"))?,
        holder_key,
        exp: time("validUntil")?,
        nbf: time("validFrom")?,
    })
}

fn parse(text: &str) -> Result<Value, W3cError> {
    if text.len() > MAX_W3C_BYTES {
        return Err(W3cError::Malformed("larger than 16 KiB"));
    }
    jcs::parse_strict(text).map_err(|_| W3cError::Malformed("not strict JSON"))
}

/// Unix seconds as an XML Schema UTC dateTime, `YYYY-MM-DDTHH:MM:SSZ`.
/// Times after 9999-12-31T23:59:59Z are written as that instant.
pub fn xsd_datetime(t: u64) -> String {
    let t = t.min(MAX_XSD_TIME);
    let days = t / 86_400;
    let secs = t % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// 9999-12-31T23:59:59Z in Unix seconds.
const MAX_XSD_TIME: u64 = 253_402_300_799;

/// Parses exactly the form [`xsd_datetime`] writes (UTC, seconds, `Z`), years 1970-9999.
pub fn parse_xsd_datetime(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: core::ops::Range<usize>| -> Option<u64> {
        let part = s.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok()).flatten()
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if y < 1970
        || !(1..=12).contains(&m)
        || d < 1
        || d > days_in_month(y, m)
        || hh > 23
        || mm > 59
        || ss > 59
    {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Parses any XML Schema 1.1 `dateTime` lexical form (`YYYY-MM-DDThh:mm:ss`, an optional
/// fraction of a second, an optional zone `Z` or `±hh:mm` up to 14:00; `24:00:00` is the end of
/// the day; a time without a zone is read as UTC) to Unix seconds, a fraction rounded up. `None`
/// when `s` is not such a dateTime, or is before 1970 or after year 9999 (refused as unsupported).
/// Used for Data Integrity proof `created` and `expires` ([`crate::vcdi`]), which other issuers
/// may write in any of these forms.
pub fn parse_datetime(s: &str) -> Option<u64> {
    let head = s.get(..19)?;
    let b = head.as_bytes();
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: core::ops::Range<usize>| -> Option<u64> {
        let part = head.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok()).flatten()
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = s.get(19..)?;
    let mut fraction = false;
    if let Some(after_dot) = rest.strip_prefix('.') {
        let digits = after_dot.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        fraction = after_dot.bytes().take(digits).any(|c| c != b'0');
        rest = after_dot.get(digits..)?;
    }
    let offset_s: i64 = match rest {
        "" | "Z" => 0,
        zone => {
            let z = zone.as_bytes();
            if z.len() != 6 || z[3] != b':' {
                return None;
            }
            let sign = match z[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let part = |r: core::ops::Range<usize>| -> Option<i64> {
                let p = zone.get(r)?;
                p.bytes().all(|c| c.is_ascii_digit()).then(|| p.parse().ok()).flatten()
            };
            let (zh, zm) = (part(1..3)?, part(4..6)?);
            if zm > 59 || zh > 14 || (zh == 14 && zm > 0) {
                return None;
            }
            sign * (zh * 3600 + zm * 60)
        }
    };
    let end_of_day = hh == 24 && mm == 0 && ss == 0 && !fraction;
    if !(1970..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || d < 1
        || d > days_in_month(y, m)
        || (hh > 23 && !end_of_day)
        || mm > 59
        || ss > 59
    {
        return None;
    }
    let local = days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss + u64::from(fraction);
    local.checked_add_signed(-offset_s)
}

fn is_leap(y: u64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (y >= 1970).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let mut days = 0;
    for year in 1970..y {
        days += if is_leap(year) { 366 } else { 365 };
    }
    for month in 1..m {
        days += days_in_month(y, month);
    }
    days + d - 1
}

fn civil_from_days(mut days: u64) -> (u64, u64, u64) {
    let mut y = 1970;
    loop {
        let len = if is_leap(y) { 366 } else { 365 };
        if days < len {
            break;
        }
        days -= len;
        y += 1;
    }
    let mut m = 1;
    loop {
        let len = days_in_month(y, m);
        if days < len {
            break;
        }
        days -= len;
        m += 1;
    }
    (y, m, days + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_round_trip() {
        for t in [0u64, 86_399, 951_782_400, 1_767_225_600, 4_102_444_799] {
            assert_eq!(parse_xsd_datetime(&xsd_datetime(t)), Some(t), "{t}");
        }
        assert_eq!(xsd_datetime(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(xsd_datetime(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(parse_xsd_datetime("2025-02-29T00:00:00Z"), None);
        assert_eq!(parse_xsd_datetime("2026-01-01T00:00:00+08:00"), None);
    }

    #[test]
    fn any_xml_schema_datetime_form_is_read() {
        let t = 1_767_225_600; // 2026-01-01T00:00:00Z
        for (text, want) in [
            ("2026-01-01T00:00:00Z", Some(t)),
            ("2026-01-01T00:00:00", Some(t)),
            ("2026-01-01T08:00:00+08:00", Some(t)),
            ("2025-12-31T23:30:00-00:30", Some(t)),
            ("2026-01-01T00:00:00.000Z", Some(t)),
            ("2025-12-31T23:59:59.25Z", Some(t)),
            ("2025-12-31T24:00:00Z", Some(t)),
            ("2026-02-30T00:00:00Z", None),
            ("2026-01-01T00:00:60Z", None),
            ("2026-01-01T24:00:01Z", None),
            ("2026-01-01T00:00:00.Z", None),
            ("2026-01-01T00:00:00+15:00", None),
            ("2026-01-01T00:00:00+08", None),
            ("2026-01-01 00:00:00Z", None),
            ("2026-1-01T00:00:00Z", None),
            ("1969-12-31T23:59:59Z", None),
            ("not a date", None),
            ("", None),
        ] {
            assert_eq!(parse_datetime(text), want, "{text}");
        }
    }
}
