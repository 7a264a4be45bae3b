//! Identity attestation batches through the real `certledger-wallet` binary: batch keys from the
//! wallet secret, one attestation copy per verifier, per-verifier pseudonyms, and a licence
//! linked to the attestation (`specs/identity.md`, `specs/wallet.md`). The batch is issued with
//! core's testkit (the node's batch issuing is tested in node/). No network is used.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::bundle::{LinkedBundle, Proofs};
use certledger_core::credential_file::CredentialFile;
use certledger_core::issuance::Issued;
use certledger_core::ledger;
use certledger_core::profiles::{self, CredentialType};
use certledger_core::request::{PresentationRequest, RequestOptions};
use certledger_core::sig::{PublicKey, SecretKey};
use certledger_core::testkit::{example_claims, Scenario, SeededRng};
use certledger_core::verify::{self, Accepted, Policy, TrustRoot, Verdict};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_certledger-wallet");
const CHAIN: &str = "cn.gov.certledger.identity-test";

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pass.txt"), "a long identity test passphrase\n").unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    fn run(&self, args: &[&str]) -> Run {
        let out = Command::new(BIN)
            .args(args)
            .arg("--json")
            .arg("--passphrase-file")
            .arg(self.path("pass.txt"))
            .env("CERTLEDGER_WALLET_DIR", self.path("wallet"))
            .env("CERTLEDGER_WALLET_INSECURE_TEST_KDF", "1")
            .env_remove("CERTLEDGER_WALLET_PASSPHRASE")
            .env("CERTLEDGER_WALLET_FONT", "none")
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn ok(&self, args: &[&str]) -> Value {
        let r = self.run(args);
        assert_eq!(r.code, 0, "{args:?} failed: {}\n{}", r.stdout, r.stderr);
        serde_json::from_str(&r.stdout).unwrap()
    }

    /// Runs a command that must be refused with exit `code` and error code `reason`.
    fn refused(&self, args: &[&str], code: i32, reason: &str) -> Value {
        let r = self.run(args);
        assert_eq!(r.code, code, "{args:?}: expected exit {code}: {}\n{}", r.stdout, r.stderr);
        let json: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(json["error"]["code"], reason, "{}", r.stdout);
        json
    }
}

struct World {
    s: Scenario,
    police: SecretKey,
    market: SecretKey,
}

impl World {
    fn new(label: &str) -> Self {
        let mut s = Scenario::new(label, CHAIN, now() - 120).unwrap();
        let ia = &profiles::IDENTITY_ATTESTATION;
        let bl = &profiles::BUSINESS_LICENCE;
        let police = s.register_issuer("public-security", &[ia.id], 10 * 365 * 86400).unwrap();
        let market = s.register_issuer("market-regulation", &[bl.id], 10 * 365 * 86400).unwrap();
        Self { s, police, market }
    }

    fn issue(&mut self, ty: &CredentialType, holder: &PublicKey) -> Issued {
        let issuer = if ty.id == profiles::IDENTITY_ATTESTATION.id {
            self.police.clone()
        } else {
            self.market.clone()
        };
        self.s.issue(&issuer, ty, &example_claims(ty), holder).unwrap()
    }

    fn credential_file(&self, issued: &Issued) -> String {
        let checkpoint = self.s.checkpoint(3).unwrap();
        let proofs: Proofs = self.s.proofs(&issued.anchor, &checkpoint).unwrap();
        CredentialFile {
            chain_id: CHAIN.to_owned(),
            credential_id: issued.credential_id,
            sd_jwt: issued.sd_jwt.clone(),
            w3c_vc: None,
            proofs,
        }
        .to_json()
    }
}

fn request_file(env: &Env, verifier: &str, types: &[&str], claims: &[&str], n: u32) -> String {
    let request = PresentationRequest::new(
        RequestOptions {
            verifier_id: verifier.to_owned(),
            purpose: "identity-check 实名核验".to_owned(),
            claims: claims.iter().map(|c| (*c).to_owned()).collect(),
            credential_types: types.iter().map(|t| (*t).to_owned()).collect(),
            audience: verifier.to_owned(),
            lifetime_s: 600,
        },
        // These verifiers are not on the ledger: the tests present with the testing override.
        &certledger_core::sig::SecretKey::from_seed(&[5; 32]),
        &mut SeededRng::from_label(&format!("request {verifier} {n}")),
        now(),
    )
    .unwrap();
    env.write(&format!("request-{verifier}-{n}.json"), &request.to_json())
}

/// A presentation's bundle text and the request's nonce.
struct Shown {
    text: String,
    nonce: String,
    audience: String,
    json: Value,
}

fn present(
    env: &Env,
    verifier: &str,
    n: u32,
    types: &[&str],
    claims: &[&str],
    extra: &[&str],
) -> Shown {
    let req = request_file(env, verifier, types, claims, n);
    let out = env.path(&format!("answer-{verifier}-{n}.clb")).display().to_string();
    let png = env.path(&format!("answer-{verifier}-{n}.png")).display().to_string();
    let mut args = vec![
        "present",
        "--request",
        &req,
        "--yes",
        "--insecure-unchecked-request",
        "--out",
        &out,
        "--png",
        &png,
    ];
    args.extend_from_slice(extra);
    let json = env.ok(&args);
    let request: Value = serde_json::from_str(&std::fs::read_to_string(&req).unwrap()).unwrap();
    Shown {
        text: std::fs::read_to_string(&out).unwrap().trim().to_owned(),
        nonce: request["nonce"].as_str().unwrap().to_owned(),
        audience: verifier.to_owned(),
        json,
    }
}

/// Decides a bundle with core's pipeline (the same as the browser's).
fn decide(world: &World, shown: &Shown) -> (LinkedBundle, Accepted) {
    let bundle = LinkedBundle::from_text(&shown.text).unwrap();
    let policy = Policy::new(&shown.nonce, &shown.audience);
    let root: TrustRoot = world.s.trust_root();
    match verify::verify_linked(&bundle, &root, &policy, now()).unwrap() {
        Verdict::Valid(a) => (bundle, *a),
        Verdict::Invalid(i) => panic!("refused: {i}"),
    }
}

/// The issuer signature (third JWT segment) of the main presentation.
fn issuer_signature(bundle: &LinkedBundle) -> String {
    let text = bundle.main.presentation.sd_jwt().unwrap();
    let jwt = text.split('~').next().unwrap();
    jwt.rsplit('.').next().unwrap().to_owned()
}

/// A wallet with a trust root, three attestation copies bound to its batch keys, and a business
/// licence bound to its main holder key.
fn setup(label: &str) -> (Env, World, Vec<Issued>, Issued) {
    let env = Env::new();
    let init = env.ok(&["init"]);
    let main_key =
        PublicKey(hex::decode(init["holder_key"].as_str().unwrap()).unwrap().try_into().unwrap());
    let mut world = World::new(label);
    let tr = env.write("trust.json", &world.s.trust_root().to_json());
    env.ok(&["trust", "set", &tr]);

    let keys_path = env.path("keys.json").display().to_string();
    let keys = env.ok(&["identity", "keys", "--count", "3", "--out", &keys_path]);
    assert_eq!(keys["first_index"], 0);
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&keys_path).unwrap()).unwrap();
    let holder_keys: Vec<PublicKey> = file["holder_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            PublicKey(URL_SAFE_NO_PAD.decode(k.as_str().unwrap()).unwrap().try_into().unwrap())
        })
        .collect();
    assert_eq!(holder_keys.len(), 3);
    assert!(holder_keys.iter().all(|k| *k != main_key));
    assert!(holder_keys[0] != holder_keys[1] && holder_keys[1] != holder_keys[2]);

    let ia = &profiles::IDENTITY_ATTESTATION;
    let copies: Vec<Issued> = holder_keys.iter().map(|k| world.issue(ia, k)).collect();
    let licence = world.issue(&profiles::BUSINESS_LICENCE, &main_key);
    for (i, c) in copies.iter().enumerate() {
        let f = env.write(&format!("copy-{i}.json"), &world.credential_file(c));
        let imported = env.ok(&["import", &f]);
        assert_eq!(imported["holder_key_index"], i);
    }
    let f = env.write("licence.json", &world.credential_file(&licence));
    let imported = env.ok(&["import", &f]);
    assert_eq!(imported["holder_key_index"], Value::Null);
    (env, world, copies, licence)
}

const IA: &str = "urn:cn:certledger:vct:identity-attestation:1";
const BL: &str = "urn:cn:certledger:vct:business-licence:1";

#[test]
fn verifiers_see_different_pseudonyms_keys_and_signatures_and_each_the_same_one_again() {
    let (env, world, copies, _licence) = setup("identity: two verifiers");
    let a1 = present(&env, "hotel-a", 1, &[IA], &["age_over_18"], &[]);
    let a2 = present(&env, "hotel-a", 2, &[IA], &["age_over_18"], &[]);
    let b1 = present(&env, "bank-b", 1, &[IA], &["age_over_18"], &[]);
    let (bundle_a1, acc_a1) = decide(&world, &a1);
    let (bundle_a2, acc_a2) = decide(&world, &a2);
    let (bundle_b1, acc_b1) = decide(&world, &b1);

    // The same verifier: the same pseudonym, the same attestation copy (holder key, issuer
    // signature, credential id).
    let pa = acc_a1.pseudonym.clone().unwrap();
    assert_eq!(acc_a2.pseudonym.as_deref(), Some(pa.as_str()));
    assert_eq!(a1.json["pseudonym"], pa.as_str());
    assert_eq!(acc_a1.holder_key, acc_a2.holder_key);
    assert_eq!(issuer_signature(&bundle_a1), issuer_signature(&bundle_a2));
    assert_eq!(a1.json["credential"], a2.json["credential"]);
    // Another verifier: another pseudonym, holder key, issuer signature and credential.
    let pb = acc_b1.pseudonym.clone().unwrap();
    assert_ne!(pa, pb);
    assert_ne!(acc_a1.holder_key, acc_b1.holder_key);
    assert_ne!(issuer_signature(&bundle_a1), issuer_signature(&bundle_b1));
    assert_ne!(a1.json["credential"], b1.json["credential"]);
    // Nothing the two verifiers received is shared byte for byte beyond the public parts.
    assert_ne!(bundle_a1.main.proofs.anchor_leaf, bundle_b1.main.proofs.anchor_leaf);
    // The copies are the first two of the batch, in key order.
    let id = |i: &Issued| URL_SAFE_NO_PAD.encode(i.credential_id);
    assert_eq!(a1.json["credential"], id(&copies[0]));
    assert_eq!(b1.json["credential"], id(&copies[1]));
    assert_eq!(a1.json["holder_key_index"], 0);
    assert_eq!(b1.json["holder_key_index"], 1);

    // The binary's own verifier shows the pseudonym.
    let tr = env.path("trust.json").display().to_string();
    let clb = env.path("answer-bank-b-1.clb").display().to_string();
    let v = env.ok(&[
        "verify",
        &clb,
        "--trust-root",
        &tr,
        "--nonce",
        &b1.nonce,
        "--audience",
        "bank-b",
    ]);
    assert_eq!(v["accepted"]["pseudonym"], pb.as_str());
    // Replayed at the other verifier, the bundle is refused (its key binding names bank-b).
    let r = env.run(&[
        "verify",
        &clb,
        "--trust-root",
        &tr,
        "--nonce",
        &b1.nonce,
        "--audience",
        "hotel-a",
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    // A's pseudonym proof stapled to B's presentation is refused.
    let mut forged = bundle_b1.clone();
    forged.pseudonym = bundle_a1.pseudonym;
    let policy = Policy::new(&b1.nonce, "bank-b");
    let verdict = verify::verify_linked(&forged, &world.s.trust_root(), &policy, now()).unwrap();
    assert!(matches!(verdict, Verdict::Invalid(verify::Invalid::BadPseudonymProof)), "{verdict:?}");
}

#[test]
fn the_batch_runs_out_and_says_so() {
    let (env, _world, _copies, _licence) = setup("identity: exhaustion");
    for (n, v) in ["v-one", "v-two", "v-three"].iter().enumerate() {
        let shown = present(&env, v, n as u32, &[IA], &["age_over_18"], &[]);
        assert_eq!(shown.json["holder_key_index"], n);
    }
    let req = request_file(&env, "v-four", &[IA], &["age_over_18"], 9);
    let out = env.path("four.clb").display().to_string();
    let png = env.path("four.png").display().to_string();
    env.refused(
        &[
            "present",
            "--request",
            &req,
            "--yes",
            "--insecure-unchecked-request",
            "--out",
            &out,
            "--png",
            &png,
        ],
        1,
        "batch_exhausted",
    );
    assert!(!env.path("four.clb").exists());
    // A verifier already served keeps its copy.
    let again = present(&env, "v-two", 7, &[IA], &["age_over_18"], &[]);
    assert_eq!(again.json["holder_key_index"], 1);
    // A new batch continues the key indices, and its copies serve new verifiers.
    let keys = env.path("keys2.json").display().to_string();
    let next = env.ok(&["identity", "keys", "--count", "2", "--out", &keys]);
    assert_eq!(next["first_index"], 3);
}

#[test]
fn a_licence_is_presented_with_the_attestation_and_linked() {
    let (env, world, _copies, licence) = setup("identity: linked licence");
    let licence_id = URL_SAFE_NO_PAD.encode(licence.credential_id);
    let plain = present(&env, "hotel-a", 1, &[IA], &["age_over_18"], &[]);
    let shown = present(
        &env,
        "hotel-a",
        2,
        &[IA, BL],
        &["age_over_18", "entity_name"],
        &["--with", &licence_id[..8]],
    );
    assert_eq!(shown.json["linked"][0], licence_id.as_str());
    let (bundle, accepted) = decide(&world, &shown);
    assert_eq!(bundle.linked.len(), 1);
    assert!(bundle.linked[0].link.is_some(), "the licence's key differs: a link proof is needed");
    assert_eq!(accepted.pseudonym, plain.json["pseudonym"].as_str().map(str::to_owned));
    assert_eq!(accepted.linked_credentials.len(), 1);
    assert!(accepted.linked_credentials[0].linked);
    assert!(accepted.claims.iter().any(|c| c.name == "age_over_18"));
    assert!(accepted.linked_credentials[0].claims.iter().any(|c| c.name == "entity_name"));

    let tr = env.path("trust.json").display().to_string();
    let clb = env.path("answer-hotel-a-2.clb").display().to_string();
    let v = env.ok(&[
        "verify",
        &clb,
        "--trust-root",
        &tr,
        "--nonce",
        &shown.nonce,
        "--audience",
        "hotel-a",
        "--require-claim",
        "entity_name",
    ]);
    assert_eq!(v["accepted"]["linked_credentials"][0]["linked"], true);
    assert_eq!(v["accepted"]["pseudonym"], plain.json["pseudonym"]);

    // Without the link proof the licence is refused as not the same holder's.
    let mut unlinked = bundle.clone();
    unlinked.linked[0].link = None;
    let text = env.write("unlinked.clb", &unlinked.to_text());
    // (Checked as by another verifier: this nonce was used up by the bundle accepted above.)
    let seen = env.path("other-seen.json").display().to_string();
    let r = env.refused(
        &[
            "verify",
            &text,
            "--trust-root",
            &tr,
            "--nonce",
            &shown.nonce,
            "--audience",
            "hotel-a",
            "--seen-nonces",
            &seen,
        ],
        1,
        "bad_link_proof",
    );
    assert!(r["error"]["message_zh"].as_str().unwrap().contains("同一持有人"));

    // A licence of a type the verifier did not request is not added.
    let req = request_file(&env, "hotel-a", &[IA], &["age_over_18"], 3);
    let out = env.path("x.clb").display().to_string();
    let png = env.path("x.png").display().to_string();
    env.refused(
        &[
            "present",
            "--request",
            &req,
            "--yes",
            "--insecure-unchecked-request",
            "--out",
            &out,
            "--png",
            &png,
            "--with",
            &licence_id[..8],
        ],
        1,
        "type_not_requested",
    );
}

#[test]
fn import_accepts_batch_keys_only_once_derived() {
    let env = Env::new();
    env.ok(&["init"]);
    let mut world = World::new("identity: import");
    let tr = env.write("trust.json", &world.s.trust_root().to_json());
    env.ok(&["trust", "set", &tr]);
    // A credential bound to some other key is refused.
    let stranger = SecretKey::from_seed(&[3; 32]).public_key();
    let issued = world.issue(&profiles::IDENTITY_ATTESTATION, &stranger);
    let f = env.write("stranger.json", &world.credential_file(&issued));
    env.refused(&["import", &f], 1, "holder_key_mismatch");
    // Batch key 0 is accepted only after `identity keys` derived it.
    let keys_path = env.path("keys.json").display().to_string();
    env.ok(&["identity", "keys", "--count", "1", "--out", &keys_path]);
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&keys_path).unwrap()).unwrap();
    let k0 = PublicKey(
        URL_SAFE_NO_PAD
            .decode(file["holder_keys"][0].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap(),
    );
    let copy = world.issue(&profiles::IDENTITY_ATTESTATION, &k0);
    let f = env.write("copy.json", &world.credential_file(&copy));
    assert_eq!(env.ok(&["import", &f])["holder_key_index"], 0);
    // The key state proof of the ledger does not hold it: holder keys never reach the ledger.
    let value = world.s.ledger.state_value(&ledger::credential_state_key(&copy.credential_id));
    let record = value.unwrap().unwrap();
    assert!(!record.windows(32).any(|w| w == k0.0));
}

/// Issue #13 part 6: the verifier's minimum level of assurance (`verify --min-assurance`).
#[test]
fn verify_enforces_the_verifiers_minimum_assurance() {
    let (env, _world, _copies, _licence) = setup("identity: minimum assurance");
    let shown = present(&env, "hotel-a", 1, &[IA], &["age_over_18"], &[]);
    let tr = env.path("trust.json").display().to_string();
    let clb = env.path("answer-hotel-a-1.clb").display().to_string();
    let args = |level: &'static str| {
        vec![
            "verify".to_owned(),
            clb.clone(),
            "--trust-root".to_owned(),
            tr.clone(),
            "--nonce".to_owned(),
            shown.nonce.clone(),
            "--audience".to_owned(),
            "hotel-a".to_owned(),
            "--repeatable".to_owned(),
            "--min-assurance".to_owned(),
            level.to_owned(),
        ]
    };
    // The attestations carry level 3.
    let three = args("3");
    let four = args("4");
    let v = env.ok(&strs(&three));
    assert_eq!(v["verdict"], "valid");
    assert_eq!(v["settings"]["min_assurance_level"], 3);
    env.refused(&strs(&four), 1, "assurance_too_low");
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}
