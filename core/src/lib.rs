//! # certledger-core
//!
//! The sans-io heart of certledger: every format, canonical encoding, signature rule, Merkle
//! proof and verification step that the department node, the citizen wallet and the browser
//! verifier share. Nothing here does I/O, reads a clock or draws OS randomness: time is a
//! parameter (`now` in Unix seconds) and randomness is a `rand_core::CryptoRngCore` argument, so
//! the same code runs natively and in `wasm32-unknown-unknown`.
//!
//! Map of the crate:
//! - [`evidence`]: equivocation evidence (two conflicting checkpoints signed by one department).
//! - [`sig`]: Ed25519 with one acceptance rule (`verify_strict`) and signature namespaces.
//! - [`codec`]: the canonical binary encoding of ledger objects.
//! - [`merkle`]: the RFC 9162 Merkle log (tree heads, inclusion and consistency proofs).
//! - [`note`]: C2SP signed notes and tlog checkpoints with a k-of-n quorum rule.
//! - [`smt`]: the sparse Merkle tree that commits credential status and registries.
//! - [`ledger`]: ledger entries, registry records and the deterministic state machine.
//! - [`jcs`], [`sdjwt`], [`vcdi`], [`w3c`], [`didkey`]: credential formats (RFC 8785, RFC 9901 SD-JWT VC
//!   with key binding, W3C VC 2.0 `eddsa-jcs-2022`, `did:key`).
//! - [`issuance`]: issuing an SD-JWT VC and the salted commitment its anchor carries.
//! - [`profiles`]: the shipped credential types with Chinese and English display text.
//! - [`request`]: the presentation request a verifier shows (QR) and a wallet answers.
//! - [`qrparts`]: the multi-part QR format `CLBQ1` a long bundle text is shown in.
//! - [`registry`]: registry lookups (state proofs) checked against a trust root.
//! - [`api`]: the request and response bodies of the node's HTTP API, shared by server and clients.
//! - [`bundle`] and [`verify`]: the presentation bundle a citizen hands over, and the one
//!   verification pipeline that decides it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod bundle;
pub mod codec;
pub mod credential_file;
pub mod datetime;
pub mod didkey;
pub mod evidence;
pub mod issuance;
pub mod jcs;
pub mod keyseal;
pub mod ledger;
pub mod ledger_store;
pub mod lightclient;
pub mod merkle;
pub mod note;
pub mod profiles;
pub mod pseudonym;
pub mod qrparts;
pub mod qrscan;
pub mod registry;
pub mod request;
pub mod sdjwt;
pub mod sig;
pub mod smt;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod vcdi;
pub mod verify;
pub mod w3c;
