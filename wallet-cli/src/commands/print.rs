//! `print ID --out FILE.png`: a card with the QR code(s) of a full presentation.

use certledger_core::bundle::{Bundle, Presentation};
use certledger_core::sdjwt::SdJwt;
use certledger_core::w3c;
use serde_json::json;

use super::{
    claim_label, claims_of, date, not_active, now, open_wallet, type_name, value_text, write_png,
    ClaimView, Ctx, Output,
};
use crate::cli::{Lang, PrintArgs};
use crate::error::{keystore, refused, usage, CmdResult};
use crate::store::Status;
use crate::{card, qr};

/// `print ID --out FILE.png`.
pub fn print(ctx: &Ctx, args: &PrintArgs) -> CmdResult<Output> {
    let wallet = open_wallet(ctx)?;
    let cred = wallet
        .data
        .credentials
        .get(wallet.find(&args.id)?)
        .ok_or_else(|| usage("no such credential"))?;
    let now = now();
    let status = cred.effective_status(now);
    if status != Status::Active {
        return Err(not_active(cred, status));
    }
    let claims = claims_of(cred)?;
    let chosen: Vec<&ClaimView> = match &args.disclose {
        None => claims.iter().collect(),
        Some(list) => {
            let mut v = Vec::new();
            for name in list {
                v.push(claims.iter().find(|c| &c.name == name).ok_or_else(|| {
                    usage(format!("--disclose {name}: the credential has no such claim"))
                })?);
            }
            v
        }
    };
    let names: Vec<&str> =
        chosen.iter().filter(|c| c.disclosable).map(|c| c.name.as_str()).collect();
    let nonce = args.nonce.clone().unwrap_or_else(|| format!("print-{now}"));
    let holder = wallet.key_for(cred)?;
    let cannot = |e: &dyn std::fmt::Display| {
        refused("cannot_present", format!("cannot build the presentation: {e}"), "无法生成出示内容")
    };
    let presentation = if let Some(vc) = &cred.w3c_vc {
        // A W3C credential discloses every claim: it cannot honour a narrower --disclose.
        if !claims.iter().all(|c| chosen.iter().any(|x| x.name == c.name)) {
            return Err(refused(
                "would_over_disclose",
                "this is a W3C credential, which discloses every claim: --disclose cannot narrow it",
                "此证照为 W3C 格式，出示时披露全部信息，无法只出示部分信息",
            ));
        }
        let vp = w3c::present(vc, &holder, &nonce, &args.audience, now).map_err(|e| cannot(&e))?;
        Presentation::W3cVp(vp)
    } else {
        let sd = SdJwt::parse(&cred.sd_jwt)
            .map_err(|_| keystore("a stored credential cannot be parsed"))?;
        let text =
            sd.present(&names, &holder, &nonce, &args.audience, now).map_err(|e| cannot(&e))?;
        Presentation::SdJwt(text)
    };
    let bundle = Bundle { presentation, proofs: cred.proofs()? };
    let text = bundle.to_text();
    let parts = qr::split(&text)?;
    let codes = parts
        .iter()
        .map(|p| qr::encode(p).map(|c| qr::to_image(&c)))
        .collect::<CmdResult<Vec<_>>>()?;

    let font = card::find_font();
    let mut notices = Vec::new();
    let cjk = font.as_ref().is_some_and(|f| f.cjk);
    match &font {
        None => notices.push(
            "notice: no font found; the card holds the QR code(s) only. Install fonts-wqy-microhei \
             (or set CERTLEDGER_WALLET_FONT) for bilingual text"
                .to_owned(),
        ),
        Some(f) if !f.cjk => notices.push(format!(
            "notice: no CJK font found (using {}); the card is English-only. Install \
             fonts-wqy-microhei or fonts-noto-cjk (or set CERTLEDGER_WALLET_FONT)",
            f.path.display()
        )),
        Some(_) => {}
    }
    let mut lines = Vec::new();
    let name_zh = type_name(&cred.type_id, Lang::Zh);
    let name_en = type_name(&cred.type_id, Lang::En);
    lines.push(card::Line {
        text: if cjk { format!("{name_zh} / {name_en}") } else { name_en.clone() },
        size: 40.0,
    });
    lines.push(card::Line {
        text: format!(
            "Issuer: {}   Expires: {}",
            cred.issuer_department,
            cred.expires_at.map_or_else(|| "-".to_owned(), date)
        ),
        size: 24.0,
    });
    for c in &chosen {
        let zh = claim_label(&cred.type_id, &c.name, Lang::Zh);
        let en = claim_label(&cred.type_id, &c.name, Lang::En);
        let label = if cjk { format!("{zh} / {en}") } else { en };
        lines.push(card::Line { text: format!("{label}: {}", value_text(&c.value)), size: 28.0 });
    }
    lines.push(card::Line {
        text: format!(
            "Printed {} - status as of {} - verify with audience {} nonce {}",
            date(now),
            date(cred.checkpoint_time),
            args.audience,
            nonce
        ),
        size: 18.0,
    });
    if cjk {
        lines.push(card::Line {
            text: "扫描二维码核验；纸质证照可被复制，请核对持有人身份。".to_owned(),
            size: 20.0,
        });
    }
    let img = card::render(font.as_ref(), &lines, &codes);
    write_png(&args.out, &img)?;
    let mut out = Output::new(
        format!(
            "Printable card written to {} ({} QR code(s))\n打印版证照已生成\n",
            args.out.display(),
            parts.len()
        ),
        json!({
            "png": args.out.display().to_string(),
            "qr_parts": parts.len(),
            "nonce": nonce,
            "audience": args.audience,
            "font": font.as_ref().map(|f| f.path.display().to_string()),
            "bilingual": cjk,
        }),
    );
    out.notices = notices;
    Ok(out)
}
