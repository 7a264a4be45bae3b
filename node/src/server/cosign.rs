//! Checkpoint cosigning: every node signs a checkpoint note for each height it decides; this
//! task collects the peers' signatures and stores the quorum note that proofs are served against.

use std::sync::Arc;
use std::time::Duration;

use certledger_core::ledger::LogLeaf;
use certledger_core::note::{self, Note};
use tracing::error;

use crate::server::chain::checkpoint_of;
use crate::server::handle::NodeHandle;

/// Every 300 ms: for the newest heights without a stored quorum note, pull the peers' own
/// signed notes, merge the signatures into ours, and store the note once it verifies under the
/// quorum of the departments that decided that height (`note::verify_checkpoint`, more than 2/3).
/// Heights holding a governance change are always completed (a light client needs a checkpoint
/// of the old set covering the change), whatever their age.
pub async fn cosign_loop(node: Arc<NodeHandle>) {
    let mut done_up_to = node.store.latest_checkpoint().ok().flatten().map(|(h, _)| h).unwrap_or(0);
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let top = node.lock().last_header.as_ref().map(|h| h.height).unwrap_or(0);
        // Governance heights first (oldest first), then the newest heights: a fresh quorum
        // checkpoint matters more than old ones.
        let mut wanted: Vec<u64> = governance_heights(&node)
            .into_iter()
            .filter(|h| *h <= top && matches!(node.store.checkpoint(*h), Ok(None)))
            .collect();
        let first = done_up_to.max(top.saturating_sub(4)) + 1;
        wanted.extend((first..=top).rev());
        let mut stored_newest = false;
        for h in wanted {
            let newest = h >= first;
            if newest && stored_newest {
                continue;
            }
            if cosign_height(&node, h).await && newest {
                done_up_to = done_up_to.max(h);
                stored_newest = true;
            }
        }
    }
}

/// Heights of the blocks that hold a governance change.
fn governance_heights(node: &NodeHandle) -> Vec<u64> {
    let changes = match node.changes.lock() {
        Ok(c) => c.clone(),
        Err(p) => p.into_inner().clone(),
    };
    let mut heights: Vec<u64> = changes
        .iter()
        .filter_map(|(_, leaf)| LogLeaf::from_bytes_checked(leaf).ok().map(|l| l.height))
        .collect();
    heights.dedup();
    heights
}

/// Collects cosignatures for height `h` and stores the note if it reaches the quorum of the
/// set that decided `h`. Returns whether it did.
async fn cosign_height(node: &NodeHandle, h: u64) -> bool {
    let quorum = node.quorum_at(h);
    let Ok(Some(block)) = node.store.block(h) else { return false };
    let body = checkpoint_of(&block.header).to_body();
    let Ok(mut merged) = Note::new(&body) else { return false };
    if let Some(own) = node.lock().own_checkpoints.get(&h).cloned() {
        if let Ok(n) = Note::parse(&own) {
            let _ = merged.add_signatures(&n);
        }
    }
    for base in &node.peer_http {
        let url = format!("{base}/v1/checkpoints/{h}/cosignature");
        let Ok(resp) = node.http.get(&url).send().await else { continue };
        let Ok(v) = resp.json::<serde_json::Value>().await else { continue };
        let Some(text) = v["note"].as_str() else { continue };
        let Ok(n) = Note::parse(text) else { continue };
        // Only signatures over exactly our body, by listed keys, that verify.
        if n.text() != body || n.verify(&quorum.keys).is_err() {
            continue;
        }
        let _ = merged.add_signatures(&n);
    }
    let text = merged.to_text();
    if note::verify_checkpoint(&text, &quorum).is_ok() {
        if let Err(e) = node.store.put_checkpoint(h, &text) {
            error!(error = %e, "storage write failed; stopping");
            std::process::exit(74);
        }
        return true;
    }
    false
}
