//! `verify BUNDLE…`: decide a bundle locally with the browser's pipeline.

use std::fmt::Write as _;
use std::path::Path;

use certledger_core::bundle::LinkedBundle;
use certledger_core::qrparts;
use certledger_core::verify::{self, Policy, TrustRoot, Verdict};
use serde_json::json;

use super::{
    date, now, qr_texts_in_png, read_input, read_text, value_text, Ctx, Output, MAX_PNG_BYTES,
};
use crate::cli::VerifyArgs;
use crate::error::{refused, usage, CmdResult, Failure, Kind, Reason, ResultExt as _};
use crate::qr;

/// The bundle text from the inputs: files (text or QR PNGs), `CLB1.` texts or `CLBQ1` parts.
fn bundle_text_from_inputs(inputs: &[String]) -> CmdResult<String> {
    let mut payloads = Vec::new();
    for input in inputs {
        let path = Path::new(input);
        if input.len() < 4096 && path.is_file() {
            let bytes = read_input(path, MAX_PNG_BYTES)?;
            if bytes.starts_with(b"\x89PNG") {
                let found = qr_texts_in_png(&bytes, path)?;
                if found.is_empty() {
                    return Err(usage(format!("no QR code found in {}", path.display())));
                }
                payloads.extend(found);
            } else {
                let text = String::from_utf8(bytes)
                    .map_err(|_| usage(format!("{} is not UTF-8 text", path.display())))?;
                payloads.push(text.trim().to_owned());
            }
        } else if input.starts_with("CLB1.") || input.starts_with(qrparts::PART_PREFIX) {
            payloads.push(input.trim().to_owned());
        } else {
            return Err(usage(format!("{input}: not a file, CLB1. text or CLBQ1 part")));
        }
    }
    qr::join(&payloads)
}

/// `verify`.
pub fn verify(_ctx: &Ctx, args: &VerifyArgs) -> CmdResult<Output> {
    let trust_root = TrustRoot::from_json(&read_text(&args.trust_root)?)
        .kind(Kind::Usage, "the trust root is unusable")?;
    let text = bundle_text_from_inputs(&args.bundle)?;
    let bundle = LinkedBundle::from_text(&text).map_err(|e| {
        refused("malformed_bundle", format!("the bundle is malformed: {e}"), "出示内容格式错误")
    })?;
    let mut policy = Policy::new(&args.nonce, &args.audience);
    policy.required_claims = args.require_claim.clone();
    policy.max_presentation_age_s = args.max_presentation_age;
    let at = args.at.unwrap_or_else(now);
    match verify::verify_linked(&bundle, &trust_root, &policy, at) {
        Ok(Verdict::Valid(accepted)) => {
            let mut text = format!(
                "VALID 有效: {} / {}\nissuer 签发部门: {}\ncheckpoint 检查点: height {} ({})\n",
                accepted.type_name_zh,
                accepted.type_name_en,
                accepted.issuer_department,
                accepted.checkpoint_height,
                date(accepted.checkpoint_time)
            );
            for c in &accepted.claims {
                let _ =
                    writeln!(text, "  {} / {}: {}", c.label_zh, c.label_en, value_text(&c.value));
            }
            if let Some(p) = &accepted.pseudonym {
                let _ = writeln!(text, "pseudonym 专用化名: {p}");
            }
            for linked in &accepted.linked_credentials {
                let _ = writeln!(
                    text,
                    "+ {} / {} (issuer 签发部门: {})\n  linked 同一持有人: {}",
                    linked.type_name_zh,
                    linked.type_name_en,
                    linked.issuer_department,
                    if linked.linked { "yes 是" } else { "no 否" }
                );
                for c in &linked.claims {
                    let _ = writeln!(
                        text,
                        "  {} / {}: {}",
                        c.label_zh,
                        c.label_en,
                        value_text(&c.value)
                    );
                }
            }
            let json = json!({ "verdict": "valid", "accepted": *accepted });
            Ok(Output::new(text, json))
        }
        Ok(Verdict::Invalid(invalid)) => Err(Failure::refused(Reason::from_invalid(&invalid))),
        Err(e) => Err(refused(
            "undecidable",
            format!("the bundle could not be verified: {e}"),
            "出示内容无法核验",
        )),
    }
}
