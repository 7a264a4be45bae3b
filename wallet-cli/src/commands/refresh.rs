//! `refresh --node URL`: fresh proofs for every credential, each decided by core.

use std::fmt::Write as _;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::codec::Encode as _;
use certledger_core::evidence;
use certledger_core::registry;
use certledger_core::verify::{self, Invalid, TrustRoot, Verdict};
use serde_json::json;

use super::{now, open_wallet, type_name, Ctx, Output, FRESH_CHECKPOINT_AGE_S};
use crate::error::{keystore, network, refused, CmdResult, Failure};
use crate::node::{HttpNode, ProofSource};
use crate::store::{Status, StoredCredential};

/// `refresh --node URL`.
pub fn refresh(ctx: &Ctx, node_url: &str) -> CmdResult<Output> {
    let source = HttpNode::new(node_url)?;
    refresh_from(ctx, &source)
}

fn refresh_from(ctx: &Ctx, source: &dyn ProofSource) -> CmdResult<Output> {
    let mut wallet = open_wallet(ctx)?;
    let trust = wallet.trust()?;
    // The node serves one ledger (its checkpoints' origin, learnt from one state proof): only
    // that ledger's credentials are refreshed; the others are reported as skipped.
    let node_chain = source
        .state(&[0u8; 32])
        .ok()
        .and_then(|p| verify::checkpoint_origin(&p.checkpoint).ok().map(str::to_owned));
    let now = now();
    let mut text = String::new();
    let mut items = Vec::new();
    let mut first_error: Option<Failure> = None;
    for c in &mut wallet.data.credentials {
        if node_chain.as_deref().is_some_and(|chain| chain != c.chain_id) {
            let _ = writeln!(
                text,
                "{}  {}  skipped: from ledger {}, not the node's / 来自其他账本，未更新",
                c.short_id(),
                type_name(&c.type_id, ctx.lang),
                c.chain_id
            );
            items.push(json!({ "id": c.id, "status": c.status, "skipped": "other_ledger" }));
            continue;
        }
        // A credential of a ledger no longer listed is not refreshed (nothing could check it).
        let outcome = match trust.get(&c.chain_id) {
            Some(listed) => fetch_fresh(source, c, &listed.root, now),
            None => Ok(Err(trust.unlisted_reason())),
        };
        let (line, item) = match outcome {
            Ok(Ok(())) => (
                Status::Active.as_str().to_owned(),
                json!({ "id": c.id, "status": Status::Active }),
            ),
            Ok(Err(invalid)) => (
                format!("{} ({})", c.status.as_str(), invalid.code()),
                json!({ "id": c.id, "status": c.status, "reason": invalid.code(),
                        "message_en": invalid.to_string(), "message_zh": invalid.message_zh() }),
            ),
            Err(f) => {
                let msg = format!("{:#}", f.error);
                let item = json!({ "id": c.id, "status": c.status, "error": msg });
                first_error.get_or_insert(f);
                (format!("not refreshed: {msg}"), item)
            }
        };
        let _ = writeln!(text, "{}  {}  {}", c.short_id(), type_name(&c.type_id, ctx.lang), line);
        items.push(item);
    }
    // Keep whatever was refreshed, even when another credential failed.
    wallet.save()?;
    if let Some(f) = first_error {
        return Err(Failure::new(
            f.kind,
            f.error.context("refresh incomplete (other credentials were updated)"),
        )
        .with_reason(f.reason));
    }
    Ok(Output::new(text, json!({ "credentials": items })))
}

pub(super) fn fetch_fresh(
    source: &dyn ProofSource,
    c: &mut StoredCredential,
    trust_root: &TrustRoot,
    now: u64,
) -> CmdResult<Result<(), Invalid>> {
    let id: [u8; 32] = URL_SAFE_NO_PAD
        .decode(&c.id)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| keystore("a stored credential id is malformed"))?;
    let proofs = source.credential_proofs(&id)?;
    match verify::checkpoint_origin(&proofs.checkpoint) {
        Ok(origin) if origin == c.chain_id => {}
        Ok(origin) => {
            return Err(network(format!(
            "the node serves ledger {origin}, not this credential's ledger {} / 该节点属于其他账本",
            c.chain_id
        )))
        }
        Err(e) => return Err(network(format!("the node served undecidable proofs: {e}"))),
    }
    if let Ok(stored) = c.proofs() {
        refuse_conflict(&stored.checkpoint, &proofs.checkpoint, trust_root)?;
    }
    let verdict = c
        .verify(&proofs, trust_root, FRESH_CHECKPOINT_AGE_S, now)
        .map_err(|e| network(format!("the node served undecidable proofs: {e}")))?;
    match verdict {
        Verdict::Valid(a) => {
            c.set_proofs(&proofs);
            c.status = Status::Active;
            c.status_reason = None;
            c.checkpoint_height = a.checkpoint_height;
            c.checkpoint_time = a.checkpoint_time;
            c.checked_at = now;
            Ok(Ok(()))
        }
        Verdict::Invalid(invalid) => match Status::of_invalid(&invalid) {
            Some(status) => {
                // The status itself is proven under a quorum checkpoint: record it.
                c.set_proofs(&proofs);
                c.status = status;
                c.status_reason = Some(invalid.code().to_owned());
                c.checked_at = now;
                if let Ok(cp) = registry::check_checkpoint(&proofs.checkpoint, trust_root) {
                    c.checkpoint_height = cp.height;
                    c.checkpoint_time = cp.time;
                }
                Ok(Err(invalid))
            }
            None => Err(network(format!(
                "the node served proofs that do not verify: {invalid} ({})",
                invalid.code()
            ))),
        },
    }
}

/// Refuses two checkpoints, each signed by a quorum of `trust_root`, that conflict (same log size,
/// different roots: `specs/evidence.md`), naming the departments that signed both and carrying
/// the evidence against each (base64url of the canonical bytes). Two checkpoints that cannot be
/// compared here (different sizes: the wallet has no consistency proof; or one no longer valid
/// under the trust root) pass: each is still decided on its own.
pub(super) fn refuse_conflict(old: &str, new: &str, trust_root: &TrustRoot) -> CmdResult<()> {
    let Ok(Err(conflict)) = evidence::compare_checkpoints(old, new, &trust_root.quorum(), None)
    else {
        return Ok(());
    };
    let mut en = conflict.text_en();
    for e in &conflict.evidence {
        let _ = write!(en, "\nevidence {}: {}", e.department, URL_SAFE_NO_PAD.encode(e.to_bytes()));
    }
    Err(refused("conflicting_checkpoints", en, conflict.text_zh()))
}
