//! `show ID`: one credential and its disclosable claims.

use std::fmt::Write as _;

use serde_json::json;

use super::{
    claim_label, claims_of, credential_json, date, now, open_wallet, status_text, type_name,
    value_text, Ctx, Output,
};
use crate::cli::Lang;
use crate::error::{usage, CmdResult};

/// `show ID`.
pub fn show(ctx: &Ctx, id: &str) -> CmdResult<Output> {
    let wallet = open_wallet(ctx)?;
    let c =
        wallet.data.credentials.get(wallet.find(id)?).ok_or_else(|| usage("no such credential"))?;
    let now = now();
    let claims = claims_of(c)?;
    let status = c.effective_status(now);
    let mut text = String::new();
    let zh = ctx.lang == Lang::Zh;
    let _ = writeln!(text, "{}  ({})", type_name(&c.type_id, ctx.lang), c.type_id);
    let _ = writeln!(text, "{}: {}", if zh { "编号" } else { "id" }, c.id);
    let _ = writeln!(text, "{}: {}", if zh { "签发部门" } else { "issuer" }, c.issuer_department);
    let _ = writeln!(
        text,
        "{}: {} ({} {}, {} {})",
        if zh { "状态" } else { "status" },
        status_text(status, ctx.lang),
        if zh { "截至检查点" } else { "as of checkpoint" },
        c.checkpoint_height,
        if zh { "时间" } else { "time" },
        date(c.checkpoint_time)
    );
    let _ = writeln!(
        text,
        "{}: {}",
        if zh { "有效期至" } else { "expires" },
        c.expires_at.map_or_else(|| "-".to_owned(), date)
    );
    let _ = writeln!(
        text,
        "{}: {}",
        if zh { "格式" } else { "format" },
        match (c.w3c_vc.is_some(), zh) {
            (true, true) => "W3C VC 2.0（eddsa-jcs-2022，出示时披露全部信息）",
            (true, false) => "W3C VC 2.0 (eddsa-jcs-2022, every claim is disclosed when presented)",
            (false, true) => "SD-JWT VC（可选择性出示）",
            (false, false) => "SD-JWT VC (selective disclosure)",
        }
    );
    let _ = writeln!(
        text,
        "{}:",
        match (c.w3c_vc.is_some(), zh) {
            (true, true) => "信息（全部披露）",
            (true, false) => "claims (all disclosed)",
            (false, true) => "信息（* 可选择性出示）",
            (false, false) => "claims (* selectively disclosable)",
        }
    );
    let mut claims_json = Vec::new();
    for cl in &claims {
        let _ = writeln!(
            text,
            "  {} {}: {}",
            if cl.disclosable { "*" } else { " " },
            claim_label(&c.type_id, &cl.name, ctx.lang),
            value_text(&cl.value)
        );
        claims_json.push(json!({
            "name": cl.name,
            "label": claim_label(&c.type_id, &cl.name, ctx.lang),
            "label_zh": claim_label(&c.type_id, &cl.name, Lang::Zh),
            "label_en": claim_label(&c.type_id, &cl.name, Lang::En),
            "value": cl.value,
            "disclosable": cl.disclosable,
        }));
    }
    let mut json = credential_json(c, now, ctx.lang);
    json["claims"] = claims_json.into();
    Ok(Output::new(text, json))
}
