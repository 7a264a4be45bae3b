//! Durable storage behind [`Store`]: decided blocks with their commit certificates, the entry
//! index, and cosigned checkpoints. [`SledStore`] is the sled 0.34 implementation; a block, its
//! certificate and its entry-index rows are written in one sled transaction and flushed before
//! the decision is acknowledged to consensus.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use crate::codec::{self, StoredCertificate};
use crate::context::Block;
use crate::exec::entry_id;

/// Where a committed entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryLocation {
    /// Block height.
    pub height: u64,
    /// Index inside the block.
    pub index_in_block: u32,
    /// Leaf index in the log.
    pub log_index: u64,
}

/// A storage failure. Any failed write is fatal to the node.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// sled failed.
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    /// Stored bytes did not decode.
    #[error("corrupt record: {0}")]
    Codec(#[from] codec::CodecError),
    /// A write conflicted with the store's invariants.
    #[error("invariant: {0}")]
    Invariant(&'static str),
}

/// What the node keeps on disk.
pub trait Store: Send + Sync {
    /// Stores a decided block and its certificate (and indexes its entries) atomically.
    fn put_decided(&self, block: &Block, cert: &StoredCertificate) -> Result<(), StoreError>;
    /// Replaces the certificate of a stored height (Finalized may carry more signatures).
    fn update_certificate(&self, cert: &StoredCertificate) -> Result<(), StoreError>;
    /// The block at `height`.
    fn block(&self, height: u64) -> Result<Option<Block>, StoreError>;
    /// The encoded block at `height`.
    fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError>;
    /// The certificate at `height`.
    fn certificate(&self, height: u64) -> Result<Option<StoredCertificate>, StoreError>;
    /// The highest stored height.
    fn max_height(&self) -> Result<Option<u64>, StoreError>;
    /// The lowest stored height.
    fn min_height(&self) -> Result<Option<u64>, StoreError>;
    /// Where a committed entry is.
    fn entry_location(&self, id: &[u8; 32]) -> Result<Option<EntryLocation>, StoreError>;
    /// Stores the cosigned checkpoint note of `height`.
    fn put_checkpoint(&self, height: u64, note: &str) -> Result<(), StoreError>;
    /// The cosigned checkpoint note of `height`.
    fn checkpoint(&self, height: u64) -> Result<Option<String>, StoreError>;
    /// The highest height with a stored cosigned checkpoint.
    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError>;
}

/// The sled store.
#[derive(Clone, Debug)]
pub struct SledStore {
    db: sled::Db,
    blocks: sled::Tree,
    certs: sled::Tree,
    entries: sled::Tree,
    checkpoints: sled::Tree,
}

impl SledStore {
    /// Opens (or creates) the store under `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new().path(dir).open()?;
        Ok(Self {
            blocks: db.open_tree("blocks")?,
            certs: db.open_tree("certs")?,
            entries: db.open_tree("entries")?,
            checkpoints: db.open_tree("checkpoints")?,
            db,
        })
    }
}

fn key(h: u64) -> [u8; 8] {
    h.to_be_bytes()
}

fn height_of(k: &[u8]) -> Result<u64, StoreError> {
    <[u8; 8]>::try_from(k).map(u64::from_be_bytes).map_err(|_| StoreError::Invariant("height key"))
}

impl Store for SledStore {
    fn put_decided(&self, block: &Block, cert: &StoredCertificate) -> Result<(), StoreError> {
        if cert.height != block.header.height || cert.value_id != block.header.hash().0 {
            return Err(StoreError::Invariant("certificate does not match block"));
        }
        let h = block.header.height;
        let block_bytes = codec::encode(block)?;
        let cert_bytes = codec::encode(cert)?;
        let n = block.entries.len() as u64;
        let first_log_index = block
            .header
            .log_size
            .checked_sub(n)
            .ok_or(StoreError::Invariant("log size below entry count"))?;
        let mut rows = Vec::with_capacity(block.entries.len());
        for (i, e) in block.entries.iter().enumerate() {
            let loc = EntryLocation {
                height: h,
                index_in_block: u32::try_from(i).map_err(|_| StoreError::Invariant("index"))?,
                log_index: first_log_index + i as u64,
            };
            let id =
                entry_id(e).ok_or(StoreError::Invariant("undecodable entry in a decided block"))?;
            rows.push((id, codec::encode(&loc)?));
        }
        let res: Result<(), TransactionError<()>> = (&self.blocks, &self.certs, &self.entries)
            .transaction(|(b, c, e)| {
                b.insert(&key(h), block_bytes.as_slice())?;
                c.insert(&key(h), cert_bytes.as_slice())?;
                for (id, loc) in &rows {
                    e.insert(id.as_slice(), loc.as_slice())?;
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            });
        match res {
            Ok(()) => {}
            Err(TransactionError::Storage(e)) => return Err(e.into()),
            Err(TransactionError::Abort(())) => return Err(StoreError::Invariant("aborted")),
        }
        self.db.flush()?;
        Ok(())
    }

    fn update_certificate(&self, cert: &StoredCertificate) -> Result<(), StoreError> {
        self.certs.insert(key(cert.height), codec::encode(cert)?)?;
        self.db.flush()?;
        Ok(())
    }

    fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        match self.blocks.get(key(height))? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.blocks.get(key(height))?.map(|v| v.to_vec()))
    }

    fn certificate(&self, height: u64) -> Result<Option<StoredCertificate>, StoreError> {
        match self.certs.get(key(height))? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    fn max_height(&self) -> Result<Option<u64>, StoreError> {
        match self.blocks.last()? {
            Some((k, _)) => Ok(Some(height_of(&k)?)),
            None => Ok(None),
        }
    }

    fn min_height(&self) -> Result<Option<u64>, StoreError> {
        match self.blocks.first()? {
            Some((k, _)) => Ok(Some(height_of(&k)?)),
            None => Ok(None),
        }
    }

    fn entry_location(&self, id: &[u8; 32]) -> Result<Option<EntryLocation>, StoreError> {
        match self.entries.get(id)? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    fn put_checkpoint(&self, height: u64, note: &str) -> Result<(), StoreError> {
        self.checkpoints.insert(key(height), note.as_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    fn checkpoint(&self, height: u64) -> Result<Option<String>, StoreError> {
        Ok(self.checkpoints.get(key(height))?.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        match self.checkpoints.last()? {
            Some((k, v)) => Ok(Some((height_of(&k)?, String::from_utf8_lossy(&v).into_owned()))),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use certledger_core::codec::Encode as _;
    use certledger_core::ledger::{EntryBody, RegisterType, SignedEntry};
    use certledger_core::sig::SecretKey;

    use super::*;
    use crate::context::BlockHeader;

    fn entry(n: u8) -> Vec<u8> {
        SignedEntry::sign(
            &SecretKey::from_seed(&[n; 32]),
            "c",
            EntryBody::RegisterType(RegisterType {
                type_id: format!("t{n}"),
                name_zh: "类".into(),
                name_en: "T".into(),
                claims: vec![],
                validity_s: 1,
                holder_binding: false,
            }),
        )
        .to_bytes()
    }

    fn block(height: u64, entries: Vec<Vec<u8>>, log_size: u64) -> Block {
        Block {
            header: BlockHeader {
                chain_id: "c".into(),
                height,
                prev_block_hash: [0; 32],
                time: 1,
                proposer: [1; 32],
                entries_root: [2; 32],
                log_size,
                log_root: [3; 32],
                state_root: [4; 32],
                validators_hash: [5; 32],
                next_validators_hash: [5; 32],
            },
            entries,
        }
    }

    fn cert(b: &Block) -> StoredCertificate {
        StoredCertificate {
            height: b.header.height,
            round: 0,
            value_id: b.header.hash().0,
            signatures: vec![([1; 32], vec![2; 64])],
        }
    }

    #[test]
    fn blocks_certificates_and_entry_index_survive_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let b1 = block(1, vec![entry(1), entry(2)], 2);
        let b2 = block(2, vec![entry(3)], 3);
        {
            let s = SledStore::open(dir.path()).expect("open");
            s.put_decided(&b1, &cert(&b1)).expect("put");
            s.put_decided(&b2, &cert(&b2)).expect("put");
            // A certificate for another block is refused.
            assert!(s.put_decided(&b2, &cert(&b1)).is_err());
            s.put_checkpoint(2, "note").expect("checkpoint");
        }
        let s = SledStore::open(dir.path()).expect("reopen");
        assert_eq!(s.max_height().expect("max"), Some(2));
        assert_eq!(s.min_height().expect("min"), Some(1));
        assert_eq!(s.block(1).expect("get"), Some(b1.clone()));
        assert_eq!(s.certificate(2).expect("get"), Some(cert(&b2)));
        let id = crate::exec::entry_id(&entry(3)).expect("id");
        let loc = s.entry_location(&id).expect("loc").expect("present");
        assert_eq!((loc.height, loc.index_in_block, loc.log_index), (2, 0, 2));
        let id = crate::exec::entry_id(&entry(2)).expect("id");
        assert_eq!(s.entry_location(&id).expect("loc").map(|l| l.log_index), Some(1));
        assert_eq!(s.latest_checkpoint().expect("cp"), Some((2, "note".into())));
        assert_eq!(s.block(3).expect("get"), None);
    }
}
