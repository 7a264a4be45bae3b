//! Bundles with the identity extension: a main credential, linked credentials and a
//! per-verifier pseudonym, decided together (`specs/bundle.md`, `specs/identity.md`).

use super::*;

/// Verifies a [`LinkedBundle`] (a plain bundle, or one with the identity extension) against a
/// trust root and policy at `now`. Without the extension the verdict is exactly [`verify`]'s.
pub fn verify_linked(
    linked: &LinkedBundle,
    trust_root: &TrustRoot,
    policy: &Policy,
    now: u64,
) -> Result<Verdict, VerifyError> {
    verify_linked_with(linked, policy, |bundle, policy| verify(bundle, trust_root, policy, now))
}

/// [`verify_linked`] with the per-credential decision supplied by the caller (for example a
/// [`Verifier`] with its checkpoint cache): `decide_one(bundle, policy)` must be [`verify`]
/// under the caller's trust root and time. The steps (`specs/bundle.md`, "Bundles with the
/// identity extension"), in order:
///
/// - 1-10: the main credential, then each linked one in order, pass steps 1-10 (the policy's
///   level of assurance and required claims are left to step 13);
/// - 11: the pseudonym proof verifies for the challenge and the main credential's holder key
///   (`bad_pseudonym_proof`);
/// - 12: each linked credential's holder key is the main one's (and it has no link proof), or
///   its link proof names the main and its holder key, in that order, and verifies for the
///   challenge (`bad_link_proof`);
/// - 13: over all of them (the main one alone without linked credentials), the highest
///   `assurance_level` meets the policy and each required claim is disclosed by at least one,
///   counting only claims their type profiles define (`check_policy_claims`).
pub fn verify_linked_with(
    linked: &LinkedBundle,
    policy: &Policy,
    mut decide_one: impl FnMut(&Bundle, &Policy) -> Result<Verdict, VerifyError>,
) -> Result<Verdict, VerifyError> {
    macro_rules! accepted {
        ($verdict:expr) => {
            match $verdict? {
                Verdict::Valid(accepted) => accepted,
                invalid @ Verdict::Invalid(_) => return Ok(invalid),
            }
        };
    }
    // Level of assurance and required claims are judged over all credentials (step 13), by the
    // same rule as for one credential.
    let mut each = policy.clone();
    each.min_assurance_level = None;
    each.required_claims = Vec::new();
    let mut main = accepted!(decide_one(&linked.main, &each));
    let mut others = Vec::with_capacity(linked.linked.len());
    for item in &linked.linked {
        let bundle =
            Bundle { presentation: item.presentation.clone(), proofs: item.proofs.clone() };
        others.push(accepted!(decide_one(&bundle, &each)));
    }
    if let Some(proof) = &linked.pseudonym {
        if let Err(invalid) = check_pseudonym(proof, policy, main.holder_key.as_ref()) {
            return Ok(Verdict::Invalid(invalid));
        }
        main.pseudonym = Some(pseudonym_text(proof));
    }
    for (position, (item, other)) in (2u32..).zip(linked.linked.iter().zip(&others)) {
        let refuse = Verdict::Invalid(Invalid::BadLinkProof { credential: position });
        let (Some(main_key), Some(other_key)) = (main.holder_key, other.holder_key) else {
            return Ok(refuse);
        };
        let challenge = &policy.challenge;
        let ok = match &item.link {
            None => main_key == other_key,
            Some(link) => {
                link.verify(&challenge.audience, &challenge.nonce, &main_key, &other_key).is_ok()
            }
        };
        if !ok {
            return Ok(refuse);
        }
    }
    let all: Vec<&Accepted> = core::iter::once(&*main).chain(others.iter().map(|a| &**a)).collect();
    if let Err(invalid) = check_policy_claims(policy, &all) {
        return Ok(Verdict::Invalid(invalid));
    }
    main.linked_credentials = others
        .into_iter()
        .map(|mut a| {
            a.linked = true;
            *a
        })
        .collect();
    Ok(Verdict::Valid(main))
}

fn check_pseudonym(
    proof: &PseudonymProof,
    policy: &Policy,
    holder_key: Option<&PublicKey>,
) -> Result<(), Invalid> {
    let key = holder_key.ok_or(Invalid::BadPseudonymProof)?;
    proof
        .verify(&policy.challenge.audience, &policy.challenge.nonce, key)
        .map_err(|_| Invalid::BadPseudonymProof)
}

fn pseudonym_text(proof: &PseudonymProof) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(proof.pseudonym.0)
}
