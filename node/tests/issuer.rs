//! The issuer commands against a real 4-validator network on loopback: issuer registry
//! (register, rotate, retire, compromise), issuance of every shipped type, status changes,
//! batch issuance interrupted and resumed, audit with proofs, refused inputs, and the
//! verification page served at /verify/.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::bundle::Proofs;
use certledger_core::codec::Encode as _;
use certledger_core::credential_file::CredentialFile;
use certledger_core::ledger::{CompromiseIssuer, CredentialStatus, EntryBody, SignedEntry};
use certledger_core::profiles::{self, CredentialType};
use certledger_core::sig::SecretKey;
use certledger_core::verify::{self, Invalid, TrustRoot, Verdict};
use certledger_core::{didkey, issuance, testkit, w3c};
use certledger_node::config::{Genesis, KeyFile};
use certledger_node::tools::audit::{self, Target};
use certledger_node::tools::batch;
use certledger_node::tools::issuer::{self, NodeClient};
use common::{TestNet, CHAIN_ID, OWNERS};
use serde_json::Value;

const T: Duration = Duration::from_secs(60);

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }
    fn ok(self) -> Self {
        assert_eq!(self.code, 0, "command failed:\n{}\n{}", self.stdout, self.stderr);
        self
    }
}

/// The passphrase new issuer keys are sealed under.
const PASSPHRASE: &str = "issuer test passphrase";

async fn cli(args: &[&str]) -> Out {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_certledger-node"))
        .args(args)
        // New issuer keys are sealed under this passphrase.
        .env("CERTLEDGER_KEY_PASSPHRASE", PASSPHRASE)
        .output()
        .await
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

struct World {
    net: TestNet,
    url: String,
    dir: PathBuf,
    trust_root: TrustRoot,
    trust_root_file: PathBuf,
    admin_files: Vec<PathBuf>,
}

impl World {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `issuer register` with a new key file; returns the key.
    async fn register(&self, dept: usize, name: &str, types: &str) -> SecretKey {
        let key_file = self.path(&format!("{name}.key.json"));
        let out = cli(&[
            "issuer",
            "register",
            "--node",
            &self.url,
            "--json",
            "--admin-key",
            p(&self.admin_files[dept]),
            "--department",
            OWNERS[dept],
            "--new-key-out",
            p(&key_file),
            "--types",
            types,
            "--valid-from",
            "-1h",
            "--valid-until",
            "+30d",
            "--name-zh",
            "签发系统",
            "--name-en",
            name,
        ])
        .await
        .ok();
        assert!(out.json()["committed"]["height"].as_u64().unwrap() >= 1);
        // Sealed under the passphrase `cli` passes.
        KeyFile::load_with(&key_file, || Ok(zeroize::Zeroizing::new(PASSPHRASE.to_owned())))
            .unwrap()
    }

    /// `issue`; returns the credential file.
    async fn issue(
        &self,
        key: &str,
        ty: &CredentialType,
        holder: &str,
        out: &str,
    ) -> CredentialFile {
        self.issue_as(key, ty, holder, out, "sd-jwt").await
    }

    /// `issue --format FORMAT`; returns the credential file.
    async fn issue_as(
        &self,
        key: &str,
        ty: &CredentialType,
        holder: &str,
        out: &str,
        format: &str,
    ) -> CredentialFile {
        let claims = self.path(&format!("{out}.claims.json"));
        std::fs::write(&claims, testkit::example_claims(ty).to_string()).unwrap();
        let out_file = self.path(out);
        let o = cli(&[
            "issue",
            "--node",
            &self.url,
            "--json",
            "--issuer-key",
            p(&self.path(key)),
            "--type",
            issuer::type_alias(ty),
            "--claims",
            p(&claims),
            "--holder-key",
            holder,
            "--out",
            p(&out_file),
            "--trust-root",
            p(&self.trust_root_file),
            "--format",
            format,
        ])
        .await
        .ok();
        let v = o.json();
        assert_eq!(v["format"], format);
        let file = CredentialFile::from_json(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
        assert_eq!(v["credential_id"], URL_SAFE_NO_PAD.encode(file.credential_id));
        assert!(!issuer::pending_path(&out_file).exists(), "pending file left behind");
        file
    }

    /// Proofs from node 1 once the served record satisfies `want`.
    async fn proofs_where(&self, id: &[u8; 32], want: impl Fn(&Proofs) -> bool) -> Proofs {
        let client = NodeClient::new(&self.net.urls[1], T).unwrap();
        let start = Instant::now();
        loop {
            let proofs = client.proofs(id).await.unwrap();
            if want(&proofs) {
                return proofs;
            }
            assert!(start.elapsed() < T, "proofs never reached the wanted state: {proofs:?}");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    fn verdict(&self, file: &CredentialFile, proofs: &Proofs) -> Verdict {
        let now = issuer::now_s();
        match &file.w3c_vc {
            Some(vc) => verify::verify_w3c_credential(vc, proofs, &self.trust_root, 3600, now),
            None => verify::verify_credential(&file.sd_jwt, proofs, &self.trust_root, 3600, now),
        }
        .unwrap()
    }
}

fn assert_valid(v: &Verdict, what: &str) {
    assert!(matches!(v, Verdict::Valid(_)), "{what}: {v:?}");
}

async fn world() -> World {
    let mut net = TestNet::with_departments(&OWNERS, 0);
    let dir = net.dir.path().join("work");
    std::fs::create_dir_all(&dir).unwrap();
    // Node 0 serves a fixture verification page.
    let web = dir.join("web");
    std::fs::create_dir_all(web.join("pkg")).unwrap();
    std::fs::write(web.join("index.html"), "<!doctype html><title>核验</title>").unwrap();
    std::fs::write(web.join("app.js"), "export const x = 1;").unwrap();
    std::fs::write(web.join("pkg").join("verifier_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(dir.join("secret.txt"), "outside the web dir").unwrap();
    net.start_with(0, &["--web-dir", p(&web)]);
    for i in 1..4 {
        net.start(i);
    }
    net.wait_height(&[0, 1, 2, 3], 1, T).await;
    let genesis = Genesis::load(&net.dir.path().join("genesis.json")).unwrap();
    let trust_root = TrustRoot::from_genesis(&genesis.to_core());
    let trust_root_file = dir.join("trust-root.json");
    std::fs::write(&trust_root_file, trust_root.to_json()).unwrap();
    let mut admin_files = Vec::new();
    for (i, a) in net.admins.iter().enumerate() {
        let f = dir.join(format!("admin-{i}.key.json"));
        KeyFile::new(a).write(&f).unwrap();
        admin_files.push(f);
    }
    // The shipped types, each registered by its owning department's admin (the department whose
    // admins may then authorise issuers for it).
    let mut ids = Vec::new();
    for ty in profiles::ALL {
        let owner = OWNERS.iter().position(|d| *d == ty.issuing_department).unwrap();
        let e = SignedEntry::sign(
            &net.admins[owner],
            CHAIN_ID,
            EntryBody::RegisterType(testkit::register_type(ty)),
        )
        .to_bytes();
        let (s, v) = net.submit(0, &e).await;
        assert_eq!(s, 202, "{v}");
        ids.push(common::id_hex(&e));
    }
    for id in ids {
        net.wait_committed(0, &id, T).await;
    }
    let url = net.urls[0].clone();
    World { net, url, dir, trust_root, trust_root_file, admin_files }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_commands_end_to_end() {
    let w = world().await;
    let url = w.url.clone();

    // Each type's owning department registers its issuer (1 market regulation: licences;
    // 3 transport: driving licences; 2 education: diplomas; 0 public security: identity).
    let a = w.register(1, "issuer-a", "business-licence").await;
    let d = w.register(3, "issuer-d", "driving-licence").await;
    let b = w.register(2, "issuer-b", "diploma").await;
    let e = w.register(0, "issuer-e", "identity-attestation").await;
    let keys: BTreeSet<_> = [&a, &d, &b, &e].iter().map(|k| k.public_key().0).collect();
    assert_eq!(keys.len(), 4);

    // Refused: an admin of a department that does not own the type, even for its own issuer
    // (the node answers 403 with the ledger's reason).
    let o = cli(&[
        "issuer",
        "register",
        "--node",
        &url,
        "--admin-key",
        p(&w.admin_files[2]),
        "--department",
        OWNERS[2],
        "--issuer",
        &didkey::did_key(&SecretKey::from_seed(&[5; 32]).public_key()),
        "--types",
        "business-licence",
        "--name-zh",
        "x",
        "--name-en",
        "x",
    ])
    .await;
    assert_eq!(o.code, i32::from(issuer::EXIT_REFUSED), "{}", o.stderr);
    assert!(o.stderr.contains("unauthorised_signer"), "{}", o.stderr);
    assert!(o.stderr.contains("the type belongs to another department"), "{}", o.stderr);
    // Refused: an admin key of another department; a key that is not an admin at all.
    let o = cli(&[
        "issuer",
        "register",
        "--node",
        &url,
        "--admin-key",
        p(&w.admin_files[2]),
        "--department",
        OWNERS[1],
        "--issuer",
        &didkey::did_key(&SecretKey::from_seed(&[5; 32]).public_key()),
        "--types",
        "diploma",
        "--name-zh",
        "x",
        "--name-en",
        "x",
    ])
    .await;
    assert_eq!(o.code, i32::from(issuer::EXIT_REFUSED), "{}", o.stderr);
    assert!(o.stderr.contains("unauthorised_signer"), "{}", o.stderr);

    // Every shipped type, verified with core's verify_credential.
    let holder = SecretKey::from_seed(&[42; 32]).public_key();
    let did = didkey::did_key(&holder);
    let hex_holder = hex::encode(holder.0);
    let bl = w.issue("issuer-a.key.json", &profiles::BUSINESS_LICENCE, &did, "bl.json").await;
    let dl = w.issue("issuer-d.key.json", &profiles::DRIVING_LICENCE, &hex_holder, "dl.json").await;
    let dip = w.issue("issuer-b.key.json", &profiles::DIPLOMA, &did, "dip.json").await;
    let ia = w.issue("issuer-e.key.json", &profiles::IDENTITY_ATTESTATION, &did, "ia.json").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let dip2 = w.issue("issuer-b.key.json", &profiles::DIPLOMA, &did, "dip2.json").await;
    // The same diploma as a full-disclosure W3C VC 2.0 (eddsa-jcs-2022), anchored the same way.
    let dip_w3c =
        w.issue_as("issuer-b.key.json", &profiles::DIPLOMA, &did, "dip-w3c.json", "w3c").await;
    let vc = dip_w3c.w3c_vc.as_deref().expect("a W3C credential");
    assert!(dip_w3c.sd_jwt.is_empty() && vc.contains("eddsa-jcs-2022") && vc.contains("王五"));
    let checked = w3c::verify_credential(vc, &b.public_key(), issuer::now_s()).unwrap();
    assert_eq!(checked.holder_key, Some(holder));
    assert_eq!(dip_w3c.proofs.credential_record.commitment, issuance::commitment(vc));
    // `issue-batch --format w3c`: each row's file carries a W3C VC for its holder.
    let rows = w.path("w3c-rows.jsonl");
    let claims = testkit::example_claims(&profiles::DIPLOMA);
    std::fs::write(&rows, format!("{claims}\n{claims}\n")).unwrap();
    let batch_dir = w.path("w3c-batch");
    let o = cli(&[
        "issue-batch",
        "--node",
        &url,
        "--json",
        "--issuer-key",
        p(&w.path("issuer-b.key.json")),
        "--type",
        "diploma",
        "--input",
        p(&rows),
        "--out-dir",
        p(&batch_dir),
        "--holder-key",
        &did,
        "--trust-root",
        p(&w.trust_root_file),
        "--format",
        "w3c",
    ])
    .await
    .ok();
    assert_eq!(o.json()["completed"], 2, "{}", o.stdout);
    for n in 1..=2 {
        let text = std::fs::read_to_string(batch_dir.join(batch::file_name(n))).unwrap();
        let f = CredentialFile::from_json(&text).unwrap();
        let vc = f.w3c_vc.as_deref().expect("a W3C credential");
        let checked = w3c::verify_credential(vc, &b.public_key(), issuer::now_s()).unwrap();
        assert_eq!(checked.holder_key, Some(holder));
        assert_valid(&w.verdict(&f, &f.proofs), "W3C batch row");
    }
    for (f, name) in [
        (&bl, "business licence"),
        (&dl, "driving licence"),
        (&dip, "diploma"),
        (&ia, "identity"),
        (&dip2, "second diploma"),
        (&dip_w3c, "W3C diploma"),
    ] {
        assert_valid(&w.verdict(f, &f.proofs), name);
        // The ledger holds no claim value: the anchor leaf carries only ids and a commitment.
        let leaf = String::from_utf8_lossy(&f.proofs.anchor_leaf).into_owned();
        for value in ["上海示例科技有限公司", "李四", "王五", "赵六"] {
            assert!(!leaf.contains(value), "claim value on the ledger");
        }
    }

    // Refused issuance: unauthorised type, unregistered key, bad claims, bad holder key.
    let claims = w.path("dip-claims.json");
    std::fs::write(&claims, testkit::example_claims(&profiles::DIPLOMA).to_string()).unwrap();
    let out = w.path("refused.json");
    let o = cli(&[
        "issue",
        "--node",
        &url,
        "--issuer-key",
        p(&w.path("issuer-a.key.json")),
        "--type",
        "diploma",
        "--claims",
        p(&claims),
        "--holder-key",
        &did,
        "--out",
        p(&out),
    ])
    .await;
    assert_eq!(o.code, i32::from(issuer::EXIT_REFUSED), "{}", o.stderr);
    assert!(o.stderr.contains("type not allowed"), "{}", o.stderr);
    assert!(!out.exists() && !issuer::pending_path(&out).exists());
    let stranger = w.path("stranger.key.json");
    KeyFile::new(&SecretKey::from_seed(&[6; 32])).write(&stranger).unwrap();
    let o = cli(&[
        "issue",
        "--node",
        &url,
        "--issuer-key",
        p(&stranger),
        "--type",
        "diploma",
        "--claims",
        p(&claims),
        "--holder-key",
        &did,
        "--out",
        p(&out),
    ])
    .await;
    assert_eq!(o.code, i32::from(issuer::EXIT_REFUSED), "{}", o.stderr);
    let o = cli(&[
        "issue",
        "--node",
        &url,
        "--issuer-key",
        p(&w.path("issuer-b.key.json")),
        "--type",
        "diploma",
        "--claims",
        p(&w.path("bl.json.claims.json")),
        "--holder-key",
        &did,
        "--out",
        p(&out),
    ])
    .await;
    assert_eq!(o.code, i32::from(issuer::EXIT_INPUT), "{}", o.stderr);
    let o = cli(&[
        "issue",
        "--node",
        &url,
        "--issuer-key",
        p(&w.path("issuer-b.key.json")),
        "--type",
        "diploma",
        "--claims",
        p(&claims),
        "--holder-key",
        "not-a-key",
        "--out",
        p(&out),
    ])
    .await;
    assert_eq!(o.code, i32::from(issuer::EXIT_INPUT), "{}", o.stderr);

    // Revoke the driving licence: only its department may, and the proofs then say revoked.
    let dl_id = hex::encode(dl.credential_id);
    let key_d = w.path("issuer-d.key.json");
    let o = cli(&[
        "revoke",
        "--node",
        &url,
        "--issuer-key",
        p(&w.path("issuer-b.key.json")),
        "--credential-id",
        &dl_id,
        "--reason",
        "superseded",
    ])
    .await;
    assert_eq!(o.code, i32::from(issuer::EXIT_REFUSED), "{}", o.stderr);
    let o = cli(&["revoke", "--node", &url, "--issuer-key", p(&key_d), "--credential-id", &dl_id])
        .await;
    assert_eq!(o.code, i32::from(issuer::EXIT_INPUT), "revoke without a reason: {}", o.stderr);
    cli(&[
        "revoke",
        "--node",
        &url,
        "--json",
        "--issuer-key",
        p(&key_d),
        "--credential-id",
        &dl_id,
        "--reason",
        "superseded",
    ])
    .await
    .ok();
    let proofs = w
        .proofs_where(&dl.credential_id, |p| {
            p.credential_record.status == CredentialStatus::Revoked
        })
        .await;
    assert_eq!(w.verdict(&dl, &proofs), Verdict::Invalid(Invalid::Revoked { reason: 4 }));

    // Suspend and reinstate the business licence.
    let bl_id = URL_SAFE_NO_PAD.encode(bl.credential_id);
    let key_a = w.path("issuer-a.key.json");
    cli(&["suspend", "--node", &url, "--issuer-key", p(&key_a), "--credential-id", &bl_id])
        .await
        .ok();
    let proofs = w
        .proofs_where(&bl.credential_id, |p| {
            p.credential_record.status == CredentialStatus::Suspended
        })
        .await;
    assert_eq!(w.verdict(&bl, &proofs), Verdict::Invalid(Invalid::Suspended { reason: 6 }));
    cli(&["reinstate", "--node", &url, "--issuer-key", p(&key_a), "--credential-id", &bl_id])
        .await
        .ok();
    let proofs = w
        .proofs_where(&bl.credential_id, |p| p.credential_record.status == CredentialStatus::Active)
        .await;
    assert_valid(&w.verdict(&bl, &proofs), "reinstated licence");
    assert_eq!(proofs.credential_record.status_reason, 8);

    // The operator dashboard counts what was just committed, per department and type (counts
    // only), and serves its page.
    let d: Value = reqwest::get(format!("{url}/v1/dashboard")).await.unwrap().json().await.unwrap();
    let count = |dept: &str, ty: &str, kind: &str| {
        d["counts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["department"] == dept && c["type"] == ty)
            .map(|c| c[kind].as_u64().unwrap())
            .unwrap_or(0)
    };
    assert_eq!(count("transport", profiles::DRIVING_LICENCE.id, "revoked"), 1, "{d}");
    assert_eq!(count("market-regulation", profiles::BUSINESS_LICENCE.id, "suspended"), 1, "{d}");
    assert_eq!(count("market-regulation", profiles::BUSINESS_LICENCE.id, "reinstated"), 1, "{d}");
    assert!(count("market-regulation", profiles::BUSINESS_LICENCE.id, "issued") >= 1, "{d}");
    assert_eq!(count("education", profiles::BUSINESS_LICENCE.id, "issued"), 0, "{d}");
    assert_eq!(d["departments"].as_array().unwrap().len(), 4, "{d}");
    assert!(!d["recent_blocks"].as_array().unwrap().is_empty(), "{d}");
    assert!(!d.to_string().contains(&dl_id), "no credential id on the dashboard");
    let page = reqwest::get(format!("{url}/dashboard/")).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("app.js"));

    // Rotate issuer A: the old key retires in 3 s; its earlier licence still verifies with the
    // historical authorisation (issuer record with retired_at after the anchor time).
    let o = cli(&[
        "issuer",
        "rotate",
        "--node",
        &url,
        "--json",
        "--admin-key",
        p(&w.admin_files[1]),
        "--old-key",
        p(&key_a),
        "--new-key-out",
        p(&w.path("issuer-a2.key.json")),
        "--retire-old-at",
        "+3s",
    ])
    .await
    .ok();
    let retired_at = o.json()["old_retired_at"].as_u64().unwrap();
    while issuer::now_s() <= retired_at + 1 {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let proofs = w.proofs_where(&bl.credential_id, |p| p.issuer_record.retired_at.is_some()).await;
    assert_eq!(proofs.issuer_record.retired_at, Some(retired_at));
    assert!(proofs.credential_record.anchored_time < retired_at);
    assert_valid(&w.verdict(&bl, &proofs), "licence anchored before the rotation");
    let o = cli(&[
        "issue",
        "--node",
        &url,
        "--issuer-key",
        p(&key_a),
        "--type",
        "business-licence",
        "--claims",
        p(&w.path("bl.json.claims.json")),
        "--holder-key",
        &did,
        "--out",
        p(&w.path("late.json")),
    ])
    .await;
    assert_eq!(o.code, i32::from(issuer::EXIT_REFUSED), "retired key: {}", o.stderr);
    assert!(o.stderr.contains("retired"), "{}", o.stderr);
    let bl2 = w.issue("issuer-a2.key.json", &profiles::BUSINESS_LICENCE, &did, "bl2.json").await;
    assert_valid(&w.verdict(&bl2, &bl2.proofs), "licence by the new key");

    // Compromise issuer B since the second diploma's anchor time: the key itself may not
    // backdate its report (refused by the CLI before submitting, and by the node: 403), its
    // department's admin may. The second diploma is refused, the one anchored 2 s earlier still
    // verifies.
    let since = dip2.proofs.credential_record.anchored_time;
    assert!(dip.proofs.credential_record.anchored_time < since);
    let key_b = w.path("issuer-b.key.json");
    let o = cli(&[
        "issuer",
        "compromise",
        "--node",
        &url,
        "--key",
        p(&key_b),
        "--since",
        &since.to_string(),
    ])
    .await;
    assert_eq!(o.code, i32::from(issuer::EXIT_INPUT), "{}", o.stderr);
    assert!(o.stderr.contains("--admin-key"), "{}", o.stderr);
    let backdated = SignedEntry::sign(
        &b,
        CHAIN_ID,
        EntryBody::CompromiseIssuer(CompromiseIssuer { issuer_key: b.public_key(), since }),
    );
    let (s, v) = w.net.submit(0, &backdated.to_bytes()).await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"], "unauthorised_signer", "{v}");
    cli(&[
        "issuer",
        "compromise",
        "--node",
        &url,
        "--admin-key",
        p(&w.admin_files[2]),
        "--issuer",
        p(&key_b),
        "--since",
        &since.to_string(),
    ])
    .await
    .ok();
    let proofs =
        w.proofs_where(&dip2.credential_id, |p| p.issuer_record.compromised_since.is_some()).await;
    assert_eq!(proofs.issuer_record.compromised_since, Some(since));
    assert_eq!(w.verdict(&dip2, &proofs), Verdict::Invalid(Invalid::IssuerKeyCompromised));
    let proofs =
        w.proofs_where(&dip.credential_id, |p| p.issuer_record.compromised_since.is_some()).await;
    assert_valid(&w.verdict(&dip, &proofs), "diploma anchored before the compromise");

    // Audit: a credential's history and a department's issuers, each proof verified (CLI), and
    // a tampered proof refused (library).
    let o = cli(&[
        "audit",
        "credential",
        "--node",
        &w.net.urls[2],
        "--json",
        "--trust-root",
        p(&w.trust_root_file),
        "--credential-id",
        &dl_id,
    ])
    .await
    .ok();
    let kinds: Vec<String> = o.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["anchor_issuance", "change_status"]);
    let o = cli(&[
        "audit",
        "department",
        "--node",
        &url,
        "--json",
        "--trust-root",
        p(&w.trust_root_file),
        "--department",
        OWNERS[1],
        "--from",
        "0",
        "--to",
        "+1h",
        "--all",
        "--limit",
        "3",
    ])
    .await
    .ok();
    let v = o.json();
    assert_eq!(v["verified"], true);
    let count =
        |kind: &str| v["items"].as_array().unwrap().iter().filter(|i| i["kind"] == kind).count();
    // bl, bl2 anchored; suspend + reinstate; a and a2 registered; a retired.
    assert_eq!(count("anchor_issuance"), 2, "{v}");
    assert_eq!(count("change_status"), 2, "{v}");
    assert_eq!(count("register_issuer"), 2, "{v}");
    assert_eq!(count("retire_issuer"), 1, "{v}");
    assert!(v["checkpoint_heights"].as_array().unwrap().len() >= 3, "paged by 3");
    // Audit answers are proven against the newest cosigned checkpoint, which may lag the commit
    // of the compromise by a height or two: ask again until it covers it (bounded).
    let mut compromises = 0;
    for _ in 0..50 {
        let o = cli(&[
            "audit",
            "department",
            "--node",
            &url,
            "--json",
            "--trust-root",
            p(&w.trust_root_file),
            "--department",
            OWNERS[2],
            "--all",
        ])
        .await
        .ok();
        let v = o.json();
        assert_eq!(v["verified"], true);
        compromises = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["kind"] == "compromise_issuer")
            .count();
        if compromises > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(compromises, 1);
    // Tampering with a served proof or summary is caught.
    let (s, page) = w.net.get(0, "/v1/audit/department/market-regulation?limit=50").await;
    assert_eq!(s, 200, "{page}");
    let target = Target::Department { id: OWNERS[1].into(), from: 0, to: u64::MAX };
    let typed = |v: &Value| -> certledger_core::api::AuditPage {
        serde_json::from_value(v.clone()).expect("an audit page of the API types")
    };
    assert!(audit::verify_page(&typed(&page), &target, &w.trust_root).is_ok());
    let mut bad = page.clone();
    let first = bad["items"][1]["proof"][0].as_str().unwrap().to_owned();
    bad["items"][1]["proof"][0] = Value::String(first.chars().rev().collect());
    assert!(audit::verify_page(&typed(&bad), &target, &w.trust_root).is_err());
    let mut bad = page.clone();
    bad["items"][1]["kind"] = Value::String("retire_issuer".into());
    assert!(audit::verify_page(&typed(&bad), &target, &w.trust_root).is_err());
    let other = Target::Department { id: OWNERS[2].into(), from: 0, to: u64::MAX };
    assert!(audit::verify_page(&typed(&page), &other, &w.trust_root).is_err());
    let (s, _) = w.net.get(0, "/v1/audit/department/..%2Fx").await;
    assert_eq!(s, 400);

    // The verification page: files, content types, no traversal.
    let get = |path: &str| {
        let client = w.net.client.clone();
        let url = format!("{url}{path}");
        async move {
            let r = client.get(url).send().await.unwrap();
            let ct = r.headers().get("content-type").map(|h| h.to_str().unwrap().to_owned());
            (r.status().as_u16(), ct, r.bytes().await.unwrap())
        }
    };
    let (s, ct, body) = get("/verify/").await;
    assert_eq!((s, ct.as_deref()), (200, Some("text/html")));
    assert!(String::from_utf8_lossy(&body).contains("核验"));
    let (s, ct, body) = get("/verify/pkg/verifier_bg.wasm").await;
    assert_eq!((s, ct.as_deref()), (200, Some("application/wasm")));
    assert_eq!(&body[..4], b"\0asm");
    let (s, ct, _) = get("/verify/app.js").await;
    assert_eq!(s, 200);
    assert!(ct.unwrap().contains("javascript"));
    let (s, _, _) = get("/verify").await;
    assert_eq!(s, 200, "/verify redirects to /verify/");
    for path in [
        "/verify/%2e%2e/secret.txt",
        "/verify/..%2fsecret.txt",
        "/verify/pkg/%2e%2e/%2e%2e/secret.txt",
    ] {
        let (s, _, body) = get(path).await;
        assert!(s == 404 || s == 400, "{path}: {s}");
        assert!(!String::from_utf8_lossy(&body).contains("outside"), "{path} escaped");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_issuance_resumes_without_issuing_twice() {
    let w = world().await;
    let url = w.url.clone();
    w.register(0, "issuer-c", "identity-attestation").await;
    let key_c = w.path("issuer-c.key.json");

    // A bad row is named and nothing is issued.
    let bad = w.path("bad.csv");
    std::fs::write(
        &bad,
        "real_name_verified,assurance_level,age_over_16,age_over_18,age_over_60,region\n\
         true,3,true,true,false,310115\ntrue,3,true,true,false,310115\ntrue,x,true,true,false,310115\n",
    )
    .unwrap();
    let bad_out = w.path("bad-out");
    let holder = didkey::did_key(&SecretKey::from_seed(&[1; 32]).public_key());
    let o = cli(&[
        "issue-batch",
        "--node",
        &url,
        "--issuer-key",
        p(&key_c),
        "--type",
        "identity-attestation",
        "--input",
        p(&bad),
        "--out-dir",
        p(&bad_out),
        "--holder-key",
        &holder,
    ])
    .await;
    assert_eq!(o.code, i32::from(issuer::EXIT_INPUT), "{}", o.stderr);
    assert!(o.stderr.contains("row 3"), "{}", o.stderr);
    assert!(!bad_out.join("journal.jsonl").exists());

    // 200 identity attestations, each bound to its own holder key (unlinkable presentations).
    let n = 200;
    let mut csv = String::from("holder_key,real_name_verified,assurance_level,age_over_16,age_over_18,age_over_60,region\n");
    for i in 0..n {
        let k = SecretKey::from_seed(&[
            (i % 250) as u8 + 1,
            (i / 250) as u8,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
            7,
        ]);
        csv.push_str(&format!(
            "{},true,{},true,true,false,3101{:02}\n",
            hex::encode(k.public_key().0),
            1 + i % 4,
            i % 100
        ));
    }
    let input = w.path("rows.csv");
    std::fs::write(&input, csv).unwrap();
    let out_dir = w.path("batch");
    let journal = out_dir.join("journal.jsonl");
    let args = [
        "issue-batch",
        "--node",
        &url,
        "--issuer-key",
        p(&key_c),
        "--type",
        "identity-attestation",
        "--input",
        p(&input),
        "--out-dir",
        p(&out_dir),
        "--concurrency",
        "16",
        "--trust-root",
        p(&w.trust_root_file),
    ];

    // First run: killed (SIGKILL) once some rows are done and before all are.
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_certledger-node"))
        .args(args)
        .env("CERTLEDGER_KEY_PASSPHRASE", PASSPHRASE)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let count = |state: &str| -> usize {
        std::fs::read_to_string(&journal)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(&format!("\"state\":\"{state}\"")))
            .count()
    };
    let start = Instant::now();
    while count("done") < 10 {
        assert!(start.elapsed() < T, "the batch made no progress");
        assert!(child.try_wait().unwrap().is_none(), "the batch ended before it was interrupted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().await.unwrap();
    let done_before = count("done");
    let signed_before = count("signed");
    assert!(done_before < n, "interrupted too late to test resumption");
    assert!(signed_before > done_before, "some rows were pending at the interruption");

    // Rerun to completion.
    let o = cli(&[&args[..], &["--json"]].concat()).await.ok();
    let r = o.json();
    assert_eq!(r["rows"], n);
    assert_eq!(
        r["skipped"].as_u64().unwrap()
            + r["resumed"].as_u64().unwrap()
            + r["issued"].as_u64().unwrap(),
        n as u64
    );
    assert!(r["resumed"].as_u64().unwrap() >= 1, "{r}");

    // Every row once: one signed record per row, one file per row, distinct credentials, all
    // verifying, each bound to its row's holder key.
    let text = std::fs::read_to_string(&journal).unwrap();
    let mut signed_rows = Vec::new();
    for line in text.lines().skip(1) {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["state"] == "signed" {
            signed_rows.push(v["row"].as_u64().unwrap());
        }
    }
    let distinct: BTreeSet<u64> = signed_rows.iter().copied().collect();
    assert_eq!(signed_rows.len(), n, "a row was signed twice");
    assert_eq!(distinct.len(), n);
    let mut ids = BTreeSet::new();
    for i in 1..=n {
        let f = out_dir.join(format!("row-{i:06}.json"));
        let file = CredentialFile::from_json(&std::fs::read_to_string(&f).unwrap()).unwrap();
        assert!(ids.insert(file.credential_id));
        assert_valid(&w.verdict(&file, &file.proofs), &format!("row {i}"));
    }

    // The ledger holds exactly n anchors by this department (audit, proofs verified).
    let o = cli(&[
        "audit",
        "department",
        "--node",
        &w.net.urls[3],
        "--json",
        "--trust-root",
        p(&w.trust_root_file),
        "--department",
        OWNERS[0],
        "--all",
        "--limit",
        "500",
    ])
    .await
    .ok();
    let v = o.json();
    let anchored: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "anchor_issuance")
        .map(|i| i["credential_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(anchored.len(), n, "anchors on the ledger");
    let anchored: BTreeSet<[u8; 32]> = anchored
        .iter()
        .map(|s| <[u8; 32]>::try_from(URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap())
        .collect();
    assert_eq!(anchored, ids);

    // A third run has nothing to do.
    let o = cli(&[&args[..], &["--json"]].concat()).await.ok();
    assert_eq!(o.json()["skipped"], n);
    assert_eq!(o.json()["issued"], 0);
    // The journal binds the input: another input in the same out dir is refused.
    let text = std::fs::read_to_string(&input).unwrap();
    let fewer: Vec<&str> = text.lines().take(3).collect();
    std::fs::write(&input, fewer.join("\n")).unwrap();
    let o = cli(&args).await;
    assert_eq!(o.code, i32::from(issuer::EXIT_INPUT), "{}", o.stderr);
    assert!(o.stderr.contains("another input"), "{}", o.stderr);
}

#[tokio::test]
async fn issuer_help_has_examples_and_usage_errors_exit_2() {
    for sub in [
        &["issue"][..],
        &["issue-batch"],
        &["revoke"],
        &["suspend"],
        &["reinstate"],
        &["issuer", "register"],
        &["issuer", "rotate"],
        &["issuer", "retire"],
        &["issuer", "compromise"],
        &["audit", "department"],
        &["audit", "credential"],
    ] {
        let o = cli(&[sub, &["--help"]].concat()).await.ok();
        assert!(o.stdout.contains("Example"), "{sub:?}: {}", o.stdout);
    }
    let o = cli(&["revoke", "--node", "http://127.0.0.1:1"]).await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    // Nothing listens on port 1: unavailable, exit 5, after the bounded wait.
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.json");
    KeyFile::new(&SecretKey::from_seed(&[1; 32])).write(&key).unwrap();
    let o = cli(&[
        "revoke",
        "--node",
        "http://127.0.0.1:1",
        "--wait-secs",
        "1",
        "--issuer-key",
        p(&key),
        "--credential-id",
        &hex::encode([1u8; 32]),
        "--reason",
        "0",
    ])
    .await;
    assert_eq!(o.code, i32::from(issuer::EXIT_UNAVAILABLE), "{}", o.stderr);
    let o = cli(&[
        "revoke",
        "--node",
        "http://127.0.0.1:1",
        "--issuer-key",
        p(&key),
        "--credential-id",
        "zz",
        "--reason",
        "0",
    ])
    .await;
    assert_eq!(o.code, i32::from(issuer::EXIT_INPUT), "{}", o.stderr);
}

/// Every file under `dir`, recursively, as (path, bytes).
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.push((path, bytes));
            }
        }
    }
    out
}

/// Which of `needles` occur in which file.
fn occurrences(files: &[(PathBuf, Vec<u8>)], needles: &[String]) -> Vec<String> {
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

/// Issue #13 part 5: after `issuer purge`, nothing in the batch's out directory or in any node's
/// store links a holder to a credential (no claim value, salt, disclosure or issuer-signed JWT),
/// the journal keeps the accountability record, a rerun issues nothing again, the department can
/// still revoke by credential id, and the log still verifies (audit with proofs, verify-store).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_after_handover_erases_claims_and_salts_and_the_log_still_verifies() {
    let mut w = world().await;
    let url = w.url.clone();
    let ty = &profiles::DIPLOMA;
    let dept = OWNERS.iter().position(|d| *d == ty.issuing_department).unwrap();
    w.register(dept, "issuer-e", "diploma").await;
    let key_e = w.path("issuer-e.key.json");
    // Three rows, each with its own holder and values found nowhere else.
    let mut unique = Vec::new();
    let mut jsonl = String::new();
    for i in 0..3u8 {
        let mut claims = testkit::example_claims(ty);
        let name = format!("擦除测试{i}号");
        let number = format!("ERASE-2026-7734{i}");
        claims["name"] = name.clone().into();
        claims["certificate_number"] = number.clone().into();
        claims["holder_key"] =
            hex::encode(SecretKey::from_seed(&[40 + i; 32]).public_key().0).into();
        unique.extend([name, number]);
        jsonl.push_str(&format!("{claims}\n"));
    }
    let input = w.path("diplomas.jsonl");
    std::fs::write(&input, jsonl).unwrap();
    let out_dir = w.path("erasure-batch");
    let batch = [
        "issue-batch",
        "--node",
        &url,
        "--json",
        "--issuer-key",
        p(&key_e),
        "--type",
        "diploma",
        "--input",
        p(&input),
        "--out-dir",
        p(&out_dir),
        "--trust-root",
        p(&w.trust_root_file),
    ];
    assert_eq!(cli(&batch).await.ok().json()["completed"], 3);

    // What links a holder to a credential, taken from the credential files.
    let mut files = Vec::new();
    let mut needles = unique.clone();
    let mut ledger_needles = unique.clone();
    for row in 1..=3 {
        let text = std::fs::read_to_string(out_dir.join(format!("row-{row:06}.json"))).unwrap();
        let file = CredentialFile::from_json(&text).unwrap();
        let sd = certledger_core::sdjwt::SdJwt::parse(&file.sd_jwt).unwrap();
        let mut linking = vec![sd.issuer_jwt.clone()];
        for d in &sd.disclosures {
            linking.extend([d.encoded.clone(), d.salt.clone()]);
            if let Value::String(v) = &d.value {
                needles.push(v.clone());
            }
        }
        needles.extend(linking.iter().cloned());
        ledger_needles.extend(linking);
        files.push(file);
    }
    let before = occurrences(&files_under(&out_dir), &needles);
    assert!(before.len() > 20, "the search sees the data before the purge: {before:?}");

    // Irreversible, so --yes is required.
    let o = cli(&["issuer", "purge", "--out-dir", p(&out_dir)]).await;
    assert_eq!(o.code, i32::from(issuer::EXIT_INPUT), "{}", o.stderr);
    assert_eq!(occurrences(&files_under(&out_dir), &needles), before);
    let o = cli(&["issuer", "purge", "--out-dir", p(&out_dir), "--yes", "--json"]).await.ok();
    let r = o.json();
    assert_eq!((r["purged"].as_u64(), r["pending"].as_u64()), (Some(3), Some(0)), "{r}");
    assert_eq!(r["files_removed"], 3);

    let left = occurrences(&files_under(&out_dir), &needles);
    assert!(left.is_empty(), "the out dir still links holders to credentials: {left:#?}");
    let node_dirs: Vec<PathBuf> =
        w.net.configs.iter().map(|c| c.parent().unwrap().to_owned()).collect();
    for dir in &node_dirs {
        let on_ledger = occurrences(&files_under(dir), &ledger_needles);
        assert!(on_ledger.is_empty(), "a node's store holds personal data: {on_ledger:#?}");
    }

    // The journal keeps the accountability record of each row, and a record of the purge.
    let journal = std::fs::read_to_string(out_dir.join("journal.jsonl")).unwrap();
    let rows: Vec<Value> = journal.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kept: Vec<&Value> = rows.iter().filter(|v| v["state"] == "purged").collect();
    assert_eq!(kept.len(), 3);
    for v in &kept {
        // Rows finish in any order; each record names its row.
        let file = &files[usize::try_from(v["row"].as_u64().unwrap()).unwrap() - 1];
        let record = &file.proofs.credential_record;
        assert_eq!(v["credential_id"], URL_SAFE_NO_PAD.encode(file.credential_id));
        assert_eq!(v["log_index"], record.log_index);
        assert_eq!(v["anchored_at"], record.anchored_time);
        assert_eq!(v["commitment"], hex::encode(record.commitment));
        assert_eq!(v["entry_id"].as_str().map(str::len), Some(64));
    }
    assert!(rows
        .iter()
        .any(|v| v["state"] == "purge" && v["rows"] == serde_json::json!([1, 2, 3])));

    // A rerun of the batch issues nothing again; a second purge has nothing left to do.
    let again = cli(&batch).await.ok().json();
    assert_eq!((again["skipped"].as_u64(), again["issued"].as_u64()), (Some(3), Some(0)));
    let o = cli(&["issuer", "purge", "--out-dir", p(&out_dir), "--yes", "--json"]).await.ok();
    assert_eq!(o.json()["already_purged"], 3);

    // The department can still act on what it kept: revoke row 1 by its credential id.
    let id = kept[0]["credential_id"].as_str().unwrap().to_owned();
    cli(&[
        "revoke",
        "--node",
        &url,
        "--json",
        "--issuer-key",
        p(&key_e),
        "--credential-id",
        &id,
        "--reason",
        "superseded",
    ])
    .await
    .ok();

    // The log still verifies: the department's audit (every proof checked against the trust
    // root) lists the three anchors, and a stopped node's store verifies from genesis.
    let v = cli(&[
        "audit",
        "department",
        "--node",
        &w.net.urls[2],
        "--json",
        "--trust-root",
        p(&w.trust_root_file),
        "--department",
        OWNERS[dept],
        "--all",
    ])
    .await
    .ok()
    .json();
    let anchored = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "anchor_issuance")
        .filter(|i| kept.iter().any(|k| k["credential_id"] == i["credential_id"]))
        .count();
    assert_eq!(anchored, 3, "{v}");
    w.net.kill(3);
    let o = cli(&["verify-store", "--config", p(&w.net.configs[3])]).await.ok();
    assert!(o.stdout.contains("store verified"), "{}", o.stdout);
}
