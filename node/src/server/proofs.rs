//! Proofs a wallet fetches: everything a bundle needs for one credential, and single state
//! lookups, each proven against ONE quorum-cosigned checkpoint.
//!
//! The checkpoint served is the newest height with a stored quorum note
//! (`Store::latest_checkpoint`). Its header gives the log size and state root; the log inclusion
//! proof is computed at that size from the current log (RFC 9162 proofs exist for every earlier
//! size), and the state proofs are computed against that height's state root, which the node
//! keeps provable in its store (`specs/storage.md`: replaced nodes are pruned only below the
//! recent heights and the newest cosigned one). So the served pieces always agree with the
//! note they carry, even while newer blocks are being committed.

use certledger_core::bundle::Proofs;
use certledger_core::codec::{Decode as _, Encode as _};
use certledger_core::ledger::{self, CredentialRecord, IssuerRecord, LogLeaf, SignedEntry};
use certledger_core::merkle;
use certledger_core::smt::SmtProof;

use crate::server::handle::NodeHandle;
use crate::server::store::StoreError;

/// Why proofs could not be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// No quorum-cosigned checkpoint is stored yet.
    #[error("no cosigned checkpoint yet")]
    NoCheckpoint,
    /// The credential is unknown to this node.
    #[error("unknown credential")]
    NotFound,
    /// The credential is committed but the newest cosigned checkpoint predates it.
    #[error("committed after the newest cosigned checkpoint (height {0}); retry shortly")]
    NotCheckpointed(u64),
    /// The checkpoint's state is no longer (or not yet) provable here.
    #[error("state at the checkpoint is unavailable: {0}")]
    Unavailable(&'static str),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A state value with its proof against a cosigned checkpoint.
#[derive(Clone, Debug)]
pub struct StateAt {
    /// The checkpoint height.
    pub height: u64,
    /// The canonical record bytes, or `None` when absent.
    pub value: Option<Vec<u8>>,
    /// The sparse Merkle proof under the checkpoint's state root.
    pub proof: SmtProof,
    /// The cosigned checkpoint note.
    pub checkpoint: String,
}

struct Checkpointed {
    height: u64,
    note: String,
    log_size: u64,
    state_root: [u8; 32],
}

fn checkpointed(node: &NodeHandle) -> Result<Checkpointed, ProofError> {
    let (height, note) = node.store.latest_checkpoint()?.ok_or(ProofError::NoCheckpoint)?;
    let block =
        node.store.block(height)?.ok_or(ProofError::Unavailable("checkpoint block missing"))?;
    Ok(Checkpointed {
        height,
        note,
        log_size: block.header.log_size,
        state_root: block.header.state_root,
    })
}

/// The value of state `key` and its proof against the newest cosigned checkpoint.
pub fn state_at_checkpoint(node: &NodeHandle, key: &[u8; 32]) -> Result<StateAt, ProofError> {
    let cp = checkpointed(node)?;
    let (value, proof) = node
        .lock()
        .ledger
        .state_proof_at(&cp.state_root, key)
        .ok_or(ProofError::Unavailable("state root not retained"))?;
    Ok(StateAt { height: cp.height, value, proof, checkpoint: cp.note })
}

/// Everything a bundle needs for `credential_id` besides the presentation, against the newest
/// cosigned checkpoint; returns that checkpoint's height too.
pub fn credential_proofs(
    node: &NodeHandle,
    credential_id: &[u8; 32],
) -> Result<(u64, Proofs), ProofError> {
    let cp = checkpointed(node)?;
    let ckey = ledger::credential_state_key(credential_id);
    // Everything from the ledger under one lock, so it is one consistent view.
    let (cred, issuer, anchor_proof, leaf_hash) = {
        let s = node.lock();
        let unavailable = ProofError::Unavailable("state root not retained");
        let (value, credential_proof) =
            s.ledger.state_proof_at(&cp.state_root, &ckey).ok_or(unavailable)?;
        let Some(value) = value else {
            return Err(if s.ledger.state_value(&ckey).is_some() {
                ProofError::NotCheckpointed(cp.height)
            } else {
                ProofError::NotFound
            });
        };
        let record = CredentialRecord::from_bytes(&value)
            .map_err(|_| ProofError::Unavailable("stored credential record is malformed"))?;
        let (ivalue, issuer_proof) = s
            .ledger
            .state_proof_at(&cp.state_root, &ledger::issuer_state_key(&record.issuer_key))
            .ok_or(ProofError::Unavailable("state root not retained"))?;
        let ivalue = ivalue.ok_or(ProofError::Unavailable("issuer record missing"))?;
        let issuer_record = IssuerRecord::from_bytes(&ivalue)
            .map_err(|_| ProofError::Unavailable("stored issuer record is malformed"))?;
        let anchor_proof = s
            .ledger
            .inclusion(record.log_index, cp.log_size)
            .ok_or(ProofError::Unavailable("anchor outside the checkpoint's log"))?;
        let leaf_hash = s
            .ledger
            .leaf_hash(record.log_index)
            .ok_or(ProofError::Unavailable("anchor leaf missing"))?;
        ((record, credential_proof), (issuer_record, issuer_proof), anchor_proof, leaf_hash)
    };
    let (record, credential_proof) = cred;
    let (issuer_record, issuer_proof) = issuer;
    let anchor_leaf = anchor_leaf(node, &record)?;
    // The rebuilt leaf must be the one the log holds.
    if merkle::leaf_hash(&anchor_leaf) != leaf_hash {
        return Err(ProofError::Unavailable("rebuilt anchor leaf differs from the log"));
    }
    Ok((
        cp.height,
        Proofs {
            anchor_leaf,
            anchor_proof,
            credential_record: record,
            credential_proof,
            issuer_record,
            issuer_proof,
            checkpoint: cp.note,
        },
    ))
}

/// Rebuilds the canonical `LogLeaf` of a credential's anchor from its stored block (the ledger
/// keeps only leaf hashes).
fn anchor_leaf(node: &NodeHandle, record: &CredentialRecord) -> Result<Vec<u8>, ProofError> {
    let block = node
        .store
        .block(record.anchored_height)?
        .ok_or(ProofError::Unavailable("anchor block missing"))?;
    let n = block.entries.len() as u64;
    let first = block
        .header
        .log_size
        .checked_sub(n)
        .ok_or(ProofError::Unavailable("anchor block header is inconsistent"))?;
    let i = record
        .log_index
        .checked_sub(first)
        .and_then(|i| usize::try_from(i).ok())
        .ok_or(ProofError::Unavailable("anchor is not in its block"))?;
    let bytes =
        block.entries.get(i).ok_or(ProofError::Unavailable("anchor is not in its block"))?;
    let entry = SignedEntry::from_bytes_checked(bytes)
        .map_err(|_| ProofError::Unavailable("stored anchor entry is malformed"))?;
    Ok(LogLeaf { height: block.header.height, time: block.header.time, entry }.to_bytes())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use certledger_core::ledger::{ChangeStatus, CredentialStatus, EntryBody, RegisterIssuer};
    use certledger_core::note::{Note, NoteSigner};
    use certledger_core::sig::SecretKey;
    use certledger_core::verify::{self, Invalid, TrustRoot, Verdict};
    use certledger_core::{issuance, profiles, testkit};

    use super::*;
    use crate::config::{Genesis, GenesisDepartment, KeyFile, NodeToml};
    use crate::server::chain::checkpoint_of;
    use crate::server::codec::StoredCertificate;
    use crate::server::context::{Block, BlockHeader};
    use crate::server::handle::open_node;

    const CHAIN: &str = "proofs-test";
    /// Department ids; the first (whose admin is `World::admin`) owns the business licence
    /// (`profiles::issuing_department`), which the verifier checks.
    const DEPARTMENTS: [&str; 4] =
        ["market-regulation", "public-security", "education", "transport"];

    struct World {
        _dir: tempfile::TempDir,
        node: Arc<NodeHandle>,
        node_keys: Vec<SecretKey>,
        admin: SecretKey,
        genesis: Genesis,
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
        World { _dir: dir, node, node_keys, admin, genesis }
    }

    impl World {
        /// Applies and stores a block as the consensus loop would (certificate not checked here).
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

        /// Stores a note of `header` cosigned by three of the four departments.
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
    }

    #[test]
    fn proofs_follow_the_newest_cosigned_checkpoint_not_the_current_state() {
        let w = world();
        let trust_root = TrustRoot::from_genesis(&w.genesis.to_core());
        let bl = &profiles::BUSINESS_LICENCE;
        let issuer = SecretKey::from_seed(&[30; 32]);
        let holder = SecretKey::from_seed(&[31; 32]);
        assert!(matches!(credential_proofs(&w.node, &[0; 32]), Err(ProofError::NoCheckpoint)));
        w.commit(
            1,
            1000,
            &[
                w.sign(&w.admin, EntryBody::RegisterType(testkit::register_type(bl))),
                w.sign(
                    &w.admin,
                    EntryBody::RegisterIssuer(RegisterIssuer {
                        department: DEPARTMENTS[0].into(),
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
        let mut rng = testkit::SeededRng::from_label("proofs");
        let issued = issuance::issue(
            &issuer,
            bl,
            &testkit::example_claims(bl),
            &holder.public_key(),
            CHAIN,
            1000,
            &mut rng,
        )
        .expect("issue");
        let h2 =
            w.commit(2, 1001, &[w.sign(&issuer, EntryBody::AnchorIssuance(issued.anchor.clone()))]);
        w.cosign(&h2);
        // Revoked at height 3, which has no cosigned checkpoint yet.
        let revoke = ChangeStatus {
            credential_id: issued.credential_id,
            status: CredentialStatus::Revoked,
            reason: 4,
            nonce: [1; 16],
        };
        let h3 = w.commit(3, 1002, &[w.sign(&issuer, EntryBody::ChangeStatus(revoke))]);
        assert_ne!(h2.state_root, h3.state_root);

        // Served against height 2: active, and it all verifies.
        let (height, proofs) = credential_proofs(&w.node, &issued.credential_id).expect("proofs");
        assert_eq!(height, 2);
        assert_eq!(proofs.credential_record.status, CredentialStatus::Active);
        let v = verify::verify_credential(&issued.sd_jwt, &proofs, &trust_root, 3600, 1010)
            .expect("decidable");
        assert!(matches!(v, Verdict::Valid(_)), "{v:?}");
        let key = ledger::credential_state_key(&issued.credential_id);
        let at = state_at_checkpoint(&w.node, &key).expect("state");
        assert_eq!(at.height, 2);
        at.proof.verify(&h2.state_root, &key, at.value.as_deref()).expect("state proof at 2");
        assert!(at.proof.verify(&h3.state_root, &key, at.value.as_deref()).is_err());
        let absent = state_at_checkpoint(&w.node, &[7; 32]).expect("absent");
        assert!(absent.value.is_none());
        absent.proof.verify(&h2.state_root, &[7; 32], None).expect("absence proof");

        // A credential anchored after the newest checkpoint, and an unknown one.
        let later = issuance::issue(
            &issuer,
            bl,
            &testkit::example_claims(bl),
            &holder.public_key(),
            CHAIN,
            1003,
            &mut rng,
        )
        .expect("issue");
        let h4 =
            w.commit(4, 1003, &[w.sign(&issuer, EntryBody::AnchorIssuance(later.anchor.clone()))]);
        assert!(matches!(
            credential_proofs(&w.node, &later.credential_id),
            Err(ProofError::NotCheckpointed(2))
        ));
        assert!(matches!(credential_proofs(&w.node, &[3; 32]), Err(ProofError::NotFound)));

        // Pruning keeps what is asked for (here: the checkpointed root).
        w.node.lock().ledger.prune_history(h2.height);
        assert!(credential_proofs(&w.node, &issued.credential_id).is_ok());

        // Once height 4 is cosigned, the revocation is what verifies.
        w.cosign(&h4);
        let (height, proofs) = credential_proofs(&w.node, &issued.credential_id).expect("proofs");
        assert_eq!(height, 4);
        let v = verify::verify_credential(&issued.sd_jwt, &proofs, &trust_root, 3600, 1010)
            .expect("decidable");
        assert_eq!(v, Verdict::Invalid(Invalid::Revoked { reason: 4 }));
        let (_, p) = credential_proofs(&w.node, &later.credential_id).expect("later");
        let v = verify::verify_credential(&later.sd_jwt, &p, &trust_root, 3600, 1010)
            .expect("decidable");
        assert!(matches!(v, Verdict::Valid(_)), "{v:?}");
    }
}
