//! The end-to-end demo against a running devnet (`certledger-node devnet --demo`, or
//! `certledger-node demo --dir DIR` against a devnet started separately).
//!
//! Two departments register issuers (market regulation for business licences, public security for
//! identity attestations), market regulation issues a business licence to a fresh holder key and
//! anchors it through one node, the proofs are fetched from a different node, the holder builds a
//! presentation bundle and the verifier decides it offline with `core::verify::verify` against the
//! genesis trust root. Then one disclosed claim is altered and the refusal is shown. The credential
//! file, both bundles, the trust root and the verifier policy are written to `DIR/demo/`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context as _};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::bundle::{Bundle, Presentation, Proofs};
use certledger_core::codec::Encode as _;
use certledger_core::credential_file::CredentialFile;
use certledger_core::ledger::{EntryBody, RegisterIssuer, SignedEntry};
use certledger_core::note::Note;
use certledger_core::sdjwt::SdJwt;
use certledger_core::sig::{PublicKey, SecretKey};
use certledger_core::verify::{self, Accepted, Invalid, Policy, TrustRoot, Verdict};
use certledger_core::{issuance, profiles};
use serde_json::Value;

use crate::config::{Genesis, KeyFile, NodeToml};
use crate::tools::issuer::{NodeClient, Submitted};

/// How long any one wait of the demo may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// What the demo established (for tests and the caller's summary).
#[derive(Debug)]
pub struct DemoOutcome {
    /// The verdict on the genuine bundle.
    pub accepted: Box<Accepted>,
    /// The reason the tampered bundle was refused.
    pub refused: Invalid,
    /// The node the anchor was submitted to.
    pub submitted_to: String,
    /// The node the proofs came from.
    pub proofs_from: String,
    /// Where the files were written.
    pub out_dir: PathBuf,
}

fn now_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The HTTP base URLs of a devnet's nodes, from `DIR/node-<i>/node.toml`.
pub fn devnet_urls(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut urls = Vec::new();
    for i in 0.. {
        let path = dir.join(format!("node-{i}")).join("node.toml");
        if !path.exists() {
            break;
        }
        let cfg = NodeToml::load(&path)?;
        urls.push(format!("http://{}", cfg.http_listen));
    }
    if urls.len() < 2 {
        bail!(
            "{} holds fewer than two nodes; start one with `certledger-node devnet`",
            dir.display()
        );
    }
    Ok(urls)
}

/// The demo's node clients: one [`NodeClient`] per node, each wait bounded by [`STEP_TIMEOUT`].
struct Clients;

impl Clients {
    fn at(base: &str) -> anyhow::Result<NodeClient> {
        NodeClient::new(base, STEP_TIMEOUT)
    }

    /// Submits every entry to `base` and waits until each is committed; an entry the ledger
    /// refuses as a conflict is already there (a re-run on the same devnet) and is skipped.
    async fn submit_all(base: &str, entries: &[SignedEntry]) -> anyhow::Result<()> {
        let node = Self::at(base)?;
        let mut pending = Vec::new();
        for e in entries {
            match node.submit(&e.to_bytes()).await? {
                Submitted::Accepted | Submitted::Duplicate => pending.push(e),
                Submitted::Refused { code, .. } if code == "conflict" => {}
                Submitted::Refused { status, code, message } => {
                    bail!("{base} refused the entry: HTTP {status} {code}: {message}")
                }
            }
        }
        for e in pending {
            node.wait_committed(e).await?;
        }
        Ok(())
    }
}

/// Pause between two asks whether a node commits blocks yet.
const READY_POLL_EVERY: Duration = Duration::from_millis(200);

/// Waits until every node answers `/health` with a committed height.
pub async fn wait_ready(urls: &[String]) -> anyhow::Result<()> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    for u in urls {
        let c = Clients::at(u)?;
        loop {
            if c.health().await.is_ok_and(|h| h.height >= 1) {
                break;
            }
            if Instant::now() > deadline {
                bail!("node {u} is not producing blocks");
            }
            tokio::time::sleep(READY_POLL_EVERY).await;
        }
    }
    Ok(())
}

/// Runs the demo against the devnet in `dir` (nodes at `urls`, in node order).
/// Parses a holder public key given as 64 hex digits.
pub fn parse_holder_key(text: &str) -> anyhow::Result<PublicKey> {
    let bytes =
        hex::decode(text.trim()).map_err(|_| anyhow!("--holder-key must be 64 hex digits"))?;
    let key: [u8; 32] =
        bytes.try_into().map_err(|_| anyhow!("--holder-key must be 32 bytes (64 hex digits)"))?;
    Ok(PublicKey(key))
}

/// Runs the demo; with `extra_holder`, also issues a licence to that key and writes it as
/// `demo/credential-for-holder.json` (a wallet can import it and refresh it from any node).
pub async fn run(
    dir: &Path,
    urls: &[String],
    extra_holder: Option<PublicKey>,
) -> anyhow::Result<DemoOutcome> {
    let (Some(node_a), Some(node_b)) = (urls.first(), urls.get(2).or(urls.get(1))) else {
        bail!("the demo needs at least two nodes");
    };
    let genesis = Genesis::load(&dir.join("genesis.json"))?;
    let chain_id = genesis.chain_id.clone();
    let admin_of = |id: &str| -> anyhow::Result<SecretKey> {
        let i = genesis
            .departments
            .iter()
            .position(|d| d.id == id)
            .ok_or_else(|| anyhow!("department {id} is not in this devnet's genesis"))?;
        KeyFile::load(&dir.join("keys").join(format!("dept-{i}.admin.key.json")))
    };
    let name_of = |id: &str| {
        genesis
            .departments
            .iter()
            .find(|d| d.id == id)
            .map(|d| format!("{} / {}", d.name_zh, d.name_en))
            .unwrap_or_else(|| id.to_owned())
    };
    println!(
        "== ledger {chain_id}: {} departments, nodes {}",
        genesis.departments.len(),
        urls.join(" ")
    );
    wait_ready(urls).await?;

    // 1. Credential types (any department admin may register one; the issuing department does).
    let fallback =
        admin_of(&genesis.departments.first().map(|d| d.id.clone()).unwrap_or_default())?;
    let mut types = Vec::new();
    for ty in profiles::ALL {
        let admin = admin_of(ty.issuing_department).unwrap_or_else(|_| fallback.clone());
        types.push(SignedEntry::sign(
            &admin,
            &chain_id,
            EntryBody::RegisterType(profiles::register_type(ty)),
        ));
    }
    Clients::submit_all(node_a, &types).await.context("registering credential types")?;
    println!(
        "== credential types registered: {}",
        profiles::ALL.iter().map(|t| t.id).collect::<Vec<_>>().join(", ")
    );

    // 2. Two departments register issuers.
    let bl = &profiles::BUSINESS_LICENCE;
    let ia = &profiles::IDENTITY_ATTESTATION;
    let market = SecretKey::generate(&mut rand::rngs::OsRng);
    let police = SecretKey::generate(&mut rand::rngs::OsRng);
    let now = now_s();
    let register = |dept: &str, key: &SecretKey, ty: &str| -> anyhow::Result<SignedEntry> {
        Ok(SignedEntry::sign(
            &admin_of(dept)?,
            &chain_id,
            EntryBody::RegisterIssuer(RegisterIssuer {
                department: dept.to_owned(),
                issuer_key: key.public_key(),
                types: vec![ty.to_owned()],
                valid_from: now.saturating_sub(60),
                valid_until: now + 5 * 365 * 86_400,
                name_zh: format!("{} 证照签发系统", dept),
                name_en: format!("{dept} credential issuing service"),
            }),
        ))
    };
    let issuers = [
        register("market-regulation", &market, bl.id)?,
        register("public-security", &police, ia.id)?,
    ];
    Clients::submit_all(node_a, &issuers).await.context("registering issuers")?;
    println!(
        "== issuers registered: {} → {} ({}), {} → {} ({})",
        name_of("market-regulation"),
        market.public_key().short_id(),
        bl.name_en,
        name_of("public-security"),
        police.public_key().short_id(),
        ia.name_en
    );

    // 3. Issue a business licence to a fresh holder and anchor it through node A.
    let holder = SecretKey::generate(&mut rand::rngs::OsRng);
    let issued = issuance::issue(
        &market,
        bl,
        &profiles::example_claims(bl),
        &holder.public_key(),
        &chain_id,
        now_s(),
        &mut rand::rngs::OsRng,
    )
    .map_err(|e| anyhow!("issuing: {e}"))?;
    let anchor =
        SignedEntry::sign(&market, &chain_id, EntryBody::AnchorIssuance(issued.anchor.clone()));
    let height = Clients::at(node_a)?.submit_and_wait(&anchor).await?.height;
    let cred_b64 = URL_SAFE_NO_PAD.encode(issued.credential_id);
    println!(
        "== issued {} / {} (credential {cred_b64}); anchor submitted to {node_a}, committed at height {height}",
        bl.name_zh, bl.name_en
    );

    // 4. Proofs from another node, once a cosigned checkpoint covers the anchor.
    let proofs = Clients::at(node_b)?.proofs(&issued.credential_id).await?;
    let trust_root = TrustRoot::from_genesis(&genesis.to_core());
    match verify::verify_credential(
        &issued.sd_jwt,
        &proofs,
        &trust_root,
        crate::tools::issuer::MAX_CHECKPOINT_AGE_S,
        now_s(),
    )? {
        Verdict::Valid(_) => {}
        Verdict::Invalid(r) => {
            bail!("the issued credential does not verify with {node_b}'s proofs: {r}")
        }
    }
    let cp_height =
        certledger_core::note::verify_checkpoint(&proofs.checkpoint, &trust_root.quorum())
            .map(|c| c.height)
            .map_err(|e| anyhow!("served checkpoint: {e}"))?;
    println!("== proofs fetched from {node_b} against cosigned checkpoint height {cp_height}");

    // 5. The holder presents three claims; the verifier decides offline.
    let mut nonce_bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce_bytes);
    let nonce = URL_SAFE_NO_PAD.encode(nonce_bytes);
    let audience = "verifier:shanghai-pudong-service-centre";
    let disclose = ["entity_name", "credit_code", "legal_representative"];
    let presented = SdJwt::parse(&issued.sd_jwt)
        .and_then(|sd| sd.present(&disclose, &holder, &nonce, audience, now_s()))
        .map_err(|e| anyhow!("presenting: {e}"))?;
    let bundle =
        Bundle { presentation: Presentation::SdJwt(presented.clone()), proofs: proofs.clone() };
    let text = bundle.to_text();
    let policy = Policy::new(&nonce, audience);
    let accepted = match verify::verify(&Bundle::from_text(&text)?, &trust_root, &policy, now_s())?
    {
        Verdict::Valid(ok) => ok,
        Verdict::Invalid(r) => bail!("the genuine bundle was refused: [{}] {r}", r.code()),
    };
    let signers = Note::parse(&proofs.checkpoint)
        .ok()
        .and_then(|n| n.verify(&trust_root.keys).ok())
        .unwrap_or_default();
    let cosigned: Vec<String> =
        signers.iter().filter_map(|i| trust_root.keys.get(*i)).map(|k| name_of(&k.name)).collect();
    println!(
        "== VERIFIED 核验通过: {} / {} ({} characters as CLB1 text)",
        accepted.type_name_zh,
        accepted.type_name_en,
        text.len()
    );
    println!("   issued by 签发部门: {}", name_of(&accepted.issuer_department));
    for claim in &accepted.claims {
        let value =
            claim.value.as_str().map(str::to_owned).unwrap_or_else(|| claim.value.to_string());
        println!("   {} / {}: {value}", claim.label_zh, claim.label_en);
    }
    println!(
        "   status proven at checkpoint height 检查点高度 {}, cosigned by 共同签名 {} of {} departments (threshold {}):",
        accepted.checkpoint_height,
        cosigned.len(),
        trust_root.keys.len(),
        trust_root.threshold
    );
    for name in &cosigned {
        println!("     - {name}");
    }

    // 6. One disclosed claim altered: refused.
    let tampered = Bundle { presentation: Presentation::SdJwt(tamper(&presented)?), proofs };
    let refused = match verify::verify(&tampered, &trust_root, &policy, now_s())? {
        Verdict::Valid(_) => bail!("the tampered bundle was accepted"),
        Verdict::Invalid(r) => r,
    };
    println!(
        "== REFUSED 拒绝 (legal representative changed to 某冒名者): [{}] {} / {}",
        refused.code(),
        refused.message_zh(),
        refused
    );

    // 7. Files for the wallet and the browser page.
    let out_dir = dir.join("demo");
    std::fs::create_dir_all(&out_dir)?;
    let file = CredentialFile {
        chain_id: chain_id.clone(),
        credential_id: issued.credential_id,
        sd_jwt: issued.sd_jwt.clone(),
        w3c_vc: None,
        proofs: tampered.proofs.clone(),
    };
    std::fs::write(out_dir.join("credential.json"), file.to_json())?;
    std::fs::write(out_dir.join("bundle.clb"), &text)?;
    std::fs::write(out_dir.join("tampered.clb"), tampered.to_text())?;
    std::fs::write(out_dir.join("trust-root.json"), trust_root.to_json())?;
    std::fs::write(out_dir.join("policy.json"), serde_json::to_string_pretty(&policy)?)?;
    // A fresh demo holder every run: the previous run's demo output is replaced on purpose.
    let holder_file = out_dir.join("holder.key.json");
    if holder_file.exists() {
        std::fs::remove_file(&holder_file)?;
    }
    KeyFile::new(&holder).write(&holder_file)?;
    if let Some(holder_key) = extra_holder {
        let issued = issuance::issue(
            &market,
            bl,
            &profiles::example_claims(bl),
            &holder_key,
            &chain_id,
            now_s(),
            &mut rand::rngs::OsRng,
        )
        .map_err(|e| anyhow!("issuing to the given holder: {e}"))?;
        let anchor =
            SignedEntry::sign(&market, &chain_id, EntryBody::AnchorIssuance(issued.anchor.clone()));
        Clients::at(node_a)?.submit_and_wait(&anchor).await?;
        let proofs = Clients::at(node_b)?.proofs(&issued.credential_id).await?;
        let file = CredentialFile {
            chain_id: chain_id.clone(),
            credential_id: issued.credential_id,
            sd_jwt: issued.sd_jwt,
            w3c_vc: None,
            proofs,
        };
        std::fs::write(out_dir.join("credential-for-holder.json"), file.to_json())?;
        println!(
            "== issued a second licence to holder {} and wrote credential-for-holder.json",
            hex::encode(holder_key.0)
        );
    }
    println!("== wrote credential.json, bundle.clb, tampered.clb, trust-root.json, policy.json, holder.key.json to {}", out_dir.display());
    println!(
        "   check again (presentations are fresh for 5 minutes): certledger-wallet verify {} --trust-root {} --nonce {nonce} --audience {audience}",
        out_dir.join("bundle.clb").display(),
        out_dir.join("trust-root.json").display()
    );
    Ok(DemoOutcome {
        accepted,
        refused,
        submitted_to: node_a.clone(),
        proofs_from: node_b.clone(),
        out_dir,
    })
}

/// `GET /v1/proofs/credential/{id}` until a cosigned checkpoint covers the credential.
pub async fn fetch_proofs_from(base: &str, credential_id: &[u8; 32]) -> anyhow::Result<Proofs> {
    Clients::at(base)?.proofs(credential_id).await
}

/// Replaces the disclosed legal representative's value, keeping its salt and name, so the
/// disclosure no longer hashes to a digest the issuer signed.
pub fn tamper(sd_jwt: &str) -> anyhow::Result<String> {
    let mut changed = false;
    let parts: Vec<String> = sd_jwt
        .split('~')
        .map(|part| {
            let Ok(raw) = URL_SAFE_NO_PAD.decode(part) else { return part.to_owned() };
            let Ok(mut arr) = serde_json::from_slice::<Vec<Value>>(&raw) else {
                return part.to_owned();
            };
            if arr.len() == 3 && arr.get(1).and_then(Value::as_str) == Some("legal_representative")
            {
                if let Some(v) = arr.get_mut(2) {
                    *v = Value::String("某冒名者".into());
                    changed = true;
                }
                return URL_SAFE_NO_PAD.encode(serde_json::to_vec(&arr).unwrap_or_default());
            }
            part.to_owned()
        })
        .collect();
    if !changed {
        bail!("the presentation discloses no legal representative to alter");
    }
    Ok(parts.join("~"))
}
