//! The Malachite [`Context`] for certledger: heights, department addresses, the validator set,
//! blocks as consensus values, votes, proposals and proposal parts. The signature scheme and the
//! hand-written, domain-separated sign bytes every consensus signature is made over
//! (`specs/consensus.md`) are in `signing.rs`, re-exported here.

use std::fmt;

use certledger_core::sig::{self, PublicKey};
use malachitebft_app_channel::app::types::core::Context;
use malachitebft_app_channel::app::types::core::{
    self as mc, NilOrVal, Round, SignedExtension, VoteType, VotingPower,
};
use sha2::{Digest, Sha256};

/// A block height. Height 1 is the first block after genesis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Height(pub u64);

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl mc::Height for Height {
    const ZERO: Self = Height(0);
    const INITIAL: Self = Height(1);

    fn increment_by(&self, n: u64) -> Self {
        Height(self.0.saturating_add(n))
    }

    fn decrement_by(&self, n: u64) -> Option<Self> {
        self.0.checked_sub(n).map(Height)
    }

    fn as_u64(&self) -> u64 {
        self.0
    }
}

/// A validator address: the department's 32-byte Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub [u8; 32]);

impl Address {
    /// The public key this address is.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&sig::to_hex(&self.0[..8]))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

impl mc::Address for Address {}

/// One validator: a department key with one vote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validator {
    /// The address (the public key bytes).
    pub address: Address,
    /// The public key.
    pub public_key: PublicKey,
    /// Always 1: every department has one vote.
    pub voting_power: VotingPower,
}

impl Validator {
    /// A validator with one vote.
    pub fn new(public_key: PublicKey) -> Self {
        Self { address: Address(public_key.0), public_key, voting_power: 1 }
    }
}

impl mc::Validator<LedgerContext> for Validator {
    fn address(&self) -> &Address {
        &self.address
    }

    fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    fn voting_power(&self) -> VotingPower {
        self.voting_power
    }
}

/// The validator set of one height: sorted by address, no duplicates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
}

impl ValidatorSet {
    /// A set from department keys; sorts and removes duplicates.
    pub fn new(keys: impl IntoIterator<Item = PublicKey>) -> Self {
        let mut validators: Vec<Validator> = keys.into_iter().map(Validator::new).collect();
        validators.sort_by_key(|v| v.address);
        validators.dedup_by(|a, b| a.address == b.address);
        Self { validators }
    }

    /// The validators in address order.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// SHA-256 over [`VALIDATOR_SET_HASH_TAG`]` || count_u32_be || key_1 || ... || key_n` in
    /// address order (`specs/consensus.md`, Hashes).
    pub fn hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(VALIDATOR_SET_HASH_TAG.as_bytes());
        h.update(u32::try_from(self.validators.len()).unwrap_or(u32::MAX).to_be_bytes());
        for v in &self.validators {
            h.update(v.address.0);
        }
        h.finalize().into()
    }

    /// Whether `address` is a member.
    pub fn contains(&self, address: &Address) -> bool {
        self.validators.binary_search_by(|v| v.address.cmp(address)).is_ok()
    }
}

impl mc::ValidatorSet<LedgerContext> for ValidatorSet {
    fn count(&self) -> usize {
        self.validators.len()
    }

    fn total_voting_power(&self) -> VotingPower {
        self.validators.iter().map(|v| v.voting_power).sum()
    }

    fn get_by_address(&self, address: &Address) -> Option<&Validator> {
        self.validators
            .binary_search_by(|v| v.address.cmp(address))
            .ok()
            .and_then(|i| self.validators.get(i))
    }

    fn get_by_index(&self, index: usize) -> Option<&Validator> {
        self.validators.get(index)
    }
}

/// The id of a block: SHA-256 over the canonical header bytes.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockHash(pub [u8; 32]);

impl fmt::Display for BlockHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&sig::to_hex(&self.0[..8]))
    }
}

impl fmt::Debug for BlockHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlockHash({})", sig::to_hex(&self.0))
    }
}

pub use crate::config::MAX_CHAIN_ID_LEN;

/// A block header. Its canonical bytes are laid out in `specs/consensus.md`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct BlockHeader {
    /// The chain id from genesis.
    pub chain_id: String,
    /// The height of this block.
    pub height: u64,
    /// The hash of the block at `height - 1` (all zeros for height 1).
    pub prev_block_hash: [u8; 32],
    /// The proposer's clock, Unix seconds; never below the previous block's time.
    pub time: u64,
    /// The proposer's address.
    pub proposer: [u8; 32],
    /// RFC 9162 Merkle root over this block's entries (`MTH` of the entry bytes).
    pub entries_root: [u8; 32],
    /// Log size after applying this block.
    pub log_size: u64,
    /// Log root after applying this block.
    pub log_root: [u8; 32],
    /// State root after applying this block.
    pub state_root: [u8; 32],
    /// Hash of the validator set of this height.
    pub validators_hash: [u8; 32],
    /// Hash of the validator set of the next height.
    pub next_validators_hash: [u8; 32],
}

impl BlockHeader {
    /// The canonical header bytes: fixed-width big-endian fields in declaration order, the
    /// chain id as `u8` length plus UTF-8 bytes, prefixed by a version byte.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 1 + self.chain_id.len() + 8 * 3 + 32 * 7);
        out.push(1u8);
        push_chain_id(&mut out, &self.chain_id);
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(&self.prev_block_hash);
        out.extend_from_slice(&self.time.to_be_bytes());
        out.extend_from_slice(&self.proposer);
        out.extend_from_slice(&self.entries_root);
        out.extend_from_slice(&self.log_size.to_be_bytes());
        out.extend_from_slice(&self.log_root);
        out.extend_from_slice(&self.state_root);
        out.extend_from_slice(&self.validators_hash);
        out.extend_from_slice(&self.next_validators_hash);
        out
    }

    /// SHA-256 of [`Self::canonical_bytes`].
    pub fn hash(&self) -> BlockHash {
        BlockHash(Sha256::digest(self.canonical_bytes()).into())
    }
}

/// A block: the consensus value. Entries are opaque signed bytes to consensus.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// The entries, each the canonical bytes of a signed ledger entry.
    pub entries: Vec<Vec<u8>>,
}

impl mc::Value for Block {
    type Id = BlockHash;

    fn id(&self) -> BlockHash {
        self.header.hash()
    }
}

/// A proposal: the proposer's signed claim of a block at (height, round).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// Height.
    pub height: Height,
    /// Round.
    pub round: Round,
    /// The block.
    pub value: Block,
    /// Proof-of-lock round, or `Nil`.
    pub pol_round: Round,
    /// The proposer.
    pub proposer: Address,
}

impl mc::Proposal<LedgerContext> for Proposal {
    fn height(&self) -> Height {
        self.height
    }
    fn round(&self) -> Round {
        self.round
    }
    fn value(&self) -> &Block {
        &self.value
    }
    fn take_value(self) -> Block {
        self.value
    }
    fn pol_round(&self) -> Round {
        self.pol_round
    }
    fn validator_address(&self) -> &Address {
        &self.proposer
    }
}

/// The single streamed part that carries a proposed block, signed by the proposer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProposalPart {
    /// Height.
    pub height: Height,
    /// Round the block is proposed in.
    pub round: Round,
    /// The round the proposer locked the value in (`Nil` for a fresh value).
    pub valid_round: Round,
    /// The proposer.
    pub proposer: Address,
    /// The block.
    pub block: Block,
    /// Signature under `ns::CONSENSUS_PROPOSAL_PART` over [`part_sign_bytes`].
    pub signature: sig::Signature,
}

impl mc::ProposalPart<LedgerContext> for ProposalPart {
    fn is_first(&self) -> bool {
        true
    }
    fn is_last(&self) -> bool {
        true
    }
}

/// A prevote or precommit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vote {
    /// Vote kind.
    pub vote_type: VoteType,
    /// Height.
    pub height: Height,
    /// Round.
    pub round: Round,
    /// The block voted for, or nil.
    pub value: NilOrVal<BlockHash>,
    /// The voter.
    pub validator: Address,
    /// Vote extensions are disabled; kept only to satisfy the trait.
    pub extension: Option<SignedExtension<LedgerContext>>,
}

impl mc::Vote<LedgerContext> for Vote {
    fn height(&self) -> Height {
        self.height
    }
    fn round(&self) -> Round {
        self.round
    }
    fn value(&self) -> &NilOrVal<BlockHash> {
        &self.value
    }
    fn take_value(self) -> NilOrVal<BlockHash> {
        self.value
    }
    fn vote_type(&self) -> VoteType {
        self.vote_type
    }
    fn validator_address(&self) -> &Address {
        &self.validator
    }
    fn extension(&self) -> Option<&SignedExtension<LedgerContext>> {
        self.extension.as_ref()
    }
    fn take_extension(&mut self) -> Option<SignedExtension<LedgerContext>> {
        self.extension.take()
    }
    fn extend(self, extension: SignedExtension<LedgerContext>) -> Self {
        Self { extension: Some(extension), ..self }
    }
}

/// Vote extensions are not used; this type only satisfies the trait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoExtension;

impl mc::Extension for NoExtension {
    fn size_bytes(&self) -> usize {
        0
    }
}

/// The consensus context. Carries the chain id, which every sign-bytes layout includes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerContext {
    chain_id: String,
}

impl LedgerContext {
    /// A context for `chain_id`.
    pub fn new(chain_id: &str) -> Self {
        Self { chain_id: chain_id.to_owned() }
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }
}

/// The proposer of (height, round): index `(height + round) mod n` in address order.
pub fn proposer_index(count: usize, height: u64, round: u32) -> usize {
    if count == 0 {
        return 0;
    }
    let n = count as u128;
    ((u128::from(height) + u128::from(round)) % n) as usize
}

impl Context for LedgerContext {
    type Address = Address;
    type Height = Height;
    type ProposalPart = ProposalPart;
    type Proposal = Proposal;
    type Validator = Validator;
    type ValidatorSet = ValidatorSet;
    type Timeouts = mc::LinearTimeouts;
    type Value = Block;
    type Vote = Vote;
    type Extension = NoExtension;
    type SigningScheme = Ed25519Scheme;

    fn select_proposer<'a>(
        &self,
        validator_set: &'a ValidatorSet,
        height: Height,
        round: Round,
    ) -> &'a Validator {
        let round = round.as_u32().unwrap_or(0);
        let idx = proposer_index(validator_set.validators.len(), height.0, round);
        // Malachite never starts a height with an empty validator set (ConsensusReady and
        // Next::Start always carry the genesis set, which `Genesis::validate` keeps non-empty).
        #[allow(clippy::expect_used)]
        validator_set
            .validators
            .get(idx)
            .or_else(|| validator_set.validators.first())
            .expect("validator set is never empty")
    }

    fn new_proposal(
        &self,
        height: Height,
        round: Round,
        value: Block,
        pol_round: Round,
        address: Address,
    ) -> Proposal {
        Proposal { height, round, value, pol_round, proposer: address }
    }

    fn new_prevote(
        &self,
        height: Height,
        round: Round,
        value_id: NilOrVal<BlockHash>,
        address: Address,
    ) -> Vote {
        Vote {
            vote_type: VoteType::Prevote,
            height,
            round,
            value: value_id,
            validator: address,
            extension: None,
        }
    }

    fn new_precommit(
        &self,
        height: Height,
        round: Round,
        value_id: NilOrVal<BlockHash>,
        address: Address,
    ) -> Vote {
        Vote {
            vote_type: VoteType::Precommit,
            height,
            round,
            value: value_id,
            validator: address,
            extension: None,
        }
    }
}

mod signing;
pub use signing::*;

#[cfg(test)]
mod tests;
