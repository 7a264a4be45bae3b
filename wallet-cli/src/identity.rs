//! Identity attestation batches: holder keys derived from the wallet secret, and which copy of
//! the batch each verifier is shown (`specs/identity.md`, `specs/wallet.md`).
//!
//! Batch key `i` is `pseudonym::derive_holder_key(wallet secret, i)`. `identity keys --count N`
//! derives the next `N` indices, records how far it got, and writes their public keys for the
//! issuer. `present` shows each verifier id one copy: the copy already assigned to it while that
//! copy is active, else the first active copy no verifier has been assigned (lowest key index,
//! then credential id). When every active copy is assigned to another verifier the batch is
//! exhausted and `present` refuses (`batch_exhausted`) rather than let two verifiers see one
//! copy; `--credential ID` reuses a copy knowingly.

use certledger_core::profiles;

use crate::error::{refused, CmdResult};
use crate::store::{Status, StoredCredential, Wallet};

/// The identity attestation type id.
pub fn attestation_type() -> &'static str {
    profiles::IDENTITY_ATTESTATION.id
}

/// The stored attestation copy verifier `verifier_id` is shown (see the module docs), and
/// whether it was assigned just now (the caller saves the wallet after a successful
/// presentation).
pub fn copy_for_verifier(
    wallet: &mut Wallet,
    verifier_id: &str,
    now: u64,
) -> CmdResult<(usize, bool)> {
    let usable = |c: &StoredCredential| {
        c.type_id == attestation_type() && c.effective_status(now) == Status::Active
    };
    let creds = &wallet.data.credentials;
    if let Some(id) = wallet.data.attestation_for_verifier.get(verifier_id) {
        if let Some(i) = creds.iter().position(|c| &c.id == id && usable(c)) {
            return Ok((i, false));
        }
    }
    let taken: Vec<&String> = wallet
        .data
        .attestation_for_verifier
        .iter()
        .filter(|(v, _)| v.as_str() != verifier_id)
        .map(|(_, id)| id)
        .collect();
    let free = creds
        .iter()
        .enumerate()
        .filter(|(_, c)| usable(c) && !taken.contains(&&c.id))
        .min_by(|(_, a), (_, b)| (a.key_index, &a.id).cmp(&(b.key_index, &b.id)))
        .map(|(i, c)| (i, c.id.clone()));
    let Some((index, id)) = free else {
        let active = creds.iter().filter(|c| usable(c)).count();
        return Err(refused(
            "batch_exhausted",
            format!(
                "all {active} active identity attestation copies are shown to other verifiers; \
                 showing one to {verifier_id} too would let them link you. Run `identity keys \
                 --count N`, have a new batch issued and import it (or choose a copy with \
                 --credential ID to reuse it knowingly)"
            ),
            "身份认证凭证副本已用完：请申领新的一批（identity keys），或用 --credential 明确选择复用",
        ));
    };
    wallet.data.attestation_for_verifier.insert(verifier_id.to_owned(), id);
    Ok((index, true))
}

/// The verifiers a stored credential is assigned to, other than `verifier_id`.
pub fn other_verifiers(wallet: &Wallet, credential_id: &str, verifier_id: &str) -> Vec<String> {
    wallet
        .data
        .attestation_for_verifier
        .iter()
        .filter(|(v, id)| v.as_str() != verifier_id && id.as_str() == credential_id)
        .map(|(v, _)| v.clone())
        .collect()
}
