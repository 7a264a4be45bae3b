//! The consensus signature scheme and the hand-written, domain-separated sign bytes every
//! consensus signature is made over (`specs/consensus.md`, Sign bytes), with the signer and
//! verifier Malachite calls.

use std::fmt;

use async_trait::async_trait;
use certledger_core::sig::{self, ns, PublicKey, SecretKey};
use malachitebft_app_channel::app::types::core::{
    self as mc, NilOrVal, Round, SignedMessage, ValidatorProof, VoteExtensionScope, VoteType,
};
use malachitebft_app_channel::{Signer, Verifier};
use malachitebft_signing::{Error as SigningError, VerificationResult};

use super::*;

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

pub(super) fn push_chain_id(out: &mut Vec<u8>, chain_id: &str) {
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

pub(super) fn round_bytes(round: Round) -> [u8; 8] {
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
