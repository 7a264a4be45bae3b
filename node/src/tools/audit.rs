//! Audit with proofs, client side (`audit` command): fetches the node's audit pages
//! ([`crate::server::audit`], `specs/node.md`, Audit) and checks the checkpoint against a trust
//! root, every inclusion proof, every entry signature, that each leaf is what the item says, and
//! (for a department) that every signer was registered to that department. Inclusion proofs show
//! that what is listed is in the log; they cannot show that nothing was left out.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::api;
use certledger_core::ledger::{EntryBody, LogLeaf, SignedEntry};
use certledger_core::merkle;
use certledger_core::note;
use certledger_core::sig::PublicKey;
use certledger_core::verify::TrustRoot;
use serde_json::{json, Value};

use crate::ids;
pub use crate::server::audit::DEFAULT_LIMIT;
use crate::tools::issuer::{self, format_time, input, unverified, NodeClient};

/// Most pages the CLI follows with `--all`.
pub const MAX_PAGES: usize = 1000;

/// One verified audit item.
#[derive(Clone, Debug)]
pub struct AuditItem {
    /// Log index.
    pub log_index: u64,
    /// Block height.
    pub height: u64,
    /// Block time.
    pub time: u64,
    /// The entry (decoded from the proven leaf).
    pub entry: SignedEntry,
}

impl AuditItem {
    /// The kind name.
    pub fn kind(&self) -> &'static str {
        match &self.entry.body {
            EntryBody::RegisterIssuer(_) => "register_issuer",
            EntryBody::RetireIssuer(_) => "retire_issuer",
            EntryBody::CompromiseIssuer(_) => "compromise_issuer",
            EntryBody::AnchorIssuance(_) => "anchor_issuance",
            EntryBody::ChangeStatus(_) => "change_status",
            _ => "other",
        }
    }

    /// The credential concerned.
    pub fn credential_id(&self) -> Option<[u8; 32]> {
        match &self.entry.body {
            EntryBody::AnchorIssuance(b) => Some(b.credential_id),
            EntryBody::ChangeStatus(b) => Some(b.credential_id),
            _ => None,
        }
    }

    /// The issuer key concerned (subject of registry entries, signer otherwise).
    pub fn issuer_key(&self) -> PublicKey {
        match &self.entry.body {
            EntryBody::RegisterIssuer(b) => b.issuer_key,
            EntryBody::RetireIssuer(b) => b.issuer_key,
            EntryBody::CompromiseIssuer(b) => b.issuer_key,
            _ => self.entry.signer,
        }
    }

    /// A one-line human description of what the entry does.
    pub fn detail(&self) -> String {
        match &self.entry.body {
            EntryBody::RegisterIssuer(b) => format!(
                "types {} valid {}..{}",
                b.types.join(","),
                format_time(b.valid_from),
                format_time(b.valid_until)
            ),
            EntryBody::RetireIssuer(b) => format!("at {}", format_time(b.at)),
            EntryBody::CompromiseIssuer(b) => format!("since {}", format_time(b.since)),
            EntryBody::AnchorIssuance(b) => format!("type {}", b.type_id),
            EntryBody::ChangeStatus(b) => format!(
                "{} reason {}{}",
                issuer::status_name(b.status),
                b.reason,
                issuer::reason_name(b.reason).map(|n| format!(" ({n})")).unwrap_or_default()
            ),
            _ => String::new(),
        }
    }

    /// The JSON form printed by `audit --json`.
    pub fn to_json(&self) -> Value {
        json!({
            "log_index": self.log_index,
            "height": self.height,
            "time": self.time,
            "kind": self.kind(),
            "issuer_key": URL_SAFE_NO_PAD.encode(self.issuer_key().0),
            "credential_id": self.credential_id().map(|c| URL_SAFE_NO_PAD.encode(c)),
            "detail": self.detail(),
        })
    }
}

/// A verified audit answer (all pages).
#[derive(Clone, Debug)]
pub struct Verified {
    /// The items, in the node's order.
    pub items: Vec<AuditItem>,
    /// Heights of the checkpoints the pages were proven against.
    pub checkpoint_heights: Vec<u64>,
    /// False when more pages remain (without `--all`) or entries in range were committed after
    /// the newest cosigned checkpoint and are not served yet.
    pub complete: bool,
}

/// What to audit.
#[derive(Clone, Debug)]
pub enum Target {
    /// A department's issuers' entries with block time in `from..to`.
    Department {
        /// Department id.
        id: String,
        /// First second.
        from: u64,
        /// First second after.
        to: u64,
    },
    /// One credential's history.
    Credential([u8; 32]),
}

/// Checks one proven leaf against the checkpoint; returns the decoded leaf.
fn check_leaf(
    v: &api::ProvenLeaf,
    cp: &note::LedgerCheckpoint,
    chain_id: &str,
) -> anyhow::Result<(u64, LogLeaf)> {
    let index = v.log_index;
    let leaf = URL_SAFE_NO_PAD.decode(&v.leaf).map_err(|_| unverified("leaf is not base64url"))?;
    let path: Vec<[u8; 32]> = v
        .proof
        .iter()
        .map(|h| {
            hex::decode(h)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| unverified("proof hash is not 64 hex digits"))
        })
        .collect::<anyhow::Result<_>>()?;
    merkle::verify_inclusion(&merkle::leaf_hash(&leaf), index, cp.size, &path, &cp.root)
        .map_err(|e| unverified(format!("log index {index}: inclusion proof fails: {e:?}")))?;
    let leaf = LogLeaf::from_bytes_checked(&leaf)
        .map_err(|e| unverified(format!("log index {index}: leaf does not decode: {e}")))?;
    leaf.entry
        .verify_signature(chain_id)
        .map_err(|_| unverified(format!("log index {index}: entry signature is invalid")))?;
    Ok((index, leaf))
}

fn b64_key(s: &str, name: &str) -> anyhow::Result<[u8; 32]> {
    URL_SAFE_NO_PAD
        .decode(s)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| unverified(format!("`{name}` is not 32 bytes of base64url")))
}

/// Verifies one page; returns its items, the checkpoint height, the next cursor and whether
/// entries were held back for want of a newer checkpoint.
pub fn verify_page(
    page: &api::AuditPage,
    target: &Target,
    trust_root: &TrustRoot,
) -> anyhow::Result<(Vec<AuditItem>, u64, Option<String>, bool)> {
    let quorum = trust_root.quorum();
    let cp = note::verify_checkpoint(&page.checkpoint.note, &quorum)
        .map_err(|e| unverified(format!("the checkpoint does not verify: {e}")))?;
    let chain_id = &trust_root.chain_id;
    // Department answers: every issuer key mentioned must be proven registered to it.
    let mut registered: BTreeMap<[u8; 32], String> = BTreeMap::new();
    if let Target::Department { .. } = target {
        for reg in page.issuers.iter().flatten() {
            let (_, leaf) = check_leaf(&reg.proven, &cp, chain_id)?;
            let EntryBody::RegisterIssuer(b) = &leaf.entry.body else {
                return Err(unverified("an issuer proof is not a RegisterIssuer entry"));
            };
            registered.insert(b.issuer_key.0, b.department.clone());
        }
    }
    let mut items = Vec::new();
    for v in &page.items {
        let (log_index, leaf) = check_leaf(&v.proven, &cp, chain_id)?;
        let it = AuditItem { log_index, height: leaf.height, time: leaf.time, entry: leaf.entry };
        // The node's summary must be what the proven leaf says.
        if v.kind != it.kind()
            || b64_key(&v.issuer_key, "issuer_key")? != it.issuer_key().0
            || v.time != it.time
        {
            return Err(unverified(format!(
                "log index {log_index}: summary differs from the leaf"
            )));
        }
        match target {
            Target::Department { id, from, to } => {
                if it.time < *from || it.time >= *to {
                    return Err(unverified(format!("log index {log_index}: outside the range")));
                }
                let dept = match &it.entry.body {
                    EntryBody::RegisterIssuer(b) => Some(&b.department),
                    _ => registered.get(&it.issuer_key().0),
                };
                if dept != Some(id) {
                    return Err(unverified(format!(
                        "log index {log_index}: issuer key not proven to belong to {id}"
                    )));
                }
            }
            Target::Credential(cid) => {
                if it.credential_id() != Some(*cid) {
                    return Err(unverified(format!(
                        "log index {log_index}: entry is about another credential"
                    )));
                }
            }
        }
        items.push(it);
    }
    Ok((items, cp.height, page.next_cursor.clone(), page.held_back))
}

/// Fetches an audit answer from `node` (following cursors when `all`, up to [`MAX_PAGES`]) and
/// verifies every page against `trust_root`.
pub async fn fetch_and_verify(
    node: &NodeClient,
    target: &Target,
    trust_root: &TrustRoot,
    limit: usize,
    all: bool,
) -> anyhow::Result<Verified> {
    let mut out = Verified { items: Vec::new(), checkpoint_heights: Vec::new(), complete: true };
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut path = match target {
            Target::Department { id, from, to } => {
                if !ids::is_slug(id) {
                    return Err(input("--department must be a department id (a slug)"));
                }
                format!("/v1/audit/department/{id}?from={from}&to={to}&limit={limit}")
            }
            Target::Credential(cid) => {
                format!("/v1/audit/credential/{}?limit={limit}", URL_SAFE_NO_PAD.encode(cid))
            }
        };
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page: api::AuditPage = node.get_ok(&path).await?;
        let (items, height, next, held_back) = verify_page(&page, target, trust_root)?;
        let progressed = !items.is_empty();
        out.items.extend(items);
        out.checkpoint_heights.push(height);
        out.complete = next.is_none() && !held_back;
        match next {
            Some(c) if all && progressed && !held_back => cursor = Some(c),
            _ => break,
        }
    }
    Ok(out)
}
