//! Following validator-set changes in the page (`FollowResult` in `web/types.d.ts`): from a
//! followable trust root (the trust root JSON with its `departments`, `specs/verifier.md`) and a
//! validator chain as a node serves it (`GET /v1/validator-chain` answers
//! `{"chain": "<base64url of ValidatorChain bytes>", ...}`), with `certledger_core::lightclient::follow`.
//! A trust root without departments (node keys only) can still confirm a chain with no step
//! (`lightclient::confirm_unchanged`); following a change needs the departments' admin keys.

use base64::Engine as _;
use certledger_core::lightclient::{
    confirm_unchanged, follow, GovernanceTrust, ValidatorChain, MAX_CHAIN_BYTES,
};
use certledger_core::verify::TrustRoot;
use serde::Serialize;

/// The answer of [`follow_json`]. Field names are the JS contract in `types.d.ts`.
#[derive(Serialize, Debug, Default, PartialEq)]
pub struct FollowResult {
    /// `"ok"` or `"error"`.
    pub status: &'static str,
    /// On error: one of [`FOLLOW_ERRORS`].
    pub error_code: Option<&'static str>,
    /// On error: what is wrong, in English.
    pub message_en: Option<String>,
    /// On error: a short Chinese text.
    pub message_zh: Option<String>,
    /// On success: today's trust root JSON (with departments), to load as the trust root.
    pub trust_root: Option<serde_json::Value>,
    /// On success: today's departments.
    pub departments: Vec<DepartmentOut>,
    /// On success: how many validator changes were followed.
    pub changes: Option<usize>,
    /// On success: height of the head checkpoint (how recent the answer is).
    pub head_height: Option<u64>,
    /// On success: time of the head checkpoint, Unix seconds.
    pub head_time: Option<u64>,
}

/// A department of the followed set, for display.
#[derive(Serialize, Debug, PartialEq)]
pub struct DepartmentOut {
    /// The department id (its checkpoint key name).
    pub id: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
}

/// The error codes of [`FollowResult`], with a short Chinese text.
pub const FOLLOW_ERRORS: &[(&str, &str)] = &[
    ("malformed_trust_root", "信任根无法读取或不安全。"),
    ("not_followable", "信任根未列出各部门的管理密钥，无法跟随部门变更。"),
    ("malformed_chain", "节点提供的部门变更链无法读取。"),
    ("chain_refused", "部门变更链未通过核验，信任根保持不变。"),
];

/// Longest chain text accepted: the base64url of [`MAX_CHAIN_BYTES`].
pub const MAX_CHAIN_TEXT: usize = MAX_CHAIN_BYTES.div_ceil(3) * 4;

fn error(code: &'static str, message_en: String) -> FollowResult {
    let zh =
        FOLLOW_ERRORS.iter().find(|(c, _)| *c == code).map_or("无法跟随。", |(_, zh)| *zh);
    FollowResult {
        status: "error",
        error_code: Some(code),
        message_en: Some(message_en),
        message_zh: Some(zh.to_owned()),
        ..FollowResult::default()
    }
}

/// Follows `chain_b64url` (unpadded base64url of `ValidatorChain::to_bytes()`; surrounding
/// whitespace ignored) from the followable trust root `trust_root_json`; answers a
/// `FollowResult` as JSON. Never fails: problems are `status: "error"` with a code.
pub fn follow_json(trust_root_json: &str, chain_b64url: &str) -> String {
    serde_json::to_string(&follow_inputs(trust_root_json, chain_b64url)).unwrap_or_default()
}

fn follow_inputs(trust_root_json: &str, chain_b64url: &str) -> FollowResult {
    let (root, departments) = match TrustRoot::from_json_with_departments(trust_root_json) {
        Ok(parsed) => parsed,
        Err(e) => return error("malformed_trust_root", e.to_string()),
    };
    let text = chain_b64url.trim_ascii();
    if text.len() > MAX_CHAIN_TEXT {
        return error("malformed_chain", "the validator chain is too large".to_owned());
    }
    let bytes = match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text) {
        Ok(bytes) => bytes,
        Err(_) => {
            return error("malformed_chain", "the validator chain is not base64url".to_owned())
        }
    };
    let chain = match ValidatorChain::from_bytes_checked(&bytes) {
        Ok(chain) => chain,
        Err(e) => {
            return error("malformed_chain", format!("the validator chain is malformed: {e}"))
        }
    };
    let followed = if departments.is_some() {
        let trust = match GovernanceTrust::from_trust_root_json(trust_root_json) {
            Ok(trust) => trust,
            Err(e) => return error("not_followable", e.to_string()),
        };
        follow(&trust, &chain)
    } else if chain.steps.is_empty() {
        // Node keys alone can confirm that nothing changed (and learn the admin keys).
        confirm_unchanged(&root, &chain)
    } else {
        return error(
            "not_followable",
            "the trust root does not list its departments' admin keys".to_owned(),
        );
    };
    let followed = match followed {
        Ok(followed) => followed,
        Err(e) => return error("chain_refused", format!("the validator chain is refused: {e}")),
    };
    FollowResult {
        status: "ok",
        trust_root: serde_json::from_str(&followed.trust.to_trust_root_json()).ok(),
        departments: followed
            .trust
            .departments
            .iter()
            .map(|d| DepartmentOut {
                id: d.id.clone(),
                name_zh: d.name_zh.clone(),
                name_en: d.name_en.clone(),
            })
            .collect(),
        changes: Some(chain.steps.len()),
        head_height: Some(followed.head.height),
        head_time: Some(followed.head.time),
        ..FollowResult::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use certledger_core::codec::Encode;
    use certledger_core::testkit;
    use serde_json::Value;

    fn run(root: &str, chain: &str) -> Value {
        serde_json::from_str(&follow_json(root, chain)).unwrap()
    }

    #[test]
    fn follows_a_chain_and_the_result_verifies_the_later_bundle() {
        let case = testkit::validator_change_case("wasm chain").unwrap();
        let genesis = GovernanceTrust::from_genesis(&case.genesis);
        let chain = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(case.chain.to_bytes());
        let out = run(&genesis.to_trust_root_json(), &format!(" {chain}\n"));
        assert_eq!(out["status"], "ok", "{out}");
        let ids: Vec<&str> = out["departments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["education", "health", "market-regulation", "public-security"]);
        assert_eq!(out["changes"], 1);
        assert_eq!(out["head_height"], 6);
        let root = out["trust_root"].to_string();
        let policy = serde_json::to_string(&case.policy).unwrap();
        let verdict: Value = serde_json::from_str(&crate::verdict::verify_bundle_json(
            &case.bundle_text,
            &root,
            &policy,
            case.now as f64,
        ))
        .unwrap();
        assert_eq!(verdict["status"], "valid", "{verdict}");
        // The genesis root itself refuses the bundle.
        let verdict: Value = serde_json::from_str(&crate::verdict::verify_bundle_json(
            &case.bundle_text,
            &genesis.to_trust_root_json(),
            &policy,
            case.now as f64,
        ))
        .unwrap();
        assert_eq!(verdict["reason_code"], "quorum_not_met");
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        let case = testkit::validator_change_case("wasm chain").unwrap();
        let genesis = GovernanceTrust::from_genesis(&case.genesis);
        let bytes = case.chain.to_bytes();
        let chain = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
        let code = |root: &str, chain: &str| {
            let out = run(root, chain);
            assert_eq!(out["status"], "error", "{out}");
            assert!(!out["message_zh"].as_str().unwrap().is_empty());
            assert_eq!(out["trust_root"], Value::Null);
            out["error_code"].as_str().unwrap().to_owned()
        };
        let followable = genesis.to_trust_root_json();
        assert_eq!(code("{", &chain), "malformed_trust_root");
        assert_eq!(code(&genesis.to_trust_root().to_json(), &chain), "not_followable");
        assert_eq!(code(&followable, "not base64!"), "malformed_chain");
        assert_eq!(code(&followable, &"A".repeat(MAX_CHAIN_TEXT + 4)), "malformed_chain");
        assert_eq!(code(&followable, &chain[..chain.len() - 40]), "malformed_chain");
        // A chain from another ledger's genesis (same shape, other keys) is refused.
        let other = testkit::validator_change_case("another ledger").unwrap();
        let other_root = GovernanceTrust::from_genesis(&other.genesis).to_trust_root_json();
        assert_eq!(code(&other_root, &chain), "chain_refused");
        // A zero-step chain is confirmed from node keys alone and yields a followable root.
        let s =
            testkit::Scenario::new("wasm unchanged", "cn.gov.unchanged", 1_767_225_600).unwrap();
        let cp = s.checkpoint_by(&["education", "market-regulation", "public-security"]).unwrap();
        let empty =
            certledger_core::lightclient::build_chain(&s.genesis, &s.ledger, &[], &[cp]).unwrap();
        let empty = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(empty.to_bytes());
        let out = run(&TrustRoot::from_genesis(&s.genesis).to_json(), &empty);
        assert_eq!(out["status"], "ok", "{out}");
        assert_eq!(out["changes"], 0);
        let again = GovernanceTrust::from_genesis(&s.genesis).to_trust_root_json();
        assert_eq!(out["trust_root"], serde_json::from_str::<Value>(&again).unwrap());
        // Following from the already-followed set is refused (its first step is the founders').
        let out = run(&followable, &chain);
        assert_eq!(code(&out["trust_root"].to_string(), &chain), "chain_refused");
    }
}
