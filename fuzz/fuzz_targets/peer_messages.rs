//! Peer messages: every `Codec` of the node's `LedgerCodec` (network, WAL and sync), plus the
//! stored block and commit certificate. The first byte picks the message type. Build with
//! `--features node`.
#![no_main]

use bytes::Bytes;
use certledger_node::server::codec::{self, LedgerCodec, StoredCertificate};
use certledger_node::server::context::{Block, LedgerContext, ProposalPart};
use libfuzzer_sys::fuzz_target;
use malachitebft_app_channel::app::consensus::LivenessMsg;
use malachitebft_app_channel::app::streaming::StreamMessage;
use malachitebft_app_channel::app::types::codec::Codec;
use malachitebft_app_channel::app::types::core::{PolkaCertificate, ValidatorProof};
use malachitebft_app_channel::app::types::sync::{Request, Response, Status};
use malachitebft_app_channel::app::types::{ProposedValue, SignedConsensusMsg};

/// Decodes as `T`; if accepted, re-encoding is a fixed point: encode(decode(encode(v))) ==
/// encode(v). (Not byte-identical to the input: bincode accepts what the node normalises, e.g.
/// certificate signatures are sorted.)
fn check<T>(bytes: &[u8])
where
    LedgerCodec: Codec<T>,
{
    let Ok(v) = Codec::<T>::decode(&LedgerCodec, Bytes::copy_from_slice(bytes)) else {
        return;
    };
    let Ok(once) = Codec::<T>::encode(&LedgerCodec, &v) else {
        return;
    };
    let back = Codec::<T>::decode(&LedgerCodec, once.clone())
        .unwrap_or_else(|_| panic!("re-encoded message does not decode"));
    let twice = Codec::<T>::encode(&LedgerCodec, &back)
        .unwrap_or_else(|_| panic!("decoded message does not re-encode"));
    assert_eq!(once, twice, "encode/decode is not a fixed point");
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    match kind % 12 {
        0 => check::<ProposalPart>(rest),
        1 => check::<SignedConsensusMsg<LedgerContext>>(rest),
        2 => check::<StreamMessage<ProposalPart>>(rest),
        3 => check::<LivenessMsg<LedgerContext>>(rest),
        4 => check::<ValidatorProof<LedgerContext>>(rest),
        5 => check::<ProposedValue<LedgerContext>>(rest),
        6 => check::<PolkaCertificate<LedgerContext>>(rest),
        7 => check::<Status<LedgerContext>>(rest),
        8 => check::<Request<LedgerContext>>(rest),
        9 => check::<Response<LedgerContext>>(rest),
        10 => {
            if let Ok(b) = codec::decode::<Block>(rest) {
                let again = codec::encode(&b).unwrap_or_else(|_| panic!("block re-encode"));
                assert_eq!(again, rest, "non-canonical block accepted");
            }
        }
        _ => {
            if let Ok(c) = codec::decode::<StoredCertificate>(rest) {
                let again = codec::encode(&c).unwrap_or_else(|_| panic!("certificate re-encode"));
                assert_eq!(again, rest, "non-canonical certificate accepted");
                let _ = c.to_commit();
            }
        }
    }
});
