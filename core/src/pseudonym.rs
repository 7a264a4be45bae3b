//! Per-verifier pseudonyms and holder-key links for identity attestations (`specs/identity.md`).
//!
//! A wallet holds one 32-byte secret. For each verifier it derives an Ed25519 key with
//! HKDF-SHA256 (RFC 5869):
//!
//! ```text
//! salt = "certledger/v1/pseudonym/salt"
//! ikm  = wallet secret (32 bytes)
//! info = str("certledger/v1/pseudonym/key") || str(verifier_id)     (canonical codec strings)
//! seed = HKDF-Expand(HKDF-Extract(salt, ikm), info, 32)
//! ```
//!
//! so a verifier sees the same pseudonym (the public key) every time, and two verifiers see keys
//! that nobody without the wallet secret can link. A [`PseudonymProof`] is the pseudonym's
//! signature, under `sig::ns::PSEUDONYM`, over
//! `0x01 || str(audience) || str(nonce) || holder_key`, where `holder_key` is the `cnf` key of
//! the credential presented in the same exchange: it binds the pseudonym to this presentation and
//! to that credential's holder.
//!
//! A [`LinkProof`] shows that two holder keys (for example a licence's, and the per-verifier
//! identity attestation's) belong to one wallet: both keys sign, under the same namespace,
//! `0x02 || str(audience) || str(nonce) || first_key || second_key`. The leading tag byte keeps
//! the two messages apart.

use hkdf::Hkdf;
use sha2::Sha256;

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::sig::{ns, PublicKey, SecretKey, Signature};

/// Longest audience (verifier id), in bytes.
pub const MAX_AUDIENCE: u32 = 64;
/// Longest nonce, in bytes.
pub const MAX_NONCE: u32 = 256;
/// The HKDF salt.
pub const HKDF_SALT: &[u8] = b"certledger/v1/pseudonym/salt";
/// The label that starts the HKDF info string.
pub const HKDF_INFO_LABEL: &str = "certledger/v1/pseudonym/key";
/// First byte of a pseudonym proof's signed message.
const TAG_PROOF: u8 = 0x01;
/// First byte of a link proof's signed message.
const TAG_LINK: u8 = 0x02;

/// Why a pseudonym or link could not be made or was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PseudonymError {
    /// The audience (verifier id) is empty, too long, or not printable ASCII without spaces.
    #[error("audience must be 1..=64 printable ASCII bytes")]
    InvalidAudience,
    /// The nonce is empty or longer than 256 bytes.
    #[error("nonce must be 1..=256 bytes")]
    InvalidNonce,
    /// A signature does not verify.
    #[error("signature does not verify: {0}")]
    BadSignature(&'static str),
    /// A proof names another key than the presented credential's holder key.
    #[error("wrong key: {0}")]
    WrongKey(&'static str),
    /// A link between a key and itself.
    #[error("a link needs two distinct keys")]
    SameKey,
    /// A holder-key index at or above [`MAX_HOLDER_KEY_INDEX`].
    #[error("holder key index out of range")]
    InvalidIndex,
}

fn check_audience(audience: &str) -> Result<(), PseudonymError> {
    let ok = !audience.is_empty()
        && audience.len() <= MAX_AUDIENCE as usize
        && audience.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if ok {
        Ok(())
    } else {
        Err(PseudonymError::InvalidAudience)
    }
}

fn check_nonce(nonce: &str) -> Result<(), PseudonymError> {
    if nonce.is_empty() || nonce.len() > MAX_NONCE as usize {
        Err(PseudonymError::InvalidNonce)
    } else {
        Ok(())
    }
}

/// The wallet's key for verifier `verifier_id` (see the module documentation).
pub fn derive_key(
    wallet_secret: &[u8; 32],
    verifier_id: &str,
) -> Result<SecretKey, PseudonymError> {
    check_audience(verifier_id)?;
    let mut info = Writer::new();
    info.str(HKDF_INFO_LABEL).str(verifier_id);
    let hk = Hkdf::<Sha256>::new(Some(HKDF_SALT), wallet_secret);
    let mut seed = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit of 255 * 32, so expand cannot fail; the error
    // arm keeps the function total anyway.
    hk.expand(&info.into_bytes(), &mut seed).map_err(|_| PseudonymError::InvalidAudience)?;
    let key = SecretKey::from_seed(&seed);
    seed.iter_mut().for_each(|b| *b = 0);
    Ok(key)
}

/// The label that starts the HKDF info string of batch holder keys.
pub const HOLDER_KEY_INFO_LABEL: &str = "certledger/v1/holder-key";

/// Most holder keys a wallet derives (indices `0..MAX_HOLDER_KEY_INDEX`).
pub const MAX_HOLDER_KEY_INDEX: u32 = 1 << 20;

/// The wallet's holder key number `index` for a batch of identity attestations:
/// `HKDF-SHA256(salt = HKDF_SALT, ikm = wallet secret, info = str("certledger/v1/holder-key")
/// || u32(index), L = 32)` as an Ed25519 seed. The info label differs from the pseudonym
/// label, so no holder key equals a pseudonym key; indices at or above
/// [`MAX_HOLDER_KEY_INDEX`] are refused.
pub fn derive_holder_key(
    wallet_secret: &[u8; 32],
    index: u32,
) -> Result<SecretKey, PseudonymError> {
    if index >= MAX_HOLDER_KEY_INDEX {
        return Err(PseudonymError::InvalidIndex);
    }
    let mut info = Writer::new();
    info.str(HOLDER_KEY_INFO_LABEL).u32(index);
    let hk = Hkdf::<Sha256>::new(Some(HKDF_SALT), wallet_secret);
    let mut seed = [0u8; 32];
    // As in `derive_key`: 32 bytes cannot exceed HKDF's output limit.
    hk.expand(&info.into_bytes(), &mut seed).map_err(|_| PseudonymError::InvalidIndex)?;
    let key = SecretKey::from_seed(&seed);
    seed.iter_mut().for_each(|b| *b = 0);
    Ok(key)
}

/// The pseudonym (public key) verifier `verifier_id` sees for this wallet.
pub fn pseudonym(wallet_secret: &[u8; 32], verifier_id: &str) -> Result<PublicKey, PseudonymError> {
    derive_key(wallet_secret, verifier_id).map(|k| k.public_key())
}

/// The bytes a pseudonym proof signs: `0x01 || str(audience) || str(nonce) || holder_key`.
pub fn proof_message(
    audience: &str,
    nonce: &str,
    holder_key: &PublicKey,
) -> Result<Vec<u8>, PseudonymError> {
    check_audience(audience)?;
    check_nonce(nonce)?;
    let mut w = Writer::new();
    w.u8(TAG_PROOF).str(audience).str(nonce).put(holder_key);
    Ok(w.into_bytes())
}

/// The bytes both keys of a link sign:
/// `0x02 || str(audience) || str(nonce) || first_key || second_key`.
pub fn link_message(
    audience: &str,
    nonce: &str,
    first_key: &PublicKey,
    second_key: &PublicKey,
) -> Result<Vec<u8>, PseudonymError> {
    check_audience(audience)?;
    check_nonce(nonce)?;
    let mut w = Writer::new();
    w.u8(TAG_LINK).str(audience).str(nonce).put(first_key).put(second_key);
    Ok(w.into_bytes())
}

/// A per-verifier pseudonym, bound to one presentation and its credential's holder key.
///
/// Layout: `pseudonym (32) || signature (64)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PseudonymProof {
    /// The wallet's pseudonym for this verifier.
    pub pseudonym: PublicKey,
    /// Its signature over [`proof_message`] under `sig::ns::PSEUDONYM`.
    pub signature: Signature,
}

impl PseudonymProof {
    /// The proof for verifier `audience` (also the key derivation's verifier id), the request's
    /// `nonce`, and the `cnf` key of the credential presented with it.
    pub fn create(
        wallet_secret: &[u8; 32],
        audience: &str,
        nonce: &str,
        holder_key: &PublicKey,
    ) -> Result<Self, PseudonymError> {
        let key = derive_key(wallet_secret, audience)?;
        let msg = proof_message(audience, nonce, holder_key)?;
        Ok(Self { pseudonym: key.public_key(), signature: key.sign(ns::PSEUDONYM, &msg) })
    }

    /// Checks the proof for this verifier's `audience` and `nonce` and the presented
    /// credential's `cnf` key (which the caller has verified the credential's key binding under).
    pub fn verify(
        &self,
        audience: &str,
        nonce: &str,
        holder_key: &PublicKey,
    ) -> Result<(), PseudonymError> {
        let msg = proof_message(audience, nonce, holder_key)?;
        self.pseudonym
            .verify(ns::PSEUDONYM, &msg, &self.signature)
            .map_err(|_| PseudonymError::BadSignature("pseudonym proof"))
    }
}

impl Encode for PseudonymProof {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.pseudonym).put(&self.signature);
    }
}

impl Decode for PseudonymProof {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { pseudonym: PublicKey::decode(r)?, signature: Signature::decode(r)? })
    }
}

/// Two holder keys shown to belong to one wallet, for one exchange.
///
/// Layout: `first_key (32) || first_signature (64) || second_key (32) || second_signature (64)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkProof {
    /// The first credential's holder key (for example a licence's `cnf`).
    pub first_key: PublicKey,
    /// `first_key`'s signature over [`link_message`].
    pub first_signature: Signature,
    /// The second credential's holder key (for example the identity attestation's `cnf`).
    pub second_key: PublicKey,
    /// `second_key`'s signature over the same message.
    pub second_signature: Signature,
}

impl LinkProof {
    /// Both holder keys sign the link for `audience` and `nonce`.
    pub fn create(
        first: &SecretKey,
        second: &SecretKey,
        audience: &str,
        nonce: &str,
    ) -> Result<Self, PseudonymError> {
        let (first_key, second_key) = (first.public_key(), second.public_key());
        if first_key == second_key {
            return Err(PseudonymError::SameKey);
        }
        let msg = link_message(audience, nonce, &first_key, &second_key)?;
        Ok(Self {
            first_key,
            first_signature: first.sign(ns::PSEUDONYM, &msg),
            second_key,
            second_signature: second.sign(ns::PSEUDONYM, &msg),
        })
    }

    /// Checks that the link is for `audience` and `nonce`, names exactly the two presented
    /// holder keys in that order, and carries valid signatures by both.
    pub fn verify(
        &self,
        audience: &str,
        nonce: &str,
        first_holder: &PublicKey,
        second_holder: &PublicKey,
    ) -> Result<(), PseudonymError> {
        if self.first_key != *first_holder {
            return Err(PseudonymError::WrongKey("first key is not the first holder key"));
        }
        if self.second_key != *second_holder {
            return Err(PseudonymError::WrongKey("second key is not the second holder key"));
        }
        if self.first_key == self.second_key {
            return Err(PseudonymError::SameKey);
        }
        let msg = link_message(audience, nonce, &self.first_key, &self.second_key)?;
        self.first_key
            .verify(ns::PSEUDONYM, &msg, &self.first_signature)
            .map_err(|_| PseudonymError::BadSignature("first key's link signature"))?;
        self.second_key
            .verify(ns::PSEUDONYM, &msg, &self.second_signature)
            .map_err(|_| PseudonymError::BadSignature("second key's link signature"))
    }
}

impl Encode for LinkProof {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.first_key)
            .put(&self.first_signature)
            .put(&self.second_key)
            .put(&self.second_signature);
    }
}

impl Decode for LinkProof {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            first_key: PublicKey::decode(r)?,
            first_signature: Signature::decode(r)?,
            second_key: PublicKey::decode(r)?,
            second_signature: Signature::decode(r)?,
        })
    }
}
