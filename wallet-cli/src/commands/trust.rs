//! `trust set FILE` and `trust show`: the trust root every check uses.

use std::path::Path;

use certledger_core::verify::TrustRoot;
use serde_json::{json, Value};

use super::{open_wallet, read_text, Ctx, Output};
use crate::error::{CmdResult, Kind, ResultExt as _};

/// `trust set FILE`.
pub fn trust_set(ctx: &Ctx, file: &Path) -> CmdResult<Output> {
    let text = read_text(file)?;
    let root = TrustRoot::from_json(&text).kind(Kind::Usage, "the trust root is unusable")?;
    let mut wallet = open_wallet(ctx)?;
    wallet.data.trust_root = Some(root.to_json());
    wallet.save()?;
    Ok(Output::new(
        format!(
            "Trust root set: chain {}, {} of {} department keys\n信任根已设置\n",
            root.chain_id,
            root.threshold,
            root.keys.len()
        ),
        json!({ "chain_id": root.chain_id, "threshold": root.threshold, "keys": root.keys.len() }),
    ))
}

/// `trust show`.
pub fn trust_show(ctx: &Ctx) -> CmdResult<Output> {
    let wallet = open_wallet(ctx)?;
    let root = wallet.trust_root()?;
    let json: Value = serde_json::from_str(&root.to_json()).unwrap_or(Value::Null);
    Ok(Output::new(format!("{}\n", root.to_json()), json!({ "trust_root": json })))
}
