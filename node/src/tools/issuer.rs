//! The issuing department's commands (`specs/node.md`, Issuer commands): issuer key registry
//! entries (`issuer register|rotate|retire|compromise`), single issuance (`issue`) and status
//! changes (`revoke|suspend|reinstate`), all built and signed locally with a key file and
//! submitted to a node's HTTP API, each waiting (bounded) for the entry to commit.
//!
//! Who signs what follows the ledger (`specs/ledger.md`): registry entries of a department are
//! signed by one of its admin keys (a compromise report may also be signed by the issuer key
//! itself); anchors by the issuer key, which must be registered for the type and valid at the
//! block time; status changes by any currently valid issuer key of the department that anchored
//! the credential. The ledger never sees a claim value: an anchor carries the credential id, the
//! type and a salted commitment.
//!
//! Errors carry a [`Failure`] class ([`crate::tools::failure`]) that `main` maps to the exit
//! codes of `specs/node.md`; the node client is [`crate::tools::client`].

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context as _};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::codec::Encode as _;
use certledger_core::credential_file::CredentialFile;
use certledger_core::ledger::{
    self, ChangeStatus, CompromiseIssuer, CredentialStatus, EntryBody, RegisterIssuer,
    RetireIssuer, SignedEntry,
};
use certledger_core::profiles::{self, CredentialType};
use certledger_core::sig::{PublicKey, SecretKey};
use certledger_core::verify::{self, TrustRoot, Verdict};
use certledger_core::{didkey, issuance};
use serde_json::{json, Value};

use crate::config::KeyFile;
pub use crate::tools::client::{Committed, NodeClient, Submitted};
pub use crate::tools::format::CredentialFormat;

/// Largest `OUT.pending` file read back when an interrupted `issue` resumes, in bytes.
pub const MAX_PENDING_FILE_BYTES: u64 = 256 * 1024;
/// Oldest checkpoint, in seconds, the proofs of a credential just issued may be against.
pub const MAX_CHECKPOINT_AGE_S: u64 = 3600;
pub use crate::tools::failure::{
    exit_code, Failure, EXIT_INPUT, EXIT_REFUSED, EXIT_UNAVAILABLE, EXIT_UNVERIFIED,
};
pub(crate) use crate::tools::failure::{input, unverified};

/// The current Unix time in seconds.
pub fn now_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Parsing inputs.

/// Longest claims JSON file accepted, in bytes.
pub const MAX_CLAIMS_FILE_BYTES: u64 = 64 * 1024;

/// Parses a time: `now`, `+N`/`-N` with unit `s|m|h|d` relative to `now`, Unix seconds, an RFC
/// 3339 time (`2026-01-01T00:00:00Z`) or a date (`2026-01-01`, midnight UTC).
pub fn parse_time(text: &str, now: u64) -> anyhow::Result<u64> {
    let t = text.trim();
    let bad =
        || input(format!("time `{t}` is not now, +N[smhd], -N[smhd], Unix seconds or RFC 3339"));
    if t == "now" {
        return Ok(now);
    }
    if let Some(rel) =
        t.strip_prefix('+').map(|r| (r, true)).or(t.strip_prefix('-').map(|r| (r, false)))
    {
        let (body, forward) = rel;
        let (digits, unit) =
            body.split_at(body.find(|c: char| !c.is_ascii_digit()).unwrap_or(body.len()));
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let mult = match unit {
            "" | "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(bad()),
        };
        let delta = n.checked_mul(mult).ok_or_else(bad)?;
        return if forward {
            now.checked_add(delta).ok_or_else(bad)
        } else {
            Ok(now.saturating_sub(delta))
        };
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().map_err(|_| bad());
    }
    let full = if t.len() == 10 { format!("{t}T00:00:00Z") } else { t.to_owned() };
    let st = humantime::parse_rfc3339_weak(&full).map_err(|_| bad())?;
    st.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).map_err(|_| bad())
}

/// Formats Unix seconds as RFC 3339 UTC.
pub fn format_time(t: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(t)).to_string()
}

/// Parses a public key: `did:key:z6Mk...`, 64 hex digits, 43 base64url characters, or the path
/// of a key file (its public key).
pub fn parse_public_key(text: &str) -> anyhow::Result<PublicKey> {
    let t = text.trim();
    if t.starts_with(didkey::DID_KEY_PREFIX) {
        return didkey::public_key_from_did_key(t)
            .map_err(|e| input(format!("`{t}` is not an Ed25519 did:key: {e}")));
    }
    if t.len() == 64 {
        if let Ok(bytes) = hex::decode(t) {
            if let Ok(k) = <[u8; 32]>::try_from(bytes) {
                return Ok(PublicKey(k));
            }
        }
    }
    if t.len() == 43 {
        if let Ok(bytes) = URL_SAFE_NO_PAD.decode(t) {
            if let Ok(k) = <[u8; 32]>::try_from(bytes) {
                return Ok(PublicKey(k));
            }
        }
    }
    let path = Path::new(t);
    if path.is_file() {
        // Only the public half is needed: a sealed key file is not opened.
        return KeyFile::public_key_of(path)
            .map_err(|e| input(format!("key file {}: {e:#}", path.display())));
    }
    Err(input(format!(
        "`{t}` is not a public key (did:key, 64 hex digits, 43 base64url characters or a key file)"
    )))
}

/// Loads a key file, as an input error when it cannot be read.
pub fn load_key(path: &Path) -> anyhow::Result<SecretKey> {
    KeyFile::load(path).map_err(|e| input(format!("key file {}: {e:#}", path.display())))
}

/// Parses a credential id: 64 hex digits or 43 base64url characters.
pub fn parse_credential_id(text: &str) -> anyhow::Result<[u8; 32]> {
    crate::ids::credential_id(text).ok_or_else(|| {
        let t = text.trim();
        input(format!("credential id `{t}` must be 64 hex digits or 43 base64url characters"))
    })
}

/// The short name of a shipped type: `business-licence` for `urn:cn:certledger:vct:business-licence:1`.
pub fn type_alias(ty: &CredentialType) -> &'static str {
    let id = ty.id;
    let rest = id.strip_prefix("urn:cn:certledger:vct:").unwrap_or(id);
    rest.rsplit_once(':').map_or(rest, |(name, _)| name)
}

/// A shipped credential type by id or short name.
pub fn parse_type(text: &str) -> anyhow::Result<&'static CredentialType> {
    let t = text.trim();
    profiles::by_id(t).or_else(|| profiles::ALL.iter().find(|ty| type_alias(ty) == t)).ok_or_else(
        || {
            input(format!(
                "unknown credential type `{t}`; shipped types: {}",
                profiles::ALL.iter().map(type_alias).collect::<Vec<_>>().join(", ")
            ))
        },
    )
}

/// A type id for a registry entry: a shipped type's short name becomes its id; anything else is
/// taken as a ledger type id as written.
fn type_id_of(text: &str) -> String {
    parse_type(text).map(|t| t.id.to_owned()).unwrap_or_else(|_| text.trim().to_owned())
}

/// Reason codes of status changes (RFC 5280 CRLReason numbering, certledger names).
pub const REASONS: &[(u16, &str, &str)] = &[
    (0, "unspecified", "no reason given"),
    (1, "key-compromise", "the holder's key was compromised"),
    (2, "issuer-compromise", "the issuer key was compromised"),
    (3, "affiliation-changed", "the holder's name or affiliation changed"),
    (4, "superseded", "replaced by a new credential"),
    (5, "cessation-of-operation", "the entity or activity ceased"),
    (6, "certificate-hold", "suspended pending review (default of `suspend`)"),
    (8, "remove-from-hold", "hold lifted (default of `reinstate`)"),
    (9, "privilege-withdrawn", "the right the credential attests was withdrawn"),
    (16, "issued-in-error", "issued by mistake"),
];

/// Parses a reason: a name of [`REASONS`] or any number 0..=65535.
pub fn parse_reason(text: &str) -> anyhow::Result<u16> {
    let t = text.trim();
    if let Ok(n) = t.parse::<u16>() {
        return Ok(n);
    }
    let norm = t.replace('_', "-").to_ascii_lowercase();
    REASONS.iter().find(|(_, name, _)| *name == norm).map(|(n, _, _)| *n).ok_or_else(|| {
        input(format!(
            "unknown reason `{t}`; use a number or one of: {}",
            REASONS
                .iter()
                .map(|(n, name, _)| format!("{name} ({n})"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// The name of a reason code, if it has one.
pub fn reason_name(code: u16) -> Option<&'static str> {
    REASONS.iter().find(|(n, _, _)| *n == code).map(|(_, name, _)| *name)
}

/// The reason table for `--help`.
pub fn reasons_help() -> String {
    let mut s = String::from("Reason codes (name or number):\n");
    for (n, name, what) in REASONS {
        s.push_str(&format!("  {n:>2}  {name:<24} {what}\n"));
    }
    s
}

/// Reads a bounded JSON file.
pub fn read_json_file(path: &Path, max_bytes: u64) -> anyhow::Result<Value> {
    let len = std::fs::metadata(path)
        .map_err(|e| input(format!("reading {}: {e}", path.display())))?
        .len();
    if len > max_bytes {
        return Err(input(format!("{} is larger than {max_bytes} bytes", path.display())));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| input(format!("reading {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| input(format!("{} is not JSON: {e}", path.display())))
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a reader never sees half
/// a file; with `private`, mode 0600.
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> anyhow::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name =
        path.file_name().ok_or_else(|| input(format!("{} is not a file path", path.display())))?;
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    {
        let mut f =
            std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        #[cfg(not(unix))]
        let _ = private;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Output.

/// Prints a result: the JSON object with `--json`, else `text`.
pub fn emit(json_out: bool, value: &Value, text: &str) {
    if json_out {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// Issuer registry commands.

/// What `issuer register` needs.
#[derive(Clone, Debug)]
pub struct RegisterArgs {
    /// The department admin key.
    pub admin: SecretKey,
    /// The department id.
    pub department: String,
    /// The issuer's public key.
    pub issuer_key: PublicKey,
    /// Type ids (shipped short names are mapped to ids).
    pub types: Vec<String>,
    /// Validity window.
    pub valid_from: u64,
    /// First second after validity.
    pub valid_until: u64,
    /// Names.
    pub name_zh: String,
    /// Names.
    pub name_en: String,
}

fn register_entry(chain_id: &str, a: &RegisterArgs) -> anyhow::Result<SignedEntry> {
    let mut types: Vec<String> = a.types.iter().map(|t| type_id_of(t)).collect();
    types.sort();
    types.dedup();
    if types.is_empty() || types.len() > ledger::MAX_TYPES as usize {
        return Err(input("give 1 to 64 --types"));
    }
    if a.valid_from >= a.valid_until {
        return Err(input("--valid-from must be before --valid-until"));
    }
    Ok(SignedEntry::sign(
        &a.admin,
        chain_id,
        EntryBody::RegisterIssuer(RegisterIssuer {
            department: a.department.clone(),
            issuer_key: a.issuer_key,
            types,
            valid_from: a.valid_from,
            valid_until: a.valid_until,
            name_zh: a.name_zh.clone(),
            name_en: a.name_en.clone(),
        }),
    ))
}

/// `issuer register`: registers an issuer key; returns where it committed.
pub async fn register(node: &NodeClient, a: &RegisterArgs) -> anyhow::Result<Committed> {
    let chain_id = node.chain_id().await?;
    let entry = register_entry(&chain_id, a)?;
    node.submit_and_wait(&entry).await.context("registering the issuer key")
}

/// `issuer retire`: retires `issuer_key` from `at` (signed by a department admin key).
pub async fn retire(
    node: &NodeClient,
    admin: &SecretKey,
    issuer_key: &PublicKey,
    at: u64,
) -> anyhow::Result<Committed> {
    let chain_id = node.chain_id().await?;
    let entry = SignedEntry::sign(
        admin,
        &chain_id,
        EntryBody::RetireIssuer(RetireIssuer { issuer_key: *issuer_key, at }),
    );
    node.submit_and_wait(&entry).await.context("retiring the issuer key")
}

/// `issuer compromise`: declares `issuer_key` compromised since `since` (signed by a department
/// admin key or by the issuer key itself).
pub async fn compromise(
    node: &NodeClient,
    signer: &SecretKey,
    issuer_key: &PublicKey,
    since: u64,
) -> anyhow::Result<Committed> {
    let chain_id = node.chain_id().await?;
    let entry = SignedEntry::sign(
        signer,
        &chain_id,
        EntryBody::CompromiseIssuer(CompromiseIssuer { issuer_key: *issuer_key, since }),
    );
    node.submit_and_wait(&entry).await.context("reporting the issuer key compromised")
}

/// Seconds a self-reported compromise is dated ahead of the reporter's clock: the ledger takes
/// a self-declared `since` only from the block time on, and the block that commits the report
/// is built a moment after it is sent.
pub const SELF_REPORT_LEAD_S: u64 = 5;

/// The `since` of a compromise the issuer key reports itself (`specs/ledger.md`, "Authority
/// over an issuer record"): a time before `now` is refused here, before anything is submitted
/// (only the department's admins may backdate); a time sooner than [`SELF_REPORT_LEAD_S`] from
/// `now` becomes `now + SELF_REPORT_LEAD_S`, the first time the ledger will surely accept.
pub fn self_reported_since(since: u64, now: u64) -> anyhow::Result<u64> {
    if since < now {
        return Err(input(format!(
            "--since {} is in the past: an issuer key reports its own compromise only from now \
             on; to backdate, sign with an admin key of its department (--admin-key FILE \
             --issuer KEY) / 签发密钥只能自报从现在起的泄露，追溯须由本部门管理员签署",
            format_time(since)
        )));
    }
    Ok(since.max(now.saturating_add(SELF_REPORT_LEAD_S)))
}

/// What `issuer rotate` did.
#[derive(Clone, Debug)]
pub struct Rotated {
    /// The new key's registration.
    pub registered: Committed,
    /// The old key's retirement.
    pub retired: Committed,
    /// The new public key.
    pub new_key: PublicKey,
    /// When the old key stops being valid.
    pub old_retired_at: u64,
}

/// What `issuer rotate` needs.
#[derive(Debug)]
pub struct RotateArgs<'a> {
    /// A department admin key.
    pub admin: &'a SecretKey,
    /// The key being replaced.
    pub old_key: &'a PublicKey,
    /// The new key.
    pub new_key: &'a PublicKey,
    /// Types of the new key (default: the old key's).
    pub types: Option<Vec<String>>,
    /// End of the new key's validity (default: the old key's).
    pub valid_until: Option<u64>,
    /// When the old key stops being valid.
    pub retire_at: u64,
    /// The current time.
    pub now: u64,
}

/// `issuer rotate`: registers the new key for the old key's department and types, valid from
/// `now` until the old key's end, then retires the old key at `retire_at`. Credentials anchored
/// by the old key before then stay valid: verification checks authorisation at the anchor's
/// ledger time against the issuer record, which keeps the key's history.
pub async fn rotate(node: &NodeClient, a: &RotateArgs<'_>) -> anyhow::Result<Rotated> {
    let old = node.issuer_record(a.old_key).await?.ok_or_else(|| {
        input(format!(
            "the old key {} is not a registered issuer (as of the newest checkpoint)",
            a.old_key.short_id()
        ))
    })?;
    if old.retired_at.is_some() || old.compromised_since.is_some() {
        return Err(input(
            "the old key is already retired or compromised; use `issuer register` for the new key",
        ));
    }
    let args = RegisterArgs {
        admin: a.admin.clone(),
        department: old.department.clone(),
        issuer_key: *a.new_key,
        types: a.types.clone().unwrap_or(old.types.clone()),
        valid_from: a.now.saturating_sub(60),
        valid_until: a.valid_until.unwrap_or(old.valid_until),
        name_zh: old.name_zh.clone(),
        name_en: old.name_en.clone(),
    };
    let registered = register(node, &args).await?;
    let retired = retire(node, a.admin, a.old_key, a.retire_at).await?;
    Ok(Rotated { registered, retired, new_key: *a.new_key, old_retired_at: a.retire_at })
}

// ---------------------------------------------------------------------------------------------
// Issuance.

/// An issued credential that is anchored and proven.
#[derive(Clone, Debug)]
pub struct Delivered {
    /// The file for the wallet.
    pub file: CredentialFile,
    /// Where the anchor committed.
    pub committed: Committed,
}

/// A signed credential whose anchor may not be committed yet: what is recorded before
/// submitting, so an interrupted run resumes with the same credential instead of issuing twice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The chain id.
    pub chain_id: String,
    /// The credential id.
    pub credential_id: [u8; 32],
    /// The issued SD-JWT VC (empty when `w3c_vc` is set).
    pub sd_jwt: String,
    /// The issued full-disclosure W3C VC 2.0 (JCS JSON), for `--format w3c`.
    pub w3c_vc: Option<String>,
    /// The signed anchor entry.
    pub entry: SignedEntry,
}

impl Pending {
    /// Signs a credential of `ty` for `holder` and its anchor.
    pub fn issue(
        issuer: &SecretKey,
        ty: &CredentialType,
        claims: &Value,
        holder: &PublicKey,
        chain_id: &str,
        now: u64,
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> anyhow::Result<Self> {
        let issued = issuance::issue(issuer, ty, claims, holder, chain_id, now, rng)
            .map_err(|e| input(format!("{e}")))?;
        let entry = SignedEntry::sign(issuer, chain_id, EntryBody::AnchorIssuance(issued.anchor));
        Ok(Self {
            chain_id: chain_id.to_owned(),
            credential_id: issued.credential_id,
            sd_jwt: issued.sd_jwt,
            w3c_vc: None,
            entry,
        })
    }

    /// [`Pending::issue`] for a full-disclosure W3C VC 2.0 signed with `eddsa-jcs-2022`; the
    /// anchor commits to the credential's JCS text (`specs/credentials.md` §6).
    pub fn issue_w3c(
        issuer: &SecretKey,
        ty: &CredentialType,
        claims: &Value,
        holder: &PublicKey,
        chain_id: &str,
        now: u64,
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> anyhow::Result<Self> {
        let issued = issuance::issue_w3c(issuer, ty, claims, holder, chain_id, now, rng)
            .map_err(|e| input(format!("{e}")))?;
        let entry = SignedEntry::sign(issuer, chain_id, EntryBody::AnchorIssuance(issued.anchor));
        Ok(Self {
            chain_id: chain_id.to_owned(),
            credential_id: issued.credential_id,
            sd_jwt: String::new(),
            w3c_vc: Some(issued.vc_json),
            entry,
        })
    }

    /// The JSON record (`version`, `chain_id`, `credential_id`, `sd_jwt` or `w3c_vc`, `entry`).
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "version": 1,
            "chain_id": self.chain_id,
            "credential_id": URL_SAFE_NO_PAD.encode(self.credential_id),
            "entry": URL_SAFE_NO_PAD.encode(self.entry.to_bytes()),
        });
        match &self.w3c_vc {
            Some(vc) => v["w3c_vc"] = json!(vc),
            None => v["sd_jwt"] = json!(self.sd_jwt),
        }
        v
    }

    /// Parses [`Pending::to_json`]; checks the entry anchors this credential.
    pub fn from_json(v: &Value) -> anyhow::Result<Self> {
        let field =
            |name: &str| v[name].as_str().ok_or_else(|| anyhow!("pending record without {name}"));
        if v["version"].as_u64() != Some(1) {
            bail!("pending record of an unknown version");
        }
        let credential_id = parse_credential_id(field("credential_id")?)?;
        let entry_bytes =
            URL_SAFE_NO_PAD.decode(field("entry")?).context("pending entry is not base64url")?;
        let entry = SignedEntry::from_bytes_checked(&entry_bytes)
            .map_err(|e| anyhow!("pending entry: {e}"))?;
        match &entry.body {
            EntryBody::AnchorIssuance(a) if a.credential_id == credential_id => {}
            _ => bail!("pending entry does not anchor its credential"),
        }
        Ok(Self {
            chain_id: field("chain_id")?.to_owned(),
            credential_id,
            sd_jwt: if v.get("w3c_vc").is_some() {
                String::new()
            } else {
                field("sd_jwt")?.to_owned()
            },
            w3c_vc: v.get("w3c_vc").map(|_| field("w3c_vc").map(str::to_owned)).transpose()?,
            entry,
        })
    }

    /// Submits the anchor (a duplicate counts as done), waits for it, fetches the proofs and
    /// checks the credential file against `trust_root`.
    pub async fn deliver(
        &self,
        node: &NodeClient,
        trust_root: &TrustRoot,
    ) -> anyhow::Result<Delivered> {
        let committed =
            node.submit_and_wait(&self.entry).await.context("anchoring the credential")?;
        let proofs = node.proofs(&self.credential_id).await?;
        let file = CredentialFile {
            chain_id: self.chain_id.clone(),
            credential_id: self.credential_id,
            sd_jwt: self.sd_jwt.clone(),
            w3c_vc: self.w3c_vc.clone(),
            proofs,
        };
        let verdict = match &file.w3c_vc {
            Some(vc) => verify::verify_w3c_credential(
                vc,
                &file.proofs,
                trust_root,
                MAX_CHECKPOINT_AGE_S,
                now_s(),
            ),
            None => verify::verify_credential(
                &file.sd_jwt,
                &file.proofs,
                trust_root,
                MAX_CHECKPOINT_AGE_S,
                now_s(),
            ),
        };
        match verdict
            .map_err(|e| unverified(format!("the issued credential could not be checked: {e}")))?
        {
            Verdict::Valid(_) => Ok(Delivered { file, committed }),
            Verdict::Invalid(r) => Err(unverified(format!(
                "the issued credential does not verify with the node's proofs: [{}] {r}",
                r.code()
            ))),
        }
    }
}

/// The pending file of an `issue --out OUT`: `OUT.pending`.
pub fn pending_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".pending");
    out.with_file_name(name)
}

/// What `issue` needs.
#[derive(Debug)]
pub struct IssueArgs<'a> {
    /// The issuer key.
    pub issuer: &'a SecretKey,
    /// The type.
    pub ty: &'static CredentialType,
    /// The claims.
    pub claims: &'a Value,
    /// The holder key.
    pub holder: PublicKey,
    /// Where the credential file goes.
    pub out: &'a Path,
    /// A trust-root file to check the result against (else the node's).
    pub trust_root: Option<&'a Path>,
    /// The credential format.
    pub format: CredentialFormat,
}

/// What signs a [`Pending`] credential and its anchor, in one format.
type PendingIssue = fn(
    &SecretKey,
    &CredentialType,
    &Value,
    &PublicKey,
    &str,
    u64,
    &mut rand::rngs::OsRng,
) -> anyhow::Result<Pending>;

impl CredentialFormat {
    /// [`Pending::issue`] or [`Pending::issue_w3c`].
    pub fn pending_issue(self) -> PendingIssue {
        match self {
            CredentialFormat::SdJwt => Pending::issue,
            CredentialFormat::W3c => Pending::issue_w3c,
        }
    }
}

/// `issue`: signs the credential, records it in `OUT.pending` (0600) before submitting the
/// anchor, waits for commit and proofs, writes `OUT` and removes the pending file. A rerun with
/// the same `OUT` after an interruption resumes from the pending file (same credential).
pub async fn issue(node: &NodeClient, a: &IssueArgs<'_>) -> anyhow::Result<(Delivered, bool)> {
    let pending_file = pending_path(a.out);
    let trust_root = node.trust_root(a.trust_root).await?;
    let (pending, resumed) = if pending_file.exists() {
        let v = read_json_file(&pending_file, MAX_PENDING_FILE_BYTES)?;
        let p = Pending::from_json(&v)
            .with_context(|| format!("reading {}", pending_file.display()))?;
        (p, true)
    } else {
        if a.out.exists() {
            return Err(input(format!(
                "{} exists; refusing to overwrite a credential",
                a.out.display()
            )));
        }
        let chain_id = node.chain_id().await?;
        let issue = a.format.pending_issue();
        let p =
            issue(a.issuer, a.ty, a.claims, &a.holder, &chain_id, now_s(), &mut rand::rngs::OsRng)?;
        write_atomic(&pending_file, p.to_json().to_string().as_bytes(), true)?;
        (p, false)
    };
    let delivered = match pending.deliver(node, &trust_root).await {
        Ok(d) => d,
        // Refused by the ledger: never anchored, so nothing worth keeping.
        Err(e) if exit_code(&e) == EXIT_REFUSED => {
            std::fs::remove_file(&pending_file)
                .with_context(|| format!("removing {}", pending_file.display()))?;
            return Err(e);
        }
        Err(e) => {
            return Err(e.context(format!(
                "the signed credential is kept in {}; rerun the same command to resume",
                pending_file.display()
            )))
        }
    };
    write_atomic(a.out, delivered.file.to_json().as_bytes(), true)?;
    std::fs::remove_file(&pending_file)
        .with_context(|| format!("removing {}", pending_file.display()))?;
    Ok((delivered, resumed))
}

// ---------------------------------------------------------------------------------------------
// Status changes.

/// `revoke|suspend|reinstate`: changes a credential's status, signed by a currently valid
/// issuer key of the department that anchored it.
pub async fn change_status(
    node: &NodeClient,
    issuer: &SecretKey,
    credential_id: &[u8; 32],
    status: CredentialStatus,
    reason: u16,
) -> anyhow::Result<Committed> {
    let chain_id = node.chain_id().await?;
    let mut nonce = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
    let entry = SignedEntry::sign(
        issuer,
        &chain_id,
        EntryBody::ChangeStatus(ChangeStatus {
            credential_id: *credential_id,
            status,
            reason,
            nonce,
        }),
    );
    node.submit_and_wait(&entry).await.context("changing the credential's status")
}

/// The name of a status.
pub fn status_name(s: CredentialStatus) -> &'static str {
    match s {
        CredentialStatus::Active => "active",
        CredentialStatus::Suspended => "suspended",
        CredentialStatus::Revoked => "revoked",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests;
