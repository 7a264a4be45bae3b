//! The encrypted wallet file: Argon2id key derivation and XChaCha20-Poly1305 (`specs/wallet.md`),
//! the envelope of [`certledger_core::keyseal`] with magic `CLW\x01`.
//!
//! Layout (all integers big-endian):
//!
//! ```text
//! magic     4 bytes  "CLW" 0x01
//! kdf       u8       1 = Argon2id v0x13
//! m_kib     u32      Argon2 memory in KiB
//! t         u32      Argon2 passes
//! p         u32      Argon2 lanes
//! salt      16 bytes
//! aead      u8       1 = XChaCha20-Poly1305
//! nonce     24 bytes (fresh on every write)
//! sealed    rest     AEAD(key = Argon2id(passphrase, salt), nonce, plaintext, aad = the 58 header bytes)
//! ```
//!
//! The header is authenticated as associated data, so a changed parameter is caught as a
//! decryption failure rather than silently weakening the file. Writes go to a temporary file in
//! the same directory (mode 0600), are synced and then renamed over the old file, so a crash
//! leaves either the old or the new wallet, never a truncated one.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use certledger_core::keyseal::{self, SealError};
use rand::RngCore as _;
use zeroize::Zeroizing;

use crate::error::{keystore, CmdResult, Failure, Kind};

pub use certledger_core::keyseal::KdfParams;

/// Magic bytes of the wallet file (format version 1).
pub const MAGIC: [u8; 4] = *b"CLW\x01";
/// Largest wallet file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// Hidden, INSECURE test knob: when set to `1`, new wallets use Argon2id with 64 KiB and one
/// pass, and files with such parameters are accepted. Only the test suite sets it; release
/// builds do not have it (`cfg(debug_assertions)`).
#[cfg(debug_assertions)]
pub const INSECURE_TEST_KDF_ENV: &str = "CERTLEDGER_WALLET_INSECURE_TEST_KDF";

#[cfg(debug_assertions)]
fn insecure_test_kdf() -> bool {
    std::env::var(INSECURE_TEST_KDF_ENV).is_ok_and(|v| v == "1")
}

#[cfg(not(debug_assertions))]
fn insecure_test_kdf() -> bool {
    false
}

/// The parameters for a new wallet.
fn params_for_new_wallet() -> KdfParams {
    if insecure_test_kdf() {
        KdfParams::WEAK_FOR_TESTS
    } else {
        KdfParams::DEFAULT
    }
}

fn seal_failure(e: SealError) -> Failure {
    keystore(match e {
        SealError::BadHeader => {
            "the wallet file is corrupted or not a certledger wallet (bad header)"
        }
        SealError::UnknownAlgorithm => "the wallet file uses an unknown key-derivation or cipher",
        SealError::OutOfRange => "the wallet file demands out-of-range key-derivation parameters",
        SealError::Weak => {
            "the wallet file uses key-derivation parameters below 64 MiB; refusing a weak store"
        }
        SealError::Kdf => "key derivation failed",
        SealError::Decrypt => {
            "wrong passphrase, or the wallet file is corrupted (authentication failed)"
        }
        SealError::Encrypt => "encryption failed",
    })
}

/// The opened key: derived once per command, reused for the write back.
pub struct SealKey(keyseal::SealKey);

impl SealKey {
    /// A fresh key for a new wallet (random salt).
    pub fn create(passphrase: &[u8]) -> CmdResult<Self> {
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        keyseal::SealKey::derive(passphrase, params_for_new_wallet(), salt)
            .map(Self)
            .map_err(seal_failure)
    }

    /// The KDF parameters.
    pub fn params(&self) -> KdfParams {
        self.0.params()
    }

    /// Seals `plaintext` into a complete wallet file image (fresh nonce).
    pub fn seal(&self, plaintext: &[u8]) -> CmdResult<Vec<u8>> {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        self.0.seal(MAGIC, nonce, plaintext).map_err(seal_failure)
    }
}

/// Opens a wallet file image: checks the header, derives the key and decrypts.
/// A wrong passphrase and a modified file cannot be told apart by an AEAD; both are reported.
pub fn open(file: &[u8], passphrase: &[u8]) -> CmdResult<(SealKey, Zeroizing<Vec<u8>>)> {
    let (key, plain) =
        keyseal::open(file, MAGIC, passphrase, insecure_test_kdf()).map_err(seal_failure)?;
    Ok((SealKey(key), plain))
}

/// Reads a file of at most [`MAX_FILE_BYTES`].
pub fn read_bounded(path: &Path, kind: Kind) -> CmdResult<Vec<u8>> {
    let meta = fs::metadata(path)
        .map_err(|e| Failure::new(kind, anyhow::anyhow!("cannot read {}: {e}", path.display())))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(Failure::new(kind, anyhow::anyhow!("{} is too large", path.display())));
    }
    fs::read(path)
        .map_err(|e| Failure::new(kind, anyhow::anyhow!("cannot read {}: {e}", path.display())))
}

/// Writes `bytes` to `path` atomically: a 0600 temporary file in the same directory, synced,
/// then renamed over `path`; the directory is synced after the rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> CmdResult<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut nonce = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let tmp: PathBuf = dir.join(format!(".{name}.tmp-{}", hex::encode(nonce)));
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
        fs::rename(&tmp, path)?;
        if let Ok(d) = fs::File::open(dir) {
            // Best effort: not every platform can sync a directory.
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(keystore(format!("cannot write {}: {e}", path.display())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use certledger_core::keyseal::HEADER_LEN;

    #[test]
    fn seal_open_and_tamper() {
        std::env::set_var(INSECURE_TEST_KDF_ENV, "1");
        let key = SealKey::create(b"correct horse").expect("create");
        let file = key.seal(b"secret payload").expect("seal");
        let (_, plain) = open(&file, b"correct horse").expect("open");
        assert_eq!(plain.as_slice(), b"secret payload");
        assert!(open(&file, b"wrong").is_err());
        for at in [0, 5, 20, 40, HEADER_LEN + 1, file.len() - 1] {
            let mut bad = file.clone();
            if let Some(b) = bad.get_mut(at) {
                *b ^= 1;
            }
            assert!(open(&bad, b"correct horse").is_err(), "flip at {at}");
        }
        for len in [0, 3, HEADER_LEN, HEADER_LEN + 15] {
            assert!(open(file.get(..len).unwrap_or_default(), b"correct horse").is_err());
        }
    }
}
