//! `init`: create a wallet.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use serde_json::json;

use super::{ensure_dir, now, Ctx, Output};
use crate::error::{usage, CmdResult};
use crate::store::{Wallet, WalletData};

/// `init`.
pub fn init(ctx: &Ctx) -> CmdResult<Output> {
    if ctx.wallet_path.exists() {
        return Err(usage(format!(
            "a wallet already exists at {}; nothing was changed",
            ctx.wallet_path.display()
        )));
    }
    let pass = ctx.passphrase.read(true)?;
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(seed.as_mut());
    let mut secret = zeroize::Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(secret.as_mut());
    let holder = certledger_core::sig::SecretKey::from_seed(&seed);
    let data = WalletData {
        version: 1,
        holder_seed: URL_SAFE_NO_PAD.encode(seed.as_ref()),
        wallet_secret: URL_SAFE_NO_PAD.encode(secret.as_ref()),
        created_at: now(),
        trust_root: None,
        trust_list: None,
        credentials: Vec::new(),
        next_key_index: 0,
        attestation_for_verifier: std::collections::BTreeMap::new(),
        consents: Vec::new(),
    };
    ensure_dir(&ctx.wallet_path)?;
    let wallet = Wallet::create(ctx.wallet_path.clone(), &pass, data)?;
    let public = hex::encode(holder.public_key().0);
    let kdf = wallet.kdf();
    let text = format!(
        "Wallet created at {}\n钱包已创建\nholder key: {public}\nArgon2id: {} KiB, {} passes, {} lanes\n",
        ctx.wallet_path.display(),
        kdf.m_kib,
        kdf.t,
        kdf.p
    );
    let json = json!({
        "wallet": ctx.wallet_path.display().to_string(),
        "holder_key": public,
        "kdf": { "algorithm": "argon2id", "m_kib": kdf.m_kib, "t": kdf.t, "p": kdf.p },
    });
    Ok(Output::new(text, json))
}
