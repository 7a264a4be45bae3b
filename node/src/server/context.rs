//! The Malachite [`Context`] for certledger: heights, department addresses, the validator set,
//! blocks as consensus values, votes, proposals and proposal parts, and the hand-written,
//! domain-separated sign bytes every consensus signature is made over (`specs/consensus.md`).

use std::fmt;

use async_trait::async_trait;
use certledger_core::sig::{self, ns, PublicKey, SecretKey};
use malachitebft_app_channel::app::types::core::Context;
use malachitebft_app_channel::app::types::core::{
    self as mc, NilOrVal, Round, SignedExtension, SignedMessage, ValidatorProof,
    VoteExtensionScope, VoteType, VotingPower,
};
use malachitebft_app_channel::{Signer, Verifier};
use malachitebft_signing::{Error as SigningError, VerificationResult};
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

/// An Ed25519 signature with the ordering Malachite needs.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ConsensusSignature(pub [u8; 64]);

impl fmt::Debug for ConsensusSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sig({})", sig::to_hex(&self.0[..8]))
    }
}

impl From<sig::Signature> for ConsensusSignature {
    fn from(s: sig::Signature) -> Self {
        Self(s.0)
    }
}

impl From<ConsensusSignature> for sig::Signature {
    fn from(s: ConsensusSignature) -> Self {
        sig::Signature(s.0)
    }
}

/// A key or signature had the wrong length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0} has the wrong length")]
pub struct BadLength(&'static str);

/// Ed25519 through `certledger_core::sig` (strict verification).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ed25519Scheme;

impl mc::SigningScheme for Ed25519Scheme {
    type DecodingError = BadLength;
    type Signature = ConsensusSignature;
    type PublicKey = PublicKey;
    type PrivateKey = SecretKey;

    fn decode_signature(bytes: &[u8]) -> Result<ConsensusSignature, BadLength> {
        <[u8; 64]>::try_from(bytes).map(ConsensusSignature).map_err(|_| BadLength("signature"))
    }
    fn encode_signature(signature: &ConsensusSignature) -> Vec<u8> {
        signature.0.to_vec()
    }
    fn decode_public_key(bytes: &[u8]) -> Result<PublicKey, BadLength> {
        <[u8; 32]>::try_from(bytes).map(PublicKey).map_err(|_| BadLength("public key"))
    }
    fn encode_public_key(public_key: &PublicKey) -> Vec<u8> {
        public_key.0.to_vec()
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

fn push_chain_id(out: &mut Vec<u8>, chain_id: &str) {
    let bytes = chain_id.as_bytes();
    let len = bytes.len().min(MAX_CHAIN_ID_LEN);
    out.push(u8::try_from(len).unwrap_or(u8::MAX));
    out.extend_from_slice(bytes.get(..len).unwrap_or_default());
}

/// Domain tag of the validator-set hash (a hash preimage prefix, not a signing namespace;
/// listed in `specs/signatures.md` and `specs/consensus.md`).
pub const VALIDATOR_SET_HASH_TAG: &str = "certledger/v1/validator-set";

/// Every signing namespace the node's consensus formats use, each with its preimage function
/// here (`specs/consensus.md`, Sign bytes).
pub const CONSENSUS_NAMESPACES: &[sig::Namespace] =
    &[ns::CONSENSUS_VOTE, ns::CONSENSUS_PROPOSAL, ns::CONSENSUS_PROPOSAL_PART, ns::PEER_BINDING];

fn round_bytes(round: Round) -> [u8; 8] {
    round.as_i64().to_be_bytes()
}

/// Sign bytes of a vote: `chain_id || height || round || kind || value_tag || value_id || address`.
pub fn vote_sign_bytes(chain_id: &str, vote: &Vote) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    push_chain_id(&mut out, chain_id);
    out.extend_from_slice(&vote.height.0.to_be_bytes());
    out.extend_from_slice(&round_bytes(vote.round));
    out.push(match vote.vote_type {
        VoteType::Prevote => 1,
        VoteType::Precommit => 2,
    });
    match &vote.value {
        NilOrVal::Nil => {
            out.push(0);
            out.extend_from_slice(&[0u8; 32]);
        }
        NilOrVal::Val(id) => {
            out.push(1);
            out.extend_from_slice(&id.0);
        }
    }
    out.extend_from_slice(&vote.validator.0);
    out
}

/// Sign bytes of a proposal: `chain_id || height || round || pol_round || block_hash || proposer`.
pub fn proposal_sign_bytes(chain_id: &str, p: &Proposal) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    push_chain_id(&mut out, chain_id);
    out.extend_from_slice(&p.height.0.to_be_bytes());
    out.extend_from_slice(&round_bytes(p.round));
    out.extend_from_slice(&round_bytes(p.pol_round));
    out.extend_from_slice(&p.value.header.hash().0);
    out.extend_from_slice(&p.proposer.0);
    out
}

/// Sign bytes of a proposal part:
/// `chain_id || height || round || valid_round || block_hash || proposer`.
pub fn part_sign_bytes(
    chain_id: &str,
    height: Height,
    round: Round,
    valid_round: Round,
    block_hash: &BlockHash,
    proposer: &Address,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    push_chain_id(&mut out, chain_id);
    out.extend_from_slice(&height.0.to_be_bytes());
    out.extend_from_slice(&round_bytes(round));
    out.extend_from_slice(&round_bytes(valid_round));
    out.extend_from_slice(&block_hash.0);
    out.extend_from_slice(&proposer.0);
    out
}

/// Sign bytes of the peer-id binding: `chain_id || ValidatorProof::signing_bytes(key, peer_id)`.
pub fn peer_binding_sign_bytes(chain_id: &str, public_key: &[u8], peer_id: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    push_chain_id(&mut out, chain_id);
    out.extend_from_slice(&ValidatorProof::<LedgerContext>::signing_bytes(public_key, peer_id));
    out
}

impl ProposalPart {
    /// Builds and signs the part for `block`.
    pub fn new_signed(
        ctx: &LedgerContext,
        key: &SecretKey,
        height: Height,
        round: Round,
        valid_round: Round,
        block: Block,
    ) -> Self {
        let proposer = Address(key.public_key().0);
        let bytes = part_sign_bytes(
            &ctx.chain_id,
            height,
            round,
            valid_round,
            &block.header.hash(),
            &proposer,
        );
        let signature = key.sign(ns::CONSENSUS_PROPOSAL_PART, &bytes);
        Self { height, round, valid_round, proposer, block, signature }
    }

    /// Whether the proposer's signature verifies.
    pub fn verify(&self, ctx: &LedgerContext) -> bool {
        let bytes = part_sign_bytes(
            &ctx.chain_id,
            self.height,
            self.round,
            self.valid_round,
            &self.block.header.hash(),
            &self.proposer,
        );
        self.proposer
            .public_key()
            .verify(ns::CONSENSUS_PROPOSAL_PART, &bytes, &self.signature)
            .is_ok()
    }
}

/// Signs consensus messages with the department key.
#[derive(Clone, Debug)]
pub struct LedgerSigner {
    chain_id: String,
    key: SecretKey,
}

impl LedgerSigner {
    /// A signer for `chain_id` with `key`.
    pub fn new(chain_id: &str, key: SecretKey) -> Self {
        Self { chain_id: chain_id.to_owned(), key }
    }
}

/// Verifies consensus signatures with the strict rule.
#[derive(Clone, Debug)]
pub struct LedgerVerifier {
    chain_id: String,
}

impl LedgerVerifier {
    /// A verifier for `chain_id`.
    pub fn new(chain_id: &str) -> Self {
        Self { chain_id: chain_id.to_owned() }
    }
}

#[async_trait]
impl Signer<LedgerContext> for LedgerSigner {
    async fn sign_vote(
        &self,
        vote: Vote,
    ) -> Result<SignedMessage<LedgerContext, Vote>, SigningError> {
        let s = self.key.sign(ns::CONSENSUS_VOTE, &vote_sign_bytes(&self.chain_id, &vote));
        Ok(SignedMessage::new(vote, s.into()))
    }

    async fn sign_proposal(
        &self,
        proposal: Proposal,
    ) -> Result<SignedMessage<LedgerContext, Proposal>, SigningError> {
        let s =
            self.key.sign(ns::CONSENSUS_PROPOSAL, &proposal_sign_bytes(&self.chain_id, &proposal));
        Ok(SignedMessage::new(proposal, s.into()))
    }

    async fn sign_vote_extension(
        &self,
        _scope: VoteExtensionScope<LedgerContext>,
        _extension: NoExtension,
    ) -> Result<SignedMessage<LedgerContext, NoExtension>, SigningError> {
        Err(SigningError::from_source(BadLength("vote extensions are disabled")))
    }

    async fn sign_validator_proof(
        &self,
        public_key: Vec<u8>,
        peer_id: Vec<u8>,
    ) -> Result<ValidatorProof<LedgerContext>, SigningError> {
        let bytes = peer_binding_sign_bytes(&self.chain_id, &public_key, &peer_id);
        let s = self.key.sign(ns::PEER_BINDING, &bytes);
        Ok(ValidatorProof::new(public_key, peer_id, s.into()))
    }
}

#[async_trait]
impl Verifier<LedgerContext> for LedgerVerifier {
    async fn verify_signed_vote(
        &self,
        vote: &Vote,
        signature: &ConsensusSignature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        let ok = public_key
            .verify(
                ns::CONSENSUS_VOTE,
                &vote_sign_bytes(&self.chain_id, vote),
                &(*signature).into(),
            )
            .is_ok()
            && vote.validator.0 == public_key.0;
        Ok(VerificationResult::from_bool(ok))
    }

    async fn verify_signed_proposal(
        &self,
        proposal: &Proposal,
        signature: &ConsensusSignature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        let ok = public_key
            .verify(
                ns::CONSENSUS_PROPOSAL,
                &proposal_sign_bytes(&self.chain_id, proposal),
                &(*signature).into(),
            )
            .is_ok()
            && proposal.proposer.0 == public_key.0;
        Ok(VerificationResult::from_bool(ok))
    }

    async fn verify_signed_vote_extension(
        &self,
        _scope: &VoteExtensionScope<LedgerContext>,
        _extension: &NoExtension,
        _signature: &ConsensusSignature,
        _public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        Ok(VerificationResult::Invalid)
    }

    async fn verify_validator_proof(
        &self,
        proof: &ValidatorProof<LedgerContext>,
    ) -> Result<VerificationResult, SigningError> {
        let Ok(key) = <[u8; 32]>::try_from(proof.public_key.as_slice()) else {
            return Ok(VerificationResult::Invalid);
        };
        let bytes = peer_binding_sign_bytes(&self.chain_id, &proof.public_key, &proof.peer_id);
        let ok = PublicKey(key).verify(ns::PEER_BINDING, &bytes, &proof.signature.into()).is_ok();
        Ok(VerificationResult::from_bool(ok))
    }
}

#[cfg(test)]
mod tests {
    use malachitebft_app_channel::app::types::core::ValidatorSet as _;

    use super::*;

    fn key(i: u8) -> SecretKey {
        SecretKey::from_seed(&[i; 32])
    }

    #[test]
    fn validator_set_is_sorted_and_deduplicated() {
        let keys: Vec<PublicKey> = (1..=4).map(|i| key(i).public_key()).collect();
        let mut with_dup = keys.clone();
        with_dup.push(keys[0]);
        with_dup.reverse();
        let set = ValidatorSet::new(with_dup);
        assert_eq!(set.count(), 4);
        assert!(set.validators().windows(2).all(|w| w[0].address < w[1].address));
        assert_eq!(set.total_voting_power(), 4);
        assert_eq!(set.hash(), ValidatorSet::new(keys).hash());
    }

    #[test]
    fn proposer_rotates_round_robin() {
        let set = ValidatorSet::new((1..=4).map(|i| key(i).public_key()));
        let ctx = LedgerContext::new("c");
        let p = |h: u64, r: u32| ctx.select_proposer(&set, Height(h), Round::new(r)).address;
        assert_eq!(p(1, 0), set.validators()[1].address);
        assert_eq!(p(1, 1), set.validators()[2].address);
        assert_eq!(p(2, 0), p(1, 1));
        assert_eq!(p(3, 1), set.validators()[0].address);
        assert_eq!(
            proposer_index(4, u64::MAX, u32::MAX),
            ((u64::MAX as u128 + u32::MAX as u128) % 4) as usize
        );
    }

    #[test]
    fn vote_sign_bytes_layout() {
        let v = Vote {
            vote_type: VoteType::Precommit,
            height: Height(7),
            round: Round::new(2),
            value: NilOrVal::Val(BlockHash([0xab; 32])),
            validator: Address([0xcd; 32]),
            extension: None,
        };
        let b = vote_sign_bytes("chain", &v);
        let mut want = vec![5u8];
        want.extend_from_slice(b"chain");
        want.extend_from_slice(&7u64.to_be_bytes());
        want.extend_from_slice(&2i64.to_be_bytes());
        want.push(2);
        want.push(1);
        want.extend_from_slice(&[0xab; 32]);
        want.extend_from_slice(&[0xcd; 32]);
        assert_eq!(b, want);
        let nil = Vote { value: NilOrVal::Nil, ..v.clone() };
        assert_ne!(vote_sign_bytes("chain", &nil), b);
        assert_ne!(vote_sign_bytes("chain2", &v), b);
    }

    #[tokio::test]
    async fn signatures_are_domain_separated_and_bound_to_the_chain() {
        let k = key(1);
        let signer = LedgerSigner::new("c", k.clone());
        let verifier = LedgerVerifier::new("c");
        let other_chain = LedgerVerifier::new("d");
        let ctx = LedgerContext::new("c");
        let addr = Address(k.public_key().0);
        let vote =
            ctx.new_prevote(Height(1), Round::new(0), NilOrVal::Val(BlockHash([1; 32])), addr);
        let signed = signer.sign_vote(vote.clone()).await.expect("sign");
        let pk = k.public_key();
        assert!(verifier
            .verify_signed_vote(&vote, &signed.signature, &pk)
            .await
            .expect("v")
            .is_valid());
        assert!(other_chain
            .verify_signed_vote(&vote, &signed.signature, &pk)
            .await
            .expect("v")
            .is_invalid());
        let precommit =
            ctx.new_precommit(Height(1), Round::new(0), NilOrVal::Val(BlockHash([1; 32])), addr);
        assert!(verifier
            .verify_signed_vote(&precommit, &signed.signature, &pk)
            .await
            .expect("v")
            .is_invalid());
        // A vote signature is never a valid peer binding or proposal part.
        let proof =
            signer.sign_validator_proof(pk.0.to_vec(), b"peer".to_vec()).await.expect("sign");
        assert!(verifier.verify_validator_proof(&proof).await.expect("v").is_valid());
        let forged = ValidatorProof::new(pk.0.to_vec(), b"peer".to_vec(), signed.signature);
        assert!(verifier.verify_validator_proof(&forged).await.expect("v").is_invalid());
        let other = ValidatorProof::new(pk.0.to_vec(), b"other".to_vec(), proof.signature);
        assert!(verifier.verify_validator_proof(&other).await.expect("v").is_invalid());
    }

    #[test]
    fn header_hash_covers_every_field() {
        let h = BlockHeader {
            chain_id: "c".into(),
            height: 1,
            prev_block_hash: [0; 32],
            time: 5,
            proposer: [1; 32],
            entries_root: [2; 32],
            log_size: 3,
            log_root: [4; 32],
            state_root: [5; 32],
            validators_hash: [6; 32],
            next_validators_hash: [7; 32],
        };
        assert_eq!(h.canonical_bytes().len(), 1 + 2 + 8 * 3 + 32 * 7);
        let mut changed = vec![];
        changed.push(BlockHeader { time: 6, ..h.clone() });
        changed.push(BlockHeader { log_size: 4, ..h.clone() });
        changed.push(BlockHeader { state_root: [9; 32], ..h.clone() });
        changed.push(BlockHeader { next_validators_hash: [9; 32], ..h.clone() });
        changed.push(BlockHeader { chain_id: "d".into(), ..h.clone() });
        for c in changed {
            assert_ne!(c.hash(), h.hash());
        }
    }

    /// The node's own signed and hashed formats are specified: every consensus namespace and
    /// the validator-set hash tag appear in `specs/consensus.md` and in `specs/signatures.md`,
    /// and every `ns::` the node signs under is one of them (a new format without a spec fails).
    #[test]
    fn consensus_formats_are_specified_with_their_tags() {
        let consensus = include_str!("../../../specs/consensus.md");
        let signatures = include_str!("../../../specs/signatures.md");
        for n in CONSENSUS_NAMESPACES {
            let tag = format!("`{}`", n.as_str());
            assert!(consensus.contains(&tag), "specs/consensus.md lacks {tag}");
            assert!(signatures.contains(&tag), "specs/signatures.md lacks {tag}");
        }
        let tag = format!("`{VALIDATOR_SET_HASH_TAG}`");
        assert!(consensus.contains(&tag) && signatures.contains(&tag), "{tag} unspecified");
        assert!(consensus.contains("`BlockHash = SHA-256(canonical bytes)`"));
        let named = [
            ("CONSENSUS_VOTE", ns::CONSENSUS_VOTE),
            ("CONSENSUS_PROPOSAL", ns::CONSENSUS_PROPOSAL),
            ("CONSENSUS_PROPOSAL_PART", ns::CONSENSUS_PROPOSAL_PART),
            ("PEER_BINDING", ns::PEER_BINDING),
        ];
        assert_eq!(named.map(|(_, n)| n).as_slice(), CONSENSUS_NAMESPACES);
        let code = include_str!("context.rs");
        let code = code.split("#[cfg(test)]").next().unwrap_or(code);
        for used in code.split("ns::").skip(1) {
            let name: String =
                used.chars().take_while(|c| c.is_ascii_uppercase() || *c == '_').collect();
            assert!(
                name.is_empty() || named.iter().any(|(n, _)| *n == name),
                "context.rs signs under ns::{name}, which CONSENSUS_NAMESPACES does not list"
            );
        }
    }
}
