//! `history`: the consent history (`specs/wallet.md`, Consent history). Every request the wallet
//! answered is kept in the encrypted wallet with what was disclosed and when; the record holds the
//! verifier's signed request itself, so the export proves who asked, by the verifier's own
//! signature (`core::request::PresentationRequest::verify_signature` under its registered key).

use std::fmt::Write as _;
use std::path::Path;

use serde_json::json;

use super::{date, now, open_wallet, type_name, Ctx, Output};
use crate::cli::Lang;
use crate::error::{CmdResult, Failure, Kind};
use crate::store::ConsentRecord;

/// Version of the export file.
pub const EXPORT_VERSION: u32 = 1;

/// `history [--verifier ID] [--out FILE]`.
pub fn history(ctx: &Ctx, out: Option<&Path>, verifier: Option<&str>) -> CmdResult<Output> {
    let wallet = open_wallet(ctx)?;
    let records: Vec<&ConsentRecord> = wallet
        .data
        .consents
        .iter()
        .rev()
        .filter(|r| verifier.is_none_or(|v| r.verifier_id == v))
        .collect();
    let mut text = String::new();
    if records.is_empty() {
        text.push_str(match ctx.lang {
            Lang::Zh => "没有出示记录\n",
            Lang::En => "No presentations recorded\n",
        });
    }
    for r in &records {
        line(&mut text, r, ctx.lang);
    }
    let export = json!({
        "version": EXPORT_VERSION,
        "exported_at": now(),
        "about": "certledger wallet consent history: each record holds the verifier's signed \
                  request (CLR1. text, specs/request.md) / 出示记录，含核验方签名的请求",
        "records": records,
    });
    if let Some(path) = out {
        let bytes = serde_json::to_vec_pretty(&export)
            .map_err(|e| Failure::new(Kind::Usage, anyhow::anyhow!("cannot encode: {e}")))?;
        crate::keystore::write_atomic(path, &bytes)
            .map_err(|f| Failure::new(Kind::Usage, f.error))?;
        let _ = writeln!(
            text,
            "{} {} → {}",
            records.len(),
            match ctx.lang {
                Lang::Zh => "条记录已导出",
                Lang::En => "records exported",
            },
            path.display()
        );
    }
    Ok(Output::new(text, export))
}

/// One record: when, who (registered name), why, what.
fn line(text: &mut String, r: &ConsentRecord, lang: Lang) {
    let name = match lang {
        Lang::Zh => r.verifier_name_zh.as_deref(),
        Lang::En => r.verifier_name_en.as_deref(),
    };
    let (checked, unchecked, disclosed, purpose) = match lang {
        Lang::Zh => ("签名已核验", "未核验签名", "出示", "用途"),
        Lang::En => ("signature checked", "NOT CHECKED", "disclosed", "purpose"),
    };
    let types: Vec<String> = r.credentials.iter().map(|(_, t)| type_name(t, lang)).collect();
    let _ = writeln!(
        text,
        "{}  {}{}  [{}]\n  {purpose}: {}\n  {disclosed}: {} ({})",
        date(r.at),
        r.verifier_id,
        name.map(|n| format!(" ({n})")).unwrap_or_default(),
        if r.signature_checked { checked } else { unchecked },
        r.purpose,
        r.disclosed.join(", "),
        types.join(", "),
    );
}
