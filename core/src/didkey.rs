//! `did:key` identifiers and Multikey encodings for Ed25519.
//!
//! A `did:key` for an Ed25519 public key is `did:key:` followed by the multibase base58btc
//! (prefix `z`) encoding of the multicodec varint `0xed 0x01` and the 32 key bytes. The same
//! `z6Mk...` string is the Multikey `publicKeyMultibase`. A Multikey secret key
//! (`privateKeyMultibase`) is `z` + base58btc(`0x80 0x26` || 32-byte seed).
//! Base58btc is the `bs58` crate with the Bitcoin alphabet.

use crate::sig::{PublicKey, SecretKey, PUBLIC_KEY_LEN};

/// The multicodec prefix of an Ed25519 public key (`ed25519-pub`, 0xed as a varint).
pub const ED25519_PUB_PREFIX: [u8; 2] = [0xed, 0x01];
/// The multicodec prefix of an Ed25519 secret key (`ed25519-priv`, 0x1300 as a varint).
pub const ED25519_PRIV_PREFIX: [u8; 2] = [0x80, 0x26];
/// The `did:key` method prefix.
pub const DID_KEY_PREFIX: &str = "did:key:";
/// Longest multibase text the decoders accept (an Ed25519 key needs 48 characters).
pub const MAX_MULTIBASE_LEN: usize = 128;

/// Why a `did:key` or Multikey text was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DidKeyError {
    /// The text is not base58btc multibase (`z` + Bitcoin alphabet) or is too long.
    #[error("not base58btc multibase: {0}")]
    BadMultibase(&'static str),
    /// The decoded bytes do not carry the expected multicodec prefix.
    #[error("wrong multicodec: {0}")]
    WrongMulticodec(&'static str),
    /// The key is not 32 bytes.
    #[error("wrong key length")]
    WrongLength,
    /// The text does not start with `did:key:` or has a fragment or path of its own.
    #[error("not a did:key: {0}")]
    NotDidKey(&'static str),
}

/// Multibase base58btc: encoding and decoding of `z`-prefixed text.
pub mod multibase {
    use super::{DidKeyError, MAX_MULTIBASE_LEN};

    /// `z` + base58btc(`bytes`).
    pub fn encode_base58btc(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(1 + bytes.len() * 138 / 100 + 1);
        out.push('z');
        out.push_str(&bs58::encode(bytes).into_string());
        out
    }

    /// Decodes `z`-prefixed base58btc text (bounded by [`MAX_MULTIBASE_LEN`]).
    pub fn decode_base58btc(text: &str) -> Result<Vec<u8>, DidKeyError> {
        if text.len() > MAX_MULTIBASE_LEN {
            return Err(DidKeyError::BadMultibase("too long"));
        }
        let body = text.strip_prefix('z').ok_or(DidKeyError::BadMultibase("prefix is not z"))?;
        bs58::decode(body).into_vec().map_err(|_| DidKeyError::BadMultibase("not base58btc"))
    }
}

/// The Multikey `publicKeyMultibase` of `key` (`z6Mk...`).
pub fn multikey_public(key: &PublicKey) -> String {
    let mut bytes = Vec::with_capacity(2 + PUBLIC_KEY_LEN);
    bytes.extend_from_slice(&ED25519_PUB_PREFIX);
    bytes.extend_from_slice(&key.0);
    multibase::encode_base58btc(&bytes)
}

/// The Multikey `privateKeyMultibase` of `key` (`z3u2...`). Handle the result as a secret.
pub fn multikey_secret(key: &SecretKey) -> String {
    let mut bytes = Vec::with_capacity(2 + 32);
    bytes.extend_from_slice(&ED25519_PRIV_PREFIX);
    bytes.extend_from_slice(&key.seed());
    let out = multibase::encode_base58btc(&bytes);
    bytes.iter_mut().for_each(|b| *b = 0);
    out
}

fn strip_prefix_32(
    bytes: &[u8],
    prefix: [u8; 2],
    what: &'static str,
) -> Result<[u8; 32], DidKeyError> {
    let rest = bytes.strip_prefix(&prefix[..]).ok_or(DidKeyError::WrongMulticodec(what))?;
    rest.try_into().map_err(|_| DidKeyError::WrongLength)
}

/// Decodes a Multikey `publicKeyMultibase` (`z6Mk...`) into an Ed25519 public key.
pub fn public_key_from_multikey(text: &str) -> Result<PublicKey, DidKeyError> {
    let bytes = multibase::decode_base58btc(text)?;
    Ok(PublicKey(strip_prefix_32(&bytes, ED25519_PUB_PREFIX, "not ed25519-pub")?))
}

/// Decodes a Multikey `privateKeyMultibase` into an Ed25519 secret key.
pub fn secret_key_from_multikey(text: &str) -> Result<SecretKey, DidKeyError> {
    let mut bytes = multibase::decode_base58btc(text)?;
    let seed = strip_prefix_32(&bytes, ED25519_PRIV_PREFIX, "not ed25519-priv");
    bytes.iter_mut().for_each(|b| *b = 0);
    let mut seed = seed?;
    let key = SecretKey::from_seed(&seed);
    seed.iter_mut().for_each(|b| *b = 0);
    Ok(key)
}

/// The `did:key` of an Ed25519 public key.
pub fn did_key(key: &PublicKey) -> String {
    format!("{DID_KEY_PREFIX}{}", multikey_public(key))
}

/// The verification method id `did:key:z6Mk...#z6Mk...` of an Ed25519 public key.
pub fn did_key_verification_method(key: &PublicKey) -> String {
    let mk = multikey_public(key);
    format!("{DID_KEY_PREFIX}{mk}#{mk}")
}

/// The Ed25519 public key of a `did:key` (a bare DID, no path, query or fragment).
pub fn public_key_from_did_key(did: &str) -> Result<PublicKey, DidKeyError> {
    let mk = did
        .strip_prefix(DID_KEY_PREFIX)
        .ok_or(DidKeyError::NotDidKey("missing did:key: prefix"))?;
    if mk.contains(['#', '/', '?', ':']) {
        return Err(DidKeyError::NotDidKey("unexpected path, query or fragment"));
    }
    public_key_from_multikey(mk)
}

/// The Ed25519 public key named by a `did:key` verification method `did:key:X#X` (the fragment
/// must repeat the method-specific id).
pub fn public_key_from_verification_method(vm: &str) -> Result<PublicKey, DidKeyError> {
    let (did, fragment) = vm.split_once('#').ok_or(DidKeyError::NotDidKey("missing fragment"))?;
    let key = public_key_from_did_key(did)?;
    if fragment != multikey_public(&key) {
        return Err(DidKeyError::NotDidKey("fragment does not match the key"));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refusals() {
        let sk = SecretKey::from_seed(&[7u8; 32]);
        let pk = sk.public_key();
        let did = did_key(&pk);
        assert!(did.starts_with("did:key:z6Mk"));
        assert_eq!(public_key_from_did_key(&did), Ok(pk));
        assert_eq!(public_key_from_verification_method(&did_key_verification_method(&pk)), Ok(pk));
        let sk2 = secret_key_from_multikey(&multikey_secret(&sk)).expect("round trip");
        assert_eq!(sk2.public_key(), pk);
        assert!(multikey_secret(&sk).starts_with("z3u2"));

        assert!(matches!(public_key_from_did_key("did:web:x"), Err(DidKeyError::NotDidKey(_))));
        assert!(matches!(
            public_key_from_did_key(&format!("{did}#x")),
            Err(DidKeyError::NotDidKey(_))
        ));
        assert!(matches!(
            public_key_from_multikey(&multikey_secret(&sk)),
            Err(DidKeyError::WrongMulticodec(_))
        ));
        assert!(matches!(public_key_from_multikey("z0OIl"), Err(DidKeyError::BadMultibase(_))));
        assert!(matches!(
            public_key_from_multikey(&multibase::encode_base58btc(&[0xed, 0x01, 1, 2])),
            Err(DidKeyError::WrongLength)
        ));
        assert!(matches!(
            public_key_from_multikey(&"z".repeat(200)),
            Err(DidKeyError::BadMultibase(_))
        ));
    }
}
