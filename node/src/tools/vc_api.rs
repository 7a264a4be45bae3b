//! `vc-api`: the W3C VC-API endpoints for `eddsa-jcs-2022`, so that standard conformance suites
//! can run against certledger's Data Integrity code (`specs/node.md`, "VC-API service").
//!
//! `POST /credentials/issue` signs the credential it is sent with the service's issuer key
//! (`did:key`, `assertionMethod`); `POST /credentials/verify` and `POST /presentations/verify`
//! check `eddsa-jcs-2022` proofs whose verification method is a `did:key`. Request and response
//! shapes are those of the VC-API specification. These credentials are **not** anchored on the
//! ledger: a ledger credential is issued with `issue --format w3c`. Every body is bounded
//! ([`MAX_BODY_BYTES`]) and parsed strictly; a refusal is a 400 with a reason in English and
//! Chinese.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use certledger_core::sig::SecretKey;
use certledger_core::vcdi::{self, ProofOptions};
use certledger_core::{didkey, jcs, w3c};
use serde_json::{json, Map, Value};

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The service's router: the three endpoints, issuing with `issuer`.
pub fn router(issuer: SecretKey) -> Router {
    Router::new()
        .route("/credentials/issue", post(issue))
        .route("/credentials/verify", post(verify_credential))
        .route("/presentations/verify", post(verify_presentation))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(std::sync::Arc::new(issuer))
}

/// A refusal: answered as 400 with `{"checks": [], "warnings": [], "errors": [{...}]}`.
#[derive(Debug)]
struct Refusal {
    code: &'static str,
    en: String,
    zh: &'static str,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let error = json!({"type": self.code, "title": self.en, "title_zh": self.zh});
        let body = json!({"checks": [], "warnings": [], "errors": [error]});
        (StatusCode::BAD_REQUEST, Json(body)).into_response()
    }
}

fn refusal(code: &'static str, en: impl Into<String>, zh: &'static str) -> Refusal {
    Refusal { code, en: en.into(), zh }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The body as a strict JSON object (no repeated names, bounded depth).
fn object(body: &str) -> Result<Map<String, Value>, Refusal> {
    match jcs::parse_strict(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(refusal(
            "malformed_request",
            "the body is not a strict JSON object",
            "请求正文不是合法的 JSON 对象",
        )),
    }
}

/// The VC 2.0 data model's basic shape (§4): `@context` a list starting with the v2 context,
/// `type` naming `kind` (`VerifiableCredential` or `VerifiablePresentation`), and for a credential
/// a `credentialSubject`.
fn check_shape(doc: &Map<String, Value>, kind: &str) -> Result<(), Refusal> {
    let context_ok = doc
        .get("@context")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .and_then(Value::as_str)
        == Some(w3c::VC_CONTEXT_V2);
    let type_ok = match doc.get("type") {
        Some(Value::String(t)) => t == kind,
        Some(Value::Array(list)) => list.iter().any(|t| t.as_str() == Some(kind)),
        _ => false,
    };
    let subject_ok = kind != "VerifiableCredential"
        || match doc.get("credentialSubject") {
            Some(Value::Object(o)) => !o.is_empty(),
            Some(Value::Array(list)) => !list.is_empty() && list.iter().all(Value::is_object),
            _ => false,
        };
    if context_ok && type_ok && subject_ok {
        return Ok(());
    }
    Err(refusal(
        "malformed_document",
        format!(
            "not a VC 2.0 document: @context must start with {}, type must name {kind}, and a \
             credential needs a credentialSubject",
            w3c::VC_CONTEXT_V2
        ),
        "不符合 VC 2.0 数据模型（@context、type 或 credentialSubject 有误）",
    ))
}

/// The id of a credential's `issuer` (a string, or an object with `id`).
fn issuer_id(credential: &Map<String, Value>) -> Option<&str> {
    match credential.get("issuer")? {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id")?.as_str(),
        _ => None,
    }
}

async fn issue(
    State(key): State<std::sync::Arc<SecretKey>>,
    body: String,
) -> Result<Response, Refusal> {
    let req = object(&body)?;
    let Some(Value::Object(credential)) = req.get("credential") else {
        return Err(refusal(
            "malformed_request",
            "credential must be an object",
            "credential 必须是对象",
        ));
    };
    check_shape(credential, "VerifiableCredential")?;
    if credential.contains_key("proof") {
        return Err(refusal(
            "malformed_request",
            "the credential already has a proof",
            "该凭证已带有证明",
        ));
    }
    let did = didkey::did_key(&key.public_key());
    if issuer_id(credential) != Some(did.as_str()) {
        return Err(refusal(
            "wrong_issuer",
            format!("the credential's issuer must be this service's {did}"),
            "凭证的签发者必须是本服务的 did:key",
        ));
    }
    let options = ProofOptions {
        created: Some(w3c::xsd_datetime(now())),
        verification_method: didkey::did_key_verification_method(&key.public_key()),
        proof_purpose: "assertionMethod".into(),
        challenge: None,
        domain: None,
        expires: None,
    };
    let vc = vcdi::create(&Value::Object(credential.clone()), &key, &options)
        .map_err(|e| refusal("malformed_request", format!("cannot sign: {e}"), "无法签名"))?;
    Ok((StatusCode::CREATED, Json(json!({ "verifiableCredential": vc }))).into_response())
}

/// Checks one secured document's `eddsa-jcs-2022` proof under its `did:key` verification method
/// with `purpose`; for a credential, the method must belong to its `issuer`.
fn check_proof(doc: &Value, purpose: &str) -> Result<Map<String, Value>, Refusal> {
    let kind = if purpose == "assertionMethod" {
        "VerifiableCredential"
    } else {
        "VerifiablePresentation"
    };
    check_shape(
        doc.as_object()
            .ok_or_else(|| refusal("malformed_document", "not an object", "不是对象"))?,
        kind,
    )?;
    let proof = doc.get("proof").and_then(Value::as_object);
    if proof.and_then(|p| p.get("cryptosuite")).and_then(Value::as_str) != Some(vcdi::CRYPTOSUITE)
        || proof.and_then(|p| p.get("type")).and_then(Value::as_str) != Some(vcdi::PROOF_TYPE)
    {
        return Err(refusal(
            "unsupported_proof",
            "only a DataIntegrityProof with eddsa-jcs-2022 is accepted",
            "仅支持 eddsa-jcs-2022 数据完整性证明",
        ));
    }
    let verified = vcdi::verify_did_key(doc, now()).map_err(|e| {
        refusal("invalid_proof", format!("the proof does not verify: {e}"), "证明核验失败")
    })?;
    let config = verified.proof_config;
    if config.get("proofPurpose").and_then(Value::as_str) != Some(purpose) {
        return Err(refusal(
            "invalid_proof",
            format!("the proof's purpose must be {purpose}"),
            "证明用途不符",
        ));
    }
    if purpose == "assertionMethod" {
        let did = didkey::did_key(&verified.key);
        if doc.as_object().and_then(issuer_id) != Some(did.as_str()) {
            return Err(refusal(
                "invalid_proof",
                "the proof's key is not the credential's issuer",
                "证明密钥不属于凭证签发者",
            ));
        }
    }
    Ok(config)
}

fn verified() -> Response {
    (StatusCode::OK, Json(json!({"checks": ["proof"], "warnings": [], "errors": []})))
        .into_response()
}

async fn verify_credential(body: String) -> Result<Response, Refusal> {
    let req = object(&body)?;
    let Some(vc @ Value::Object(_)) = req.get("verifiableCredential") else {
        return Err(refusal(
            "malformed_request",
            "verifiableCredential must be an object",
            "verifiableCredential 必须是对象",
        ));
    };
    check_proof(vc, "assertionMethod")?;
    Ok(verified())
}

async fn verify_presentation(body: String) -> Result<Response, Refusal> {
    let req = object(&body)?;
    let Some(vp @ Value::Object(_)) = req.get("verifiablePresentation") else {
        return Err(refusal(
            "malformed_request",
            "verifiablePresentation must be an object",
            "verifiablePresentation 必须是对象",
        ));
    };
    let config = check_proof(vp, "authentication")?;
    let options = req.get("options").and_then(Value::as_object);
    for (name, zh) in [("challenge", "challenge 不符"), ("domain", "domain 不符")] {
        if let Some(want) = options.and_then(|o| o.get(name)) {
            if config.get(name) != Some(want) {
                return Err(refusal(
                    "invalid_proof",
                    format!("the proof's {name} does not match"),
                    zh,
                ));
            }
        }
    }
    let credentials = match vp.get("verifiableCredential") {
        None => Vec::new(),
        Some(Value::Array(list)) => list.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        Some(_) => {
            return Err(refusal(
                "malformed_request",
                "verifiableCredential must be an object or an array",
                "verifiableCredential 格式错误",
            ))
        }
    };
    for vc in &credentials {
        check_proof(vc, "assertionMethod")?;
    }
    Ok(verified())
}

/// `vc-api`.
#[derive(clap::Args, Debug)]
pub struct VcApiCmd {
    /// The issuer key file (its did:key signs issued credentials).
    #[arg(long, value_name = "FILE")]
    issuer_key: std::path::PathBuf,
    /// Address to listen on (loopback by default; put TLS in front for anything else).
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: std::net::SocketAddr,
}

/// Runs `vc-api` until interrupted.
pub async fn run(c: VcApiCmd) -> anyhow::Result<()> {
    let key = super::issuer::load_key(&c.issuer_key)?;
    let did = didkey::did_key(&key.public_key());
    let listener = tokio::net::TcpListener::bind(c.listen).await?;
    println!(
        "VC-API (eddsa-jcs-2022) on http://{} as issuer {did}\nVC-API 服务已启动，签发者 {did}",
        listener.local_addr()?
    );
    axum::serve(listener, router(key)).await?;
    Ok(())
}

#[cfg(test)]
mod tests;
