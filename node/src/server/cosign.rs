//! Checkpoint cosigning: every node signs a checkpoint note for each height it decides; this
//! task collects the peers' signatures and stores the quorum note that proofs are served against.

use std::sync::Arc;
use std::time::Duration;

use certledger_core::ledger::LogLeaf;
use certledger_core::note::{self, Note};
use tracing::error;

use crate::server::chain::checkpoint_of;
use crate::server::evidence::Watch;
use crate::server::fatal::Fatal;
use crate::server::handle::NodeHandle;
use crate::server::peer_fetch::fetch_json;
use certledger_core::api::CheckpointNote;

/// How often the cosigning task looks for heights to complete.
pub const COSIGN_EVERY: Duration = Duration::from_millis(300);
/// Most bytes read from a peer's cosignature answer (a note with a few hundred signatures
/// fits many times over); a larger answer is dropped unparsed.
pub const MAX_COSIGNATURE_BODY: usize = 64 * 1024;

/// Besides governance heights, the task works on at most this many newest heights per round.
pub const COSIGN_NEWEST: u64 = 4;

/// Every [`COSIGN_EVERY`]: for the newest heights without a stored quorum note, pull the peers' own
/// signed notes, merge the signatures into ours, and store the note once it verifies under the
/// quorum of the departments that decided that height (`note::verify_checkpoint`, more than 2/3).
/// Heights holding a governance change are always completed (a light client needs a checkpoint
/// of the old set covering the change), whatever their age. Returns only when storing a note
/// fails, which stops the node.
pub async fn cosign_loop(node: Arc<NodeHandle>) -> Fatal {
    let mut watch = Watch::default();
    let mut done_up_to = node.store.latest_checkpoint().ok().flatten().map(|(h, _)| h).unwrap_or(0);
    loop {
        tokio::time::sleep(COSIGN_EVERY).await;
        let top = node.lock().last_header.as_ref().map(|h| h.height).unwrap_or(0);
        // Governance heights first (oldest first), then the newest heights: a fresh quorum
        // checkpoint matters more than old ones.
        let mut wanted: Vec<u64> = governance_heights(&node)
            .into_iter()
            .filter(|h| *h <= top && matches!(node.store.checkpoint(*h), Ok(None)))
            .collect();
        let first = done_up_to.max(top.saturating_sub(COSIGN_NEWEST)) + 1;
        wanted.extend((first..=top).rev());
        let mut stored_newest = false;
        for h in wanted {
            let newest = h >= first;
            if newest && stored_newest {
                continue;
            }
            let stored = match cosign_height(&node, &mut watch, h).await {
                Ok(stored) => stored,
                Err(fatal) => return fatal,
            };
            if stored && newest {
                done_up_to = done_up_to.max(h);
                stored_newest = true;
            }
        }
        if let Err(fatal) = watch.gossip(&node).await {
            return fatal;
        }
    }
}

/// Heights of the blocks that hold a governance change.
fn governance_heights(node: &NodeHandle) -> Vec<u64> {
    let changes = match node.changes.lock() {
        Ok(c) => c.clone(),
        Err(p) => p.into_inner().clone(),
    };
    let mut heights: Vec<u64> = changes
        .iter()
        .filter_map(|(_, leaf)| LogLeaf::from_bytes_checked(leaf).ok().map(|l| l.height))
        .collect();
    heights.dedup();
    heights
}

/// Collects cosignatures for height `h` and stores the note if it reaches the quorum of the
/// set that decided `h`. Returns whether it did; a failed storage write is fatal. A peer note
/// over another body goes to `watch` (equivocation detection, `crate::server::evidence`).
async fn cosign_height(node: &NodeHandle, watch: &mut Watch, h: u64) -> Result<bool, Fatal> {
    let quorum = node.quorum_at(h);
    let Ok(Some(block)) = node.store.block(h) else { return Ok(false) };
    let own = checkpoint_of(&block.header);
    let body = own.to_body();
    let Ok(mut merged) = Note::new(&body) else { return Ok(false) };
    if let Some(own) = node.lock().own_checkpoints.get(&h).cloned() {
        if let Ok(n) = Note::parse(&own) {
            let _ = merged.add_signatures(&n);
        }
    }
    for base in &node.peer_http {
        let url = format!("{base}/v1/checkpoints/{h}/cosignature");
        let Some(cp) = fetch_cosignature(&node.http, &url).await else { continue };
        let Ok(n) = Note::parse(&cp.note) else { continue };
        if n.text() != body {
            watch.other_note(node, h, &n, &own, &quorum)?;
            continue;
        }
        // Only signatures over exactly our body, by listed keys, that verify.
        if n.verify(&quorum.keys).is_err() {
            continue;
        }
        let _ = merged.add_signatures(&n);
    }
    watch.own_note(node, &merged, &own, &quorum)?;
    let text = merged.to_text();
    if note::verify_checkpoint(&text, &quorum).is_ok() {
        if let Ok(signed) = merged.verify(&quorum.keys) {
            let names = signed.iter().filter_map(|i| quorum.keys.get(*i)).map(|k| k.name.clone());
            node.activity().record_cosigners(h, names);
        }
        if let Err(e) = node.store.put_checkpoint(h, &text) {
            error!(error = %e, "storage write failed; stopping");
            return Err(Fatal::storage("checkpoint note", e));
        }
        return Ok(true);
    }
    Ok(false)
}

/// A peer's signed note for one height: the body is read up to [`MAX_COSIGNATURE_BODY`] bytes
/// (a longer one, announced or not, is dropped before parsing), then parsed.
async fn fetch_cosignature(http: &reqwest::Client, url: &str) -> Option<CheckpointNote> {
    fetch_json(http, url, MAX_COSIGNATURE_BODY).await
}

#[cfg(test)]
mod tests {
    use certledger_core::sig::SecretKey;

    use super::*;
    use crate::config::{Genesis, GenesisDepartment, KeyFile, NodeToml};
    use crate::server::codec::StoredCertificate;
    use crate::server::context::{Block, BlockHeader};
    use crate::server::fatal::EXIT_STORAGE;
    use crate::server::handle::open_node;
    use crate::server::store::{
        AuditRow, EntryLocation, EvidencePut, IssuerIndex, Store, StoreError, StoredEvidence,
    };
    use certledger_core::ledger_store::LedgerChanges;

    /// A store whose checkpoint writes fail (a full disk, say); everything else is `inner`'s.
    struct NoCheckpointWrites(Arc<dyn Store>);

    impl Store for NoCheckpointWrites {
        fn put_decided(
            &self,
            b: &Block,
            c: &StoredCertificate,
            l: Option<&LedgerChanges>,
        ) -> Result<(), StoreError> {
            self.0.put_decided(b, c, l)
        }
        fn governance_changes(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
            self.0.governance_changes()
        }
        fn stats(&self) -> Result<Vec<crate::server::store::StatRow>, StoreError> {
            self.0.stats()
        }
        fn update_certificate(&self, c: &StoredCertificate) -> Result<(), StoreError> {
            self.0.update_certificate(c)
        }
        fn block(&self, h: u64) -> Result<Option<Block>, StoreError> {
            self.0.block(h)
        }
        fn block_bytes(&self, h: u64) -> Result<Option<Vec<u8>>, StoreError> {
            self.0.block_bytes(h)
        }
        fn certificate(&self, h: u64) -> Result<Option<StoredCertificate>, StoreError> {
            self.0.certificate(h)
        }
        fn max_height(&self) -> Result<Option<u64>, StoreError> {
            self.0.max_height()
        }
        fn min_height(&self) -> Result<Option<u64>, StoreError> {
            self.0.min_height()
        }
        fn entry_location(&self, id: &[u8; 32]) -> Result<Option<EntryLocation>, StoreError> {
            self.0.entry_location(id)
        }
        fn put_checkpoint(&self, _: u64, _: &str) -> Result<(), StoreError> {
            Err(StoreError::Invariant("disk full (test)"))
        }
        fn checkpoint(&self, h: u64) -> Result<Option<String>, StoreError> {
            self.0.checkpoint(h)
        }
        fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
            self.0.latest_checkpoint()
        }
        fn audit_department(
            &self,
            d: &str,
            from: u64,
            to: u64,
            after: Option<(u64, u64)>,
            limit: usize,
        ) -> Result<Vec<AuditRow>, StoreError> {
            self.0.audit_department(d, from, to, after, limit)
        }
        fn audit_credential(
            &self,
            id: &[u8; 32],
            after: Option<u64>,
            limit: usize,
        ) -> Result<Vec<AuditRow>, StoreError> {
            self.0.audit_credential(id, after, limit)
        }
        fn issuer_index(&self, k: &[u8; 32]) -> Result<Option<IssuerIndex>, StoreError> {
            self.0.issuer_index(k)
        }
        fn put_evidence(
            &self,
            id: &[u8; 32],
            d: &str,
            size: u64,
            bytes: &[u8],
        ) -> Result<EvidencePut, StoreError> {
            self.0.put_evidence(id, d, size, bytes)
        }
        fn evidence(&self, id: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
            self.0.evidence(id)
        }
        fn evidence_page(
            &self,
            after: Option<&[u8; 32]>,
            limit: usize,
        ) -> Result<Vec<StoredEvidence>, StoreError> {
            self.0.evidence_page(after, limit)
        }
        fn evidence_count(&self) -> Result<u64, StoreError> {
            self.0.evidence_count()
        }
    }

    /// Answers every connection on 127.0.0.1 with `body`, chunked (no Content-Length) when
    /// `chunked`.
    async fn serve(body: String, chunked: bool) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let body = body.clone();
                tokio::spawn(async move {
                    let mut req = [0u8; 4096];
                    let _ = sock.read(&mut req).await;
                    let mut out = Vec::new();
                    if chunked {
                        out.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
                        for c in body.as_bytes().chunks(8192) {
                            out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                            out.extend_from_slice(c);
                            out.extend_from_slice(b"\r\n");
                        }
                        out.extend_from_slice(b"0\r\n\r\n");
                    } else {
                        out.extend_from_slice(
                            format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len())
                                .as_bytes(),
                        );
                        out.extend_from_slice(body.as_bytes());
                    }
                    let _ = sock.write_all(&out).await;
                });
            }
        });
        format!("http://{addr}/v1/checkpoints/1/cosignature")
    }

    #[tokio::test]
    async fn an_oversized_cosignature_answer_is_dropped_unparsed() {
        let http = reqwest::Client::new();
        let ok = serde_json::json!({ "height": 1, "note": "text" }).to_string();
        let url = serve(ok.clone(), false).await;
        assert!(fetch_cosignature(&http, &url).await.is_some());
        // A valid answer padded to 1 MiB (reqwest's `json()` used before parsed it whole).
        let padded = format!("{ok}{}", " ".repeat(1024 * 1024));
        assert!(serde_json::from_str::<CheckpointNote>(&padded).is_ok());
        for chunked in [false, true] {
            let url = serve(padded.clone(), chunked).await;
            assert!(fetch_cosignature(&http, &url).await.is_none(), "chunked: {chunked}");
        }
    }

    #[tokio::test]
    async fn a_failed_checkpoint_write_is_fatal_with_exit_code_74() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = SecretKey::from_seed(&[1; 32]);
        let genesis = Genesis {
            version: 1,
            chain_id: "cosign-test".into(),
            genesis_time: 0,
            departments: vec![GenesisDepartment {
                id: "dept-0".into(),
                name_zh: "部门".into(),
                name_en: "Department".into(),
                node_key: key.public_key(),
                admin_keys: vec![SecretKey::from_seed(&[2; 32]).public_key()],
            }],
        };
        let gpath = dir.path().join("genesis.json");
        std::fs::write(&gpath, serde_json::to_string(&genesis).expect("json")).expect("write");
        let kpath = dir.path().join("key.json");
        KeyFile::new(&key).write(&kpath).expect("key");
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
        let Ok(mut node) = Arc::try_unwrap(open_node(&cfg).expect("open")) else {
            panic!("the handle is shared")
        };
        node.store = Arc::new(NoCheckpointWrites(node.store.clone()));
        // Height 1, empty, decided by the one department; its own note is the quorum.
        let out = node.lock().ledger.apply_block(1, 10, &[]).expect("applies");
        let header = BlockHeader {
            chain_id: "cosign-test".into(),
            height: 1,
            prev_block_hash: [0; 32],
            time: 10,
            proposer: key.public_key().0,
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
        let own = node.own_cosignature(1).expect("own note");
        node.lock().own_checkpoints.insert(1, own);
        node.lock().last_header = Some(header);

        let fatal =
            cosign_height(&node, &mut Watch::default(), 1).await.expect_err("the write fails");
        assert_eq!(fatal.exit_code(), EXIT_STORAGE);
        // And the loop hands it back instead of exiting the process.
        let fatal = tokio::time::timeout(Duration::from_secs(20), cosign_loop(Arc::new(node)))
            .await
            .expect("the loop returns the fatal error");
        assert!(matches!(fatal, Fatal::Storage { what: "checkpoint note", .. }), "{fatal}");
    }
}
