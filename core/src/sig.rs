//! Ed25519 signatures with one acceptance rule and domain separation.
//!
//! Every component of certledger (node, wallet, browser) accepts exactly the signatures that
//! `ed25519_dalek::VerifyingKey::verify_strict` accepts: canonical `S < L`, canonical `R` and `A`
//! encodings, and no small-order `R` or `A` (see `specs/signatures.md`). The rule is pinned by the
//! RFC 8032, SUPERCOP and speccheck vectors in `core/tests/ed25519.rs`.
//!
//! Objects defined by certledger are signed over `namespaced_message(ns, msg)`, so a signature made
//! for one purpose can never be replayed as another. Objects of external formats (JWS compact
//! serialisations, C2SP signed notes) are signed exactly as their standard says; their domain
//! separation comes from the format itself (JWS `typ` header, note key name) and is listed in specs.

use core::fmt;

use ed25519_dalek::{Signer as _, SigningKey};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};

/// Length of an Ed25519 public key in bytes.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of an Ed25519 signature in bytes.
pub const SIGNATURE_LEN: usize = 64;

/// A signature namespace: the purpose a signature is made for. The full list is in
/// `specs/signatures.md`; changing one is a breaking change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Namespace(&'static str);

impl Namespace {
    /// The tag as text.
    pub const fn as_str(&self) -> &'static str {
        self.0
    }
}

/// Every namespace certledger signs under.
pub mod ns {
    use super::Namespace;

    /// A ledger entry (registration, issuance anchor, status change, governance act).
    pub const ENTRY: Namespace = Namespace("certledger/v1/entry");
    /// One co-signer's approval of a governance act (validator-set change).
    pub const GOVERNANCE_APPROVAL: Namespace = Namespace("certledger/v1/governance-approval");
    /// A consensus proposal (Malachite `Proposal`).
    pub const CONSENSUS_PROPOSAL: Namespace = Namespace("certledger/v1/consensus/proposal");
    /// A consensus vote (Malachite prevote or precommit).
    pub const CONSENSUS_VOTE: Namespace = Namespace("certledger/v1/consensus/vote");
    /// A streamed proposal part.
    pub const CONSENSUS_PROPOSAL_PART: Namespace =
        Namespace("certledger/v1/consensus/proposal-part");
    /// Binding of a libp2p peer id to a department key.
    pub const PEER_BINDING: Namespace = Namespace("certledger/v1/peer-binding");
    /// A holder's per-verifier pseudonym proof.
    pub const PSEUDONYM: Namespace = Namespace("certledger/v1/pseudonym");
    /// A verifier's presentation request, signed by its registered key.
    pub const VERIFIER_REQUEST: Namespace = Namespace("certledger/v1/verifier-request");
    /// A node-to-node HTTP request (forwarded entries), bound to the receiving node.
    pub const PEER_REQUEST: Namespace = Namespace("certledger/v1/peer-request");
    /// A ledger's entry in verifiers' trust lists, signed by its departments' admin keys
    /// (`specs/trust-list.md`).
    pub const TRUST_LIST: Namespace = Namespace("certledger/v1/trust-list");

    /// All namespaces, for documentation and uniqueness tests.
    pub const ALL: &[Namespace] = &[
        ENTRY,
        GOVERNANCE_APPROVAL,
        CONSENSUS_PROPOSAL,
        CONSENSUS_VOTE,
        CONSENSUS_PROPOSAL_PART,
        PEER_BINDING,
        PSEUDONYM,
        VERIFIER_REQUEST,
        PEER_REQUEST,
        TRUST_LIST,
    ];
}

/// Why a signature was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The public key bytes are not a valid point encoding.
    #[error("public key is not a valid Ed25519 point")]
    BadPublicKey,
    /// The signature does not verify under the strict rule.
    #[error("signature does not verify")]
    Invalid,
}

/// An Ed25519 public key (32 bytes, as on the wire). Validity is checked when verifying.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey(pub [u8; PUBLIC_KEY_LEN]);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex_short(&self.0))
    }
}

impl Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine as _;
        s.serialize_str(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine as _;
        let text = <&str as Deserialize>::deserialize(d)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| serde::de::Error::custom("public key is not base64url"))?;
        let arr: [u8; PUBLIC_KEY_LEN] = bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("public key must be 32 bytes"))?;
        Ok(PublicKey(arr))
    }
}

/// An Ed25519 signature (64 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; SIGNATURE_LEN]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex_short(&self.0))
    }
}

/// An Ed25519 signing key. The secret is zeroed on drop.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public={:?})", self.public_key())
    }
}

impl SecretKey {
    /// The key for a 32-byte RFC 8032 seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(seed))
    }

    /// A fresh key from the caller's randomness.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let key = Self::from_seed(&seed);
        seed.iter_mut().for_each(|b| *b = 0);
        key
    }

    /// The 32-byte seed (for encrypted keystores only).
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs `msg` under namespace `ns` (see [`namespaced_message`]).
    pub fn sign(&self, ns: Namespace, msg: &[u8]) -> Signature {
        self.sign_raw(&namespaced_message(ns, msg))
    }

    /// Signs `msg` exactly as given. Only for external formats whose standard fixes the signed
    /// bytes (JWS signing input, C2SP note text); their domain separation is listed in specs.
    pub fn sign_raw(&self, msg: &[u8]) -> Signature {
        Signature(self.0.sign(msg).to_bytes())
    }
}

impl PublicKey {
    /// Verifies a signature made with [`SecretKey::sign`] under namespace `ns`.
    pub fn verify(&self, ns: Namespace, msg: &[u8], sig: &Signature) -> Result<(), SignatureError> {
        self.verify_raw(&namespaced_message(ns, msg), sig)
    }

    /// Verifies a signature over `msg` exactly as given, with the one acceptance rule
    /// (`verify_strict`).
    pub fn verify_raw(&self, msg: &[u8], sig: &Signature) -> Result<(), SignatureError> {
        PreparedKey::new(self).verify_raw(msg, sig)
    }

    /// This key decoded once, for verifying several signatures under it ([`PreparedKey`]).
    pub fn prepare(&self) -> PreparedKey {
        PreparedKey::new(self)
    }

    /// A short, stable identifier: the first 8 bytes of SHA-256 over the key, as hex.
    pub fn short_id(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.0);
        hex_short(&digest[..8])
    }
}

/// A public key with its point decoded once, for verifying many signatures under the same key
/// (an issuer key repeats across bundles and within one).
///
/// Decoding (point decompression) is a pure function of the 32 bytes, so a `PreparedKey` accepts
/// and refuses exactly what [`PublicKey::verify`] / [`PublicKey::verify_raw`] accept and refuse,
/// in the same order: those functions are this one with a fresh `PreparedKey`. The rest of
/// `verify_strict` (small-order checks of `A` and `R`, canonical `S`, the equation) runs for every
/// signature. Bytes that are not a point give a `PreparedKey` that refuses every signature with
/// [`SignatureError::BadPublicKey`], as `PublicKey` does when verifying.
#[derive(Clone, Copy)]
pub struct PreparedKey {
    public: PublicKey,
    decoded: Option<ed25519_dalek::VerifyingKey>,
}

impl fmt::Debug for PreparedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PreparedKey({})", hex_short(&self.public.0))
    }
}

impl PreparedKey {
    /// Decodes `public` (never fails: a bad encoding is reported when verifying).
    pub fn new(public: &PublicKey) -> Self {
        Self { public: *public, decoded: ed25519_dalek::VerifyingKey::from_bytes(&public.0).ok() }
    }

    /// The key as on the wire.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// [`PublicKey::verify`] under this key.
    pub fn verify(&self, ns: Namespace, msg: &[u8], sig: &Signature) -> Result<(), SignatureError> {
        self.verify_raw(&namespaced_message(ns, msg), sig)
    }

    /// [`PublicKey::verify_raw`] under this key: `verify_strict`.
    pub fn verify_raw(&self, msg: &[u8], sig: &Signature) -> Result<(), SignatureError> {
        let key = self.decoded.as_ref().ok_or(SignatureError::BadPublicKey)?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig.0);
        key.verify_strict(msg, &sig).map_err(|_| SignatureError::Invalid)
    }
}

/// The bytes actually signed for a certledger object: `len(ns) as u8 || ns || msg`.
///
/// The one-byte length prefix makes the split between tag and message unambiguous.
pub fn namespaced_message(ns: Namespace, msg: &[u8]) -> Vec<u8> {
    let tag = ns.as_str().as_bytes();
    const _: () = assert!(u8::MAX as usize >= 64, "namespace tags are short");
    let mut out = Vec::with_capacity(1 + tag.len() + msg.len());
    // Tags are compile-time constants well under 255 bytes (checked by a unit test).
    out.push(u8::try_from(tag.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(tag);
    out.extend_from_slice(msg);
    out
}

fn hex_short(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    hex_short(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_distinct_and_short() {
        for (i, a) in ns::ALL.iter().enumerate() {
            assert!(a.as_str().len() < 255);
            assert!(a.as_str().starts_with("certledger/v1/"));
            for b in &ns::ALL[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn signature_does_not_cross_namespaces() {
        let key = SecretKey::from_seed(&[7; 32]);
        let sig = key.sign(ns::ENTRY, b"hello");
        assert_eq!(key.public_key().verify(ns::ENTRY, b"hello", &sig), Ok(()));
        assert_eq!(
            key.public_key().verify(ns::CONSENSUS_VOTE, b"hello", &sig),
            Err(SignatureError::Invalid)
        );
        assert_eq!(key.public_key().verify_raw(b"hello", &sig), Err(SignatureError::Invalid));
    }
}
