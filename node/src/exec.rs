//! The seam between consensus and the ledger state machine.
//!
//! Consensus treats entries as opaque signed bytes. [`Executor`] is what the node asks of the
//! ledger: is this entry valid now, and what are the log and state roots after a block.
//! [`CoreLedger`] implements it with `certledger_core::ledger::Ledger` (entries are canonical
//! `SignedEntry` bytes; the log is core's RFC 9162 `MerkleLog`; the state is core's sparse
//! Merkle tree).

use certledger_core::codec::Encode as _;
use certledger_core::ledger::{self, Ledger, SignedEntry};

/// Largest entry accepted, in bytes.
pub const MAX_ENTRY_BYTES: usize = ledger::MAX_ENTRY_BYTES;

/// An entry id (core's `SignedEntry::id`, over the body only).
pub type EntryId = [u8; 32];

/// Why an entry was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// The bytes are not a canonical `SignedEntry`.
    #[error("malformed entry: {0}")]
    Malformed(&'static str),
    /// The ledger refused the entry.
    #[error(transparent)]
    Ledger(#[from] ledger::EntryError),
    /// The entry kind is valid but this node version cannot commit it yet.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
}

fn supported(e: &SignedEntry) -> Result<(), EntryError> {
    if matches!(e.body, ledger::EntryBody::ChangeValidators(_)) {
        return Err(EntryError::Unsupported(
            "validator-set changes need per-height validator sets in consensus",
        ));
    }
    Ok(())
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
    /// Whether the block changes the next height's validator set.
    pub validators_changed: bool,
}

/// What the node needs from the ledger state machine.
pub trait Executor: Send + Sync {
    /// Checks one entry against the current state, as part of a block at time `now`.
    fn validate_entry(&self, bytes: &[u8], now: u64) -> Result<EntryId, EntryError>;
    /// Applies a block; on error nothing changes.
    fn apply_block(
        &mut self,
        height: u64,
        time: u64,
        entries: &[Vec<u8>],
    ) -> Result<BlockOutcome, EntryError>;
    /// What `apply_block` would return, without changing anything.
    fn dry_run(
        &self,
        height: u64,
        time: u64,
        entries: &[Vec<u8>],
    ) -> Result<BlockOutcome, EntryError>;
    /// The current roots.
    fn outcome(&self) -> BlockOutcome;
    /// Time of the last applied block.
    fn time(&self) -> u64;
    /// RFC 9162 inclusion path of leaf `index` in the tree of `size`.
    fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<[u8; 32]>>;
    /// RFC 9162 consistency path between sizes.
    fn consistency_proof(&self, old: u64, new: u64) -> Option<Vec<[u8; 32]>>;
    /// The value of a state key and its canonical proof bytes under the current state root.
    fn state_proof(&self, key: &[u8; 32]) -> Option<(Option<Vec<u8>>, Vec<u8>)>;
}

/// Decodes canonical entry bytes and checks the signature (no state needed, so it runs outside
/// the node lock); returns the entry and its id.
pub fn precheck(bytes: &[u8], chain_id: &str) -> Result<(SignedEntry, EntryId), EntryError> {
    let e = decode_entry(bytes)?;
    supported(&e)?;
    e.verify_signature(chain_id)
        .map_err(|_| EntryError::Ledger(ledger::EntryError::BadSignature))?;
    let id = e.id();
    Ok((e, id))
}

/// Decodes canonical entry bytes.
pub fn decode_entry(bytes: &[u8]) -> Result<SignedEntry, EntryError> {
    SignedEntry::from_bytes_checked(bytes)
        .map_err(|_| EntryError::Malformed("not a canonical signed entry"))
}

/// The id of entry bytes, if they decode.
pub fn entry_id(bytes: &[u8]) -> Option<EntryId> {
    decode_entry(bytes).ok().map(|e| e.id())
}

/// The ledger of `certledger_core`.
#[derive(Clone, Debug)]
pub struct CoreLedger {
    ledger: Ledger,
}

impl CoreLedger {
    /// The ledger at genesis.
    pub fn new(genesis: &ledger::Genesis) -> Result<Self, EntryError> {
        Ok(Self { ledger: Ledger::from_genesis(genesis)? })
    }

    fn decode_all(entries: &[Vec<u8>]) -> Result<Vec<SignedEntry>, EntryError> {
        entries.iter().map(|b| decode_entry(b)).collect()
    }

    /// The underlying ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }
}

fn outcome_of(o: ledger::BlockOutcome) -> BlockOutcome {
    BlockOutcome {
        log_size: o.log_size,
        log_root: o.log_root,
        state_root: o.state_root,
        validators_changed: o.validators_changed,
    }
}

impl Executor for CoreLedger {
    fn validate_entry(&self, bytes: &[u8], now: u64) -> Result<EntryId, EntryError> {
        let e = decode_entry(bytes)?;
        supported(&e)?;
        self.ledger.validate(&e, now.max(self.ledger.time()))?;
        Ok(e.id())
    }

    fn apply_block(
        &mut self,
        height: u64,
        time: u64,
        entries: &[Vec<u8>],
    ) -> Result<BlockOutcome, EntryError> {
        let decoded = Self::decode_all(entries)?;
        Ok(outcome_of(self.ledger.apply_block(height, time, &decoded)?))
    }

    fn dry_run(
        &self,
        height: u64,
        time: u64,
        entries: &[Vec<u8>],
    ) -> Result<BlockOutcome, EntryError> {
        let decoded = Self::decode_all(entries)?;
        Ok(outcome_of(self.ledger.clone().apply_block(height, time, &decoded)?))
    }

    fn outcome(&self) -> BlockOutcome {
        BlockOutcome {
            log_size: self.ledger.log_size(),
            log_root: self.ledger.log_root(),
            state_root: self.ledger.state_root(),
            validators_changed: false,
        }
    }

    fn time(&self) -> u64 {
        self.ledger.time()
    }

    fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<[u8; 32]>> {
        self.ledger.inclusion_proof(index, size).ok().map(|p| p.path)
    }

    fn consistency_proof(&self, old: u64, new: u64) -> Option<Vec<[u8; 32]>> {
        self.ledger.consistency_proof(old, new).ok().map(|p| p.path)
    }

    fn state_proof(&self, key: &[u8; 32]) -> Option<(Option<Vec<u8>>, Vec<u8>)> {
        let value = self.ledger.state_value(key).ok()?;
        let proof = self.ledger.prove_state(key).ok()?;
        Some((value, proof.to_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use certledger_core::ledger::{Department, EntryBody, Genesis, RegisterType};
    use certledger_core::sig::SecretKey;

    use super::*;

    fn genesis(admin: &SecretKey) -> Genesis {
        Genesis {
            chain_id: "c".into(),
            genesis_time: 0,
            departments: vec![Department {
                id: "education".into(),
                name_zh: "教育部".into(),
                name_en: "Ministry of Education".into(),
                node_key: SecretKey::from_seed(&[3; 32]).public_key(),
                admin_keys: vec![admin.public_key()],
            }],
        }
    }

    fn register_type(key: &SecretKey, id: &str) -> Vec<u8> {
        SignedEntry::sign(
            key,
            "c",
            EntryBody::RegisterType(RegisterType {
                type_id: id.into(),
                name_zh: "类型".into(),
                name_en: "Type".into(),
                claims: vec![],
                validity_s: 3600,
                holder_binding: false,
            }),
        )
        .to_bytes()
    }

    #[test]
    fn entries_validate_apply_and_prove() {
        let admin = SecretKey::from_seed(&[1; 32]);
        let mut l = CoreLedger::new(&genesis(&admin)).expect("genesis");
        let e = register_type(&admin, "diploma");
        assert!(l.validate_entry(&e, 10).is_ok());
        assert!(precheck(&e, "c").is_ok());
        let outsider = register_type(&SecretKey::from_seed(&[2; 32]), "x");
        assert!(matches!(l.validate_entry(&outsider, 10), Err(EntryError::Ledger(_))));
        assert!(matches!(
            precheck(&e, "d"),
            Err(EntryError::Ledger(ledger::EntryError::BadSignature))
        ));
        assert!(matches!(l.validate_entry(b"\x01abc", 10), Err(EntryError::Malformed(_))));
        let dry = l.dry_run(1, 10, std::slice::from_ref(&e)).expect("dry run");
        let out = l.apply_block(1, 10, std::slice::from_ref(&e)).expect("apply");
        assert_eq!(dry, out);
        assert_eq!(out.log_size, 1);
        assert!(!out.validators_changed);
        assert!(l.validate_entry(&e, 11).is_err());
        assert!(l.apply_block(2, 11, &[e]).is_err());
        assert_eq!(l.outcome().log_size, 1);
        assert!(l.inclusion_proof(0, 1).is_some());
        assert!(l.inclusion_proof(1, 1).is_none());
        let key = ledger::type_state_key("diploma");
        let (value, proof) = l.state_proof(&key).expect("proof");
        assert!(value.is_some());
        assert!(!proof.is_empty());
    }
}
