//! Deterministic scenarios for tests, demos and the project's vectors.
//!
//! [`SeededRng`] is a SHA-256 counter-mode generator: the same seed gives the same keys, salts
//! and nonces, so generated vectors are reproducible byte for byte. It is for tests and vectors
//! only; production keys come from the operating system's generator in the node and wallet.
//!
//! [`Scenario`] drives a [`Ledger`] directly (no consensus, no I/O): founding departments,
//! registered types and issuers, issuance, status changes, quorum checkpoints and bundles, the way
//! the node and wallet do it for real.

use rand_core::{CryptoRng, RngCore};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::bundle::{Bundle, Presentation, Proofs};
use crate::codec::{Decode, Encode};
use crate::issuance::{self, IssueError, Issued};
use crate::ledger::{
    self, AnchorIssuance, BlockOutcome, ChangeStatus, CredentialRecord, CredentialStatus,
    Department, EntryBody, EntryError, Genesis, IssuerRecord, Ledger, LogLeaf, RegisterIssuer,
    SignedEntry,
};
use crate::note::{LedgerCheckpoint, Note, NoteSigner};
use crate::profiles::{self, CredentialType};
pub use crate::profiles::{example_claims, register_type};
use crate::sig::{PublicKey, SecretKey};
use crate::verify::{Policy, TrustRoot};

/// A reproducible random generator for tests and vectors (never for production keys).
#[derive(Clone, Debug)]
pub struct SeededRng {
    seed: [u8; 32],
    counter: u64,
    buf: [u8; 32],
    used: usize,
}

impl SeededRng {
    /// A generator for `seed`.
    pub fn new(seed: [u8; 32]) -> Self {
        Self { seed, counter: 0, buf: [0; 32], used: 32 }
    }

    /// A generator seeded from a label, for readable test code.
    pub fn from_label(label: &str) -> Self {
        Self::new(Sha256::digest(label.as_bytes()).into())
    }

    fn refill(&mut self) {
        let mut h = Sha256::new();
        h.update(b"certledger/testkit/rng");
        h.update(self.seed);
        h.update(self.counter.to_be_bytes());
        self.buf = h.finalize().into();
        self.counter = self.counter.wrapping_add(1);
        self.used = 0;
    }
}

impl RngCore for SeededRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_be_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_be_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for byte in dest {
            if self.used == self.buf.len() {
                self.refill();
            }
            *byte = self.buf[self.used];
            self.used += 1;
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

// Deterministic by design; acceptable for tests and published vectors, whose keys are public.
impl CryptoRng for SeededRng {}

/// The founding departments of the standard scenario: id, Chinese name, English name.
pub const STANDARD_DEPARTMENTS: &[(&str, &str, &str)] = &[
    ("education", "教育部门", "Department of Education"),
    ("market-regulation", "市场监督管理部门", "Market Regulation Administration"),
    ("public-security", "公安部门", "Public Security Department"),
    ("transport", "交通运输部门", "Transport Department"),
];

/// A department's keys in a scenario.
#[derive(Clone, Debug)]
pub struct DepartmentKeys {
    /// The department id.
    pub id: String,
    /// Node key (consensus, checkpoints).
    pub node: SecretKey,
    /// Admin key (registry entries, governance).
    pub admin: SecretKey,
}

/// Why a scenario step failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The ledger refused an entry or block.
    #[error("ledger: {0}")]
    Ledger(#[from] EntryError),
    /// Issuing failed.
    #[error("issuance: {0}")]
    Issue(#[from] IssueError),
    /// A named step could not be done.
    #[error("{0}")]
    Step(&'static str),
}

/// A deterministic ledger with departments, issuers and credentials, for tests and vectors.
#[derive(Debug)]
pub struct Scenario {
    /// The generator every key, salt and nonce comes from.
    pub rng: SeededRng,
    /// The genesis.
    pub genesis: Genesis,
    /// The ledger state machine.
    pub ledger: Ledger,
    /// The founding departments' keys, in genesis order.
    pub departments: Vec<DepartmentKeys>,
    leaves: Vec<Vec<u8>>,
    pending: Vec<SignedEntry>,
}

impl Scenario {
    /// A ledger with the four [`STANDARD_DEPARTMENTS`] at `genesis_time`, with every shipped
    /// credential type registered in block 1.
    pub fn new(label: &str, chain_id: &str, genesis_time: u64) -> Result<Self, ScenarioError> {
        let mut rng = SeededRng::from_label(label);
        let mut departments = Vec::new();
        let mut founding = Vec::new();
        for (id, zh, en) in STANDARD_DEPARTMENTS {
            let keys = DepartmentKeys {
                id: (*id).to_owned(),
                node: SecretKey::generate(&mut rng),
                admin: SecretKey::generate(&mut rng),
            };
            founding.push(Department {
                id: (*id).to_owned(),
                name_zh: (*zh).to_owned(),
                name_en: (*en).to_owned(),
                node_key: keys.node.public_key(),
                admin_keys: vec![keys.admin.public_key()],
            });
            departments.push(keys);
        }
        let genesis =
            Genesis { chain_id: chain_id.to_owned(), genesis_time, departments: founding };
        let ledger = Ledger::from_genesis(&genesis)?;
        let mut scenario =
            Self { rng, genesis, ledger, departments, leaves: Vec::new(), pending: Vec::new() };
        for ty in profiles::ALL {
            let admin = scenario.department(ty.issuing_department)?.admin.clone();
            scenario.submit(&admin, EntryBody::RegisterType(register_type(ty)));
        }
        scenario.commit(1)?;
        Ok(scenario)
    }

    /// The keys of department `id`.
    pub fn department(&self, id: &str) -> Result<&DepartmentKeys, ScenarioError> {
        self.departments
            .iter()
            .find(|d| d.id == id)
            .ok_or(ScenarioError::Step("unknown department"))
    }

    /// The ledger's chain id.
    pub fn chain_id(&self) -> &str {
        &self.genesis.chain_id
    }

    /// Signs `body` with `key` and queues it for the next block.
    pub fn submit(&mut self, key: &SecretKey, body: EntryBody) -> SignedEntry {
        let entry = SignedEntry::sign(key, &self.genesis.chain_id, body);
        self.pending.push(entry.clone());
        entry
    }

    /// Commits the queued entries as the next block, `dt_s` seconds after the previous one.
    pub fn commit(&mut self, dt_s: u64) -> Result<BlockOutcome, ScenarioError> {
        let height = self.ledger.height() + 1;
        let time = self.ledger.time() + dt_s;
        let entries = core::mem::take(&mut self.pending);
        let outcome = self.ledger.apply_block(height, time, &entries)?;
        for entry in entries {
            self.leaves.push(LogLeaf { height, time, entry }.to_bytes());
        }
        Ok(outcome)
    }

    /// Registers a fresh issuer key for `department`, allowed `types`, valid from the next block
    /// for `validity_s` seconds, and commits it.
    pub fn register_issuer(
        &mut self,
        department: &str,
        types: &[&str],
        validity_s: u64,
    ) -> Result<SecretKey, ScenarioError> {
        let issuer = SecretKey::generate(&mut self.rng);
        let admin = self.department(department)?.admin.clone();
        let mut types: Vec<String> = types.iter().map(|t| (*t).to_owned()).collect();
        types.sort();
        let valid_from = self.ledger.time();
        self.submit(
            &admin,
            EntryBody::RegisterIssuer(RegisterIssuer {
                department: department.to_owned(),
                issuer_key: issuer.public_key(),
                types,
                valid_from,
                valid_until: valid_from + validity_s,
                name_zh: format!("{department} 签发机构"),
                name_en: format!("{department} issuer"),
            }),
        );
        self.commit(1)?;
        Ok(issuer)
    }

    /// Issues a credential of `ty` to `holder` at the current ledger time, submits its anchor
    /// and commits it.
    pub fn issue(
        &mut self,
        issuer: &SecretKey,
        ty: &CredentialType,
        claims: &Value,
        holder: &PublicKey,
    ) -> Result<Issued, ScenarioError> {
        let now = self.ledger.time();
        let chain_id = self.genesis.chain_id.clone();
        let issued = issuance::issue(issuer, ty, claims, holder, &chain_id, now, &mut self.rng)?;
        self.submit(issuer, EntryBody::AnchorIssuance(issued.anchor.clone()));
        self.commit(1)?;
        Ok(issued)
    }

    /// Issues a full-disclosure W3C VC like [`Scenario::issue`].
    pub fn issue_w3c(
        &mut self,
        issuer: &SecretKey,
        ty: &CredentialType,
        claims: &Value,
        holder: &PublicKey,
    ) -> Result<issuance::IssuedW3c, ScenarioError> {
        let now = self.ledger.time();
        let chain_id = self.genesis.chain_id.clone();
        let issued =
            issuance::issue_w3c(issuer, ty, claims, holder, &chain_id, now, &mut self.rng)?;
        self.submit(issuer, EntryBody::AnchorIssuance(issued.anchor.clone()));
        self.commit(1)?;
        Ok(issued)
    }

    /// Changes a credential's status and commits it.
    pub fn change_status(
        &mut self,
        issuer: &SecretKey,
        credential_id: [u8; 32],
        status: CredentialStatus,
        reason: u16,
    ) -> Result<(), ScenarioError> {
        let mut nonce = [0u8; 16];
        self.rng.fill_bytes(&mut nonce);
        self.submit(
            issuer,
            EntryBody::ChangeStatus(ChangeStatus { credential_id, status, reason, nonce }),
        );
        self.commit(1)?;
        Ok(())
    }

    /// The current checkpoint, signed by the first `signers` departments' node keys.
    pub fn checkpoint(&self, signers: usize) -> Result<String, ScenarioError> {
        let cp = LedgerCheckpoint {
            origin: self.genesis.chain_id.clone(),
            size: self.ledger.log_size(),
            root: self.ledger.log_root(),
            height: self.ledger.height(),
            time: self.ledger.time(),
            state_root: self.ledger.state_root(),
        };
        self.sign_checkpoint(&cp, signers)
    }

    /// The genesis trust root.
    pub fn trust_root(&self) -> TrustRoot {
        TrustRoot::from_genesis(&self.genesis)
    }

    /// The canonical leaf bytes at log `index`.
    pub fn leaf(&self, index: u64) -> Option<&[u8]> {
        self.leaves.get(usize::try_from(index).ok()?).map(Vec::as_slice)
    }

    /// Builds a bundle for `issued`, presented by `holder` disclosing `disclose` to `audience`
    /// with `nonce` at `iat`, proven against `checkpoint` (which must be the current one).
    #[allow(clippy::too_many_arguments)]
    pub fn bundle(
        &self,
        issued: &Issued,
        holder: &SecretKey,
        disclose: &[&str],
        nonce: &str,
        audience: &str,
        iat: u64,
        checkpoint: &str,
    ) -> Result<Bundle, ScenarioError> {
        let sd_jwt = crate::sdjwt::SdJwt::parse(&issued.sd_jwt)
            .map_err(|_| ScenarioError::Step("parse issued SD-JWT"))?;
        let presentation = sd_jwt
            .present(disclose, holder, nonce, audience, iat)
            .map_err(|_| ScenarioError::Step("present SD-JWT"))?;
        let proofs = self.proofs(&issued.anchor, checkpoint)?;
        Ok(Bundle { presentation: Presentation::SdJwt(presentation), proofs })
    }

    /// Builds a bundle for a W3C VC like [`Scenario::bundle`] (full disclosure).
    pub fn bundle_w3c(
        &self,
        issued: &issuance::IssuedW3c,
        holder: &SecretKey,
        nonce: &str,
        audience: &str,
        iat: u64,
        checkpoint: &str,
    ) -> Result<Bundle, ScenarioError> {
        let vp = crate::w3c::present(&issued.vc_json, holder, nonce, audience, iat)
            .map_err(|_| ScenarioError::Step("present W3C VC"))?;
        let proofs = self.proofs(&issued.anchor, checkpoint)?;
        Ok(Bundle { presentation: Presentation::W3cVp(vp), proofs })
    }

    /// The proofs for an anchored credential against `checkpoint` (the current one).
    pub fn proofs(
        &self,
        anchor: &AnchorIssuance,
        checkpoint: &str,
    ) -> Result<Proofs, ScenarioError> {
        let record = self.credential_record(anchor)?;
        let size = self.ledger.log_size();
        let anchor_leaf =
            self.leaf(record.log_index).ok_or(ScenarioError::Step("anchor leaf"))?.to_vec();
        let anchor_proof = self
            .ledger
            .inclusion_proof(record.log_index, size)
            .map_err(|_| ScenarioError::Step("inclusion proof"))?;
        let credential_proof = self
            .ledger
            .prove_state(&ledger::credential_state_key(&anchor.credential_id))
            .map_err(|_| ScenarioError::Step("credential proof"))?;
        let issuer_record = self.issuer_record(&record.issuer_key)?;
        let issuer_proof = self
            .ledger
            .prove_state(&ledger::issuer_state_key(&record.issuer_key))
            .map_err(|_| ScenarioError::Step("issuer proof"))?;
        Ok(Proofs {
            anchor_leaf,
            anchor_proof,
            credential_record: record,
            credential_proof,
            issuer_record,
            issuer_proof,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// The current state record of an anchored credential.
    pub fn credential_record(
        &self,
        anchor: &AnchorIssuance,
    ) -> Result<CredentialRecord, ScenarioError> {
        let bytes = self
            .ledger
            .state_value(&ledger::credential_state_key(&anchor.credential_id))
            .map_err(|_| ScenarioError::Step("state lookup"))?
            .ok_or(ScenarioError::Step("credential not anchored"))?;
        CredentialRecord::from_bytes(&bytes).map_err(|_| ScenarioError::Step("credential record"))
    }

    /// The current registry record of an issuer key.
    pub fn issuer_record(&self, key: &PublicKey) -> Result<IssuerRecord, ScenarioError> {
        let bytes = self
            .ledger
            .state_value(&ledger::issuer_state_key(key))
            .map_err(|_| ScenarioError::Step("state lookup"))?
            .ok_or(ScenarioError::Step("issuer not registered"))?;
        IssuerRecord::from_bytes(&bytes).map_err(|_| ScenarioError::Step("issuer record"))
    }
}

/// One generated verification case.
#[derive(Clone, Debug)]
pub struct Case {
    /// Short name, e.g. `revoked`.
    pub name: &'static str,
    /// What the case shows.
    pub description: &'static str,
    /// The bundle in text form.
    pub bundle_text: String,
    /// The verifier's policy.
    pub policy: Policy,
    /// Verification time (Unix seconds).
    pub now: u64,
    /// `"valid"` or the expected reason code.
    pub expect: &'static str,
}

/// A trust root with the cases to verify against it.
#[derive(Clone, Debug)]
pub struct CaseSet {
    /// The genesis trust root.
    pub trust_root: TrustRoot,
    /// The cases.
    pub cases: Vec<Case>,
}

/// The chain id of the generated cases.
pub const CASES_CHAIN_ID: &str = "cn.gov.certledger.vectors";
/// Genesis time of the generated cases: 2026-01-01T00:00:00Z.
pub const CASES_GENESIS_TIME: u64 = 1_767_225_600;
/// The verifier audience of the generated cases.
pub const CASES_AUDIENCE: &str = "verifier:shanghai-pudong-service-centre";

/// Builds the standard cases: one valid bundle per presentation style and one invalid variant
/// per reason code, all from the fixed seed `label`.
pub fn standard_cases(label: &str) -> Result<CaseSet, ScenarioError> {
    let mut s = Scenario::new(label, CASES_CHAIN_ID, CASES_GENESIS_TIME)?;
    let year = 365 * 86_400;
    let bl = &profiles::BUSINESS_LICENCE;
    let ia = &profiles::IDENTITY_ATTESTATION;
    let market = s.register_issuer("market-regulation", &[bl.id], 5 * year)?;
    let police = s.register_issuer("public-security", &[ia.id], 5 * year)?;
    let holder = SecretKey::generate(&mut s.rng);

    let licence = s.issue(&market, bl, &example_claims(bl), &holder.public_key())?;
    let identity = s.issue(&police, ia, &example_claims(ia), &holder.public_key())?;
    let revoked = s.issue(&market, bl, &example_claims(bl), &holder.public_key())?;
    s.change_status(&market, revoked.credential_id, CredentialStatus::Revoked, 3)?;
    let suspended = s.issue(&market, bl, &example_claims(bl), &holder.public_key())?;
    s.change_status(&market, suspended.credential_id, CredentialStatus::Suspended, 7)?;
    let stolen = s.register_issuer("market-regulation", &[bl.id], 5 * year)?;
    let after_theft = s.issue(&stolen, bl, &example_claims(bl), &holder.public_key())?;
    let anchored_at = s.credential_record(&after_theft.anchor)?.anchored_time;
    let admin = s.department("market-regulation")?.admin.clone();
    s.submit(
        &admin,
        EntryBody::CompromiseIssuer(ledger::CompromiseIssuer {
            issuer_key: stolen.public_key(),
            since: anchored_at,
        }),
    );
    s.commit(1)?;
    let w3c_licence = s.issue_w3c(&market, bl, &example_claims(bl), &holder.public_key())?;

    let checkpoint = s.checkpoint(s.departments.len())?;
    let under_quorum = s.checkpoint(ledger::quorum_threshold(s.departments.len()) - 1)?;
    let now = s.ledger.time() + 30;
    let iat = now - 5;
    let mut nonce_bytes = [0u8; 16];
    s.rng.fill_bytes(&mut nonce_bytes);
    let nonce = base64url(&nonce_bytes);
    let policy = Policy::new(&nonce, CASES_AUDIENCE);
    let shown = ["credit_code", "entity_name", "legal_representative"];
    let bundle = |issued: &Issued, disclose: &[&str], iat: u64, cp: &str| {
        s.bundle(issued, &holder, disclose, &nonce, CASES_AUDIENCE, iat, cp)
    };
    let valid = bundle(&licence, &shown, iat, &checkpoint)?;
    let mut cases = Vec::new();
    let mut case = |name, description, bundle: &Bundle, policy: &Policy, now, expect| {
        cases.push(Case {
            name,
            description,
            bundle_text: bundle.to_text(),
            policy: policy.clone(),
            now,
            expect,
        });
    };

    case("valid", "a business licence showing three claims", &valid, &policy, now, "valid");
    let mut loa = policy.clone();
    loa.min_assurance_level = Some(3);
    loa.required_claims = vec!["age_over_18".into()];
    let id_bundle = bundle(&identity, &["age_over_18", "region"], iat, &checkpoint)?;
    case(
        "valid_identity",
        "an identity attestation showing age over 18 and region, level 3 required",
        &id_bundle,
        &loa,
        now,
        "valid",
    );

    let tampered = with_presentation(&valid, tamper_disclosure(&valid)?);
    case(
        "tampered_claim",
        "a disclosed claim value changed after issuance",
        &tampered,
        &policy,
        now,
        "tampered_disclosure",
    );
    let mut other = policy.clone();
    other.challenge.nonce = base64url(&[9u8; 16]);
    case(
        "wrong_nonce",
        "a presentation made for another request",
        &valid,
        &other,
        now,
        "nonce_mismatch",
    );
    let mut other = policy.clone();
    other.challenge.audience = "verifier:another-agency".into();
    case(
        "wrong_audience",
        "a presentation made for another verifier",
        &valid,
        &other,
        now,
        "audience_mismatch",
    );
    let b = bundle(&revoked, &shown, iat, &checkpoint)?;
    case("revoked", "a licence revoked by its issuer", &b, &policy, now, "revoked");
    let b = bundle(&suspended, &shown, iat, &checkpoint)?;
    case("suspended", "a licence suspended by its issuer", &b, &policy, now, "suspended");
    let late = CASES_GENESIS_TIME + 11 * year;
    let b = bundle(&licence, &shown, late - 5, &checkpoint)?;
    let mut lax = policy.clone();
    lax.max_checkpoint_age_s = 20 * year;
    case("expired", "a licence presented after its expiry", &b, &lax, late, "expired");
    let stale_now = now + 25 * 3600;
    let b = bundle(&licence, &shown, stale_now - 5, &checkpoint)?;
    case(
        "stale_checkpoint",
        "a checkpoint older than the 24 h policy",
        &b,
        &policy,
        stale_now,
        "stale_checkpoint",
    );
    let b = forge_issuer_types(&s, &valid, &[profiles::DIPLOMA.id])?;
    case(
        "issuer_not_authorised",
        "a registry (signed by a colluding quorum) whose issuer may not issue this type",
        &b,
        &policy,
        now,
        "issuer_not_authorised",
    );
    let b = bundle(&licence, &shown, iat, &under_quorum)?;
    case(
        "under_quorum",
        "a checkpoint signed by fewer departments than the threshold",
        &b,
        &policy,
        now,
        "quorum_not_met",
    );
    let b = with_presentation(&valid, strip_key_binding(&valid)?);
    case(
        "holder_binding_missing",
        "the key-binding JWT removed",
        &b,
        &policy,
        now,
        "holder_binding_missing",
    );
    let b = with_presentation(&valid, corrupt_issuer_signature(&valid)?);
    case(
        "bad_issuer_signature",
        "the issuer signature altered",
        &b,
        &policy,
        now,
        "bad_issuer_signature",
    );
    let b = bundle(&after_theft, &shown, iat, &checkpoint)?;
    case(
        "issuer_key_compromised",
        "issued with a key reported compromised since then",
        &b,
        &policy,
        now,
        "issuer_key_compromised",
    );
    let mut b = valid.clone();
    let other_bundle = bundle(&revoked, &shown, iat, &checkpoint)?;
    b.proofs.anchor_leaf = other_bundle.proofs.anchor_leaf.clone();
    b.proofs.anchor_proof = other_bundle.proofs.anchor_proof.clone();
    b.proofs.credential_record = other_bundle.proofs.credential_record.clone();
    b.proofs.credential_proof = other_bundle.proofs.credential_proof.clone();
    case(
        "not_anchored",
        "proofs of another credential stapled to this one",
        &b,
        &policy,
        now,
        "not_anchored",
    );
    let mut b = valid.clone();
    b.proofs.checkpoint = corrupt_first_signature(&checkpoint)?;
    case(
        "bad_checkpoint_signature",
        "a department's checkpoint signature altered",
        &b,
        &policy,
        now,
        "bad_checkpoint_signature",
    );
    let mut b = valid.clone();
    b.proofs.checkpoint =
        s.checkpoint_for_origin("cn.gov.certledger.other", s.departments.len())?;
    case("wrong_ledger", "a checkpoint of another ledger", &b, &policy, now, "wrong_ledger");
    let b = bundle(&licence, &shown, now - 3600, &checkpoint)?;
    case(
        "presentation_not_fresh",
        "a key-binding JWT an hour old",
        &b,
        &policy,
        now,
        "presentation_not_fresh",
    );
    let mut only = policy.clone();
    only.accepted_types = vec![profiles::DIPLOMA.id.into()];
    case(
        "type_not_accepted",
        "a licence where only diplomas are accepted",
        &valid,
        &only,
        now,
        "type_not_accepted",
    );
    let mut high = policy.clone();
    high.min_assurance_level = Some(4);
    case(
        "assurance_too_low",
        "level 3 where level 4 is required",
        &id_bundle,
        &high,
        now,
        "assurance_too_low",
    );
    let mut needs = policy.clone();
    needs.required_claims = vec!["address".into()];
    case(
        "claim_not_disclosed",
        "a required claim withheld",
        &valid,
        &needs,
        now,
        "claim_not_disclosed",
    );
    let mut b = bundle(&revoked, &shown, iat, &checkpoint)?;
    b.proofs.credential_record.status = CredentialStatus::Active;
    case(
        "bad_state_proof",
        "a revoked credential's record altered to active",
        &b,
        &policy,
        now,
        "bad_state_proof",
    );

    let w3c = s.bundle_w3c(&w3c_licence, &holder, &nonce, CASES_AUDIENCE, iat, &checkpoint)?;
    case(
        "valid_w3c",
        "a full-disclosure W3C VC 2.0 licence (eddsa-jcs-2022)",
        &w3c,
        &policy,
        now,
        "valid",
    );
    let mut other = policy.clone();
    other.challenge.nonce = base64url(&[7u8; 16]);
    case(
        "w3c_wrong_nonce",
        "a W3C presentation made for another request",
        &w3c,
        &other,
        now,
        "nonce_mismatch",
    );
    let b = edit_w3c(&w3c, |vp| {
        vp["verifiableCredential"][0]["credentialSubject"]["legal_representative"] =
            Value::String("篡改后的值 (tampered)".into());
    })?;
    case(
        "w3c_tampered_claim",
        "a W3C credential's claim changed after issuance",
        &b,
        &policy,
        now,
        "bad_issuer_signature",
    );
    let b = edit_w3c(&w3c, |vp| {
        if let Some(obj) = vp.as_object_mut() {
            obj.remove("proof");
        }
    })?;
    case(
        "w3c_holder_binding_missing",
        "a W3C presentation without the holder's proof",
        &b,
        &policy,
        now,
        "holder_binding_missing",
    );

    Ok(CaseSet { trust_root: s.trust_root(), cases })
}

/// A copy of a W3C bundle whose presentation JSON `edit` changed (re-canonicalised).
fn edit_w3c(bundle: &Bundle, edit: impl FnOnce(&mut Value)) -> Result<Bundle, ScenarioError> {
    let Presentation::W3cVp(text) = &bundle.presentation else {
        return Err(ScenarioError::Step("not a W3C presentation"));
    };
    let mut vp: Value =
        serde_json::from_str(text).map_err(|_| ScenarioError::Step("W3C presentation JSON"))?;
    edit(&mut vp);
    let text = crate::jcs::canonicalize(&vp).map_err(|_| ScenarioError::Step("canonicalize"))?;
    let mut out = bundle.clone();
    out.presentation = Presentation::W3cVp(text);
    Ok(out)
}

impl Scenario {
    /// The current ledger head signed as a checkpoint of another origin (for wrong-ledger tests).
    pub fn checkpoint_for_origin(
        &self,
        origin: &str,
        signers: usize,
    ) -> Result<String, ScenarioError> {
        let cp = LedgerCheckpoint {
            origin: origin.to_owned(),
            size: self.ledger.log_size(),
            root: self.ledger.log_root(),
            height: self.ledger.height(),
            time: self.ledger.time(),
            state_root: self.ledger.state_root(),
        };
        self.sign_checkpoint(&cp, signers)
    }

    fn sign_checkpoint(
        &self,
        cp: &LedgerCheckpoint,
        signers: usize,
    ) -> Result<String, ScenarioError> {
        let mut note =
            Note::new(&cp.to_body()).map_err(|_| ScenarioError::Step("checkpoint body"))?;
        for d in self.departments.iter().take(signers) {
            let signer = NoteSigner::new(&d.id, d.node.clone())
                .map_err(|_| ScenarioError::Step("note signer"))?;
            note.sign(&signer).map_err(|_| ScenarioError::Step("sign checkpoint"))?;
        }
        Ok(note.to_text())
    }
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn sd_jwt_text(bundle: &Bundle) -> &str {
    bundle.presentation.sd_jwt().unwrap_or_default()
}

fn with_presentation(bundle: &Bundle, text: String) -> Bundle {
    let mut out = bundle.clone();
    out.presentation = Presentation::SdJwt(text);
    out
}

/// Replaces the first disclosure's value with another one, keeping its salt and name.
fn tamper_disclosure(bundle: &Bundle) -> Result<String, ScenarioError> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts: Vec<String> = sd_jwt_text(bundle).split('~').map(str::to_owned).collect();
    let first = parts.get_mut(1).ok_or(ScenarioError::Step("no disclosure to tamper with"))?;
    let raw = b64.decode(first.as_bytes()).map_err(|_| ScenarioError::Step("disclosure"))?;
    let mut arr: Vec<Value> =
        serde_json::from_slice(&raw).map_err(|_| ScenarioError::Step("disclosure JSON"))?;
    let value = arr.get_mut(2).ok_or(ScenarioError::Step("disclosure shape"))?;
    *value = Value::String("篡改后的值 (tampered)".into());
    let json = serde_json::to_vec(&arr).map_err(|_| ScenarioError::Step("disclosure JSON"))?;
    *first = b64.encode(json);
    Ok(parts.join("~"))
}

/// Drops the key-binding JWT, keeping the trailing `~`.
fn strip_key_binding(bundle: &Bundle) -> Result<String, ScenarioError> {
    let text = sd_jwt_text(bundle);
    let cut = text.rfind('~').ok_or(ScenarioError::Step("no key-binding JWT"))?;
    Ok(text[..=cut].to_owned())
}

/// Changes one character of the issuer JWT's signature.
fn corrupt_issuer_signature(bundle: &Bundle) -> Result<String, ScenarioError> {
    let text = sd_jwt_text(bundle);
    let jwt_end = text.find('~').ok_or(ScenarioError::Step("issuer JWT"))?;
    let sig_start = text[..jwt_end].rfind('.').ok_or(ScenarioError::Step("issuer JWT"))? + 1;
    let mut bytes = text.as_bytes().to_vec();
    let at = sig_start + 5;
    let b = bytes.get_mut(at).ok_or(ScenarioError::Step("issuer JWT signature"))?;
    *b = if *b == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).map_err(|_| ScenarioError::Step("issuer JWT"))
}

/// Flips a bit in the first signature line's signature bytes, keeping the key name and id.
fn corrupt_first_signature(checkpoint: &str) -> Result<String, ScenarioError> {
    use base64::Engine as _;
    let std = base64::engine::general_purpose::STANDARD;
    let mut lines: Vec<String> = checkpoint.lines().map(str::to_owned).collect();
    let line = lines
        .iter_mut()
        .find(|l| l.starts_with("\u{2014} "))
        .ok_or(ScenarioError::Step("no signature line"))?;
    let (prefix, b64) = line.rsplit_once(' ').ok_or(ScenarioError::Step("signature line"))?;
    let mut raw = std.decode(b64).map_err(|_| ScenarioError::Step("signature base64"))?;
    let last = raw.last_mut().ok_or(ScenarioError::Step("signature bytes"))?;
    *last ^= 1;
    *line = format!("{prefix} {}", std.encode(raw));
    Ok(lines.join("\n") + "\n")
}

/// The same anchor under a state (signed by every department, as a colluding quorum could) in
/// which the issuer record allows only `types`: the verifier's own authorisation check must
/// still refuse it.
fn forge_issuer_types(
    s: &Scenario,
    valid: &Bundle,
    types: &[&str],
) -> Result<Bundle, ScenarioError> {
    let mut record = valid.proofs.issuer_record.clone();
    record.types = types.iter().map(|t| (*t).to_owned()).collect();
    let mut state = crate::smt::Smt::default();
    let cred_key = ledger::credential_state_key(&valid.proofs.credential_record.credential_id);
    let issuer_key = ledger::issuer_state_key(&record.issuer_key);
    let step = |_| ScenarioError::Step("forged state");
    state.insert(cred_key, ledger::encode_record(&valid.proofs.credential_record)).map_err(step)?;
    state.insert(issuer_key, ledger::encode_record(&record)).map_err(step)?;
    let mut log = crate::merkle::MerkleLog::new();
    log.append_data(&valid.proofs.anchor_leaf).map_err(|_| ScenarioError::Step("forged log"))?;
    let cp = LedgerCheckpoint {
        origin: s.genesis.chain_id.clone(),
        size: 1,
        root: log.root(),
        height: s.ledger.height(),
        time: s.ledger.time(),
        state_root: state.root(),
    };
    let mut out = valid.clone();
    out.proofs.anchor_proof =
        log.inclusion_proof(0, 1).map_err(|_| ScenarioError::Step("forged proof"))?;
    out.proofs.credential_proof = state.prove(&cred_key).map_err(step)?;
    out.proofs.issuer_proof = state.prove(&issuer_key).map_err(step)?;
    out.proofs.issuer_record = record;
    out.proofs.checkpoint = s.sign_checkpoint(&cp, s.departments.len())?;
    Ok(out)
}

/// The label the identity-extension vectors (`specs/vectors/identity-bundles.json`) are
/// generated from.
pub const IDENTITY_VECTORS_LABEL: &str = "certledger/specs/vectors/identity-bundles/v1";

/// The verifier audience (and pseudonym verifier id) of the identity-extension cases.
pub const IDENTITY_CASES_AUDIENCE: &str = "verifier:pudong-hotel-registration";

/// Builds the identity-extension cases (`specs/identity.md`): a wallet secret, an identity
/// attestation batch bound to holder keys derived from it, a business licence bound to the
/// wallet's main key and a driving licence bound to the first batch key; valid bundles with a
/// pseudonym and linked credentials, and one invalid variant per way a pseudonym or link can
/// fail (plus the per-credential reasons a linked credential still gets).
pub fn identity_cases(label: &str) -> Result<CaseSet, ScenarioError> {
    use crate::bundle::{LinkedBundle, LinkedCredential};
    use crate::pseudonym::{derive_holder_key, LinkProof, PseudonymProof};
    let step = |what| move |_| ScenarioError::Step(what);
    let mut s = Scenario::new(label, CASES_CHAIN_ID, CASES_GENESIS_TIME)?;
    let year = 365 * 86_400;
    let (bl, dl, ia) =
        (&profiles::BUSINESS_LICENCE, &profiles::DRIVING_LICENCE, &profiles::IDENTITY_ATTESTATION);
    let market = s.register_issuer("market-regulation", &[bl.id], 5 * year)?;
    let traffic = s.register_issuer("transport", &[dl.id], 5 * year)?;
    let police = s.register_issuer("public-security", &[ia.id], 5 * year)?;
    let mut wallet_secret = [0u8; 32];
    s.rng.fill_bytes(&mut wallet_secret);
    let main_key = SecretKey::generate(&mut s.rng);
    let copy0 = derive_holder_key(&wallet_secret, 0).map_err(step("holder key"))?;
    let copy1 = derive_holder_key(&wallet_secret, 1).map_err(step("holder key"))?;
    let att0 = s.issue(&police, ia, &example_claims(ia), &copy0.public_key())?;
    // A second copy of the batch, anchored like the first; no case presents it.
    s.issue(&police, ia, &example_claims(ia), &copy1.public_key())?;
    let licence = s.issue(&market, bl, &example_claims(bl), &main_key.public_key())?;
    let driving = s.issue(&traffic, dl, &example_claims(dl), &copy0.public_key())?;
    let revoked = s.issue(&market, bl, &example_claims(bl), &main_key.public_key())?;
    s.change_status(&market, revoked.credential_id, CredentialStatus::Revoked, 3)?;

    let checkpoint = s.checkpoint(s.departments.len())?;
    let now = s.ledger.time() + 30;
    let iat = now - 5;
    let mut nonce_bytes = [0u8; 16];
    s.rng.fill_bytes(&mut nonce_bytes);
    let nonce = base64url(&nonce_bytes);
    let other_nonce = base64url(&[5u8; 16]);
    let aud = IDENTITY_CASES_AUDIENCE;
    let mut policy = Policy::new(&nonce, aud);
    policy.min_assurance_level = Some(3);
    policy.required_claims = vec!["age_over_18".into()];
    let mut with_licence = policy.clone();
    with_licence.required_claims = vec!["age_over_18".into(), "entity_name".into()];
    let id_shown = ["age_over_18"];
    let bl_shown = ["credit_code", "entity_name"];

    let main = s.bundle(&att0, &copy0, &id_shown, &nonce, aud, iat, &checkpoint)?;
    let pseudonym = PseudonymProof::create(&wallet_secret, aud, &nonce, &copy0.public_key())
        .map_err(step("pseudonym proof"))?;
    let linked_item = |b: Bundle, link: Option<LinkProof>| LinkedCredential {
        presentation: b.presentation,
        proofs: b.proofs,
        link,
    };
    let link = |second: &SecretKey, nonce: &str| {
        LinkProof::create(&copy0, second, aud, nonce).map_err(step("link proof"))
    };
    let licence_bundle = s.bundle(&licence, &main_key, &bl_shown, &nonce, aud, iat, &checkpoint)?;
    let good_link = link(&main_key, &nonce)?;
    let with = |items: Vec<LinkedCredential>| LinkedBundle {
        main: main.clone(),
        pseudonym: Some(pseudonym),
        linked: items,
    };

    let mut cases = Vec::new();
    let mut case = |name, description, bundle: &LinkedBundle, policy: &Policy, expect| {
        cases.push(Case {
            name,
            description,
            bundle_text: bundle.to_text(),
            policy: policy.clone(),
            now,
            expect,
        });
    };
    case(
        "identity_plain",
        "an attestation copy without the extension (a plain bundle)",
        &LinkedBundle::from(main.clone()),
        &policy,
        "valid",
    );
    case(
        "identity_pseudonym",
        "an attestation copy with the wallet's pseudonym for this verifier",
        &with(Vec::new()),
        &policy,
        "valid",
    );
    let linked_licence = with(vec![linked_item(licence_bundle.clone(), Some(good_link))]);
    case(
        "identity_linked_licence",
        "an attestation copy, a pseudonym and a business licence under another key, linked",
        &linked_licence,
        &with_licence,
        "valid",
    );
    let driving_bundle =
        s.bundle(&driving, &copy0, &["vehicle_classes"], &nonce, aud, iat, &checkpoint)?;
    case(
        "identity_linked_same_key",
        "a driving licence bound to the attestation copy's own key: no link proof needed",
        &with(vec![linked_item(driving_bundle.clone(), None)]),
        &policy,
        "valid",
    );

    let wrong = PseudonymProof::create(&wallet_secret, aud, &other_nonce, &copy0.public_key())
        .map_err(step("pseudonym proof"))?;
    let mut b = with(Vec::new());
    b.pseudonym = Some(wrong);
    case(
        "pseudonym_other_request",
        "a pseudonym proof made for another nonce",
        &b,
        &policy,
        "bad_pseudonym_proof",
    );
    let wrong = PseudonymProof::create(&wallet_secret, aud, &nonce, &copy1.public_key())
        .map_err(step("pseudonym proof"))?;
    let mut b = with(Vec::new());
    b.pseudonym = Some(wrong);
    case(
        "pseudonym_other_holder_key",
        "a pseudonym proof bound to another batch copy's holder key",
        &b,
        &policy,
        "bad_pseudonym_proof",
    );
    let wrong = PseudonymProof::create(
        &wallet_secret,
        "verifier:another-hotel",
        &nonce,
        &copy0.public_key(),
    )
    .map_err(step("pseudonym proof"))?;
    let mut b = with(Vec::new());
    b.pseudonym = Some(wrong);
    case(
        "pseudonym_other_verifier",
        "the pseudonym (and proof) of another verifier",
        &b,
        &policy,
        "bad_pseudonym_proof",
    );
    let mut forged = pseudonym;
    forged.pseudonym = crate::pseudonym::pseudonym(&[7u8; 32], aud).map_err(step("pseudonym"))?;
    let mut b = with(Vec::new());
    b.pseudonym = Some(forged);
    case(
        "pseudonym_substituted",
        "another wallet's pseudonym with this wallet's signature",
        &b,
        &policy,
        "bad_pseudonym_proof",
    );

    case(
        "link_missing",
        "a licence under another holder key without a link proof",
        &with(vec![linked_item(licence_bundle.clone(), None)]),
        &with_licence,
        "bad_link_proof",
    );
    let other_link = LinkProof::create(&copy1, &main_key, aud, &nonce).map_err(step("link"))?;
    case(
        "link_other_copy",
        "a link from another batch copy's key, not the presented one",
        &with(vec![linked_item(licence_bundle.clone(), Some(other_link))]),
        &with_licence,
        "bad_link_proof",
    );
    let reversed = LinkProof::create(&main_key, &copy0, aud, &nonce).map_err(step("link"))?;
    case(
        "link_reversed",
        "a link naming the two keys in the wrong order",
        &with(vec![linked_item(licence_bundle.clone(), Some(reversed))]),
        &with_licence,
        "bad_link_proof",
    );
    case(
        "link_other_request",
        "a link made for another nonce",
        &with(vec![linked_item(licence_bundle.clone(), Some(link(&main_key, &other_nonce)?))]),
        &with_licence,
        "bad_link_proof",
    );
    let stranger = SecretKey::generate(&mut s.rng);
    let mut half = good_link;
    half.second_signature =
        LinkProof::create(&copy0, &stranger, aud, &nonce).map_err(step("link"))?.second_signature;
    case(
        "link_forged_signature",
        "a link whose licence-key signature is not the licence key's",
        &with(vec![linked_item(licence_bundle.clone(), Some(half))]),
        &with_licence,
        "bad_link_proof",
    );
    let self_link = LinkProof {
        first_key: copy0.public_key(),
        first_signature: good_link.first_signature,
        second_key: copy0.public_key(),
        second_signature: good_link.first_signature,
    };
    case(
        "link_to_itself",
        "a same-key credential carrying a link of the key with itself",
        &with(vec![linked_item(driving_bundle, Some(self_link))]),
        &policy,
        "bad_link_proof",
    );
    let revoked_bundle = s.bundle(&revoked, &main_key, &bl_shown, &nonce, aud, iat, &checkpoint)?;
    case(
        "linked_revoked",
        "a linked licence revoked by its issuer",
        &with(vec![linked_item(revoked_bundle, Some(good_link))]),
        &with_licence,
        "revoked",
    );
    let stale = s.bundle(&licence, &main_key, &bl_shown, &other_nonce, aud, iat, &checkpoint)?;
    case(
        "linked_other_request",
        "a linked licence presented for another nonce",
        &with(vec![linked_item(stale, Some(good_link))]),
        &with_licence,
        "nonce_mismatch",
    );
    let mut needs = with_licence.clone();
    needs.required_claims.push("address".into());
    case(
        "linked_claim_not_disclosed",
        "a required claim neither credential discloses",
        &linked_licence,
        &needs,
        "claim_not_disclosed",
    );
    let mut high = with_licence.clone();
    high.min_assurance_level = Some(4);
    case(
        "linked_assurance_too_low",
        "level 3 where level 4 is required, with a linked licence",
        &linked_licence,
        &high,
        "assurance_too_low",
    );
    Ok(CaseSet { trust_root: s.trust_root(), cases })
}

/// The JSON document of the identity-extension cases (`specs/vectors/identity-bundles.json`).
pub fn identity_cases_json(set: &CaseSet) -> String {
    let cases: Vec<Value> = set
        .cases
        .iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name,
                "description": c.description,
                "now": c.now,
                "policy": c.policy,
                "expect": c.expect,
                "bundle": c.bundle_text,
            })
        })
        .collect();
    let trust_root: Value = serde_json::from_str(&set.trust_root.to_json()).unwrap_or(Value::Null);
    let doc = serde_json::json!({
        "about": "certledger bundles with the identity extension (per-verifier pseudonym, linked credentials) and their expected verdicts under verify::verify_linked (specs/bundle.md, specs/identity.md). Generated by `cargo run -p certledger-core --example gen-identity-vectors` from a fixed seed; keys are public test keys.",
        "format_version": 1,
        "trust_root": trust_root,
        "cases": cases,
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}

/// The label the published vectors in `specs/vectors/bundles.json` are generated from.
pub const VECTORS_LABEL: &str = "certledger/specs/vectors/bundles/v1";

/// The JSON document of a case set, as published in `specs/vectors/bundles.json`.
pub fn cases_json(set: &CaseSet) -> String {
    let cases: Vec<Value> = set
        .cases
        .iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name,
                "description": c.description,
                "now": c.now,
                "policy": c.policy,
                "expect": c.expect,
                "bundle": c.bundle_text,
            })
        })
        .collect();
    let trust_root: Value = serde_json::from_str(&set.trust_root.to_json()).unwrap_or(Value::Null);
    let doc = serde_json::json!({
        "about": "certledger presentation bundles and their expected verdicts (specs/bundle.md). Generated by `cargo run -p certledger-core --example gen-vectors` from a fixed seed; keys are public test keys.",
        "format_version": 1,
        "trust_root": trust_root,
        "cases": cases,
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}

/// A bundle checkpointed after a validator-set change, with the chain that follows the change
/// from the genesis set ([`validator_change_case`]).
#[derive(Clone, Debug)]
pub struct ChainCase {
    /// The genesis (its departments are the starting trust).
    pub genesis: Genesis,
    /// The validator chain from the genesis set to today's.
    pub chain: crate::lightclient::ValidatorChain,
    /// A valid licence bundle whose checkpoint is cosigned by today's set only.
    pub bundle_text: String,
    /// The verifier's policy.
    pub policy: Policy,
    /// Verification time (Unix seconds).
    pub now: u64,
}

/// The chain id of [`validator_change_case`].
pub const CHAIN_CASE_CHAIN_ID: &str = "cn.gov.certledger.vectors.governance";

/// A ledger whose four founding departments add `health` and remove `transport` (approved by
/// three of four, effective at height 6), then issue a licence whose bundle is proven against a
/// height-6 checkpoint cosigned by three of the new set, only two of them founders (below the
/// genesis quorum); with the chain a node would serve.
pub fn validator_change_case(label: &str) -> Result<ChainCase, ScenarioError> {
    let mut s = Scenario::new(label, CHAIN_CASE_CHAIN_ID, CASES_GENESIS_TIME)?;
    let founders = ["education", "market-regulation", "public-security", "transport"];
    let mut checkpoints = vec![s.checkpoint_by(&founders)?]; // height 1
    let bl = &profiles::BUSINESS_LICENCE;
    let market = s.register_issuer("market-regulation", &[bl.id], 365 * 86_400)?;
    checkpoints.push(s.checkpoint_by(&founders)?); // height 2
    let holder = SecretKey::generate(&mut s.rng);
    let licence = s.issue(&market, bl, &example_claims(bl), &holder.public_key())?;
    checkpoints.push(s.checkpoint_by(&founders)?); // height 3
    let keys = DepartmentKeys {
        id: "health".to_owned(),
        node: SecretKey::generate(&mut s.rng),
        admin: SecretKey::generate(&mut s.rng),
    };
    let health = Department {
        id: keys.id.clone(),
        name_zh: "卫生健康部门".to_owned(),
        name_en: "Health Commission".to_owned(),
        node_key: keys.node.public_key(),
        admin_keys: vec![keys.admin.public_key()],
    };
    s.departments.push(keys);
    let mut change = ledger::ChangeValidators {
        add: vec![health],
        remove: vec!["transport".to_owned()],
        effective_height: 6,
        approvals: Vec::new(),
    };
    let chain_id = s.chain_id().to_owned();
    for id in ["education", "market-regulation", "public-security"] {
        let approval = change.approve(&s.department(id)?.admin, &chain_id);
        change.approvals.push(approval);
    }
    let admin = s.department("education")?.admin.clone();
    s.submit(&admin, EntryBody::ChangeValidators(change));
    s.commit(10)?; // height 4
    checkpoints.push(s.checkpoint_by(&founders)?);
    s.commit(10)?; // height 5: the founders' last height
    checkpoints.push(s.checkpoint_by(&founders)?);
    s.commit(10)?; // height 6: the new set decides
    let today = ["education", "health", "market-regulation", "public-security"];
    checkpoints.push(s.checkpoint_by(&today)?);
    // A quorum of today's set (3 of 4) with only two founders: the genesis set's 3-of-4 rule
    // refuses it, so only a verifier that followed the change accepts the bundle.
    let checkpoint = s.checkpoint_by(&["education", "health", "market-regulation"])?;
    let change_leaves: Vec<(u64, Vec<u8>)> = (0u64..)
        .zip(&s.leaves)
        .filter(|(_, bytes)| {
            LogLeaf::from_bytes(bytes)
                .is_ok_and(|l| matches!(l.entry.body, EntryBody::ChangeValidators(_)))
        })
        .map(|(i, bytes)| (i, bytes.clone()))
        .collect();
    let chain =
        crate::lightclient::build_chain(&s.genesis, &s.ledger, &change_leaves, &checkpoints)
            .map_err(|_| ScenarioError::Step("build the validator chain"))?;
    let now = s.ledger.time() + 30;
    let mut nonce_bytes = [0u8; 16];
    s.rng.fill_bytes(&mut nonce_bytes);
    let nonce = base64url(&nonce_bytes);
    let policy = Policy::new(&nonce, CASES_AUDIENCE);
    let shown = ["credit_code", "entity_name"];
    let bundle =
        s.bundle(&licence, &holder, &shown, &nonce, CASES_AUDIENCE, now - 5, &checkpoint)?;
    Ok(ChainCase { genesis: s.genesis.clone(), chain, bundle_text: bundle.to_text(), policy, now })
}

impl Scenario {
    /// The current checkpoint, signed by the node keys of the departments `ids`.
    pub fn checkpoint_by(&self, ids: &[&str]) -> Result<String, ScenarioError> {
        let cp = LedgerCheckpoint {
            origin: self.genesis.chain_id.clone(),
            size: self.ledger.log_size(),
            root: self.ledger.log_root(),
            height: self.ledger.height(),
            time: self.ledger.time(),
            state_root: self.ledger.state_root(),
        };
        let mut note =
            Note::new(&cp.to_body()).map_err(|_| ScenarioError::Step("checkpoint body"))?;
        for id in ids {
            let d = self.department(id)?;
            let signer = NoteSigner::new(&d.id, d.node.clone())
                .map_err(|_| ScenarioError::Step("note signer"))?;
            note.sign(&signer).map_err(|_| ScenarioError::Step("sign checkpoint"))?;
        }
        Ok(note.to_text())
    }
}

/// The label the trust-list vectors (`specs/vectors/trust-list.json`) are generated from.
pub const TRUST_LIST_VECTORS_LABEL: &str = "certledger/specs/vectors/trust-list/v1";

/// The trust-list vectors' ledgers: chain id, Chinese and English name. The third is not listed.
pub const TRUST_LIST_LEDGERS: [(&str, &str, &str); 3] = [
    ("cn.gov.shanghai.certledger", "上海市", "Shanghai"),
    ("cn.gov.zhejiang.certledger", "浙江省", "Zhejiang"),
    ("cn.gov.jiangsu.certledger", "江苏省", "Jiangsu"),
];

/// One province's ledger in the trust-list vectors.
#[derive(Debug)]
pub struct ProvinceLedger {
    /// The ledger.
    pub scenario: Scenario,
    /// Its root, sequence 1, signed by the admin keys of its first three departments (of four).
    pub root: crate::verify::LedgerRoot,
    /// A valid business-licence bundle from it.
    pub bundle: Bundle,
}

/// The trust-list vectors' ledgers ([`TRUST_LIST_LEDGERS`], in order), each with a signed root
/// and a bundle for the same holder, verifier nonce and time; returns them with the policy and
/// the verification time.
pub fn province_ledgers(label: &str) -> Result<(Vec<ProvinceLedger>, Policy, u64), ScenarioError> {
    let mut rng = SeededRng::from_label(label);
    let holder = SecretKey::generate(&mut rng);
    let mut nonce_bytes = [0u8; 16];
    rng.fill_bytes(&mut nonce_bytes);
    let nonce = base64url(&nonce_bytes);
    let policy = Policy::new(&nonce, CASES_AUDIENCE);
    let now = CASES_GENESIS_TIME + 3600;
    let bl = &profiles::BUSINESS_LICENCE;
    let mut out = Vec::new();
    for (chain_id, zh, en) in TRUST_LIST_LEDGERS {
        let mut s = Scenario::new(&format!("{label}/{chain_id}"), chain_id, CASES_GENESIS_TIME)?;
        let market = s.register_issuer("market-regulation", &[bl.id], 365 * 86_400)?;
        let issued = s.issue(&market, bl, &example_claims(bl), &holder.public_key())?;
        let checkpoint = s.checkpoint(s.departments.len())?;
        let shown = ["credit_code", "entity_name"];
        let bundle =
            s.bundle(&issued, &holder, &shown, &nonce, CASES_AUDIENCE, now - 5, &checkpoint)?;
        let mut root = crate::verify::LedgerRoot::new(
            &s.trust_root(),
            s.genesis.departments.clone(),
            zh,
            en,
            1,
            CASES_GENESIS_TIME,
        )
        .map_err(|_| ScenarioError::Step("ledger root"))?;
        for d in s.departments.iter().take(3) {
            root.sign(&d.admin);
        }
        out.push(ProvinceLedger { scenario: s, root, bundle });
    }
    Ok((out, policy, now))
}

/// The JSON document of the trust-list vectors (`specs/vectors/trust-list.json`).
pub fn trust_list_vectors_json(label: &str) -> Result<String, ScenarioError> {
    use crate::verify::{LedgerRoot, TrustList};
    let (ledgers, policy, now) = province_ledgers(label)?;
    let [sh, zj, js] = &ledgers[..] else {
        return Err(ScenarioError::Step("three ledgers"));
    };
    let list_of = |roots: &[&LedgerRoot]| -> Value {
        serde_json::json!({
            "version": 1,
            "ledgers": roots.iter().map(|r| r.to_json_value()).collect::<Vec<_>>(),
        })
    };
    let value = |root: &LedgerRoot| serde_json::to_value(root.to_json_value()).unwrap_or_default();
    let mut lists = Vec::new();
    let mut list_case = |name: &str, description: &str, json: Value, expect: &str| {
        lists.push(serde_json::json!({
            "name": name, "description": description, "json": json.to_string(), "expect": expect,
        }));
    };
    list_case(
        "two_ledgers",
        "Shanghai and Zhejiang, each signed by 3 of its 4 departments",
        list_of(&[&sh.root, &zj.root]),
        "ok",
    );
    list_case(
        "one_signed_root",
        "one ledger root on its own is a list of one",
        value(&sh.root),
        "ok",
    );
    let plain: Value = serde_json::from_str(
        &sh.scenario.trust_root().to_json_with_departments(&sh.scenario.genesis.departments),
    )
    .unwrap_or_default();
    list_case(
        "plain_trust_root",
        "a plain trust root (the single-root setup) is a list of one",
        plain,
        "ok",
    );
    list_case(
        "duplicate_chain",
        "one chain id listed twice",
        list_of(&[&sh.root, &sh.root]),
        "duplicate",
    );
    let mut two = sh.root.clone();
    two.signatures.truncate(2);
    list_case(
        "two_of_four_signed",
        "signed by only 2 of 4 departments (needs 3)",
        value(&two),
        "not_approved",
    );
    let mut outsider = two.clone();
    outsider.sign(&zj.scenario.departments[0].admin);
    list_case(
        "outsider_signature",
        "2 department signatures plus one by another ledger's admin key",
        value(&outsider),
        "not_approved",
    );
    let mut renamed = sh.root.clone();
    renamed.name_en = "Shanghai (forged)".into();
    list_case(
        "renamed_after_signing",
        "the English name changed after signing",
        value(&renamed),
        "bad_signature",
    );
    let mut weak = sh.root.clone();
    weak.threshold = 2;
    weak.signatures.clear();
    for d in sh.scenario.departments.iter().take(3) {
        weak.sign(&d.admin);
    }
    list_case(
        "weak_threshold",
        "a checkpoint threshold of 2 of 4 departments, correctly signed",
        value(&weak),
        "unusable",
    );
    let mut v2 = value(&sh.root);
    v2["version"] = Value::from(2);
    list_case("unknown_version", "ledger root version 2", v2, "malformed");
    let mut extra = list_of(&[&sh.root]);
    extra["note"] = Value::from("x");
    list_case("unknown_field", "a field the format does not define", extra, "malformed");

    let mut updates = Vec::new();
    let resign = |root: &LedgerRoot, sequence: u64, name_zh: &str| {
        let mut r = root.clone();
        r.sequence = sequence;
        r.name_zh = name_zh.to_owned();
        r.signatures.clear();
        for d in sh.scenario.departments.iter().take(3) {
            r.sign(&d.admin);
        }
        r
    };
    let seq2 = resign(&sh.root, 2, "上海市（更新）");
    let mut update_case =
        |name: &str, description: &str, held: &LedgerRoot, offered: &LedgerRoot, expect: &str| {
            updates.push(serde_json::json!({
                "name": name, "description": description,
                "held": held.to_json(), "offered": offered.to_json(), "expect": expect,
            }));
        };
    update_case(
        "newer_sequence",
        "sequence 2 signed by the held departments replaces sequence 1",
        &sh.root,
        &seq2,
        "updated",
    );
    update_case("same_statement", "the held statement again", &sh.root, &sh.root, "unchanged");
    update_case(
        "rollback",
        "sequence 1 offered while sequence 2 is held",
        &seq2,
        &sh.root,
        "rollback",
    );
    let other_name = resign(&sh.root, 1, "上海");
    update_case(
        "same_sequence_other_content",
        "sequence 1 again with another name",
        &sh.root,
        &other_name,
        "conflict",
    );
    let mut takeover = zj.root.clone();
    takeover.chain_id = sh.root.chain_id.clone();
    takeover.sequence = 5;
    takeover.signatures.clear();
    for d in zj.scenario.departments.iter().take(3) {
        takeover.sign(&d.admin);
    }
    update_case(
        "takeover",
        "sequence 5 for Shanghai by other departments, signed by themselves only",
        &sh.root,
        &takeover,
        "not_approved",
    );

    let mut bundles = Vec::new();
    let list = TrustList::from_json(&list_of(&[&sh.root, &zj.root]).to_string())
        .map_err(|_| ScenarioError::Step("trust list"))?;
    let _ = list;
    for (name, ledger, expect) in [
        ("shanghai", sh, "valid"),
        ("zhejiang", zj, "valid"),
        ("jiangsu_unlisted", js, "unlisted_ledger"),
    ] {
        let listed = expect == "valid";
        bundles.push(serde_json::json!({
            "name": name,
            "bundle": ledger.bundle.to_text(),
            "now": now,
            "policy": policy,
            "expect": expect,
            "chain_id": ledger.root.chain_id,
            "ledger_zh": if listed { Value::from(ledger.root.name_zh.clone()) } else { Value::Null },
            "ledger_en": if listed { Value::from(ledger.root.name_en.clone()) } else { Value::Null },
            "department_zh": if listed { Value::from("市场监督管理部门") } else { Value::Null },
            "department_en": if listed { Value::from("Market Regulation Administration") } else { Value::Null },
        }));
    }
    let signed_bytes: Vec<Value> = [sh, zj]
        .iter()
        .map(|l| {
            serde_json::json!({
                "chain_id": l.root.chain_id,
                "signed_bytes_hex": hex_lower(&l.root.signed_bytes()),
                "fingerprint": l.root.fingerprint(),
            })
        })
        .collect();
    let doc = serde_json::json!({
        "about": "certledger trust lists (specs/trust-list.md): lists and ledger roots with their expected outcome, updates of a held root, and bundles from listed and unlisted ledgers. Generated by `cargo run -p certledger-core --example gen-trust-list-vectors` from a fixed seed; keys are public test keys.",
        "format_version": 1,
        "namespace": crate::sig::ns::TRUST_LIST.as_str(),
        "trust_list": list_of(&[&sh.root, &zj.root]),
        "signed_bytes": signed_bytes,
        "lists": lists,
        "updates": updates,
        "bundles": bundles,
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    Ok(out)
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_different_seed_different_stream() {
        let mut a = SeededRng::from_label("a");
        let mut b = SeededRng::from_label("a");
        let mut c = SeededRng::from_label("c");
        let (mut x, mut y, mut z) = ([0u8; 100], [0u8; 100], [0u8; 100]);
        a.fill_bytes(&mut x);
        b.fill_bytes(&mut y);
        c.fill_bytes(&mut z);
        assert_eq!(x, y);
        assert_ne!(x, z);
    }
}
