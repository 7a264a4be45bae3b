//! `certledger-node devnet --validators 4 --demo` end to end: separate node processes with sled
//! storage, issuance, anchoring, proofs from another node, verification, and the tampered copy
//! refused. The files it writes are decided again here with core's verifier.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use certledger_core::bundle::Bundle;
use certledger_core::credential_file::CredentialFile;
use certledger_core::profiles;
use certledger_core::verify::{self, Invalid, Policy, TrustRoot, Verdict};

#[test]
fn devnet_demo_verifies_and_refuses_the_tampered_copy() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("devnet");
    let mut child = Command::new(env!("CARGO_BIN_EXE_certledger-node"))
        .args(["devnet", "--validators", "4", "--demo", "--dir"])
        .arg(&net)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: the demo itself stops the devnet; kill it if it hangs.
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(180) {
            // SIGTERM first: the devnet then stops its node processes.
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            std::thread::sleep(Duration::from_secs(5));
            let _ = child.kill();
            panic!("the demo did not finish in 180 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("VERIFIED"), "{stdout}");
    assert!(stdout.contains("营业执照 / Business licence"), "{stdout}");
    assert!(stdout.contains("[tampered_disclosure]"), "{stdout}");
    eprintln!("{stdout}");

    // The written files decide the same way with core's verifier.
    let demo = net.join("demo");
    let read = |f: &str| std::fs::read_to_string(demo.join(f)).unwrap();
    let trust_root = TrustRoot::from_json(&read("trust-root.json")).unwrap();
    let policy = Policy::from_json(&read("policy.json")).unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    match verify::verify(
        &Bundle::from_text(&read("bundle.clb")).unwrap(),
        &trust_root,
        &policy,
        now,
    )
    .unwrap()
    {
        Verdict::Valid(ok) => {
            assert_eq!(ok.credential_type, profiles::BUSINESS_LICENCE.id);
            assert_eq!(ok.issuer_department, "market-regulation");
            let names: Vec<&str> = ok.claims.iter().map(|c| c.name.as_str()).collect();
            for n in ["entity_name", "credit_code", "legal_representative"] {
                assert!(names.contains(&n), "{names:?}");
            }
        }
        Verdict::Invalid(r) => panic!("genuine bundle refused: {r}"),
    }
    let tampered = Bundle::from_text(&read("tampered.clb")).unwrap();
    assert_eq!(
        verify::verify(&tampered, &trust_root, &policy, now).unwrap(),
        Verdict::Invalid(Invalid::TamperedDisclosure)
    );
    let file = CredentialFile::from_json(&read("credential.json")).unwrap();
    assert_eq!(file.chain_id, trust_root.chain_id);
    let v = verify::verify_credential(&file.sd_jwt, &file.proofs, &trust_root, 3600, now).unwrap();
    assert!(matches!(v, Verdict::Valid(_)), "{v:?}");
}
