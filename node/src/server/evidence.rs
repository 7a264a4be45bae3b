//! Equivocation evidence on the node (`specs/evidence.md`, "On the node"): detection in the
//! cosigning loop, storage, `GET /v1/evidence` and gossip.
//!
//! Detection. Every peer note the cosigning loop pulls whose body is not this node's checkpoint
//! at that height is parsed; if it is a checkpoint of this ledger, for a log size this node
//! committed, with another root, each department with a valid signature on it made a
//! *conflicting statement*. The loop also remembers, per department and log size, one valid
//! statement by that department over this node's own checkpoint (from the merged note it builds
//! every round, or from the stored quorum note of that height). A department with one of each at
//! one log size signed two roots at that size: the pair is an evidence object
//! (`core::evidence`), verified against the trust root and stored. Both memories are bounded.
//!
//! Gossip. Every [`GOSSIP_EVERY`], the loop reads each peer's `GET /v1/evidence` (a bounded
//! body, one page per peer and round, following the page cursor), and stores every object that
//! verifies offline against the trust root; anything else is dropped and counted.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::api::{EvidenceItem, EvidencePage, MAX_EVIDENCE_PAGE};
use certledger_core::codec::Encode as _;
use certledger_core::evidence::{
    self, statement_by, Equivocation, Evidence, EvidenceError, SignedCheckpoint, MAX_EVIDENCE_BYTES,
};
use certledger_core::note::{LedgerCheckpoint, Note, Quorum};
use certledger_core::verify::TrustRoot;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use tracing::{error, info, warn};

use crate::server::fatal::Fatal;
use crate::server::handle::NodeHandle;
use crate::server::reply::{err, internal};
use crate::server::store::EvidencePut;

/// How often the cosigning loop pulls its peers' evidence.
pub const GOSSIP_EVERY: Duration = Duration::from_secs(2);
/// Most statements remembered on each side (own-checkpoint statements, conflicting ones)
/// while waiting for their pair; those of the smallest log sizes go first.
pub const MAX_REMEMBERED_STATEMENTS: usize = 256;
/// Most bytes read from a peer's `GET /v1/evidence` answer: a full page of the largest
/// evidence objects in base64url, with room for the JSON around them.
pub const MAX_EVIDENCE_PAGE_BODY: usize = MAX_EVIDENCE_PAGE * (MAX_EVIDENCE_BYTES * 4 / 3 + 1024);

/// One department's statement at one log size: `(log size, department)`, so the smallest (the
/// oldest) sizes sort first and are forgotten first, whatever the department.
type Slot = (u64, String);

/// What the cosigning loop remembers between rounds (memory only, bounded).
#[derive(Default)]
pub struct Watch {
    /// Per (department, log size): a valid statement by that department over this node's own
    /// checkpoint of that size.
    ours: BTreeMap<Slot, SignedCheckpoint>,
    /// Per (department, log size): a valid statement by that department over a checkpoint
    /// body with another root at that size.
    theirs: BTreeMap<Slot, SignedCheckpoint>,
    /// Slots whose evidence this node holds (not reported again).
    proven: BTreeSet<Slot>,
    /// Per peer: where its evidence list is read next (`None`: from the start).
    cursors: BTreeMap<String, Option<String>>,
    /// When the peers' evidence was last pulled.
    last_gossip: Option<Instant>,
}

fn remember(map: &mut BTreeMap<Slot, SignedCheckpoint>, slot: Slot, s: SignedCheckpoint) {
    map.insert(slot, s);
    while map.len() > MAX_REMEMBERED_STATEMENTS {
        map.pop_first();
    }
}

impl Watch {
    /// Remembers every valid signature of `merged` (this node's checkpoint `own`, with the
    /// signatures gathered so far) as a statement over the node's own checkpoint, and stores
    /// the evidence it completes.
    pub fn own_note(
        &mut self,
        node: &NodeHandle,
        merged: &Note,
        own: &LedgerCheckpoint,
        quorum: &Quorum,
    ) -> Result<(), Fatal> {
        for key in &quorum.keys {
            let Some(s) = statement_by(merged, key) else { continue };
            let slot = (own.size, key.name.clone());
            if let Some(theirs) = self.theirs.get(&slot).cloned() {
                self.pair(node, &slot, s.clone(), theirs)?;
            }
            remember(&mut self.ours, slot, s);
        }
        Ok(())
    }

    /// Looks at a peer note for height `h` whose body is not this node's checkpoint `own`:
    /// if it is a checkpoint of this ledger for a log size this node committed, with another
    /// root, every department with a valid signature on it made a conflicting statement.
    pub fn other_note(
        &mut self,
        node: &NodeHandle,
        h: u64,
        note: &Note,
        own: &LedgerCheckpoint,
        quorum: &Quorum,
    ) -> Result<(), Fatal> {
        let Ok(cp) = LedgerCheckpoint::parse_body(note.text()) else { return Ok(()) };
        if cp.origin != node.chain_id {
            return Ok(());
        }
        // This node's root at the note's size: its checkpoint at `h`, or at the height the
        // note names. Other sizes cannot be compared here (no offline evidence either).
        let ours_at = if cp.size == own.size {
            Some((h, own.root))
        } else {
            match node.store.block(cp.height) {
                Ok(Some(b)) if b.header.log_size == cp.size => Some((cp.height, b.header.log_root)),
                _ => None,
            }
        };
        let Some((our_height, our_root)) = ours_at else { return Ok(()) };
        if our_root == cp.root {
            return Ok(());
        }
        for key in &quorum.keys {
            let slot = (cp.size, key.name.clone());
            if self.proven.contains(&slot) {
                continue;
            }
            let Some(s) = statement_by(note, key) else { continue };
            // Logged once per unpaired slot (every later pull brings the same statement).
            if !self.theirs.contains_key(&slot) {
                node.lock().metrics.conflicting_statements += 1;
                warn!(
                    department = %key.name,
                    height = h,
                    size = cp.size,
                    "a department signed a checkpoint with another root at a log size this node committed"
                );
            }
            let ours = self.ours.get(&slot).cloned();
            match ours.or_else(|| stored_statement(node, our_height, key)) {
                Some(ours) => self.pair(node, &slot, ours, s)?,
                None => remember(&mut self.theirs, slot, s),
            }
        }
        Ok(())
    }

    /// Builds, checks and stores the evidence of one department's two statements at one size.
    fn pair(
        &mut self,
        node: &NodeHandle,
        slot: &Slot,
        ours: SignedCheckpoint,
        theirs: SignedCheckpoint,
    ) -> Result<(), Fatal> {
        self.theirs.remove(slot);
        let ev = Evidence::new(&slot.1, ours, theirs);
        let kept = keep(node, &ev)?;
        if !matches!(kept, Kept::Refused(_)) {
            self.proven.insert(slot.clone());
            while self.proven.len() > MAX_REMEMBERED_STATEMENTS {
                self.proven.pop_first();
            }
        }
        match kept {
            Kept::New(q) => {
                node.lock().metrics.evidence_detected += 1;
                warn!(department = %q.department, size = q.size, "equivocation detected; evidence stored");
            }
            Kept::Known => {}
            Kept::Refused(e) => {
                // The two statements were checked one by one; a refusal here is a bug.
                error!(error = %e, "evidence built from checked statements does not verify");
            }
        }
        Ok(())
    }

    /// Pulls one page of every peer's evidence (at most every [`GOSSIP_EVERY`]) and keeps what
    /// verifies. Returns only when storing fails.
    pub async fn gossip(&mut self, node: &NodeHandle) -> Result<(), Fatal> {
        if self.last_gossip.is_some_and(|t| t.elapsed() < GOSSIP_EVERY) {
            return Ok(());
        }
        self.last_gossip = Some(Instant::now());
        for base in &node.peer_http {
            let cursor = self.cursors.get(base).cloned().flatten();
            let url = match &cursor {
                Some(c) => format!("{base}/v1/evidence?limit={MAX_EVIDENCE_PAGE}&cursor={c}"),
                None => format!("{base}/v1/evidence?limit={MAX_EVIDENCE_PAGE}"),
            };
            let Some(page) = crate::server::peer_fetch::fetch_json::<EvidencePage>(
                &node.http,
                &url,
                MAX_EVIDENCE_PAGE_BODY,
            )
            .await
            else {
                continue;
            };
            for item in page.items.iter().take(MAX_EVIDENCE_PAGE) {
                receive(node, item)?;
            }
            let next = page.next_cursor.filter(|c| parse_id(c).is_some());
            self.cursors.insert(base.clone(), next);
        }
        Ok(())
    }
}

/// `key`'s statement in the stored quorum note of height `h`, if it signed it.
fn stored_statement(
    node: &NodeHandle,
    h: u64,
    key: &certledger_core::note::NoteKey,
) -> Option<SignedCheckpoint> {
    let text = node.store.checkpoint(h).ok()??;
    statement_by(&Note::parse(&text).ok()?, key)
}

/// One evidence item from a peer: kept if its id is its hash and it verifies; otherwise
/// dropped and counted.
fn receive(node: &NodeHandle, item: &EvidenceItem) -> Result<(), Fatal> {
    let refuse = |why: &dyn std::fmt::Display| {
        warn!(id = %item.id, reason = %why, "refusing evidence from a peer");
        node.lock().metrics.evidence_refused += 1;
    };
    let Some(id) = parse_id(&item.id) else {
        refuse(&"malformed id");
        return Ok(());
    };
    if matches!(node.store.evidence(&id), Ok(Some(_))) {
        return Ok(());
    }
    if item.evidence.len() > MAX_EVIDENCE_BYTES * 4 / 3 + 4 {
        refuse(&"over the evidence size limit");
        return Ok(());
    }
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(&item.evidence) else {
        refuse(&"not base64url");
        return Ok(());
    };
    if evidence_id(&bytes) != id {
        refuse(&"id is not the hash of the bytes");
        return Ok(());
    }
    let ev = match Evidence::from_bytes_checked(&bytes) {
        Ok(ev) => ev,
        Err(e) => {
            refuse(&e);
            return Ok(());
        }
    };
    match keep(node, &ev)? {
        Kept::New(q) => {
            node.lock().metrics.evidence_received += 1;
            info!(department = %q.department, size = q.size, "equivocation evidence received from a peer and stored");
        }
        Kept::Known => {}
        Kept::Refused(e) => refuse(&e),
    }
    Ok(())
}

/// What [`keep`] did.
enum Kept {
    /// Verified and stored.
    New(Equivocation),
    /// Verified; its slot already holds evidence, or the store is full (counted).
    Known,
    /// Does not verify against the trust root.
    Refused(EvidenceError),
}

/// Verifies evidence against the trust root and stores it. A failed write is fatal.
fn keep(node: &NodeHandle, ev: &Evidence) -> Result<Kept, Fatal> {
    let q = match verify_evidence(node, ev) {
        Ok(q) => q,
        Err(e) => return Ok(Kept::Refused(e)),
    };
    let bytes = ev.to_bytes();
    match node.store.put_evidence(&evidence_id(&bytes), &q.department, q.size, &bytes) {
        Ok(EvidencePut::Stored) => Ok(Kept::New(q)),
        Ok(EvidencePut::Duplicate) => Ok(Kept::Known),
        Ok(EvidencePut::Full) => {
            node.lock().metrics.evidence_dropped += 1;
            Ok(Kept::Known)
        }
        Err(e) => {
            error!(error = %e, "storage write failed; stopping");
            Err(Fatal::storage("evidence", e))
        }
    }
}

/// Checks evidence against the trust root of the current department set, then (for a
/// department since removed) against the genesis trust root.
pub fn verify_evidence(node: &NodeHandle, ev: &Evidence) -> Result<Equivocation, EvidenceError> {
    let top = node.lock().last_header.as_ref().map_or(0, |h| h.height);
    let current = TrustRoot::from_departments(&node.chain_id, &node.departments_at(top + 1));
    match evidence::verify(ev, &current) {
        Err(EvidenceError::UnknownKey(_)) => {
            let genesis =
                TrustRoot::from_departments(&node.chain_id, &node.genesis.to_core().departments);
            evidence::verify(ev, &genesis)
        }
        other => other,
    }
}

/// The id of evidence bytes: their SHA-256.
pub fn evidence_id(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn parse_id(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    hex::decode(s).ok().and_then(|v| v.try_into().ok())
}

/// The API summary of stored evidence bytes (stored only after verification; a record that no
/// longer decodes is reported as an internal error).
fn item(id: &[u8; 32], bytes: &[u8]) -> Option<EvidenceItem> {
    let ev = Evidence::from_bytes_checked(bytes).ok()?;
    let a = LedgerCheckpoint::parse_body(&ev.first.body).ok()?;
    let b = LedgerCheckpoint::parse_body(&ev.second.body).ok()?;
    Some(EvidenceItem {
        id: hex::encode(id),
        department: ev.department,
        size: a.size,
        roots: vec![hex::encode(a.root), hex::encode(b.root)],
        evidence: URL_SAFE_NO_PAD.encode(bytes),
    })
}

/// Query of `GET /v1/evidence`.
#[derive(Deserialize)]
pub struct ListQuery {
    limit: Option<usize>,
    cursor: Option<String>,
}

/// `GET /v1/evidence`: one page of the stored evidence, in id order.
pub async fn list_handler(
    State(node): State<Arc<NodeHandle>>,
    Query(q): Query<ListQuery>,
) -> Response {
    let after = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => match parse_id(c) {
            Some(id) => Some(id),
            None => {
                return err(StatusCode::BAD_REQUEST, "malformed", "cursor must be 64 hex digits")
            }
        },
    };
    let limit = q.limit.unwrap_or(MAX_EVIDENCE_PAGE).clamp(1, MAX_EVIDENCE_PAGE);
    // One more than the page, to know whether another page follows.
    let rows = match node.store.evidence_page(after.as_ref(), limit + 1) {
        Ok(rows) => rows,
        Err(e) => return internal(e),
    };
    let more = rows.len() > limit;
    let mut items = Vec::with_capacity(limit);
    for row in rows.iter().take(limit) {
        match item(&row.id, &row.bytes) {
            Some(i) => items.push(i),
            None => return internal("a stored evidence record does not decode"),
        }
    }
    let next_cursor = if more { items.last().map(|i| i.id.clone()) } else { None };
    Json(EvidencePage { items, next_cursor }).into_response()
}

/// `GET /v1/evidence/{id}`: the canonical evidence bytes (`application/octet-stream`).
pub async fn one_handler(State(node): State<Arc<NodeHandle>>, Path(id): Path<String>) -> Response {
    let Some(id) = parse_id(&id) else {
        return err(StatusCode::BAD_REQUEST, "malformed", "id must be 64 hex digits");
    };
    match node.store.evidence(&id) {
        Ok(Some(bytes)) => {
            ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
        }
        Ok(None) => err(StatusCode::NOT_FOUND, "not_found", "no evidence with this id"),
        Err(e) => internal(e),
    }
}

#[cfg(test)]
mod tests {
    use certledger_core::note::NoteSigner;
    use certledger_core::sig::{SecretKey, Signature};

    use super::*;
    use crate::config::{Genesis, GenesisDepartment, KeyFile, NodeToml};
    use crate::server::codec::StoredCertificate;
    use crate::server::context::{Block, BlockHeader};
    use crate::server::handle::open_node;

    const CHAIN: &str = "evidence-test";

    fn dept_key(i: u8) -> SecretKey {
        SecretKey::from_seed(&[i + 1; 32])
    }

    fn signer(i: u8) -> NoteSigner {
        NoteSigner::new(&format!("dept-{i}"), dept_key(i)).expect("signer")
    }

    /// A node of department 0 in a four-department ledger, with block 1 stored (empty, so
    /// log size 0), peers at `peer_http`.
    fn node_with_block(dir: &std::path::Path, peer_http: Vec<String>) -> NodeHandle {
        let genesis = Genesis {
            version: 1,
            chain_id: CHAIN.into(),
            genesis_time: 0,
            departments: (0..4u8)
                .map(|i| GenesisDepartment {
                    id: format!("dept-{i}"),
                    name_zh: "部门".into(),
                    name_en: "Department".into(),
                    node_key: dept_key(i).public_key(),
                    admin_keys: vec![SecretKey::from_seed(&[100 + i; 32]).public_key()],
                })
                .collect(),
        };
        let gpath = dir.join("genesis.json");
        std::fs::write(&gpath, serde_json::to_string(&genesis).expect("json")).expect("write");
        let kpath = dir.join("key.json");
        KeyFile::new(&dept_key(0)).write(&kpath).expect("key");
        let cfg = NodeToml {
            moniker: "t".into(),
            data_dir: dir.join("data"),
            key_file: kpath,
            genesis_file: gpath,
            validator: true,
            p2p_listen: "/ip4/127.0.0.1/tcp/0".into(),
            persistent_peers: vec![],
            http_listen: "127.0.0.1:0".into(),
            peer_http,
            block_time_ms: 500,
            timeout_propose_ms: 2000,
            timeout_vote_ms: 1000,
            danger_propose_bad_state_root: false,
            danger_propose_invalid_entry: None,
            web_dir: None,
            http: Default::default(),
        };
        let Ok(node) = Arc::try_unwrap(open_node(&cfg).expect("open")) else {
            panic!("the handle is shared")
        };
        let out = node.lock().ledger.apply_block(1, 10, &[]).expect("applies");
        let header = BlockHeader {
            chain_id: CHAIN.into(),
            height: 1,
            prev_block_hash: [0; 32],
            time: 10,
            proposer: dept_key(0).public_key().0,
            entries_root: crate::server::chain::entries_root(&[]),
            log_size: out.log_size,
            log_root: out.log_root,
            state_root: out.state_root,
            validators_hash: [5; 32],
            next_validators_hash: [5; 32],
        };
        let block = Block { header: header.clone(), entries: vec![] };
        let cert = StoredCertificate {
            height: 1,
            round: 0,
            value_id: header.hash().0,
            signatures: vec![],
        };
        node.store.put_decided(&block, &cert, None).expect("store");
        node.lock().last_header = Some(header);
        node
    }

    fn own_checkpoint(node: &NodeHandle) -> LedgerCheckpoint {
        let block = node.store.block(1).expect("read").expect("block 1");
        crate::server::chain::checkpoint_of(&block.header)
    }

    fn other_root(cp: &LedgerCheckpoint) -> LedgerCheckpoint {
        let mut other = cp.clone();
        other.root[0] ^= 0xff;
        other
    }

    fn statement(cp: &LedgerCheckpoint, by: u8) -> SignedCheckpoint {
        let body = cp.to_body();
        let sig = signer(by).sign_text(&body).sig;
        SignedCheckpoint { body, signature: Signature(sig.try_into().expect("64 bytes")) }
    }

    fn ids(node: &NodeHandle) -> Vec<[u8; 32]> {
        node.store.evidence_page(None, 100).expect("page").into_iter().map(|r| r.id).collect()
    }

    #[test]
    fn a_department_signing_another_root_at_a_committed_size_is_caught_once_paired() {
        let dir = tempfile::tempdir().expect("tempdir");
        let node = node_with_block(dir.path(), vec![]);
        let own = own_checkpoint(&node);
        let quorum = node.quorum_at(1);
        let mut watch = Watch::default();
        // Department 2 signs another root at our size; nothing of it is known on our side yet.
        let fake = other_root(&own).sign(&signer(2)).expect("sign");
        watch.other_note(&node, 1, &fake, &own, &quorum).expect("no storage failure");
        assert!(ids(&node).is_empty());
        assert_eq!(node.lock().metrics.conflicting_statements, 1);
        // Not comparable (a size this node has no block for) or signed by no listed key:
        // nothing is remembered.
        let mut elsewhere = other_root(&own);
        elsewhere.size = 7;
        elsewhere.height = 9;
        let unlisted = NoteSigner::new("dept-9", SecretKey::from_seed(&[9; 32])).expect("s");
        for n in
            [elsewhere.sign(&signer(3)).expect("s"), other_root(&own).sign(&unlisted).expect("s")]
        {
            watch.other_note(&node, 1, &n, &own, &quorum).expect("no storage failure");
        }
        // Then department 2's signature on our own checkpoint arrives: the pair is evidence.
        let mut merged = Note::new(&own.to_body()).expect("note");
        merged.sign(&signer(0)).expect("sign");
        merged.sign(&signer(2)).expect("sign");
        merged.sign(&signer(3)).expect("sign");
        watch.own_note(&node, &merged, &own, &quorum).expect("no storage failure");
        let stored = ids(&node);
        assert_eq!(stored.len(), 1, "one evidence object, against department 2 only");
        let bytes = node.store.evidence(&stored[0]).expect("read").expect("kept");
        let ev = Evidence::from_bytes_checked(&bytes).expect("decodes");
        let q = verify_evidence(&node, &ev).expect("verifies");
        assert_eq!((q.department.as_str(), q.size), ("dept-2", own.size));
        assert_eq!(node.lock().metrics.evidence_detected, 1);
        // The same conflict again (as every later pull brings it) is not stored twice.
        watch.other_note(&node, 1, &fake, &own, &quorum).expect("no storage failure");
        assert_eq!(ids(&node).len(), 1);
        // The other order: department 3's statement on our checkpoint is known (above), its
        // conflicting one arrives later and is paired at once.
        let fake3 = other_root(&own).sign(&signer(3)).expect("sign");
        watch.other_note(&node, 1, &fake3, &own, &quorum).expect("no storage failure");
        assert_eq!(ids(&node).len(), 2);
        assert_eq!(node.lock().metrics.evidence_detected, 2);
        // Seen: department 2 (once, however often pulled), department 3.
        assert_eq!(node.lock().metrics.conflicting_statements, 2);
    }

    #[test]
    fn a_conflicting_statement_pairs_with_the_stored_quorum_note_after_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let node = node_with_block(dir.path(), vec![]);
        let own = own_checkpoint(&node);
        let quorum = node.quorum_at(1);
        // The quorum note stored for height 1 (before a restart) carries department 1's
        // signature; the watch's memory is empty.
        let mut stored = Note::new(&own.to_body()).expect("note");
        for i in 0..3 {
            stored.sign(&signer(i)).expect("sign");
        }
        node.store.put_checkpoint(1, &stored.to_text()).expect("store");
        let mut watch = Watch::default();
        let fake = other_root(&own).sign(&signer(1)).expect("sign");
        watch.other_note(&node, 1, &fake, &own, &quorum).expect("no storage failure");
        let stored_ids = ids(&node);
        assert_eq!(stored_ids.len(), 1);
        let bytes = node.store.evidence(&stored_ids[0]).expect("read").expect("kept");
        let q = verify_evidence(&node, &Evidence::from_bytes_checked(&bytes).expect("decodes"))
            .expect("verifies");
        assert_eq!(q.department, "dept-1");
        // Department 3 did not sign the stored note: its conflicting statement waits.
        let fake3 = other_root(&own).sign(&signer(3)).expect("sign");
        watch.other_note(&node, 1, &fake3, &own, &quorum).expect("no storage failure");
        assert_eq!(ids(&node).len(), 1);
    }

    #[test]
    fn remembered_statements_forget_the_smallest_sizes_first_whatever_the_department() {
        let cp = LedgerCheckpoint {
            origin: CHAIN.into(),
            size: 1,
            root: [1; 32],
            height: 1,
            time: 1,
            state_root: [2; 32],
        };
        let s = statement(&cp, 1);
        let mut map = BTreeMap::new();
        let sizes = MAX_REMEMBERED_STATEMENTS as u64;
        for size in 0..sizes {
            for d in ["dept-a", "dept-z"] {
                remember(&mut map, (size, d.to_owned()), s.clone());
            }
        }
        assert_eq!(map.len(), MAX_REMEMBERED_STATEMENTS);
        // Both departments keep their newest sizes; the oldest half went.
        for d in ["dept-a", "dept-z"] {
            assert!(map.contains_key(&(sizes - 1, d.to_owned())), "{d}");
        }
        assert_eq!(map.keys().next().map(|k| k.0), Some(sizes / 2));
    }

    /// Serves `page` as the answer to every request on 127.0.0.1; returns the base URL.
    async fn serve_page(page: EvidencePage) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = axum::Router::new()
            .route("/v1/evidence", axum::routing::get(move || async move { Json(page.clone()) }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    fn as_item(ev: &Evidence) -> EvidenceItem {
        let bytes = ev.to_bytes();
        EvidenceItem {
            id: hex::encode(evidence_id(&bytes)),
            department: ev.department.clone(),
            size: 0,
            roots: vec![],
            evidence: URL_SAFE_NO_PAD.encode(bytes),
        }
    }

    #[tokio::test]
    async fn gossiped_evidence_is_kept_only_if_it_verifies_and_refusals_are_counted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let own = LedgerCheckpoint {
            origin: CHAIN.into(),
            size: 3,
            root: [1; 32],
            height: 2,
            time: 20,
            state_root: [2; 32],
        };
        let good = Evidence::new("dept-1", statement(&own, 1), statement(&other_root(&own), 1));
        // Signed by department 2's key but naming department 1.
        let forged = Evidence::new("dept-1", statement(&own, 1), statement(&other_root(&own), 2));
        // Two statements that do not conflict.
        let same = Evidence::new("dept-3", statement(&own, 3), statement(&own, 3));
        let mut wrong_id = as_item(&good);
        wrong_id.id = "00".repeat(32);
        let mut not_b64 = as_item(&good);
        not_b64.evidence = "!!".into();
        let mut too_long = as_item(&good);
        too_long.evidence = "A".repeat(MAX_EVIDENCE_BYTES * 2);
        let mut bad_id = as_item(&good);
        bad_id.id = "xyz".into();
        let items = vec![
            as_item(&forged),
            as_item(&same),
            wrong_id,
            not_b64,
            too_long,
            bad_id,
            as_item(&good),
            as_item(&good),
        ];
        let base = serve_page(EvidencePage { items, next_cursor: None }).await;
        let node = node_with_block(dir.path(), vec![base]);
        let mut watch = Watch::default();
        watch.gossip(&node).await.expect("no storage failure");
        let stored = ids(&node);
        assert_eq!(stored, vec![evidence_id(&good.to_bytes())]);
        let m = node.lock().metrics;
        assert_eq!((m.evidence_received, m.evidence_refused, m.evidence_detected), (1, 6, 0));
        // Within GOSSIP_EVERY the peers are not read again.
        watch.gossip(&node).await.expect("no storage failure");
        assert_eq!(node.lock().metrics.evidence_refused, 6);
    }
}
