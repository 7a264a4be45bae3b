//! The trust list: the trust roots of several ledgers (one per province, plus the national one),
//! each published by its own departments and signed by their admin keys (`specs/trust-list.md`).
//!
//! A [`LedgerRoot`] is one ledger's signed statement: chain id, Chinese and English name,
//! sequence number, issue time, departments and checkpoint threshold, signed under
//! [`ns::TRUST_LIST`] by admin keys of more than two thirds of its departments (the rule that also
//! approves validator changes). A verifier keeps a [`TrustList`] of such statements, at most one
//! per chain id; a bundle is decided under the root of its checkpoint's origin, and the verdict
//! names the ledger and the issuing department.

use super::trust_root::from_strict_json;
use super::*;
use crate::codec::Writer;
use crate::sig::{ns, SecretKey, Signature};

/// Longest trust-list JSON accepted, in bytes.
pub const MAX_TRUST_LIST_BYTES: usize = 1024 * 1024;
/// Longest JSON of one ledger's signed root, in bytes.
pub const MAX_LEDGER_ROOT_BYTES: usize = 128 * 1024;
/// Most ledgers in one trust list (every province-level ledger plus the national one fits).
pub const MAX_LISTED_LEDGERS: usize = 64;
/// Most signatures on one ledger root (the departments of the old and the new set may both sign
/// an update).
pub const MAX_LEDGER_ROOT_SIGNATURES: usize = 2 * ledger::MAX_DEPARTMENTS as usize;

/// The encoding version of a ledger root's signed bytes.
const LEDGER_ROOT_VERSION: u8 = 1;

mod error;
pub use error::TrustListError;

/// One admin key's signature on a [`LedgerRoot`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RootSignature {
    /// The admin key.
    pub admin_key: PublicKey,
    /// Its signature over [`LedgerRoot::signed_bytes`] under [`ns::TRUST_LIST`].
    pub signature: Signature,
}

/// One ledger's trust root as its departments publish it (`specs/trust-list.md`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerRoot {
    /// The chain id (the checkpoint origin).
    pub chain_id: String,
    /// The ledger's Chinese name, e.g. `上海市`.
    pub name_zh: String,
    /// Its English name, e.g. `Shanghai`.
    pub name_en: String,
    /// Grows with every new statement for this chain id; a lower one never replaces a higher one.
    pub sequence: u64,
    /// When the statement was made, Unix seconds (informative: ordering is by `sequence`).
    pub issued_at: u64,
    /// Distinct department signatures a checkpoint needs.
    pub threshold: u32,
    /// The departments whose node keys cosign checkpoints, ascending by id.
    pub departments: Vec<ledger::Department>,
    /// Admin-key signatures.
    pub signatures: Vec<RootSignature>,
}

/// The JSON form of a [`LedgerRoot`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerRootJson {
    /// Format version, 1.
    pub version: u32,
    /// The chain id.
    pub chain_id: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Sequence number.
    pub sequence: u64,
    /// Unix seconds.
    pub issued_at: u64,
    /// Checkpoint threshold.
    pub threshold: u32,
    /// The departments.
    pub departments: Vec<DepartmentJson>,
    /// The signatures.
    pub signatures: Vec<RootSignatureJson>,
}

/// The JSON form of a [`RootSignature`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootSignatureJson {
    /// The admin key, unpadded base64url.
    pub admin_key: String,
    /// The signature, unpadded base64url.
    pub signature: String,
}

/// The JSON form of a [`TrustList`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustListJson {
    /// Format version, 1.
    pub version: u32,
    /// The listed ledgers' signed roots, ascending by chain id.
    pub ledgers: Vec<LedgerRootJson>,
}

impl LedgerRoot {
    /// An unsigned statement for `root`'s ledger (`departments` must be its departments, in
    /// order), named `name_zh`/`name_en`; sign it with [`LedgerRoot::sign`].
    pub fn new(
        root: &TrustRoot,
        departments: Vec<ledger::Department>,
        name_zh: &str,
        name_en: &str,
        sequence: u64,
        issued_at: u64,
    ) -> Result<Self, TrustListError> {
        let same = departments.len() == root.keys.len()
            && departments
                .iter()
                .zip(&root.keys)
                .all(|(d, k)| d.id == k.name && d.node_key == k.key);
        if !same {
            return Err(TrustListError::Unusable(
                "the departments are not those of the trust root's keys",
            ));
        }
        let statement = Self {
            chain_id: root.chain_id.clone(),
            name_zh: name_zh.to_owned(),
            name_en: name_en.to_owned(),
            sequence,
            issued_at,
            threshold: u32::try_from(root.threshold)
                .map_err(|_| TrustListError::Unusable("threshold too large"))?,
            departments,
            signatures: Vec::new(),
        };
        statement.check_shape()?;
        Ok(statement)
    }

    /// The bytes every signature covers (canonical encoding, `specs/trust-list.md`).
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(LEDGER_ROOT_VERSION)
            .str(&self.chain_id)
            .str(&self.name_zh)
            .str(&self.name_en)
            .u64(self.sequence)
            .u64(self.issued_at)
            .u32(self.threshold)
            .seq(&self.departments);
        w.into_bytes()
    }

    /// Adds `admin`'s signature (replacing an earlier one by the same key).
    pub fn sign(&mut self, admin: &SecretKey) {
        let signature = admin.sign(ns::TRUST_LIST, &self.signed_bytes());
        let admin_key = admin.public_key();
        self.signatures.retain(|s| s.admin_key != admin_key);
        self.signatures.push(RootSignature { admin_key, signature });
        self.signatures.sort_by_key(|a| a.admin_key);
    }

    /// The checkpoint trust root this statement stands for.
    pub fn trust_root(&self) -> TrustRoot {
        let mut root = TrustRoot::from_departments(&self.chain_id, &self.departments);
        root.threshold = self.threshold as usize;
        root
    }

    /// The rules on the fields, signatures aside.
    fn check_shape(&self) -> Result<(), TrustListError> {
        use TrustListError::Unusable;
        if !ledger::is_token(&self.chain_id) {
            return Err(Unusable("chain id must be 1 to 64 printable ASCII characters"));
        }
        for name in [&self.name_zh, &self.name_en] {
            if name.trim().is_empty() || name.len() > ledger::MAX_NAME as usize {
                return Err(Unusable("ledger names must be 1 to 256 bytes"));
            }
        }
        ledger::check_department_set(&self.departments).map_err(Unusable)?;
        self.trust_root().check().map_err(|_| Unusable("threshold must be more than 2/3"))?;
        if self.signatures.len() > MAX_LEDGER_ROOT_SIGNATURES {
            return Err(Unusable("too many signatures"));
        }
        Ok(())
    }

    /// How many departments of `set` signed: every signature must verify, one admin key signs
    /// once, a department counts once; signatures by keys outside `set` do not count.
    fn approvals_by(&self, set: &[ledger::Department]) -> Result<usize, TrustListError> {
        let msg = self.signed_bytes();
        let mut keys = BTreeMap::new();
        for s in &self.signatures {
            if keys.insert(s.admin_key, ()).is_some() {
                return Err(TrustListError::Unusable("an admin key signed twice"));
            }
            s.admin_key
                .verify(ns::TRUST_LIST, &msg, &s.signature)
                .map_err(|_| TrustListError::BadSignature)?;
        }
        let approving =
            set.iter().filter(|d| d.admin_keys.iter().any(|k| keys.contains_key(k))).count();
        Ok(approving)
    }

    /// Checks the statement on its own: its fields, and signatures by admin keys of more than
    /// two thirds of its own departments.
    pub fn verify(&self) -> Result<(), TrustListError> {
        self.check_shape()?;
        if self.approvals_by(&self.departments)? < ledger::quorum_threshold(self.departments.len())
        {
            return Err(TrustListError::NotApproved("its own"));
        }
        Ok(())
    }

    /// A short fingerprint to compare out of band before adding a ledger: the first 8 bytes of
    /// SHA-256 over the signed bytes, as hex.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(self.signed_bytes());
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// Parses the JSON form (bounded, strict) and checks it ([`LedgerRoot::verify`]).
    pub fn from_json(text: &str) -> Result<Self, TrustListError> {
        let json: LedgerRootJson =
            from_strict_json(text, MAX_LEDGER_ROOT_BYTES).map_err(TrustListError::Malformed)?;
        let root = Self::from_json_value(json)?;
        root.verify()?;
        Ok(root)
    }

    /// Parses the JSON form without checking signatures (a statement still being signed).
    pub fn from_json_unsigned(text: &str) -> Result<Self, TrustListError> {
        let json: LedgerRootJson =
            from_strict_json(text, MAX_LEDGER_ROOT_BYTES).map_err(TrustListError::Malformed)?;
        let root = Self::from_json_value(json)?;
        root.check_shape()?;
        Ok(root)
    }

    fn from_json_value(json: LedgerRootJson) -> Result<Self, TrustListError> {
        use TrustListError::Malformed;
        if json.version != 1 {
            return Err(Malformed("unsupported ledger root version"));
        }
        if json.departments.len() > ledger::MAX_DEPARTMENTS as usize
            || json.signatures.len() > MAX_LEDGER_ROOT_SIGNATURES
        {
            return Err(Malformed("too many departments or signatures"));
        }
        let mut departments = Vec::with_capacity(json.departments.len());
        for d in json.departments {
            if d.admin_keys.len() > ledger::MAX_ADMIN_KEYS as usize {
                return Err(Malformed("too many admin keys"));
            }
            departments.push(ledger::Department {
                node_key: PublicKey(decode_b64(&d.node_key)?),
                admin_keys: d
                    .admin_keys
                    .iter()
                    .map(|k| decode_b64(k).map(PublicKey))
                    .collect::<Result<_, _>>()?,
                id: d.id,
                name_zh: d.name_zh,
                name_en: d.name_en,
            });
        }
        let signatures = json
            .signatures
            .iter()
            .map(|s| {
                Ok(RootSignature {
                    admin_key: PublicKey(decode_b64(&s.admin_key)?),
                    signature: Signature(decode_b64(&s.signature)?),
                })
            })
            .collect::<Result<_, TrustListError>>()?;
        Ok(Self {
            chain_id: json.chain_id,
            name_zh: json.name_zh,
            name_en: json.name_en,
            sequence: json.sequence,
            issued_at: json.issued_at,
            threshold: json.threshold,
            departments,
            signatures,
        })
    }

    /// The JSON form's value.
    pub fn to_json_value(&self) -> LedgerRootJson {
        LedgerRootJson {
            version: 1,
            chain_id: self.chain_id.clone(),
            name_zh: self.name_zh.clone(),
            name_en: self.name_en.clone(),
            sequence: self.sequence,
            issued_at: self.issued_at,
            threshold: self.threshold,
            departments: self
                .departments
                .iter()
                .map(|d| DepartmentJson {
                    id: d.id.clone(),
                    name_zh: d.name_zh.clone(),
                    name_en: d.name_en.clone(),
                    node_key: encode_b64(&d.node_key.0),
                    admin_keys: d.admin_keys.iter().map(|k| encode_b64(&k.0)).collect(),
                })
                .collect(),
            signatures: self
                .signatures
                .iter()
                .map(|s| RootSignatureJson {
                    admin_key: encode_b64(&s.admin_key.0),
                    signature: encode_b64(&s.signature.0),
                })
                .collect(),
        }
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.to_json_value()).unwrap_or_default()
    }
}

fn decode_b64<const N: usize>(text: &str) -> Result<[u8; N], TrustListError> {
    use base64::Engine as _;
    let bad = TrustListError::Malformed("a key or signature is not base64url of the right length");
    if text.len() > 2 * N {
        return Err(bad);
    }
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).map_err(|_| bad.clone())?;
    bytes.try_into().map_err(|_| bad)
}

fn encode_b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Which ledger issued an accepted credential, and which of its departments: names for display.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IssuedBy {
    /// The ledger's chain id.
    pub chain_id: String,
    /// The ledger's Chinese name.
    pub ledger_zh: String,
    /// The ledger's English name.
    pub ledger_en: String,
    /// The issuing department's Chinese name (its id when the list does not name it).
    pub department_zh: String,
    /// The issuing department's English name (its id when the list does not name it).
    pub department_en: String,
}

/// One ledger a verifier trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedLedger {
    /// Chinese name (the chain id for a plain trust root).
    pub name_zh: String,
    /// English name (the chain id for a plain trust root).
    pub name_en: String,
    /// The checkpoint trust root.
    pub root: TrustRoot,
    /// The departments (empty for a plain trust root without them).
    pub departments: Vec<ledger::Department>,
    /// The signed statement; `None` for a plain trust root the verifier set itself.
    pub signed: Option<LedgerRoot>,
}

impl ListedLedger {
    /// The sequence number of its signed statement (0 for a plain trust root).
    pub fn sequence(&self) -> u64 {
        self.signed.as_ref().map_or(0, |s| s.sequence)
    }

    /// Who issued a credential of `department` on this ledger.
    fn issued_by(&self, department: &str) -> IssuedBy {
        let dept = self.departments.iter().find(|d| d.id == department);
        IssuedBy {
            chain_id: self.root.chain_id.clone(),
            ledger_zh: self.name_zh.clone(),
            ledger_en: self.name_en.clone(),
            department_zh: dept.map_or_else(|| department.to_owned(), |d| d.name_zh.clone()),
            department_en: dept.map_or_else(|| department.to_owned(), |d| d.name_en.clone()),
        }
    }
}

/// What [`TrustList::add`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    /// A ledger that was not listed.
    New,
    /// A newer statement replaced the held one.
    Updated,
    /// The very statement already held.
    Unchanged,
}

/// The ledgers a verifier trusts, at most one per chain id (`specs/trust-list.md`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustList {
    ledgers: BTreeMap<String, ListedLedger>,
}

impl TrustList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// A list of one plain trust root (the single-root setup); `departments`, when given, name
    /// the issuing departments in verdicts.
    pub fn from_root(root: TrustRoot, departments: Option<Vec<ledger::Department>>) -> Self {
        let mut list = Self::new();
        list.ledgers.insert(
            root.chain_id.clone(),
            ListedLedger {
                name_zh: root.chain_id.clone(),
                name_en: root.chain_id.clone(),
                departments: departments.unwrap_or_default(),
                root,
                signed: None,
            },
        );
        list
    }

    /// Parses what a verifier may load as its trust: a trust list
    /// (`{"version":1,"ledgers":[...]}`), one signed ledger root, or a plain trust root
    /// (`specs/bundle.md`, a list of one). Every signed root is checked; a chain id listed twice
    /// is refused.
    pub fn from_json(text: &str) -> Result<Self, TrustListError> {
        if text.len() > MAX_TRUST_LIST_BYTES {
            return Err(TrustListError::Malformed("JSON is too large"));
        }
        let value = crate::jcs::parse_strict(text)
            .map_err(|_| TrustListError::Malformed("not valid JSON"))?;
        let object = value.as_object().ok_or(TrustListError::Malformed("not a JSON object"))?;
        if object.contains_key("ledgers") {
            let json: TrustListJson = serde_json::from_value(value)
                .map_err(|_| TrustListError::Malformed("JSON has the wrong shape"))?;
            if json.version != 1 {
                return Err(TrustListError::Malformed("unsupported trust list version"));
            }
            if json.ledgers.len() > MAX_LISTED_LEDGERS {
                return Err(TrustListError::TooMany);
            }
            let mut list = Self::new();
            for entry in json.ledgers {
                let root = LedgerRoot::from_json_value(entry)?;
                root.verify()?;
                if list.ledgers.contains_key(&root.chain_id) {
                    return Err(TrustListError::Duplicate(root.chain_id));
                }
                list.insert(root);
            }
            Ok(list)
        } else if object.contains_key("signatures") {
            let mut list = Self::new();
            list.add(LedgerRoot::from_json(text)?)?;
            Ok(list)
        } else {
            let (root, departments) =
                TrustRoot::from_json_with_departments(text).map_err(|e| match e {
                    // Keep the reason (e.g. a threshold below two thirds).
                    VerifyError::TrustRoot(
                        why @ ("JSON is too large" | "not valid JSON" | "JSON has the wrong shape"),
                    ) => TrustListError::Malformed(why),
                    VerifyError::TrustRoot(why) => TrustListError::Unusable(why),
                    _ => TrustListError::Malformed("neither a trust list nor a trust root"),
                })?;
            Ok(Self::from_root(root, departments))
        }
    }

    /// The JSON form of the signed ledgers (a plain trust root is not part of it).
    pub fn to_json(&self) -> String {
        let json = TrustListJson {
            version: 1,
            ledgers: self
                .ledgers
                .values()
                .filter_map(|l| l.signed.as_ref().map(LedgerRoot::to_json_value))
                .collect(),
        };
        serde_json::to_string_pretty(&json).unwrap_or_default()
    }

    fn insert(&mut self, root: LedgerRoot) {
        self.ledgers.insert(
            root.chain_id.clone(),
            ListedLedger {
                name_zh: root.name_zh.clone(),
                name_en: root.name_en.clone(),
                root: root.trust_root(),
                departments: root.departments.clone(),
                signed: Some(root),
            },
        );
    }

    /// Adds a ledger's signed root, or updates the held one. The root must verify on its own; an
    /// update must have a higher sequence number and also be signed by admin keys of more than
    /// two thirds of the departments of the held root (so the list follows the ledger's own
    /// department changes and nobody else can replace its root); a lower sequence number is a
    /// rollback and is refused, as is different content under the held sequence number.
    pub fn add(&mut self, root: LedgerRoot) -> Result<Added, TrustListError> {
        root.verify()?;
        let Some(held) = self.ledgers.get(&root.chain_id) else {
            if self.ledgers.len() >= MAX_LISTED_LEDGERS {
                return Err(TrustListError::TooMany);
            }
            self.insert(root);
            return Ok(Added::New);
        };
        if let Some(signed) = &held.signed {
            if root.sequence < signed.sequence {
                return Err(TrustListError::Rollback {
                    chain_id: root.chain_id,
                    held: signed.sequence,
                    offered: root.sequence,
                });
            }
            if root.sequence == signed.sequence {
                if root.signed_bytes() == signed.signed_bytes() {
                    return Ok(Added::Unchanged);
                }
                return Err(TrustListError::Conflict(root.chain_id));
            }
            let need = ledger::quorum_threshold(signed.departments.len());
            if root.approvals_by(&signed.departments)? < need {
                return Err(TrustListError::NotApproved("the held root's"));
            }
        }
        self.insert(root);
        Ok(Added::Updated)
    }

    /// `offered` (a newly loaded list file) as the list that follows this one: the ledgers it
    /// lists, each signed root checked against the root held here for the same chain id by the
    /// rules of [`TrustList::add`] (so an older file cannot roll a ledger back, and a root for a
    /// held chain id must be signed by the held departments). Ledgers it omits are dropped (loading
    /// a file is the verifier's choice of ledgers).
    pub fn successor(&self, offered: &TrustList) -> Result<TrustList, TrustListError> {
        let mut next = TrustList::new();
        for (chain_id, listed) in &offered.ledgers {
            let mut one = TrustList::new();
            match (&listed.signed, self.ledgers.get(chain_id)) {
                (Some(root), Some(held)) => {
                    one.ledgers.insert(chain_id.clone(), held.clone());
                    one.add(root.clone())?;
                }
                _ => {
                    one.ledgers.insert(chain_id.clone(), listed.clone());
                }
            }
            next.ledgers.extend(one.ledgers);
        }
        Ok(next)
    }

    /// Drops a ledger; false when it was not listed.
    pub fn drop_ledger(&mut self, chain_id: &str) -> bool {
        self.ledgers.remove(chain_id).is_some()
    }

    /// The ledger listed under `chain_id`.
    pub fn get(&self, chain_id: &str) -> Option<&ListedLedger> {
        self.ledgers.get(chain_id)
    }

    /// The listed ledgers, ascending by chain id.
    pub fn ledgers(&self) -> impl Iterator<Item = &ListedLedger> {
        self.ledgers.values()
    }

    /// How many ledgers are listed.
    pub fn len(&self) -> usize {
        self.ledgers.len()
    }

    /// True when no ledger is listed.
    pub fn is_empty(&self) -> bool {
        self.ledgers.is_empty()
    }

    /// Why a credential of a ledger that is not listed is refused: `wrong_ledger` when the list is
    /// one plain trust root (exactly as [`verify`] under that root, the single-root setup before
    /// trust lists), else `unlisted_ledger`.
    pub fn unlisted_reason(&self) -> Invalid {
        match self.ledgers.values().next() {
            Some(only) if self.ledgers.len() == 1 && only.signed.is_none() => Invalid::WrongLedger,
            _ => Invalid::UnlistedLedger,
        }
    }

    /// The listed ledger a checkpoint note belongs to (by its origin); `Ok(None)` when that
    /// ledger is not listed.
    pub fn ledger_of_checkpoint(
        &self,
        checkpoint_note: &str,
    ) -> Result<Option<&ListedLedger>, VerifyError> {
        let origin = checkpoint_origin(checkpoint_note)?;
        Ok(self.ledgers.get(origin))
    }

    /// [`verify`] under the root of the bundle's ledger; a ledger not on the list is
    /// [`Invalid::UnlistedLedger`]. The accepted credential names its ledger and department.
    pub fn verify(
        &self,
        bundle: &Bundle,
        policy: &Policy,
        now: u64,
    ) -> Result<Verdict, VerifyError> {
        let Some(listed) = self.ledger_of_checkpoint(&bundle.proofs.checkpoint)? else {
            return Ok(Verdict::Invalid(self.unlisted_reason()));
        };
        Ok(label(verify(bundle, &listed.root, policy, now)?, listed))
    }

    /// [`verify_linked`](fn@verify_linked) with each credential decided under the root of its
    /// own ledger (a main credential and linked ones may come from different ledgers).
    pub fn verify_linked(
        &self,
        linked: &LinkedBundle,
        policy: &Policy,
        now: u64,
    ) -> Result<Verdict, VerifyError> {
        verify_linked_with(linked, policy, |bundle, policy| self.verify(bundle, policy, now))
    }

    /// [`verify_credential`] under the root of the proofs' ledger.
    pub fn verify_credential(
        &self,
        sd_jwt: &str,
        proofs: &Proofs,
        max_checkpoint_age_s: u64,
        now: u64,
    ) -> Result<Verdict, VerifyError> {
        let Some(listed) = self.ledger_of_checkpoint(&proofs.checkpoint)? else {
            return Ok(Verdict::Invalid(self.unlisted_reason()));
        };
        let verdict = verify_credential(sd_jwt, proofs, &listed.root, max_checkpoint_age_s, now)?;
        Ok(label(verdict, listed))
    }

    /// [`super::verify_w3c_credential`] under the root of the proofs' ledger.
    pub fn verify_w3c_credential(
        &self,
        vc_json: &str,
        proofs: &Proofs,
        max_checkpoint_age_s: u64,
        now: u64,
    ) -> Result<Verdict, VerifyError> {
        let Some(listed) = self.ledger_of_checkpoint(&proofs.checkpoint)? else {
            return Ok(Verdict::Invalid(self.unlisted_reason()));
        };
        let verdict =
            super::verify_w3c_credential(vc_json, proofs, &listed.root, max_checkpoint_age_s, now)?;
        Ok(label(verdict, listed))
    }
}

/// The origin (chain id) of a checkpoint note, read without checking signatures.
pub fn checkpoint_origin(note_text: &str) -> Result<&str, VerifyError> {
    if note_text.len() > note::MAX_NOTE_BYTES {
        return Err(VerifyError::Malformed("checkpoint note too large"));
    }
    match note_text.split_once('\n') {
        Some((origin, _)) if !origin.is_empty() => Ok(origin),
        _ => Err(VerifyError::Malformed("checkpoint note has no origin line")),
    }
}

/// Names the ledger and department on an accepted verdict (and on each linked credential).
fn label(verdict: Verdict, listed: &ListedLedger) -> Verdict {
    match verdict {
        Verdict::Valid(mut accepted) => {
            accepted.issued_by = Some(listed.issued_by(&accepted.issuer_department));
            Verdict::Valid(accepted)
        }
        invalid @ Verdict::Invalid(_) => invalid,
    }
}

/// A verifier for a trust list with one checkpoint cache per ledger ([`Verifier`]): the same
/// verdicts as [`TrustList::verify_linked`], each checkpoint's quorum signatures checked once.
#[derive(Clone, Debug)]
pub struct ListVerifier {
    list: TrustList,
    verifiers: BTreeMap<String, Verifier>,
    policy: Policy,
}

impl ListVerifier {
    /// A verifier for every ledger of `list` under `policy`.
    pub fn new(list: TrustList, policy: Policy) -> Result<Self, VerifyError> {
        let mut verifiers = BTreeMap::new();
        for listed in list.ledgers() {
            let verifier = Verifier::new(listed.root.clone(), policy.clone())?;
            verifiers.insert(listed.root.chain_id.clone(), verifier);
        }
        Ok(Self { list, verifiers, policy })
    }

    /// The trust list.
    pub fn list(&self) -> &TrustList {
        &self.list
    }

    /// Replaces the policy (the caches stay valid: they depend on the trust roots only).
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    /// The caches' counters, summed over the ledgers.
    pub fn cache_stats(&self) -> CacheStats {
        self.verifiers.values().map(Verifier::cache_stats).fold(CacheStats::default(), |a, b| {
            CacheStats {
                entries: a.entries + b.entries,
                hits: a.hits + b.hits,
                misses: a.misses + b.misses,
            }
        })
    }

    /// [`TrustList::verify_linked`] through the caches.
    pub fn verify_linked(
        &mut self,
        linked: &LinkedBundle,
        now: u64,
    ) -> Result<Verdict, VerifyError> {
        let policy = self.policy.clone();
        let (list, verifiers) = (&self.list, &mut self.verifiers);
        verify_linked_with(linked, &policy, |bundle, policy| {
            let origin = checkpoint_origin(&bundle.proofs.checkpoint)?;
            let (Some(listed), Some(verifier)) = (list.get(origin), verifiers.get_mut(origin))
            else {
                return Ok(Verdict::Invalid(list.unlisted_reason()));
            };
            Ok(label(verifier.decide_under(bundle, policy, now)?, listed))
        })
    }
}

#[cfg(test)]
mod tests;
