//! Following validator-set changes from the genesis set to today's set, from the ledger's data.
//!
//! A verifier that trusts only the genesis departments cannot check a checkpoint cosigned by a
//! set that governance changed since. This module is a light client in the manner of
//! Tendermint's, simplified because departments change rarely: a [`ValidatorChain`] carries,
//! for every validator change that has taken effect, the log leaf of its `ChangeValidators`
//! entry, an RFC 9162 inclusion proof, and a checkpoint cosigned by a quorum of the set *before*
//! the change; it ends with a head: a checkpoint cosigned by the resulting set and a sparse
//! Merkle proof of the ledger's validator record under that checkpoint's state root.
//! `specs/governance.md` is normative.
//!
//! [`follow`] starts from a [`GovernanceTrust`] (chain id and departments with their node and
//! admin keys; [`GovernanceTrust::from_genesis`]) and, for each step in order, checks:
//!
//! 1. the leaf decodes and is a `ChangeValidators` entry, later in the log than the previous
//!    step's and committed at or after the previous change's effective height (the ledger never
//!    has two changes scheduled at once);
//! 2. the checkpoint has a quorum of the current set ([`note::verify_checkpoint`]) and its height
//!    `H` satisfies `leaf.height <= H < effective_height`: exactly the heights the current set
//!    still decides;
//! 3. the leaf is included in the log under that checkpoint;
//! 4. the entry is signed by an admin key of a current department and obeys the ledger's
//!    governance rule: effective height above the change's block, a non-empty change, at most
//!    `floor((n-1)/3)` removals, approvals by admin keys of more than two thirds of the current
//!    departments (one per department, each valid under `GOVERNANCE_APPROVAL`), and a resulting
//!    set that is non-empty with distinct ids and node keys;
//!
//! then applies the change. Finally the head checkpoint must have a quorum of the resulting set,
//! be at or after the last change's effective height, and prove a validator record whose current
//! departments equal the resulting set. The head is what makes a chain complete: a chain that
//! leaves a change out ends with a set that the ledger's own state contradicts.
//!
//! [`build_chain`] is how a node assembles a chain (sans-io: the leaves and checkpoint notes are
//! arguments).

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::ledger::{
    check_department_set, encode_record, next_department_set, quorum_threshold,
    validators_state_key, ChangeRuleError, ChangeValidators, Department, EntryBody, Genesis,
    Ledger, LogLeaf, ValidatorSetRecord, MAX_DEPARTMENTS, MAX_ID, MAX_LEAF_BYTES,
};
use crate::ledger_store::LedgerStore;
use crate::merkle::{self, InclusionProof};
use crate::note::{self, CheckpointError, LedgerCheckpoint, Note, Quorum};
use crate::sig::PublicKey;
use crate::smt::SmtProof;
use crate::verify::{TrustRoot, VerifyError};

/// Most steps (validator changes) in one chain.
pub const MAX_CHAIN_STEPS: u32 = 64;
/// Longest checkpoint note in a chain, in bytes.
pub const MAX_CHECKPOINT_BYTES: u32 = 8 * 1024;
/// The chain's magic bytes (format version 1).
pub const MAGIC: [u8; 4] = *b"CLV\x01";
/// Largest encoded chain accepted, in bytes: 64 full steps plus a head.
pub const MAX_CHAIN_BYTES: usize = (MAX_CHAIN_STEPS as usize + 1) * STEP_BYTES_MAX;
const STEP_BYTES_MAX: usize = MAX_LEAF_BYTES + 4 + 20 + 64 * 32 + MAX_CHECKPOINT_BYTES as usize + 4;
/// Largest encoded [`GovernanceTrust`] accepted, in bytes.
pub const MAX_TRUST_BYTES: usize = 256 * 1024;

/// Why a chain was refused (or could not be decided).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The starting trust is not a usable department set.
    #[error("invalid trust: {0}")]
    InvalidTrust(&'static str),
    /// More than [`MAX_CHAIN_STEPS`] steps.
    #[error("chain has more than 64 steps")]
    TooManySteps,
    /// A step's leaf does not decode.
    #[error("malformed step: {0}")]
    Malformed(&'static str),
    /// A step's leaf is not a `ChangeValidators` entry.
    #[error("the step's entry is not a validator change")]
    NotAChange,
    /// A step comes before the previous one, or while the previous change was still pending.
    #[error("step out of order: {0}")]
    OutOfOrder(&'static str),
    /// A step's checkpoint lacks a quorum of the current set (or is malformed, or for another
    /// origin).
    #[error("step checkpoint: {0}")]
    Checkpoint(CheckpointError),
    /// A step's checkpoint is not at a height the current set decides.
    #[error("step checkpoint height: {0}")]
    CheckpointHeight(&'static str),
    /// The leaf is not included under the step's checkpoint.
    #[error("not included: {0}")]
    NotIncluded(&'static str),
    /// The entry's own signature or signer is not acceptable.
    #[error("bad entry: {0}")]
    BadEntry(&'static str),
    /// The approvals do not meet the ledger's rule.
    #[error("bad approval: {0}")]
    BadApproval(&'static str),
    /// The change is not one the ledger's safety rule allows.
    #[error("unsafe change: {0}")]
    Unsafe(&'static str),
    /// The head checkpoint lacks a quorum of the resulting set (or is malformed).
    #[error("head checkpoint: {0}")]
    HeadCheckpoint(CheckpointError),
    /// The head does not prove the resulting set.
    #[error("bad head: {0}")]
    Head(&'static str),
}

/// Why a node could not build a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A given leaf does not match the ledger's log at its index, or does not decode.
    #[error("leaf does not match the log: {0}")]
    Leaf(&'static str),
    /// More effective changes than one chain may carry.
    #[error("more than 64 validator changes")]
    TooManyChanges,
    /// No given checkpoint is cosigned by the old set between a change's block and its
    /// effective height.
    #[error("no usable checkpoint for the change at log index {index}")]
    NoCheckpoint {
        /// Log index of the change.
        index: u64,
    },
    /// No given checkpoint is of the ledger's current head with a quorum of the current set.
    #[error("no checkpoint of the current head")]
    NoHeadCheckpoint,
    /// The ledger could not produce a proof.
    #[error("ledger: {0}")]
    Ledger(&'static str),
    /// The built chain does not verify (for example a change leaf was not given).
    #[error("built chain does not verify: {0}")]
    Chain(ChainError),
}

/// What a light client trusts: the chain id and the current departments with their node keys
/// (which cosign checkpoints) and admin keys (which approve validator changes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GovernanceTrust {
    /// The ledger's chain id (the checkpoint origin).
    pub chain_id: String,
    /// The departments, strictly ascending by id.
    pub departments: Vec<Department>,
}

impl GovernanceTrust {
    /// The genesis departments.
    pub fn from_genesis(genesis: &Genesis) -> Self {
        Self { chain_id: genesis.chain_id.clone(), departments: genesis.departments.clone() }
    }

    /// The checkpoint trust root of this set: every node key (named by department id),
    /// threshold `floor(2n/3) + 1`.
    pub fn to_trust_root(&self) -> TrustRoot {
        TrustRoot::from_departments(&self.chain_id, &self.departments)
    }

    /// The checkpoint quorum of this set.
    pub fn quorum(&self) -> Quorum {
        self.to_trust_root().quorum()
    }

    /// Checks the set by the genesis rules: 1..=64 departments, each valid, ids strictly
    /// ascending, node keys distinct.
    pub fn check(&self) -> Result<(), ChainError> {
        if self.chain_id.is_empty() || self.chain_id.len() > MAX_ID as usize {
            return Err(ChainError::InvalidTrust("chain id must be 1..=64 bytes"));
        }
        check_department_set(&self.departments).map_err(ChainError::InvalidTrust)
    }

    /// The id of the current department whose admin key `key` is.
    fn admin_department(&self, key: &PublicKey) -> Option<&str> {
        self.departments
            .iter()
            .find(|d| d.admin_keys.binary_search(key).is_ok())
            .map(|d| d.id.as_str())
    }

    /// Parses a trust root JSON that lists its `departments` (with admin keys; see
    /// `specs/verifier.md`) and checks it. The trust root's threshold must be the ledger's quorum
    /// of those departments.
    pub fn from_trust_root_json(text: &str) -> Result<Self, ChainError> {
        let (root, departments) = TrustRoot::from_json_with_departments(text).map_err(|e| {
            ChainError::InvalidTrust(match e {
                VerifyError::TrustRoot(m) => m,
                _ => "the trust root is unusable",
            })
        })?;
        let departments = departments.ok_or(ChainError::InvalidTrust(
            "the trust root does not list its departments' admin keys",
        ))?;
        let trust = Self { chain_id: root.chain_id, departments };
        trust.check()?;
        if root.threshold != quorum_threshold(trust.departments.len()) {
            return Err(ChainError::InvalidTrust(
                "a followable trust root's threshold must be the ledger's quorum",
            ));
        }
        Ok(trust)
    }

    /// The trust root JSON of this set, with its departments (so it can be followed again).
    pub fn to_trust_root_json(&self) -> String {
        self.to_trust_root().to_json_with_departments(&self.departments)
    }

    /// Decodes a top-level trust of at most [`MAX_TRUST_BYTES`] and checks it.
    pub fn from_bytes_checked(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_TRUST_BYTES {
            return Err(DecodeError::TooLong {
                what: "governance trust",
                len: bytes.len() as u64,
                max: MAX_TRUST_BYTES as u64,
            });
        }
        let t = Self::from_bytes(bytes)?;
        t.check().map_err(|_| DecodeError::NonCanonical("governance trust"))?;
        Ok(t)
    }
}

/// Layout: `str(chain_id) || seq<Department>` (the genesis without its time).
impl Encode for GovernanceTrust {
    fn encode(&self, w: &mut Writer) {
        w.str(&self.chain_id).seq(&self.departments);
    }
}

impl Decode for GovernanceTrust {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            chain_id: r.string(MAX_ID, "chain id")?,
            departments: r.seq(MAX_DEPARTMENTS, "trusted departments")?,
        })
    }
}

/// One validator change: its log leaf, proven under a checkpoint of the set before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainStep {
    /// Canonical [`LogLeaf`] bytes of the `ChangeValidators` entry.
    pub leaf: Vec<u8>,
    /// Its RFC 9162 inclusion proof under `checkpoint`.
    pub proof: InclusionProof,
    /// A C2SP checkpoint note cosigned by a quorum of the set before the change, at a height in
    /// `[leaf height, effective height)`.
    pub checkpoint: String,
}

/// The end of a chain: the ledger's validator record under a checkpoint of the resulting set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainHead {
    /// A checkpoint note cosigned by a quorum of the resulting set.
    pub checkpoint: String,
    /// The validator record in the state committed by that checkpoint.
    pub record: ValidatorSetRecord,
    /// Its sparse Merkle proof (key [`validators_state_key`]).
    pub proof: SmtProof,
}

/// The changes from one trusted set to today's, in log order, and the head that proves today's.
///
/// Binary layout: `"CLV" 0x01 || seq<ChainStep> (<= 64) || ChainHead`, with
/// `ChainStep = bytes(leaf, <= MAX_LEAF_BYTES) || InclusionProof || str(checkpoint, <= 8 KiB)`
/// and `ChainHead = str(checkpoint, <= 8 KiB) || ValidatorSetRecord || SmtProof`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorChain {
    /// The changes, oldest first.
    pub steps: Vec<ChainStep>,
    /// The head.
    pub head: ChainHead,
}

impl Encode for ChainStep {
    fn encode(&self, w: &mut Writer) {
        w.bytes(&self.leaf).put(&self.proof).str(&self.checkpoint);
    }
}

impl Decode for ChainStep {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let leaf_max = u32::try_from(MAX_LEAF_BYTES).unwrap_or(u32::MAX);
        Ok(Self {
            leaf: r.bytes(leaf_max, "step leaf")?.to_vec(),
            proof: InclusionProof::decode(r)?,
            checkpoint: r.string(MAX_CHECKPOINT_BYTES, "step checkpoint")?,
        })
    }
}

impl Encode for ChainHead {
    fn encode(&self, w: &mut Writer) {
        w.str(&self.checkpoint).put(&self.record).put(&self.proof);
    }
}

impl Decode for ChainHead {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            checkpoint: r.string(MAX_CHECKPOINT_BYTES, "head checkpoint")?,
            record: ValidatorSetRecord::decode(r)?,
            proof: SmtProof::decode(r)?,
        })
    }
}

impl Encode for ValidatorChain {
    fn encode(&self, w: &mut Writer) {
        w.fixed(&MAGIC).seq(&self.steps).put(&self.head);
    }
}

impl Decode for ValidatorChain {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let magic: [u8; 4] = r.array("validator chain magic")?;
        if magic != MAGIC {
            return Err(DecodeError::UnsupportedVersion("validator chain"));
        }
        Ok(Self {
            steps: r.seq(MAX_CHAIN_STEPS, "validator chain steps")?,
            head: ChainHead::decode(r)?,
        })
    }
}

impl ValidatorChain {
    /// Decodes a top-level chain of at most [`MAX_CHAIN_BYTES`].
    pub fn from_bytes_checked(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_CHAIN_BYTES {
            return Err(DecodeError::TooLong {
                what: "validator chain",
                len: bytes.len() as u64,
                max: MAX_CHAIN_BYTES as u64,
            });
        }
        Self::from_bytes(bytes)
    }
}

/// The outcome of [`follow`]: the set the ledger says is current, and the head checkpoint that
/// says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Followed {
    /// Today's departments (use [`GovernanceTrust::to_trust_root`] to verify bundles).
    pub trust: GovernanceTrust,
    /// The head checkpoint (its height and time say how recent the answer is).
    pub head: LedgerCheckpoint,
}

/// For a verifier that holds only a checkpoint [`TrustRoot`] (node keys, no admin keys): checks
/// that `chain` records no validator change and that its head proves the trusted set unchanged,
/// and returns that set with its departments as the ledger's state records them (so it can be
/// followed later). Checks: no steps; the head checkpoint has the trust root's quorum; the
/// validator record is in its state; the record's departments are exactly the trust root's keys
/// (same ids and node keys, in order). A chain with steps needs a trust root with departments
/// ([`GovernanceTrust::from_trust_root_json`], then [`follow`]).
pub fn confirm_unchanged(root: &TrustRoot, chain: &ValidatorChain) -> Result<Followed, ChainError> {
    if !chain.steps.is_empty() {
        return Err(ChainError::InvalidTrust(
            "validator changes can only be followed from a trust root that lists its departments",
        ));
    }
    let head = note::verify_checkpoint(&chain.head.checkpoint, &root.quorum())
        .map_err(ChainError::HeadCheckpoint)?;
    chain
        .head
        .proof
        .verify(&head.state_root, &validators_state_key(), Some(&encode_record(&chain.head.record)))
        .map_err(|_| ChainError::Head("validator record is not in the head's state"))?;
    let departments = &chain.head.record.departments;
    let same = departments.len() == root.keys.len()
        && departments.iter().zip(&root.keys).all(|(d, k)| d.id == k.name && d.node_key == k.key);
    if !same {
        return Err(ChainError::Head("the ledger's current set differs from the trusted keys"));
    }
    let trust =
        GovernanceTrust { chain_id: root.chain_id.clone(), departments: departments.clone() };
    trust.check()?;
    Ok(Followed { trust, head })
}

/// Follows `chain` from `trust` to today's set. See the module documentation for every check.
pub fn follow(trust: &GovernanceTrust, chain: &ValidatorChain) -> Result<Followed, ChainError> {
    trust.check()?;
    if chain.steps.len() > MAX_CHAIN_STEPS as usize {
        return Err(ChainError::TooManySteps);
    }
    let mut current = trust.clone();
    // (log index, effective height) of the previous step.
    let mut previous: Option<(u64, u64)> = None;
    for step in &chain.steps {
        let leaf = LogLeaf::from_bytes_checked(&step.leaf)
            .map_err(|_| ChainError::Malformed("the step's leaf does not decode"))?;
        let EntryBody::ChangeValidators(change) = &leaf.entry.body else {
            return Err(ChainError::NotAChange);
        };
        if let Some((index, effective)) = previous {
            if step.proof.index <= index {
                return Err(ChainError::OutOfOrder("not later in the log than the previous step"));
            }
            if leaf.height < effective {
                return Err(ChainError::OutOfOrder(
                    "committed before the previous change took effect",
                ));
            }
        }
        let cp = note::verify_checkpoint(&step.checkpoint, &current.quorum())
            .map_err(ChainError::Checkpoint)?;
        if cp.height < leaf.height {
            return Err(ChainError::CheckpointHeight("checkpoint is before the change's block"));
        }
        if cp.height >= change.effective_height {
            return Err(ChainError::CheckpointHeight(
                "checkpoint is at or after the effective height, where the old set no longer decides",
            ));
        }
        if step.proof.size != cp.size {
            return Err(ChainError::NotIncluded("inclusion proof is for another log size"));
        }
        step.proof.verify(&merkle::leaf_hash(&step.leaf), &cp.root).map_err(|_| {
            ChainError::NotIncluded("inclusion proof does not match the checkpoint")
        })?;
        let next = check_change(&current, &leaf, change)?;
        current = GovernanceTrust { chain_id: current.chain_id, departments: next };
        previous = Some((step.proof.index, change.effective_height));
    }
    let head = note::verify_checkpoint(&chain.head.checkpoint, &current.quorum())
        .map_err(ChainError::HeadCheckpoint)?;
    if let Some((_, effective)) = previous {
        if head.height < effective {
            return Err(ChainError::Head("head is before the last change took effect"));
        }
    }
    chain
        .head
        .proof
        .verify(&head.state_root, &validators_state_key(), Some(&encode_record(&chain.head.record)))
        .map_err(|_| ChainError::Head("validator record is not in the head's state"))?;
    if chain.head.record.departments != current.departments {
        return Err(ChainError::Head("the ledger's current set differs from the followed set"));
    }
    Ok(Followed { trust: current, head })
}

/// The ledger's governance rule (`specs/ledger.md`, Governance) for `change` committed in
/// `leaf` under the set `trust`; returns the resulting set.
fn check_change(
    trust: &GovernanceTrust,
    leaf: &LogLeaf,
    change: &ChangeValidators,
) -> Result<Vec<Department>, ChainError> {
    leaf.entry
        .verify_signature(&trust.chain_id)
        .map_err(|_| ChainError::BadEntry("the entry's signature does not verify"))?;
    if trust.admin_department(&leaf.entry.signer).is_none() {
        return Err(ChainError::BadEntry("signer is not an admin key of a current department"));
    }
    if change.effective_height <= leaf.height {
        return Err(ChainError::Unsafe("effective height must be above the change's block"));
    }
    next_department_set(&trust.chain_id, &trust.departments, change).map_err(|e| match e {
        ChangeRuleError::Unsafe(m) => ChainError::Unsafe(m),
        ChangeRuleError::BadApproval(m) => ChainError::BadApproval(m),
    })
}

/// A checkpoint note a node holds, parsed and checked against its own ledger.
struct KnownCheckpoint<'a> {
    text: &'a str,
    body: LedgerCheckpoint,
}

/// Builds the chain from `genesis` to the ledger's current set.
///
/// `change_leaves` are `(log index, leaf bytes)` of the ledger's `ChangeValidators` entries (other
/// leaves are ignored; each must match the log); `checkpoints` are the checkpoint notes the node
/// keeps. Each is kept only if its root matches the ledger's log at its size and it has a quorum
/// of the set that decided its height. Changes not yet effective at the ledger's height are left
/// out (the current set still decides). The head is a given checkpoint of the ledger's current
/// height and state root. The built chain is verified with [`follow`] before it is returned, so
/// a missing change leaf is reported rather than served.
pub fn build_chain<S: LedgerStore>(
    genesis: &Genesis,
    ledger: &Ledger<S>,
    change_leaves: &[(u64, Vec<u8>)],
    checkpoints: &[String],
) -> Result<ValidatorChain, BuildError> {
    let mut changes: Vec<(u64, &[u8], LogLeaf, u64)> = Vec::new();
    for (index, bytes) in change_leaves {
        if ledger.log_leaf_hash(*index) != Some(merkle::leaf_hash(bytes)) {
            return Err(BuildError::Leaf("leaf hash differs from the log"));
        }
        let leaf = LogLeaf::from_bytes_checked(bytes)
            .map_err(|_| BuildError::Leaf("leaf does not decode"))?;
        if let EntryBody::ChangeValidators(c) = &leaf.entry.body {
            let effective = c.effective_height;
            if effective <= ledger.height() {
                changes.push((*index, bytes.as_slice(), leaf, effective));
            }
        }
    }
    changes.sort_by_key(|c| c.0);
    changes.dedup_by_key(|c| c.0);
    if changes.len() > MAX_CHAIN_STEPS as usize {
        return Err(BuildError::TooManyChanges);
    }
    let known: Vec<KnownCheckpoint<'_>> =
        checkpoints.iter().filter_map(|t| known_checkpoint(genesis, ledger, t)).collect();
    let mut steps = Vec::with_capacity(changes.len());
    for (index, bytes, leaf, effective) in &changes {
        let cp = known
            .iter()
            .find(|k| {
                k.body.height >= leaf.height && k.body.height < *effective && k.body.size > *index
            })
            .ok_or(BuildError::NoCheckpoint { index: *index })?;
        let proof = ledger
            .inclusion_proof(*index, cp.body.size)
            .map_err(|_| BuildError::Ledger("inclusion proof"))?;
        steps.push(ChainStep { leaf: bytes.to_vec(), proof, checkpoint: cp.text.to_owned() });
    }
    let head = known
        .iter()
        .find(|k| {
            k.body.height == ledger.height()
                && k.body.size == ledger.log_size()
                && k.body.state_root == ledger.state_root()
        })
        .ok_or(BuildError::NoHeadCheckpoint)?;
    let record = ledger.validator_record().ok_or(BuildError::Ledger("no validator record"))?;
    let proof = ledger
        .prove_state(&validators_state_key())
        .map_err(|_| BuildError::Ledger("validator record proof"))?;
    let chain = ValidatorChain {
        steps,
        head: ChainHead { checkpoint: head.text.to_owned(), record, proof },
    };
    follow(&GovernanceTrust::from_genesis(genesis), &chain).map_err(BuildError::Chain)?;
    Ok(chain)
}

/// Parses `text`, and keeps it if its log root matches the ledger and it has a quorum of the set
/// that decided its height.
fn known_checkpoint<'a, S: LedgerStore>(
    genesis: &Genesis,
    ledger: &Ledger<S>,
    text: &'a str,
) -> Option<KnownCheckpoint<'a>> {
    if text.len() > MAX_CHECKPOINT_BYTES as usize {
        return None;
    }
    let note = Note::parse(text).ok()?;
    let body = LedgerCheckpoint::parse_body(note.text()).ok()?;
    if body.size > ledger.log_size() || ledger.log_root_at(body.size).ok()? != body.root {
        return None;
    }
    let set = GovernanceTrust {
        chain_id: genesis.chain_id.clone(),
        departments: ledger.validator_set_at(body.height),
    };
    let body = note::verify_checkpoint(text, &set.quorum()).ok()?;
    Some(KnownCheckpoint { text, body })
}

/// Shorthand: follows `chain` from the genesis set and returns today's checkpoint trust root.
pub fn follow_from_genesis(
    genesis: &Genesis,
    chain: &ValidatorChain,
) -> Result<TrustRoot, ChainError> {
    follow(&GovernanceTrust::from_genesis(genesis), chain).map(|f| f.trust.to_trust_root())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_bound_covers_a_full_step() {
        assert!(MAX_CHAIN_BYTES > 65 * (MAX_LEAF_BYTES + MAX_CHECKPOINT_BYTES as usize));
    }
}
