//! `identity keys --count N --out FILE`: hand out the next batch holder keys
//! (`specs/identity.md` §2).

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::json;

use super::{open_wallet, Ctx, Output};
use crate::error::{usage, CmdResult, Failure, Kind};
use crate::identity;

/// Most keys one `identity keys` call derives.
pub const MAX_BATCH: u32 = 100;

/// `identity keys --count N --out FILE`.
pub fn keys(ctx: &Ctx, count: u32, out: &Path) -> CmdResult<Output> {
    let mut wallet = open_wallet(ctx)?;
    if count == 0 || count > MAX_BATCH {
        return Err(usage(format!("--count must be 1 to {MAX_BATCH}")));
    }
    let first = wallet.data.next_key_index;
    let end = first
        .checked_add(count)
        .filter(|end| *end <= certledger_core::pseudonym::MAX_HOLDER_KEY_INDEX)
        .ok_or_else(|| usage("this wallet has derived all the batch keys it may"))?;
    let mut keys = Vec::new();
    for index in first..end {
        keys.push(URL_SAFE_NO_PAD.encode(wallet.batch_key(index)?.public_key().0));
    }
    let doc = json!({
        "version": 1,
        "credential_type": identity::attestation_type(),
        "first_index": first,
        "holder_keys": keys,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    // Record the indices first: a key handed out is never handed out again, even if the file
    // write below fails.
    wallet.data.next_key_index = end;
    wallet.save()?;
    crate::keystore::write_atomic(out, text.as_bytes())
        .map_err(|f| Failure::new(Kind::Usage, f.error))?;
    Ok(Output::new(
        format!(
            "{count} holder keys (indices {first}..{}) written to {}: have the identity \
             attestation batch issued to them, then import each copy\n已生成 {count} 个持有人密钥\n",
            end - 1,
            out.display()
        ),
        json!({
            "keys_file": out.display().to_string(),
            "first_index": first,
            "count": count,
            "holder_keys": doc["holder_keys"],
        }),
    ))
}
