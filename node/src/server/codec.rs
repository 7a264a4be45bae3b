//! The network, WAL and sync codec, and the node's storage encoding.
//!
//! Everything node-internal is bincode 1.3.3 with ONE fixed configuration ([`options`]):
//! fixed-width big-endian integers, a hard size limit, and trailing bytes refused. Malachite's
//! generic types are mirrored by `Wire*` structs so that the byte layout never depends on how
//! Malachite's own types change. Signatures are hand-built sign bytes (see `context`), never
//! bincode output, so nothing here is signed.

use bincode::Options;
use bytes::Bytes;
use malachitebft_app_channel::app::consensus::LivenessMsg;
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::codec::{Codec, HasEncodedLen};
use malachitebft_app_channel::app::types::core::{
    CommitCertificate, CommitSignature, ExtendedCommitCertificate, ExtendedCommitSignature,
    NilOrVal, PolkaCertificate, PolkaSignature, Round, RoundCertificate, RoundCertificateType,
    RoundSignature, SignedMessage, ValidatorProof, Validity, VoteType,
};
use malachitebft_app_channel::app::types::sync::{RawDecidedValue, Request, Response, Status};
use malachitebft_app_channel::app::types::{PeerId, ProposedValue, SignedConsensusMsg};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::server::context::{
    Address, Block, BlockHash, ConsensusSignature, Height, LedgerContext, Proposal, ProposalPart,
    Vote,
};

/// Largest message any decoder accepts (bytes).
pub const MAX_MESSAGE_BYTES: u64 = 16 * 1024 * 1024;

/// Why bytes could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// bincode refused the bytes (malformed, too large, trailing bytes).
    #[error("bincode: {0}")]
    Bincode(#[from] bincode::Error),
    /// A field is out of range.
    #[error("invalid field: {0}")]
    Invalid(&'static str),
}

/// The one bincode configuration of the node.
pub fn options() -> impl Options {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_big_endian()
        .with_limit(MAX_MESSAGE_BYTES)
        .reject_trailing_bytes()
}

/// Encodes with [`options`].
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    Ok(options().serialize(value)?)
}

/// Decodes with [`options`].
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    Ok(options().deserialize(bytes)?)
}

fn round_from(r: i64) -> Result<Round, CodecError> {
    if r == -1 {
        return Ok(Round::Nil);
    }
    u32::try_from(r).map(Round::new).map_err(|_| CodecError::Invalid("round"))
}

fn sig64(bytes: &[u8]) -> Result<ConsensusSignature, CodecError> {
    <[u8; 64]>::try_from(bytes)
        .map(ConsensusSignature)
        .map_err(|_| CodecError::Invalid("signature"))
}

#[derive(Serialize, Deserialize)]
struct WireVote {
    kind: u8,
    height: u64,
    round: i64,
    value: Option<[u8; 32]>,
    validator: [u8; 32],
}

impl WireVote {
    fn from_vote(v: &Vote) -> Self {
        Self {
            kind: vote_kind(v.vote_type),
            height: v.height.0,
            round: v.round.as_i64(),
            value: match &v.value {
                NilOrVal::Nil => None,
                NilOrVal::Val(id) => Some(id.0),
            },
            validator: v.validator.0,
        }
    }

    fn into_vote(self) -> Result<Vote, CodecError> {
        Ok(Vote {
            vote_type: kind_vote(self.kind)?,
            height: Height(self.height),
            round: round_from(self.round)?,
            value: nil_or(self.value),
            validator: Address(self.validator),
            extension: None,
        })
    }
}

fn vote_kind(t: VoteType) -> u8 {
    match t {
        VoteType::Prevote => 1,
        VoteType::Precommit => 2,
    }
}

fn kind_vote(k: u8) -> Result<VoteType, CodecError> {
    match k {
        1 => Ok(VoteType::Prevote),
        2 => Ok(VoteType::Precommit),
        _ => Err(CodecError::Invalid("vote kind")),
    }
}

fn nil_or(v: Option<[u8; 32]>) -> NilOrVal<BlockHash> {
    match v {
        None => NilOrVal::Nil,
        Some(id) => NilOrVal::Val(BlockHash(id)),
    }
}

fn opt_id(v: &NilOrVal<BlockHash>) -> Option<[u8; 32]> {
    match v {
        NilOrVal::Nil => None,
        NilOrVal::Val(id) => Some(id.0),
    }
}

#[derive(Serialize, Deserialize)]
struct WireProposal {
    height: u64,
    round: i64,
    pol_round: i64,
    proposer: [u8; 32],
    block: Block,
}

#[derive(Serialize, Deserialize)]
enum WireSignedConsensusMsg {
    Vote(WireVote, Vec<u8>),
    Proposal(Box<WireProposal>, Vec<u8>),
}

#[derive(Serialize, Deserialize)]
struct WirePart {
    height: u64,
    round: i64,
    valid_round: i64,
    proposer: [u8; 32],
    block: Block,
    signature: Vec<u8>,
}

impl WirePart {
    fn from_part(p: &ProposalPart) -> Self {
        Self {
            height: p.height.0,
            round: p.round.as_i64(),
            valid_round: p.valid_round.as_i64(),
            proposer: p.proposer.0,
            block: p.block.clone(),
            signature: p.signature.0.to_vec(),
        }
    }

    fn into_part(self) -> Result<ProposalPart, CodecError> {
        Ok(ProposalPart {
            height: Height(self.height),
            round: round_from(self.round)?,
            valid_round: round_from(self.valid_round)?,
            proposer: Address(self.proposer),
            block: self.block,
            signature: sig64(&self.signature)?.into(),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct WireStreamMessage {
    stream_id: Vec<u8>,
    sequence: u64,
    data: Option<WirePart>,
}

/// `(address, signature)` pairs of a certificate.
type WireSigs = Vec<([u8; 32], Vec<u8>)>;

/// A commit certificate in storage and on the sync wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCertificate {
    /// Height.
    pub height: u64,
    /// Decision round.
    pub round: i64,
    /// The decided block hash.
    pub value_id: [u8; 32],
    /// `(address, signature)` pairs, sorted by address.
    pub signatures: WireSigs,
}

impl StoredCertificate {
    /// From Malachite's certificate.
    pub fn from_commit(c: &CommitCertificate<LedgerContext>) -> Self {
        let mut signatures: WireSigs =
            c.commit_signatures.iter().map(|s| (s.address.0, s.signature.0.to_vec())).collect();
        signatures.sort();
        Self { height: c.height.0, round: c.round.as_i64(), value_id: c.value_id.0, signatures }
    }

    /// Back to Malachite's certificate.
    pub fn to_commit(&self) -> Result<CommitCertificate<LedgerContext>, CodecError> {
        let mut commit_signatures = Vec::with_capacity(self.signatures.len());
        for (a, s) in &self.signatures {
            commit_signatures.push(CommitSignature::new(Address(*a), sig64(s)?));
        }
        Ok(CommitCertificate {
            height: Height(self.height),
            round: round_from(self.round)?,
            value_id: BlockHash(self.value_id),
            commit_signatures,
        })
    }

    fn to_extended(&self) -> Result<ExtendedCommitCertificate<LedgerContext>, CodecError> {
        let c = self.to_commit()?;
        Ok(ExtendedCommitCertificate {
            height: c.height,
            round: c.round,
            value_id: c.value_id,
            commit_signatures: c
                .commit_signatures
                .into_iter()
                .map(|s| ExtendedCommitSignature::new(s.address, s.signature, None))
                .collect(),
        })
    }

    fn from_extended(c: &ExtendedCommitCertificate<LedgerContext>) -> Self {
        Self::from_commit(&c.trim_vote_extensions())
    }
}

#[derive(Serialize, Deserialize)]
struct WirePolka {
    height: u64,
    round: i64,
    value_id: [u8; 32],
    signatures: WireSigs,
}

/// `(vote kind, value id or nil, address, signature)`.
type WireRoundSig = (u8, Option<[u8; 32]>, [u8; 32], Vec<u8>);

#[derive(Serialize, Deserialize)]
struct WireRoundCert {
    height: u64,
    round: i64,
    skip: bool,
    signatures: Vec<WireRoundSig>,
}

#[derive(Serialize, Deserialize)]
enum WireLiveness {
    Vote(WireVote, Vec<u8>),
    Polka(WirePolka),
    Skip(WireRoundCert),
}

#[derive(Serialize, Deserialize)]
struct WireProof {
    public_key: Vec<u8>,
    peer_id: Vec<u8>,
    signature: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct WireProposedValue {
    height: u64,
    round: i64,
    valid_round: i64,
    proposer: [u8; 32],
    block: Block,
    valid: bool,
}

#[derive(Serialize, Deserialize)]
struct WireStatus {
    peer_id: Vec<u8>,
    tip_height: u64,
    history_min_height: u64,
}

#[derive(Serialize, Deserialize)]
struct WireRequest {
    start: u64,
    end: u64,
}

#[derive(Serialize, Deserialize)]
struct WireResponse {
    start_height: u64,
    values: Vec<(Vec<u8>, StoredCertificate)>,
}

/// The codec handed to Malachite for the network, the WAL and sync.
#[derive(Clone, Copy, Debug, Default)]
pub struct LedgerCodec;

impl Codec<ProposalPart> for LedgerCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<ProposalPart, CodecError> {
        decode::<WirePart>(&bytes)?.into_part()
    }

    fn encode(&self, msg: &ProposalPart) -> Result<Bytes, CodecError> {
        Ok(encode(&WirePart::from_part(msg))?.into())
    }
}

impl Codec<SignedConsensusMsg<LedgerContext>> for LedgerCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<SignedConsensusMsg<LedgerContext>, CodecError> {
        Ok(match decode::<WireSignedConsensusMsg>(&bytes)? {
            WireSignedConsensusMsg::Vote(v, s) => {
                SignedConsensusMsg::Vote(SignedMessage::new(v.into_vote()?, sig64(&s)?))
            }
            WireSignedConsensusMsg::Proposal(p, s) => {
                let proposal = Proposal {
                    height: Height(p.height),
                    round: round_from(p.round)?,
                    value: p.block,
                    pol_round: round_from(p.pol_round)?,
                    proposer: Address(p.proposer),
                };
                SignedConsensusMsg::Proposal(SignedMessage::new(proposal, sig64(&s)?))
            }
        })
    }

    fn encode(&self, msg: &SignedConsensusMsg<LedgerContext>) -> Result<Bytes, CodecError> {
        let wire = match msg {
            SignedConsensusMsg::Vote(v) => WireSignedConsensusMsg::Vote(
                WireVote::from_vote(&v.message),
                v.signature.0.to_vec(),
            ),
            SignedConsensusMsg::Proposal(p) => WireSignedConsensusMsg::Proposal(
                Box::new(WireProposal {
                    height: p.message.height.0,
                    round: p.message.round.as_i64(),
                    pol_round: p.message.pol_round.as_i64(),
                    proposer: p.message.proposer.0,
                    block: p.message.value.clone(),
                }),
                p.signature.0.to_vec(),
            ),
        };
        Ok(encode(&wire)?.into())
    }
}

impl Codec<StreamMessage<ProposalPart>> for LedgerCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<StreamMessage<ProposalPart>, CodecError> {
        let w: WireStreamMessage = decode(&bytes)?;
        if w.stream_id.len() > 64 {
            return Err(CodecError::Invalid("stream id"));
        }
        let content = match w.data {
            Some(p) => StreamContent::Data(p.into_part()?),
            None => StreamContent::Fin,
        };
        Ok(StreamMessage::new(StreamId::new(w.stream_id.into()), w.sequence, content))
    }

    fn encode(&self, msg: &StreamMessage<ProposalPart>) -> Result<Bytes, CodecError> {
        let w = WireStreamMessage {
            stream_id: msg.stream_id.to_bytes().to_vec(),
            sequence: msg.sequence,
            data: msg.content.as_data().map(WirePart::from_part),
        };
        Ok(encode(&w)?.into())
    }
}

fn polka_to_wire(c: &PolkaCertificate<LedgerContext>) -> WirePolka {
    WirePolka {
        height: c.height.0,
        round: c.round.as_i64(),
        value_id: c.value_id.0,
        signatures: c
            .polka_signatures
            .iter()
            .map(|s| (s.address.0, s.signature.0.to_vec()))
            .collect(),
    }
}

fn polka_from_wire(w: WirePolka) -> Result<PolkaCertificate<LedgerContext>, CodecError> {
    let mut polka_signatures = Vec::with_capacity(w.signatures.len());
    for (a, s) in &w.signatures {
        polka_signatures.push(PolkaSignature::new(Address(*a), sig64(s)?));
    }
    Ok(PolkaCertificate {
        height: Height(w.height),
        round: round_from(w.round)?,
        value_id: BlockHash(w.value_id),
        polka_signatures,
    })
}

impl Codec<LivenessMsg<LedgerContext>> for LedgerCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<LivenessMsg<LedgerContext>, CodecError> {
        Ok(match decode::<WireLiveness>(&bytes)? {
            WireLiveness::Vote(v, s) => {
                LivenessMsg::Vote(SignedMessage::new(v.into_vote()?, sig64(&s)?))
            }
            WireLiveness::Polka(p) => LivenessMsg::PolkaCertificate(polka_from_wire(p)?),
            WireLiveness::Skip(r) => {
                let mut round_signatures = Vec::with_capacity(r.signatures.len());
                for (k, v, a, s) in &r.signatures {
                    round_signatures.push(RoundSignature::new(
                        kind_vote(*k)?,
                        nil_or(*v),
                        Address(*a),
                        sig64(s)?,
                    ));
                }
                LivenessMsg::SkipRoundCertificate(RoundCertificate {
                    height: Height(r.height),
                    round: round_from(r.round)?,
                    cert_type: if r.skip {
                        RoundCertificateType::Skip
                    } else {
                        RoundCertificateType::Precommit
                    },
                    round_signatures,
                })
            }
        })
    }

    fn encode(&self, msg: &LivenessMsg<LedgerContext>) -> Result<Bytes, CodecError> {
        let w = match msg {
            LivenessMsg::Vote(v) => {
                WireLiveness::Vote(WireVote::from_vote(&v.message), v.signature.0.to_vec())
            }
            LivenessMsg::PolkaCertificate(c) => WireLiveness::Polka(polka_to_wire(c)),
            LivenessMsg::SkipRoundCertificate(c) => WireLiveness::Skip(WireRoundCert {
                height: c.height.0,
                round: c.round.as_i64(),
                skip: matches!(c.cert_type, RoundCertificateType::Skip),
                signatures: c
                    .round_signatures
                    .iter()
                    .map(|s| {
                        (
                            vote_kind(s.vote_type),
                            opt_id(&s.value_id),
                            s.address.0,
                            s.signature.0.to_vec(),
                        )
                    })
                    .collect(),
            }),
        };
        Ok(encode(&w)?.into())
    }
}

/// Longest libp2p peer id in a validator proof, in bytes (a multihash of an Ed25519 key is 38).
pub const MAX_PEER_ID_BYTES: usize = 128;

impl Codec<ValidatorProof<LedgerContext>> for LedgerCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<ValidatorProof<LedgerContext>, CodecError> {
        let w: WireProof = decode(&bytes)?;
        if w.public_key.len() != 32 || w.peer_id.len() > MAX_PEER_ID_BYTES {
            return Err(CodecError::Invalid("validator proof"));
        }
        Ok(ValidatorProof::new(w.public_key, w.peer_id, sig64(&w.signature)?))
    }

    fn encode(&self, msg: &ValidatorProof<LedgerContext>) -> Result<Bytes, CodecError> {
        let w = WireProof {
            public_key: msg.public_key.clone(),
            peer_id: msg.peer_id.clone(),
            signature: msg.signature.0.to_vec(),
        };
        Ok(encode(&w)?.into())
    }
}

impl Codec<ProposedValue<LedgerContext>> for LedgerCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<ProposedValue<LedgerContext>, CodecError> {
        let w: WireProposedValue = decode(&bytes)?;
        Ok(ProposedValue {
            height: Height(w.height),
            round: round_from(w.round)?,
            valid_round: round_from(w.valid_round)?,
            proposer: Address(w.proposer),
            value: w.block,
            validity: Validity::from_bool(w.valid),
        })
    }

    fn encode(&self, msg: &ProposedValue<LedgerContext>) -> Result<Bytes, CodecError> {
        let w = WireProposedValue {
            height: msg.height.0,
            round: msg.round.as_i64(),
            valid_round: msg.valid_round.as_i64(),
            proposer: msg.proposer.0,
            block: msg.value.clone(),
            valid: msg.validity.is_valid(),
        };
        Ok(encode(&w)?.into())
    }
}

impl Codec<PolkaCertificate<LedgerContext>> for LedgerCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<PolkaCertificate<LedgerContext>, CodecError> {
        polka_from_wire(decode(&bytes)?)
    }

    fn encode(&self, msg: &PolkaCertificate<LedgerContext>) -> Result<Bytes, CodecError> {
        Ok(encode(&polka_to_wire(msg))?.into())
    }
}

impl Codec<Status<LedgerContext>> for LedgerCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<Status<LedgerContext>, CodecError> {
        let w: WireStatus = decode(&bytes)?;
        Ok(Status {
            peer_id: PeerId::from_bytes(&w.peer_id).map_err(|_| CodecError::Invalid("peer id"))?,
            tip_height: Height(w.tip_height),
            history_min_height: Height(w.history_min_height),
        })
    }

    fn encode(&self, msg: &Status<LedgerContext>) -> Result<Bytes, CodecError> {
        let w = WireStatus {
            peer_id: msg.peer_id.to_bytes(),
            tip_height: msg.tip_height.0,
            history_min_height: msg.history_min_height.0,
        };
        Ok(encode(&w)?.into())
    }
}

impl Codec<Request<LedgerContext>> for LedgerCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<Request<LedgerContext>, CodecError> {
        use malachitebft_app_channel::app::types::sync::Request as R;
        let w: WireRequest = decode(&bytes)?;
        if w.end < w.start {
            return Err(CodecError::Invalid("range"));
        }
        Ok(R::ValueRequest(malachitebft_sync::ValueRequest::new(Height(w.start)..=Height(w.end))))
    }

    fn encode(&self, msg: &Request<LedgerContext>) -> Result<Bytes, CodecError> {
        let Request::ValueRequest(r) = msg;
        let w = WireRequest { start: r.range.start().0, end: r.range.end().0 };
        Ok(encode(&w)?.into())
    }
}

fn response_to_wire(msg: &Response<LedgerContext>) -> WireResponse {
    let Response::ValueResponse(r) = msg;
    WireResponse {
        start_height: r.start_height.0,
        values: r
            .values
            .iter()
            .map(|v| (v.value_bytes.to_vec(), StoredCertificate::from_extended(&v.certificate)))
            .collect(),
    }
}

impl Codec<Response<LedgerContext>> for LedgerCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<Response<LedgerContext>, CodecError> {
        let w: WireResponse = decode(&bytes)?;
        let mut values = Vec::with_capacity(w.values.len());
        for (value_bytes, cert) in w.values {
            values.push(RawDecidedValue::new(value_bytes.into(), cert.to_extended()?));
        }
        Ok(Response::ValueResponse(malachitebft_sync::ValueResponse::new(
            Height(w.start_height),
            values,
        )))
    }

    fn encode(&self, msg: &Response<LedgerContext>) -> Result<Bytes, CodecError> {
        Ok(encode(&response_to_wire(msg))?.into())
    }
}

impl HasEncodedLen<Response<LedgerContext>> for LedgerCodec {
    fn encoded_len(&self, msg: &Response<LedgerContext>) -> Result<usize, CodecError> {
        let n = options().serialized_size(&response_to_wire(msg))?;
        usize::try_from(n).map_err(|_| CodecError::Invalid("length"))
    }
}

/// Converts a stored certificate to a sync `RawDecidedValue` for `block_bytes`.
pub fn raw_decided(
    block_bytes: Vec<u8>,
    cert: &StoredCertificate,
) -> Result<RawDecidedValue<LedgerContext>, CodecError> {
    Ok(RawDecidedValue::new(block_bytes.into(), cert.to_extended()?))
}

#[cfg(test)]
mod tests {
    use certledger_core::sig::SecretKey;
    use malachitebft_app_channel::app::types::core::Context as _;

    use super::*;
    use crate::server::context::BlockHeader;

    fn block() -> Block {
        Block {
            header: BlockHeader {
                chain_id: "c".into(),
                height: 3,
                prev_block_hash: [1; 32],
                time: 9,
                proposer: [2; 32],
                entries_root: [3; 32],
                log_size: 1,
                log_root: [4; 32],
                state_root: [5; 32],
                validators_hash: [6; 32],
                next_validators_hash: [6; 32],
            },
            entries: vec![b"entry".to_vec()],
        }
    }

    #[test]
    fn messages_round_trip() {
        let ctx = LedgerContext::new("c");
        let key = SecretKey::from_seed(&[1; 32]);
        let part =
            ProposalPart::new_signed(&ctx, &key, Height(3), Round::new(1), Round::Nil, block());
        let bytes = LedgerCodec.encode(&part).expect("encode");
        let back: ProposalPart = LedgerCodec.decode(bytes.clone()).expect("decode");
        assert_eq!(back, part);
        assert!(back.verify(&ctx));

        let vote = ctx.new_precommit(
            Height(3),
            Round::new(1),
            NilOrVal::Val(BlockHash([7; 32])),
            Address([8; 32]),
        );
        let msg = SignedConsensusMsg::Vote(SignedMessage::new(vote, ConsensusSignature([9; 64])));
        let b =
            Codec::<SignedConsensusMsg<LedgerContext>>::encode(&LedgerCodec, &msg).expect("encode");
        let back: SignedConsensusMsg<LedgerContext> = LedgerCodec.decode(b).expect("decode");
        assert_eq!(back, msg);

        let cert = StoredCertificate {
            height: 3,
            round: 0,
            value_id: [7; 32],
            signatures: vec![([8; 32], vec![9; 64])],
        };
        assert_eq!(decode::<StoredCertificate>(&encode(&cert).expect("enc")).expect("dec"), cert);
        assert_eq!(StoredCertificate::from_commit(&cert.to_commit().expect("commit")), cert);
    }

    #[test]
    fn trailing_bytes_and_garbage_are_refused_without_panic() {
        let mut b = encode(&block()).expect("encode");
        assert!(decode::<Block>(&b).is_ok());
        b.push(0);
        assert!(decode::<Block>(&b).is_err());
        // A length prefix claiming 2^60 entries must fail before allocating.
        let mut huge = vec![0u8; 8];
        huge.extend_from_slice(&(1u64 << 60).to_be_bytes());
        assert!(decode::<Vec<Vec<u8>>>(&huge).is_err());
        let mut x = 0x1234_5678u32;
        for len in 0..300usize {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x.to_be_bytes()[0]
                })
                .collect();
            let bb = Bytes::from(bytes.clone());
            let _ = Codec::<ProposalPart>::decode(&LedgerCodec, bb.clone());
            let _ = Codec::<SignedConsensusMsg<LedgerContext>>::decode(&LedgerCodec, bb.clone());
            let _ = Codec::<StreamMessage<ProposalPart>>::decode(&LedgerCodec, bb.clone());
            let _ = Codec::<LivenessMsg<LedgerContext>>::decode(&LedgerCodec, bb.clone());
            let _ = Codec::<Response<LedgerContext>>::decode(&LedgerCodec, bb.clone());
            let _ = Codec::<Status<LedgerContext>>::decode(&LedgerCodec, bb);
            let _ = decode::<Block>(&bytes);
        }
    }

    #[test]
    fn invalid_rounds_and_kinds_are_refused() {
        assert!(round_from(-2).is_err());
        assert!(round_from(i64::from(u32::MAX) + 1).is_err());
        assert_eq!(round_from(-1).expect("nil"), Round::Nil);
        assert!(kind_vote(3).is_err());
    }
}
