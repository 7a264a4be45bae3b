//! The sled implementation of [`Store`]: opening, the block write (with its audit-index and
//! dashboard rows), and reads.

use std::collections::BTreeMap;
use std::path::Path;

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use certledger_core::codec::{Decode as _, Encode as _};
use certledger_core::ledger::{EntryBody, LogLeaf};
use certledger_core::ledger_store::LedgerChanges;

use crate::server::chain::changes_in;
use crate::server::codec::{self, StoredCertificate};
use crate::server::context::Block;
use crate::server::exec::{decode_entry, entry_id};

use super::*;

impl SledStore {
    /// The dashboard counter increments of a decided block: anchors by (issuer's department,
    /// type); status changes by the credential's anchoring department and type, read from its
    /// credential record in the committed state (or from an anchor earlier in the same block).
    fn stat_deltas(&self, block: &Block) -> Result<BTreeMap<Vec<u8>, u64>, StoreError> {
        use certledger_core::ledger::{credential_state_key, CredentialRecord, CredentialStatus};
        let mut out: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        let mut in_block: BTreeMap<[u8; 32], (String, String)> = BTreeMap::new();
        let mut new_issuers: BTreeMap<[u8; 32], String> = BTreeMap::new();
        for bytes in &block.entries {
            let entry = decode_entry(bytes)
                .map_err(|_| StoreError::Invariant("undecodable entry in a decided block"))?;
            match &entry.body {
                EntryBody::RegisterIssuer(b) => {
                    new_issuers.insert(b.issuer_key.0, b.department.clone());
                }
                EntryBody::AnchorIssuance(b) => {
                    let dept = match new_issuers.get(&entry.signer.0) {
                        Some(d) => Some(d.clone()),
                        None => self.issuer_index(&entry.signer.0)?.map(|i| i.department),
                    };
                    if let Some(dept) = dept {
                        *out.entry(stat_key(&dept, &b.type_id, StatKind::Issued)).or_default() += 1;
                        in_block.insert(b.credential_id, (dept, b.type_id.clone()));
                    }
                }
                EntryBody::ChangeStatus(b) => {
                    let kind = match b.status {
                        CredentialStatus::Revoked => StatKind::Revoked,
                        CredentialStatus::Suspended => StatKind::Suspended,
                        _ => StatKind::Reinstated,
                    };
                    let owner = match in_block.get(&b.credential_id) {
                        Some(o) => Some(o.clone()),
                        None => self
                            .smt_values
                            .get(credential_state_key(&b.credential_id))?
                            .and_then(|v| CredentialRecord::from_bytes(&v).ok())
                            .map(|r| (r.department, r.type_id)),
                    };
                    if let Some((dept, ty)) = owner {
                        *out.entry(stat_key(&dept, &ty, kind)).or_default() += 1;
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Opens (or creates) the store under `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with_cache(dir, DEFAULT_CACHE_BYTES)
    }

    /// Opens (or creates) the store under `dir` with a page cache of `cache_bytes`.
    pub fn open_with_cache(dir: &Path, cache_bytes: u64) -> Result<Self, StoreError> {
        let db = sled::Config::new().path(dir).cache_capacity(cache_bytes).open()?;
        let store = Self {
            blocks: db.open_tree("blocks")?,
            certs: db.open_tree("certs")?,
            entries: db.open_tree("entries")?,
            checkpoints: db.open_tree("checkpoints")?,
            issuers: db.open_tree("issuers")?,
            audit_dept: db.open_tree("audit_dept")?,
            audit_cred: db.open_tree("audit_cred")?,
            meta: db.open_tree("meta")?,
            smt_nodes: db.open_tree("smt_nodes")?,
            smt_values: db.open_tree("smt_values")?,
            old_values: db.open_tree("old_values")?,
            log_hashes: db.open_tree("log_hashes")?,
            stale: db.open_tree("stale")?,
            evidence: db.open_tree("evidence")?,
            evidence_slots: db.open_tree("evidence_slots")?,
            db,
        };
        store.backfill_audit_index()?;
        Ok(store)
    }

    /// Indexes blocks stored before the audit index existed (or by an older version).
    fn backfill_audit_index(&self) -> Result<(), StoreError> {
        let Some(max) = self.max_height()? else { return Ok(()) };
        let done = match self.meta.get(AUDIT_HEIGHT)? {
            Some(v) => height_of(&v)?,
            None => 0,
        };
        if done >= max {
            return Ok(());
        }
        let first = self.min_height()?.unwrap_or(1).max(done + 1);
        for h in first..=max {
            let Some(block) = self.block(h)? else { continue };
            let index = self.audit_rows(&block)?;
            let res: Result<(), TransactionError<()>> =
                (&self.issuers, &self.audit_dept, &self.audit_cred, &self.meta).transaction(
                    |(i, d, c, m)| {
                        index.write(i, d, c, m, h)?;
                        Ok::<(), ConflictableTransactionError<()>>(())
                    },
                );
            tx_result(res)?;
        }
        self.db.flush()?;
        Ok(())
    }

    /// The audit index rows of a block (issuer departments come from the index or from
    /// registrations earlier in the same block).
    fn audit_rows(&self, block: &Block) -> Result<AuditIndexRows, StoreError> {
        let h = block.header.height;
        let time = block.header.time;
        let first_log_index = block
            .header
            .log_size
            .checked_sub(block.entries.len() as u64)
            .ok_or(StoreError::Invariant("log size below entry count"))?;
        let mut out = AuditIndexRows::default();
        let mut new_issuers: Vec<([u8; 32], IssuerIndex)> = Vec::new();
        for (i, bytes) in block.entries.iter().enumerate() {
            let location = EntryLocation {
                height: h,
                index_in_block: u32::try_from(i).map_err(|_| StoreError::Invariant("index"))?,
                log_index: first_log_index + i as u64,
            };
            let entry = decode_entry(bytes)
                .map_err(|_| StoreError::Invariant("undecodable entry in a decided block"))?;
            let (kind, issuer_key, credential_id) = match &entry.body {
                EntryBody::RegisterIssuer(b) => {
                    let idx = IssuerIndex { department: b.department.clone(), location };
                    new_issuers.push((b.issuer_key.0, idx));
                    (AuditKind::RegisterIssuer, b.issuer_key.0, None)
                }
                EntryBody::RetireIssuer(b) => (AuditKind::RetireIssuer, b.issuer_key.0, None),
                EntryBody::CompromiseIssuer(b) => {
                    (AuditKind::CompromiseIssuer, b.issuer_key.0, None)
                }
                EntryBody::AnchorIssuance(b) => {
                    (AuditKind::AnchorIssuance, entry.signer.0, Some(b.credential_id))
                }
                EntryBody::ChangeStatus(b) => {
                    (AuditKind::ChangeStatus, entry.signer.0, Some(b.credential_id))
                }
                _ => continue,
            };
            let department = match new_issuers.iter().rev().find(|(k, _)| *k == issuer_key) {
                Some((_, idx)) => Some(idx.department.clone()),
                None => self.issuer_index(&issuer_key)?.map(|idx| idx.department),
            };
            out.leaves.push((location.log_index, LogLeaf { height: h, time, entry }.to_bytes()));
            let row = AuditRow { location, time, kind, credential_id, issuer_key };
            let row_bytes = codec::encode(&row)?;
            if let Some(dept) = department {
                out.dept.push((dept_key(&dept, time, location.log_index), row_bytes.clone()));
            }
            if let Some(id) = credential_id {
                out.cred.push((cred_key(&id, location.log_index), row_bytes));
            }
        }
        for (key, idx) in new_issuers {
            out.issuers.push((key, codec::encode(&idx)?));
        }
        Ok(out)
    }
}

impl Store for SledStore {
    fn put_decided(
        &self,
        block: &Block,
        cert: &StoredCertificate,
        ledger: Option<&LedgerChanges>,
    ) -> Result<(), StoreError> {
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
        let index = self.audit_rows(block)?;
        let stats = self.stat_deltas(block)?;
        let gov = changes_in(block);
        if let Some(l) = ledger {
            if l.head.map(|hd| (hd.height, hd.log_size, hd.state_root, hd.log_root))
                != Some((h, block.header.log_size, block.header.state_root, block.header.log_root))
            {
                return Err(StoreError::Invariant("ledger changes do not match the block"));
            }
        }
        let res: Result<(), TransactionError<()>> = (
            &self.blocks,
            &self.certs,
            &self.entries,
            &self.issuers,
            &self.audit_dept,
            &self.audit_cred,
            &self.meta,
            &self.smt_nodes,
            &self.smt_values,
            &self.old_values,
            &self.log_hashes,
            &self.stale,
        )
            .transaction(|(b, c, e, i, d, cr, m, n, v, o, l, st)| {
                b.insert(&key(h), block_bytes.as_slice())?;
                c.insert(&key(h), cert_bytes.as_slice())?;
                for (id, loc) in &rows {
                    e.insert(id.as_slice(), loc.as_slice())?;
                }
                index.write(i, d, cr, m, h)?;
                for (log_index, leaf) in &gov {
                    m.insert(prefixed(GOV_CHANGE, *log_index), leaf.as_slice())?;
                }
                for (k, add) in &stats {
                    let now = match m.get(k)? {
                        Some(v) => {
                            <[u8; 8]>::try_from(v.as_ref()).map(u64::from_be_bytes).unwrap_or(0)
                        }
                        None => 0,
                    };
                    m.insert(k.as_slice(), &now.saturating_add(*add).to_be_bytes())?;
                }
                if let Some(changes) = ledger {
                    LedgerTrees {
                        meta: m,
                        nodes: n,
                        values: v,
                        old_values: o,
                        log: l,
                        stale: st,
                        entries: e,
                    }
                    .write(changes)?;
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            });
        tx_result(res)?;
        crate::server::faults::failpoint(crate::server::faults::Failpoint::AfterTransaction, h);
        self.db.flush()?;
        Ok(())
    }

    fn governance_changes(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.meta.scan_prefix(GOV_CHANGE) {
            let (k, v) = kv?;
            let index = k
                .get(GOV_CHANGE.len()..)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .ok_or(StoreError::Invariant("governance change key"))?;
            out.push((index, v.to_vec()));
        }
        Ok(out)
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

    fn put_evidence(
        &self,
        id: &[u8; 32],
        department: &str,
        size: u64,
        bytes: &[u8],
    ) -> Result<EvidencePut, StoreError> {
        let slot = evidence_slot(department, size);
        if self.evidence_slots.contains_key(&slot)? || self.evidence.contains_key(id)? {
            return Ok(EvidencePut::Duplicate);
        }
        if self.evidence.len() >= MAX_STORED_EVIDENCE {
            return Ok(EvidencePut::Full);
        }
        let res: Result<(), TransactionError<()>> = (&self.evidence, &self.evidence_slots)
            .transaction(|(e, s)| {
                e.insert(&id[..], bytes)?;
                s.insert(slot.as_slice(), &id[..])?;
                Ok::<(), ConflictableTransactionError<()>>(())
            });
        tx_result(res)?;
        self.db.flush()?;
        Ok(EvidencePut::Stored)
    }

    fn evidence(&self, id: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.evidence.get(id)?.map(|v| v.to_vec()))
    }

    fn evidence_page(
        &self,
        after: Option<&[u8; 32]>,
        limit: usize,
    ) -> Result<Vec<StoredEvidence>, StoreError> {
        use std::ops::Bound;
        let from = match after {
            Some(a) => Bound::Excluded(a.to_vec()),
            None => Bound::Unbounded,
        };
        let mut out = Vec::new();
        for row in self.evidence.range::<Vec<u8>, _>((from, Bound::Unbounded)) {
            if out.len() >= limit.min(MAX_STORED_EVIDENCE) {
                break;
            }
            let (k, v) = row?;
            let id = <[u8; 32]>::try_from(k.as_ref())
                .map_err(|_| StoreError::Invariant("evidence key"))?;
            out.push(StoredEvidence { id, bytes: v.to_vec() });
        }
        Ok(out)
    }

    fn evidence_count(&self) -> Result<u64, StoreError> {
        Ok(self.evidence.len() as u64)
    }

    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        match self.checkpoints.last()? {
            Some((k, v)) => Ok(Some((height_of(&k)?, String::from_utf8_lossy(&v).into_owned()))),
            None => Ok(None),
        }
    }

    fn audit_department(
        &self,
        department: &str,
        from: u64,
        to: u64,
        after: Option<(u64, u64)>,
        limit: usize,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let limit = limit.min(MAX_AUDIT_ROWS);
        if from >= to || limit == 0 {
            return Ok(Vec::new());
        }
        let start = match after {
            Some((t, i)) if (t, i) >= (from, 0) => match i.checked_add(1) {
                Some(next) => dept_key(department, t, next),
                None => match t.checked_add(1) {
                    Some(t) => dept_key(department, t, 0),
                    None => return Ok(Vec::new()),
                },
            },
            _ => dept_key(department, from, 0),
        };
        let end = dept_key(department, to, 0);
        let mut out = Vec::new();
        for kv in self.audit_dept.range(start..end) {
            let (_, v) = kv?;
            out.push(codec::decode(&v)?);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn audit_credential(
        &self,
        credential_id: &[u8; 32],
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let limit = limit.min(MAX_AUDIT_ROWS);
        let start = match after {
            Some(i) => match i.checked_add(1) {
                Some(next) => cred_key(credential_id, next),
                None => return Ok(Vec::new()),
            },
            None => cred_key(credential_id, 0),
        };
        let mut out = Vec::new();
        for kv in self.audit_cred.range(start..) {
            let (k, v) = kv?;
            if !k.starts_with(credential_id) || out.len() >= limit {
                break;
            }
            out.push(codec::decode(&v)?);
        }
        Ok(out)
    }

    fn audit_leaf(&self, log_index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.meta.get(prefixed(AUDIT_LEAF, log_index))?.map(|v| v.to_vec()))
    }

    fn issuer_index(&self, issuer_key: &[u8; 32]) -> Result<Option<IssuerIndex>, StoreError> {
        match self.issuers.get(issuer_key)? {
            Some(v) => Ok(Some(codec::decode(&v)?)),
            None => Ok(None),
        }
    }

    fn stats(&self) -> Result<Vec<StatRow>, StoreError> {
        let mut out = Vec::new();
        for kv in self.meta.scan_prefix(STATS).take(MAX_STAT_ROWS) {
            let (k, v) = kv?;
            out.push(parse_stat(&k, &v).ok_or(StoreError::Invariant("dashboard counter"))?);
        }
        Ok(out)
    }
}
