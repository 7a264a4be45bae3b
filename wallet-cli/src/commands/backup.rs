//! `backup --out FILE`: copy the encrypted wallet.

use std::path::Path;

use serde_json::json;

use super::{open_wallet, Ctx, Output};
use crate::error::{usage, CmdResult, Kind};

/// `backup --out FILE`.
pub fn backup(ctx: &Ctx, out: &Path) -> CmdResult<Output> {
    if out.exists() {
        return Err(usage(format!("{} already exists; choose another file", out.display())));
    }
    // Opening proves the passphrase and the file's integrity before it is copied.
    let _wallet = open_wallet(ctx)?;
    let bytes = crate::keystore::read_bounded(&ctx.wallet_path, Kind::Keystore)?;
    crate::keystore::write_atomic(out, &bytes)?;
    Ok(Output::new(
        format!("Encrypted backup written to {}\n备份已写入\n", out.display()),
        json!({ "backup": out.display().to_string(), "bytes": bytes.len() }),
    ))
}
