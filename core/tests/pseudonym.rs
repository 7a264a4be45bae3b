//! Per-verifier pseudonyms and holder-key links (`specs/identity.md`).
#![allow(clippy::unwrap_used, clippy::panic)]

use certledger_core::codec::{Decode, Encode};
use certledger_core::pseudonym::{
    derive_key, link_message, proof_message, pseudonym, LinkProof, PseudonymError, PseudonymProof,
    HKDF_INFO_LABEL, HKDF_SALT,
};
use certledger_core::sig::{ns, SecretKey, Signature};

const WALLET: [u8; 32] = [0x42; 32];
const NONCE: &str = "q8bM1tYx3kF0a9ZJ-pL2Vg";

fn holder() -> SecretKey {
    SecretKey::from_seed(&[1; 32])
}

#[test]
fn same_secret_and_verifier_give_the_same_pseudonym() {
    let a = pseudonym(&WALLET, "bank-of-example").unwrap();
    let b = pseudonym(&WALLET, "bank-of-example").unwrap();
    assert_eq!(a, b);
    assert_eq!(derive_key(&WALLET, "bank-of-example").unwrap().public_key(), a);
}

#[test]
fn different_verifiers_or_wallets_give_different_keys() {
    let bank = pseudonym(&WALLET, "bank-of-example").unwrap();
    let hotel = pseudonym(&WALLET, "hotel-example").unwrap();
    assert_ne!(bank, hotel);
    assert_ne!(bank, pseudonym(&[0x43; 32], "bank-of-example").unwrap());
    // Case and length matter: ids are compared as bytes.
    assert_ne!(bank, pseudonym(&WALLET, "Bank-of-example").unwrap());
    assert_ne!(bank, pseudonym(&WALLET, "bank-of-exampl").unwrap());
    // The key is not the wallet secret used as a seed.
    assert_ne!(bank, SecretKey::from_seed(&WALLET).public_key());
}

#[test]
fn derivation_is_hkdf_sha256_with_the_documented_inputs() {
    // Recompute with the hkdf crate from the spec's inputs, independently of derive_key's code
    // path: salt, ikm = wallet secret, info = str(label) || str(verifier id), 32 bytes.
    let id = "bank-of-example";
    let mut info = Vec::new();
    for part in [HKDF_INFO_LABEL, id] {
        info.extend_from_slice(&u32::try_from(part.len()).unwrap().to_be_bytes());
        info.extend_from_slice(part.as_bytes());
    }
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(HKDF_SALT), &WALLET);
    let mut seed = [0u8; 32];
    hk.expand(&info, &mut seed).unwrap();
    assert_eq!(derive_key(&WALLET, id).unwrap().seed(), seed);
}

#[test]
fn audience_rules() {
    assert_eq!(pseudonym(&WALLET, ""), Err(PseudonymError::InvalidAudience));
    assert_eq!(pseudonym(&WALLET, "has space"), Err(PseudonymError::InvalidAudience));
    assert_eq!(pseudonym(&WALLET, &"a".repeat(65)), Err(PseudonymError::InvalidAudience));
    assert!(pseudonym(&WALLET, &"a".repeat(64)).is_ok());
    let h = holder().public_key();
    assert_eq!(PseudonymProof::create(&WALLET, "bank", "", &h), Err(PseudonymError::InvalidNonce));
    assert_eq!(
        PseudonymProof::create(&WALLET, "bank", &"n".repeat(257), &h),
        Err(PseudonymError::InvalidNonce)
    );
}

#[test]
fn pseudonym_proof_verifies_for_its_presentation_only() {
    let h = holder().public_key();
    let proof = PseudonymProof::create(&WALLET, "bank-of-example", NONCE, &h).unwrap();
    assert_eq!(proof.pseudonym, pseudonym(&WALLET, "bank-of-example").unwrap());
    assert_eq!(proof.verify("bank-of-example", NONCE, &h), Ok(()));
    let bad = Err(PseudonymError::BadSignature("pseudonym proof"));
    assert_eq!(proof.verify("bank-of-example", "another-nonce-0000", &h), bad);
    assert_eq!(proof.verify("hotel-example", NONCE, &h), bad);
    let other_holder = SecretKey::from_seed(&[2; 32]).public_key();
    assert_eq!(proof.verify("bank-of-example", NONCE, &other_holder), bad);
    // Another wallet's pseudonym cannot take over the signature.
    let mut stolen = proof;
    stolen.pseudonym = pseudonym(&[7; 32], "bank-of-example").unwrap();
    assert_eq!(stolen.verify("bank-of-example", NONCE, &h), bad);
    // The signature is under the PSEUDONYM namespace over the documented message.
    let msg = proof_message("bank-of-example", NONCE, &h).unwrap();
    assert_eq!(proof.pseudonym.verify(ns::PSEUDONYM, &msg, &proof.signature), Ok(()));
    assert!(proof.pseudonym.verify(ns::ENTRY, &msg, &proof.signature).is_err());
}

#[test]
fn proofs_round_trip_through_their_encoding() {
    let h = holder().public_key();
    let proof = PseudonymProof::create(&WALLET, "bank", NONCE, &h).unwrap();
    let bytes = proof.to_bytes();
    assert_eq!(bytes.len(), 96);
    assert_eq!(PseudonymProof::from_bytes(&bytes), Ok(proof));
    assert!(PseudonymProof::from_bytes(&bytes[..95]).is_err());
    let link =
        LinkProof::create(&holder(), &SecretKey::from_seed(&[3; 32]), "bank", NONCE).unwrap();
    let bytes = link.to_bytes();
    assert_eq!(bytes.len(), 192);
    assert_eq!(LinkProof::from_bytes(&bytes), Ok(link));
    assert!(LinkProof::from_bytes(&[bytes.as_slice(), &[0]].concat()).is_err());
}

#[test]
fn link_binds_both_holder_keys_to_one_exchange() {
    let licence = holder();
    let identity = SecretKey::from_seed(&[3; 32]);
    let (a, b) = (licence.public_key(), identity.public_key());
    let link = LinkProof::create(&licence, &identity, "bank", NONCE).unwrap();
    assert_eq!(link.verify("bank", NONCE, &a, &b), Ok(()));
    // Another exchange.
    assert!(matches!(
        link.verify("bank", "other-nonce-000000", &a, &b),
        Err(PseudonymError::BadSignature(_))
    ));
    assert!(matches!(link.verify("hotel", NONCE, &a, &b), Err(PseudonymError::BadSignature(_))));
    // Other keys than the presented credentials' holder keys, or swapped.
    let c = SecretKey::from_seed(&[4; 32]).public_key();
    assert!(matches!(link.verify("bank", NONCE, &a, &c), Err(PseudonymError::WrongKey(_))));
    assert!(matches!(link.verify("bank", NONCE, &c, &b), Err(PseudonymError::WrongKey(_))));
    assert!(matches!(link.verify("bank", NONCE, &b, &a), Err(PseudonymError::WrongKey(_))));
}

#[test]
fn link_fails_if_either_signature_is_missing_or_over_other_keys() {
    let licence = holder();
    let identity = SecretKey::from_seed(&[3; 32]);
    let (a, b) = (licence.public_key(), identity.public_key());
    let link = LinkProof::create(&licence, &identity, "bank", NONCE).unwrap();
    let missing = Signature([0; 64]);
    let mut m1 = link;
    m1.first_signature = missing;
    assert_eq!(
        m1.verify("bank", NONCE, &a, &b),
        Err(PseudonymError::BadSignature("first key's link signature"))
    );
    let mut m2 = link;
    m2.second_signature = missing;
    assert_eq!(
        m2.verify("bank", NONCE, &a, &b),
        Err(PseudonymError::BadSignature("second key's link signature"))
    );
    // One key's signature copied into the other's place.
    let mut copied = link;
    copied.second_signature = link.first_signature;
    assert!(copied.verify("bank", NONCE, &a, &b).is_err());
    // The second key signed a link naming a third key instead of the first: refused.
    let c = SecretKey::from_seed(&[4; 32]);
    let over_other = link_message("bank", NONCE, &c.public_key(), &b).unwrap();
    let mut other = link;
    other.second_signature = identity.sign(ns::PSEUDONYM, &over_other);
    assert_eq!(
        other.verify("bank", NONCE, &a, &b),
        Err(PseudonymError::BadSignature("second key's link signature"))
    );
    // A pseudonym proof's signature is not a link signature (tag byte), even for the same key.
    let proof_msg = proof_message("bank", NONCE, &b).unwrap();
    let mut crossed = link;
    crossed.first_signature = licence.sign(ns::PSEUDONYM, &proof_msg);
    assert!(crossed.verify("bank", NONCE, &a, &b).is_err());
    // A link of a key with itself is refused.
    assert_eq!(LinkProof::create(&licence, &licence, "bank", NONCE), Err(PseudonymError::SameKey));
}

#[test]
fn hkdf_crate_passes_rfc5869_test_case_1() {
    // RFC 5869 appendix A.1 (SHA-256): the library this module relies on.
    let ikm = [0x0b_u8; 22];
    let salt: Vec<u8> = (0x00..=0x0c).collect();
    let info: Vec<u8> = (0xf0..=0xf9).collect();
    let (prk, hk) = hkdf::Hkdf::<sha2::Sha256>::extract(Some(&salt), &ikm);
    assert_eq!(
        hex::encode(prk),
        "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"
    );
    let mut okm = [0u8; 42];
    hk.expand(&info, &mut okm).unwrap();
    assert_eq!(
        hex::encode(okm),
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    );
}

#[test]
fn batch_holder_keys_are_hkdf_with_their_own_label_and_index() {
    use certledger_core::pseudonym::{
        derive_holder_key, HOLDER_KEY_INFO_LABEL, MAX_HOLDER_KEY_INDEX,
    };
    // Recomputed from the spec's inputs: info = str(label) || u32(index), big-endian.
    for index in [0u32, 1, 77, MAX_HOLDER_KEY_INDEX - 1] {
        let mut info = Vec::new();
        info.extend_from_slice(&u32::try_from(HOLDER_KEY_INFO_LABEL.len()).unwrap().to_be_bytes());
        info.extend_from_slice(HOLDER_KEY_INFO_LABEL.as_bytes());
        info.extend_from_slice(&index.to_be_bytes());
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(HKDF_SALT), &WALLET);
        let mut seed = [0u8; 32];
        hk.expand(&info, &mut seed).unwrap();
        assert_eq!(derive_holder_key(&WALLET, index).unwrap().seed(), seed);
    }
    // Distinct per index and per wallet, deterministic, and never a pseudonym key.
    let keys: Vec<_> =
        (0..50).map(|i| derive_holder_key(&WALLET, i).unwrap().public_key()).collect();
    for (i, a) in keys.iter().enumerate() {
        assert!(keys[i + 1..].iter().all(|b| b != a));
    }
    assert_eq!(derive_holder_key(&WALLET, 3).unwrap().public_key(), keys[3]);
    assert_ne!(derive_holder_key(&[0x43; 32], 3).unwrap().public_key(), keys[3]);
    assert!(!keys.contains(&pseudonym(&WALLET, "bank-of-example").unwrap()));
    assert_eq!(
        derive_holder_key(&WALLET, MAX_HOLDER_KEY_INDEX).map(|_| ()),
        Err(PseudonymError::InvalidIndex)
    );
}
