//! # certledger-node
//!
//! A department node: Malachite BFT consensus over libp2p, sled storage, the HTTP JSON API and
//! the devnet launcher. Entries are opaque signed bytes to consensus; the ledger state machine
//! decides what is valid.
#![forbid(unsafe_code)]

pub mod audit;
pub mod batch;
pub mod bench;
pub mod codec;
pub mod config;
pub mod context;
pub mod demo;
pub mod exec;
pub mod forward;
pub mod governance;
pub mod http;
pub mod issuer;
pub mod issuer_cli;
pub mod node;
pub mod proofs;
pub mod store;
pub mod web;
