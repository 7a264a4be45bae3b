//! # certledger-node
//!
//! A department node and the department tools, in one crate and one binary:
//! - [`server`]: Malachite BFT consensus over libp2p, the mempool, checkpoint cosigning, ledger
//!   execution, sled storage and the HTTP JSON API. Entries are opaque signed bytes to
//!   consensus; the ledger state machine decides what is valid.
//! - [`tools`]: the department's clients of that API (issuer, types, governance, audit) and the
//!   devnet, demo and benchmark drivers.
//! - [`cli`]: the command line of both; [`logging`]: text or JSON logs; [`config`], [`ids`] and
//!   [`signal`]: what both share.
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod ids;
pub mod keyfile;
pub mod logging;
pub mod server;
pub mod signal;
pub mod tools;
