//! Audit with proofs, client side (`audit` command): fetches the node's audit pages
//! ([`crate::server::audit`], `specs/node.md`, Audit) and checks the checkpoint against a trust
//! root, every inclusion proof, every entry signature, that each leaf is what the item says, and
//! (for a department) that every signer was registered to that department. The audit index in
//! the checkpoint's state (`specs/ledger.md`, "Audit index") then shows that nothing was left out:
//! every item is the indexed record at its seq, the seqs run on from page to page without a gap,
//! and the answer ends at the index's counter or at a proven record outside the range
//! ([`certledger_core::ledger::check_index`]). An omission exits 7 ([`crate::tools::failure`]).

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::api;
use certledger_core::ledger::{
    self, check_index, EntryBody, IndexError, IndexOutcome, IndexRecord, IndexScope, LogLeaf,
    PageIndex, Range, SignedEntry,
};
use certledger_core::merkle;
use certledger_core::note;
use certledger_core::sig::PublicKey;
use certledger_core::verify::TrustRoot;
use serde_json::{json, Value};

use crate::ids;
pub use crate::server::audit::DEFAULT_LIMIT;
use crate::tools::failure::incomplete;
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
        ledger::audit_subject(&self.entry).kind
    }

    /// The credential concerned.
    pub fn credential_id(&self) -> Option<[u8; 32]> {
        ledger::audit_subject(&self.entry).credential_id
    }

    /// The key concerned (subject of issuer registry entries, signer otherwise).
    pub fn issuer_key(&self) -> PublicKey {
        ledger::audit_subject(&self.entry).issuer_key
    }

    /// The audit-index record of this entry.
    pub fn index_record(&self) -> IndexRecord {
        IndexRecord {
            log_index: self.log_index,
            height: self.height,
            time: self.time,
            entry_id: self.entry.id(),
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
            EntryBody::RegisterType(b) => format!("type {}", b.type_id),
            EntryBody::RegisterVerifier(b) => format!("verifier {}", b.verifier_id),
            EntryBody::RotateVerifier(b) => format!("verifier {}", b.verifier_id),
            EntryBody::RetireVerifier(b) => format!("verifier {}", b.verifier_id),
            EntryBody::ChangeValidators(b) => format!(
                "add {} remove {} from height {}",
                b.add.iter().map(|d| d.id.as_str()).collect::<Vec<_>>().join(","),
                b.remove.join(","),
                b.effective_height
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
    /// Complete as of the last checkpoint: the audit index proves that every entry of the range
    /// (or history) up to `proven_through` is listed, and the node holds nothing back. False
    /// when pages remain (without `--all`) or the node says entries in range were committed
    /// after the checkpoint.
    pub complete: bool,
    /// Final: the range is proven complete for good (it ends at a proven later record, or before
    /// the checkpoint's time, and later blocks are never earlier). Never for a credential, whose
    /// history can still grow.
    pub range_final: bool,
    /// Time of the last page's checkpoint: nothing in range up to it was left out.
    pub proven_through: u64,
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

/// One verified page.
#[derive(Clone, Debug)]
pub struct VerifiedPage {
    /// Its items.
    pub items: Vec<AuditItem>,
    /// Height of its checkpoint.
    pub checkpoint_height: u64,
    /// Time of its checkpoint.
    pub checkpoint_time: u64,
    /// What its audit-index part proves.
    pub index: IndexOutcome,
    /// The node says entries in range were committed after the checkpoint.
    pub held_back: bool,
}

fn scope_of(target: &Target) -> (IndexScope, Option<Range>) {
    match target {
        Target::Department { id, from, to } => {
            (IndexScope::Department(id.clone()), Some(Range { from: *from, to: *to }))
        }
        Target::Credential(cid) => (IndexScope::Credential(*cid), None),
    }
}

fn index_failure(e: IndexError) -> anyhow::Error {
    let msg = format!("{e} / {}", e.zh());
    if e.is_incomplete() {
        incomplete(msg)
    } else {
        unverified(msg)
    }
}

/// Verifies the first page of an answer (see [`verify_page_at`]).
pub fn verify_page(
    page: &api::AuditPage,
    target: &Target,
    trust_root: &TrustRoot,
) -> anyhow::Result<VerifiedPage> {
    verify_page_at(page, target, trust_root, None)
}

/// Verifies one page that must start at audit-index seq `start` (`None`: the first page):
/// the checkpoint, every leaf and summary, then the audit index (nothing left out).
pub fn verify_page_at(
    page: &api::AuditPage,
    target: &Target,
    trust_root: &TrustRoot,
    start: Option<u64>,
) -> anyhow::Result<VerifiedPage> {
    let quorum = trust_root.quorum();
    let cp = note::verify_checkpoint(&page.checkpoint.note, &quorum)
        .map_err(|e| unverified(format!("the checkpoint does not verify: {e}")))?;
    let chain_id = &trust_root.chain_id;
    if page.items.len() > ledger::MAX_PAGE_ITEMS {
        return Err(unverified("too many items in one page / 单页条目过多"));
    }
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
                // Issuer entries: the key is proven registered to the department. Every item's
                // department is also proven by its index record below (the ledger filed it
                // under this department), which is all other kinds have.
                let dept = match &it.entry.body {
                    EntryBody::RegisterIssuer(b) => Some(&b.department),
                    EntryBody::RegisterVerifier(b) => Some(&b.department),
                    _ if ledger::concerns_issuer_key(&it.entry) => {
                        registered.get(&it.issuer_key().0)
                    }
                    _ => Some(id),
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
    // Nothing left out: the audit index under the checkpoint's state root.
    let index = page.index.as_ref().ok_or_else(|| {
        incomplete(
            "the answer carries no audit-index proof, so it may leave entries out / \
             应答没有审计索引证明，可能遗漏了条目",
        )
    })?;
    let index = PageIndex::from_api(index).map_err(index_failure)?;
    let (scope, range) = scope_of(target);
    let records: Vec<IndexRecord> = items.iter().map(AuditItem::index_record).collect();
    let outcome = check_index(&cp.state_root, &scope, range, start, &records, &index)
        .map_err(index_failure)?;
    Ok(VerifiedPage {
        items,
        checkpoint_height: cp.height,
        checkpoint_time: cp.time,
        index: outcome,
        held_back: page.held_back,
    })
}

/// What follows a verified page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The answer ends here (as of the page's checkpoint).
    Done {
        /// As [`Verified::range_final`].
        range_final: bool,
    },
    /// The index goes on at this seq.
    More(u64),
}

/// Whether the answer ends after page `v`: it does when the page's index part closes it; else
/// the node must offer a next page (`has_next`), or it ended the answer early and left entries
/// out (exit 7).
pub fn next_step(target: &Target, v: &VerifiedPage, has_next: bool) -> anyhow::Result<Step> {
    if v.index.closed {
        let range_final = match target {
            // Closed by a record outside the range, or by the counter with the checkpoint at or
            // after the range's end (later blocks have times at or after the checkpoint's).
            Target::Department { to, .. } => !v.index.closed_by_count || v.checkpoint_time >= *to,
            Target::Credential(_) => false,
        };
        return Ok(Step::Done { range_final });
    }
    if !has_next {
        return Err(incomplete(format!(
            "the node ended the answer at audit-index seq {} of {} / 节点在审计索引第 {} 条（共 {} 条）处结束了应答，遗漏了其后的条目",
            v.index.next_seq, v.index.count, v.index.next_seq, v.index.count
        )));
    }
    Ok(Step::More(v.index.next_seq))
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
    let mut out = Verified {
        items: Vec::new(),
        checkpoint_heights: Vec::new(),
        complete: false,
        range_final: false,
        proven_through: 0,
    };
    let mut start: Option<u64> = None;
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
        if let Some(s) = start {
            path.push_str(&format!("&cursor={s}"));
        }
        let page: api::AuditPage = node.get_ok(&path).await?;
        let v = verify_page_at(&page, target, trust_root, start)?;
        let step = next_step(target, &v, page.next_cursor.is_some())?;
        out.items.extend(v.items);
        out.checkpoint_heights.push(v.checkpoint_height);
        out.proven_through = v.checkpoint_time;
        match step {
            Step::Done { range_final } => {
                out.complete = range_final || !page.held_back;
                out.range_final = range_final;
                return Ok(out);
            }
            Step::More(_) if !all => return Ok(out),
            Step::More(next) => start = Some(next),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
