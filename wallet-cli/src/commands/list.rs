//! `list`: the stored credentials with their status.

use std::fmt::Write as _;

use serde_json::json;

use super::{credential_json, date, now, open_wallet, status_text, type_name, Ctx, Output};
use crate::cli::Lang;
use crate::error::CmdResult;
use crate::store::StoredCredential;

/// `list`.
pub fn list(ctx: &Ctx) -> CmdResult<Output> {
    let wallet = open_wallet(ctx)?;
    let now = now();
    let mut text = String::new();
    let mut items = Vec::new();
    if wallet.data.credentials.is_empty() {
        text.push_str(match ctx.lang {
            Lang::Zh => "钱包中没有证照\n",
            Lang::En => "No credentials in this wallet\n",
        });
    }
    for c in &wallet.data.credentials {
        list_line(&mut text, c, now, ctx.lang);
        items.push(credential_json(c, now, ctx.lang));
    }
    Ok(Output::new(text, json!({ "credentials": items })))
}

/// One line of the listing.
fn list_line(text: &mut String, c: &StoredCredential, now: u64, lang: Lang) {
    let expiry = c.expires_at.map_or_else(|| "-".to_owned(), date);
    let (expires, as_of) = match lang {
        Lang::Zh => ("有效期至", "状态截至"),
        Lang::En => ("expires", "status as of"),
    };
    let _ = writeln!(
        text,
        "{}  {}{}  {}  {expires} {expiry}  {as_of} {}",
        c.short_id(),
        type_name(&c.type_id, lang),
        if c.w3c_vc.is_some() { " (W3C)" } else { "" },
        status_text(c.effective_status(now), lang),
        date(c.checkpoint_time),
    );
}
