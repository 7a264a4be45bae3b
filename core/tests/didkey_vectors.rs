//! did:key (seed -> DID) and base58btc multibase against the external vectors.

mod common;

use certledger_core::didkey::{self, multibase};
use certledger_core::sig::SecretKey;

#[test]
fn did_key_spec_seeds_give_the_listed_dids() {
    let Some(dir) = common::vectors_dir() else { return };
    let text = common::read(&dir, "did-key/ed25519-x25519.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let mut checked = 0;
    for (did, entry) in v.as_object().expect("object") {
        let seed: [u8; 32] = hex::decode(entry["seed"].as_str().expect("seed"))
            .expect("hex")
            .try_into()
            .expect("32 bytes");
        let sk = SecretKey::from_seed(&seed);
        let pk = sk.public_key();
        assert_eq!(&didkey::did_key(&pk), did);
        assert_eq!(didkey::public_key_from_did_key(did), Ok(pk));
        let vkp = &entry["verificationKeyPair"];
        let listed = match (vkp["publicKeyBase58"].as_str(), vkp["publicKeyJwk"]["x"].as_str()) {
            (Some(b58), _) => bs58_plain(b58),
            (None, Some(x)) => {
                use base64::Engine as _;
                base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(x).expect("jwk x")
            }
            (None, None) => panic!("{did}: no public key listed"),
        };
        assert_eq!(listed, pk.0.to_vec(), "{did} listed public key");
        checked += 1;
    }
    eprintln!("did-key: {checked} seeds checked");
    assert_eq!(checked, 5);
}

fn bs58_plain(text: &str) -> Vec<u8> {
    multibase::decode_base58btc(&format!("z{text}")).expect("base58")
}

#[test]
fn vc_di_key_pair_is_a_multikey_pair() {
    let Some(dir) = common::vectors_dir() else { return };
    let text = common::read(&dir, "vc-di-eddsa/TestVectors/keyPair.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let public = v["publicKeyMultibase"].as_str().expect("public");
    let secret = v["privateKeyMultibase"].as_str().expect("secret");
    let sk = didkey::secret_key_from_multikey(secret).expect("secret multikey");
    let pk = didkey::public_key_from_multikey(public).expect("public multikey");
    assert_eq!(sk.public_key(), pk);
    assert_eq!(didkey::multikey_public(&pk), public);
    assert_eq!(didkey::multikey_secret(&sk), secret);
}

/// Unescapes the multibase CSV's `\xNN` notation.
fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'x') {
            out.push(u8::from_str_radix(&text[i + 2..i + 4], 16).expect("hex escape"));
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn multibase_base58btc_rows() {
    let Some(dir) = common::vectors_dir() else { return };
    let mut rows = 0;
    let mut files: Vec<_> = std::fs::read_dir(dir.join("multibase/tests"))
        .expect("folder")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("csv");
        let mut input = None;
        for line in text.lines() {
            let Some((label, value)) = line.split_once(", ") else { continue };
            let value = value.trim().trim_matches('"');
            if label.trim() == "encoding" {
                input = Some(unescape(value));
            } else if label.trim() == "base58btc" {
                let bytes = input.clone().expect("encoding row comes first");
                assert_eq!(multibase::encode_base58btc(&bytes), value, "{}", path.display());
                assert_eq!(multibase::decode_base58btc(value).expect("decode"), bytes);
                rows += 1;
            }
        }
    }
    eprintln!("multibase: {rows} base58btc rows checked");
    assert_eq!(rows, 3);
}
