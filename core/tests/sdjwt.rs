//! SD-JWT (RFC 9901) with key binding: the draft's disclosure examples, round trips, and one
//! targeted tamper per refusal.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::sdjwt::{self, Disclosure, KeyBindingCheck, SdJwt, SdJwtError};
use certledger_core::sig::SecretKey;
use rand::SeedableRng as _;
use serde_json::{json, Map, Value};

#[test]
fn draft_disclosure_examples() {
    let Some(dir) = common::vectors_dir() else { return };
    let v: Value =
        serde_json::from_str(&common::read(&dir, "sd-jwt/draft_disclosure_examples.json"))
            .expect("json");
    let mut checked = 0;
    for key in ["object_property_disclosure", "array_element_disclosure"] {
        let case = &v[key];
        let array = case["array"].as_array().expect("array");
        let mut forms = vec![(case["disclosure"].clone(), case["sha256_digest_b64url"].clone())];
        if let Some(alts) =
            case["equivalent_alternative_disclosures_each_with_its_own_digest"].as_array()
        {
            for alt in alts {
                forms.push((alt["disclosure"].clone(), alt["sha256_digest_b64url"].clone()));
            }
        }
        for (encoded, digest) in forms {
            let encoded = encoded.as_str().expect("disclosure");
            let d = Disclosure::parse(encoded).expect("parses");
            assert_eq!(d.digest, digest.as_str().expect("digest"), "{key}");
            assert_eq!(sdjwt::digest_of(encoded), d.digest);
            assert_eq!(Some(&Value::String(d.salt.clone())), array.first());
            match array.len() {
                3 => {
                    assert_eq!(d.name.as_deref(), array[1].as_str());
                    assert_eq!(&d.value, &array[2]);
                }
                2 => {
                    assert_eq!(d.name, None);
                    assert_eq!(&d.value, &array[1]);
                }
                n => panic!("unexpected array length {n}"),
            }
            checked += 1;
        }
    }
    eprintln!("sd-jwt: {checked} disclosure encodings checked");
    assert_eq!(checked, 5);
}

struct Fixture {
    issuer: SecretKey,
    holder: SecretKey,
    issued: sdjwt::Issued,
}

const NOW: u64 = 1_800_000_000;

fn fixture() -> Fixture {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let issuer = SecretKey::generate(&mut rng);
    let holder = SecretKey::generate(&mut rng);
    let mut claims = Map::new();
    claims.insert("iss".into(), "https://dept.example".into());
    claims.insert("iat".into(), (NOW - 1000).into());
    claims.insert("nbf".into(), (NOW - 1000).into());
    claims.insert("exp".into(), (NOW + 100_000).into());
    claims.insert("vct".into(), "urn:certledger:test".into());
    claims.insert("cnf".into(), sdjwt::cnf_for(&holder.public_key()));
    let sd = vec![
        ("given_name".to_string(), json!("小明")),
        ("family_name".to_string(), json!("王")),
        ("degree".to_string(), json!({"level": "BSc", "year": 2020})),
    ];
    let issued = sdjwt::issue(&issuer, "dept-1", claims, &sd, 5, &mut rng).expect("issue");
    Fixture { issuer, holder, issued }
}

fn check() -> KeyBindingCheck<'static> {
    KeyBindingCheck {
        nonce: "n-123",
        aud: "https://verifier.example",
        now: NOW,
        max_age_s: 300,
        max_future_skew_s: 60,
    }
}

fn present(f: &Fixture, names: &[&str]) -> String {
    SdJwt::parse(&f.issued.compact)
        .expect("parse")
        .present(names, &f.holder, "n-123", "https://verifier.example", NOW - 10)
        .expect("present")
}

#[test]
fn issue_present_verify_round_trip() {
    let f = fixture();
    let parsed = SdJwt::parse(&f.issued.compact).expect("parse");
    assert_eq!(parsed.disclosures.len(), 3);
    assert_eq!(parsed.kb_jwt, None);
    assert!(f.issued.compact.ends_with('~'));

    // Header and payload shape.
    let mut parts = f.issued.issuer_jwt.split('.');
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().expect("h")).expect("b64"))
            .expect("json");
    assert_eq!(header, json!({"alg": "EdDSA", "typ": "dc+sd-jwt", "kid": "dept-1"}));
    let payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().expect("p")).expect("b64"))
            .expect("json");
    assert_eq!(payload["_sd_alg"], "sha-256");
    let sd: Vec<&str> =
        payload["_sd"].as_array().expect("_sd").iter().map(|d| d.as_str().expect("str")).collect();
    assert_eq!(sd.len(), 3 + 5);
    assert!(sd.windows(2).all(|w| w[0] < w[1]), "sorted");
    for d in &f.issued.disclosures {
        assert_eq!(URL_SAFE_NO_PAD.decode(&d.salt).expect("salt").len(), 16);
    }

    let pres = present(&f, &["given_name", "degree"]);
    let v = sdjwt::verify(&pres, &f.issuer.public_key(), check()).expect("verifies");
    assert_eq!(v.disclosed, vec!["given_name".to_string(), "degree".to_string()]);
    assert_eq!(v.claims["given_name"], "小明");
    assert_eq!(v.claims["degree"]["year"], 2020);
    assert!(v.claims.get("family_name").is_none());
    assert!(v.claims.get("_sd").is_none() && v.claims.get("_sd_alg").is_none());
    assert_eq!(v.kid.as_deref(), Some("dept-1"));
    assert_eq!(v.issuer_jwt, f.issued.issuer_jwt);
    assert_eq!(v.holder_key, Some(f.holder.public_key()));
    assert_eq!(v.exp, Some(NOW + 100_000));
    assert_eq!(v.check_validity(NOW, 0), Ok(()));
    assert_eq!(v.check_validity(NOW + 100_000, 0), Err(SdJwtError::Expired));
    assert_eq!(v.check_validity(NOW - 2000, 0), Err(SdJwtError::NotYetValid));

    // Disclosing nothing also verifies.
    let none = present(&f, &[]);
    let v = sdjwt::verify(&none, &f.issuer.public_key(), check()).expect("verifies");
    assert!(v.disclosed.is_empty());
}

#[test]
fn refusals() {
    let f = fixture();
    let ik = f.issuer.public_key();
    let pres = present(&f, &["given_name"]);
    let (unbound, kb_jwt) =
        pres.rsplit_once('~').map(|(a, b)| (format!("{a}~"), b.to_string())).expect("kb");

    // Changed disclosure: same claim, another value, so its digest is unknown.
    let forged = URL_SAFE_NO_PAD
        .encode(serde_json::to_string(&json!(["c2FsdA", "given_name", "Mallory"])).expect("json"));
    let d0 = &f.issued.disclosures[0].encoded;
    let changed = pres.replace(d0.as_str(), &forged);
    assert_eq!(sdjwt::verify(&changed, &ik, check()), Err(SdJwtError::DigestNotFound));

    // Disclosure added that was never issued (with a fresh KB over it).
    let mut sd = SdJwt::parse(&f.issued.compact).expect("parse");
    sd.disclosures.push(Disclosure::parse(&forged).expect("forged parses"));
    let p = rebind(&sd, &f.holder, "n-123", "https://verifier.example", NOW);
    assert_eq!(sdjwt::verify(&p, &ik, check()), Err(SdJwtError::DigestNotFound));

    // The same disclosure twice.
    let mut sd = SdJwt::parse(&f.issued.compact).expect("parse");
    sd.disclosures.push(sd.disclosures[0].clone());
    let p = rebind(&sd, &f.holder, "n-123", "https://verifier.example", NOW);
    assert_eq!(sdjwt::verify(&p, &ik, check()), Err(SdJwtError::DuplicateDisclosure));

    // Dropped KB-JWT.
    assert_eq!(sdjwt::verify(&unbound, &ik, check()), Err(SdJwtError::MissingKeyBinding));

    // Wrong nonce, wrong audience, stale, in the future.
    let sd = SdJwt::parse(&unbound).expect("parse");
    let p = rebind(&sd, &f.holder, "other", "https://verifier.example", NOW);
    assert_eq!(sdjwt::verify(&p, &ik, check()), Err(SdJwtError::NonceMismatch));
    let p = rebind(&sd, &f.holder, "n-123", "https://evil.example", NOW);
    assert_eq!(sdjwt::verify(&p, &ik, check()), Err(SdJwtError::AudienceMismatch));
    let p = rebind(&sd, &f.holder, "n-123", "https://verifier.example", NOW - 301);
    assert_eq!(sdjwt::verify(&p, &ik, check()), Err(SdJwtError::KeyBindingStale));
    let p = rebind(&sd, &f.holder, "n-123", "https://verifier.example", NOW - 300);
    assert!(sdjwt::verify(&p, &ik, check()).is_ok(), "edge of the age window");
    let p = rebind(&sd, &f.holder, "n-123", "https://verifier.example", NOW + 61);
    assert_eq!(sdjwt::verify(&p, &ik, check()), Err(SdJwtError::KeyBindingInFuture));

    // Wrong sd_hash: the KB-JWT of one presentation attached to another disclosure set.
    let other = present(&f, &["family_name"]);
    let (other_unbound, _) = other.rsplit_once('~').expect("kb");
    let p = format!("{other_unbound}~{kb_jwt}");
    assert_eq!(sdjwt::verify(&p, &ik, check()), Err(SdJwtError::SdHashMismatch));

    // KB signed by another key.
    let mallory = SecretKey::from_seed(&[9u8; 32]);
    let p = rebind(&sd, &mallory, "n-123", "https://verifier.example", NOW);
    assert_eq!(sdjwt::verify(&p, &ik, check()), Err(SdJwtError::BadKeyBindingSignature));
    // ... and present() itself refuses a holder key that is not cnf.
    assert_eq!(sd.present(&[], &mallory, "n", "a", NOW), Err(SdJwtError::HolderKeyMismatch));
    assert_eq!(sd.present(&["nope"], &f.holder, "n", "a", NOW), Err(SdJwtError::UnknownClaim));

    // Issuer JWT re-signed by another key (same header and payload).
    let signing_input = f.issued.issuer_jwt.rsplit_once('.').expect("jwt").0;
    let sig = mallory.sign_raw(signing_input.as_bytes());
    let resigned = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.0));
    let p = pres.replace(&f.issued.issuer_jwt, &resigned);
    assert_eq!(sdjwt::verify(&p, &ik, check()), Err(SdJwtError::BadIssuerSignature));
    // Same issuer JWT verified against the wrong issuer key.
    assert_eq!(
        sdjwt::verify(&pres, &mallory.public_key(), check()),
        Err(SdJwtError::BadIssuerSignature)
    );
}

#[test]
fn refusals_on_issuer_payload() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let issuer = SecretKey::generate(&mut rng);
    let ik = issuer.public_key();
    let sign = |header: Value, payload: Value| {
        let h = URL_SAFE_NO_PAD.encode(serde_json::to_string(&header).expect("json"));
        let p = URL_SAFE_NO_PAD.encode(serde_json::to_string(&payload).expect("json"));
        let sig = issuer.sign_raw(format!("{h}.{p}").as_bytes());
        format!("{h}.{p}.{}~", URL_SAFE_NO_PAD.encode(sig.0))
    };
    let good_h = json!({"alg": "EdDSA", "typ": "dc+sd-jwt"});
    // No cnf: accepted without KB, refused with one is covered by UnexpectedKeyBinding.
    let p = sign(good_h.clone(), json!({"iss": "x"}));
    assert!(sdjwt::verify(&p, &ik, check()).expect("ok").holder_key.is_none());
    assert_eq!(
        sdjwt::verify(&format!("{p}a.b.c"), &ik, check()),
        Err(SdJwtError::UnexpectedKeyBinding)
    );
    assert_eq!(
        sdjwt::verify(&sign(good_h.clone(), json!({"_sd_alg": "sha-512"})), &ik, check()),
        Err(SdJwtError::UnsupportedAlg)
    );
    assert_eq!(
        sdjwt::verify(&sign(json!({"alg": "ES256", "typ": "dc+sd-jwt"}), json!({})), &ik, check()),
        Err(SdJwtError::UnsupportedAlg)
    );
    assert_eq!(
        sdjwt::verify(&sign(json!({"alg": "EdDSA", "typ": "JWT"}), json!({})), &ik, check()),
        Err(SdJwtError::WrongType)
    );
    assert!(matches!(
        sdjwt::verify(
            &sign(json!({"alg": "EdDSA", "typ": "dc+sd-jwt", "crit": ["x"]}), json!({})),
            &ik,
            check()
        ),
        Err(SdJwtError::Unsupported(_))
    ));
    assert!(matches!(
        sdjwt::verify(&sign(good_h.clone(), json!({"cnf": {"jwk": {"kty": "EC"}}})), &ik, check()),
        Err(SdJwtError::Unsupported(_))
    ));
    // A digest listed twice.
    assert_eq!(
        sdjwt::verify(&sign(good_h.clone(), json!({"_sd": ["AAAA", "AAAA"]})), &ik, check()),
        Err(SdJwtError::DuplicateDigest)
    );

    // Nested and array-element disclosures per RFC 9901 are processed; a decoy array element is dropped.
    let d_obj =
        Disclosure::parse(&URL_SAFE_NO_PAD.encode(r#"["s1","city","Beijing"]"#)).expect("d");
    let d_arr = Disclosure::parse(&URL_SAFE_NO_PAD.encode(r#"["s2","CN"]"#)).expect("d");
    let payload = json!({
        "address": {"_sd": [d_obj.digest], "country": "CN"},
        "nationalities": [{"...": d_arr.digest}, {"...": "decoy-digest"}, "HK"],
    });
    let p =
        format!("{}{}~{}~", sign(good_h.clone(), payload.clone()), d_obj.encoded, d_arr.encoded);
    let v = sdjwt::verify(&p, &ik, check()).expect("nested");
    assert_eq!(v.claims["address"], json!({"city": "Beijing", "country": "CN"}));
    assert_eq!(v.claims["nationalities"], json!(["CN", "HK"]));
    assert_eq!(v.disclosed, vec!["city".to_string()]);
    // RFC 9901 section 7.1 (issue #11 item 11): an array element that is an object with `...`
    // and other members, or whose `...` is not a string, is an ordinary object, kept as it is.
    let ordinary = json!({
        "list": [{"...": d_arr.digest, "note": "kept"}, {"...": 5}, {"...": d_arr.digest}],
    });
    let p = format!("{}{}~", sign(good_h.clone(), ordinary), d_arr.encoded);
    let v = sdjwt::verify(&p, &ik, check()).expect("ordinary objects in an array");
    assert_eq!(v.claims["list"], json!([{"...": d_arr.digest, "note": "kept"}, {"...": 5}, "CN"]));
    // A name-less disclosure cannot stand in _sd, nor a named one in an array.
    let swapped = json!({"_sd": [d_arr.digest]});
    let p = format!("{}{}~", sign(good_h.clone(), swapped), d_arr.encoded);
    assert!(matches!(sdjwt::verify(&p, &ik, check()), Err(SdJwtError::Malformed(_))));
    // A disclosed name that collides with a visible claim.
    let clash = json!({"city": "Shanghai", "_sd": [d_obj.digest]});
    let p = format!("{}{}~", sign(good_h, clash), d_obj.encoded);
    assert_eq!(sdjwt::verify(&p, &ik, check()), Err(SdJwtError::ClaimCollision));
}

#[test]
fn parse_bounds_and_garbage() {
    assert!(matches!(SdJwt::parse("no-tilde"), Err(SdJwtError::Malformed(_))));
    assert!(matches!(SdJwt::parse(&"a~".repeat(100)), Err(SdJwtError::TooLarge(_))));
    assert!(matches!(SdJwt::parse(&"a".repeat(70_000)), Err(SdJwtError::TooLarge(_))));
    assert!(matches!(SdJwt::parse("x~~"), Err(SdJwtError::Malformed(_))));
    assert!(matches!(SdJwt::parse("x~!!~"), Err(SdJwtError::Malformed(_))));
    // Duplicate keys inside a disclosure are refused by the strict parser.
    let dup = URL_SAFE_NO_PAD.encode(r#"["s","n",{"a":1,"a":2}]"#);
    assert!(matches!(Disclosure::parse(&dup), Err(SdJwtError::Json(_))));
    let reserved = URL_SAFE_NO_PAD.encode(r#"["s","_sd",1]"#);
    assert_eq!(Disclosure::parse(&reserved), Err(SdJwtError::ClaimCollision));
    for junk in ["~", "a.b~", "a.b.c~", "....~x", "\u{0}~"] {
        let _ = sdjwt::verify(junk, &SecretKey::from_seed(&[1; 32]).public_key(), check());
    }
}

proptest::proptest! {
    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        let _ = SdJwt::parse(&s);
        let _ = sdjwt::verify(&s, &SecretKey::from_seed(&[1; 32]).public_key(), check());
    }
}

/// Replaces the KB-JWT of `sd` by one for the given nonce, audience and iat signed by `key`.
fn rebind(sd: &SdJwt, key: &SecretKey, nonce: &str, aud: &str, iat: u64) -> String {
    let unbound = sd.without_key_binding();
    let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","typ":"kb+jwt"}"#);
    let payload =
        json!({"nonce": nonce, "aud": aud, "iat": iat, "sd_hash": sdjwt::digest_of(&unbound)});
    let p = URL_SAFE_NO_PAD.encode(serde_json::to_string(&payload).expect("json"));
    let sig = key.sign_raw(format!("{h}.{p}").as_bytes());
    format!("{unbound}{h}.{p}.{}", URL_SAFE_NO_PAD.encode(sig.0))
}
