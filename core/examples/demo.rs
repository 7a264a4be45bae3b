//! An end-to-end demo with the core alone: four founding departments, two register issuers,
//! market regulation issues a business licence, the ledger commits the anchor, a quorum of
//! department nodes cosigns the checkpoint, the holder presents three claims to a verifier, and
//! the verifier decides the bundle offline. Then the same bundle with one claim altered is
//! refused. `cargo run -p certledger-core --example demo`

use certledger_core::bundle::{Bundle, Presentation};
use certledger_core::profiles;
use certledger_core::sig::SecretKey;
use certledger_core::testkit::{example_claims, Scenario};
use certledger_core::verify::{self, Policy, Verdict};

fn main() {
    if let Err(e) = run() {
        eprintln!("demo failed: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    // The demo is a program at the edge, so it may read the clock; the library never does.
    #[allow(clippy::disallowed_methods)]
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let mut seed = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
    let label = format!("demo {}", hex::encode(seed));
    let mut s = Scenario::new(&label, "cn.gov.certledger.demo", now - 120)?;
    println!("== ledger {} with {} departments", s.chain_id(), s.departments.len());
    for d in &s.genesis.departments {
        println!("   {:<18} {} / {}", d.id, d.name_zh, d.name_en);
    }

    let bl = &profiles::BUSINESS_LICENCE;
    let ia = &profiles::IDENTITY_ATTESTATION;
    let market = s.register_issuer("market-regulation", &[bl.id], 5 * 365 * 86_400)?;
    let police = s.register_issuer("public-security", &[ia.id], 5 * 365 * 86_400)?;
    println!(
        "== issuers registered: market-regulation {} , public-security {}",
        market.public_key().short_id(),
        police.public_key().short_id()
    );

    let holder = SecretKey::generate(&mut rand::rngs::OsRng);
    let issued = s.issue(&market, bl, &example_claims(bl), &holder.public_key())?;
    let record = s.credential_record(&issued.anchor)?;
    println!(
        "== issued {} / {}: anchored at height {} as log entry {} (commitment {})",
        bl.name_zh,
        bl.name_en,
        record.anchored_height,
        record.log_index,
        hex::encode(&issued.anchor.commitment[..8])
    );

    let checkpoint = s.checkpoint(s.departments.len())?;
    println!(
        "== checkpoint cosigned by {} of {} departments:\n{}",
        s.departments.len(),
        s.departments.len(),
        indent(&checkpoint)
    );

    let nonce = hex::encode(seed);
    let audience = "verifier:shanghai-pudong-service-centre";
    let policy = Policy::new(&nonce, audience);
    let disclose = ["entity_name", "credit_code", "legal_representative"];
    let bundle = s.bundle(&issued, &holder, &disclose, &nonce, audience, now, &checkpoint)?;
    let text = bundle.to_text();
    println!(
        "== bundle: {} bytes binary, {} characters as text; discloses {:?}",
        bundle_len(&bundle),
        text.len(),
        disclose
    );

    let trust_root = s.trust_root();
    match verify::verify(&Bundle::from_text(&text)?, &trust_root, &policy, now)? {
        Verdict::Valid(ok) => {
            println!(
                "== VERIFIED: {} / {} issued by {} at {}, status proven at checkpoint height {}",
                ok.type_name_zh,
                ok.type_name_en,
                ok.issuer_department,
                ok.anchored_time,
                ok.checkpoint_height
            );
            for c in &ok.claims {
                println!("   {} / {}: {}", c.label_zh, c.label_en, c.value);
            }
        }
        Verdict::Invalid(reason) => {
            return Err(format!("the genuine bundle was refused: {reason}").into())
        }
    }

    let mut tampered = bundle.clone();
    let sd = bundle.presentation.sd_jwt().ok_or("not an SD-JWT presentation")?;
    tampered.presentation = Presentation::SdJwt(tamper(sd));
    match verify::verify(&tampered, &trust_root, &policy, now)? {
        Verdict::Valid(_) => return Err("the tampered bundle was accepted".into()),
        Verdict::Invalid(reason) => {
            println!(
                "== REFUSED tampered bundle: [{}] {} / {}",
                reason.code(),
                reason.message_zh(),
                reason
            );
        }
    }
    Ok(())
}

fn bundle_len(bundle: &Bundle) -> usize {
    use certledger_core::codec::Encode;
    bundle.to_bytes().len()
}

/// Replaces the legal representative's disclosed value, keeping salt and name.
fn tamper(sd_jwt: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    sd_jwt
        .split('~')
        .map(|part| {
            let Ok(raw) = b64.decode(part) else { return part.to_owned() };
            let Ok(mut arr) = serde_json::from_slice::<Vec<serde_json::Value>>(&raw) else {
                return part.to_owned();
            };
            if arr.len() == 3 && arr[1] == "legal_representative" {
                arr[2] = serde_json::Value::String("某冒名者".into());
                return b64.encode(serde_json::to_vec(&arr).unwrap_or_default());
            }
            part.to_owned()
        })
        .collect::<Vec<_>>()
        .join("~")
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("   {l}")).collect::<Vec<_>>().join("\n")
}
