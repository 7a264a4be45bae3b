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
mod tests {
    //! In-process: one node's store and ledger, blocks committed and a checkpoint cosigned by
    //! hand (as `server::proofs`' tests do), the answers built by the server's audit functions
    //! ([`crate::server::audit`]) and checked by this command's verifier.

    use std::sync::Arc;

    use certledger_core::ledger::{
        AnchorIssuance, ChangeStatus, CredentialStatus, EntryBody, RegisterIssuer,
    };
    use certledger_core::note::NoteSigner;
    use certledger_core::sig::SecretKey;
    use certledger_core::verify::TrustRoot;
    use certledger_core::{profiles, testkit};

    use certledger_core::codec::Encode as _;
    use certledger_core::note::Note;

    use super::{self as client, *};
    use crate::config::{Genesis, GenesisDepartment, KeyFile, NodeToml};
    use crate::server::audit::{
        clamp_limit, credential_answer, department_answer, AuditError, CredentialQuery,
        DepartmentQuery, MAX_LIMIT,
    };
    use crate::server::chain::checkpoint_of;
    use crate::server::codec::StoredCertificate;
    use crate::server::context::{Block, BlockHeader};
    use crate::server::handle::open_node;
    use crate::server::handle::NodeHandle;
    use crate::tools::failure::{exit_code, EXIT_INCOMPLETE, EXIT_UNVERIFIED};

    const CHAIN: &str = "audit-test";
    const DEPARTMENTS: [&str; 4] =
        ["market-regulation", "public-security", "education", "transport"];
    const MARKET: &str = "market-regulation";

    struct World {
        _dir: tempfile::TempDir,
        node: Arc<NodeHandle>,
        node_keys: Vec<SecretKey>,
        admin: SecretKey,
        trust_root: TrustRoot,
    }

    fn world() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let node_keys: Vec<SecretKey> =
            (0..4u8).map(|i| SecretKey::from_seed(&[i + 1; 32])).collect();
        let admin = SecretKey::from_seed(&[9; 32]);
        let genesis = Genesis {
            version: 1,
            chain_id: CHAIN.into(),
            genesis_time: 0,
            departments: node_keys
                .iter()
                .enumerate()
                .map(|(i, k)| GenesisDepartment {
                    id: DEPARTMENTS[i].into(),
                    name_zh: format!("部门{i}"),
                    name_en: format!("Department {i}"),
                    node_key: k.public_key(),
                    admin_keys: vec![if i == 0 {
                        admin.public_key()
                    } else {
                        SecretKey::from_seed(&[20 + i as u8; 32]).public_key()
                    }],
                })
                .collect(),
        };
        let gpath = dir.path().join("genesis.json");
        std::fs::write(&gpath, serde_json::to_string(&genesis).expect("json")).expect("write");
        let kpath = dir.path().join("key.json");
        KeyFile::new(&node_keys[0]).write(&kpath).expect("key");
        let cfg = NodeToml {
            moniker: "t".into(),
            data_dir: dir.path().join("data"),
            key_file: kpath,
            genesis_file: gpath,
            validator: true,
            p2p_listen: "/ip4/127.0.0.1/tcp/0".into(),
            persistent_peers: vec![],
            http_listen: "127.0.0.1:0".into(),
            peer_http: vec![],
            block_time_ms: 500,
            timeout_propose_ms: 2000,
            timeout_vote_ms: 1000,
            danger_propose_bad_state_root: false,
            danger_propose_invalid_entry: None,
            web_dir: None,
            http: Default::default(),
        };
        let node = open_node(&cfg).expect("open");
        let trust_root = TrustRoot::from_genesis(&genesis.to_core());
        World { _dir: dir, node, node_keys, admin, trust_root }
    }

    impl World {
        fn commit(&self, height: u64, time: u64, entries: &[SignedEntry]) -> BlockHeader {
            let bytes: Vec<Vec<u8>> = entries.iter().map(|e| e.to_bytes()).collect();
            let mut s = self.node.lock();
            let out = s.ledger.apply_block(height, time, &bytes).expect("block applies");
            let header = BlockHeader {
                chain_id: CHAIN.into(),
                height,
                prev_block_hash: [0; 32],
                time,
                proposer: [1; 32],
                entries_root: crate::server::chain::entries_root(&bytes),
                log_size: out.log_size,
                log_root: out.log_root,
                state_root: out.state_root,
                validators_hash: [5; 32],
                next_validators_hash: [5; 32],
            };
            let block = Block { header: header.clone(), entries: bytes };
            let cert = StoredCertificate {
                height,
                round: 0,
                value_id: header.hash().0,
                signatures: vec![([1; 32], vec![2; 64])],
            };
            self.node.store.put_decided(&block, &cert, None).expect("store");
            s.last_header = Some(header.clone());
            header
        }

        fn cosign(&self, header: &BlockHeader) {
            let mut note = Note::new(&checkpoint_of(header).to_body()).expect("note");
            for (i, k) in self.node_keys.iter().enumerate().take(3) {
                note.sign(&NoteSigner::new(DEPARTMENTS[i], k.clone()).expect("signer"))
                    .expect("sign");
            }
            self.node.store.put_checkpoint(header.height, &note.to_text()).expect("put");
        }

        fn sign(&self, key: &SecretKey, body: EntryBody) -> SignedEntry {
            SignedEntry::sign(key, CHAIN, body)
        }

        fn department(
            &self,
            from: u64,
            to: u64,
            limit: usize,
            cursor: Option<u64>,
        ) -> api::AuditPage {
            let q = DepartmentQuery {
                from: Some(from),
                to: Some(to),
                limit: Some(limit),
                cursor: cursor.map(|c| c.to_string()),
            };
            department_answer(&self.node, MARKET, &q).expect("department answer")
        }

        fn credential(&self, id: &[u8; 32], cursor: Option<u64>) -> api::AuditPage {
            let q = CredentialQuery { limit: None, cursor: cursor.map(|c| c.to_string()) };
            credential_answer(&self.node, id, &q).expect("credential answer")
        }
    }

    fn anchor(n: u8) -> AnchorIssuance {
        AnchorIssuance {
            credential_id: [n; 32],
            type_id: profiles::BUSINESS_LICENCE.id.into(),
            commitment: [n.wrapping_add(100); 32],
            nonce: [n; 16],
        }
    }

    /// Market registers an issuer at 1000 and anchors credentials 1..=4 at 1001..=1004; the
    /// first is suspended at 1005; a checkpoint covers height 6; credential 5 comes after it.
    fn history(w: &World) -> SecretKey {
        let issuer = SecretKey::from_seed(&[30; 32]);
        let bl = &profiles::BUSINESS_LICENCE;
        w.commit(
            1,
            1000,
            &[
                w.sign(&w.admin, EntryBody::RegisterType(testkit::register_type(bl))),
                w.sign(
                    &w.admin,
                    EntryBody::RegisterIssuer(RegisterIssuer {
                        department: MARKET.into(),
                        issuer_key: issuer.public_key(),
                        types: vec![bl.id.into()],
                        valid_from: 0,
                        valid_until: 1_000_000_000,
                        name_zh: "签发".into(),
                        name_en: "Issuer".into(),
                    }),
                ),
            ],
        );
        for n in 1..=4u8 {
            w.commit(
                1 + u64::from(n),
                1000 + u64::from(n),
                &[w.sign(&issuer, EntryBody::AnchorIssuance(anchor(n)))],
            );
        }
        let suspend = ChangeStatus {
            credential_id: [1; 32],
            status: CredentialStatus::Suspended,
            reason: 1,
            nonce: [1; 16],
        };
        let h6 = w.commit(6, 1005, &[w.sign(&issuer, EntryBody::ChangeStatus(suspend))]);
        w.cosign(&h6);
        w.commit(7, 1006, &[w.sign(&issuer, EntryBody::AnchorIssuance(anchor(5)))]);
        issuer
    }

    fn market(from: u64, to: u64) -> Target {
        Target::Department { id: MARKET.into(), from, to }
    }

    /// Removes item `i` and its index proof, as a node hiding that entry would.
    fn hide(page: &api::AuditPage, i: usize) -> api::AuditPage {
        let mut bad = page.clone();
        bad.items.remove(i);
        bad.index.as_mut().expect("index").item_proofs.remove(i);
        bad
    }

    fn code(r: anyhow::Result<client::VerifiedPage>) -> u8 {
        exit_code(&r.expect_err("must be refused"))
    }

    #[test]
    fn a_complete_department_answer_passes_and_a_hidden_entry_is_caught() {
        let w = world();
        history(&w);
        // 1001..1004: the four anchors; proven closed by the suspension at 1005.
        let page = w.department(1001, 1005, 100, None);
        assert_eq!(page.items.len(), 4);
        let v = client::verify_page(&page, &market(1001, 1005), &w.trust_root).expect("verifies");
        assert_eq!(v.items.iter().map(|i| i.time).collect::<Vec<_>>(), [1001, 1002, 1003, 1004]);
        assert!(v.index.closed && !v.index.closed_by_count);
        let step = client::next_step(&market(1001, 1005), &v, page.next_cursor.is_some());
        assert_eq!(step.expect("step"), Step::Done { range_final: true });

        // The node hides each entry in turn: always caught as incomplete (exit 7).
        for i in 0..4 {
            let bad = hide(&page, i);
            let r = client::verify_page(&bad, &market(1001, 1005), &w.trust_root);
            assert_eq!(code(r), EXIT_INCOMPLETE, "hidden item {i}");
        }
        // Hides one but keeps every proof: still caught.
        let mut bad = page.clone();
        bad.items.remove(1);
        let r = client::verify_page(&bad, &market(1001, 1005), &w.trust_root);
        assert_eq!(code(r), EXIT_INCOMPLETE);
        // Serves no index at all, as a node before this change would.
        let mut bad = page.clone();
        bad.index = None;
        let r = client::verify_page(&bad, &market(1001, 1005), &w.trust_root);
        assert_eq!(code(r), EXIT_INCOMPLETE);
        // Claims the range ends earlier than it does (drops the last item and the boundary).
        let mut bad = hide(&page, 3);
        bad.index.as_mut().expect("index").after = None;
        bad.next_cursor = None;
        let v = client::verify_page(&bad, &market(1001, 1005), &w.trust_root).expect("a page");
        let step = client::next_step(&market(1001, 1005), &v, bad.next_cursor.is_some());
        assert_eq!(exit_code(&step.expect_err("ended early")), EXIT_INCOMPLETE);
        // A forged counter proof is a proof failure (exit 6), not an omission.
        let mut bad = page.clone();
        bad.index.as_mut().expect("index").count_proof = page
            .index
            .as_ref()
            .and_then(|i| i.before.as_ref())
            .map(|b| b.proof.clone())
            .expect("before");
        let r = client::verify_page(&bad, &market(1001, 1005), &w.trust_root);
        assert_eq!(code(r), EXIT_UNVERIFIED);
    }

    #[test]
    fn paging_is_bounded_and_a_skipped_page_start_is_a_gap() {
        let w = world();
        history(&w);
        let target = market(0, u64::MAX);
        let mut start = None;
        let mut times = Vec::new();
        let mut kinds = Vec::new();
        let mut pages = 0;
        loop {
            let page = w.department(0, u64::MAX, 2, start);
            assert!(page.items.len() <= 2);
            let v = client::verify_page_at(&page, &target, &w.trust_root, start).expect("page");
            times.extend(v.items.iter().map(|i| i.time));
            kinds.extend(v.items.iter().map(|i| i.kind()));
            pages += 1;
            match client::next_step(&target, &v, page.next_cursor.is_some()).expect("step") {
                Step::More(next) => start = Some(next),
                Step::Done { range_final } => {
                    // The range reaches past the checkpoint: proven only up to it, and the node
                    // says an entry came after it.
                    assert!(!range_final);
                    assert!(page.held_back && page.next_cursor.is_some());
                    break;
                }
            }
        }
        // The type and the issuer registered at 1000, four anchors, one suspension.
        assert_eq!(times, [1000, 1000, 1001, 1002, 1003, 1004, 1005]);
        assert_eq!(kinds.first().copied(), Some("register_type"));
        assert_eq!(pages, 4);
        // A second page that starts one later than the first ended (one entry skipped).
        let page = w.department(0, u64::MAX, 2, Some(3));
        let r = client::verify_page_at(&page, &target, &w.trust_root, Some(2));
        assert_eq!(code(r), EXIT_INCOMPLETE);
        // A cursor past the index is refused by the server.
        let q = DepartmentQuery { from: None, to: None, limit: None, cursor: Some("99".into()) };
        assert!(matches!(department_answer(&w.node, MARKET, &q), Err(AuditError::BadCursor)));
        // Limits are clamped.
        assert_eq!(clamp_limit(Some(0)), 1);
        assert_eq!(clamp_limit(Some(usize::MAX)), MAX_LIMIT);
    }

    #[test]
    fn a_credential_history_is_complete_and_a_hidden_status_change_is_caught() {
        let w = world();
        history(&w);
        let target = Target::Credential([1; 32]);
        let page = w.credential(&[1; 32], None);
        let v = client::verify_page(&page, &target, &w.trust_root).expect("verifies");
        let kinds: Vec<&str> = v.items.iter().map(|i| i.kind()).collect();
        assert_eq!(kinds, ["anchor_issuance", "change_status"]);
        let step = client::next_step(&target, &v, page.next_cursor.is_some()).expect("step");
        assert_eq!(step, Step::Done { range_final: false });
        // The suspension hidden: the page no longer reaches the counter and the node offers no
        // more, so the command refuses it.
        let mut bad = hide(&page, 1);
        bad.next_cursor = None;
        let v = client::verify_page(&bad, &target, &w.trust_root).expect("a page");
        let step = client::next_step(&target, &v, false);
        assert_eq!(exit_code(&step.expect_err("ended early")), EXIT_INCOMPLETE);
        // The anchor hidden: the history does not start at seq 0.
        let r = client::verify_page(&hide(&page, 0), &target, &w.trust_root);
        assert_eq!(code(r), EXIT_INCOMPLETE);
        // A credential anchored after the checkpoint has an empty, closed history there and the
        // node says more is coming.
        let later = w.credential(&[5; 32], None);
        assert!(later.items.is_empty() && later.held_back);
        client::verify_page(&later, &Target::Credential([5; 32]), &w.trust_root).expect("empty");
    }
    /// The command's whole fetch loop over loopback HTTP (`--all`, pages of 2): an honest node
    /// passes; a node that hides one entry from its answers is caught with exit 7.
    #[tokio::test]
    async fn the_audit_command_over_http_catches_a_node_hiding_an_entry() {
        use axum::extract::{Path, Query, State};
        use axum::routing::get;

        let w = world();
        history(&w);
        type Shared = (Arc<NodeHandle>, bool);
        async fn department(
            State((node, hide)): State<Shared>,
            Path(id): Path<String>,
            Query(q): Query<DepartmentQuery>,
        ) -> axum::Json<api::AuditPage> {
            let mut page = department_answer(&node, &id, &q).expect("answer");
            // The dishonest node drops the anchor of time 1003 wherever it would appear.
            if let Some(i) = page.items.iter().position(|it| hide && it.time == 1003) {
                page.items.remove(i);
                page.index.as_mut().expect("index").item_proofs.remove(i);
            }
            axum::Json(page)
        }
        let serve = |hide: bool| {
            let app = axum::Router::new()
                .route("/v1/audit/department/{id}", get(department))
                .with_state((w.node.clone(), hide));
            async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                let url = format!("http://{}", listener.local_addr().expect("addr"));
                tokio::spawn(async move { axum::serve(listener, app).await });
                NodeClient::new(&url, std::time::Duration::from_secs(5)).expect("client")
            }
        };
        let target = market(0, 1005);
        let honest = serve(false).await;
        let v = fetch_and_verify(&honest, &target, &w.trust_root, 2, true).await.expect("honest");
        let times: Vec<u64> = v.items.iter().map(|i| i.time).collect();
        assert_eq!(times, [1000, 1000, 1001, 1002, 1003, 1004]);
        assert!(v.complete && v.range_final, "closed by the record at 1005");
        assert_eq!(v.checkpoint_heights.len(), 3);

        let dishonest = serve(true).await;
        let e = fetch_and_verify(&dishonest, &target, &w.trust_root, 2, true)
            .await
            .expect_err("a hidden entry is caught");
        assert_eq!(exit_code(&e), EXIT_INCOMPLETE, "{e:#}");
        let msg = format!("{e:#}");
        assert!(msg.contains("gap in the audit index") && msg.contains("遗漏"), "{msg}");
    }
}
