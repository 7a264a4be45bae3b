//! Passphrase-sealed secrets: the Argon2id + XChaCha20-Poly1305 envelope of the wallet file
//! (`specs/wallet.md`) and of the node's encrypted admin and issuer key files (`specs/node.md`).
//! Sans-io: the caller supplies salt and nonce (fresh randomness) and does the file I/O.
//!
//! Layout (all integers big-endian):
//!
//! ```text
//! magic     4 bytes  chosen by the format: "CLW" 0x01 wallet, "CLK" 0x01 node key file
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
//! decryption failure rather than silently weakening the file.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

/// Length of the header.
pub const HEADER_LEN: usize = 4 + 1 + 12 + 16 + 1 + 24;
/// Default Argon2id memory: 64 MiB (also the least a file may use outside tests).
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

/// Why an envelope could not be made or opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Too short, or the magic bytes are not the expected format's.
    #[error("bad header")]
    BadHeader,
    /// An unknown key-derivation function or cipher.
    #[error("unknown key-derivation function or cipher")]
    UnknownAlgorithm,
    /// Parameters beyond [`MAX_M_KIB`], [`MAX_T`], [`MAX_P`] or zero.
    #[error("out-of-range key-derivation parameters")]
    OutOfRange,
    /// Memory below [`DEFAULT_M_KIB`] where weak parameters are not allowed.
    #[error("key-derivation parameters below 64 MiB")]
    Weak,
    /// Argon2 refused the parameters.
    #[error("key derivation failed")]
    Kdf,
    /// Wrong passphrase or modified file (an AEAD cannot tell them apart).
    #[error("authentication failed")]
    Decrypt,
    /// Encryption failed.
    #[error("encryption failed")]
    Encrypt,
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
    /// The default (strong) parameters.
    pub const DEFAULT: Self = Self { m_kib: DEFAULT_M_KIB, t: DEFAULT_T, p: DEFAULT_P };
    /// Weak parameters for tests only (64 KiB, one pass): files with them are opened only when
    /// the caller allows weak parameters.
    pub const WEAK_FOR_TESTS: Self = Self { m_kib: 64, t: 1, p: 1 };

    /// Checks the bounds; `allow_weak` admits memory below [`DEFAULT_M_KIB`].
    pub fn check(&self, allow_weak: bool) -> Result<(), SealError> {
        if self.m_kib > MAX_M_KIB || self.t > MAX_T || self.p > MAX_P || self.p == 0 || self.t == 0
        {
            return Err(SealError::OutOfRange);
        }
        if self.m_kib < DEFAULT_M_KIB && !allow_weak {
            return Err(SealError::Weak);
        }
        Ok(())
    }
}

/// A derived sealing key with the parameters and salt it was derived with.
pub struct SealKey {
    key: Zeroizing<[u8; 32]>,
    params: KdfParams,
    salt: [u8; 16],
}

impl SealKey {
    /// Derives the key from `passphrase` (Argon2id with `params` and `salt`).
    pub fn derive(passphrase: &[u8], params: KdfParams, salt: [u8; 16]) -> Result<Self, SealError> {
        let argon_params =
            Params::new(params.m_kib, params.t, params.p, Some(32)).map_err(|_| SealError::Kdf)?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
        let mut key = Zeroizing::new([0u8; 32]);
        argon.hash_password_into(passphrase, &salt, key.as_mut()).map_err(|_| SealError::Kdf)?;
        Ok(Self { key, params, salt })
    }

    /// The KDF parameters.
    pub fn params(&self) -> KdfParams {
        self.params
    }

    /// Seals `plaintext` into a complete envelope with `magic` and a fresh `nonce`.
    pub fn seal(
        &self,
        magic: [u8; 4],
        nonce: [u8; 24],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        let header = header_bytes(magic, self.params, &self.salt, &nonce);
        let cipher = XChaCha20Poly1305::new(self.key.as_ref().into());
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: &header })
            .map_err(|_| SealError::Encrypt)?;
        let mut out = header;
        out.extend_from_slice(&sealed);
        Ok(out)
    }
}

fn header_bytes(magic: [u8; 4], params: KdfParams, salt: &[u8; 16], nonce: &[u8; 24]) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(&magic);
    h.push(1);
    h.extend_from_slice(&params.m_kib.to_be_bytes());
    h.extend_from_slice(&params.t.to_be_bytes());
    h.extend_from_slice(&params.p.to_be_bytes());
    h.extend_from_slice(salt);
    h.push(1);
    h.extend_from_slice(nonce);
    h
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

/// Opens an envelope of format `magic`: checks the header (weak parameters only if
/// `allow_weak`), derives the key and decrypts. Returns the key (to seal the next version
/// with) and the plaintext.
pub fn open(
    file: &[u8],
    magic: [u8; 4],
    passphrase: &[u8],
    allow_weak: bool,
) -> Result<(SealKey, Zeroizing<Vec<u8>>), SealError> {
    if file.len() < HEADER_LEN + 16 || file.get(..4) != Some(&magic[..]) {
        return Err(SealError::BadHeader);
    }
    if file.get(4) != Some(&1) || file.get(33) != Some(&1) {
        return Err(SealError::UnknownAlgorithm);
    }
    let params = KdfParams {
        m_kib: be_u32(file, 5).ok_or(SealError::BadHeader)?,
        t: be_u32(file, 9).ok_or(SealError::BadHeader)?,
        p: be_u32(file, 13).ok_or(SealError::BadHeader)?,
    };
    let salt: [u8; 16] =
        file.get(17..33).and_then(|s| s.try_into().ok()).ok_or(SealError::BadHeader)?;
    let nonce: [u8; 24] =
        file.get(34..58).and_then(|s| s.try_into().ok()).ok_or(SealError::BadHeader)?;
    params.check(allow_weak)?;
    let key = SealKey::derive(passphrase, params, salt)?;
    let (head, sealed) = file.split_at(HEADER_LEN);
    let cipher = XChaCha20Poly1305::new(key.key.as_ref().into());
    let plaintext = cipher
        .decrypt(XNonce::from_slice(&nonce), Payload { msg: sealed, aad: head })
        .map_err(|_| SealError::Decrypt)?;
    Ok((key, Zeroizing::new(plaintext)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: [u8; 4] = *b"TST\x01";

    #[test]
    fn seal_open_and_tamper() {
        let key =
            SealKey::derive(b"correct horse", KdfParams::WEAK_FOR_TESTS, [7; 16]).expect("key");
        let file = key.seal(MAGIC, [9; 24], b"secret payload").expect("seal");
        let (_, plain) = open(&file, MAGIC, b"correct horse", true).expect("open");
        assert_eq!(plain.as_slice(), b"secret payload");
        assert!(!file.windows(14).any(|w| w == b"secret payload"));
        assert_eq!(open(&file, MAGIC, b"wrong", true).err(), Some(SealError::Decrypt));
        assert_eq!(open(&file, MAGIC, b"correct horse", false).err(), Some(SealError::Weak));
        assert_eq!(
            open(&file, *b"CLW\x01", b"correct horse", true).err(),
            Some(SealError::BadHeader)
        );
        for at in [0, 5, 20, 40, HEADER_LEN + 1, file.len() - 1] {
            let mut bad = file.clone();
            if let Some(b) = bad.get_mut(at) {
                *b ^= 1;
            }
            assert!(open(&bad, MAGIC, b"correct horse", true).is_err(), "flip at {at}");
        }
        for len in [0, 3, HEADER_LEN, HEADER_LEN + 15] {
            assert!(
                open(file.get(..len).unwrap_or_default(), MAGIC, b"correct horse", true).is_err()
            );
        }
        let mut huge = file.clone();
        huge[5..9].copy_from_slice(&(MAX_M_KIB + 1).to_be_bytes());
        assert_eq!(open(&huge, MAGIC, b"correct horse", true).err(), Some(SealError::OutOfRange));
    }
}
