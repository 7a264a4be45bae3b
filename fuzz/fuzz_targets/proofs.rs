//! Proofs: the bundle's proof set, RFC 9162 inclusion and consistency proofs, sparse Merkle
//! proofs and nodes, and the light client's governance trust and validator chain.
#![no_main]

use certledger_core::bundle::Proofs;
use certledger_core::codec::Encode;
use certledger_core::lightclient::{ChainHead, ChainStep, GovernanceTrust, ValidatorChain};
use certledger_core::merkle::{ConsistencyProof, InclusionProof};
use certledger_core::smt::{Node, SmtProof};
use certledger_fuzz::canonical;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Proofs::decode_bytes(data) {
        assert_eq!(p.to_bytes(), data, "non-canonical proofs accepted");
    }
    canonical::<Proofs>(data);
    canonical::<InclusionProof>(data);
    canonical::<ConsistencyProof>(data);
    canonical::<SmtProof>(data);
    canonical::<Node>(data);
    canonical::<ChainStep>(data);
    canonical::<ChainHead>(data);
    canonical::<ValidatorChain>(data);
    canonical::<GovernanceTrust>(data);
    if let Ok(g) = GovernanceTrust::from_bytes_checked(data) {
        assert_eq!(g.to_bytes(), data);
    }
    if let Ok(c) = ValidatorChain::from_bytes_checked(data) {
        assert_eq!(c.to_bytes(), data);
    }
});
