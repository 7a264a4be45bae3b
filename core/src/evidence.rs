//! Equivocation evidence: two conflicting signed statements by one department key.
//!
//! A department equivocates on checkpoints when its node key signs two ledger checkpoints with
//! the same origin and the same log size but different roots: an honest log has exactly one root
//! per size. The evidence object keeps both signed statements (the checkpoint bodies and that
//! department's two signatures), so anyone holding the trust root can check it offline with
//! [`verify`], without the network and without trusting whoever handed it over.
//!
//! [`compare_checkpoints`] is the client rule: given two checkpoints, each signed by a quorum,
//! it refuses a conflicting pair with a typed reason ([`Conflict`]) and the evidence against
//! every department that signed both.
//!
//! Only checkpoint cosignatures are covered here. Consensus votes and proposals are signed over
//! the node's own sign bytes (`specs/consensus.md`), which core does not define yet; their
//! evidence is future work. Nodes detect, keep, serve (`GET /v1/evidence`) and gossip these
//! objects (`node/src/server/evidence.rs`). The normative text is `specs/evidence.md`.

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::merkle::{self, ConsistencyProof, Hash};
use crate::note::{
    verify_checkpoint, CheckpointError, LedgerCheckpoint, Note, NoteKey, Quorum, MAX_KEY_NAME_BYTES,
};
use crate::sig::{Signature, SIGNATURE_LEN};
use crate::verify::TrustRoot;

/// The magic and version prefix of an encoded evidence object.
pub const MAGIC: [u8; 4] = *b"CLE\x01";
/// Longest checkpoint body kept in evidence, in bytes.
pub const MAX_BODY_BYTES: u32 = 8 * 1024;
/// Longest encoded evidence object, in bytes.
pub const MAX_EVIDENCE_BYTES: usize = 4 + 1 + 4 + MAX_KEY_NAME_BYTES + 2 * (4 + 8 * 1024 + 64);

/// The kind tag of checkpoint-cosignature equivocation.
const KIND_CHECKPOINT: u8 = 1;

/// One signed statement: a checkpoint body and one department's Ed25519 note signature over it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The checkpoint note text (a canonical [`LedgerCheckpoint`] body).
    pub body: String,
    /// The department's signature over `body` (C2SP note signature, algorithm Ed25519).
    pub signature: Signature,
}

/// Evidence that one department signed two conflicting checkpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    /// The department id (its checkpoint key name).
    pub department: String,
    /// The statement whose body sorts first (bytewise).
    pub first: SignedCheckpoint,
    /// The statement whose body sorts second.
    pub second: SignedCheckpoint,
}

/// What a valid evidence object proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Equivocation {
    /// The department that equivocated.
    pub department: String,
    /// Index of its key in the trust root.
    pub key_index: usize,
    /// The ledger (checkpoint origin).
    pub origin: String,
    /// The log size both checkpoints claim.
    pub size: u64,
    /// The two different roots, in the evidence's order.
    pub roots: [Hash; 2],
}

/// Why an evidence object was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// The bytes are not a well-formed, canonical evidence object.
    #[error("evidence is malformed: {0}")]
    Decode(#[from] DecodeError),
    /// A statement's body is not a ledger checkpoint.
    #[error("statement {statement} is not a ledger checkpoint: {error}")]
    Body {
        /// 1 or 2.
        statement: u8,
        /// Why the body was refused.
        error: CheckpointError,
    },
    /// A checkpoint is for another ledger than the trust root's.
    #[error("a checkpoint is for another ledger")]
    WrongOrigin,
    /// The two statements do not conflict.
    #[error("the statements do not conflict: {0}")]
    NotConflicting(&'static str),
    /// The department is not in the trust root.
    #[error("department {0:?} is not in the trust root")]
    UnknownKey(String),
    /// A signature does not verify under the department's key.
    #[error("signature on statement {statement} does not verify")]
    BadSignature {
        /// 1 or 2.
        statement: u8,
    },
}

impl EvidenceError {
    /// Chinese text for a person.
    pub fn text_zh(&self) -> String {
        match self {
            Self::Decode(e) => format!("证据格式错误：{e}"),
            Self::Body { statement, .. } => format!("第 {statement} 条声明不是账本检查点"),
            Self::WrongOrigin => "检查点属于另一个账本".to_owned(),
            Self::NotConflicting(_) => "两条声明并不冲突".to_owned(),
            Self::UnknownKey(d) => format!("部门 {d} 不在信任根中"),
            Self::BadSignature { statement } => format!("第 {statement} 条声明的签名无效"),
        }
    }
}

impl Encode for SignedCheckpoint {
    fn encode(&self, w: &mut Writer) {
        w.str(&self.body).fixed(&self.signature.0);
    }
}

impl Decode for SignedCheckpoint {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let body = r.string(MAX_BODY_BYTES, "evidence statement body")?;
        let signature = Signature(r.array::<SIGNATURE_LEN>("evidence statement signature")?);
        Ok(Self { body, signature })
    }
}

impl Encode for Evidence {
    fn encode(&self, w: &mut Writer) {
        w.fixed(&MAGIC)
            .u8(KIND_CHECKPOINT)
            .str(&self.department)
            .put(&self.first)
            .put(&self.second);
    }
}

impl Decode for Evidence {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if r.array::<4>("evidence magic")? != MAGIC {
            return Err(DecodeError::UnsupportedVersion("evidence magic"));
        }
        let kind = r.u8("evidence kind")?;
        if kind != KIND_CHECKPOINT {
            return Err(DecodeError::UnknownTag { what: "evidence kind", tag: kind });
        }
        let department = r.string(MAX_KEY_NAME_BYTES as u32, "evidence department")?;
        let first = SignedCheckpoint::decode(r)?;
        let second = SignedCheckpoint::decode(r)?;
        if first.body.as_bytes() > second.body.as_bytes() {
            return Err(DecodeError::NonCanonical("evidence statements out of order"));
        }
        Ok(Self { department, first, second })
    }
}

impl Evidence {
    /// Builds evidence from two statements, putting them in canonical order.
    pub fn new(department: &str, a: SignedCheckpoint, b: SignedCheckpoint) -> Self {
        let (first, second) = if a.body.as_bytes() <= b.body.as_bytes() { (a, b) } else { (b, a) };
        Self { department: department.to_owned(), first, second }
    }

    /// Decodes bounded, canonical evidence bytes.
    pub fn from_bytes_checked(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_EVIDENCE_BYTES {
            return Err(DecodeError::TooLong {
                what: "evidence",
                len: bytes.len() as u64,
                max: MAX_EVIDENCE_BYTES as u64,
            });
        }
        Self::from_bytes(bytes)
    }
}

fn parse_statement(s: &SignedCheckpoint, statement: u8) -> Result<LedgerCheckpoint, EvidenceError> {
    LedgerCheckpoint::parse_body(&s.body).map_err(|error| EvidenceError::Body { statement, error })
}

/// Checks evidence offline against a trust root and says which department equivocated.
///
/// Accepts only if both bodies are canonical ledger checkpoints for the trust root's chain id,
/// with the same size and different roots, and both signatures verify under the key the trust
/// root lists for `department`.
pub fn verify(evidence: &Evidence, trust_root: &TrustRoot) -> Result<Equivocation, EvidenceError> {
    let a = parse_statement(&evidence.first, 1)?;
    let b = parse_statement(&evidence.second, 2)?;
    if a.origin != trust_root.chain_id || b.origin != trust_root.chain_id {
        return Err(EvidenceError::WrongOrigin);
    }
    if a.size != b.size {
        return Err(EvidenceError::NotConflicting("different log sizes"));
    }
    if a.root == b.root {
        return Err(EvidenceError::NotConflicting("same root"));
    }
    let (key_index, key) = trust_root
        .keys
        .iter()
        .enumerate()
        .find(|(_, k)| k.name == evidence.department)
        .ok_or_else(|| EvidenceError::UnknownKey(evidence.department.clone()))?;
    for (statement, s) in [(1u8, &evidence.first), (2, &evidence.second)] {
        key.key
            .verify_raw(s.body.as_bytes(), &s.signature)
            .map_err(|_| EvidenceError::BadSignature { statement })?;
    }
    Ok(Equivocation {
        department: evidence.department.clone(),
        key_index,
        origin: a.origin,
        size: a.size,
        roots: [a.root, b.root],
    })
}

/// Why two quorum-signed checkpoints cannot both be true.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConflictReason {
    /// Same log size, different roots.
    SameSizeDifferentRoot {
        /// The log size.
        size: u64,
    },
    /// The larger log does not extend the smaller one (the consistency proof fails).
    NotConsistent {
        /// The smaller size.
        size1: u64,
        /// The larger size.
        size2: u64,
    },
}

/// Two checkpoints that conflict, and the evidence against each department that signed both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// Why they conflict.
    pub reason: ConflictReason,
    /// One evidence object per department with a valid signature on both (same-size conflicts
    /// only: an inconsistency alone is not offline-checkable evidence).
    pub evidence: Vec<Evidence>,
}

impl Conflict {
    /// English text for a person.
    pub fn text_en(&self) -> String {
        let who = self.departments();
        match self.reason {
            ConflictReason::SameSizeDifferentRoot { size } => format!(
                "refused: two checkpoints signed by a quorum show different roots at log size {size}; the ledger has forked (departments that signed both: {who})"
            ),
            ConflictReason::NotConsistent { size1, size2 } => format!(
                "refused: the checkpoint at log size {size2} does not extend the one at size {size1}; the ledger has forked"
            ),
        }
    }

    /// Chinese text for a person.
    pub fn text_zh(&self) -> String {
        let who = self.departments();
        match self.reason {
            ConflictReason::SameSizeDifferentRoot { size } => format!(
                "拒绝：两个经法定多数签名的检查点在日志大小 {size} 处根哈希不同，账本已分叉（两者都签名的部门：{who}）"
            ),
            ConflictReason::NotConsistent { size1, size2 } => format!(
                "拒绝：日志大小 {size2} 的检查点不是大小 {size1} 的检查点的延续，账本已分叉"
            ),
        }
    }

    fn departments(&self) -> String {
        let names: Vec<&str> = self.evidence.iter().map(|e| e.department.as_str()).collect();
        if names.is_empty() {
            "-".to_owned()
        } else {
            names.join(", ")
        }
    }
}

/// Why [`compare_checkpoints`] could not decide.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    /// A checkpoint is not valid under the quorum (so it proves nothing).
    #[error("checkpoint {which} is not valid: {error}")]
    Checkpoint {
        /// 1 or 2.
        which: u8,
        /// Why.
        error: CheckpointError,
    },
    /// The sizes differ and no consistency proof between them was given.
    #[error("checkpoints of different sizes need a consistency proof")]
    NeedConsistencyProof,
    /// The consistency proof given is for other sizes.
    #[error("the consistency proof is for other sizes")]
    ProofSizes,
}

/// Compares two checkpoint notes, each of which must verify under `quorum`.
///
/// `Ok(Ok(()))`: they agree (same size and root, or the larger extends the smaller by
/// `consistency`). `Ok(Err(conflict))`: they conflict; refuse both. `Err`: could not decide.
pub fn compare_checkpoints(
    note_a: &str,
    note_b: &str,
    quorum: &Quorum,
    consistency: Option<&ConsistencyProof>,
) -> Result<Result<(), Conflict>, CompareError> {
    let a = verify_checkpoint(note_a, quorum)
        .map_err(|error| CompareError::Checkpoint { which: 1, error })?;
    let b = verify_checkpoint(note_b, quorum)
        .map_err(|error| CompareError::Checkpoint { which: 2, error })?;
    if a.size == b.size {
        if a.root == b.root {
            return Ok(Ok(()));
        }
        let reason = ConflictReason::SameSizeDifferentRoot { size: a.size };
        let evidence = evidence_from_notes(note_a, note_b, &quorum.keys);
        return Ok(Err(Conflict { reason, evidence }));
    }
    let (small, large) = if a.size < b.size { (&a, &b) } else { (&b, &a) };
    if small.size == 0 {
        // Every log extends the empty log; only the empty root is allowed at size 0.
        return Ok(if small.root == merkle::empty_root() {
            Ok(())
        } else {
            Err(Conflict {
                reason: ConflictReason::NotConsistent { size1: 0, size2: large.size },
                evidence: Vec::new(),
            })
        });
    }
    let proof = consistency.ok_or(CompareError::NeedConsistencyProof)?;
    if proof.size1 != small.size || proof.size2 != large.size {
        return Err(CompareError::ProofSizes);
    }
    match proof.verify(&small.root, &large.root) {
        Ok(()) => Ok(Ok(())),
        Err(_) => Ok(Err(Conflict {
            reason: ConflictReason::NotConsistent { size1: small.size, size2: large.size },
            evidence: Vec::new(),
        })),
    }
}

/// The evidence against every listed key with a valid signature on both notes (whose bodies are
/// already known to be conflicting checkpoints).
fn evidence_from_notes(note_a: &str, note_b: &str, keys: &[NoteKey]) -> Vec<Evidence> {
    let (Ok(a), Ok(b)) = (Note::parse(note_a), Note::parse(note_b)) else {
        return Vec::new();
    };
    let mut out: Vec<Evidence> = Vec::new();
    for key in keys {
        let (Some(sa), Some(sb)) = (statement_by(&a, key), statement_by(&b, key)) else {
            continue;
        };
        if out.iter().any(|e| e.department == key.name) {
            continue;
        }
        out.push(Evidence::new(&key.name, sa, sb));
    }
    out
}

/// `key`'s valid signature on `note` (a line with its name and key id that verifies), as a
/// statement; `None` if it has none.
pub fn statement_by(note: &Note, key: &NoteKey) -> Option<SignedCheckpoint> {
    note.signatures().iter().find_map(|s| {
        if s.name != key.name || s.key_id != key.key_id() {
            return None;
        }
        let sig = Signature(s.sig.as_slice().try_into().ok()?);
        key.key.verify_raw(note.text().as_bytes(), &sig).ok()?;
        Some(SignedCheckpoint { body: note.text().to_owned(), signature: sig })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::NoteSigner;
    use crate::sig::SecretKey;

    const ORIGIN: &str = "certledger.test/evidence";

    fn signers() -> Vec<NoteSigner> {
        ["dept-a", "dept-b", "dept-c", "dept-d"]
            .iter()
            .enumerate()
            .map(|(i, n)| NoteSigner::new(n, SecretKey::from_seed(&[i as u8 + 1; 32])).unwrap())
            .collect()
    }

    fn trust(s: &[NoteSigner]) -> TrustRoot {
        TrustRoot {
            chain_id: ORIGIN.into(),
            keys: s.iter().map(NoteSigner::note_key).collect(),
            threshold: 3,
        }
    }

    fn cp(size: u64, root: u8) -> LedgerCheckpoint {
        LedgerCheckpoint {
            origin: ORIGIN.into(),
            size,
            root: [root; 32],
            height: 5,
            time: 1_700_000_000,
            state_root: [9; 32],
        }
    }

    fn note(c: &LedgerCheckpoint, by: &[&NoteSigner]) -> String {
        let mut n = Note::new(&c.to_body()).unwrap();
        for s in by {
            n.sign(s).unwrap();
        }
        n.to_text()
    }

    #[test]
    fn conflicting_pair_is_refused_with_evidence_that_verifies() {
        let s = signers();
        let t = trust(&s);
        let a = note(&cp(10, 1), &[&s[0], &s[1], &s[2]]);
        let b = note(&cp(10, 2), &[&s[1], &s[2], &s[3]]);
        let c = compare_checkpoints(&a, &b, &t.quorum(), None).unwrap().unwrap_err();
        assert_eq!(c.reason, ConflictReason::SameSizeDifferentRoot { size: 10 });
        let who: Vec<&str> = c.evidence.iter().map(|e| e.department.as_str()).collect();
        assert_eq!(who, ["dept-b", "dept-c"]);
        for e in &c.evidence {
            let bytes = e.to_bytes();
            let back = Evidence::from_bytes_checked(&bytes).unwrap();
            assert_eq!(&back, e);
            let q = verify(&back, &t).unwrap();
            assert_eq!(q.department, e.department);
            assert_eq!(q.size, 10);
        }
        assert!(c.text_zh().contains("拒绝") && c.text_en().contains("refused"));
    }

    #[test]
    fn agreeing_pair_is_accepted() {
        let s = signers();
        let t = trust(&s);
        let a = note(&cp(10, 1), &[&s[0], &s[1], &s[2]]);
        let b = note(&cp(10, 1), &[&s[1], &s[2], &s[3]]);
        assert_eq!(compare_checkpoints(&a, &b, &t.quorum(), None), Ok(Ok(())));
    }

    #[test]
    fn inconsistent_sizes_are_refused() {
        let s = signers();
        let t = trust(&s);
        let mut log = merkle::MerkleLog::new();
        for i in 0..6u8 {
            log.append_data(&[i]).unwrap();
        }
        let mut c1 = cp(3, 0);
        c1.root = log.root_at(3).unwrap();
        let mut c2 = cp(6, 0);
        c2.root = log.root();
        let proof = log.consistency_proof(3, 6).unwrap();
        let a = note(&c1, &[&s[0], &s[1], &s[2]]);
        let b = note(&c2, &[&s[0], &s[1], &s[2]]);
        assert_eq!(compare_checkpoints(&a, &b, &t.quorum(), Some(&proof)), Ok(Ok(())));
        assert_eq!(
            compare_checkpoints(&a, &b, &t.quorum(), None),
            Err(CompareError::NeedConsistencyProof)
        );
        let mut c1x = c1.clone();
        c1x.root = [7; 32];
        let ax = note(&c1x, &[&s[0], &s[1], &s[2]]);
        let c = compare_checkpoints(&ax, &b, &t.quorum(), Some(&proof)).unwrap().unwrap_err();
        assert_eq!(c.reason, ConflictReason::NotConsistent { size1: 3, size2: 6 });
    }

    #[test]
    fn evidence_refusals() {
        let s = signers();
        let t = trust(&s);
        let stmt = |c: &LedgerCheckpoint, by: &NoteSigner| SignedCheckpoint {
            body: c.to_body(),
            signature: Signature(by.sign_text(&c.to_body()).sig.try_into().unwrap()),
        };
        let good = Evidence::new("dept-a", stmt(&cp(10, 1), &s[0]), stmt(&cp(10, 2), &s[0]));
        assert!(verify(&good, &t).is_ok());
        let same = Evidence::new("dept-a", stmt(&cp(10, 1), &s[0]), stmt(&cp(10, 1), &s[0]));
        assert_eq!(verify(&same, &t), Err(EvidenceError::NotConflicting("same root")));
        let sizes = Evidence::new("dept-a", stmt(&cp(10, 1), &s[0]), stmt(&cp(11, 2), &s[0]));
        assert_eq!(verify(&sizes, &t), Err(EvidenceError::NotConflicting("different log sizes")));
        let mut unknown = good.clone();
        unknown.department = "dept-x".into();
        assert_eq!(verify(&unknown, &t), Err(EvidenceError::UnknownKey("dept-x".into())));
        let other = Evidence::new("dept-a", stmt(&cp(10, 1), &s[0]), stmt(&cp(10, 2), &s[1]));
        assert!(matches!(verify(&other, &t), Err(EvidenceError::BadSignature { .. })));
        // Out of order is not canonical.
        let mut swapped = good.clone();
        std::mem::swap(&mut swapped.first, &mut swapped.second);
        assert_eq!(
            Evidence::from_bytes_checked(&swapped.to_bytes()),
            Err(DecodeError::NonCanonical("evidence statements out of order"))
        );
        let mut long = good.to_bytes();
        long.push(0);
        assert!(Evidence::from_bytes_checked(&long).is_err());
    }
}
