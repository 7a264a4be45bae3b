//! The department tools: clients of a node's HTTP API ([`client`]) that build and sign entries locally
//! ([`issuer`], [`issuer_cli`], [`batch`], [`types_cli`], [`verifier_cli`], [`governance`],
//! [`audit`]), and the devnet, demo and benchmark drivers ([`devnet`], [`demo`], [`mod@bench`]).

pub mod audit;
pub mod batch;
pub mod bench;
pub mod client;
pub mod demo;
pub mod devnet;
pub mod evidence_cli;
pub mod failure;
pub mod format;
pub mod governance;
pub mod issuer;
pub mod issuer_cli;
pub mod scale;
pub mod types_cli;
pub mod vc_api;
pub mod verifier_cli;
