//! The governance commands (`gov propose|approve|submit|chain`): a validator change is a JSON
//! file that travels between departments; one drafts it, each department's admin approves it (a
//! signature over core's `ChangeValidators::approval_message`), and any admin submits it. `gov
//! chain` fetches the node's validator chain and follows it from genesis with core's
//! `lightclient::follow`. What the ledger accepts is core's rule, see
//! [`crate::server::governance`].

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use base64::Engine as _;
use certledger_core::api::ValidatorChainAnswer;
use certledger_core::codec::Encode as _;
use certledger_core::ledger::{Approval, ChangeValidators, Department, EntryBody, SignedEntry};
use certledger_core::lightclient::{follow, GovernanceTrust, ValidatorChain};
use certledger_core::sig::{PublicKey, SecretKey, Signature};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::{Genesis, GenesisDepartment, KeyFile};
use crate::server::governance::departments_info;
use crate::tools::issuer::NodeClient;

/// How long a governance command waits for the node (commit of its entry).
const NODE_WAIT: Duration = Duration::from_secs(60);
/// Fewest heights between the node's height and a change's `effective_height`, so that the
/// change can commit before it takes effect.
pub const MIN_CHANGE_DELAY: u64 = 2;

/// Largest change file read, in bytes.
pub const MAX_CHANGE_FILE_BYTES: u64 = 256 * 1024;

/// One approval in a change file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ApprovalJson {
    /// The approving admin key (base64url).
    pub admin_key: PublicKey,
    /// Its signature (base64url).
    pub signature: String,
}

/// A validator change as it travels between departments (JSON).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ChangeFile {
    /// The ledger the change is for.
    pub chain_id: String,
    /// Departments to add.
    #[serde(default)]
    pub add: Vec<GenesisDepartment>,
    /// Ids of departments to remove.
    #[serde(default)]
    pub remove: Vec<String>,
    /// The first height the new set decides.
    pub effective_height: u64,
    /// Approvals collected so far.
    #[serde(default)]
    pub approvals: Vec<ApprovalJson>,
}

impl ChangeFile {
    /// Core's change (sorted as the canonical form requires).
    pub fn to_core(&self) -> anyhow::Result<ChangeValidators> {
        let mut add: Vec<Department> = self.add.iter().map(department_of).collect();
        add.sort_by(|a, b| a.id.cmp(&b.id));
        let mut remove = self.remove.clone();
        remove.sort();
        let mut approvals = Vec::with_capacity(self.approvals.len());
        for a in &self.approvals {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&a.signature)
                .context("an approval signature is not base64url")?;
            let sig: [u8; 64] =
                bytes.try_into().map_err(|_| anyhow!("an approval signature is not 64 bytes"))?;
            approvals.push(Approval { admin_key: a.admin_key, signature: Signature(sig) });
        }
        Ok(ChangeValidators { add, remove, effective_height: self.effective_height, approvals })
    }

    /// Reads a change file (bounded).
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let meta =
            std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
        if meta.len() > MAX_CHANGE_FILE_BYTES {
            bail!("{} is larger than {MAX_CHANGE_FILE_BYTES} bytes", path.display());
        }
        let text = std::fs::read_to_string(path)?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a change file", path.display()))
    }

    /// Writes it atomically.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(self)?)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    /// Adds `admin`'s approval; an approval by the same key is replaced (idempotent).
    pub fn approve(&mut self, admin: &SecretKey) -> anyhow::Result<()> {
        let core = self.to_core()?;
        let a = core.approve(admin, &self.chain_id);
        self.approvals.retain(|x| x.admin_key != a.admin_key);
        self.approvals.push(ApprovalJson {
            admin_key: a.admin_key,
            signature: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(a.signature.0),
        });
        Ok(())
    }

    /// The ledger entry, signed by `admin` (an admin key of a current department).
    pub fn signed(&self, admin: &SecretKey) -> anyhow::Result<SignedEntry> {
        let body = EntryBody::ChangeValidators(self.to_core()?);
        Ok(SignedEntry::sign(admin, &self.chain_id, body))
    }

    /// [`ChangeFile::signed`] as canonical bytes.
    pub fn entry(&self, admin: &SecretKey) -> anyhow::Result<Vec<u8>> {
        Ok(self.signed(admin)?.to_bytes())
    }
}

fn department_of(d: &GenesisDepartment) -> Department {
    let mut admin_keys = d.admin_keys.clone();
    admin_keys.sort();
    Department {
        id: d.id.clone(),
        name_zh: d.name_zh.clone(),
        name_en: d.name_en.clone(),
        node_key: d.node_key,
        admin_keys,
    }
}

// ---------------------------------------------------------------------------------------------
// CLI.

/// `gov propose`: drafts a change effective `delay` heights after the node's current height.
pub async fn propose(
    node_url: &str,
    genesis: &Path,
    add: &[std::path::PathBuf],
    remove: &[String],
    delay: u64,
    out: &Path,
) -> anyhow::Result<Value> {
    let g = Genesis::load(genesis)?;
    let height = node_client(node_url)?.health().await?.height;
    let mut departments = Vec::new();
    for p in add {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        let d: GenesisDepartment = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a department JSON file", p.display()))?;
        departments.push(d);
    }
    if departments.is_empty() && remove.is_empty() {
        bail!("a change must add (--add FILE) or remove (--remove ID) at least one department");
    }
    let file = ChangeFile {
        chain_id: g.chain_id,
        add: departments,
        remove: remove.to_vec(),
        effective_height: height + delay.max(MIN_CHANGE_DELAY),
        approvals: Vec::new(),
    };
    file.to_core()?;
    file.save(out)?;
    Ok(json!({ "change": out.display().to_string(), "effective_height": file.effective_height }))
}

/// `gov approve`: adds one admin's approval to a change file.
pub fn approve(change: &Path, admin_key: &Path) -> anyhow::Result<Value> {
    let mut file = ChangeFile::load(change)?;
    let admin = KeyFile::load(admin_key)?;
    file.approve(&admin)?;
    file.save(change)?;
    Ok(json!({ "change": change.display().to_string(), "approvals": file.approvals.len() }))
}

/// `gov submit`: signs the change as an entry with `admin_key`, submits it, waits for commit
/// (the node's reason is reported if it refuses the change).
pub async fn submit(change: &Path, admin_key: &Path, node_url: &str) -> anyhow::Result<Value> {
    let file = ChangeFile::load(change)?;
    let admin = KeyFile::load(admin_key)?;
    let entry = file.signed(&admin)?;
    let committed = node_client(node_url)?.submit_and_wait(&entry).await?;
    Ok(json!({
        "id": hex::encode(entry.id()), "height": committed.height,
        "effective_height": file.effective_height,
    }))
}

/// `gov chain`: fetches the validator chain and follows it from the genesis file.
pub async fn fetch_and_follow(node_url: &str, genesis: &Path) -> anyhow::Result<Value> {
    let g = Genesis::load(genesis)?;
    let answer: ValidatorChainAnswer = node_client(node_url)?
        .get("/v1/validator-chain")
        .await?
        .map_err(|r| anyhow!("no chain served: {r}"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&answer.chain)
        .context("the chain is not base64url")?;
    let chain = ValidatorChain::from_bytes_checked(&bytes).context("the chain does not decode")?;
    let followed = follow(&GovernanceTrust::from_genesis(&g.to_core()), &chain)
        .map_err(|e| anyhow!("the chain does not follow from genesis: {e}"))?;
    Ok(json!({
        "height": followed.head.height,
        "changes": chain.steps.len(),
        "departments": departments_info(&followed.trust.departments),
        "trust_root": serde_json::from_str::<Value>(&followed.trust.to_trust_root().to_json())?,
    }))
}

/// The issuer commands' node client (bounded waits, the node's refusal reasons).
fn node_client(url: &str) -> anyhow::Result<NodeClient> {
    NodeClient::new(url, NODE_WAIT)
}

/// Reads a bounded text file.
fn read_bounded(path: &Path, max: usize) -> anyhow::Result<String> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.len() > max as u64 {
        bail!("{} is larger than {max} bytes", path.display());
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Writes `text` to `path` atomically (a temporary file, then a rename).
fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// `gov root-draft`: the unsigned ledger root (`specs/trust-list.md`) of the ledger whose trust
/// root JSON (with departments) is in `trust_root`.
pub fn root_draft(
    trust_root: &Path,
    name_zh: &str,
    name_en: &str,
    sequence: u64,
    out: &Path,
) -> anyhow::Result<Value> {
    use certledger_core::verify::{LedgerRoot, TrustRoot, MAX_TRUST_ROOT_BYTES};
    if out.exists() {
        bail!("{} exists: refusing to overwrite a ledger root", out.display());
    }
    let text = read_bounded(trust_root, MAX_TRUST_ROOT_BYTES)?;
    let (root, departments) = TrustRoot::from_json_with_departments(&text)
        .map_err(|e| anyhow!("{}: {e}", trust_root.display()))?;
    let departments = departments.ok_or_else(|| {
        anyhow!("{} does not list its departments (use GET /v1/trust-root)", trust_root.display())
    })?;
    let issued_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let draft = LedgerRoot::new(&root, departments, name_zh, name_en, sequence, issued_at)
        .map_err(|e| anyhow!("{e}"))?;
    write_atomic(out, &draft.to_json())?;
    Ok(json!({
        "root": out.display().to_string(), "chain_id": draft.chain_id, "sequence": sequence,
        "fingerprint": draft.fingerprint(), "departments": draft.departments.len(),
    }))
}

/// `gov root-sign`: adds one admin's signature to a ledger root file; says whether more than two
/// thirds of its departments have signed.
pub fn root_sign(root_file: &Path, admin_key: &Path) -> anyhow::Result<Value> {
    use certledger_core::verify::{LedgerRoot, MAX_LEDGER_ROOT_BYTES};
    let text = read_bounded(root_file, MAX_LEDGER_ROOT_BYTES)?;
    let mut root = LedgerRoot::from_json_unsigned(&text)
        .map_err(|e| anyhow!("{}: {e}", root_file.display()))?;
    let admin = KeyFile::load(admin_key)?;
    let key = admin.public_key();
    // A key outside the root's departments may still sign: an update must also be signed by the
    // departments of the root verifiers hold, which may have changed since.
    let member = root.departments.iter().any(|d| d.admin_keys.contains(&key));
    root.sign(&admin);
    write_atomic(root_file, &root.to_json())?;
    Ok(json!({
        "root": root_file.display().to_string(),
        "signatures": root.signatures.len(),
        "signer_is_a_department_of_this_root": member,
        "complete": root.verify().is_ok(),
        "fingerprint": root.fingerprint(),
    }))
}
