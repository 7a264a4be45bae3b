//! Key files at rest (`specs/node.md`, Key files).
//!
//! A key file is JSON with the public key and either the seed in hex (`seed_hex`: department
//! node keys, which a node must load unattended) or the seed sealed under a passphrase
//! (`sealed`: admin and issuer keys), the [`certledger_core::keyseal`] envelope with magic
//! `CLK\x01` in base64url. Every key file is created with mode 0600 from its first byte, written
//! to a temporary file in the same directory, synced, linked to its name only if that name is
//! free (an existing key is never overwritten), and the directory synced.
//!
//! A passphrase comes from, in this order: `--passphrase-file` (a global option, see
//! [`set_passphrase_file`]), the file named by `CERTLEDGER_KEY_PASSPHRASE_FILE`, the variable
//! `CERTLEDGER_KEY_PASSPHRASE`, or a prompt when standard input is a terminal.

use std::fs;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Context as _};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::keyseal::{self, KdfParams, SealError};
use certledger_core::sig::{PublicKey, SecretKey};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Magic bytes of a sealed key (format version 1).
pub const SEALED_KEY_MAGIC: [u8; 4] = *b"CLK\x01";
/// Environment variable naming a file whose first line is the key passphrase.
pub const PASSPHRASE_FILE_ENV: &str = "CERTLEDGER_KEY_PASSPHRASE_FILE";
/// Environment variable holding the key passphrase.
pub const PASSPHRASE_ENV: &str = "CERTLEDGER_KEY_PASSPHRASE";
/// Largest key file or passphrase file read.
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

static PASSPHRASE_FILE: OnceLock<PathBuf> = OnceLock::new();
static PASSPHRASE: OnceLock<Zeroizing<String>> = OnceLock::new();

/// Sets the `--passphrase-file` of this process (first call wins).
pub fn set_passphrase_file(path: PathBuf) {
    let _ = PASSPHRASE_FILE.set(path);
}

/// Sets the passphrase of this process directly (a devnet that made its own; first call wins).
pub fn set_passphrase(passphrase: String) {
    let _ = PASSPHRASE.set(Zeroizing::new(passphrase));
}

/// Whether a passphrase is available without a prompt (set in this process, a passphrase file
/// option, or either environment variable).
pub fn has_passphrase_source() -> bool {
    PASSPHRASE.get().is_some()
        || PASSPHRASE_FILE.get().is_some()
        || std::env::var_os(PASSPHRASE_FILE_ENV).is_some()
        || std::env::var_os(PASSPHRASE_ENV).is_some()
}

fn read_small(path: &Path) -> anyhow::Result<Zeroizing<String>> {
    let meta = fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.len() > MAX_KEY_FILE_BYTES {
        bail!("{} is too large / 文件过大", path.display());
    }
    Ok(Zeroizing::new(
        fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
    ))
}

fn first_line(text: &str) -> Zeroizing<String> {
    Zeroizing::new(text.lines().next().unwrap_or_default().to_owned())
}

/// The key passphrase from the configured sources; `purpose` is shown in the prompt.
pub fn passphrase(purpose: &str, confirm: bool) -> anyhow::Result<Zeroizing<String>> {
    if let Some(p) = PASSPHRASE.get() {
        return Ok(p.clone());
    }
    let file = PASSPHRASE_FILE
        .get()
        .cloned()
        .or_else(|| std::env::var_os(PASSPHRASE_FILE_ENV).map(PathBuf::from));
    let pass = if let Some(file) = file {
        first_line(&read_small(&file)?)
    } else if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        Zeroizing::new(p)
    } else if std::io::stdin().is_terminal() {
        let p = Zeroizing::new(
            rpassword::prompt_password(format!("Passphrase for {purpose} / {purpose} 的口令: "))
                .context("reading the passphrase")?,
        );
        if confirm {
            let again = Zeroizing::new(
                rpassword::prompt_password("Repeat passphrase / 再次输入口令: ")
                    .context("reading the passphrase")?,
            );
            if *again != *p {
                bail!("the passphrases differ / 两次输入的口令不一致");
            }
        }
        p
    } else {
        bail!(
            "{purpose}: no passphrase given for a sealed key (use --passphrase-file, \
             {PASSPHRASE_FILE_ENV} or {PASSPHRASE_ENV}) / {purpose}：加密密钥未提供口令"
        );
    };
    if pass.is_empty() {
        bail!("the key passphrase is empty / 密钥口令为空");
    }
    Ok(pass)
}

/// A key file.
#[derive(Serialize, Deserialize)]
pub struct KeyFile {
    /// The Ed25519 public key (base64url), for humans.
    pub public_key: PublicKey,
    /// The 32-byte seed, hex (plain key files: department node keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_hex: Option<String>,
    /// The seed sealed under a passphrase, base64url (admin and issuer keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
}

impl KeyFile {
    /// A plain key file (the seed in hex).
    pub fn new(key: &SecretKey) -> Self {
        Self { public_key: key.public_key(), seed_hex: Some(hex::encode(key.seed())), sealed: None }
    }

    /// A key file with the seed sealed under `passphrase` (Argon2id 64 MiB, 3 passes).
    pub fn sealed(key: &SecretKey, passphrase: &[u8]) -> anyhow::Result<Self> {
        Self::sealed_with(key, passphrase, KdfParams::DEFAULT)
    }

    fn sealed_with(key: &SecretKey, passphrase: &[u8], params: KdfParams) -> anyhow::Result<Self> {
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let seal = keyseal::SealKey::derive(passphrase, params, salt).map_err(seal_error)?;
        let seed = Zeroizing::new(key.seed());
        let env = seal.seal(SEALED_KEY_MAGIC, nonce, seed.as_ref()).map_err(seal_error)?;
        Ok(Self {
            public_key: key.public_key(),
            seed_hex: None,
            sealed: Some(URL_SAFE_NO_PAD.encode(env)),
        })
    }

    /// A key file sealed under the passphrase from the configured sources (asked twice at a
    /// terminal).
    pub fn sealed_from_sources(key: &SecretKey, purpose: &str) -> anyhow::Result<Self> {
        let pass = passphrase(purpose, true)?;
        Self::sealed(key, pass.as_bytes())
    }

    /// Writes the file: mode 0600 from the first byte, atomically, never over an existing file.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let text = Zeroizing::new(serde_json::to_string_pretty(self)?);
        write_new_private(path, text.as_bytes())
    }

    /// The public key a key file names, without its secret (so without a passphrase).
    pub fn public_key_of(path: &Path) -> anyhow::Result<PublicKey> {
        let text = read_small(path)?;
        let f: KeyFile = serde_json::from_str(&text).context("parsing key file")?;
        Ok(f.public_key)
    }

    /// Loads a key file, plain or sealed (then the passphrase comes from the configured
    /// sources).
    pub fn load(path: &Path) -> anyhow::Result<SecretKey> {
        Self::load_with(path, || passphrase(&format!("key file {}", path.display()), false))
    }

    /// Loads a key file; `pass` gives the passphrase if the file is sealed.
    pub fn load_with(
        path: &Path,
        pass: impl FnOnce() -> anyhow::Result<Zeroizing<String>>,
    ) -> anyhow::Result<SecretKey> {
        let text = read_small(path)?;
        let f: KeyFile = serde_json::from_str(&text).context("parsing key file")?;
        let seed: Zeroizing<[u8; 32]> = match (&f.seed_hex, &f.sealed) {
            (Some(hex_seed), None) => Zeroizing::new(
                hex::decode(hex_seed)
                    .context("seed is not hex")?
                    .try_into()
                    .map_err(|_| anyhow!("seed must be 32 bytes"))?,
            ),
            (None, Some(sealed)) => {
                let env = URL_SAFE_NO_PAD
                    .decode(sealed)
                    .map_err(|_| anyhow!("sealed key is not base64url / 加密密钥格式错误"))?;
                let pass = pass()?;
                let (_, plain) = keyseal::open(&env, SEALED_KEY_MAGIC, pass.as_bytes(), false)
                    .map_err(seal_error)?;
                Zeroizing::new(
                    plain
                        .as_slice()
                        .try_into()
                        .map_err(|_| anyhow!("sealed seed must be 32 bytes"))?,
                )
            }
            _ => bail!("key file must hold exactly one of seed_hex and sealed"),
        };
        let key = SecretKey::from_seed(&seed);
        if key.public_key() != f.public_key {
            bail!("key file public key does not match its seed");
        }
        Ok(key)
    }
}

fn seal_error(e: SealError) -> anyhow::Error {
    match e {
        SealError::Decrypt => {
            anyhow!("wrong passphrase, or the key file was modified / 口令错误，或密钥文件已被修改")
        }
        SealError::Weak => {
            anyhow!("the key file uses a key derivation below 64 MiB; refused / 密钥文件的密钥派生参数过弱，拒绝使用")
        }
        other => anyhow!("sealed key file: {other} / 加密密钥文件无效"),
    }
}

/// Creates `path` with `bytes`, mode 0600 from the first byte: a temporary file in the same
/// directory (created exclusively, 0600, synced), hard-linked to `path` (which fails if `path`
/// exists, so nothing is overwritten), then removed; the directory is synced.
pub fn write_new_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if path.symlink_metadata().is_ok() {
        bail!(
            "{} exists; refusing to overwrite a key file / 密钥文件已存在，拒绝覆盖",
            path.display()
        );
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut r = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut r);
    let tmp = dir.join(format!(".{name}.tmp-{}", hex::encode(r)));
    let result = (|| -> std::io::Result<()> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::hard_link(&tmp, path)?;
        fs::remove_file(&tmp)?;
        if let Ok(d) = fs::File::open(dir) {
            d.sync_all()?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            bail!(
                "{} exists; refusing to overwrite a key file / 密钥文件已存在，拒绝覆盖",
                path.display()
            );
        }
        return Err(anyhow!("writing {}: {e}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 64 MiB (the least a file may use) with one pass, to keep the test quick.
    fn quick(key: &SecretKey, pass: &[u8]) -> KeyFile {
        KeyFile::sealed_with(key, pass, KdfParams { m_kib: keyseal::DEFAULT_M_KIB, t: 1, p: 1 })
            .expect("seal")
    }

    #[test]
    fn an_existing_key_file_is_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("admin.key.json");
        KeyFile::new(&SecretKey::from_seed(&[1; 32])).write(&path).expect("first");
        let before = fs::read(&path).expect("read");
        let err = KeyFile::new(&SecretKey::from_seed(&[2; 32])).write(&path).expect_err("refused");
        assert!(err.to_string().contains("refusing to overwrite"), "{err}");
        assert!(err.to_string().contains("拒绝覆盖"), "{err}");
        assert_eq!(fs::read(&path).expect("read"), before);
    }

    #[test]
    fn a_pre_created_file_held_open_by_someone_else_never_receives_the_key() {
        use std::io::Read as _;
        // The old write truncated and filled an existing file, then chmod'ed it: whoever had
        // created it readable and kept it open read the key.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("node.key.json");
        fs::write(&path, b"").expect("pre-create");
        let mut spy = fs::File::open(&path).expect("open");
        let key = SecretKey::from_seed(&[3; 32]);
        assert!(KeyFile::new(&key).write(&path).is_err());
        let mut seen = String::new();
        spy.read_to_string(&mut seen).expect("read");
        assert!(!seen.contains(&hex::encode(key.seed())), "the key reached the spy");
    }

    #[test]
    fn sealed_key_files_hold_no_key_bytes_and_refuse_a_wrong_passphrase() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = SecretKey::from_seed(&[7; 32]);
        let path = dir.path().join("issuer.key.json");
        quick(&key, b"right").write(&path).expect("write");
        let text = fs::read_to_string(&path).expect("read");
        let raw = fs::read(&path).expect("read");
        let seed = key.seed();
        assert!(!text.contains(&hex::encode(seed)), "hex seed in the file");
        assert!(!text.contains(&URL_SAFE_NO_PAD.encode(seed)), "base64 seed in the file");
        assert!(!raw.windows(32).any(|w| w == seed), "raw seed in the file");
        let ok = KeyFile::load_with(&path, || Ok(Zeroizing::new("right".into()))).expect("opens");
        assert_eq!(ok.public_key(), key.public_key());
        let err = KeyFile::load_with(&path, || Ok(Zeroizing::new("wrong".into())))
            .expect_err("wrong passphrase");
        assert!(err.to_string().contains("wrong passphrase"), "{err}");
        assert!(err.to_string().contains("口令错误"), "{err}");
        // A plain file still loads without asking.
        let plain = dir.path().join("node.key.json");
        KeyFile::new(&key).write(&plain).expect("write");
        let k = KeyFile::load_with(&plain, || bail!("not asked")).expect("plain");
        assert_eq!(k.public_key(), key.public_key());
    }
}
