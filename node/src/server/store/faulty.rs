//! [`FaultyStore`]: a [`Store`] wrapper that injects the storage faults of a
//! [`FaultPlan`] (feature `fault-injection` only, `specs/faults.md`). Reads pass through.
//!
//! Write faults: from the plan's height on, `put_decided`, `update_certificate`,
//! `put_checkpoint` and `put_evidence` fail with the `sled::Error::Io` sled would return (an
//! I/O error, or `StorageFull` for a full disk); once tripped, every later write fails too, as
//! a full disk stays full. Failpoints: [`Failpoint::BeforeTransaction`] before the inner
//! `put_decided`, [`Failpoint::AfterFlush`] after it returned (the block is on disk, the ledger
//! has not adopted it); [`Failpoint::AfterTransaction`] sits inside [`super::SledStore`]
//! between its transaction and its flush.
//!
//! 存储故障注入包装（仅测试构建）。

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use certledger_core::ledger_store::LedgerChanges;

use super::{
    AuditRow, EntryLocation, EvidencePut, IssuerIndex, StatRow, Store, StoreError, StoredEvidence,
};
use crate::server::codec::StoredCertificate;
use crate::server::context::Block;
use crate::server::faults::{failpoint, Failpoint, FaultPlan, WriteFault};

/// A store that fails writes and aborts at failpoints as its plan says.
pub struct FaultyStore {
    inner: Arc<dyn Store>,
    write_fault: Option<(WriteFault, u64)>,
    tripped: AtomicBool,
}

impl FaultyStore {
    /// Wraps `inner` under `plan`.
    pub fn new(inner: Arc<dyn Store>, plan: &FaultPlan) -> Self {
        Self { inner, write_fault: plan.write_fault, tripped: AtomicBool::new(false) }
    }

    /// Fails a write of `height` (`None`: a write without a height) once the fault is due.
    fn check_write(&self, height: Option<u64>) -> Result<(), StoreError> {
        let Some((kind, from)) = self.write_fault else { return Ok(()) };
        if height.is_some_and(|h| h >= from) {
            self.tripped.store(true, Ordering::SeqCst);
        }
        if self.tripped.load(Ordering::SeqCst) {
            return Err(StoreError::Sled(sled::Error::Io(kind.io_error())));
        }
        Ok(())
    }
}

impl Store for FaultyStore {
    fn put_decided(
        &self,
        block: &Block,
        cert: &StoredCertificate,
        ledger: Option<&LedgerChanges>,
    ) -> Result<(), StoreError> {
        let h = block.header.height;
        self.check_write(Some(h))?;
        failpoint(Failpoint::BeforeTransaction, h);
        self.inner.put_decided(block, cert, ledger)?;
        failpoint(Failpoint::AfterFlush, h);
        Ok(())
    }
    fn governance_changes(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.inner.governance_changes()
    }
    fn update_certificate(&self, cert: &StoredCertificate) -> Result<(), StoreError> {
        self.check_write(Some(cert.height))?;
        self.inner.update_certificate(cert)
    }
    fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        self.inner.block(height)
    }
    fn block_bytes(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.block_bytes(height)
    }
    fn certificate(&self, height: u64) -> Result<Option<StoredCertificate>, StoreError> {
        self.inner.certificate(height)
    }
    fn max_height(&self) -> Result<Option<u64>, StoreError> {
        self.inner.max_height()
    }
    fn min_height(&self) -> Result<Option<u64>, StoreError> {
        self.inner.min_height()
    }
    fn entry_location(&self, id: &[u8; 32]) -> Result<Option<EntryLocation>, StoreError> {
        self.inner.entry_location(id)
    }
    fn put_checkpoint(&self, height: u64, note: &str) -> Result<(), StoreError> {
        self.check_write(Some(height))?;
        self.inner.put_checkpoint(height, note)
    }
    fn checkpoint(&self, height: u64) -> Result<Option<String>, StoreError> {
        self.inner.checkpoint(height)
    }
    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.inner.latest_checkpoint()
    }
    fn audit_department(
        &self,
        department: &str,
        from: u64,
        to: u64,
        after: Option<(u64, u64)>,
        limit: usize,
    ) -> Result<Vec<AuditRow>, StoreError> {
        self.inner.audit_department(department, from, to, after, limit)
    }
    fn audit_credential(
        &self,
        credential_id: &[u8; 32],
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditRow>, StoreError> {
        self.inner.audit_credential(credential_id, after, limit)
    }
    fn issuer_index(&self, issuer_key: &[u8; 32]) -> Result<Option<IssuerIndex>, StoreError> {
        self.inner.issuer_index(issuer_key)
    }
    fn audit_leaf(&self, log_index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.audit_leaf(log_index)
    }
    fn stats(&self) -> Result<Vec<StatRow>, StoreError> {
        self.inner.stats()
    }
    fn put_evidence(
        &self,
        id: &[u8; 32],
        department: &str,
        size: u64,
        bytes: &[u8],
    ) -> Result<EvidencePut, StoreError> {
        self.check_write(None)?;
        self.inner.put_evidence(id, department, size, bytes)
    }
    fn evidence(&self, id: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.evidence(id)
    }
    fn evidence_page(
        &self,
        after: Option<&[u8; 32]>,
        limit: usize,
    ) -> Result<Vec<StoredEvidence>, StoreError> {
        self.inner.evidence_page(after, limit)
    }
    fn evidence_count(&self) -> Result<u64, StoreError> {
        self.inner.evidence_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::SledStore;

    #[test]
    fn writes_fail_from_the_planned_height_on_and_stay_failed() {
        let dir = tempfile::tempdir().unwrap();
        let inner: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).unwrap());
        let plan = FaultPlan::parse("no_space=5").unwrap();
        let store = FaultyStore::new(inner.clone(), &plan);
        store.put_checkpoint(4, "note 4").unwrap();
        assert_eq!(inner.checkpoint(4).unwrap().as_deref(), Some("note 4"));
        let e = store.put_checkpoint(5, "note 5").unwrap_err();
        assert!(
            matches!(&e, StoreError::Sled(sled::Error::Io(io)) if io.kind() == std::io::ErrorKind::StorageFull),
            "{e}"
        );
        assert!(e.to_string().contains("no space left on device"), "{e}");
        // A full disk stays full: a lower height fails too now, and nothing was written.
        assert!(store.put_checkpoint(3, "note 3").is_err());
        assert!(store.put_evidence(&[1; 32], "d", 1, b"x").is_err());
        assert_eq!(inner.checkpoint(5).unwrap(), None);
        assert_eq!(inner.checkpoint(3).unwrap(), None);
        // Reads pass through.
        assert_eq!(store.checkpoint(4).unwrap().as_deref(), Some("note 4"));
    }
}
