//! The seam between consensus and the ledger state machine.
//!
//! Consensus treats entries as opaque signed bytes. [`Executor`] is what the node asks of the
//! ledger: is this entry valid now, and what are the log and state roots after a block.
//!
//! [`DevLedger`] is the node's own interim implementation, used until
//! `certledger_core::ledger::Ledger` lands: an entry is
//! `0x01 || signer_key(32) || payload_len(u32 BE) || payload || signature(64)`, signed under
//! `ns::ENTRY` over `chain_id_len(u8) || chain_id || payload`; the signer must be a department of
//! genesis. The log is an RFC 9162 Merkle tree over the entry bytes; the state root commits to
//! the set of entry ids (SHA-256 over the sorted ids). Swapping in core's `Ledger` replaces this
//! file only.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use certledger_core::sig::{ns, PublicKey, SecretKey, Signature};
use sha2::{Digest, Sha256};

/// Largest entry accepted, in bytes.
pub const MAX_ENTRY_BYTES: usize = 16 * 1024;
/// Largest payload inside an entry.
pub const MAX_PAYLOAD_BYTES: usize = MAX_ENTRY_BYTES - 1 - 32 - 4 - 64;

/// An entry id: SHA-256 of the entry bytes.
pub type EntryId = [u8; 32];

/// Why an entry was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// The bytes are not a well-formed entry.
    #[error("malformed entry: {0}")]
    Malformed(&'static str),
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// The signer is not an authorised department.
    #[error("signer is not an authorised department")]
    Unauthorised,
    /// The entry is already in the log.
    #[error("duplicate entry")]
    Duplicate,
}

/// The roots after a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockOutcome {
    /// Log size after the block.
    pub log_size: u64,
    /// RFC 9162 root after the block.
    pub log_root: [u8; 32],
    /// State root after the block.
    pub state_root: [u8; 32],
}

/// What the node needs from the ledger state machine.
pub trait Executor: Send + Sync {
    /// Checks one entry against the current state; returns its id.
    fn validate_entry(&self, bytes: &[u8]) -> Result<EntryId, EntryError>;
    /// Applies a block; on error nothing changes.
    fn apply_block(&mut self, height: u64, time: u64, entries: &[Vec<u8>]) -> Result<BlockOutcome, EntryError>;
    /// What `apply_block` would return, without changing anything.
    fn dry_run(&self, height: u64, time: u64, entries: &[Vec<u8>]) -> Result<BlockOutcome, EntryError>;
    /// The current roots.
    fn outcome(&self) -> BlockOutcome;
    /// RFC 9162 inclusion proof of leaf `index` in the tree of `size`.
    fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<[u8; 32]>>;
    /// RFC 9162 consistency proof between sizes.
    fn consistency_proof(&self, old: u64, new: u64) -> Option<Vec<[u8; 32]>>;
    /// Whether `key` (an entry id) is in the state, with the height it was committed at.
    fn state_lookup(&self, key: &EntryId) -> Option<bool>;
}

/// Parsed entry fields.
pub struct ParsedEntry<'a> {
    /// The signer.
    pub signer: PublicKey,
    /// The payload.
    pub payload: &'a [u8],
    /// The signature.
    pub signature: Signature,
}

/// Parses an entry without checking the signature.
pub fn parse_entry(bytes: &[u8]) -> Result<ParsedEntry<'_>, EntryError> {
    if bytes.len() > MAX_ENTRY_BYTES {
        return Err(EntryError::Malformed("entry too large"));
    }
    let (version, rest) = bytes.split_first().ok_or(EntryError::Malformed("empty"))?;
    if *version != 1 {
        return Err(EntryError::Malformed("unknown version"));
    }
    let (key, rest) = rest.split_at_checked(32).ok_or(EntryError::Malformed("short key"))?;
    let (len, rest) = rest.split_at_checked(4).ok_or(EntryError::Malformed("short length"))?;
    let len = u32::from_be_bytes(len.try_into().map_err(|_| EntryError::Malformed("length"))?);
    let len = usize::try_from(len).map_err(|_| EntryError::Malformed("length"))?;
    let (payload, rest) = rest.split_at_checked(len).ok_or(EntryError::Malformed("short payload"))?;
    let sig: [u8; 64] = rest.try_into().map_err(|_| EntryError::Malformed("signature length"))?;
    let key: [u8; 32] = key.try_into().map_err(|_| EntryError::Malformed("key"))?;
    Ok(ParsedEntry { signer: PublicKey(key), payload, signature: Signature(sig) })
}

fn entry_sign_bytes(chain_id: &str, payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(1 + chain_id.len() + payload.len());
    m.push(u8::try_from(chain_id.len()).unwrap_or(u8::MAX));
    m.extend_from_slice(chain_id.as_bytes());
    m.extend_from_slice(payload);
    m
}

/// Builds a signed entry (for clients, tests and the CLI).
pub fn make_entry(chain_id: &str, key: &SecretKey, payload: &[u8]) -> Vec<u8> {
    let sig = key.sign(ns::ENTRY, &entry_sign_bytes(chain_id, payload));
    let mut out = Vec::with_capacity(1 + 32 + 4 + payload.len() + 64);
    out.push(1);
    out.extend_from_slice(&key.public_key().0);
    out.extend_from_slice(&u32::try_from(payload.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&sig.0);
    out
}

/// The id of an entry.
pub fn entry_id(bytes: &[u8]) -> EntryId {
    Sha256::digest(bytes).into()
}

/// RFC 9162 leaf hash.
pub fn leaf_hash(bytes: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(bytes);
    h.finalize().into()
}

fn node_hash(l: &[u8; 32], r: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}

fn split_point(n: usize) -> usize {
    // Largest power of two strictly below n (n >= 2).
    let mut k = 1usize;
    while k.saturating_mul(2) < n {
        k *= 2;
    }
    k
}

/// RFC 9162 `MTH` over leaf hashes.
pub fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves {
        [] => Sha256::digest([]).into(),
        [one] => *one,
        _ => {
            let k = split_point(leaves.len());
            let (l, r) = leaves.split_at(k);
            node_hash(&mth(l), &mth(r))
        }
    }
}

fn inclusion_path(m: usize, leaves: &[[u8; 32]], out: &mut Vec<[u8; 32]>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split_point(leaves.len());
    let (l, r) = leaves.split_at(k);
    if m < k {
        inclusion_path(m, l, out);
        out.push(mth(r));
    } else {
        inclusion_path(m - k, r, out);
        out.push(mth(l));
    }
}

fn subproof(m: usize, leaves: &[[u8; 32]], complete: bool, out: &mut Vec<[u8; 32]>) {
    let n = leaves.len();
    if m == n {
        if !complete {
            out.push(mth(leaves));
        }
        return;
    }
    let k = split_point(n);
    let (l, r) = leaves.split_at(k);
    if m <= k {
        subproof(m, l, complete, out);
        out.push(mth(r));
    } else {
        subproof(m - k, r, false, out);
        out.push(mth(l));
    }
}

/// Most entry ids remembered as signature-checked.
const SIG_CACHE_MAX: usize = 200_000;

/// Stateless entry checks (format, authorised signer, signature) that can run outside the node
/// lock. Ids whose signature verified are remembered, so re-validating the same entry inside a
/// block costs no second signature check.
#[derive(Clone, Debug)]
pub struct EntryPrecheck {
    chain_id: String,
    departments: Arc<BTreeSet<PublicKey>>,
    verified: Arc<Mutex<BTreeSet<EntryId>>>,
}

impl EntryPrecheck {
    /// Checks format, signer and signature; returns the entry id.
    pub fn check(&self, bytes: &[u8]) -> Result<EntryId, EntryError> {
        let e = parse_entry(bytes)?;
        if !self.departments.contains(&e.signer) {
            return Err(EntryError::Unauthorised);
        }
        let id = entry_id(bytes);
        let cached = self.verified.lock().map(|c| c.contains(&id)).unwrap_or(false);
        if !cached {
            e.signer
                .verify(ns::ENTRY, &entry_sign_bytes(&self.chain_id, e.payload), &e.signature)
                .map_err(|_| EntryError::BadSignature)?;
            if let Ok(mut c) = self.verified.lock() {
                if c.len() >= SIG_CACHE_MAX {
                    c.clear();
                }
                c.insert(id);
            }
        }
        Ok(id)
    }
}

/// The interim ledger (see the module docs).
#[derive(Clone, Debug)]
pub struct DevLedger {
    precheck: EntryPrecheck,
    leaves: Vec<[u8; 32]>,
    ids: BTreeSet<EntryId>,
    state_root: [u8; 32],
}

impl DevLedger {
    /// An empty ledger for `chain_id` with the authorised department keys.
    pub fn new(chain_id: &str, departments: impl IntoIterator<Item = PublicKey>) -> Self {
        let mut s = Self {
            precheck: EntryPrecheck {
                chain_id: chain_id.to_owned(),
                departments: Arc::new(departments.into_iter().collect()),
                verified: Arc::new(Mutex::new(BTreeSet::new())),
            },
            leaves: Vec::new(),
            ids: BTreeSet::new(),
            state_root: [0; 32],
        };
        s.state_root = s.compute_state_root();
        s
    }

    fn compute_state_root(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"certledger/dev-state");
        for id in &self.ids {
            h.update(id);
        }
        h.finalize().into()
    }

    /// The stateless checker sharing this ledger's signature cache.
    pub fn precheck(&self) -> EntryPrecheck {
        self.precheck.clone()
    }

    fn check(&self, bytes: &[u8], extra: &BTreeSet<EntryId>) -> Result<EntryId, EntryError> {
        let id = self.precheck.check(bytes)?;
        if self.ids.contains(&id) || extra.contains(&id) {
            return Err(EntryError::Duplicate);
        }
        Ok(id)
    }
}

impl Executor for DevLedger {
    fn validate_entry(&self, bytes: &[u8]) -> Result<EntryId, EntryError> {
        self.check(bytes, &BTreeSet::new())
    }

    fn apply_block(&mut self, height: u64, time: u64, entries: &[Vec<u8>]) -> Result<BlockOutcome, EntryError> {
        let mut next = self.clone();
        let outcome = next.apply_in_place(height, time, entries)?;
        *self = next;
        Ok(outcome)
    }

    fn dry_run(&self, height: u64, time: u64, entries: &[Vec<u8>]) -> Result<BlockOutcome, EntryError> {
        self.clone().apply_in_place(height, time, entries)
    }

    fn outcome(&self) -> BlockOutcome {
        BlockOutcome {
            log_size: self.leaves.len() as u64,
            log_root: mth(&self.leaves),
            state_root: self.state_root,
        }
    }

    fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<[u8; 32]>> {
        let size = usize::try_from(size).ok()?;
        let index = usize::try_from(index).ok()?;
        if index >= size || size > self.leaves.len() {
            return None;
        }
        let mut out = Vec::new();
        inclusion_path(index, self.leaves.get(..size)?, &mut out);
        Some(out)
    }

    fn consistency_proof(&self, old: u64, new: u64) -> Option<Vec<[u8; 32]>> {
        let old = usize::try_from(old).ok()?;
        let new = usize::try_from(new).ok()?;
        if old == 0 || old > new || new > self.leaves.len() {
            return None;
        }
        let mut out = Vec::new();
        if old < new {
            subproof(old, self.leaves.get(..new)?, true, &mut out);
        }
        Some(out)
    }

    fn state_lookup(&self, key: &EntryId) -> Option<bool> {
        Some(self.ids.contains(key))
    }
}

impl DevLedger {
    fn apply_in_place(&mut self, _height: u64, _time: u64, entries: &[Vec<u8>]) -> Result<BlockOutcome, EntryError> {
        let mut seen = BTreeSet::new();
        for e in entries {
            let id = self.check(e, &seen)?;
            seen.insert(id);
        }
        for e in entries {
            self.leaves.push(leaf_hash(e));
        }
        self.ids.extend(seen);
        self.state_root = self.compute_state_root();
        Ok(self.outcome())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_validate_and_apply() {
        let k = SecretKey::from_seed(&[1; 32]);
        let other = SecretKey::from_seed(&[2; 32]);
        let mut l = DevLedger::new("c", [k.public_key()]);
        let e = make_entry("c", &k, b"hello");
        assert!(l.validate_entry(&e).is_ok());
        assert_eq!(l.validate_entry(&make_entry("c", &other, b"x")), Err(EntryError::Unauthorised));
        assert_eq!(l.validate_entry(&make_entry("d", &k, b"x")), Err(EntryError::BadSignature));
        assert!(matches!(l.validate_entry(b"\x01abc"), Err(EntryError::Malformed(_))));
        let out = l.apply_block(1, 0, std::slice::from_ref(&e)).expect("apply");
        assert_eq!(out.log_size, 1);
        assert_eq!(out.log_root, leaf_hash(&e));
        assert_eq!(l.validate_entry(&e), Err(EntryError::Duplicate));
        assert_eq!(l.apply_block(2, 0, &[e]), Err(EntryError::Duplicate));
        assert_eq!(l.outcome().log_size, 1);
    }

    #[test]
    fn merkle_proofs_verify() {
        let k = SecretKey::from_seed(&[1; 32]);
        let mut l = DevLedger::new("c", [k.public_key()]);
        let entries: Vec<Vec<u8>> = (0..7u8).map(|i| make_entry("c", &k, &[i])).collect();
        l.apply_block(1, 0, &entries).expect("apply");
        // Recompute the root from each inclusion path (RFC 9162 section 2.1.3.2).
        for i in 0..7u64 {
            let path = l.inclusion_proof(i, 7).expect("proof");
            let (mut fn_, mut sn) = (i, 6u64);
            let idx = usize::try_from(i).expect("small");
            let mut r = leaf_hash(&entries[idx]);
            for p in &path {
                if fn_ & 1 == 1 || fn_ == sn {
                    r = node_hash(p, &r);
                    while fn_ & 1 == 0 && fn_ != 0 {
                        fn_ >>= 1;
                        sn >>= 1;
                    }
                } else {
                    r = node_hash(&r, p);
                }
                fn_ >>= 1;
                sn >>= 1;
            }
            assert_eq!(r, l.outcome().log_root, "leaf {i}");
        }
        assert!(l.consistency_proof(3, 7).is_some_and(|p| !p.is_empty()));
        assert!(l.inclusion_proof(7, 7).is_none());
    }
}
