//! Applying entries through a write overlay, and the validator-set change rule.

use std::collections::{BTreeMap, BTreeSet};

use crate::codec::{Decode, Encode};
use crate::ledger_store::LedgerStore;
use crate::sig::{ns, PublicKey};
use crate::smt::SmtError;

use super::*;

/// Pending writes of a block being applied: read through, then committed all at once.
pub(super) struct Overlay<'a, S: LedgerStore> {
    ledger: &'a Ledger<S>,
    verified: VerifiedFn<'a>,
    height: u64,
    time: u64,
    pub(super) writes: BTreeMap<Hash, Option<Vec<u8>>>,
    ids: BTreeSet<Hash>,
    pub(super) leaves: Vec<Vec<u8>>,
    pub(super) history: Vec<(u64, Vec<Department>)>,
}

impl<'a, S: LedgerStore> Overlay<'a, S> {
    pub(super) fn new(
        ledger: &'a Ledger<S>,
        height: u64,
        time: u64,
        verified: VerifiedFn<'a>,
    ) -> Self {
        Self {
            ledger,
            verified,
            height,
            time,
            writes: BTreeMap::new(),
            ids: BTreeSet::new(),
            leaves: Vec::new(),
            history: Vec::new(),
        }
    }

    fn raw(&self, key: &Hash) -> Result<Option<Vec<u8>>, EntryError> {
        match self.writes.get(key) {
            Some(v) => Ok(v.clone()),
            None => Ok(self.ledger.store.state_value(key)?),
        }
    }

    fn read<T: Decode>(&self, key: &Hash) -> Result<Option<T>, EntryError> {
        match self.raw(key)? {
            None => Ok(None),
            Some(bytes) => T::from_bytes(&bytes)
                .map(Some)
                .map_err(|_| EntryError::Store(SmtError::Store("undecodable record"))),
        }
    }

    fn write<T: Encode>(&mut self, key: Hash, record: &T) {
        self.writes.insert(key, Some(encode_record(record)));
    }

    fn validators(&self) -> Result<ValidatorSetRecord, EntryError> {
        self.read(&validators_state_key())?
            .ok_or(EntryError::Store(SmtError::Store("no validator set")))
    }

    fn department(&self, id: &str) -> Result<Department, EntryError> {
        self.read(&department_state_key(id))?.ok_or(EntryError::UnknownDepartment)
    }

    fn verifier(&self, verifier_id: &str) -> Result<VerifierRecord, EntryError> {
        self.read(&verifier_state_key(verifier_id))?.ok_or(EntryError::UnknownVerifier)
    }

    fn issuer(&self, key: &PublicKey) -> Result<IssuerRecord, EntryError> {
        self.read(&issuer_state_key(key))?.ok_or(EntryError::UnknownIssuer)
    }

    fn require_admin(&self, dept: &str, signer: &PublicKey) -> Result<(), EntryError> {
        let d = self.department(dept)?;
        if d.admin_keys.binary_search(signer).is_ok() {
            Ok(())
        } else {
            Err(EntryError::UnknownSigner)
        }
    }

    /// The current department whose admin key `key` is.
    fn admin_department(&self, key: &PublicKey) -> Result<Option<String>, EntryError> {
        let set = self.validators()?;
        Ok(set
            .departments
            .into_iter()
            .find(|d| d.admin_keys.binary_search(key).is_ok())
            .map(|d| d.id))
    }

    /// Activates a scheduled validator set whose height has come.
    pub(super) fn activate(&mut self) -> Result<(), EntryError> {
        let mut set = self.validators()?;
        let Some((h, new)) = set.pending.take() else {
            return Ok(());
        };
        if h > self.height {
            return Ok(());
        }
        for d in &set.departments {
            if new.binary_search_by(|x| x.id.cmp(&d.id)).is_err() {
                self.writes.insert(department_state_key(&d.id), None);
                self.retire_department_issuers(&d.id)?;
            }
        }
        for d in &new {
            self.write(department_state_key(&d.id), d);
        }
        set.departments = new;
        self.write(validators_state_key(), &set);
        Ok(())
    }

    /// A removed department's issuer keys lose their authority from this block on: each is
    /// retired at the block time (an earlier retirement stays), so credentials anchored before
    /// stay valid and the issuer records a verifier is shown say so.
    fn retire_department_issuers(&mut self, dept: &str) -> Result<(), EntryError> {
        let index: DepartmentIssuers =
            self.read(&department_issuers_state_key(dept))?.unwrap_or_default();
        for key in &index.keys {
            // Every indexed key has a record (both are written by RegisterIssuer and records are
            // never deleted); a missing one is skipped rather than halting the chain.
            let Some(mut rec) = self.read::<IssuerRecord>(&issuer_state_key(key))? else {
                continue;
            };
            if rec.retired_at.is_none_or(|r| r > self.time) {
                rec.retired_at = Some(self.time);
                self.write(issuer_state_key(key), &rec);
            }
        }
        Ok(())
    }

    /// Who may act on an issuer record (retire it, report its compromise): an admin of its
    /// department while that department is current; once it was removed, an admin of any current
    /// department (`specs/governance.md`, "Records of a removed department"). Returns whether
    /// the record is orphaned (its department removed).
    fn require_issuer_authority(
        &self,
        rec: &IssuerRecord,
        signer: &PublicKey,
    ) -> Result<bool, EntryError> {
        self.require_record_authority(&rec.department, signer)
    }

    /// [`Self::require_issuer_authority`] for any record owned by department `dept` (issuer and
    /// verifier records).
    fn require_record_authority(&self, dept: &str, signer: &PublicKey) -> Result<bool, EntryError> {
        if self.raw(&department_state_key(dept))?.is_some() {
            self.require_admin(dept, signer)?;
            return Ok(false);
        }
        if self.admin_department(signer)?.is_none() {
            return Err(EntryError::UnknownSigner);
        }
        Ok(true)
    }

    pub(super) fn check(&self, entry: &SignedEntry) -> Result<(), EntryError> {
        let bytes = entry.to_bytes();
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(EntryError::TooLarge("signed entry"));
        }
        // Whatever is committed must decode back to itself (every bound, sorted set and string
        // class of the decoders), so that any verifier can read every leaf.
        if SignedEntry::from_bytes(&bytes).as_ref() != Ok(entry) {
            return Err(EntryError::Invalid("the entry breaks an encoding rule or bound"));
        }
        let id = entry.id();
        if self.ids.contains(&id) || self.ledger.store.has_entry(&id)? {
            return Err(EntryError::Replay);
        }
        if !(self.verified)(&bytes) {
            entry.verify_signature(&self.ledger.chain_id).map_err(|_| EntryError::BadSignature)?;
        }
        let t = self.time;
        let signer = &entry.signer;
        match &entry.body {
            EntryBody::RegisterIssuer(b) => {
                self.require_admin(&b.department, signer)?;
                if b.types.is_empty() || !strictly_ascending(&b.types) {
                    return Err(EntryError::Invalid("issuer types must be a non-empty sorted set"));
                }
                if b.valid_from >= b.valid_until {
                    return Err(EntryError::Invalid("valid_from must precede valid_until"));
                }
                if b.valid_until <= t {
                    return Err(EntryError::Invalid("registration already expired"));
                }
                check_names(&b.name_zh, &b.name_en)?;
                for ty in &b.types {
                    let owner: TypeRecord =
                        self.read(&type_state_key(ty))?.ok_or(EntryError::UnknownType)?;
                    if owner.department != b.department {
                        return Err(EntryError::NotAuthorised(
                            "the type belongs to another department",
                        ));
                    }
                }
                if self.raw(&issuer_state_key(&b.issuer_key))?.is_some() {
                    return Err(EntryError::AlreadyRegistered("issuer key"));
                }
                let index: DepartmentIssuers =
                    self.read(&department_issuers_state_key(&b.department))?.unwrap_or_default();
                if index.keys.len() >= MAX_DEPARTMENT_ISSUERS as usize {
                    return Err(EntryError::TooLarge("issuer keys of the department"));
                }
            }
            EntryBody::RetireIssuer(b) => {
                let rec = self.issuer(&b.issuer_key)?;
                self.require_issuer_authority(&rec, signer)?;
                if b.at < t {
                    return Err(EntryError::Invalid("retirement may not be in the past"));
                }
                if rec.retired_at.is_some() {
                    return Err(EntryError::Invalid("issuer already retired"));
                }
            }
            EntryBody::CompromiseIssuer(b) => {
                let rec = self.issuer(&b.issuer_key)?;
                // Backdating invalidates credentials already issued: only the department's own
                // admins may do it. The key itself (perhaps in a thief's hands) and the admins of
                // other departments acting on a removed department's key report a compromise
                // from the block time on.
                let backdating_allowed = if *signer == b.issuer_key {
                    false
                } else {
                    !self.require_issuer_authority(&rec, signer)?
                };
                if b.since < t && !backdating_allowed {
                    return Err(EntryError::NotAuthorised(
                        "only the department's admins may backdate a compromise",
                    ));
                }
                if rec.compromised_since.is_some_and(|s| s <= b.since) {
                    return Err(EntryError::Invalid("already compromised since an earlier time"));
                }
            }
            EntryBody::RegisterType(b) => {
                if self.admin_department(signer)?.is_none() {
                    return Err(EntryError::UnknownSigner);
                }
                if !is_token(&b.type_id) {
                    return Err(EntryError::Invalid("type id"));
                }
                check_names(&b.name_zh, &b.name_en)?;
                let mut names = BTreeSet::new();
                for c in &b.claims {
                    if !is_token(&c.name) || !names.insert(c.name.as_str()) {
                        return Err(EntryError::Invalid("claim names must be distinct tokens"));
                    }
                    check_names(&c.display_zh, &c.display_en)?;
                }
                if b.claims.len() > MAX_CLAIMS as usize {
                    return Err(EntryError::TooLarge("claims"));
                }
                if self.raw(&type_state_key(&b.type_id))?.is_some() {
                    return Err(EntryError::AlreadyRegistered("credential type"));
                }
            }
            EntryBody::RegisterVerifier(b) => {
                self.require_admin(&b.department, signer)?;
                if !is_token(&b.verifier_id) {
                    return Err(EntryError::Invalid("verifier id"));
                }
                check_names(&b.name_zh, &b.name_en)?;
                if b.purposes.is_empty() {
                    return Err(EntryError::Invalid("a verifier needs a purpose"));
                }
                let ids: Vec<&str> = b.purposes.iter().map(|p| p.id.as_str()).collect();
                if !strictly_ascending(&ids)
                    || b.purposes.iter().any(|p| !strictly_ascending(&p.claims))
                {
                    return Err(EntryError::Invalid(
                        "purposes and their claims must be sorted sets",
                    ));
                }
                if self.raw(&verifier_state_key(&b.verifier_id))?.is_some() {
                    return Err(EntryError::AlreadyRegistered("verifier id"));
                }
            }
            EntryBody::RotateVerifier(b) => {
                let rec = self.verifier(&b.verifier_id)?;
                self.require_record_authority(&rec.registration.department, signer)?;
                if rec.retired_at.is_some() {
                    return Err(EntryError::Invalid("verifier retired"));
                }
                if rec.registration.verifier_key == b.new_key {
                    return Err(EntryError::Invalid("the new key is the current key"));
                }
            }
            EntryBody::RetireVerifier(b) => {
                let rec = self.verifier(&b.verifier_id)?;
                self.require_record_authority(&rec.registration.department, signer)?;
                if rec.retired_at.is_some() {
                    return Err(EntryError::Invalid("verifier already retired"));
                }
            }
            EntryBody::AnchorIssuance(b) => {
                let rec = self.issuer(signer).map_err(|_| EntryError::UnknownSigner)?;
                if self.raw(&type_state_key(&b.type_id))?.is_none() {
                    return Err(EntryError::UnknownType);
                }
                if self.raw(&department_state_key(&rec.department))?.is_none() {
                    return Err(EntryError::NotAuthorised("the issuer's department was removed"));
                }
                rec.authorised_at(&b.type_id, t)
                    .map_err(|e| EntryError::NotAuthorised(e.as_str()))?;
                if self.raw(&credential_state_key(&b.credential_id))?.is_some() {
                    return Err(EntryError::AlreadyAnchored);
                }
            }
            EntryBody::ChangeStatus(b) => {
                let cred: CredentialRecord = self
                    .read(&credential_state_key(&b.credential_id))?
                    .ok_or(EntryError::UnknownCredential)?;
                let rec = self.issuer(signer).map_err(|_| EntryError::UnknownSigner)?;
                if rec.department != cred.department {
                    return Err(EntryError::WrongDepartment);
                }
                rec.key_valid_at(t).map_err(|e| EntryError::NotAuthorised(e.as_str()))?;
                if cred.status == CredentialStatus::Revoked {
                    return Err(EntryError::RevokedIsFinal);
                }
            }
            EntryBody::ChangeValidators(b) => self.check_governance(b, signer)?,
        }
        Ok(())
    }

    fn check_governance(&self, b: &ChangeValidators, signer: &PublicKey) -> Result<(), EntryError> {
        let set = self.validators()?;
        if set.pending.is_some() {
            return Err(EntryError::BadGovernance("a validator change is already scheduled"));
        }
        if self.admin_department(signer)?.is_none() {
            return Err(EntryError::UnknownSigner);
        }
        if b.effective_height <= self.height {
            return Err(EntryError::BadGovernance(
                "effective height must be above the current height",
            ));
        }
        next_department_set(&self.ledger.chain_id, &set.departments, b)
            .map_err(|e| EntryError::BadGovernance(e.message()))?;
        Ok(())
    }

    pub(super) fn apply(&mut self, entry: &SignedEntry, log_index: u64) -> Result<(), EntryError> {
        self.check(entry)?;
        let t = self.time;
        match &entry.body {
            EntryBody::RegisterIssuer(b) => {
                let rec = IssuerRecord {
                    department: b.department.clone(),
                    issuer_key: b.issuer_key,
                    types: b.types.clone(),
                    valid_from: b.valid_from,
                    valid_until: b.valid_until,
                    retired_at: None,
                    compromised_since: None,
                    name_zh: b.name_zh.clone(),
                    name_en: b.name_en.clone(),
                };
                self.write(issuer_state_key(&b.issuer_key), &rec);
                let index_key = department_issuers_state_key(&b.department);
                let mut index: DepartmentIssuers = self.read(&index_key)?.unwrap_or_default();
                index.keys.push(b.issuer_key);
                self.write(index_key, &index);
            }
            EntryBody::RetireIssuer(b) => {
                let mut rec = self.issuer(&b.issuer_key)?;
                rec.retired_at = Some(b.at);
                self.write(issuer_state_key(&b.issuer_key), &rec);
            }
            EntryBody::CompromiseIssuer(b) => {
                let mut rec = self.issuer(&b.issuer_key)?;
                rec.compromised_since = Some(b.since);
                self.write(issuer_state_key(&b.issuer_key), &rec);
            }
            EntryBody::RegisterType(b) => {
                let department = self.admin_department(&entry.signer)?.unwrap_or_default();
                self.write(type_state_key(&b.type_id), &TypeRecord { def: b.clone(), department });
            }
            EntryBody::RegisterVerifier(b) => {
                let rec = VerifierRecord { registration: b.clone(), retired_at: None };
                self.write(verifier_state_key(&b.verifier_id), &rec);
            }
            EntryBody::RotateVerifier(b) => {
                let mut rec = self.verifier(&b.verifier_id)?;
                rec.registration.verifier_key = b.new_key;
                self.write(verifier_state_key(&b.verifier_id), &rec);
            }
            EntryBody::RetireVerifier(b) => {
                let mut rec = self.verifier(&b.verifier_id)?;
                rec.retired_at = Some(t);
                self.write(verifier_state_key(&b.verifier_id), &rec);
            }
            EntryBody::AnchorIssuance(b) => {
                let issuer = self.issuer(&entry.signer)?;
                let rec = CredentialRecord {
                    credential_id: b.credential_id,
                    type_id: b.type_id.clone(),
                    issuer_key: entry.signer,
                    department: issuer.department,
                    commitment: b.commitment,
                    anchored_height: self.height,
                    anchored_time: t,
                    log_index,
                    status: CredentialStatus::Active,
                    status_reason: 0,
                    status_time: t,
                };
                self.write(credential_state_key(&b.credential_id), &rec);
            }
            EntryBody::ChangeStatus(b) => {
                let key = credential_state_key(&b.credential_id);
                let mut rec: CredentialRecord =
                    self.read(&key)?.ok_or(EntryError::UnknownCredential)?;
                rec.status = b.status;
                rec.status_reason = b.reason;
                rec.status_time = t;
                self.write(key, &rec);
            }
            EntryBody::ChangeValidators(b) => {
                let mut set = self.validators()?;
                let new = resulting_set(&set.departments, b).map_err(EntryError::BadGovernance)?;
                self.history.push((b.effective_height, new.clone()));
                set.pending = Some((b.effective_height, new));
                self.write(validators_state_key(), &set);
            }
        }
        self.index(entry, log_index)?;
        self.ids.insert(entry.id());
        let leaf = LogLeaf { height: self.height, time: t, entry: entry.clone() };
        self.leaves.push(leaf.to_bytes());
        Ok(())
    }
}

impl<S: LedgerStore> Overlay<'_, S> {
    /// Files an applied entry in the audit index (`specs/ledger.md`, "Audit index"): under the
    /// department it acts for and, for anchors and status changes, under the credential id. Each index gets the record at its counter's value, and the counter moves on.
    fn index(&mut self, entry: &SignedEntry, log_index: u64) -> Result<(), EntryError> {
        let subject = audit_subject(entry);
        let department = match &entry.body {
            EntryBody::RegisterIssuer(b) => b.department.clone(),
            EntryBody::RetireIssuer(_)
            | EntryBody::CompromiseIssuer(_)
            | EntryBody::AnchorIssuance(_)
            | EntryBody::ChangeStatus(_) => self.issuer(&subject.issuer_key)?.department,
            EntryBody::RegisterVerifier(b) => b.department.clone(),
            EntryBody::RotateVerifier(b) => self.verifier(&b.verifier_id)?.registration.department,
            EntryBody::RetireVerifier(b) => self.verifier(&b.verifier_id)?.registration.department,
            // Signed by an admin of a current department (checked above).
            EntryBody::RegisterType(_) | EntryBody::ChangeValidators(_) => {
                self.admin_department(&entry.signer)?.ok_or(EntryError::UnknownSigner)?
            }
        };
        let record =
            IndexRecord { log_index, height: self.height, time: self.time, entry_id: entry.id() };
        self.append_index(&IndexScope::Department(department), &record)?;
        if let Some(id) = subject.credential_id {
            self.append_index(&IndexScope::Credential(id), &record)?;
        }
        Ok(())
    }

    fn append_index(&mut self, scope: &IndexScope, record: &IndexRecord) -> Result<(), EntryError> {
        let count_key = scope.count_key();
        let IndexCount(seq) = self.read(&count_key)?.unwrap_or_default();
        let next = seq.checked_add(1).ok_or(EntryError::TooLarge("audit index"))?;
        self.write(scope.entry_key(seq), record);
        self.write(count_key, &IndexCount(next));
        Ok(())
    }
}

fn check_names(zh: &str, en: &str) -> Result<(), EntryError> {
    if zh.len() > MAX_NAME as usize || en.len() > MAX_NAME as usize {
        return Err(EntryError::TooLarge("name"));
    }
    Ok(())
}

fn resulting_set(
    current: &[Department],
    b: &ChangeValidators,
) -> Result<Vec<Department>, &'static str> {
    let mut map: BTreeMap<String, Department> =
        current.iter().map(|d| (d.id.clone(), d.clone())).collect();
    for id in &b.remove {
        if map.remove(id).is_none() {
            return Err("removes a department that is not in the set");
        }
    }
    for d in &b.add {
        if map.insert(d.id.clone(), d.clone()).is_some() {
            return Err("adds a department that is already in the set");
        }
    }
    Ok(map.into_values().collect())
}

/// Why a validator change breaks the governance rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeRuleError {
    /// The resulting set would be unsafe or invalid.
    Unsafe(&'static str),
    /// The approvals do not meet the rule.
    BadApproval(&'static str),
}

impl ChangeRuleError {
    /// The reason.
    pub fn message(&self) -> &'static str {
        match self {
            Self::Unsafe(m) | Self::BadApproval(m) => m,
        }
    }
}

/// The governance rule for a validator change, shared by the ledger and the light client: the
/// department set after `change` is applied to `current`, provided the change changes something,
/// removes at most [`max_removals`] members, removes only members and adds only non-members,
/// leaves a valid set (after a removal, one of at least 4 departments, so that it still
/// tolerates a faulty member under the BFT rule `n >= 3f + 1`), and is approved by admin keys of more than two thirds of the current
/// departments (one approval each, every signature valid under `GOVERNANCE_APPROVAL`).
/// Who signed the entry and when it takes effect are the caller's checks.
pub fn next_department_set(
    chain_id: &str,
    current: &[Department],
    change: &ChangeValidators,
) -> Result<Vec<Department>, ChangeRuleError> {
    use ChangeRuleError::{BadApproval, Unsafe};
    if change.add.is_empty() && change.remove.is_empty() {
        return Err(Unsafe("the change changes nothing"));
    }
    let n = current.len();
    if change.remove.len() > max_removals(n) {
        return Err(Unsafe("removes more than floor((n-1)/3) departments"));
    }
    let next = resulting_set(current, change).map_err(Unsafe)?;
    check_department_set(&next).map_err(Unsafe)?;
    if !change.remove.is_empty() && max_removals(next.len()) == 0 {
        return Err(Unsafe(
            "a removal must leave at least 4 departments (a set that tolerates one faulty member)",
        ));
    }
    let msg = change.approval_message(chain_id);
    let mut approving = BTreeSet::new();
    for a in &change.approvals {
        let dept = current
            .iter()
            .find(|d| d.admin_keys.binary_search(&a.admin_key).is_ok())
            .map(|d| d.id.as_str())
            .ok_or(BadApproval("approval by a key that is not a current admin key"))?;
        if !approving.insert(dept) {
            return Err(BadApproval("two approvals from one department"));
        }
        a.admin_key
            .verify(ns::GOVERNANCE_APPROVAL, &msg, &a.signature)
            .map_err(|_| BadApproval("an approval signature is invalid"))?;
    }
    if approving.len() < quorum_threshold(n) {
        return Err(BadApproval("approvals from no more than two thirds of the departments"));
    }
    Ok(next)
}
