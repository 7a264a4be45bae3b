//! Pins the one Ed25519 acceptance rule (`verify_strict`) with external vectors: RFC 8032
//! section 7.1, the 128 SUPERCOP `sign.input` lines and the 12 ed25519-speccheck cases.

mod common;

use certledger_core::sig::{PublicKey, SecretKey, Signature};

fn arr<const N: usize>(hex_str: &str) -> [u8; N] {
    hex::decode(hex_str).expect("hex").try_into().expect("length")
}

#[test]
fn rfc8032_section_7_1() {
    let Some(dir) = common::vectors_dir() else { return };
    let json: serde_json::Value = serde_json::from_str(&common::read(
        &dir,
        "ed25519/rfc8032/rfc8032_section7.1_ed25519.json",
    ))
    .expect("json");
    let vectors = json["vectors"].as_array().expect("vectors");
    let mut passed = 0;
    for v in vectors {
        let key = SecretKey::from_seed(&arr(v["secret_key"].as_str().expect("sk")));
        assert_eq!(key.public_key(), PublicKey(arr(v["public_key"].as_str().expect("pk"))));
        let msg = hex::decode(v["message"].as_str().expect("msg")).expect("hex");
        let sig = key.sign_raw(&msg);
        assert_eq!(hex::encode(sig.0), v["signature"].as_str().expect("sig"), "{}", v["name"]);
        assert_eq!(key.public_key().verify_raw(&msg, &sig), Ok(()));
        passed += 1;
    }
    assert_eq!(passed, 5);
    println!("rfc8032: {passed}/5 reproduce and verify");
}

#[test]
fn supercop_sign_input() {
    let Some(dir) = common::vectors_dir() else { return };
    let text = common::read(&dir, "ed25519/supercop-sign.input/TESTVECTORS");
    let mut passed = 0;
    for line in text.lines().filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split(':').collect();
        assert_eq!(fields.len(), 5, "line format sk:pk:msg:sig||msg:");
        let sk = hex::decode(fields[0]).expect("hex");
        let key = SecretKey::from_seed(&sk[..32].try_into().expect("seed"));
        assert_eq!(hex::encode(key.public_key().0), fields[1]);
        assert_eq!(&sk[32..], &hex::decode(fields[1]).expect("hex")[..]);
        let msg = hex::decode(fields[2]).expect("hex");
        let sig_and_msg = hex::decode(fields[3]).expect("hex");
        let sig = key.sign_raw(&msg);
        assert_eq!(&sig.0[..], &sig_and_msg[..64]);
        assert_eq!(&sig_and_msg[64..], &msg[..]);
        assert_eq!(key.public_key().verify_raw(&msg, &sig), Ok(()));
        let mut tampered = msg.clone();
        match tampered.first_mut() {
            Some(b) => *b ^= 1,
            None => tampered.push(1),
        }
        assert!(key.public_key().verify_raw(&tampered, &sig).is_err());
        passed += 1;
    }
    assert_eq!(passed, 128);
    println!("supercop: {passed}/128 reproduce, verify, and fail when tampered");
}

/// Upstream's expected results for "Dalek strict": `X X X V X X X X X X X X`.
#[test]
fn speccheck_cases_follow_verify_strict() {
    let Some(dir) = common::vectors_dir() else { return };
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(&common::read(&dir, "ed25519/speccheck/cases.json")).expect("json");
    assert_eq!(cases.len(), 12);
    let expected =
        [false, false, false, true, false, false, false, false, false, false, false, false];
    let mut got = Vec::new();
    for case in &cases {
        let pk = PublicKey(arr(case["pub_key"].as_str().expect("pk")));
        let sig = Signature(arr(case["signature"].as_str().expect("sig")));
        let msg = hex::decode(case["message"].as_str().expect("msg")).expect("hex");
        got.push(pk.verify_raw(&msg, &sig).is_ok());
    }
    assert_eq!(got, expected);
    println!("speccheck: 12/12 give the documented verify_strict answer");
}

/// A key decoded once (`PreparedKey`) answers exactly as `PublicKey` (same `Ok`/`Err` variant),
/// raw and namespaced, on every speccheck case, used once and then reused: the 12 cases include
/// small-order and non-canonical keys and `R`, and a non-canonical `S`.
#[test]
fn prepared_key_answers_like_public_key_on_speccheck() {
    use certledger_core::sig::{namespaced_message, ns};
    let Some(dir) = common::vectors_dir() else { return };
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(&common::read(&dir, "ed25519/speccheck/cases.json")).expect("json");
    assert_eq!(cases.len(), 12);
    let mut accepted = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let pk = PublicKey(arr(case["pub_key"].as_str().expect("pk")));
        let sig = Signature(arr(case["signature"].as_str().expect("sig")));
        let msg = hex::decode(case["message"].as_str().expect("msg")).expect("hex");
        let prepared = pk.prepare();
        assert_eq!(prepared.public_key(), &pk);
        let want = pk.verify_raw(&msg, &sig);
        for round in 0..2 {
            assert_eq!(prepared.verify_raw(&msg, &sig), want, "case {i}, use {round}");
        }
        // The namespaced form: the same rule over `namespaced_message(ns, msg)`.
        let framed = namespaced_message(ns::ENTRY, &msg);
        assert_eq!(prepared.verify_raw(&framed, &sig), pk.verify_raw(&framed, &sig), "case {i}");
        assert_eq!(prepared.verify(ns::ENTRY, &msg, &sig), pk.verify(ns::ENTRY, &msg, &sig));
        accepted.push(want.is_ok());
    }
    // Not vacuous: the answers are the documented verify_strict ones (only case 3 accepted).
    let expected =
        [false, false, false, true, false, false, false, false, false, false, false, false];
    assert_eq!(accepted, expected);
    println!("speccheck: 12/12 PreparedKey answers equal PublicKey's");
}

/// The same over the 128 SUPERCOP lines: one decoded key verifies the signature, refuses a
/// tampered message and a tampered signature, as `PublicKey` does; a namespaced signature made by
/// `SecretKey::sign` verifies under its namespace only.
#[test]
fn prepared_key_answers_like_public_key_on_supercop() {
    use certledger_core::sig::{ns, SignatureError};
    let Some(dir) = common::vectors_dir() else { return };
    let text = common::read(&dir, "ed25519/supercop-sign.input/TESTVECTORS");
    let mut passed = 0;
    for line in text.lines().filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split(':').collect();
        let pk = PublicKey(arr(fields[1]));
        let msg = hex::decode(fields[2]).expect("hex");
        let sig = Signature(hex::decode(fields[3]).expect("hex")[..64].try_into().expect("64"));
        let prepared = pk.prepare();
        assert_eq!(prepared.verify_raw(&msg, &sig), Ok(()));
        let mut tampered = msg.clone();
        match tampered.first_mut() {
            Some(b) => *b ^= 1,
            None => tampered.push(1),
        }
        assert_eq!(prepared.verify_raw(&tampered, &sig), pk.verify_raw(&tampered, &sig));
        assert_eq!(prepared.verify_raw(&tampered, &sig), Err(SignatureError::Invalid));
        let mut bad_sig = sig;
        bad_sig.0[63] ^= 0x80; // S >= 2^255: not canonical
        assert_eq!(prepared.verify_raw(&msg, &bad_sig), pk.verify_raw(&msg, &bad_sig));
        assert!(prepared.verify_raw(&msg, &bad_sig).is_err());
        let sk = hex::decode(fields[0]).expect("hex");
        let key = SecretKey::from_seed(&sk[..32].try_into().expect("seed"));
        let framed = key.sign(ns::ENTRY, &msg);
        assert_eq!(prepared.verify(ns::ENTRY, &msg, &framed), Ok(()));
        assert_eq!(prepared.verify(ns::PSEUDONYM, &msg, &framed), Err(SignatureError::Invalid));
        passed += 1;
    }
    assert_eq!(passed, 128);
    println!("supercop: {passed}/128 PreparedKey answers equal PublicKey's");
}

/// Bytes that are not a point: `PublicKey` and `PreparedKey` both answer `BadPublicKey`.
#[test]
fn prepared_key_keeps_bad_key_error() {
    use certledger_core::sig::SignatureError;
    // y = 2 is not the y-coordinate of a curve point (no square root), so decoding fails.
    let mut bytes = [0u8; 32];
    bytes[0] = 2;
    let pk = PublicKey(bytes);
    let sig = Signature([0; 64]);
    assert_eq!(pk.verify_raw(b"m", &sig), Err(SignatureError::BadPublicKey));
    assert_eq!(pk.prepare().verify_raw(b"m", &sig), Err(SignatureError::BadPublicKey));
}
