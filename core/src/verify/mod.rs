//! The one verification pipeline: `verify(bundle, trust_root, policy, now)`.
//!
//! The same function runs in the node, the wallet (`certledger-wallet verify`) and the browser
//! (`certledger-verifier`), so all three accept and refuse exactly the same bundles. It keeps
//! "could not decide" ([`VerifyError`]: the input is malformed) apart from "decided: invalid"
//! ([`Verdict::Invalid`] with a typed [`Invalid`] reason). Steps, in order (the first failing
//! step gives the reason; `specs/bundle.md` is normative):
//!
//! 1. the checkpoint carries more than the trust root's threshold of valid signatures from its
//!    department keys, for the trust root's origin;
//! 2. the checkpoint is not older than the policy allows (nor from the future);
//! 3. the anchor entry is in the log under that checkpoint (RFC 9162 inclusion proof) and is an
//!    issuance anchor (its signature was verified by the validators that committed it; the
//!    quorum-cosigned checkpoint attests that);
//! 4. the credential record and the issuer record are in the state committed by the checkpoint
//!    (sparse Merkle proofs) and agree with the anchor;
//! 5. the presentation's issuer signature verifies under the anchored issuer key, and its
//!    commitment equals the anchored commitment;
//! 6. the issuer was authorised for the credential type at the anchor's ledger time and its key
//!    was not compromised by then;
//! 7. the credential's status as of the checkpoint is active;
//! 8. the credential is inside its validity period at `now`;
//! 9. holder binding: the key-binding JWT verifies under the credential's `cnf` key and matches
//!    the verifier's nonce and audience, fresh at `now` (fail closed);
//! 10. the policy: accepted type, required level of assurance, required claims disclosed.
//!
//! A verifier that decides many bundles under one trust root uses a [`Verifier`]: the same
//! verdicts, with each checkpoint's quorum signatures checked once (`specs/verifier.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bundle::{Bundle, BundleError, LinkedBundle, Presentation, Proofs};
use crate::ledger::{self, CredentialStatus, EntryBody};
use crate::merkle;
use crate::note::{self, CheckpointError, LedgerCheckpoint, NoteKey, Quorum};
use crate::profiles;
use crate::pseudonym::PseudonymProof;
use crate::sdjwt;
use crate::sig::{PreparedKey, PublicKey};
use crate::w3c;

mod linked;
mod policy;
mod trust_list;
mod trust_root;
mod verdict;

pub use linked::{verify_linked, verify_linked_with};
pub use policy::{Challenge, Policy, MAX_POLICY_BYTES};
pub use trust_list::{
    checkpoint_origin, Added, IssuedBy, LedgerRoot, LedgerRootJson, ListVerifier, ListedLedger,
    RootSignature, RootSignatureJson, TrustList, TrustListError, TrustListJson,
    MAX_LEDGER_ROOT_BYTES, MAX_LEDGER_ROOT_SIGNATURES, MAX_LISTED_LEDGERS, MAX_TRUST_LIST_BYTES,
};
pub use trust_root::{
    DepartmentJson, TrustRoot, TrustRootJson, MAX_TRUST_ROOT_BYTES, MAX_TRUST_ROOT_KEYS,
};
pub use verdict::{Accepted, DisclosedClaim, Invalid, Verdict, VerifyError};

/// Verifies encoded bundle bytes (see [`verify`]).
pub fn verify_bytes(
    bytes: &[u8],
    trust_root: &TrustRoot,
    policy: &Policy,
    now: u64,
) -> Result<Verdict, VerifyError> {
    let bundle = Bundle::decode_bytes(bytes)?;
    verify(&bundle, trust_root, policy, now)
}

/// Decides a bundle against a trust root and policy at time `now` (Unix seconds).
pub fn verify(
    bundle: &Bundle,
    trust_root: &TrustRoot,
    policy: &Policy,
    now: u64,
) -> Result<Verdict, VerifyError> {
    trust_root.check()?;
    let checkpoint = note::verify_checkpoint(&bundle.proofs.checkpoint, &trust_root.quorum());
    decide_presentation(bundle, checkpoint, policy, now, &mut KeyCache::new(0))
}

/// Steps 2-10 of a presentation under `policy`, given step 1's outcome: the credential's own
/// checks ([`decide`]), then the policy's claim rule ([`check_policy_claims`]) over it.
fn decide_presentation(
    bundle: &Bundle,
    checkpoint: Result<LedgerCheckpoint, CheckpointError>,
    policy: &Policy,
    now: u64,
    keys: &mut KeyCache,
) -> Result<Verdict, VerifyError> {
    let mode = Mode::Presentation(policy);
    let decided = decide(&bundle.presentation, &bundle.proofs, checkpoint, mode, now, keys)?;
    to_verdict(decided.and_then(|accepted| {
        check_policy_claims(policy, &[&accepted])?;
        Ok(accepted)
    }))
}

/// The policy's claim rule, the one place it is checked: over the accepted credentials (one, or
/// a main credential and those linked to it), the highest `assurance_level` meets
/// `min_assurance_level`, and each required claim is disclosed by at least one of them. Only
/// claims that the credential's type profile defines count ([`Accepted::claims`] holds exactly
/// those), so an `assurance_level` claim slipped into a business licence counts for nothing.
fn check_policy_claims(policy: &Policy, all: &[&Accepted]) -> Result<(), Invalid> {
    if let Some(need) = policy.min_assurance_level {
        let have = all
            .iter()
            .flat_map(|a| a.claims.iter())
            .filter(|c| c.name == "assurance_level")
            .filter_map(|c| c.value.as_u64())
            .max()
            .unwrap_or(0);
        if have < need {
            return Err(Invalid::AssuranceTooLow { have, need });
        }
    }
    for name in &policy.required_claims {
        if !all.iter().any(|a| a.claims.iter().any(|c| &c.name == name)) {
            return Err(Invalid::ClaimNotDisclosed(name.clone()));
        }
    }
    Ok(())
}

/// How many checkpoint notes a [`Verifier`] remembers unless told otherwise.
pub const DEFAULT_CHECKPOINT_CACHE: usize = 64;

/// How many decoded issuer keys a [`Verifier`] remembers (`specs/verifier.md` §1).
pub const DEFAULT_KEY_CACHE: usize = 64;

/// Issuer keys decoded once ([`PreparedKey`]), bounded, oldest inserted evicted first. Decoding
/// is a pure function of the 32 key bytes, so a remembered key verifies exactly as a fresh one.
/// Capacity 0 decodes every time and remembers nothing.
#[derive(Clone, Debug)]
struct KeyCache {
    capacity: usize,
    /// Key -> (insertion number, decoded key).
    keys: BTreeMap<PublicKey, (u64, PreparedKey)>,
    /// Insertion number -> key, oldest first.
    order: BTreeMap<u64, PublicKey>,
    inserted: u64,
}

impl KeyCache {
    fn new(capacity: usize) -> Self {
        Self { capacity, keys: BTreeMap::new(), order: BTreeMap::new(), inserted: 0 }
    }

    /// `key` decoded: from the cache, or decoded now (and remembered).
    fn prepare(&mut self, key: &PublicKey) -> PreparedKey {
        if let Some((_, prepared)) = self.keys.get(key) {
            return *prepared;
        }
        let prepared = key.prepare();
        if self.capacity > 0 {
            while self.keys.len() >= self.capacity {
                let Some((_, old)) = self.order.pop_first() else { break };
                self.keys.remove(&old);
            }
            self.inserted += 1;
            self.keys.insert(*key, (self.inserted, prepared));
            self.order.insert(self.inserted, *key);
        }
        prepared
    }
}

/// Counters of a [`Verifier`]'s checkpoint cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CacheStats {
    /// Checkpoint notes held.
    pub entries: usize,
    /// Bundles whose checkpoint was found in the cache.
    pub hits: u64,
    /// Bundles whose checkpoint was verified in full.
    pub misses: u64,
}

/// A reusable verifier: one trust root and policy, and a bounded cache of the checkpoint notes it
/// has already verified under the trust root's quorum (`specs/verifier.md`).
///
/// Its verdicts are exactly those of [`verify`] for every input: step 1 ([`note::verify_checkpoint`])
/// is a pure function of the whole note text and the quorum, the quorum is fixed for the life of a
/// `Verifier`, and only accepted notes are remembered, keyed by SHA-256 of the whole note (text
/// and signature lines). A note with the same body but any other signature line is another key,
/// so it is verified in full. Steps 2 to 10 (freshness, proofs, presentation, policy) run for
/// every bundle. When the cache is full the oldest entry is evicted. It also keeps up to
/// [`DEFAULT_KEY_CACHE`] issuer keys decoded ([`crate::sig::PreparedKey`]); every signature is
/// still verified.
#[derive(Clone, Debug)]
pub struct Verifier {
    trust_root: TrustRoot,
    quorum: Quorum,
    policy: Policy,
    capacity: usize,
    /// SHA-256 of an accepted note -> (insertion number, its body).
    cache: BTreeMap<[u8; 32], (u64, LedgerCheckpoint)>,
    /// Insertion number -> key, oldest first.
    order: BTreeMap<u64, [u8; 32]>,
    inserted: u64,
    stats: CacheStats,
    /// Decoded issuer keys (not counted in `stats`).
    keys: KeyCache,
}

impl Verifier {
    /// A verifier for `trust_root` (refused if unusable, as [`verify`] refuses it) and `policy`,
    /// remembering up to [`DEFAULT_CHECKPOINT_CACHE`] checkpoints.
    pub fn new(trust_root: TrustRoot, policy: Policy) -> Result<Self, VerifyError> {
        trust_root.check()?;
        let quorum = trust_root.quorum();
        Ok(Self {
            trust_root,
            quorum,
            policy,
            capacity: DEFAULT_CHECKPOINT_CACHE,
            cache: BTreeMap::new(),
            order: BTreeMap::new(),
            inserted: 0,
            stats: CacheStats::default(),
            keys: KeyCache::new(DEFAULT_KEY_CACHE),
        })
    }

    /// The same verifier remembering at most `capacity` checkpoints (0 disables the cache).
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self.evict_to(capacity);
        self
    }

    /// The trust root.
    pub fn trust_root(&self) -> &TrustRoot {
        &self.trust_root
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Replaces the policy (for example the next request's challenge). The cache is kept: it
    /// depends on the trust root only.
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    /// The cache's counters.
    pub fn cache_stats(&self) -> CacheStats {
        CacheStats { entries: self.cache.len(), ..self.stats }
    }

    /// Forgets every remembered checkpoint.
    pub fn clear_cache(&mut self) {
        self.cache.clear();
        self.order.clear();
    }

    /// [`verify_bytes`] under this verifier's trust root and policy.
    pub fn verify_bytes(&mut self, bytes: &[u8], now: u64) -> Result<Verdict, VerifyError> {
        let bundle = Bundle::decode_bytes(bytes)?;
        self.verify(&bundle, now)
    }

    /// [`verify`] under this verifier's trust root and policy, with the checkpoint taken from the
    /// cache when this exact note was accepted before.
    pub fn verify(&mut self, bundle: &Bundle, now: u64) -> Result<Verdict, VerifyError> {
        let policy = self.policy.clone();
        self.decide_under(bundle, &policy, now)
    }

    /// [`verify_linked`](fn@verify_linked) under this verifier's trust root and policy: every
    /// credential of the bundle (the main one and each linked one) takes its checkpoint from the
    /// cache, so credentials proven against one checkpoint cost its quorum signatures once. The
    /// verdict is exactly that of the free function (it runs [`verify_linked_with`]).
    pub fn verify_linked(
        &mut self,
        linked: &LinkedBundle,
        now: u64,
    ) -> Result<Verdict, VerifyError> {
        // The closure borrows `self` mutably (the cache); the policy it is handed may differ from
        // `self.policy` (with linked credentials, assurance and claims are judged over all).
        let policy = self.policy.clone();
        verify_linked_with(linked, &policy, |bundle, policy| self.decide_under(bundle, policy, now))
    }

    /// [`Verifier::verify_linked`] of encoded bytes: a plain bundle or one with the identity
    /// extension (`specs/bundle.md`).
    pub fn verify_linked_bytes(&mut self, bytes: &[u8], now: u64) -> Result<Verdict, VerifyError> {
        let linked = LinkedBundle::decode_bytes(bytes)?;
        self.verify_linked(&linked, now)
    }

    /// [`Verifier::verify`] with the policy given (step 1 through the cache).
    fn decide_under(
        &mut self,
        bundle: &Bundle,
        policy: &Policy,
        now: u64,
    ) -> Result<Verdict, VerifyError> {
        let checkpoint = self.checkpoint(&bundle.proofs.checkpoint);
        decide_presentation(bundle, checkpoint, policy, now, &mut self.keys)
    }

    /// Step 1 through the cache.
    fn checkpoint(&mut self, note_text: &str) -> Result<LedgerCheckpoint, CheckpointError> {
        use sha2::Digest as _;
        let key: [u8; 32] = sha2::Sha256::digest(note_text.as_bytes()).into();
        if let Some((_, cp)) = self.cache.get(&key) {
            self.stats.hits += 1;
            return Ok(cp.clone());
        }
        self.stats.misses += 1;
        let cp = note::verify_checkpoint(note_text, &self.quorum)?;
        if self.capacity > 0 {
            self.evict_to(self.capacity - 1);
            self.inserted += 1;
            self.cache.insert(key, (self.inserted, cp.clone()));
            self.order.insert(self.inserted, key);
        }
        Ok(cp)
    }

    /// Evicts the oldest entries until at most `len` remain.
    fn evict_to(&mut self, len: usize) {
        while self.cache.len() > len {
            let Some((_, key)) = self.order.pop_first() else { break };
            self.cache.remove(&key);
        }
    }
}

/// The holder's check of a credential as issued (at import, or after a refresh): everything
/// [`verify`] checks except what belongs to a presentation (key binding, verifier policy).
/// `sd_jwt` is the issued SD-JWT (no key-binding JWT); the checkpoint may be at most
/// `max_checkpoint_age_s` old.
pub fn verify_credential(
    sd_jwt: &str,
    proofs: &Proofs,
    trust_root: &TrustRoot,
    max_checkpoint_age_s: u64,
    now: u64,
) -> Result<Verdict, VerifyError> {
    let credential = Presentation::SdJwt(sd_jwt.to_owned());
    verify_issued(&credential, proofs, trust_root, max_checkpoint_age_s, now)
}

/// [`verify_credential`] for a full-disclosure W3C VC (`vc_json`, as issued).
pub fn verify_w3c_credential(
    vc_json: &str,
    proofs: &Proofs,
    trust_root: &TrustRoot,
    max_checkpoint_age_s: u64,
    now: u64,
) -> Result<Verdict, VerifyError> {
    let credential = Presentation::W3cVp(vc_json.to_owned());
    verify_issued(&credential, proofs, trust_root, max_checkpoint_age_s, now)
}

/// The one path of [`verify_credential`] and [`verify_w3c_credential`].
fn verify_issued(
    credential: &Presentation,
    proofs: &Proofs,
    trust_root: &TrustRoot,
    max_checkpoint_age_s: u64,
    now: u64,
) -> Result<Verdict, VerifyError> {
    trust_root.check()?;
    let checkpoint = note::verify_checkpoint(&proofs.checkpoint, &trust_root.quorum());
    let mode = Mode::Issued { max_checkpoint_age_s };
    to_verdict(decide(credential, proofs, checkpoint, mode, now, &mut KeyCache::new(0))?)
}

/// What the pipeline needs from a checked credential, whatever its format.
struct Checked {
    /// Claims (disclosed, plus the always-visible ones), with `vct` the type id.
    claims: Value,
    /// The bytes the anchored commitment covers.
    committed: String,
    /// The holder key the credential is bound to.
    holder_key: Option<PublicKey>,
    exp: Option<u64>,
    nbf: Option<u64>,
}

fn to_verdict(decided: Result<Accepted, Invalid>) -> Result<Verdict, VerifyError> {
    Ok(match decided {
        Ok(accepted) => Verdict::Valid(Box::new(accepted)),
        Err(invalid) => Verdict::Invalid(invalid),
    })
}

/// What is being verified: a presentation under a verifier's policy, or a credential as issued.
#[derive(Clone, Copy)]
enum Mode<'a> {
    Presentation(&'a Policy),
    Issued { max_checkpoint_age_s: u64 },
}

/// Clock skew tolerated when checking a credential as issued.
const HOLDER_SKEW_S: u64 = 300;

/// `Ok(Ok(_))` valid, `Ok(Err(_))` invalid, `Err(_)` undecidable. `checkpoint` is step 1's
/// outcome: [`note::verify_checkpoint`] of `proofs.checkpoint` under the trust root's quorum
/// (computed by the caller, so that a [`Verifier`] can reuse it for a note it has seen).
fn decide(
    credential: &Presentation,
    proofs: &Proofs,
    checkpoint: Result<LedgerCheckpoint, CheckpointError>,
    mode: Mode<'_>,
    now: u64,
    keys: &mut KeyCache,
) -> Result<Result<Accepted, Invalid>, VerifyError> {
    let (max_checkpoint_age_s, skew_s) = match mode {
        Mode::Presentation(p) => (p.max_checkpoint_age_s, p.max_clock_skew_s),
        Mode::Issued { max_checkpoint_age_s } => (max_checkpoint_age_s, HOLDER_SKEW_S),
    };
    macro_rules! refuse {
        ($reason:expr) => {
            return Ok(Err($reason))
        };
    }

    // 1. Quorum checkpoint.
    let checkpoint = match checkpoint {
        Ok(cp) => cp,
        Err(e) => match classify_checkpoint_error(&e) {
            Some(invalid) => refuse!(invalid),
            None => return Err(VerifyError::Malformed("checkpoint note")),
        },
    };

    // 2. Freshness of the checkpoint.
    if checkpoint.time > now.saturating_add(skew_s) {
        refuse!(Invalid::CheckpointFromFuture);
    }
    let age_s = now.saturating_sub(checkpoint.time);
    if age_s > max_checkpoint_age_s {
        refuse!(Invalid::StaleCheckpoint { age_s });
    }

    // 3. Anchor inclusion and signature.
    let leaf_hash = merkle::leaf_hash(&proofs.anchor_leaf);
    if proofs.anchor_proof.size != checkpoint.size {
        refuse!(Invalid::NotAnchored("inclusion proof is for another log size"));
    }
    if merkle::verify_inclusion(
        &leaf_hash,
        proofs.anchor_proof.index,
        proofs.anchor_proof.size,
        &proofs.anchor_proof.path,
        &checkpoint.root,
    )
    .is_err()
    {
        refuse!(Invalid::NotAnchored("inclusion proof does not match the checkpoint"));
    }
    let leaf = ledger::LogLeaf::from_bytes_checked(&proofs.anchor_leaf)
        .map_err(|_| VerifyError::Malformed("anchor log leaf"))?;
    let EntryBody::AnchorIssuance(anchor) = &leaf.entry.body else {
        refuse!(Invalid::NotAnchored("the proven entry is not an issuance anchor"));
    };
    // The anchor entry's own signature is not checked again here: every honest validator
    // verified it (`verify_strict`) before voting for its block, and the checkpoint's quorum
    // attests the log and the state this function already trusts for the issuer's registry
    // record and the credential record, which binds the same issuer key and commitment (step 4).
    // See specs/verifier.md §2 ("what the quorum attests").
    let issuer_key = leaf.entry.signer;
    let signer = keys.prepare(&issuer_key);

    // 4. State proofs: credential record and issuer record under the checkpoint's state root.
    let cred = &proofs.credential_record;
    let cred_key = ledger::credential_state_key(&anchor.credential_id);
    if proofs
        .credential_proof
        .verify(&checkpoint.state_root, &cred_key, Some(&ledger::encode_record(cred)))
        .is_err()
    {
        refuse!(Invalid::BadStateProof("credential status proof"));
    }
    if cred.credential_id != anchor.credential_id
        || cred.commitment != anchor.commitment
        || cred.issuer_key != issuer_key
        || cred.type_id != anchor.type_id
    {
        refuse!(Invalid::BadStateProof("credential record does not match the anchor"));
    }
    let issuer = &proofs.issuer_record;
    let issuer_state_key = ledger::issuer_state_key(&issuer_key);
    if proofs
        .issuer_proof
        .verify(&checkpoint.state_root, &issuer_state_key, Some(&ledger::encode_record(issuer)))
        .is_err()
    {
        refuse!(Invalid::BadStateProof("issuer registry proof"));
    }
    if issuer.issuer_key != issuer_key {
        refuse!(Invalid::BadStateProof("issuer record is for another key"));
    }

    // 5.-9. The presentation itself.
    let verified = match check_credential(credential, &signer, mode, now) {
        Ok(Ok(checked)) => checked,
        Ok(Err(invalid)) => refuse!(invalid),
        Err(e) => return Err(e),
    };
    if crate::issuance::commitment(&verified.committed) != anchor.commitment {
        refuse!(Invalid::NotAnchored("the credential is not the one anchored"));
    }
    let vct = verified.claims.get("vct").and_then(Value::as_str).unwrap_or_default();
    if vct != anchor.type_id {
        refuse!(Invalid::NotAnchored("credential type differs from the anchored type"));
    }

    // 6. Authorisation at issuance (ledger time of the anchor).
    if let Err(reason) = issuer.authorised_at(&anchor.type_id, leaf.time) {
        refuse!(match reason {
            ledger::Unauthorised::Compromised => Invalid::IssuerKeyCompromised,
            other => Invalid::IssuerNotAuthorised(other.as_str()),
        });
    }

    // 6b. Type -> owning department -> issuer: a shipped type is owned by the department its
    // profile names; the ledger lets only that department's admins authorise its issuers
    // (`specs/ledger.md`), and the verifier refuses an issuer of any other department.
    let profile = profiles::by_id(&anchor.type_id);
    if profile.is_some_and(|p| p.issuing_department != issuer.department) {
        refuse!(Invalid::IssuerNotAuthorised("the type belongs to another department"));
    }

    // 7. Status as of the checkpoint.
    match cred.status {
        CredentialStatus::Active => {}
        CredentialStatus::Suspended => refuse!(Invalid::Suspended { reason: cred.status_reason }),
        CredentialStatus::Revoked => refuse!(Invalid::Revoked { reason: cred.status_reason }),
    }

    // 8. Validity period.
    let (exp, nbf) = (verified.exp, verified.nbf);
    if let Some(exp) = exp {
        if now >= exp {
            refuse!(Invalid::Expired);
        }
    }
    if let Some(nbf) = nbf {
        if nbf > now.saturating_add(skew_s) {
            refuse!(Invalid::NotYetValid);
        }
    }

    // 9. Holder binding is enforced by `sdjwt::verify` (fail closed); a shipped holder-bound
    // type without `cnf` is refused here as well.
    if profile.is_some_and(|p| p.holder_binding) && verified.holder_key.is_none() {
        refuse!(Invalid::HolderBindingMissing);
    }

    // 10. Policy (presentations only): the accepted types here; the claim rule is
    // `check_policy_claims`, applied by the callers over one credential or a linked set.
    let policy = match mode {
        Mode::Presentation(policy) => policy,
        Mode::Issued { .. } => &Policy::new("", ""),
    };
    let accepted_type = if policy.accepted_types.is_empty() {
        profile.is_some() || matches!(mode, Mode::Issued { .. })
    } else {
        policy.accepted_types.iter().any(|t| t == &anchor.type_id)
    };
    if !accepted_type {
        refuse!(Invalid::TypeNotAccepted);
    }

    let claims = display_claims(&verified.claims, profile);
    Ok(Ok(Accepted {
        credential_type: anchor.type_id.clone(),
        type_name_zh: profile.map_or_else(|| anchor.type_id.clone(), |p| p.name_zh.to_owned()),
        type_name_en: profile.map_or_else(|| anchor.type_id.clone(), |p| p.name_en.to_owned()),
        issuer_department: issuer.department.clone(),
        issuer_key,
        claims,
        anchored_time: leaf.time,
        checkpoint_height: checkpoint.height,
        checkpoint_time: checkpoint.time,
        expires_at: exp,
        holder_key: verified.holder_key,
        pseudonym: None,
        linked: false,
        linked_credentials: Vec::new(),
        issued_by: None,
    }))
}

/// Steps 5 and 9 for either format: the issuer's signature, the disclosures, and (for a
/// presentation) holder binding to the verifier's challenge.
fn check_credential(
    credential: &Presentation,
    issuer: &PreparedKey,
    mode: Mode<'_>,
    now: u64,
) -> Result<Result<Checked, Invalid>, VerifyError> {
    let check = match mode {
        Mode::Presentation(policy) => Some(sdjwt::KeyBindingCheck {
            nonce: &policy.challenge.nonce,
            aud: &policy.challenge.audience,
            now,
            max_age_s: policy.max_presentation_age_s,
            max_future_skew_s: policy.max_clock_skew_s,
        }),
        Mode::Issued { .. } => None,
    };
    match credential {
        Presentation::SdJwt(text) => {
            let checked = match check {
                Some(check) => sdjwt::verify_prepared(text, issuer, check),
                None => sdjwt::verify_issued(text, issuer.public_key()),
            };
            match checked {
                Ok(v) => Ok(Ok(Checked {
                    exp: v.claims.get("exp").and_then(Value::as_u64),
                    nbf: v.claims.get("nbf").and_then(Value::as_u64),
                    claims: v.claims,
                    committed: v.issuer_jwt,
                    holder_key: v.holder_key,
                })),
                Err(e) => match classify_sdjwt_error(&e) {
                    Some(invalid) => Ok(Err(invalid)),
                    None => Err(VerifyError::Malformed("SD-JWT presentation")),
                },
            }
        }
        Presentation::W3cVp(text) => {
            let checked = match check {
                Some(check) => w3c::verify_presentation(text, issuer.public_key(), check),
                None => w3c::verify_credential(text, issuer.public_key(), now),
            };
            let invalid = match checked {
                Ok(v) => {
                    return Ok(Ok(Checked {
                        claims: v.claims,
                        committed: v.committed,
                        holder_key: v.holder_key,
                        exp: v.exp,
                        nbf: v.nbf,
                    }))
                }
                Err(w3c::W3cError::Malformed(what)) => return Err(VerifyError::Malformed(what)),
                Err(w3c::W3cError::BadIssuerProof) => Invalid::BadIssuerSignature,
                Err(w3c::W3cError::MissingHolderProof) => Invalid::HolderBindingMissing,
                Err(w3c::W3cError::BadHolderProof) => Invalid::HolderBindingInvalid,
                Err(w3c::W3cError::ChallengeMismatch) => Invalid::NonceMismatch,
                Err(w3c::W3cError::DomainMismatch) => Invalid::AudienceMismatch,
                Err(w3c::W3cError::Stale | w3c::W3cError::InFuture) => {
                    Invalid::PresentationNotFresh
                }
            };
            Ok(Err(invalid))
        }
    }
}

/// The registered claims of the type that the presentation shows, in the type's order.
fn display_claims(
    claims: &Value,
    profile: Option<&profiles::CredentialType>,
) -> Vec<DisclosedClaim> {
    let Some(profile) = profile else {
        return Vec::new();
    };
    profile
        .claims
        .iter()
        .filter_map(|def| {
            claims.get(def.name).map(|value| DisclosedClaim {
                name: def.name.to_owned(),
                value: value.clone(),
                label_zh: def.label_zh.to_owned(),
                label_en: def.label_en.to_owned(),
            })
        })
        .collect()
}

fn classify_checkpoint_error(e: &note::CheckpointError) -> Option<Invalid> {
    use note::CheckpointError as E;
    match e {
        E::WrongOrigin => Some(Invalid::WrongLedger),
        E::QuorumNotMet { .. } => Some(Invalid::QuorumNotMet),
        E::BadSignature { .. } | E::Note(note::NoteError::BadSignature { .. }) => {
            Some(Invalid::BadCheckpointSignature)
        }
        _ => None,
    }
}

fn classify_sdjwt_error(e: &sdjwt::SdJwtError) -> Option<Invalid> {
    use sdjwt::SdJwtError as E;
    match e {
        E::BadIssuerSignature => Some(Invalid::BadIssuerSignature),
        E::DigestNotFound | E::DuplicateDisclosure | E::DuplicateDigest => {
            Some(Invalid::TamperedDisclosure)
        }
        E::MissingKeyBinding => Some(Invalid::HolderBindingMissing),
        E::BadKeyBindingSignature | E::SdHashMismatch | E::UnexpectedKeyBinding => {
            Some(Invalid::HolderBindingInvalid)
        }
        E::NonceMismatch => Some(Invalid::NonceMismatch),
        E::AudienceMismatch => Some(Invalid::AudienceMismatch),
        E::KeyBindingStale | E::KeyBindingInFuture => Some(Invalid::PresentationNotFresh),
        _ => None,
    }
}

#[cfg(test)]
mod key_cache_tests {
    use super::KeyCache;
    use crate::sig::{SecretKey, SignatureError};

    #[test]
    fn key_cache_is_bounded_and_answers_like_a_fresh_key() {
        let secrets: Vec<SecretKey> = (0..5u8).map(|i| SecretKey::from_seed(&[i; 32])).collect();
        let mut cache = KeyCache::new(3);
        for round in 0..2 {
            for (i, sk) in secrets.iter().enumerate() {
                let pk = sk.public_key();
                let sig = sk.sign_raw(b"msg");
                let prepared = cache.prepare(&pk);
                assert_eq!(prepared.public_key(), &pk);
                assert_eq!(prepared.verify_raw(b"msg", &sig), Ok(()), "round {round} key {i}");
                assert_eq!(prepared.verify_raw(b"other", &sig), Err(SignatureError::Invalid));
                assert!(cache.keys.len() <= 3);
            }
        }
        // Oldest inserted evicted first: the last three keys remain.
        let kept: Vec<_> = cache.order.values().copied().collect();
        let want: Vec<_> = secrets[2..].iter().map(SecretKey::public_key).collect();
        assert_eq!(kept, want);
        // Capacity 0 remembers nothing.
        let mut none = KeyCache::new(0);
        let _ = none.prepare(&secrets[0].public_key());
        assert!(none.keys.is_empty() && none.order.is_empty());
    }
}
