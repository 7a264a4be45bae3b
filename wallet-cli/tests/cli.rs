//! End-to-end tests of the `certledger-wallet` binary: a temporary wallet per test, credentials
//! and proofs from a `testkit::Scenario`, and a tiny HTTP node on 127.0.0.1 serving them.
//! No other network is used.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::bundle::Proofs;
use certledger_core::codec::Encode as _;
use certledger_core::credential_file::CredentialFile;
use certledger_core::issuance::{Issued, IssuedW3c};
use certledger_core::ledger::{self, CredentialStatus, EntryBody, Purpose, RegisterVerifier};
use certledger_core::profiles::{self, CredentialType};
use certledger_core::request::{PresentationRequest, RequestOptions};
use certledger_core::sig::{PublicKey, SecretKey};
use certledger_core::testkit::{example_claims, Scenario, SeededRng};
use certledger_core::verify::LedgerRoot;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_certledger-wallet");
const CHAIN: &str = "cn.gov.certledger.wallet-test";
const PASS: &str = "correct horse battery staple";
const VERIFIER: &str = "pudong-counter-1";

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs()
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        let parsed: Result<Value, _> = serde_json::from_str(&self.stdout);
        assert!(parsed.is_ok(), "stdout is not JSON: {}\nstderr: {}", self.stdout, self.stderr);
        parsed.unwrap_or_default()
    }
    fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_owned()
    }
}

/// One wallet in a temporary directory.
struct Env {
    dir: tempfile::TempDir,
    wallet_dir: PathBuf,
    pass_file: PathBuf,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let wallet_dir = dir.path().join("wallet");
        let pass_file = dir.path().join("pass.txt");
        std::fs::write(&pass_file, format!("{PASS}\n")).expect("write pass");
        Self { dir, wallet_dir, pass_file }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn wallet_file(&self) -> PathBuf {
        self.wallet_dir.join("wallet.clw")
    }

    fn run_with(&self, args: &[&str], wallet_dir: &Path, pass_file: &Path) -> Run {
        let out = Command::new(BIN)
            .args(args)
            .arg("--passphrase-file")
            .arg(pass_file)
            .env("CERTLEDGER_WALLET_DIR", wallet_dir)
            .env("CERTLEDGER_WALLET_INSECURE_TEST_KDF", "1")
            .env_remove("CERTLEDGER_WALLET_PASSPHRASE")
            .env("CERTLEDGER_WALLET_FONT", "none")
            .current_dir(self.dir.path())
            .output()
            .expect("run binary");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &self.wallet_dir, &self.pass_file)
    }

    fn ok(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let r = self.run(&all);
        assert_eq!(r.code, 0, "{args:?} failed: {}\n{}", r.stdout, r.stderr);
        r.json()
    }

    fn fails(&self, args: &[&str], code: i32) -> Run {
        let mut all = args.to_vec();
        all.push("--json");
        let r = self.run(&all);
        assert_eq!(r.code, code, "{args:?}: expected exit {code}: {}\n{}", r.stdout, r.stderr);
        r
    }

    /// `init`, returning the holder public key.
    fn init(&self) -> PublicKey {
        let j = self.ok(&["init"]);
        let bytes: [u8; 32] = hex::decode(j["holder_key"].as_str().expect("holder key"))
            .expect("hex")
            .try_into()
            .expect("32 bytes");
        PublicKey(bytes)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write");
        p.display().to_string()
    }
}

/// A ledger with an issuer and a registered verifier.
struct World {
    s: Scenario,
    issuer: SecretKey,
    ty: &'static CredentialType,
}

impl World {
    fn new(label: &str) -> Self {
        Self::on_chain(label, CHAIN)
    }

    /// A ledger like [`World::new`] with chain id `chain`.
    fn on_chain(label: &str, chain: &str) -> Self {
        let mut s = Scenario::new(label, chain, now() - 120).expect("scenario");
        let ty = &profiles::DIPLOMA;
        let issuer =
            s.register_issuer(ty.issuing_department, &[ty.id], 10 * 365 * 86400).expect("issuer");
        let admin = s.department("education").expect("dept").admin.clone();
        s.submit(
            &admin,
            EntryBody::RegisterVerifier(RegisterVerifier {
                verifier_id: VERIFIER.to_owned(),
                department: "education".to_owned(),
                name_zh: "浦东市民中心".to_owned(),
                name_en: "Pudong service centre".to_owned(),
                verifier_key: verifier_key().public_key(),
                purposes: vec![Purpose {
                    id: "diploma-check".to_owned(),
                    claims: vec!["institution".to_owned(), "level".to_owned(), "name".to_owned()],
                }],
            }),
        );
        s.commit(1).expect("commit");
        Self { s, issuer, ty }
    }

    fn issue(&mut self, holder: &PublicKey) -> Issued {
        let claims = example_claims(self.ty);
        self.s.issue(&self.issuer, self.ty, &claims, holder).expect("issue")
    }

    fn proofs(&self, issued: &Issued) -> Proofs {
        self.proofs_of(&issued.anchor)
    }

    fn proofs_of(&self, anchor: &ledger::AnchorIssuance) -> Proofs {
        let s = &self.s;
        let record = s.credential_record(anchor).expect("record");
        let size = s.ledger.log_size();
        Proofs {
            anchor_leaf: s.leaf(record.log_index).expect("leaf").to_vec(),
            anchor_proof: s.ledger.inclusion_proof(record.log_index, size).expect("inclusion"),
            credential_proof: s
                .ledger
                .prove_state(&ledger::credential_state_key(&anchor.credential_id))
                .expect("cred proof"),
            issuer_record: s.issuer_record(&record.issuer_key).expect("issuer record"),
            issuer_proof: s
                .ledger
                .prove_state(&ledger::issuer_state_key(&record.issuer_key))
                .expect("issuer proof"),
            credential_record: record,
            checkpoint: s.checkpoint(3).expect("checkpoint"),
        }
    }

    fn credential_file(&self, issued: &Issued) -> String {
        CredentialFile {
            chain_id: self.s.chain_id().to_owned(),
            credential_id: issued.credential_id,
            sd_jwt: issued.sd_jwt.clone(),
            w3c_vc: None,
            proofs: self.proofs(issued),
        }
        .to_json()
    }

    fn issue_w3c(&mut self, holder: &PublicKey) -> IssuedW3c {
        let claims = example_claims(self.ty);
        self.s.issue_w3c(&self.issuer, self.ty, &claims, holder).expect("issue W3C")
    }

    fn w3c_credential_file(&self, issued: &IssuedW3c) -> String {
        CredentialFile {
            chain_id: self.s.chain_id().to_owned(),
            credential_id: issued.credential_id,
            sd_jwt: String::new(),
            w3c_vc: Some(issued.vc_json.clone()),
            proofs: self.proofs_of(&issued.anchor),
        }
        .to_json()
    }

    fn trust_root(&self) -> String {
        self.s.trust_root().to_json()
    }

    fn state_proof(&self, verifier_id: &str) -> String {
        let key = ledger::verifier_state_key(verifier_id);
        let value = self.s.ledger.state_value(&key).expect("state");
        json!({
            "key": hex::encode(key),
            "height": self.s.ledger.height(),
            "value": value.map(|v| URL_SAFE_NO_PAD.encode(v)),
            "proof": URL_SAFE_NO_PAD.encode(self.s.ledger.prove_state(&key).expect("proof").to_bytes()),
            "checkpoint": self.s.checkpoint(3).expect("checkpoint"),
        })
        .to_string()
    }

    fn revoke(&mut self, issued: &Issued) {
        let issuer = self.issuer.clone();
        self.s
            .change_status(&issuer, issued.credential_id, CredentialStatus::Revoked, 4)
            .expect("revoke");
    }
}

/// The verifier's registered request-signing key.
fn verifier_key() -> SecretKey {
    SecretKey::from_seed(&[9; 32])
}

fn request(claims: &[&str], audience: &str) -> PresentationRequest {
    signed_request(&verifier_key(), "diploma-check 核验学历", claims, audience)
}

fn signed_request(
    key: &SecretKey,
    purpose: &str,
    claims: &[&str],
    audience: &str,
) -> PresentationRequest {
    PresentationRequest::new(
        RequestOptions {
            verifier_id: VERIFIER.to_owned(),
            purpose: purpose.to_owned(),
            claims: claims.iter().map(|c| (*c).to_owned()).collect(),
            credential_types: vec![profiles::DIPLOMA.id.to_owned()],
            audience: audience.to_owned(),
            lifetime_s: 600,
        },
        key,
        &mut SeededRng::from_label(&format!("request {purpose} {claims:?} {audience}")),
        now(),
    )
    .expect("request")
}

/// A wallet with the trust root set and one imported diploma.
fn wallet_with_diploma(label: &str) -> (Env, World, Issued) {
    let env = Env::new();
    let holder = env.init();
    let mut world = World::new(label);
    let issued = world.issue(&holder);
    let tr = env.write("trust.json", &world.trust_root());
    env.ok(&["trust", "set", &tr]);
    let file = env.write("diploma.json", &world.credential_file(&issued));
    env.ok(&["import", &file]);
    (env, world, issued)
}

/// A minimal HTTP node on 127.0.0.1 serving paths from a shared map.
struct TestNode {
    url: String,
    routes: Arc<Mutex<BTreeMap<String, String>>>,
}

impl TestNode {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let routes: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
        let shared = Arc::clone(&routes);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                }
                let body = shared.lock().expect("lock").get(&path).cloned();
                let (status, body) = match body {
                    Some(b) => ("200 OK", b),
                    None => ("404 Not Found", r#"{"error":"not_found"}"#.to_owned()),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.flush();
                let mut rest = Vec::new();
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(10)));
                let _ = stream.read_to_end(&mut rest);
            }
        });
        Self { url, routes }
    }

    fn serve_credential(&self, world: &World, issued: &Issued) {
        let path =
            format!("/v1/proofs/credential/{}", URL_SAFE_NO_PAD.encode(issued.credential_id));
        let body = json!({
            "height": world.s.ledger.height(),
            "proofs": URL_SAFE_NO_PAD.encode(world.proofs(issued).to_bytes()),
        });
        self.routes.lock().expect("lock").insert(path, body.to_string());
    }

    fn serve_verifier(&self, world: &World, verifier_id: &str) {
        let path =
            format!("/v1/proofs/state/{}", hex::encode(ledger::verifier_state_key(verifier_id)));
        self.routes.lock().expect("lock").insert(path, world.state_proof(verifier_id));
    }
}

fn present_args<'a>(env: &'a Env, req: &'a str, extra: &[&'a str]) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "present".into(),
        "--request".into(),
        req.into(),
        "--yes".into(),
        "--out".into(),
        env.path("answer.clb").display().to_string(),
        "--png".into(),
        env.path("answer.png").display().to_string(),
    ];
    v.extend(extra.iter().map(|s| (*s).to_owned()));
    v
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

// ---------------------------------------------------------------------------------------------

#[test]
fn init_and_wrong_passphrase() {
    let env = Env::new();
    env.init();
    let meta = std::fs::metadata(env.wallet_file()).expect("wallet file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    let before = std::fs::read(env.wallet_file()).expect("read");
    // A second init refuses and changes nothing.
    env.fails(&["init"], 2);
    // Wrong passphrase: exit 3, clear message, nothing changed.
    let wrong = env.path("wrong.txt");
    std::fs::write(&wrong, "not the passphrase").expect("write");
    let r = env.run_with(&["list"], &env.wallet_dir, &wrong);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("wrong passphrase"), "{}", r.stderr);
    assert_eq!(std::fs::read(env.wallet_file()).expect("read"), before);
    // The right one works; an empty list.
    assert_eq!(env.ok(&["list"])["credentials"], json!([]));
    // A file with the test-only weak KDF parameters is refused by a normal run.
    let out = Command::new(BIN)
        .args(["list", "--passphrase-file"])
        .arg(&env.pass_file)
        .env("CERTLEDGER_WALLET_DIR", &env.wallet_dir)
        .env_remove("CERTLEDGER_WALLET_INSECURE_TEST_KDF")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("below 64 MiB"));
    // No wallet at all: exit 3 with a hint.
    let other = env.path("nowhere");
    let r = env.run_with(&["list"], &other, &env.pass_file);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("init"), "{}", r.stderr);
}

#[test]
fn corrupted_keystore_is_reported_and_left_alone() {
    let env = Env::new();
    env.init();
    let good = std::fs::read(env.wallet_file()).expect("read");
    for (what, bytes) in [
        ("flipped ciphertext byte", {
            let mut b = good.clone();
            let last = b.len() - 5;
            b[last] ^= 0x40;
            b
        }),
        ("bad magic", {
            let mut b = good.clone();
            b[0] = b'X';
            b
        }),
        ("truncated", good[..30].to_vec()),
    ] {
        std::fs::write(env.wallet_file(), &bytes).expect("write");
        let r = env.run(&["list"]);
        assert_eq!(r.code, 3, "{what}: {}", r.stderr);
        assert!(r.stderr.contains("corrupted"), "{what}: {}", r.stderr);
        // Writing commands fail the same way and leave the file as it was.
        let tr = env.write("trust.json", &World::new("corrupt").trust_root());
        assert_eq!(env.run(&["trust", "set", &tr]).code, 3);
        assert_eq!(std::fs::read(env.wallet_file()).expect("read"), bytes, "{what}");
    }
}

#[test]
fn backup_and_restore() {
    let (env, _world, _) = wallet_with_diploma("backup");
    let backup = env.path("backup.clw");
    let b = backup.display().to_string();
    env.ok(&["backup", "--out", &b]);
    assert_eq!(
        std::fs::read(&backup).expect("backup"),
        std::fs::read(env.wallet_file()).expect("wallet")
    );
    env.fails(&["backup", "--out", &b], 2);

    // Into a fresh directory.
    let other = env.path("restored");
    let r = env.run_with(&["restore", &b, "--json"], &other, &env.pass_file);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = env.run_with(&["list", "--json"], &other, &env.pass_file);
    assert_eq!(r.json()["credentials"].as_array().map(Vec::len), Some(1));

    // Over an existing wallet: refused without --force, nothing changed.
    let fresh = Env::new();
    fresh.init();
    let before = std::fs::read(fresh.wallet_file()).expect("read");
    assert_eq!(fresh.run(&["restore", &b]).code, 2);
    assert_eq!(std::fs::read(fresh.wallet_file()).expect("read"), before);
    // Wrong passphrase for the backup: exit 3, nothing changed.
    let wrong = env.path("wrong.txt");
    std::fs::write(&wrong, "nope").expect("write");
    assert_eq!(fresh.run_with(&["restore", &b, "--force"], &fresh.wallet_dir, &wrong).code, 3);
    assert_eq!(std::fs::read(fresh.wallet_file()).expect("read"), before);
    // A corrupted backup: exit 3, nothing changed.
    let mut bad = std::fs::read(&backup).expect("read");
    let at = bad.len() / 2;
    bad[at] ^= 1;
    let bad_path = env.path("bad.clw");
    std::fs::write(&bad_path, &bad).expect("write");
    assert_eq!(fresh.run(&["restore", &bad_path.display().to_string(), "--force"]).code, 3);
    assert_eq!(std::fs::read(fresh.wallet_file()).expect("read"), before);
    // With --force it replaces.
    assert_eq!(fresh.run(&["restore", &b, "--force"]).code, 0);
    assert_eq!(fresh.ok(&["list"])["credentials"].as_array().map(Vec::len), Some(1));
}

#[test]
fn import_valid_and_refused() {
    let env = Env::new();
    let holder = env.init();
    let mut world = World::new("import");
    let tr = env.write("trust.json", &world.trust_root());

    // No trust root yet: usage error.
    let issued = world.issue(&holder);
    let file = env.write("diploma.json", &world.credential_file(&issued));
    env.fails(&["import", &file], 2);
    env.ok(&["trust", "set", &tr]);

    // Tampered: a changed disclosure no longer matches the signed digests.
    let mut cf = CredentialFile::from_json(&world.credential_file(&issued)).expect("parse");
    let mut parts: Vec<String> = cf.sd_jwt.split('~').map(str::to_owned).collect();
    let disclosure = URL_SAFE_NO_PAD.decode(&parts[1]).expect("b64");
    let mut d: Value = serde_json::from_slice(&disclosure).expect("json");
    d[2] = json!("Someone Else");
    parts[1] = URL_SAFE_NO_PAD.encode(d.to_string());
    cf.sd_jwt = parts.join("~");
    let tampered = env.write("tampered.json", &cf.to_json());
    let r = env.fails(&["import", &tampered], 1);
    assert_eq!(r.error_code(), "tampered_disclosure");
    assert!(r.json()["error"]["message_zh"].as_str().is_some_and(|m| !m.is_empty()));

    // Malformed file.
    let junk = env.write("junk.json", r#"{"version":1}"#);
    assert_eq!(env.fails(&["import", &junk], 1).error_code(), "malformed_credential_file");

    // Bound to another holder.
    let stranger = world.issue(&SecretKey::from_seed(&[3; 32]).public_key());
    let f = env.write("stranger.json", &world.credential_file(&stranger));
    assert_eq!(env.fails(&["import", &f], 1).error_code(), "holder_key_mismatch");

    // Revoked.
    let revoked = world.issue(&holder);
    world.revoke(&revoked);
    let f = env.write("revoked.json", &world.credential_file(&revoked));
    assert_eq!(env.fails(&["import", &f], 1).error_code(), "revoked");

    // Valid (proofs against the latest checkpoint), then a duplicate.
    let file = env.write("diploma.json", &world.credential_file(&issued));
    let j = env.ok(&["import", &file]);
    assert_eq!(j["type"], profiles::DIPLOMA.id);
    assert_eq!(env.fails(&["import", &file], 1).error_code(), "duplicate");

    // Another ledger's departments (same chain id, other keys): refused.
    let other = World::new("import-other-ledger");
    let env2 = Env::new();
    let holder2 = env2.init();
    let mut world2 = World::new("import-2");
    let issued2 = world2.issue(&holder2);
    let tr_other = env2.write("trust.json", &other.trust_root());
    env2.ok(&["trust", "set", &tr_other]);
    let f = env2.write("d.json", &world2.credential_file(&issued2));
    let code = env2.fails(&["import", &f], 1).error_code();
    assert!(code == "quorum_not_met" || code == "bad_checkpoint_signature", "{code}");
    assert_eq!(env.ok(&["list"])["credentials"].as_array().map(Vec::len), Some(1));
}

#[test]
fn list_and_show_in_both_languages() {
    let (env, _world, _) = wallet_with_diploma("list");
    let r = env.run(&["list", "--lang", "zh"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("学历证书") && r.stdout.contains("有效"), "{}", r.stdout);
    let r = env.run(&["list", "--lang", "en"]);
    assert!(r.stdout.contains("Diploma") && r.stdout.contains("active"), "{}", r.stdout);
    let list = env.ok(&["list"]);
    let id = list["credentials"][0]["short_id"].as_str().expect("id").to_owned();
    assert_eq!(list["credentials"][0]["status"], "active");
    assert!(list["credentials"][0]["expires_at"].as_u64().is_some());

    let r = env.run(&["show", &id, "--lang", "en"]);
    assert!(r.stdout.contains("Institution") && r.stdout.contains("expires"), "{}", r.stdout);
    let r = env.run(&["show", &id, "--lang", "zh"]);
    assert!(r.stdout.contains("学校名称"), "{}", r.stdout);
    let j = env.ok(&["show", &id]);
    let claims = j["claims"].as_array().expect("claims");
    assert_eq!(claims.len(), profiles::DIPLOMA.claims.len());
    assert!(claims.iter().all(|c| c["disclosable"] == true));
    assert!(claims.iter().any(|c| c["name"] == "institution" && c["label_zh"] == "学校名称"));
    env.fails(&["show", "zzzzzzzz"], 2);
}

#[test]
fn over_asking_request_is_refused() {
    let (env, world, _) = wallet_with_diploma("overask");
    let record = env.write("verifier.json", &world.state_proof(VERIFIER));
    // certificate_number is not in the registered purpose.
    let req = request(&["certificate_number", "name"], "pudong-counter-1");
    let req_file = env.write("req.json", &req.to_json());
    let args = present_args(&env, &req_file, &["--verifier-record", &record]);
    let r = env.fails(&strs(&args), 1);
    assert_eq!(r.error_code(), "over_asking");
    assert!(r.json()["error"]["message_en"]
        .as_str()
        .is_some_and(|m| m.contains("certificate_number")));
    assert!(!env.path("answer.clb").exists());

    // An unregistered verifier is refused when the registry is consulted.
    let unknown = env.write("unknown.json", &world.state_proof("nobody-here"));
    let mut req_unknown = req.to_json().replace(VERIFIER, "nobody-here");
    req_unknown = req_unknown.replace("\"certificate_number\",", "");
    let req_file = env.write("req2.json", &req_unknown);
    let args = present_args(&env, &req_file, &["--verifier-record", &unknown]);
    assert_eq!(env.fails(&strs(&args), 1).error_code(), "verifier_not_registered");

    // A record for another verifier is refused.
    let args = present_args(&env, &req_file, &["--verifier-record", &record]);
    assert_eq!(env.fails(&strs(&args), 1).error_code(), "bad_verifier_record");

    // Within the purpose: accepted (QR text form of the request this time).
    let ok = request(&["institution", "name"], "pudong-counter-1");
    let args = present_args(&env, &ok.to_text(), &["--verifier-record", &record]);
    let j = env.ok(&strs(&args));
    assert_eq!(j["matched_purpose"], "diploma-check");
    assert_eq!(j["disclosed"], json!(["institution", "name"]));
}

#[test]
fn present_then_verify_and_replays_are_refused() {
    let (env, world, _) = wallet_with_diploma("present");
    let record = env.write("verifier.json", &world.state_proof(VERIFIER));
    let tr = env.path("trust.json").display().to_string();
    let req = request(&["institution", "name"], "pudong-counter-1");
    let req_file = env.write("req.json", &req.to_json());
    let args = present_args(&env, &req_file, &["--verifier-record", &record]);
    env.ok(&strs(&args));
    let bundle = env.path("answer.clb").display().to_string();
    let nonce = req.nonce_b64();

    // Replays: another nonce, another audience.
    let other_nonce = request(&["name"], "x-other").nonce_b64();
    let r = env.fails(
        &[
            "verify",
            &bundle,
            "--trust-root",
            &tr,
            "--nonce",
            &other_nonce,
            "--audience",
            "pudong-counter-1",
        ],
        1,
    );
    assert_eq!(r.error_code(), "nonce_mismatch");
    let r = env.fails(
        &[
            "verify",
            &bundle,
            "--trust-root",
            &tr,
            "--nonce",
            &nonce,
            "--audience",
            "another-counter",
        ],
        1,
    );
    assert_eq!(r.error_code(), "audience_mismatch");
    // Too late: the key binding is older than five minutes.
    let later = (now() + 3600).to_string();
    let r = env.fails(
        &[
            "verify",
            &bundle,
            "--trust-root",
            &tr,
            "--nonce",
            &nonce,
            "--audience",
            "pudong-counter-1",
            "--at",
            &later,
        ],
        1,
    );
    assert_eq!(r.error_code(), "presentation_not_fresh");
    // A required claim that was not disclosed.
    let r = env.fails(
        &[
            "verify",
            &bundle,
            "--trust-root",
            &tr,
            "--nonce",
            &nonce,
            "--audience",
            "pudong-counter-1",
            "--require-claim",
            "programme",
        ],
        1,
    );
    assert_eq!(r.error_code(), "claim_not_disclosed");
    // Tampered bundle text.
    let text = std::fs::read_to_string(env.path("answer.clb")).expect("read");
    let cut = env.write("cut.clb", &text[..text.len() / 2]);
    env.fails(
        &["verify", &cut, "--trust-root", &tr, "--nonce", &nonce, "--audience", "pudong-counter-1"],
        1,
    );

    // None of the refusals used the nonce up: the bundle is accepted once.
    let j = env.ok(&[
        "verify",
        &bundle,
        "--trust-root",
        &tr,
        "--nonce",
        &nonce,
        "--audience",
        "pudong-counter-1",
    ]);
    assert_eq!(j["verdict"], "valid");
    let claims = j["accepted"]["claims"].as_array().expect("claims");
    let names: Vec<&str> = claims.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["name", "institution"]);
    // The text itself is accepted as well as the file (another verifier: its own seen file).
    let text = std::fs::read_to_string(env.path("answer.clb")).expect("read");
    let other_seen = env.path("other-seen.json").display().to_string();
    let j = env.ok(&[
        "verify",
        text.trim(),
        "--trust-root",
        &tr,
        "--nonce",
        &nonce,
        "--audience",
        "pudong-counter-1",
        "--seen-nonces",
        &other_seen,
    ]);
    assert_eq!(j["verdict"], "valid");

    // Disclosing less than asked is the citizen's choice; more is a usage error.
    let args = present_args(&env, &req_file, &["--verifier-record", &record, "--disclose", "name"]);
    assert_eq!(env.ok(&strs(&args))["disclosed"], json!(["name"]));
    let args = present_args(
        &env,
        &req_file,
        &["--verifier-record", &record, "--disclose", "name,programme"],
    );
    env.fails(&strs(&args), 2);
    // Without --yes and without a terminal: refuses to proceed silently.
    let mut args = present_args(&env, &req_file, &["--verifier-record", &record]);
    args.retain(|a| a != "--yes");
    env.fails(&strs(&args), 2);
}

#[test]
fn qr_png_round_trip() {
    let (env, world, _) = wallet_with_diploma("qr");
    let record = env.write("verifier.json", &world.state_proof(VERIFIER));
    let tr = env.path("trust.json").display().to_string();
    let req = request(&["institution", "level", "name"], "pudong-counter-1");
    let req_file = env.write("req.json", &req.to_json());
    let args = present_args(&env, &req_file, &["--verifier-record", &record]);
    let j = env.ok(&strs(&args));
    let pngs: Vec<String> = j["png"]
        .as_array()
        .expect("png")
        .iter()
        .filter_map(|p| p.as_str().map(str::to_owned))
        .collect();
    assert_eq!(pngs.len() as u64, j["qr_parts"].as_u64().expect("parts"));
    assert!(pngs.len() > 1, "a diploma bundle is larger than one code: {j}");
    // Parts in reverse order still verify.
    let mut verify_args: Vec<&str> = vec!["verify"];
    verify_args.extend(pngs.iter().rev().map(String::as_str));
    let nonce = req.nonce_b64();
    verify_args.extend(["--trust-root", &tr, "--nonce", &nonce, "--audience", "pudong-counter-1"]);
    assert_eq!(env.ok(&verify_args)["verdict"], "valid");
    // A missing part is an input error.
    let mut missing: Vec<&str> = vec!["verify", &pngs[0]];
    missing.extend(["--trust-root", &tr, "--nonce", &nonce, "--audience", "pudong-counter-1"]);
    env.fails(&missing, 2);
    // The terminal rendering is drawn without --json.
    let r = env.run(&strs(&present_args(&env, &req_file, &["--verifier-record", &record])));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains('█') || r.stdout.contains('▀') || r.stdout.contains('▄'));
}

#[test]
fn refresh_picks_up_a_revocation() {
    let (env, mut world, issued) = wallet_with_diploma("refresh");
    let node = TestNode::start();
    // Node down (nothing served): exit 4.
    env.fails(&["refresh", "--node", &node.url], 4);
    node.serve_credential(&world, &issued);
    let j = env.ok(&["refresh", "--node", &node.url]);
    assert_eq!(j["credentials"][0]["status"], "active");

    // Present with fresh proofs and the verifier record from the node.
    node.serve_verifier(&world, VERIFIER);
    let req = request(&["name"], "pudong-counter-1");
    let req_file = env.write("req.json", &req.to_json());
    let args = present_args(&env, &req_file, &["--node", &node.url]);
    let j = env.ok(&strs(&args));
    assert_eq!(j["verifier_registry_checked"], true);

    world.revoke(&issued);
    node.serve_credential(&world, &issued);
    let j = env.ok(&["refresh", "--node", &node.url]);
    assert_eq!(j["credentials"][0]["status"], "revoked");
    assert_eq!(env.ok(&["list"])["credentials"][0]["status"], "revoked");
    // A revoked credential is not presented.
    let args = present_args(&env, &req_file, &["--node", &node.url]);
    assert_eq!(env.fails(&strs(&args), 1).error_code(), "revoked");
    // An unreachable node: exit 4.
    let dead = TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_url = format!("http://{}", dead.local_addr().expect("addr"));
    drop(dead);
    env.fails(&["refresh", "--node", &dead_url], 4);
}

#[test]
fn print_card_round_trip() {
    let (env, _world, _) = wallet_with_diploma("print");
    let id = env.ok(&["list"])["credentials"][0]["short_id"].as_str().expect("id").to_owned();
    let out = env.path("card.png").display().to_string();
    let r = env.run(&["print", &id, "--out", &out, "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    // The test hides every font: the notice says so and the card still carries its QR codes.
    assert!(r.stderr.contains("font"), "{}", r.stderr);
    let nonce = j["nonce"].as_str().expect("nonce").to_owned();
    let tr = env.path("trust.json").display().to_string();
    let v = env.ok(&[
        "verify",
        &out,
        "--trust-root",
        &tr,
        "--nonce",
        &nonce,
        "--audience",
        "certledger:print",
        "--max-presentation-age",
        "31536000",
        "--repeatable",
    ]);
    assert_eq!(v["verdict"], "valid");
    assert_eq!(
        v["accepted"]["claims"].as_array().map(Vec::len),
        Some(profiles::DIPLOMA.claims.len())
    );
    assert_eq!(j["bilingual"], false);

    // With a real font (when this machine has one), text is drawn and the QR codes still decode.
    for (font, bilingual) in [
        ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", true),
        ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", false),
    ] {
        if !Path::new(font).exists() {
            continue;
        }
        let out = env.path("card-font.png").display().to_string();
        let r = Command::new(BIN)
            .args(["print", &id, "--out", &out, "--json", "--passphrase-file"])
            .arg(&env.pass_file)
            .env("CERTLEDGER_WALLET_DIR", &env.wallet_dir)
            .env("CERTLEDGER_WALLET_INSECURE_TEST_KDF", "1")
            .env("CERTLEDGER_WALLET_FONT", font)
            .output()
            .expect("run");
        let j: Value = serde_json::from_slice(&r.stdout).expect("json");
        assert_eq!(j["bilingual"], bilingual, "{font}");
        assert_eq!(String::from_utf8_lossy(&r.stderr).contains("English-only"), !bilingual);
        let nonce = j["nonce"].as_str().expect("nonce").to_owned();
        let v = env.ok(&[
            "verify",
            &out,
            "--trust-root",
            &tr,
            "--nonce",
            &nonce,
            "--audience",
            "certledger:print",
            "--max-presentation-age",
            "31536000",
            "--repeatable",
        ]);
        assert_eq!(v["verdict"], "valid", "{font}");
    }
}

#[test]
fn a_second_command_waits_for_the_wallet_lock() {
    use fs4::fs_std::FileExt as _;
    let env = Env::new();
    env.init();
    // Another process (here: this test) holds the wallet directory's lock.
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(env.wallet_dir.join(".lock"))
        .expect("lock file");
    assert!(lock.try_lock_exclusive().expect("lock"));
    let before = std::fs::read(env.wallet_file()).expect("read");
    let out = Command::new(BIN)
        .args(["list", "--json", "--passphrase-file"])
        .arg(&env.pass_file)
        .env("CERTLEDGER_WALLET_DIR", &env.wallet_dir)
        .env("CERTLEDGER_WALLET_INSECURE_TEST_KDF", "1")
        .env("CERTLEDGER_WALLET_LOCK_WAIT_S", "1")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("another certledger-wallet command"), "{stdout}");
    assert_eq!(std::fs::read(env.wallet_file()).expect("read"), before);
    // Released: the same command runs.
    drop(lock);
    assert_eq!(env.ok(&["list"])["credentials"], json!([]));
}

/// The names in a directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn present_writes_no_files_into_the_current_directory_unless_asked() {
    let (env, world, _) = wallet_with_diploma("no files unasked");
    let record = env.write("verifier.json", &world.state_proof(VERIFIER));
    let req = request(&["institution", "name"], "pudong-counter-1");
    let req_file = env.write("req.json", &req.to_json());
    let before = listing(env.dir.path());
    let j = env.ok(&["present", "--request", &req_file, "--yes", "--verifier-record", &record]);
    assert_eq!(listing(env.dir.path()), before, "present wrote into the current directory");
    assert!(j["bundle"].as_str().is_some_and(|b| b.starts_with("CLB1.")), "{j}");
    assert_eq!(j["bundle_file"], Value::Null);
    assert_eq!(j["png"], json!([]));
    // Without --json the bundle text is printed.
    let r = env.run(&[
        "present",
        "--request",
        &req_file,
        "--yes",
        "--verifier-record",
        &record,
        "--no-terminal-qr",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.lines().any(|l| l.starts_with("CLB1.")), "{}", r.stdout);
    assert_eq!(listing(env.dir.path()), before);
}

#[test]
fn completions_and_man_page_need_no_wallet() {
    let env = Env::new();
    let r = env.run(&["completions", "bash"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("certledger-wallet") && r.stdout.contains("present"), "{}", r.stdout);
    let r = env.run(&["man"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(".TH certledger-wallet"), "{}", r.stdout);
    assert!(!env.wallet_dir.exists());
    env.fails(&["completions", "no-such-shell"], 2);
}

/// Issue #11 item 5: the wallet used to answer any request naming a registered verifier (the
/// registered key was never used) and answered requests without consulting the registry at all.
#[test]
fn a_request_not_signed_by_the_registered_key_is_refused_before_anything_else() {
    let (env, world, _) = wallet_with_diploma("forged request");
    let record = env.write("verifier.json", &world.state_proof(VERIFIER));
    let forged = signed_request(
        &SecretKey::from_seed(&[66; 32]),
        "diploma-check",
        &["institution", "name"],
        VERIFIER,
    );
    let args = present_args(&env, &forged.to_text(), &["--verifier-record", &record]);
    let r = env.fails(&strs(&args), 1);
    assert_eq!(r.error_code(), "bad_request_signature");
    assert!(!env.path("answer.clb").exists());
    // A genuine request altered after signing (one more claim) is refused the same way.
    let mut altered: Value = serde_json::from_str(&request(&["name"], VERIFIER).to_json()).unwrap();
    altered["claims"] = json!(["institution", "name"]);
    let file = env.write("altered.json", &altered.to_string());
    let args = present_args(&env, &file, &["--verifier-record", &record]);
    assert_eq!(env.fails(&strs(&args), 1).error_code(), "bad_request_signature");
    // No registry data: refused, unless the loud testing override is given.
    let genuine = request(&["name"], VERIFIER);
    let args = present_args(&env, &genuine.to_text(), &[]);
    assert_eq!(env.fails(&strs(&args), 1).error_code(), "verifier_unchecked");
    let args = present_args(&env, &genuine.to_text(), &["--insecure-unchecked-request"]);
    let mut all = strs(&args);
    all.push("--json");
    let r = env.run(&all);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("WARNING") && r.stderr.contains("NOT checked"), "{}", r.stderr);
    assert_eq!(r.json()["request_signature_checked"], false);
    // A purpose that is not a registered purpose id is refused, not widened to the union.
    let unregistered = signed_request(&verifier_key(), "核验学历", &["name"], VERIFIER);
    let args = present_args(&env, &unregistered.to_text(), &["--verifier-record", &record]);
    assert_eq!(env.fails(&strs(&args), 1).error_code(), "unknown_purpose");
    // An unsigned version 1 request is refused as such.
    let mut v1: Value = serde_json::from_str(&genuine.to_json()).unwrap();
    v1["version"] = 1.into();
    v1.as_object_mut().unwrap().remove("signature");
    let file = env.write("v1.json", &v1.to_string());
    let args = present_args(&env, &file, &["--verifier-record", &record]);
    env.fails(&strs(&args), 2);
}

/// Issue #11 item 5: the wallet keeps every answered request as a consent record, listed and
/// exported, with the verifier's signed request so the verifier's own signature proves who asked.
#[test]
fn history_lists_and_exports_every_answered_request() {
    let (env, world, _) = wallet_with_diploma("history");
    let record = env.write("verifier.json", &world.state_proof(VERIFIER));
    assert_eq!(env.ok(&["history"])["records"], json!([]));
    let first = request(&["institution", "name"], VERIFIER);
    env.ok(&strs(&present_args(&env, &first.to_text(), &["--verifier-record", &record])));
    let second = request(&["name"], VERIFIER);
    let args = present_args(&env, &second.to_text(), &["--verifier-record", &record]);
    env.ok(&strs(&args));
    // A refused request leaves no record.
    let forged =
        signed_request(&SecretKey::from_seed(&[66; 32]), "diploma-check", &["name"], VERIFIER);
    env.fails(&strs(&present_args(&env, &forged.to_text(), &["--verifier-record", &record])), 1);

    let out = env.path("consents.json").display().to_string();
    let j = env.ok(&["history", "--out", &out]);
    let records = j["records"].as_array().expect("records");
    assert_eq!(records.len(), 2);
    // Newest first; each with what was disclosed, when, to whom, and the signed request.
    assert_eq!(records[0]["disclosed"], json!(["name"]));
    assert_eq!(records[1]["disclosed"], json!(["institution", "name"]));
    for (r, req) in records.iter().zip([&second, &first]) {
        assert_eq!(r["verifier_id"], VERIFIER);
        assert_eq!(r["verifier_name_en"], "Pudong service centre");
        assert_eq!(r["registered_purpose"], "diploma-check");
        assert_eq!(r["signature_checked"], true);
        assert!(r["at"].as_u64().is_some_and(|t| t + 60 > now()));
        let signed = PresentationRequest::from_text(r["request"].as_str().expect("request"))
            .expect("stored request parses");
        assert_eq!(&signed, req);
        signed.verify_signature(&verifier_key().public_key()).expect("verifier's signature");
    }
    let exported: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("export")).expect("json");
    assert_eq!(exported["records"], j["records"]);
    // The history is inside the encrypted wallet: the file does not contain it in clear.
    let raw = std::fs::read(env.wallet_file()).expect("wallet file");
    assert!(!raw.windows(VERIFIER.len()).any(|w| w == VERIFIER.as_bytes()));
    // Both languages; a filter by verifier.
    let zh = env.run(&["history", "--lang", "zh"]);
    assert!(
        zh.stdout.contains("签名已核验") && zh.stdout.contains("浦东市民中心"),
        "{}",
        zh.stdout
    );
    let en = env.run(&["history", "--lang", "en"]);
    assert!(en.stdout.contains("signature checked"), "{}", en.stdout);
    assert_eq!(env.ok(&["history", "--verifier", "nobody"])["records"], json!([]));
}

/// Issue #11 item 6: the same bundle was accepted twice within its freshness window.
#[test]
fn verify_accepts_a_nonce_once_and_enforces_the_request_expiry() {
    let (env, world, _) = wallet_with_diploma("single-use nonce");
    let record = env.write("verifier.json", &world.state_proof(VERIFIER));
    let tr = env.path("trust.json").display().to_string();
    let req = request(&["institution", "name"], VERIFIER);
    let req_file = env.write("req.json", &req.to_json());
    env.ok(&strs(&present_args(&env, &req_file, &["--verifier-record", &record])));
    let bundle = env.path("answer.clb").display().to_string();
    let by_request = ["verify", &bundle, "--trust-root", &tr, "--request", &req_file];
    assert_eq!(env.ok(&by_request)["verdict"], "valid");
    // The same bundle again: refused, by request or by bare nonce and audience.
    assert_eq!(env.fails(&by_request, 1).error_code(), "nonce_replayed");
    let nonce = req.nonce_b64();
    let bare = ["verify", &bundle, "--trust-root", &tr, "--nonce", &nonce, "--audience", VERIFIER];
    assert_eq!(env.fails(&bare, 1).error_code(), "nonce_replayed");
    // The seen-nonce file is persisted in the wallet directory and bounded by expiry: once the
    // request expired, the entry is forgotten, and the request itself is refused as expired.
    let seen = std::fs::read_to_string(env.wallet_dir.join("seen-nonces.json")).expect("seen");
    assert!(seen.contains(&nonce), "{seen}");
    let late = (req.expires_at() + 1).to_string();
    let mut expired = by_request.to_vec();
    expired.extend(["--at", &late]);
    assert_eq!(env.fails(&expired, 1).error_code(), "request_expired");
}

/// Issue #11 item 5: a request signed by a rotated-out key, or by a retired verifier, is refused
/// by the wallet once the registry record it is shown says so.
#[test]
fn rotated_out_keys_and_retired_verifiers_are_refused() {
    use certledger_core::ledger::{RetireVerifier, RotateVerifier};
    let (env, mut world, _) = wallet_with_diploma("rotated verifier");
    let admin = world.s.department("education").expect("dept").admin.clone();
    let new_key = SecretKey::from_seed(&[10; 32]);
    world.s.submit(
        &admin,
        EntryBody::RotateVerifier(RotateVerifier {
            verifier_id: VERIFIER.to_owned(),
            new_key: new_key.public_key(),
        }),
    );
    world.s.commit(1).expect("commit");
    let record = env.write("rotated.json", &world.state_proof(VERIFIER));
    let old = request(&["name"], VERIFIER);
    let args = present_args(&env, &old.to_text(), &["--verifier-record", &record]);
    assert_eq!(env.fails(&strs(&args), 1).error_code(), "bad_request_signature");
    let new = signed_request(&new_key, "diploma-check", &["name"], VERIFIER);
    let args = present_args(&env, &new.to_text(), &["--verifier-record", &record]);
    env.ok(&strs(&args));

    world.s.submit(
        &admin,
        EntryBody::RetireVerifier(RetireVerifier { verifier_id: VERIFIER.to_owned() }),
    );
    world.s.commit(1).expect("commit");
    let record = env.write("retired.json", &world.state_proof(VERIFIER));
    let again = signed_request(&new_key, "diploma-check 再次", &["name"], VERIFIER);
    let args = present_args(&env, &again.to_text(), &["--verifier-record", &record]);
    assert_eq!(env.fails(&strs(&args), 1).error_code(), "verifier_retired");
}

/// The plaintext of a wallet file, decrypted here from the layout in `specs/wallet.md` (not with
/// the wallet's own code), so the erasure test sees exactly what the file holds.
fn decrypt_wallet(file: &Path) -> Vec<u8> {
    use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
    let bytes = std::fs::read(file).expect("wallet file");
    assert_eq!(&bytes[..4], b"CLW\x01", "wallet magic");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("u32"));
    let (m_kib, t, p) = (be(5), be(9), be(13));
    let salt = &bytes[17..33];
    let nonce = &bytes[34..58];
    let params = argon2::Params::new(m_kib, t, p, Some(32)).expect("params");
    let mut key = [0u8; 32];
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_into(PASS.as_bytes(), salt, &mut key)
        .expect("kdf");
    chacha20poly1305::XChaCha20Poly1305::new(&key.into())
        .decrypt(nonce.into(), Payload { msg: &bytes[58..], aad: &bytes[..58] })
        .expect("the wallet decrypts")
}

/// Every file under `dir` (recursively), the wallet file decrypted, as (path, bytes).
fn wallet_dir_contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "wallet.clw") {
                out.push((path.clone(), decrypt_wallet(&path)));
            } else {
                out.push((path.clone(), std::fs::read(&path).expect("read")));
            }
        }
    }
    out
}

/// What links a holder to an issued credential: the issuer-signed JWT (it names the holder
/// key), every disclosure string, every salt, every claim value (as text and JSON-escaped) and
/// the credential id (base64url and hex).
fn linking_strings(issued: &Issued) -> Vec<String> {
    let sd = certledger_core::sdjwt::SdJwt::parse(&issued.sd_jwt).expect("sd-jwt");
    let mut out = vec![
        sd.issuer_jwt.clone(),
        URL_SAFE_NO_PAD.encode(issued.credential_id),
        hex::encode(issued.credential_id),
    ];
    for d in &sd.disclosures {
        out.push(d.encoded.clone());
        out.push(d.salt.clone());
        if let Value::String(v) = &d.value {
            out.push(v.clone());
            out.push(serde_json::to_string(v).expect("json").trim_matches('"').to_owned());
        }
    }
    out
}

fn find_any(files: &[(PathBuf, Vec<u8>)], needles: &[String]) -> Vec<String> {
    let mut hits = Vec::new();
    for (path, bytes) in files {
        for n in needles {
            if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                hits.push(format!("{} holds {n}", path.display()));
            }
        }
    }
    hits
}

/// Issue #13 part 5: after `delete`, nothing in the wallet directory (the wallet decrypted)
/// links the holder to the credential, the consent history keeps the verifier, purpose and claim
/// names, and the ledger entry (which never held a claim or salt) still proves inclusion.
#[test]
fn delete_erases_the_credential_its_salts_and_disclosures_from_the_wallet() {
    let (env, world, issued) = wallet_with_diploma("erasure");
    let record = env.write("verifier.json", &world.state_proof(VERIFIER));
    let req = request(&["institution", "name"], VERIFIER);
    env.ok(&strs(&present_args(&env, &req.to_text(), &["--verifier-record", &record])));
    let id = URL_SAFE_NO_PAD.encode(issued.credential_id);
    let secrets = linking_strings(&issued);
    assert!(secrets.len() > 10, "{secrets:?}");
    // The check sees them while the credential is there (the decryption and search work).
    let before = find_any(&wallet_dir_contents(&env.wallet_dir), &secrets);
    assert!(before.iter().any(|h| h.contains(&issued.sd_jwt[..40])), "{before:?}");

    // Without a terminal and without --yes nothing is deleted.
    env.fails(&["delete", &id[..8]], 2);
    assert_eq!(env.ok(&["list"])["credentials"].as_array().map(Vec::len), Some(1));

    let j = env.ok(&["delete", &id[..8], "--yes"]);
    assert_eq!(j["deleted"], id.as_str());
    assert_eq!(j["consent_records_updated"], 1);
    let left = find_any(&wallet_dir_contents(&env.wallet_dir), &secrets);
    assert!(left.is_empty(), "after delete the wallet still links: {left:#?}");
    assert_eq!(env.ok(&["list"])["credentials"], json!([]));
    env.fails(&["show", &id[..8]], 2);
    // The consent history keeps who asked for which claim names, by the verifier's signature.
    let h = env.ok(&["history"]);
    let r = &h["records"][0];
    assert_eq!(r["verifier_id"], VERIFIER);
    assert_eq!(r["disclosed"], json!(["institution", "name"]));
    assert_eq!(r["credentials"], json!([["erased", profiles::DIPLOMA.id]]));
    assert_eq!(r["request"], req.to_text());

    // The ledger: the anchor leaf and the credential record hold none of it, and the log still
    // proves the anchor's inclusion under the checkpoint.
    let proofs = world.proofs(&issued);
    let ledger_bytes = vec![
        (PathBuf::from("anchor leaf"), proofs.anchor_leaf.clone()),
        (PathBuf::from("credential record"), proofs.credential_record.to_bytes()),
    ];
    // (The credential id is on the ledger by design: without the JWT it names no one.)
    let not_ids: Vec<String> = secrets
        .iter()
        .filter(|s| **s != id && **s != hex::encode(issued.credential_id))
        .cloned()
        .collect();
    let on_ledger = find_any(&ledger_bytes, &not_ids);
    assert!(on_ledger.is_empty(), "{on_ledger:?}");
    assert_eq!(proofs.anchor_proof.index, proofs.credential_record.log_index);
    certledger_core::merkle::verify_inclusion(
        &certledger_core::merkle::leaf_hash(&proofs.anchor_leaf),
        proofs.anchor_proof.index,
        proofs.anchor_proof.size,
        &proofs.anchor_proof.path,
        &world.s.ledger.log_root(),
    )
    .expect("the log still proves the anchor");
}

/// Issue #13 part 6: the verifier chooses how old a status it accepts (`--max-checkpoint-age`),
/// a printed card checked days later is judged by that rule and says "status as of", and the
/// output says plainly that a paper card does not prove who holds it.
#[test]
fn verify_takes_the_verifiers_checkpoint_age_and_says_a_card_proves_no_holder() {
    let (env, _world, _) = wallet_with_diploma("card settings");
    let id = env.ok(&["list"])["credentials"][0]["short_id"].as_str().expect("id").to_owned();
    let out = env.path("card.png").display().to_string();
    let j = env.ok(&["print", &id, "--out", &out]);
    let nonce = j["nonce"].as_str().expect("nonce").to_owned();
    let tr = env.path("trust.json").display().to_string();
    let three_days_later = (now() + 3 * 86400).to_string();
    let card = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "verify",
            out.as_str(),
            "--trust-root",
            tr.as_str(),
            "--nonce",
            nonce.as_str(),
            "--audience",
            "certledger:print",
            "--max-presentation-age",
            "31536000",
            "--repeatable",
            "--at",
            three_days_later.as_str(),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v
    };
    // The default (24 hours) refuses a three-day-old status; so does an explicit 2 days.
    let r = env.fails(&strs(&card(&[])), 1);
    assert_eq!(r.error_code(), "stale_checkpoint", "{}", r.stdout);
    let r = env.fails(&strs(&card(&["--max-checkpoint-age", "172800"])), 1);
    assert_eq!(r.error_code(), "stale_checkpoint");
    // A counter that accepts a week-old status accepts it, and says as of when.
    let v = env.ok(&strs(&card(&["--max-checkpoint-age", "604800"])));
    assert_eq!(v["verdict"], "valid");
    assert_eq!(v["settings"]["max_checkpoint_age_s"], 604800);
    let as_of = v["status_as_of"].as_u64().expect("status_as_of");
    assert_eq!(Some(as_of), v["accepted"]["checkpoint_time"].as_u64());
    let args = card(&["--max-checkpoint-age", "604800", "--lang", "en"]);
    let r = env.run(&strs(&args));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("status as of 状态截至"), "{}", r.stdout);
    assert!(r.stdout.contains("7 day(s)") && r.stdout.contains("7 天"), "{}", r.stdout);
    assert!(r.stdout.contains("not who holds it") && r.stdout.contains("当面核对"), "{}", r.stdout);
    // Out-of-range settings are usage errors.
    env.fails(&strs(&card(&["--max-checkpoint-age", "0"])), 2);
    env.fails(&strs(&card(&["--min-assurance", "5"])), 2);
}

/// Issue #13 part 6, card mode with a network: `verify --node` decides a printed card with the
/// node's current proofs (asked for by credential id only), so a revocation after printing is
/// seen; with the node unreachable, the card's own proofs decide and a notice says so.
#[test]
fn verify_with_a_node_refreshes_a_printed_cards_status() {
    let (env, mut world, issued) = wallet_with_diploma("card refresh");
    let id = env.ok(&["list"])["credentials"][0]["short_id"].as_str().expect("id").to_owned();
    let out = env.path("card.png").display().to_string();
    let j = env.ok(&["print", &id, "--out", &out]);
    let nonce = j["nonce"].as_str().expect("nonce").to_owned();
    let tr = env.path("trust.json").display().to_string();
    let card = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "verify",
            out.as_str(),
            "--trust-root",
            tr.as_str(),
            "--nonce",
            nonce.as_str(),
            "--audience",
            "certledger:print",
            "--max-presentation-age",
            "31536000",
            "--repeatable",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v
    };
    world.revoke(&issued);
    // Offline the card still shows its printed status.
    let v = env.ok(&strs(&card(&[])));
    assert_eq!((v["verdict"].as_str(), v["refreshed"].as_bool()), (Some("valid"), Some(false)));
    // With the node, the revocation is seen.
    let node = TestNode::start();
    node.serve_credential(&world, &issued);
    let r = env.fails(&strs(&card(&["--node", &node.url])), 1);
    assert_eq!(r.error_code(), "revoked", "{}", r.stdout);
    // An unreachable node: decided offline, and said so.
    let dead = TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_url = format!("http://{}", dead.local_addr().expect("addr"));
    drop(dead);
    let mut args = card(&["--node", &dead_url]);
    args.push("--json".to_owned());
    let r = env.run(&strs(&args));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["refreshed"], false);
    assert!(r.stderr.contains("could not refresh") && r.stderr.contains("无法从节点更新状态"));
}

impl TestNode {
    /// Serves proofs whose checkpoint is a fork of the real one: same log size, another root,
    /// signed by a quorum of the departments (specs/evidence.md).
    fn serve_forked_credential(&self, world: &World, issued: &Issued) {
        use certledger_core::note::{LedgerCheckpoint, Note, NoteSigner};
        let mut proofs = world.proofs(issued);
        let note = Note::parse(&proofs.checkpoint).expect("note");
        let mut cp = LedgerCheckpoint::parse_body(note.text()).expect("body");
        cp.root = [0xAA; 32];
        let trust = world.s.trust_root();
        let mut forked = Note::new(&cp.to_body()).expect("note");
        for k in trust.keys.iter().take(trust.threshold) {
            let key = world.s.department(&k.name).expect("dept").node.clone();
            forked.sign(&NoteSigner::new(&k.name, key).expect("signer")).expect("sign");
        }
        proofs.checkpoint = forked.to_text();
        let path =
            format!("/v1/proofs/credential/{}", URL_SAFE_NO_PAD.encode(issued.credential_id));
        let body = json!({
            "height": world.s.ledger.height(),
            "proofs": URL_SAFE_NO_PAD.encode(proofs.to_bytes()),
        });
        self.routes.lock().expect("lock").insert(path, body.to_string());
    }
}

/// A node that serves a checkpoint conflicting with the one the wallet holds (same log size,
/// another root, both quorum-signed): `refresh` and `verify --node` refuse the pair, say so in
/// Chinese and English, and print the evidence against the departments that signed both.
#[test]
fn refresh_and_verify_refuse_a_forked_checkpoint_pair() {
    let (env, world, issued) = wallet_with_diploma("fork");
    let node = TestNode::start();
    node.serve_forked_credential(&world, &issued);
    let r = env.fails(&["refresh", "--node", &node.url], 1);
    assert_eq!(r.error_code(), "conflicting_checkpoints", "{}\n{}", r.stdout, r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("forked") && all.contains("账本已分叉"), "{all}");
    assert!(all.contains("evidence "), "{all}");
    // The wallet kept its own proofs: the real checkpoint still refreshes.
    node.serve_credential(&world, &issued);
    assert_eq!(env.ok(&["refresh", "--node", &node.url])["credentials"][0]["status"], "active");

    let id = env.ok(&["list"])["credentials"][0]["short_id"].as_str().expect("id").to_owned();
    let out = env.path("card.png").display().to_string();
    let nonce = env.ok(&["print", &id, "--out", &out])["nonce"].as_str().expect("n").to_owned();
    let tr = env.path("trust.json").display().to_string();
    node.serve_forked_credential(&world, &issued);
    let args = [
        "verify",
        out.as_str(),
        "--trust-root",
        tr.as_str(),
        "--nonce",
        nonce.as_str(),
        "--audience",
        "certledger:print",
        "--max-presentation-age",
        "31536000",
        "--repeatable",
        "--node",
        node.url.as_str(),
    ];
    let r = env.fails(&args, 1);
    assert_eq!(r.error_code(), "conflicting_checkpoints", "{}\n{}", r.stdout, r.stderr);
}

/// This ledger's root, sequence `sequence`, named `zh`/`en`, signed by 3 of its 4 departments.
fn ledger_root(world: &World, zh: &str, en: &str, sequence: u64) -> LedgerRoot {
    let s = &world.s;
    let mut root =
        LedgerRoot::new(&s.trust_root(), s.genesis.departments.clone(), zh, en, sequence, now())
            .expect("ledger root");
    for d in s.departments.iter().take(3) {
        root.sign(&d.admin);
    }
    root
}

#[test]
fn a_trust_list_of_two_provinces_imports_presents_and_verifies_each() {
    const SH: &str = "cn.gov.shanghai.wallet-test";
    const ZJ: &str = "cn.gov.zhejiang.wallet-test";
    let env = Env::new();
    let holder = env.init();
    let mut sh = World::on_chain("trust list: shanghai", SH);
    let mut zj = World::on_chain("trust list: zhejiang", ZJ);
    let sh_cred = sh.issue(&holder);
    let zj_cred = zj.issue(&holder);
    let sh_root = env.write("sh.root.json", &ledger_root(&sh, "上海市", "Shanghai", 1).to_json());
    let zj_root = ledger_root(&zj, "浙江省", "Zhejiang", 1);
    let zj_root_file = env.write("zj.root.json", &zj_root.to_json());

    // Nothing is trusted yet; then Shanghai only.
    let sh_file = env.write("sh.cred.json", &sh.credential_file(&sh_cred));
    let zj_file = env.write("zj.cred.json", &zj.credential_file(&zj_cred));
    env.fails(&["import", &sh_file], 2);
    let added = env.ok(&["trust", "add", &sh_root]);
    assert_eq!(added["ledgers"][0]["result"], "added");
    assert_eq!(added["ledgers"][0]["name_en"], "Shanghai");
    assert_eq!(env.fails(&["import", &zj_file], 1).error_code(), "unlisted_ledger");

    // A root changed after signing, or signed by too few departments, is refused.
    let mut forged = zj_root.clone();
    forged.name_en = "Zhejiang (forged)".into();
    let forged = env.write("forged.json", &forged.to_json());
    assert_eq!(env.fails(&["trust", "add", &forged], 1).error_code(), "bad_signature");
    let mut weak = zj_root.clone();
    weak.signatures.truncate(2);
    let weak = env.write("weak.json", &weak.to_json());
    assert_eq!(env.fails(&["trust", "add", &weak], 1).error_code(), "not_approved");

    assert_eq!(env.ok(&["trust", "add", &zj_root_file])["ledgers"][0]["result"], "added");
    assert_eq!(env.ok(&["trust", "add", &zj_root_file])["ledgers"][0]["result"], "unchanged");
    let newer = env.write("zj2.json", &ledger_root(&zj, "浙江省", "Zhejiang", 2).to_json());
    assert_eq!(env.ok(&["trust", "add", &newer])["ledgers"][0]["result"], "updated");
    let r = env.fails(&["trust", "add", &zj_root_file], 1);
    assert_eq!(r.error_code(), "rollback");

    // Each credential imports and names its ledger and department.
    let a = env.ok(&["import", &sh_file]);
    assert_eq!(a["issued_by"]["ledger_en"], "Shanghai");
    assert_eq!(a["issued_by"]["department_en"], "Department of Education");
    let b = env.ok(&["import", &zj_file]);
    assert_eq!(b["issued_by"]["ledger_zh"], "浙江省");
    let zj_id = b["short_id"].as_str().expect("short id").to_owned();

    let list = env.ok(&["trust", "list"]);
    let names: Vec<&str> = list["ledgers"]
        .as_array()
        .expect("ledgers")
        .iter()
        .filter_map(|l| l["name_en"].as_str())
        .collect();
    assert_eq!(names, ["Shanghai", "Zhejiang"]);
    assert_eq!(list["ledgers"][1]["sequence"], 2);
    let text = env.run(&["trust", "list"]).stdout;
    assert!(text.contains("浙江省 / Zhejiang") && text.contains("上海市 / Shanghai"), "{text}");

    // A Shanghai counter (registered on the Shanghai ledger) takes the Zhejiang credential.
    let record = env.write("verifier.json", &sh.state_proof(VERIFIER));
    let req = request(&["institution", "name"], "pudong-counter-1");
    let req_file = env.write("req.json", &req.to_json());
    let args =
        present_args(&env, &req_file, &["--verifier-record", &record, "--credential", &zj_id]);
    env.ok(&strs(&args));
    let bundle = env.path("answer.clb").display().to_string();
    let both = env.write(
        "list.json",
        &format!(
            "{{\"version\":1,\"ledgers\":[{},{}]}}",
            std::fs::read_to_string(env.path("sh.root.json")).expect("read"),
            zj_root.to_json()
        ),
    );
    let nonce = req.nonce_b64();
    let verify = [
        "verify",
        &bundle,
        "--trust-list",
        &both,
        "--nonce",
        &nonce,
        "--audience",
        "pudong-counter-1",
        "--repeatable",
    ];
    let v = env.ok(&verify);
    assert_eq!(v["accepted"]["issued_by"]["chain_id"], ZJ);
    assert_eq!(v["accepted"]["issued_by"]["ledger_en"], "Zhejiang");
    assert_eq!(v["accepted"]["issued_by"]["department_zh"], "教育部门");
    let text = env.run(&verify[..verify.len()]).stdout;
    assert!(text.contains("ledger 账本: 浙江省 / Zhejiang"), "{text}");
    // The same counter with only Shanghai on its list refuses it.
    let only_sh = [
        "verify",
        &bundle,
        "--trust-root",
        &sh_root,
        "--nonce",
        &nonce,
        "--audience",
        "pudong-counter-1",
        "--repeatable",
    ];
    assert_eq!(env.fails(&only_sh, 1).error_code(), "unlisted_ledger");

    // Dropping Zhejiang: its credential stays stored but is no longer presented.
    let d = env.ok(&["trust", "drop", ZJ]);
    assert_eq!(d["stored_credentials_from_it"], 1);
    let r = env.fails(&strs(&args), 1);
    assert_eq!(r.error_code(), "unlisted_ledger");
    env.fails(&["trust", "drop", ZJ], 2);
    assert_eq!(env.ok(&["trust", "list"])["ledgers"].as_array().map(Vec::len), Some(1));
}

#[test]
fn a_plain_trust_root_still_works_beside_a_signed_ledger() {
    let (env, world, _) = wallet_with_diploma("plain root beside a list");
    let list = env.ok(&["trust", "list"]);
    assert_eq!(list["ledgers"][0]["chain_id"], CHAIN);
    assert_eq!(list["ledgers"][0]["signed"], false);
    // The same ledger's signed root replaces the plain one in the list.
    let root = env.write("root.json", &ledger_root(&world, "测试", "Test", 1).to_json());
    env.ok(&["trust", "add", &root]);
    let list = env.ok(&["trust", "list"]);
    assert_eq!(list["ledgers"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["ledgers"][0]["signed"], true);
    // A plain root is not a ledger root for `trust add`.
    let plain = env.path("trust.json").display().to_string();
    env.fails(&["trust", "add", &plain], 2);
}

#[test]
fn refresh_from_one_ledgers_node_skips_the_other_ledgers_credentials() {
    const ZJ: &str = "cn.gov.zhejiang.refresh-test";
    let env = Env::new();
    let holder = env.init();
    let mut sh = World::new("refresh across ledgers: shanghai");
    let mut zj = World::on_chain("refresh across ledgers: zhejiang", ZJ);
    let (sh_cred, zj_cred) = (sh.issue(&holder), zj.issue(&holder));
    for (world, zh, en) in [(&sh, "上海市", "Shanghai"), (&zj, "浙江省", "Zhejiang")] {
        let root = env.write("root.json", &ledger_root(world, zh, en, 1).to_json());
        env.ok(&["trust", "add", &root]);
    }
    env.ok(&["import", &env.write("sh.json", &sh.credential_file(&sh_cred))]);
    env.ok(&["import", &env.write("zj.json", &zj.credential_file(&zj_cred))]);
    // A Shanghai node: the credential's proofs, and any state proof (its checkpoint names the
    // ledger). The Zhejiang credential is not asked for there.
    let node = TestNode::start();
    node.serve_credential(&sh, &sh_cred);
    let zero = [0u8; 32];
    let state = json!({
        "key": hex::encode(zero),
        "height": sh.s.ledger.height(),
        "value": null,
        "proof": URL_SAFE_NO_PAD.encode(sh.s.ledger.prove_state(&zero).expect("proof").to_bytes()),
        "checkpoint": sh.s.checkpoint(3).expect("checkpoint"),
    });
    node.routes
        .lock()
        .expect("lock")
        .insert(format!("/v1/proofs/state/{}", hex::encode(zero)), state.to_string());
    let r = env.ok(&["refresh", "--node", &node.url]);
    let items = r["credentials"].as_array().expect("credentials");
    let zj_id = URL_SAFE_NO_PAD.encode(zj_cred.credential_id);
    let sh_id = URL_SAFE_NO_PAD.encode(sh_cred.credential_id);
    let of = |id: &str| items.iter().find(|c| c["id"] == id).cloned().unwrap_or_default();
    assert_eq!(of(&zj_id)["skipped"], "other_ledger");
    assert_eq!(of(&sh_id)["status"], "active");
    assert!(of(&sh_id).get("skipped").is_none());
    let text = env.run(&["refresh", "--node", &node.url]).stdout;
    assert!(text.contains("来自其他账本"), "{text}");
}

/// A full-disclosure W3C credential: imported (proof, anchor and holder checked), listed and
/// shown as W3C in both languages, refused for a request that does not allow every claim it
/// carries, presented for one that does, and the bundle verifies.
#[test]
fn w3c_credential_imports_presents_only_within_the_request_and_verifies() {
    let env = Env::new();
    let holder = env.init();
    let mut world = World::new("w3c");
    let tr = env.write("trust.json", &world.trust_root());
    env.ok(&["trust", "set", &tr]);

    // Refused: bound to another holder; a changed claim breaks the issuer's proof.
    let stranger = world.issue_w3c(&SecretKey::from_seed(&[3; 32]).public_key());
    let f = env.write("stranger.json", &world.w3c_credential_file(&stranger));
    assert_eq!(env.fails(&["import", &f], 1).error_code(), "holder_key_mismatch");
    let issued = world.issue_w3c(&holder);
    let mut cf = CredentialFile::from_json(&world.w3c_credential_file(&issued)).expect("parse");
    let name = example_claims(world.ty)["name"].as_str().expect("name").to_owned();
    cf.w3c_vc = cf.w3c_vc.map(|vc| vc.replace(&name, "Someone Else"));
    let tampered = env.write("tampered.json", &cf.to_json());
    assert_eq!(env.fails(&["import", &tampered], 1).error_code(), "bad_issuer_signature");

    let file = env.write("diploma-w3c.json", &world.w3c_credential_file(&issued));
    let j = env.ok(&["import", &file]);
    assert_eq!(j["format"], "w3c");
    assert_eq!(j["type"], profiles::DIPLOMA.id);
    let list = env.ok(&["list"]);
    assert_eq!(list["credentials"][0]["format"], "w3c");
    let id = list["credentials"][0]["short_id"].as_str().expect("id").to_owned();
    let r = env.run(&["list", "--lang", "en"]);
    assert!(r.stdout.contains("Diploma (W3C)"), "{}", r.stdout);
    let r = env.run(&["show", &id, "--lang", "en"]);
    assert!(r.stdout.contains("every claim is disclosed"), "{}", r.stdout);
    let r = env.run(&["show", &id, "--lang", "zh"]);
    assert!(r.stdout.contains("披露全部信息") && r.stdout.contains("学校名称"), "{}", r.stdout);
    let shown = env.ok(&["show", &id]);
    let claims = shown["claims"].as_array().expect("claims");
    assert_eq!(claims.len(), profiles::DIPLOMA.claims.len());
    assert!(claims.iter().all(|c| c["disclosable"] == false));

    // The registered purpose allows three claims; the W3C credential carries six: refused.
    let record = env.write("verifier.json", &world.state_proof(VERIFIER));
    let req = request(&["institution", "level", "name"], "pudong-counter-1");
    let req_file = env.write("req.json", &req.to_json());
    let r = env.fails(&strs(&present_args(&env, &req_file, &["--verifier-record", &record])), 1);
    assert_eq!(r.error_code(), "would_over_disclose");
    let err = &r.json()["error"];
    assert!(err["message_en"].as_str().is_some_and(|m| m.contains("certificate_number")), "{err}");
    assert!(err["message_zh"].as_str().is_some_and(|m| m.contains("全部信息")), "{err}");
    assert!(!env.path("answer.clb").exists());
    // A verifier registered for every claim of the diploma.
    const OFFICE: &str = "registry-office";
    let mut all: Vec<String> = profiles::DIPLOMA.claims.iter().map(|c| c.name.to_owned()).collect();
    all.sort();
    let admin = world.s.department("education").expect("dept").admin.clone();
    world.s.submit(
        &admin,
        EntryBody::RegisterVerifier(RegisterVerifier {
            verifier_id: OFFICE.to_owned(),
            department: "education".to_owned(),
            name_zh: "学籍档案室".to_owned(),
            name_en: "Registry office".to_owned(),
            verifier_key: verifier_key().public_key(),
            purposes: vec![Purpose { id: "diploma-full".to_owned(), claims: all.clone() }],
        }),
    );
    world.s.commit(1).expect("commit");
    let record = env.write("office.json", &world.state_proof(OFFICE));
    let req = PresentationRequest::new(
        RequestOptions {
            verifier_id: OFFICE.to_owned(),
            purpose: "diploma-full 学历全部信息".to_owned(),
            claims: all,
            credential_types: vec![profiles::DIPLOMA.id.to_owned()],
            audience: OFFICE.to_owned(),
            lifetime_s: 600,
        },
        &verifier_key(),
        &mut SeededRng::from_label("w3c full request"),
        now(),
    )
    .expect("request");
    let req_file = env.write("req-all.json", &req.to_json());
    // Narrowing with --disclose cannot hide a claim of a W3C credential.
    let extra = ["--verifier-record", &record, "--disclose", "name"];
    let r = env.fails(&strs(&present_args(&env, &req_file, &extra)), 1);
    assert_eq!(r.error_code(), "would_over_disclose");

    // A request allowing every claim: presented (the summary says so), and the bundle verifies.
    let extra = ["--verifier-record", &record, "--lang", "en"];
    let r = env.run(&strs(&present_args(&env, &req_file, &extra)));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("W3C credential: every claim it carries is disclosed"),
        "{}",
        r.stdout
    );
    let bundle = env.path("answer.clb").display().to_string();
    let v = env.ok(&[
        "verify",
        &bundle,
        "--trust-root",
        &tr,
        "--nonce",
        &req.nonce_b64(),
        "--audience",
        OFFICE,
    ]);
    assert_eq!(v["verdict"], "valid", "{v}");
    assert_eq!(v["accepted"]["claims"].as_array().map(Vec::len), Some(6), "{v}");
    let r = env.fails(
        &[
            "verify",
            &bundle,
            "--trust-root",
            &tr,
            "--nonce",
            &req.nonce_b64(),
            "--audience",
            "another-counter",
        ],
        1,
    );
    assert_eq!(r.error_code(), "audience_mismatch");

    // A paper card of a W3C credential: all of it, never a --disclose subset.
    let card = env.path("w3c-card.png").display().to_string();
    let r = env.fails(&["print", &id, "--out", &card, "--disclose", "name"], 1);
    assert_eq!(r.error_code(), "would_over_disclose");
    let j = env.ok(&["print", &id, "--out", &card]);
    let nonce = j["nonce"].as_str().expect("nonce").to_owned();
    let v = env.ok(&[
        "verify",
        &card,
        "--trust-root",
        &tr,
        "--nonce",
        &nonce,
        "--audience",
        "certledger:print",
        "--max-presentation-age",
        "31536000",
        "--repeatable",
    ]);
    assert_eq!(v["verdict"], "valid", "{v}");
    assert_eq!(v["accepted"]["claims"].as_array().map(Vec::len), Some(6), "{v}");

    // Refresh decides the W3C credential with a node's fresh proofs: active, then revoked.
    let node = TestNode::start();
    let serve = |world: &World| {
        let path =
            format!("/v1/proofs/credential/{}", URL_SAFE_NO_PAD.encode(issued.credential_id));
        let body = json!({
            "height": world.s.ledger.height(),
            "proofs": URL_SAFE_NO_PAD.encode(world.proofs_of(&issued.anchor).to_bytes()),
        });
        node.routes.lock().expect("lock").insert(path, body.to_string());
    };
    serve(&world);
    let j = env.ok(&["refresh", "--node", &node.url]);
    assert_eq!(j["credentials"][0]["status"], "active", "{j}");
    let issuer = world.issuer.clone();
    world
        .s
        .change_status(&issuer, issued.credential_id, CredentialStatus::Revoked, 4)
        .expect("revoke");
    serve(&world);
    let j = env.ok(&["refresh", "--node", &node.url]);
    assert_eq!(j["credentials"][0]["status"], "revoked", "{j}");
    let extra = ["--verifier-record", &record];
    let r = env.fails(&strs(&present_args(&env, &req_file, &extra)), 1);
    assert_eq!(r.error_code(), "revoked");
}
