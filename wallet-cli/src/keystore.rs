//! The encrypted wallet file: Argon2id key derivation and XChaCha20-Poly1305 (`specs/wallet.md`).
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

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;
use zeroize::Zeroizing;

use crate::error::{keystore, CmdResult, Failure, Kind};

/// Magic bytes of the wallet file (format version 1).
pub const MAGIC: [u8; 4] = *b"CLW\x01";
/// Length of the header.
pub const HEADER_LEN: usize = 4 + 1 + 12 + 16 + 1 + 24;
/// Largest wallet file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;
/// Default Argon2id memory: 64 MiB.
pub const DEFAULT_M_KIB: u32 = 64 * 1024;
/// Default Argon2id passes.
pub const DEFAULT_T: u32 = 3;
/// Default Argon2id lanes.
pub const DEFAULT_P: u32 = 1;
/// Largest memory a file may demand (1 GiB), so a hostile file cannot exhaust memory.
pub const MAX_M_KIB: u32 = 1024 * 1024;
/// Most passes a file may demand.
pub const MAX_T: u32 = 16;
/// Most lanes a file may demand.
pub const MAX_P: u32 = 16;

/// Hidden, INSECURE test knob: when set to `1`, new wallets use Argon2id with 64 KiB and one
/// pass, and files with such parameters are accepted. Only the test suite sets it.
pub const INSECURE_TEST_KDF_ENV: &str = "CERTLEDGER_WALLET_INSECURE_TEST_KDF";

fn insecure_test_kdf() -> bool {
    std::env::var(INSECURE_TEST_KDF_ENV).is_ok_and(|v| v == "1")
}

/// Argon2id parameters as written in the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// The parameters for a new wallet.
    pub fn for_new_wallet() -> Self {
        if insecure_test_kdf() {
            Self { m_kib: 64, t: 1, p: 1 }
        } else {
            Self { m_kib: DEFAULT_M_KIB, t: DEFAULT_T, p: DEFAULT_P }
        }
    }

    fn check(&self) -> CmdResult<()> {
        if self.m_kib > MAX_M_KIB || self.t > MAX_T || self.p > MAX_P || self.p == 0 || self.t == 0
        {
            return Err(keystore("the wallet file demands out-of-range key-derivation parameters"));
        }
        if self.m_kib < DEFAULT_M_KIB && !insecure_test_kdf() {
            return Err(keystore(
                "the wallet file uses key-derivation parameters below 64 MiB; refusing a weak store",
            ));
        }
        Ok(())
    }
}

/// The opened key: derived once per command, reused for the write back.
pub struct SealKey {
    key: Zeroizing<[u8; 32]>,
    params: KdfParams,
    salt: [u8; 16],
}

fn derive(passphrase: &[u8], params: KdfParams, salt: &[u8; 16]) -> CmdResult<Zeroizing<[u8; 32]>> {
    let argon_params = Params::new(params.m_kib, params.t, params.p, Some(32))
        .map_err(|e| keystore(format!("invalid key-derivation parameters: {e}")))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase, salt, key.as_mut())
        .map_err(|e| keystore(format!("key derivation failed: {e}")))?;
    Ok(key)
}

impl SealKey {
    /// A fresh key for a new wallet (random salt).
    pub fn create(passphrase: &[u8]) -> CmdResult<Self> {
        let params = KdfParams::for_new_wallet();
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let key = derive(passphrase, params, &salt)?;
        Ok(Self { key, params, salt })
    }

    /// The KDF parameters.
    pub fn params(&self) -> KdfParams {
        self.params
    }

    /// Seals `plaintext` into a complete wallet file image (fresh nonce).
    pub fn seal(&self, plaintext: &[u8]) -> CmdResult<Vec<u8>> {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let header = header_bytes(self.params, &self.salt, &nonce);
        let cipher = XChaCha20Poly1305::new(self.key.as_ref().into());
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: &header })
            .map_err(|_| keystore("encryption failed"))?;
        let mut out = header;
        out.extend_from_slice(&sealed);
        Ok(out)
    }
}

fn header_bytes(params: KdfParams, salt: &[u8; 16], nonce: &[u8; 24]) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(&MAGIC);
    h.push(1);
    h.extend_from_slice(&params.m_kib.to_be_bytes());
    h.extend_from_slice(&params.t.to_be_bytes());
    h.extend_from_slice(&params.p.to_be_bytes());
    h.extend_from_slice(salt);
    h.push(1);
    h.extend_from_slice(nonce);
    h
}

struct Header {
    params: KdfParams,
    salt: [u8; 16],
    nonce: [u8; 24],
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

fn parse_header(file: &[u8]) -> CmdResult<Header> {
    let corrupted =
        || keystore("the wallet file is corrupted or not a certledger wallet (bad header)");
    if file.len() < HEADER_LEN + 16 || file.get(..4) != Some(&MAGIC[..]) {
        return Err(corrupted());
    }
    if file.get(4) != Some(&1) || file.get(33) != Some(&1) {
        return Err(keystore("the wallet file uses an unknown key-derivation or cipher"));
    }
    let params = KdfParams {
        m_kib: be_u32(file, 5).ok_or_else(corrupted)?,
        t: be_u32(file, 9).ok_or_else(corrupted)?,
        p: be_u32(file, 13).ok_or_else(corrupted)?,
    };
    let salt: [u8; 16] = file.get(17..33).and_then(|s| s.try_into().ok()).ok_or_else(corrupted)?;
    let nonce: [u8; 24] = file.get(34..58).and_then(|s| s.try_into().ok()).ok_or_else(corrupted)?;
    params.check()?;
    Ok(Header { params, salt, nonce })
}

/// Opens a wallet file image: checks the header, derives the key and decrypts.
/// A wrong passphrase and a modified file cannot be told apart by an AEAD; both are reported.
pub fn open(file: &[u8], passphrase: &[u8]) -> CmdResult<(SealKey, Zeroizing<Vec<u8>>)> {
    let header = parse_header(file)?;
    let key = derive(passphrase, header.params, &header.salt)?;
    let (head, sealed) = file.split_at(HEADER_LEN);
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    let plaintext = cipher
        .decrypt(XNonce::from_slice(&header.nonce), Payload { msg: sealed, aad: head })
        .map_err(|_| {
            keystore("wrong passphrase, or the wallet file is corrupted (authentication failed)")
        })?;
    Ok((SealKey { key, params: header.params, salt: header.salt }, Zeroizing::new(plaintext)))
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
