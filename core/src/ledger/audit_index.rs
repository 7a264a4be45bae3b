//! The audit index in the authenticated state (`specs/ledger.md`, "Audit index"): for every
//! department and every credential, a counter and one record per attributable entry, numbered
//! `0, 1, 2, …` in log order. A node's audit answer proves each listed entry's record under a
//! cosigned checkpoint's state root, plus the counter and the records just outside the range, so
//! an entry left out of the answer shows as a gap in the numbering ([`check_index`]).
//!
//! Every committed entry is filed under one department (the one it acts for: see
//! `specs/ledger.md`); anchors and status changes also under their credential id.

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::sig::PublicKey;
use crate::smt::SmtProof;

use super::*;

/// Tag of a department's index counter (id: `str(department)`).
pub const TAG_DEPT_COUNT: &str = "audit-dept-count";
/// Tag of a department's index record (id: `str(department) ‖ u64(seq)`).
pub const TAG_DEPT_ENTRY: &str = "audit-dept-entry";
/// Tag of a credential's index counter (id: the 32-byte credential id).
pub const TAG_CRED_COUNT: &str = "audit-cred-count";
/// Tag of a credential's index record (id: credential id ‖ `u64(seq)`).
pub const TAG_CRED_ENTRY: &str = "audit-cred-entry";

/// Which index: a department's or a credential's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexScope {
    /// Every entry the department acts for.
    Department(String),
    /// One credential's anchor and status changes.
    Credential([u8; 32]),
}

impl IndexScope {
    /// State key of the scope's counter.
    pub fn count_key(&self) -> Hash {
        match self {
            Self::Department(d) => {
                let mut w = Writer::new();
                w.str(d);
                state_key(TAG_DEPT_COUNT, &w.into_bytes())
            }
            Self::Credential(id) => state_key(TAG_CRED_COUNT, id),
        }
    }

    /// State key of the scope's record number `seq`.
    pub fn entry_key(&self, seq: u64) -> Hash {
        let mut w = Writer::new();
        match self {
            Self::Department(d) => {
                w.str(d).u64(seq);
                state_key(TAG_DEPT_ENTRY, &w.into_bytes())
            }
            Self::Credential(id) => {
                w.fixed(id).u64(seq);
                state_key(TAG_CRED_ENTRY, &w.into_bytes())
            }
        }
    }
}

/// The number of records in one index (the next `seq`); absent from the state while zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IndexCount(pub u64);

impl Encode for IndexCount {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.0);
    }
}

impl Decode for IndexCount {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(r.u64("index count")?))
    }
}

/// One index record: where the entry is in the log. Commitment-sized, no personal data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexRecord {
    /// The entry's log index.
    pub log_index: u64,
    /// Height of its block.
    pub height: u64,
    /// Time of its block.
    pub time: u64,
    /// The entry id ([`SignedEntry::id`]).
    pub entry_id: Hash,
}

impl Encode for IndexRecord {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.log_index).u64(self.height).u64(self.time).put(&self.entry_id);
    }
}

impl Decode for IndexRecord {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            log_index: r.u64("index log index")?,
            height: r.u64("index height")?,
            time: r.u64("index time")?,
            entry_id: r.array("index entry id")?,
        })
    }
}

/// How the audit index names an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditSubject {
    /// `register_issuer`, `retire_issuer`, `compromise_issuer`, `anchor_issuance`,
    /// `change_status`, `register_type`, `register_verifier`, `rotate_verifier`,
    /// `retire_verifier` or `change_validators`.
    pub kind: &'static str,
    /// The key concerned: the subject of issuer registry entries, the signer otherwise.
    pub issuer_key: PublicKey,
    /// The credential concerned, for anchors and status changes.
    pub credential_id: Option<[u8; 32]>,
}

/// What the audit index files `entry` under (every entry kind is filed under one department;
/// which one is the overlay's rule in `ledger/apply.rs`, `specs/ledger.md` "Audit index").
pub fn audit_subject(entry: &SignedEntry) -> AuditSubject {
    let (kind, issuer_key, credential_id) = match &entry.body {
        EntryBody::RegisterIssuer(b) => ("register_issuer", b.issuer_key, None),
        EntryBody::RetireIssuer(b) => ("retire_issuer", b.issuer_key, None),
        EntryBody::CompromiseIssuer(b) => ("compromise_issuer", b.issuer_key, None),
        EntryBody::AnchorIssuance(b) => ("anchor_issuance", entry.signer, Some(b.credential_id)),
        EntryBody::ChangeStatus(b) => ("change_status", entry.signer, Some(b.credential_id)),
        EntryBody::RegisterType(_) => ("register_type", entry.signer, None),
        EntryBody::RegisterVerifier(_) => ("register_verifier", entry.signer, None),
        EntryBody::RotateVerifier(_) => ("rotate_verifier", entry.signer, None),
        EntryBody::RetireVerifier(_) => ("retire_verifier", entry.signer, None),
        EntryBody::ChangeValidators(_) => ("change_validators", entry.signer, None),
    };
    AuditSubject { kind, issuer_key, credential_id }
}

/// Whether the entry concerns an issuer key, whose registration to the department an audit
/// answer also proves (`register_issuer`, `retire_issuer`, `compromise_issuer`,
/// `anchor_issuance`, `change_status`).
pub fn concerns_issuer_key(entry: &SignedEntry) -> bool {
    matches!(
        entry.body,
        EntryBody::RegisterIssuer(_)
            | EntryBody::RetireIssuer(_)
            | EntryBody::CompromiseIssuer(_)
            | EntryBody::AnchorIssuance(_)
            | EntryBody::ChangeStatus(_)
    )
}

/// Why an audit answer's index part does not prove it complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The listed entries are not the indexed ones, in order, without a gap: an entry was left
    /// out (or added, or reordered).
    #[error("gap in the audit index: {0}")]
    Gap(&'static str),
    /// A proof or record is not in its canonical form.
    #[error("malformed index proof: {0}")]
    Malformed(&'static str),
    /// A proof the answer needs is missing.
    #[error("missing index proof: {0}")]
    Missing(&'static str),
    /// A proof does not lead to the checkpoint's state root.
    #[error("index proof does not match the checkpoint: {0}")]
    ProofMismatch(&'static str),
    /// A page was asked to start past the end of the index (server side).
    #[error("the page start is past the end of the audit index")]
    StartPastEnd,
}

impl IndexError {
    /// Whether the error shows (or cannot rule out) an omission, rather than a bad proof.
    pub fn is_incomplete(&self) -> bool {
        matches!(self, Self::Gap(_) | Self::Missing(_))
    }

    /// The same, in Chinese, for people reading both languages.
    pub fn zh(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "审计索引证明格式错误",
            Self::Missing(_) => "缺少审计索引证明，无法证明应答完整",
            Self::ProofMismatch(_) => "审计索引证明与检查点不符",
            Self::Gap(_) => "审计索引编号有缺口：节点遗漏了条目",
            Self::StartPastEnd => "分页起点超出审计索引末尾",
        }
    }
}

/// What one page's index part proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexOutcome {
    /// The index's record count at the checkpoint.
    pub count: u64,
    /// The seq after the page's last item: where the next page starts.
    pub next_seq: u64,
    /// Whether the page ends the answer: the counter was reached, or (department) the record
    /// after the last item is at or after the range's end.
    pub closed: bool,
    /// Whether it was closed by the counter (then entries after the checkpoint may still come).
    pub closed_by_count: bool,
}

/// An index record with its proof (a boundary just outside the range).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvenRecord {
    /// Its seq.
    pub seq: u64,
    /// The canonical record bytes.
    pub record: Vec<u8>,
    /// Its proof.
    pub proof: SmtProof,
}

/// One page's index part, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageIndex {
    /// The counter claimed at the checkpoint.
    pub count: u64,
    /// The counter's proof (absence when zero).
    pub count_proof: SmtProof,
    /// Seq of the page's first item.
    pub first_seq: u64,
    /// One proof per item, in order.
    pub item_proofs: Vec<SmtProof>,
    /// The record just before the first item (first page of a department range).
    pub before: Option<ProvenRecord>,
    /// The record just after the last item (last page of a department range).
    pub after: Option<ProvenRecord>,
}

/// The page is a department's, over the block-time range `from..to`, or a credential's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// First second.
    pub from: u64,
    /// First second after.
    pub to: u64,
}

/// Most items (and so item proofs) one audit page may carry.
pub const MAX_PAGE_ITEMS: usize = 1000;
/// Longest base64url proof or record accepted from an audit page, in characters (a sparse
/// Merkle proof is at most 2 + 32 + 256·32 + 65 bytes).
pub const MAX_INDEX_FIELD_CHARS: usize = 12 * 1024;

fn b64(s: &str, what: &'static str) -> Result<Vec<u8>, IndexError> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    if s.len() > MAX_INDEX_FIELD_CHARS {
        return Err(IndexError::Malformed(what));
    }
    URL_SAFE_NO_PAD.decode(s).map_err(|_| IndexError::Malformed(what))
}

fn proof(s: &str, what: &'static str) -> Result<SmtProof, IndexError> {
    SmtProof::from_bytes(&b64(s, what)?).map_err(|_| IndexError::Malformed(what))
}

fn proven(r: &crate::api::AuditIndexRecord) -> Result<ProvenRecord, IndexError> {
    Ok(ProvenRecord {
        seq: r.seq,
        record: b64(&r.record, "boundary record")?,
        proof: proof(&r.proof, "boundary proof")?,
    })
}

impl PageIndex {
    /// Decodes the index part of an audit page (bounded: at most [`MAX_PAGE_ITEMS`] proofs of
    /// at most [`MAX_INDEX_FIELD_CHARS`] characters each).
    pub fn from_api(a: &crate::api::AuditIndex) -> Result<Self, IndexError> {
        if a.item_proofs.len() > MAX_PAGE_ITEMS {
            return Err(IndexError::Malformed("too many item proofs"));
        }
        Ok(Self {
            count: a.count,
            count_proof: proof(&a.count_proof, "counter proof")?,
            first_seq: a.first_seq,
            item_proofs: a
                .item_proofs
                .iter()
                .map(|p| proof(p, "item proof"))
                .collect::<Result<_, _>>()?,
            before: a.before.as_ref().map(proven).transpose()?,
            after: a.after.as_ref().map(proven).transpose()?,
        })
    }

    /// The API form.
    pub fn to_api(&self) -> crate::api::AuditIndex {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine as _;
        let rec = |r: &ProvenRecord| crate::api::AuditIndexRecord {
            seq: r.seq,
            record: URL_SAFE_NO_PAD.encode(&r.record),
            proof: URL_SAFE_NO_PAD.encode(r.proof.to_bytes()),
        };
        crate::api::AuditIndex {
            count: self.count,
            count_proof: URL_SAFE_NO_PAD.encode(self.count_proof.to_bytes()),
            first_seq: self.first_seq,
            item_proofs: self
                .item_proofs
                .iter()
                .map(|p| URL_SAFE_NO_PAD.encode(p.to_bytes()))
                .collect(),
            before: self.before.as_ref().map(rec),
            after: self.after.as_ref().map(rec),
        }
    }
}

fn verify_value(
    proof: &SmtProof,
    root: &Hash,
    key: &Hash,
    value: Option<&[u8]>,
    what: &'static str,
) -> Result<(), IndexError> {
    proof.verify(root, key, value).map_err(|_| IndexError::ProofMismatch(what))
}

/// Checks one audit page's index part against `state_root` (a cosigned checkpoint's).
///
/// `items` are the listed entries' records as rebuilt by the caller from their proven log leaves
/// (log index, block height and time, entry id), in the page's order. `start` is the seq the
/// previous page ended at (`None` for the first page). `range` is the department's time range
/// (`None` for a credential). In order: the counter's proof; every item is the record at
/// `first_seq + i`; the first page starts at 0 or (department) right after a proven record
/// before `from`; the page ends at the counter or (department) right before a proven record at or
/// after `to`, else it is not closed and the next page must start at `next_seq`.
pub fn check_index(
    state_root: &Hash,
    scope: &IndexScope,
    range: Option<Range>,
    start: Option<u64>,
    items: &[IndexRecord],
    page: &PageIndex,
) -> Result<IndexOutcome, IndexError> {
    let count_value = (page.count > 0).then(|| IndexCount(page.count).to_bytes());
    verify_value(
        &page.count_proof,
        state_root,
        &scope.count_key(),
        count_value.as_deref(),
        "index counter",
    )?;
    if page.item_proofs.len() != items.len() {
        return Err(IndexError::Missing("one index proof per listed entry"));
    }
    let n = items.len() as u64;
    let next_seq = page.first_seq.checked_add(n).ok_or(IndexError::Malformed("seq overflow"))?;
    if next_seq > page.count {
        return Err(IndexError::Gap("more entries listed than the index holds"));
    }
    for (i, (rec, proof)) in items.iter().zip(&page.item_proofs).enumerate() {
        let key = scope.entry_key(page.first_seq + i as u64);
        proof.verify(state_root, &key, Some(&rec.to_bytes())).map_err(|_| {
            IndexError::Gap(
                "a listed entry is not the indexed entry at its place (one was left out)",
            )
        })?;
    }
    match start {
        Some(s) if s != page.first_seq => {
            return Err(IndexError::Gap("the page does not continue where the last one ended"));
        }
        Some(_) => {}
        None => match range {
            None if page.first_seq != 0 => {
                return Err(IndexError::Gap(
                    "a credential's history must start at its first entry",
                ));
            }
            None => {}
            Some(_) if page.first_seq == 0 => {}
            Some(r) => {
                let b = page.before.as_ref().ok_or(IndexError::Missing(
                    "the record before the range (entries before the first listed one)",
                ))?;
                let rec = boundary(state_root, scope, b, page.first_seq - 1, "before")?;
                if rec.time >= r.from {
                    return Err(IndexError::Gap(
                        "the record before the first listed entry is inside the range",
                    ));
                }
            }
        },
    }
    if next_seq == page.count {
        return Ok(IndexOutcome {
            count: page.count,
            next_seq,
            closed: true,
            closed_by_count: true,
        });
    }
    let closed = match (range, &page.after) {
        (Some(r), Some(a)) => {
            let rec = boundary(state_root, scope, a, next_seq, "after")?;
            if rec.time < r.to {
                return Err(IndexError::Gap(
                    "the record after the last listed entry is inside the range",
                ));
            }
            true
        }
        _ => false,
    };
    if !closed && n == 0 {
        return Err(IndexError::Missing("an empty page must prove where the range ends"));
    }
    Ok(IndexOutcome { count: page.count, next_seq, closed, closed_by_count: false })
}

/// A state lookup under one fixed root: the value (or `None`) and its proof, or `None` when
/// the state at that root cannot be proven.
pub type Lookup<'a> = &'a mut dyn FnMut(&Hash) -> Option<(Option<Vec<u8>>, SmtProof)>;

/// A page built by [`build_page`]: the listed records in order and the index part to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltPage {
    /// The records of the entries to list, seq `index.first_seq` on.
    pub records: Vec<IndexRecord>,
    /// The index part of the answer.
    pub index: PageIndex,
    /// Whether the page ends the answer (see [`IndexOutcome::closed`]).
    pub closed: bool,
}

/// Server side of [`check_index`]: the page of `scope` starting at seq `start` (or, without a
/// cursor, at the range's first record, found by binary search over the records' times, which
/// never decrease with the seq), with at most `limit` items, and every proof it needs, all read
/// through `lookup` under one state root.
pub fn build_page(
    scope: &IndexScope,
    range: Option<Range>,
    start: Option<u64>,
    limit: usize,
    lookup: Lookup<'_>,
) -> Result<BuiltPage, IndexError> {
    let (count_value, count_proof) =
        lookup(&scope.count_key()).ok_or(IndexError::Missing("counter unavailable"))?;
    let count = match count_value {
        None => 0,
        Some(b) => IndexCount::from_bytes(&b).map_err(|_| IndexError::Malformed("counter"))?.0,
    };
    let mut at = |seq: u64| -> Result<ProvenRecord, IndexError> {
        match lookup(&scope.entry_key(seq)) {
            Some((Some(record), proof)) => Ok(ProvenRecord { seq, record, proof }),
            _ => Err(IndexError::Missing("record under the counter")),
        }
    };
    let time_of = |p: &ProvenRecord| -> Result<IndexRecord, IndexError> {
        IndexRecord::from_bytes(&p.record).map_err(|_| IndexError::Malformed("stored record"))
    };
    let first_seq = match (start, range) {
        (Some(s), _) if s > count => return Err(IndexError::StartPastEnd),
        (Some(s), _) => s,
        (None, None) => 0,
        (None, Some(r)) => {
            // The first seq whose record time is at or after `from`.
            let (mut lo, mut hi) = (0u64, count);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if time_of(&at(mid)?)?.time < r.from {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            lo
        }
    };
    let before = match (start, range) {
        (None, Some(_)) if first_seq > 0 => Some(at(first_seq - 1)?),
        _ => None,
    };
    let mut records = Vec::new();
    let mut item_proofs = Vec::new();
    let mut after = None;
    let mut seq = first_seq;
    while seq < count && records.len() < limit.min(MAX_PAGE_ITEMS) {
        let p = at(seq)?;
        let rec = time_of(&p)?;
        if range.is_some_and(|r| rec.time >= r.to) {
            after = Some(p);
            break;
        }
        records.push(rec);
        item_proofs.push(p.proof);
        seq += 1;
    }
    // A full page whose next record is already past the range ends the answer too.
    if let (Some(r), None) = (range, &after) {
        if seq < count {
            let p = at(seq)?;
            if time_of(&p)?.time >= r.to {
                after = Some(p);
            }
        }
    }
    let closed = seq == count || after.is_some();
    let index = PageIndex { count, count_proof, first_seq, item_proofs, before, after };
    Ok(BuiltPage { records, index, closed })
}

fn boundary(
    root: &Hash,
    scope: &IndexScope,
    b: &ProvenRecord,
    seq: u64,
    what: &'static str,
) -> Result<IndexRecord, IndexError> {
    if b.seq != seq {
        return Err(IndexError::Gap("a boundary record is not next to the listed entries"));
    }
    verify_value(&b.proof, root, &scope.entry_key(seq), Some(&b.record), what)?;
    IndexRecord::from_bytes(&b.record).map_err(|_| IndexError::Malformed("boundary record"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct_per_scope_seq_and_tag() {
        let d = IndexScope::Department("market-regulation".into());
        let e = IndexScope::Department("market-regulatio".into());
        let c = IndexScope::Credential([7; 32]);
        let keys = [
            d.count_key(),
            d.entry_key(0),
            d.entry_key(1),
            e.count_key(),
            e.entry_key(0),
            c.count_key(),
            c.entry_key(0),
            c.entry_key(1),
        ];
        let set: std::collections::BTreeSet<_> = keys.iter().collect();
        assert_eq!(set.len(), keys.len());
        // No collision with the registry keys of the same id.
        assert_ne!(d.count_key(), department_state_key("market-regulation"));
        assert_ne!(c.count_key(), credential_state_key(&[7; 32]));
    }

    #[test]
    fn the_api_form_is_bounded_and_round_trips() {
        use crate::api::AuditIndex;
        let empty = Smt::new(crate::smt::MemStore::default());
        let proof = empty.prove(&[1; 32]).expect("absence proof");
        let page = PageIndex {
            count: 0,
            count_proof: proof.clone(),
            first_seq: 0,
            item_proofs: vec![proof.clone()],
            before: None,
            after: Some(ProvenRecord { seq: 0, record: vec![1, 2], proof: proof.clone() }),
        };
        assert_eq!(PageIndex::from_api(&page.to_api()), Ok(page.clone()));
        let mut many = page.to_api();
        many.item_proofs = vec![many.count_proof.clone(); MAX_PAGE_ITEMS + 1];
        assert_eq!(PageIndex::from_api(&many), Err(IndexError::Malformed("too many item proofs")));
        let long =
            AuditIndex { count_proof: "A".repeat(MAX_INDEX_FIELD_CHARS + 1), ..page.to_api() };
        assert_eq!(PageIndex::from_api(&long), Err(IndexError::Malformed("counter proof")));
        let bad = AuditIndex { count_proof: "!".into(), ..page.to_api() };
        assert_eq!(PageIndex::from_api(&bad), Err(IndexError::Malformed("counter proof")));
        // An omission is told apart from a bad proof, in both languages.
        assert!(IndexError::Gap("x").is_incomplete() && IndexError::Missing("x").is_incomplete());
        assert!(!IndexError::ProofMismatch("x").is_incomplete());
        assert!(IndexError::Gap("x").zh().contains("遗漏"));
    }

    #[test]
    fn records_round_trip_and_refuse_trailing_bytes() {
        let r = IndexRecord { log_index: 5, height: 2, time: 1000, entry_id: [3; 32] };
        let bytes = r.to_bytes();
        assert_eq!(bytes.len(), 56);
        assert_eq!(IndexRecord::from_bytes(&bytes), Ok(r));
        let mut long = bytes.clone();
        long.push(0);
        assert!(IndexRecord::from_bytes(&long).is_err());
        assert!(IndexRecord::from_bytes(&bytes[..55]).is_err());
        assert_eq!(IndexCount::from_bytes(&IndexCount(9).to_bytes()), Ok(IndexCount(9)));
    }
}
