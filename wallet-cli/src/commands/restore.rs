//! `restore FILE [--force]`: install an encrypted wallet backup.

use std::path::Path;

use serde_json::json;

use super::{ensure_dir, Ctx, Output};
use crate::error::{usage, CmdResult, Kind};

/// `restore FILE [--force]`.
pub fn restore(ctx: &Ctx, file: &Path, force: bool) -> CmdResult<Output> {
    let bytes = crate::keystore::read_bounded(file, Kind::Usage)?;
    if ctx.wallet_path.exists() && !force {
        return Err(usage(format!(
            "a wallet already exists at {}; pass --force to replace it (nothing was changed)",
            ctx.wallet_path.display()
        )));
    }
    let pass = ctx.passphrase.read(false)?;
    let (_, plain) = crate::keystore::open(&bytes, pass.as_bytes())?;
    let data = crate::store::parse_payload(&plain)?;
    let n = data.credentials.len();
    ensure_dir(&ctx.wallet_path)?;
    crate::keystore::write_atomic(&ctx.wallet_path, &bytes)?;
    Ok(Output::new(
        format!("Wallet restored to {} ({n} credentials)\n钱包已恢复\n", ctx.wallet_path.display()),
        json!({ "wallet": ctx.wallet_path.display().to_string(), "credentials": n }),
    ))
}
