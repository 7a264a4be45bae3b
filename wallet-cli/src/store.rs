//! The wallet's contents (the plaintext inside the keystore) and opening/saving the wallet.
//!
//! Everything the wallet keeps is inside the one encrypted file: the holder key, the wallet
//! secret (for per-verifier pseudonyms), the trust root and the credentials with their latest
//! proofs. So `list` needs the passphrase too: credentials are personal data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::bundle::Proofs;
use certledger_core::codec::Encode as _;
use certledger_core::sig::SecretKey;
use certledger_core::verify::{self, LedgerRoot, TrustList, TrustRoot, Verdict, VerifyError};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize as _, Zeroizing};

use crate::error::{keystore, usage, CmdResult, Kind, ResultExt as _};
use crate::keystore::{self, SealKey};

/// The wallet file's name inside the wallet directory.
pub const WALLET_FILE: &str = "wallet.clw";
/// Env var holding the passphrase (for scripts; the prompt is preferred interactively).
pub const PASSPHRASE_ENV: &str = "CERTLEDGER_WALLET_PASSPHRASE";
/// Longest passphrase accepted, in bytes (Argon2id reads all of it).
pub const MAX_PASSPHRASE_BYTES: usize = 1024;

/// The plaintext payload (JSON, version 1).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletData {
    /// Payload version, 1.
    pub version: u32,
    /// Holder key seed, base64url.
    pub holder_seed: String,
    /// 32 random bytes for per-verifier pseudonyms, base64url.
    pub wallet_secret: String,
    /// When the wallet was created (Unix seconds).
    pub created_at: u64,
    /// The trust root JSON, once set (`trust set`): a plain trust root, one ledger.
    pub trust_root: Option<String>,
    /// The signed ledger roots added with `trust add` (`specs/trust-list.md`): the JSON of a
    /// trust list. With `trust_root` they make the wallet's trust list.
    #[serde(default)]
    pub trust_list: Option<String>,
    /// The credentials.
    pub credentials: Vec<StoredCredential>,
    /// How many batch holder keys `identity keys` has derived (indices `0..next_key_index`).
    #[serde(default)]
    pub next_key_index: u32,
    /// Which identity attestation copy (credential id) each verifier id is shown, so that the
    /// same verifier always sees the same copy and no two verifiers share one.
    #[serde(default)]
    pub attestation_for_verifier: BTreeMap<String, String>,
    /// Every signed request the wallet answered, oldest first (at most [`MAX_CONSENTS`]): the
    /// consent history `history` lists and exports.
    #[serde(default)]
    pub consents: Vec<ConsentRecord>,
}

/// Most consent records kept; beyond it the oldest is dropped (with a notice).
pub const MAX_CONSENTS: usize = 5000;

/// One answered request: who saw what, and when. `request` is the verifier's signed request
/// (`CLR1.` text), so the verifier's own signature proves who asked for what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentRecord {
    /// When the bundle was made (Unix seconds).
    pub at: u64,
    /// The signed request, `CLR1.` text.
    pub request: String,
    /// The verifier id.
    pub verifier_id: String,
    /// The registered Chinese name, when the registry was checked.
    pub verifier_name_zh: Option<String>,
    /// The registered English name, when the registry was checked.
    pub verifier_name_en: Option<String>,
    /// The request's purpose text.
    pub purpose: String,
    /// The registered purpose it matched.
    pub registered_purpose: Option<String>,
    /// Whether the signature was checked against the registry (false only with
    /// `--insecure-unchecked-request`).
    pub signature_checked: bool,
    /// The registry checkpoint's time.
    pub registry_as_of: Option<u64>,
    /// The audience the presentation was bound to.
    pub audience: String,
    /// The credentials presented: (id, type id), the main one first.
    pub credentials: Vec<(String, String)>,
    /// The claim names disclosed.
    pub disclosed: Vec<String>,
    /// The per-verifier pseudonym shown, if any.
    pub pseudonym: Option<String>,
}

impl Drop for WalletData {
    fn drop(&mut self) {
        self.holder_seed.zeroize();
        self.wallet_secret.zeroize();
    }
}

/// A stored credential with its latest proofs and status.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredCredential {
    /// Credential id, base64url.
    pub id: String,
    /// Chain id.
    pub chain_id: String,
    /// Credential type id (`vct`).
    pub type_id: String,
    /// Issuing department.
    pub issuer_department: String,
    /// The issued SD-JWT (all disclosures, no KB-JWT); empty for a W3C credential.
    pub sd_jwt: String,
    /// The issued full-disclosure W3C VC 2.0 (JCS JSON), when the credential is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub w3c_vc: Option<String>,
    /// Latest canonical proofs, base64url.
    pub proofs: String,
    /// The status as of the latest proofs (stored as `active`, `revoked`, …).
    pub status: Status,
    /// The refusal code when not active.
    pub status_reason: Option<String>,
    /// Height of the checkpoint of the latest proofs.
    pub checkpoint_height: u64,
    /// Time of that checkpoint.
    pub checkpoint_time: u64,
    /// When the wallet last checked the proofs.
    pub checked_at: u64,
    /// When it was imported.
    pub imported_at: u64,
    /// Expiry (`exp`), if any.
    pub expires_at: Option<u64>,
    /// The batch holder-key index the credential is bound to; none for the wallet's main holder
    /// key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_index: Option<u32>,
}

/// A stored credential's status as of its latest proofs. Stored as the lower-case word, as
/// wallets have always written it; a word this build does not know reads as [`Status::Invalid`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Usable.
    Active,
    /// Revoked by its issuer.
    Revoked,
    /// Suspended by its issuer.
    Suspended,
    /// Past its expiry.
    Expired,
    /// Anything else (never written by this build; read for unknown words).
    #[serde(other)]
    Invalid,
}

impl Status {
    /// The stored word (also the `--json` value and refusal code).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Revoked => "revoked",
            Status::Suspended => "suspended",
            Status::Expired => "expired",
            Status::Invalid => "invalid",
        }
    }

    /// The status a refusal reason means for a stored credential, if it is a status at all.
    pub fn of_invalid(invalid: &certledger_core::verify::Invalid) -> Option<Self> {
        use certledger_core::verify::Invalid;
        match invalid {
            Invalid::Revoked { .. } => Some(Status::Revoked),
            Invalid::Suspended { .. } => Some(Status::Suspended),
            Invalid::Expired => Some(Status::Expired),
            _ => None,
        }
    }
}

impl StoredCredential {
    /// The effective status at `now`: the stored status, or [`Status::Expired`] once an active
    /// credential is past its expiry.
    pub fn effective_status(&self, now: u64) -> Status {
        if self.status == Status::Active && self.expires_at.is_some_and(|exp| now >= exp) {
            return Status::Expired;
        }
        self.status
    }

    /// The decoded proofs.
    pub fn proofs(&self) -> CmdResult<Proofs> {
        let bytes = URL_SAFE_NO_PAD
            .decode(&self.proofs)
            .kind(Kind::Keystore, "stored proofs are not base64url")?;
        Proofs::decode_bytes(&bytes).kind(Kind::Keystore, "stored proofs are malformed")
    }

    /// Stores new proofs.
    pub fn set_proofs(&mut self, proofs: &Proofs) {
        self.proofs = URL_SAFE_NO_PAD.encode(proofs.to_bytes());
    }

    /// The format word shown and printed as JSON: `sd-jwt` or `w3c`.
    pub fn format(&self) -> &'static str {
        if self.w3c_vc.is_some() {
            "w3c"
        } else {
            "sd-jwt"
        }
    }

    /// Decides the credential with `proofs` (either format) under `trust_root`.
    pub fn verify(
        &self,
        proofs: &Proofs,
        trust_root: &TrustRoot,
        max_checkpoint_age_s: u64,
        now: u64,
    ) -> Result<Verdict, VerifyError> {
        match &self.w3c_vc {
            Some(vc) => {
                verify::verify_w3c_credential(vc, proofs, trust_root, max_checkpoint_age_s, now)
            }
            None => verify::verify_credential(
                &self.sd_jwt,
                proofs,
                trust_root,
                max_checkpoint_age_s,
                now,
            ),
        }
    }

    /// The short id shown in listings (first 12 characters of the base64url id).
    pub fn short_id(&self) -> &str {
        self.id.get(..12).unwrap_or(&self.id)
    }
}

/// Where the passphrase comes from.
#[derive(Clone, Debug, Default)]
pub struct PassphraseSource {
    /// `--passphrase-file`.
    pub file: Option<PathBuf>,
}

impl PassphraseSource {
    /// Reads the passphrase: the file, else the env var, else an interactive prompt
    /// (twice when `confirm`).
    pub fn read(&self, confirm: bool) -> CmdResult<Zeroizing<String>> {
        if let Some(path) = &self.file {
            let bytes = Zeroizing::new(keystore::read_bounded(path, Kind::Usage)?);
            let text =
                std::str::from_utf8(&bytes).kind(Kind::Usage, "passphrase file is not UTF-8")?;
            let text = text.strip_suffix('\n').unwrap_or(text);
            let text = text.strip_suffix('\r').unwrap_or(text);
            return check_passphrase(Zeroizing::new(text.to_owned()));
        }
        if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
            return check_passphrase(Zeroizing::new(p));
        }
        let first = Zeroizing::new(
            rpassword::prompt_password("Wallet passphrase / 钱包口令: ").map_err(|e| {
                usage(format!(
                    "no passphrase: use --passphrase-file, {PASSPHRASE_ENV} or a terminal ({e})"
                ))
            })?,
        );
        if confirm {
            let again = Zeroizing::new(
                rpassword::prompt_password("Repeat passphrase / 再次输入口令: ")
                    .map_err(|e| usage(format!("cannot read the passphrase: {e}")))?,
            );
            if *again != *first {
                return Err(usage("the two passphrases differ"));
            }
        }
        check_passphrase(first)
    }
}

fn check_passphrase(p: Zeroizing<String>) -> CmdResult<Zeroizing<String>> {
    if p.is_empty() {
        return Err(usage("the passphrase is empty"));
    }
    if p.len() > MAX_PASSPHRASE_BYTES {
        return Err(usage(format!(
            "the passphrase is longer than {MAX_PASSPHRASE_BYTES} bytes / 口令超过 {MAX_PASSPHRASE_BYTES} 字节"
        )));
    }
    Ok(p)
}

/// An open wallet.
pub struct Wallet {
    path: PathBuf,
    key: SealKey,
    /// The contents.
    pub data: WalletData,
}

/// Decodes a payload.
pub fn parse_payload(plain: &[u8]) -> CmdResult<WalletData> {
    let data: WalletData = serde_json::from_slice(plain)
        .kind(Kind::Keystore, "the wallet decrypted but its contents are malformed")?;
    if data.version != 1 {
        return Err(keystore("unsupported wallet contents version"));
    }
    Ok(data)
}

impl Wallet {
    /// The wallet file path in `dir`.
    pub fn file_in(dir: &Path) -> PathBuf {
        dir.join(WALLET_FILE)
    }

    /// Creates a wallet (the caller checked that none exists).
    pub fn create(path: PathBuf, passphrase: &str, data: WalletData) -> CmdResult<Self> {
        let key = SealKey::create(passphrase.as_bytes())?;
        let wallet = Self { path, key, data };
        wallet.save()?;
        Ok(wallet)
    }

    /// Opens and decrypts the wallet at `path`.
    pub fn open(path: &Path, passphrase: &str) -> CmdResult<Self> {
        if !path.exists() {
            return Err(keystore(format!(
                "no wallet at {}: run `certledger-wallet init` first",
                path.display()
            )));
        }
        let file = keystore::read_bounded(path, Kind::Keystore)?;
        let (key, plain) = keystore::open(&file, passphrase.as_bytes())?;
        let data = parse_payload(&plain)?;
        Ok(Self { path: path.to_owned(), key, data })
    }

    /// The KDF parameters in use.
    pub fn kdf(&self) -> keystore::KdfParams {
        self.key.params()
    }

    /// Encrypts and writes the wallet atomically.
    pub fn save(&self) -> CmdResult<()> {
        let plain = Zeroizing::new(
            serde_json::to_vec(&self.data).kind(Kind::Keystore, "cannot encode the wallet")?,
        );
        let sealed = self.key.seal(&plain)?;
        keystore::write_atomic(&self.path, &sealed)
    }

    /// The holder key.
    pub fn holder_key(&self) -> CmdResult<SecretKey> {
        let seed = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(&self.data.holder_seed)
                .kind(Kind::Keystore, "holder key is malformed")?,
        );
        let seed: &[u8; 32] =
            seed.as_slice().try_into().kind(Kind::Keystore, "holder key has the wrong length")?;
        Ok(SecretKey::from_seed(seed))
    }

    /// The 32-byte wallet secret (pseudonyms and batch holder keys).
    pub fn wallet_secret(&self) -> CmdResult<Zeroizing<[u8; 32]>> {
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(&self.data.wallet_secret)
                .kind(Kind::Keystore, "wallet secret is malformed")?,
        );
        let mut out = Zeroizing::new([0u8; 32]);
        if bytes.len() != 32 {
            return Err(keystore("wallet secret has the wrong length"));
        }
        out.copy_from_slice(&bytes);
        Ok(out)
    }

    /// Batch holder key number `index`.
    pub fn batch_key(&self, index: u32) -> CmdResult<SecretKey> {
        certledger_core::pseudonym::derive_holder_key(&*self.wallet_secret()?, index)
            .kind(Kind::Keystore, "cannot derive the batch holder key")
    }

    /// The key a stored credential is bound to: its batch key, or the main holder key.
    pub fn key_for(&self, credential: &StoredCredential) -> CmdResult<SecretKey> {
        match credential.key_index {
            Some(index) => self.batch_key(index),
            None => self.holder_key(),
        }
    }

    /// Which of this wallet's keys `key` is: `Some(None)` for the main holder key,
    /// `Some(Some(i))` for batch key `i` (of those derived so far), `None` if neither.
    pub fn whose_key(
        &self,
        key: &certledger_core::sig::PublicKey,
    ) -> CmdResult<Option<Option<u32>>> {
        if self.holder_key()?.public_key() == *key {
            return Ok(Some(None));
        }
        let secret = self.wallet_secret()?;
        for index in 0..self.data.next_key_index {
            let derived = certledger_core::pseudonym::derive_holder_key(&secret, index)
                .kind(Kind::Keystore, "cannot derive a batch holder key")?;
            if derived.public_key() == *key {
                return Ok(Some(Some(index)));
            }
        }
        Ok(None)
    }

    /// Appends a consent record; returns the oldest one when it had to be dropped.
    pub fn record_consent(&mut self, record: ConsentRecord) -> Option<ConsentRecord> {
        let consents = &mut self.data.consents;
        let dropped = if consents.len() >= MAX_CONSENTS { Some(consents.remove(0)) } else { None };
        consents.push(record);
        dropped
    }

    /// The stored plain trust root, if one was set with `trust set`.
    pub fn plain_trust_root(&self) -> CmdResult<Option<TrustRoot>> {
        self.data
            .trust_root
            .as_deref()
            .map(TrustRoot::from_json)
            .transpose()
            .kind(Kind::Keystore, "the stored trust root is unusable")
    }

    /// The wallet's trust list: the plain trust root (if set) and every added ledger root (a
    /// signed root replaces a plain one for the same chain). Refused when empty.
    pub fn trust(&self) -> CmdResult<TrustList> {
        let mut list = match self.data.trust_root.as_deref() {
            Some(json) => TrustList::from_json(json)
                .kind(Kind::Keystore, "the stored trust root is unusable")?,
            None => TrustList::new(),
        };
        if let Some(json) = self.data.trust_list.as_deref() {
            let signed = TrustList::from_json(json)
                .kind(Kind::Keystore, "the stored trust list is unusable")?;
            for listed in signed.ledgers() {
                if let Some(root) = &listed.signed {
                    list.add(root.clone())
                        .kind(Kind::Keystore, "the stored trust list is unusable")?;
                }
            }
        }
        if list.is_empty() {
            return Err(usage(
                "no trust root set: run `certledger-wallet trust add FILE` or `trust set FILE` first",
            ));
        }
        Ok(list)
    }

    /// The signed ledger roots added with `trust add`.
    pub fn signed_roots(&self) -> CmdResult<TrustList> {
        match self.data.trust_list.as_deref() {
            Some(json) => {
                TrustList::from_json(json).kind(Kind::Keystore, "the stored trust list is unusable")
            }
            None => Ok(TrustList::new()),
        }
    }

    /// Stores the signed ledger roots (`trust add`, `trust drop`).
    pub fn set_signed_roots(&mut self, list: &TrustList) {
        self.data.trust_list = if list.is_empty() { None } else { Some(list.to_json()) };
    }

    /// Adds or updates one signed ledger root; what [`TrustList::add`] did.
    pub fn add_ledger_root(
        &mut self,
        root: LedgerRoot,
    ) -> CmdResult<certledger_core::verify::Added> {
        let mut signed = self.signed_roots()?;
        let added = signed.add(root).map_err(|e| {
            crate::error::refused(
                e.code(),
                format!("the ledger root was refused: {e}"),
                e.message_zh(),
            )
        })?;
        self.set_signed_roots(&signed);
        Ok(added)
    }

    /// Finds a credential by a unique prefix (at least 4 characters) of its base64url id.
    pub fn find(&self, id: &str) -> CmdResult<usize> {
        if id.len() < 4 {
            return Err(usage("give at least 4 characters of the credential id"));
        }
        let hits: Vec<usize> = self
            .data
            .credentials
            .iter()
            .enumerate()
            .filter(|(_, c)| c.id.starts_with(id))
            .map(|(i, _)| i)
            .collect();
        match hits.as_slice() {
            [one] => Ok(*one),
            [] => Err(usage(format!("no credential with id {id} in this wallet"))),
            _ => Err(usage(format!("{id} matches several credentials: give more characters"))),
        }
    }
}

/// How long a command waits for another command on the same wallet to finish, unless
/// `CERTLEDGER_WALLET_LOCK_WAIT_S` says otherwise.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);
/// Longest lock wait `CERTLEDGER_WALLET_LOCK_WAIT_S` may ask for, in seconds.
pub const MAX_LOCK_WAIT_S: u64 = 3600;
/// Pause between two tries to take the wallet lock.
const LOCK_POLL_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

fn lock_wait() -> std::time::Duration {
    std::env::var("CERTLEDGER_WALLET_LOCK_WAIT_S")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(LOCK_WAIT, |s| std::time::Duration::from_secs(s.min(MAX_LOCK_WAIT_S)))
}

/// Takes the wallet directory's exclusive lock (`<dir>/.lock`, released when the returned file is
/// dropped, also if the process dies), waiting up to [`LOCK_WAIT`] for a concurrent command.
/// A directory that does not exist yet has nothing to protect (`init` creates it).
pub fn lock_wallet_dir(dir: &Path) -> CmdResult<Option<std::fs::File>> {
    use fs4::fs_std::FileExt as _;
    if !dir.is_dir() {
        return Ok(None);
    }
    let path = dir.join(".lock");
    let file =
        std::fs::File::options().create(true).truncate(false).write(true).open(&path).map_err(
            |e| keystore(format!("cannot open the wallet lock {}: {e}", path.display())),
        )?;
    let start = std::time::Instant::now();
    let wait = lock_wait();
    loop {
        match file.try_lock_exclusive() {
            Ok(true) => return Ok(Some(file)),
            Ok(false) if start.elapsed() < wait => {
                std::thread::sleep(LOCK_POLL_EVERY);
            }
            Ok(false) => {
                return Err(keystore(format!(
                    "another certledger-wallet command has been using {} for {} s; try again when it has finished",
                    dir.display(),
                    wait.as_secs()
                )))
            }
            Err(e) => return Err(keystore(format!("cannot lock {}: {e}", path.display()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A credential entry exactly as wallets before the status enum wrote it (no `key_index`).
    const OLD_ENTRY: &str = r#"{"id":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","chain_id":"cn.gov.certledger","type_id":"https://certledger.gov.cn/types/diploma","issuer_department":"education","sd_jwt":"x~","proofs":"","status":"STATUS","status_reason":null,"checkpoint_height":7,"checkpoint_time":1700000000,"checked_at":1700000001,"imported_at":1700000001,"expires_at":1800000000}"#;

    fn entry(status: &str) -> StoredCredential {
        serde_json::from_str(&OLD_ENTRY.replace("STATUS", status)).expect("old entry loads")
    }

    #[test]
    fn old_keystore_entries_still_load_and_are_written_the_same_way() {
        for (word, status) in [
            ("active", Status::Active),
            ("revoked", Status::Revoked),
            ("suspended", Status::Suspended),
            ("expired", Status::Expired),
            ("invalid", Status::Invalid),
            ("something-newer", Status::Invalid),
        ] {
            let c = entry(word);
            assert_eq!(c.status, status, "{word}");
            if status.as_str() == word {
                // Written back byte for byte as an older wallet wrote it.
                assert_eq!(serde_json::to_string(&c).unwrap(), OLD_ENTRY.replace("STATUS", word));
            }
        }
    }

    #[test]
    fn an_active_credential_expires_by_the_clock() {
        let c = entry("active");
        assert_eq!(c.effective_status(1_799_999_999), Status::Active);
        assert_eq!(c.effective_status(1_800_000_000), Status::Expired);
        assert_eq!(entry("revoked").effective_status(1_900_000_000), Status::Revoked);
    }
}
