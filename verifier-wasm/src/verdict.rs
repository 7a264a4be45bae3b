//! The structured result the page shows (`VerifyResult` in `web/types.d.ts`): core's verdict,
//! converted by hand, with reasons in English and Chinese.
//!
//! Bundles are read as `certledger_core::bundle::LinkedBundle` and decided with
//! `verify::verify_linked` (or `Verifier::verify_linked`): a plain bundle gives exactly the plain
//! verdict, and one with the identity extension (`specs/identity.md`) adds the wallet's
//! per-verifier pseudonym and the credentials presented together with the main one.

use certledger_core::bundle::LinkedBundle;
use certledger_core::evidence;
use certledger_core::verify::{
    self, Accepted, IssuedBy, ListVerifier, Policy, TrustList, Verdict, VerifyError,
};
use serde::Serialize;

/// The verdict as the page sees it. Field names are the JS contract in `types.d.ts`.
#[derive(Serialize, Debug, Default, PartialEq)]
pub struct VerifyResult {
    /// `"valid"`, `"invalid"` (decided: do not accept) or `"error"` (could not decide).
    pub status: &'static str,
    /// A reason code of `specs/bundle.md` or an input error code of [`INPUT_ERRORS`]; `None`
    /// when valid.
    pub reason_code: Option<&'static str>,
    /// The reason in English.
    pub reason_en: Option<String>,
    /// The reason in Chinese.
    pub reason_zh: Option<String>,
    /// The credential type, when valid.
    pub credential_type: Option<TypeOut>,
    /// The issuing department id, when valid.
    pub issuer_department: Option<String>,
    /// The issuing ledger and department with their names, when valid (`specs/trust-list.md`).
    pub issued_by: Option<IssuedBy>,
    /// The disclosed claims, when valid.
    pub claims: Vec<ClaimOut>,
    /// Unix seconds the issuance was anchored at, when valid.
    pub anchored_at: Option<u64>,
    /// Height of the checkpoint the status is proven as of, when valid.
    pub checkpoint_height: Option<u64>,
    /// Time of that checkpoint, Unix seconds, when valid.
    pub checkpoint_time: Option<u64>,
    /// Credential expiry, Unix seconds, when valid and the credential has one.
    pub expires_at: Option<u64>,
    /// The wallet's pseudonym for this verifier (unpadded base64url of an Ed25519 public key),
    /// when valid and the bundle carried a pseudonym proof: the verifier's account key for the
    /// citizen, the same on every visit and unlinkable to other verifiers' (`specs/identity.md`).
    pub pseudonym: Option<String>,
    /// Whether this credential was proven to have the main credential's holder: always `false`
    /// here (this is the main credential), `true` in each of `linked_credentials`.
    pub linked: bool,
    /// The credentials presented together with the main one, each proven to have the same
    /// holder, in bundle order (position 2 onwards), when valid.
    pub linked_credentials: Vec<LinkedOut>,
}

/// A credential presented together with the main one (`LinkedCredential` in `types.d.ts`).
#[derive(Serialize, Debug, PartialEq)]
pub struct LinkedOut {
    /// Always `true`: the link (or the shared holder key) was verified ("same holder: yes").
    pub linked: bool,
    /// The credential type.
    pub credential_type: TypeOut,
    /// The issuing department id.
    pub issuer_department: String,
    /// The issuing ledger and department with their names.
    pub issued_by: Option<IssuedBy>,
    /// The disclosed claims.
    pub claims: Vec<ClaimOut>,
    /// Unix seconds the issuance was anchored at.
    pub anchored_at: u64,
    /// Height of the checkpoint its status is proven as of.
    pub checkpoint_height: u64,
    /// Time of that checkpoint, Unix seconds.
    pub checkpoint_time: u64,
    /// Credential expiry, Unix seconds, when it has one.
    pub expires_at: Option<u64>,
}

/// A credential type with its names.
#[derive(Serialize, Debug, PartialEq)]
pub struct TypeOut {
    /// The `vct`.
    pub id: String,
    /// English name.
    pub name_en: String,
    /// Chinese name.
    pub name_zh: String,
}

/// One disclosed claim with its labels.
#[derive(Serialize, Debug, PartialEq)]
pub struct ClaimOut {
    /// Claim name.
    pub name: String,
    /// Claim value as disclosed (string, number or boolean).
    pub value: serde_json::Value,
    /// English label.
    pub label_en: String,
    /// Chinese label.
    pub label_zh: String,
}

/// The codes of `status: "error"` results (the input could not be decided on), with a short
/// Chinese text. The English text is the core error's message. Verdict reasons (`invalid`) come
/// from `certledger_core::verify::Invalid` in both languages.
pub const INPUT_ERRORS: &[(&str, &str)] = &[
    ("malformed_bundle", "无法读取该凭证包，请让市民重新出示。"),
    ("malformed_trust_root", "信任根缺失、无法读取或不安全。"),
    ("malformed_policy", "核验设置无法读取，请重新生成核验请求。"),
    ("bad_time", "设备时间无效。"),
];

fn error_result(code: &'static str, reason_en: String) -> VerifyResult {
    let zh = INPUT_ERRORS.iter().find(|(c, _)| *c == code).map_or("无法核验。", |(_, zh)| *zh);
    VerifyResult {
        status: "error",
        reason_code: Some(code),
        reason_en: Some(reason_en),
        reason_zh: Some(zh.to_owned()),
        ..VerifyResult::default()
    }
}

/// Verifies a bundle (`CLB1.` text, plain or with the identity extension) against a trust root
/// and a policy (JSON forms of `certledger_core::verify::{TrustRoot, Policy}`) at `now_s` with
/// `certledger_core::verify::verify_linked` (through a `Verifier` without a cache), and answers a `VerifyResult` as JSON.
pub fn verify_bundle_json(
    bundle_text: &str,
    trust_root_json: &str,
    policy_json: &str,
    now_s: f64,
) -> String {
    let result = verify_inputs(bundle_text, trust_root_json, policy_json, now_s);
    serde_json::to_string(&result).unwrap_or_default()
}

fn verify_inputs(
    bundle_text: &str,
    trust_root_json: &str,
    policy_json: &str,
    now_s: f64,
) -> VerifyResult {
    let bundle = match LinkedBundle::from_text(bundle_text.trim_ascii()) {
        Ok(bundle) => bundle,
        Err(e) => return error_result("malformed_bundle", e.to_string()),
    };
    // A trust list, one signed ledger root or a plain trust root (`specs/trust-list.md`). The
    // list verifier decides exactly as `TrustList::verify_linked` does, and keeps one copy of the
    // decision code in the module for both exports (module size).
    let verifier = TrustList::from_json(trust_root_json)
        .map_err(VerifyError::from)
        .and_then(|list| ListVerifier::new(list, Policy::new("", "")));
    let mut verifier = match verifier {
        Ok(v) => v,
        Err(e) => return error_result("malformed_trust_root", e.to_string()),
    };
    let policy = match Policy::from_json(policy_json) {
        Ok(policy) => policy,
        Err(e) => return error_result("malformed_policy", e.to_string()),
    };
    let Some(now) = unix_seconds(now_s) else {
        return error_result("bad_time", "the device clock gives an invalid time".to_owned());
    };
    verifier.set_policy(policy);
    to_result(verifier.verify_linked(&bundle, now))
}

/// The trust list to load in place of `held_json` when the counter loads `offered_json`
/// (`TrustList::successor`): `{"status":"ok","ledgers":N}`, or `{"status":"error","reason_code",
/// "reason_en","reason_zh"}` when a listed ledger would be rolled back or replaced by a root its
/// held departments did not sign, or the offered file is unusable. Either side may be a plain
/// trust root.
pub fn next_trust_json(held_json: &str, offered_json: &str) -> String {
    // An unusable held file protects nothing: the offered one is judged on its own.
    let held = TrustList::from_json(held_json).unwrap_or_default();
    let decided = TrustList::from_json(offered_json).and_then(|offered| held.successor(&offered));
    let value = match decided {
        Ok(next) => serde_json::json!({ "status": "ok", "ledgers": next.len() }),
        Err(e) => serde_json::json!({
            "status": "error", "reason_code": e.code(), "reason_en": e.to_string(),
            "reason_zh": e.message_zh(),
        }),
    };
    value.to_string()
}

/// `now_s` as whole Unix seconds, if it is a plausible time.
fn unix_seconds(now_s: f64) -> Option<u64> {
    // NaN and infinities fall outside the range too; in range, the cast is exact after floor.
    (0.0..=1.0e12).contains(&now_s).then(|| now_s.floor() as u64)
}

/// A [`verify::Verifier`] behind the page's `Verifier` class: one trust root, a cache of the
/// checkpoints it has accepted, and answers identical to [`verify_bundle_json`]'s for the same
/// inputs (the policy is given per call, as each request has its own challenge), with one
/// exception: a bundle whose checkpoint conflicts with one this verifier accepted before (same
/// log size, another root, both quorum-signed: `specs/evidence.md`) is refused as
/// `conflicting_checkpoints`.
#[derive(Debug)]
pub struct CachedVerifier {
    inner: ListVerifier,
    /// Checkpoint notes of accepted bundles, newest last (at most [`SEEN_CHECKPOINTS`]).
    seen: Vec<String>,
}

/// Most accepted checkpoint notes a [`CachedVerifier`] keeps to compare new ones against.
pub const SEEN_CHECKPOINTS: usize = 64;

impl CachedVerifier {
    /// A verifier for the trust root JSON; the error is the reason it is unusable.
    pub fn new(trust_root_json: &str) -> Result<Self, VerifyError> {
        let list = TrustList::from_json(trust_root_json)?;
        // A placeholder until the first call sets the request's policy.
        let inner = ListVerifier::new(list, Policy::new("", ""))?;
        Ok(Self { inner, seen: Vec::new() })
    }

    /// [`verify_bundle_json`] with this verifier's trust root, through its checkpoint cache.
    pub fn verify_json(&mut self, bundle_text: &str, policy_json: &str, now_s: f64) -> String {
        serde_json::to_string(&self.verify_inputs(bundle_text, policy_json, now_s))
            .unwrap_or_default()
    }

    /// The cache's counters as JSON (`CacheStats` in `types.d.ts`).
    pub fn cache_stats_json(&self) -> String {
        serde_json::to_string(&self.inner.cache_stats()).unwrap_or_default()
    }

    /// The trust in use as JSON: the plain trust root (without departments) of a list of one
    /// plain root, else the trust list of the signed ledger roots.
    pub fn trust_root_json(&self) -> String {
        let list = self.inner.list();
        match list.ledgers().next() {
            Some(only) if list.len() == 1 && only.signed.is_none() => only.root.to_json(),
            _ => list.to_json(),
        }
    }

    /// The listed ledgers for display (`TrustLedger[]` in `types.d.ts`).
    pub fn ledgers_json(&self) -> String {
        let ledgers: Vec<serde_json::Value> = self
            .inner
            .list()
            .ledgers()
            .map(|l| {
                serde_json::json!({
                    "chain_id": l.root.chain_id,
                    "name_zh": l.name_zh,
                    "name_en": l.name_en,
                    "signed": l.signed.is_some(),
                    "sequence": l.sequence(),
                    "fingerprint": l.signed.as_ref().map(|s| s.fingerprint()),
                    "keys": l.root.keys.len(),
                    "threshold": l.root.threshold,
                })
            })
            .collect();
        serde_json::to_string(&ledgers).unwrap_or_else(|_| "[]".to_owned())
    }

    fn verify_inputs(&mut self, bundle_text: &str, policy_json: &str, now_s: f64) -> VerifyResult {
        // The same checks in the same order as `verify_inputs` (the trust root was checked when
        // this verifier was made).
        let bundle = match LinkedBundle::from_text(bundle_text.trim_ascii()) {
            Ok(bundle) => bundle,
            Err(e) => return error_result("malformed_bundle", e.to_string()),
        };
        let policy = match Policy::from_json(policy_json) {
            Ok(policy) => policy,
            Err(e) => return error_result("malformed_policy", e.to_string()),
        };
        let Some(now) = unix_seconds(now_s) else {
            return error_result("bad_time", "the device clock gives an invalid time".to_owned());
        };
        let notes: Vec<&String> = std::iter::once(&bundle.main.proofs.checkpoint)
            .chain(bundle.linked.iter().map(|l| &l.proofs.checkpoint))
            .collect();
        if let Some(conflict) = self.conflict_with_seen(&notes) {
            return VerifyResult {
                status: "invalid",
                reason_code: Some("conflicting_checkpoints"),
                reason_en: Some(conflict.text_en()),
                reason_zh: Some(conflict.text_zh()),
                ..VerifyResult::default()
            };
        }
        self.inner.set_policy(policy);
        let decided = self.inner.verify_linked(&bundle, now);
        if matches!(decided, Ok(Verdict::Valid(_))) {
            for note in notes {
                if !self.seen.contains(note) {
                    if self.seen.len() >= SEEN_CHECKPOINTS {
                        self.seen.remove(0);
                    }
                    self.seen.push(note.clone());
                }
            }
        }
        to_result(decided)
    }

    /// The first conflict between one of `notes` and an accepted checkpoint, if any.
    fn conflict_with_seen(&self, notes: &[&String]) -> Option<evidence::Conflict> {
        notes.iter().find_map(|note| {
            // Under the quorum of the note's own ledger (a note of an unlisted ledger is refused
            // by the verdict anyway).
            let listed = self.inner.list().ledger_of_checkpoint(note).ok()??;
            let quorum = listed.root.quorum();
            self.seen
                .iter()
                .find_map(|old| evidence::compare_checkpoints(old, note, &quorum, None).ok()?.err())
        })
    }
}

fn to_result(decided: Result<Verdict, VerifyError>) -> VerifyResult {
    match decided {
        Ok(Verdict::Valid(accepted)) => valid_result(*accepted),
        Ok(Verdict::Invalid(invalid)) => VerifyResult {
            status: "invalid",
            reason_code: Some(invalid.code()),
            reason_en: Some(invalid.to_string()),
            reason_zh: Some(invalid.message_zh()),
            ..VerifyResult::default()
        },
        Err(e) => {
            let code = match e {
                VerifyError::TrustRoot(_) => "malformed_trust_root",
                VerifyError::Policy(_) => "malformed_policy",
                _ => "malformed_bundle",
            };
            error_result(code, e.to_string())
        }
    }
}

fn valid_result(a: Accepted) -> VerifyResult {
    VerifyResult {
        status: "valid",
        credential_type: Some(type_out(&a)),
        issuer_department: Some(a.issuer_department),
        issued_by: a.issued_by,
        claims: claims_out(a.claims),
        anchored_at: Some(a.anchored_time),
        checkpoint_height: Some(a.checkpoint_height),
        checkpoint_time: Some(a.checkpoint_time),
        expires_at: a.expires_at,
        pseudonym: a.pseudonym,
        linked: a.linked,
        linked_credentials: a.linked_credentials.into_iter().map(linked_out).collect(),
        ..VerifyResult::default()
    }
}

fn linked_out(a: Accepted) -> LinkedOut {
    LinkedOut {
        linked: a.linked,
        credential_type: type_out(&a),
        issuer_department: a.issuer_department,
        issued_by: a.issued_by,
        claims: claims_out(a.claims),
        anchored_at: a.anchored_time,
        checkpoint_height: a.checkpoint_height,
        checkpoint_time: a.checkpoint_time,
        expires_at: a.expires_at,
    }
}

fn type_out(a: &Accepted) -> TypeOut {
    TypeOut {
        id: a.credential_type.clone(),
        name_en: a.type_name_en.clone(),
        name_zh: a.type_name_zh.clone(),
    }
}

fn claims_out(claims: Vec<verify::DisclosedClaim>) -> Vec<ClaimOut> {
    claims
        .into_iter()
        .map(|c| ClaimOut {
            name: c.name,
            value: c.value,
            label_en: c.label_en,
            label_zh: c.label_zh,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use certledger_core::verify::TrustRoot;
    use serde_json::Value;

    fn run(b: &str, t: &str, p: &str, now: f64) -> Value {
        serde_json::from_str(&verify_bundle_json(b, t, p, now)).unwrap()
    }

    #[test]
    fn a_trust_list_names_the_ledger_and_department_of_each_bundle() {
        let v: Value =
            serde_json::from_str(include_str!("../../specs/vectors/trust-list.json")).unwrap();
        let list = v["trust_list"].to_string();
        let mut cached = CachedVerifier::new(&list).unwrap();
        let ledgers: Value = serde_json::from_str(&cached.ledgers_json()).unwrap();
        assert_eq!(ledgers[0]["name_en"], "Shanghai");
        assert_eq!(ledgers[1]["name_zh"], "浙江省");
        assert_eq!(ledgers[1]["fingerprint"].as_str().map(str::len), Some(16));
        for c in v["bundles"].as_array().unwrap() {
            let (b, p, now) = (
                c["bundle"].as_str().unwrap(),
                c["policy"].to_string(),
                c["now"].as_f64().unwrap(),
            );
            let plain = run(b, &list, &p, now);
            let through_cache: Value =
                serde_json::from_str(&cached.verify_json(b, &p, now)).unwrap();
            assert_eq!(plain, through_cache, "{}", c["name"]);
            if c["expect"] == "valid" {
                assert_eq!(plain["status"], "valid");
                assert_eq!(plain["issued_by"]["ledger_en"], c["ledger_en"]);
                assert_eq!(plain["issued_by"]["department_zh"], c["department_zh"]);
            } else {
                assert_eq!(plain["reason_code"], c["expect"]);
            }
        }
        // Loading the list again is fine; an older Shanghai root after a newer one is a rollback.
        let ok: Value = serde_json::from_str(&next_trust_json(&list, &list)).unwrap();
        assert_eq!(ok["status"], "ok");
        let newer = &v["updates"][0];
        assert_eq!(newer["name"], "newer_sequence");
        let (old, new) = (newer["held"].as_str().unwrap(), newer["offered"].as_str().unwrap());
        let back: Value = serde_json::from_str(&next_trust_json(new, old)).unwrap();
        assert_eq!(
            (back["status"].as_str(), back["reason_code"].as_str()),
            (Some("error"), Some("rollback"))
        );
        assert!(back["reason_zh"].as_str().unwrap().contains("回退"));
        // A root altered after signing: the whole list is unusable, never a pass.
        let mut bad = v["trust_list"].clone();
        bad["ledgers"][0]["name_en"] = Value::from("Shanghai (forged)");
        assert!(CachedVerifier::new(&bad.to_string()).is_err());
        let c = &v["bundles"][0];
        let r = run(c["bundle"].as_str().unwrap(), &bad.to_string(), &c["policy"].to_string(), 0.0);
        assert_eq!(r["reason_code"], "malformed_trust_root");
    }

    /// Every case of the project's bundle vectors (`specs/vectors/bundles.json`, generated by
    /// core) gives its expected outcome through the JS-facing function.
    #[test]
    fn bundle_vectors_give_their_expected_outcomes() {
        let vectors: Value =
            serde_json::from_str(include_str!("../../specs/vectors/bundles.json")).unwrap();
        let trust_root = vectors["trust_root"].to_string();
        let cases = vectors["cases"].as_array().unwrap();
        assert!(cases.len() >= 20, "only {} cases", cases.len());
        let mut valid = 0;
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let expect = case["expect"].as_str().unwrap();
            let now = case["now"].as_u64().unwrap() as f64;
            let out = run(
                case["bundle"].as_str().unwrap(),
                &trust_root,
                &case["policy"].to_string(),
                now,
            );
            if expect == "valid" {
                valid += 1;
                assert_eq!(out["status"], "valid", "{name}: {out}");
                assert_eq!(out["reason_code"], Value::Null, "{name}");
                let claims = out["claims"].as_array().unwrap();
                assert!(!claims.is_empty(), "{name}: no claims");
                assert!(claims
                    .iter()
                    .all(|c| c["label_zh"].is_string() && c["label_en"].is_string()));
                assert!(out["credential_type"]["name_zh"].is_string(), "{name}");
            } else {
                assert_eq!(out["status"], "invalid", "{name}: {out}");
                assert_eq!(out["reason_code"], expect, "{name}");
                assert!(!out["reason_zh"].as_str().unwrap().is_empty(), "{name}");
                assert!(!out["reason_en"].as_str().unwrap().is_empty(), "{name}");
                assert!(out["claims"].as_array().unwrap().is_empty(), "{name}: claims leaked");
            }
        }
        assert!(valid >= 1);
    }

    /// The cached verifier answers exactly what `verify_bundle_json` answers, for every vector,
    /// the malformed inputs, and again once its cache is warm.
    #[test]
    fn cached_verifier_answers_like_verify_bundle() {
        let vectors: Value =
            serde_json::from_str(include_str!("../../specs/vectors/bundles.json")).unwrap();
        let root = vectors["trust_root"].to_string();
        let mut verifier = CachedVerifier::new(&root).unwrap();
        let cases = vectors["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 26);
        let good = &cases[0];
        let mut inputs: Vec<(String, String, f64)> = cases
            .iter()
            .map(|c| {
                let bundle = c["bundle"].as_str().unwrap().to_owned();
                (bundle, c["policy"].to_string(), c["now"].as_u64().unwrap() as f64)
            })
            .collect();
        let (bundle, policy) = (good["bundle"].as_str().unwrap(), good["policy"].to_string());
        let now = good["now"].as_u64().unwrap() as f64;
        inputs.push(("hello".into(), policy.clone(), now));
        inputs.push((bundle[..bundle.len() - 8].into(), policy.clone(), now));
        inputs.push((bundle.into(), "[".into(), now));
        inputs.push((bundle.into(), policy.clone(), f64::NAN));
        for round in 0..2 {
            for (b, p, now) in &inputs {
                let cold = verify_bundle_json(b, &root, p, *now);
                assert_eq!(verifier.verify_json(b, p, *now), cold, "round {round}");
            }
        }
        let stats: Value = serde_json::from_str(&verifier.cache_stats_json()).unwrap();
        assert!(stats["hits"].as_u64().unwrap() > 0, "{stats}");
        assert_eq!(
            TrustRoot::from_json(&verifier.trust_root_json()).unwrap(),
            TrustRoot::from_json(&root).unwrap()
        );
        let mut weak: Value = vectors["trust_root"].clone();
        weak["threshold"] = 1.into();
        assert!(CachedVerifier::new(&weak.to_string()).is_err());
        assert!(CachedVerifier::new("{").is_err());
    }

    /// A bundle whose checkpoint forks from one the page accepted before (same log size, another
    /// root, both signed by a quorum) is refused as `conflicting_checkpoints`, in zh and en; the
    /// page without that memory (`verify_bundle_json`) cannot see the fork.
    #[test]
    fn cached_verifier_refuses_a_forked_checkpoint() {
        use certledger_core::note::{LedgerCheckpoint, Note, NoteSigner};
        use certledger_core::testkit::{example_claims, Scenario};
        let mut s = Scenario::new("wasm fork", "cn.gov.fork", 1_767_225_600).unwrap();
        let ty = &certledger_core::profiles::DIPLOMA;
        let issuer = s.register_issuer(ty.issuing_department, &[ty.id], 86_400).unwrap();
        let holder = certledger_core::sig::SecretKey::from_seed(&[5; 32]);
        let issued = s.issue(&issuer, ty, &example_claims(ty), &holder.public_key()).unwrap();
        let cp_text = s.checkpoint(3).unwrap();
        let now = s.ledger.time();
        let bundle = s
            .bundle(&issued, &holder, &["name"], "nonce-0123456789abcdef", "counter", now, &cp_text)
            .unwrap();
        let policy =
            serde_json::to_string(&Policy::new("nonce-0123456789abcdef", "counter")).unwrap();
        let root = s.trust_root().to_json();
        let mut verifier = CachedVerifier::new(&root).unwrap();
        let first: Value =
            serde_json::from_str(&verifier.verify_json(&bundle.to_text(), &policy, now as f64))
                .unwrap();
        assert_eq!(first["status"], "valid", "{first}");

        let note = Note::parse(&cp_text).unwrap();
        let mut cp = LedgerCheckpoint::parse_body(note.text()).unwrap();
        cp.root = [0xAA; 32];
        let trust = s.trust_root();
        let mut forked = Note::new(&cp.to_body()).unwrap();
        for k in trust.keys.iter().take(trust.threshold) {
            let key = s.department(&k.name).unwrap().node.clone();
            forked.sign(&NoteSigner::new(&k.name, key).unwrap()).unwrap();
        }
        let mut fork = bundle.clone();
        fork.proofs.checkpoint = forked.to_text();
        let out: Value =
            serde_json::from_str(&verifier.verify_json(&fork.to_text(), &policy, now as f64))
                .unwrap();
        assert_eq!(out["status"], "invalid", "{out}");
        assert_eq!(out["reason_code"], "conflicting_checkpoints", "{out}");
        assert!(out["reason_zh"].as_str().unwrap().contains("账本已分叉"), "{out}");
        assert!(out["reason_en"].as_str().unwrap().contains("forked"), "{out}");
        let cold = run(&fork.to_text(), &root, &policy, now as f64);
        assert_ne!(cold["reason_code"], "conflicting_checkpoints", "{cold}");
        // The honest checkpoint is still accepted.
        let again: Value =
            serde_json::from_str(&verifier.verify_json(&bundle.to_text(), &policy, now as f64))
                .unwrap();
        assert_eq!(again["status"], "valid", "{again}");
    }

    /// Every identity-extension vector (`specs/vectors/identity-bundles.json`) gives its expected
    /// outcome through the JS-facing function and the cached verifier (identical answers, cold
    /// and warm); valid ones carry the bundle's pseudonym and each linked credential, named.
    #[test]
    fn identity_vectors_give_their_expected_outcomes() {
        use base64::Engine as _;
        let vectors: Value =
            serde_json::from_str(include_str!("../../specs/vectors/identity-bundles.json"))
                .unwrap();
        let root = vectors["trust_root"].to_string();
        let cases = vectors["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 18);
        let mut verifier = CachedVerifier::new(&root).unwrap();
        let (mut valid, mut with_pseudonym, mut with_linked) = (0, 0, 0);
        for round in 0..2 {
            for case in cases {
                let name = case["name"].as_str().unwrap();
                let expect = case["expect"].as_str().unwrap();
                let text = case["bundle"].as_str().unwrap();
                let policy = case["policy"].to_string();
                let now = case["now"].as_u64().unwrap() as f64;
                let cold = verify_bundle_json(text, &root, &policy, now);
                assert_eq!(verifier.verify_json(text, &policy, now), cold, "{name}, round {round}");
                let out: Value = serde_json::from_str(&cold).unwrap();
                assert!(!cold.contains("holder_key"), "{name}: {cold}");
                if expect != "valid" {
                    assert_eq!(out["status"], "invalid", "{name}: {out}");
                    assert_eq!(out["reason_code"], expect, "{name}");
                    assert!(!out["reason_zh"].as_str().unwrap().is_empty(), "{name}");
                    assert!(!out["reason_en"].as_str().unwrap().is_empty(), "{name}");
                    assert_eq!(out["pseudonym"], Value::Null, "{name}");
                    assert_eq!(out["linked_credentials"], serde_json::json!([]), "{name}");
                    continue;
                }
                assert_eq!(out["status"], "valid", "{name}: {out}");
                assert_eq!(out["linked"], false, "{name}");
                let bundle = LinkedBundle::from_text(text).unwrap();
                let expect_pseudonym = bundle.pseudonym.as_ref().map(|p| {
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(p.pseudonym.0)
                });
                assert_eq!(out["pseudonym"].as_str(), expect_pseudonym.as_deref(), "{name}");
                let linked = out["linked_credentials"].as_array().unwrap();
                assert_eq!(linked.len(), bundle.linked.len(), "{name}");
                for l in linked {
                    assert_eq!(l["linked"], true, "{name}");
                    assert!(!l["credential_type"]["name_zh"].as_str().unwrap().is_empty());
                    assert!(!l["credential_type"]["name_en"].as_str().unwrap().is_empty());
                    assert!(!l["claims"].as_array().unwrap().is_empty(), "{name}");
                    assert!(l["issuer_department"].is_string(), "{name}");
                }
                if round == 0 {
                    valid += 1;
                    with_pseudonym += usize::from(expect_pseudonym.is_some());
                    with_linked += usize::from(!linked.is_empty());
                }
            }
        }
        assert_eq!((valid, with_pseudonym, with_linked), (4, 3, 2));
        let stats: Value = serde_json::from_str(&verifier.cache_stats_json()).unwrap();
        assert!(stats["hits"].as_u64().unwrap() > 0, "{stats}");
    }

    #[test]
    fn malformed_inputs_are_errors_never_valid() {
        let vectors: Value =
            serde_json::from_str(include_str!("../../specs/vectors/bundles.json")).unwrap();
        let good = &vectors["cases"][0];
        let bundle = good["bundle"].as_str().unwrap();
        let root = vectors["trust_root"].to_string();
        let policy = good["policy"].to_string();
        let now = good["now"].as_u64().unwrap() as f64;
        let code = |b: &str, t: &str, p: &str, now: f64| {
            let v = run(b, t, p, now);
            assert_eq!(v["status"], "error", "{v}");
            assert!(v["reason_zh"].as_str().is_some());
            v["reason_code"].as_str().unwrap().to_owned()
        };
        assert_eq!(run(bundle, &root, &policy, now)["status"], "valid");
        assert_eq!(code("hello", &root, &policy, now), "malformed_bundle");
        assert_eq!(code("CLB1.AAAA", &root, &policy, now), "malformed_bundle");
        assert_eq!(code(&bundle[..bundle.len() - 8], &root, &policy, now), "malformed_bundle");
        assert_eq!(code(bundle, "{", &policy, now), "malformed_trust_root");
        let mut weak: Value = vectors["trust_root"].clone();
        weak["threshold"] = 1.into();
        assert_eq!(code(bundle, &weak.to_string(), &policy, now), "malformed_trust_root");
        assert_eq!(code(bundle, &root, "[", now), "malformed_policy");
        assert_eq!(
            code(bundle, &root, r#"{"challenge":{"nonce":"short","audience":"a"}}"#, now),
            "malformed_policy"
        );
        assert_eq!(code(bundle, &root, &policy, f64::NAN), "bad_time");
        assert_eq!(code(bundle, &root, &policy, -1.0), "bad_time");
    }
}
