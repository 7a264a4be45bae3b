//! The wallet's endpoints on a real 4-validator network: credential proofs and state proofs
//! served by one node for an anchor submitted to another verify with core's
//! `verify_credential`/`verify` against the genesis trust root, stay consistent with their
//! checkpoint while newer blocks commit, and unknown or malformed ids are refused.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::bundle::{Bundle, Presentation, Proofs};
use certledger_core::codec::{Decode as _, Encode as _};
use certledger_core::ledger::{self, EntryBody, RegisterIssuer, SignedEntry};
use certledger_core::note;
use certledger_core::sdjwt::SdJwt;
use certledger_core::sig::SecretKey;
use certledger_core::smt::SmtProof;
use certledger_core::verify::{self, Policy, TrustRoot, Verdict};
use certledger_core::{issuance, profiles, testkit};
use common::{id_hex, TestNet, CHAIN_ID, OWNERS};

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn sign(key: &SecretKey, body: EntryBody) -> Vec<u8> {
    SignedEntry::sign(key, CHAIN_ID, body).to_bytes()
}

async fn proofs_from(net: &TestNet, i: usize, id: &[u8; 32]) -> (u64, Proofs) {
    let path = format!("/v1/proofs/credential/{}", URL_SAFE_NO_PAD.encode(id));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (s, v) = net.get(i, &path).await;
        if s == 200 {
            let bytes = URL_SAFE_NO_PAD.decode(v["proofs"].as_str().unwrap()).unwrap();
            return (v["height"].as_u64().unwrap(), Proofs::decode_bytes(&bytes).unwrap());
        }
        // Committed but not yet under a cosigned checkpoint: 503 with a retry hint.
        assert!(s == 503 || s == 404, "unexpected {s}: {v}");
        assert!(Instant::now() < deadline, "no proofs from node {i}: {s} {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proofs_from_another_node_verify() {
    let mut net = TestNet::with_departments(&OWNERS, 0);
    net.start_all();
    net.wait_height(&[0, 1, 2, 3], 1, Duration::from_secs(120)).await;
    let genesis =
        certledger_node::config::Genesis::load(&net.dir.path().join("genesis.json")).unwrap();
    let trust_root = TrustRoot::from_genesis(&genesis.to_core());
    // The page and wallets can load the same trust root from any node.
    let (s, v) = net.get(1, "/v1/trust-root").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(TrustRoot::from_json(&v.to_string()).unwrap(), trust_root);
    let quorum = trust_root.quorum();

    // Type and issuer (its owner, market regulation: department 1), then a business licence
    // anchored through node 0.
    let bl = &profiles::BUSINESS_LICENCE;
    assert_eq!(OWNERS[1], bl.issuing_department);
    let issuer = SecretKey::generate(&mut rand::rngs::OsRng);
    let t = now();
    let setup = [
        sign(&net.admins[1], EntryBody::RegisterType(testkit::register_type(bl))),
        sign(
            &net.admins[1],
            EntryBody::RegisterIssuer(RegisterIssuer {
                department: OWNERS[1].into(),
                issuer_key: issuer.public_key(),
                types: vec![bl.id.to_owned()],
                valid_from: t - 60,
                valid_until: t + 86_400,
                name_zh: "测试签发".into(),
                name_en: "Test issuer".into(),
            }),
        ),
    ];
    for e in &setup {
        let (s, v) = net.submit(0, e).await;
        assert_eq!(s, 202, "{v}");
        net.wait_committed(0, &id_hex(e), Duration::from_secs(60)).await;
    }
    let holder = SecretKey::generate(&mut rand::rngs::OsRng);
    let issued = issuance::issue(
        &issuer,
        bl,
        &testkit::example_claims(bl),
        &holder.public_key(),
        CHAIN_ID,
        now(),
        &mut rand::rngs::OsRng,
    )
    .unwrap();
    let anchor = sign(&issuer, EntryBody::AnchorIssuance(issued.anchor.clone()));
    let (s, v) = net.submit(0, &anchor).await;
    assert_eq!(s, 202, "{v}");
    let status = net.wait_committed(0, &id_hex(&anchor), Duration::from_secs(60)).await;
    let anchored_height = status["height"].as_u64().unwrap();

    // Node 2's proofs verify as issued and as a presentation.
    let (h, proofs) = proofs_from(&net, 2, &issued.credential_id).await;
    assert!(h >= anchored_height);
    assert_eq!(proofs.credential_record.anchored_height, anchored_height);
    let verdict =
        verify::verify_credential(&issued.sd_jwt, &proofs, &trust_root, 3600, now()).unwrap();
    assert!(matches!(verdict, Verdict::Valid(_)), "{verdict:?}");
    let presented = SdJwt::parse(&issued.sd_jwt)
        .unwrap()
        .present(&["entity_name"], &holder, "n-1", "aud", now())
        .unwrap();
    let bundle = Bundle { presentation: Presentation::SdJwt(presented), proofs: proofs.clone() };
    match verify::verify(&bundle, &trust_root, &Policy::new("n-1", "aud"), now()).unwrap() {
        Verdict::Valid(ok) => {
            assert_eq!(ok.credential_type, bl.id);
            assert_eq!(ok.checkpoint_height, h);
            assert!(ok.claims.iter().any(|c| c.name == "entity_name"));
        }
        Verdict::Invalid(r) => panic!("refused: {r}"),
    }

    // While more blocks commit, every response stays consistent with the checkpoint it carries.
    let more: Vec<(usize, Vec<u8>)> = (0..60u32)
        .map(|n| {
            let mut ty = testkit::register_type(bl);
            ty.type_id = format!("load-{n}");
            ((n as usize) % 4, sign(&net.admins[(n as usize) % 4], EntryBody::RegisterType(ty)))
        })
        .collect();
    let submit = net.submit_many(&more);
    let mut heights = Vec::new();
    let check = async {
        for k in 0..8 {
            let (h, p) = proofs_from(&net, 1 + k % 3, &issued.credential_id).await;
            let v = verify::verify_credential(&issued.sd_jwt, &p, &trust_root, 3600, now());
            assert!(matches!(v, Ok(Verdict::Valid(_))), "at height {h}: {v:?}");
            heights.push(h);
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    let (replies, ()) = tokio::join!(submit, check);
    assert!(replies.iter().all(|(s, _)| *s == 202), "{replies:?}");
    eprintln!("proof checkpoint heights under load: {heights:?}");
    net.wait_committed(3, &id_hex(&more[59].1), Duration::from_secs(60)).await;

    // State proofs: the issuer record (present) and an unknown key (absent), from node 3.
    let key = ledger::issuer_state_key(&issuer.public_key());
    for (key, present) in [(key, true), ([0x5a; 32], false)] {
        let (s, v) = net.get(3, &format!("/v1/proofs/state/{}", hex::encode(key))).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["key"], hex::encode(key));
        let cp = note::verify_checkpoint(v["checkpoint"].as_str().unwrap(), &quorum).unwrap();
        assert_eq!(cp.height, v["height"].as_u64().unwrap());
        let value = v["value"].as_str().map(|s| URL_SAFE_NO_PAD.decode(s).unwrap());
        assert_eq!(value.is_some(), present, "{v}");
        let proof =
            SmtProof::from_bytes(&URL_SAFE_NO_PAD.decode(v["proof"].as_str().unwrap()).unwrap())
                .unwrap();
        proof.verify(&cp.state_root, &key, value.as_deref()).unwrap();
        // A proof is never valid for the opposite claim.
        let wrong = if present { None } else { Some(&b"x"[..]) };
        assert!(proof.verify(&cp.state_root, &key, wrong).is_err());
    }

    // Unknown and malformed ids.
    let (s, v) =
        net.get(1, &format!("/v1/proofs/credential/{}", URL_SAFE_NO_PAD.encode([7u8; 32]))).await;
    assert_eq!(s, 404, "{v}");
    assert_eq!(v["error"], "not_found");
    let (s, _) = net.get(1, "/v1/proofs/credential/AAAA").await;
    assert_eq!(s, 400);
    let (s, _) = net.get(1, "/v1/proofs/state/abcd").await;
    assert_eq!(s, 400);
}
