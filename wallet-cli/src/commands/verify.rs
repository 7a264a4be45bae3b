//! `verify BUNDLE…`: decide a bundle locally with the browser's pipeline.
//!
//! Nonces are single-use (issue #11 item 6): every accepted `(audience, nonce)` is kept in a
//! bounded seen-nonce file until its request expires, and a second bundle for it is refused
//! before it is verified. With `--request` the request's `expires_at` is enforced too.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use certledger_core::bundle::LinkedBundle;
use certledger_core::qrparts;
use certledger_core::verify::{Policy, TrustList, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    date, ensure_dir, now, qr_texts_in_png, read_input, read_text, value_text, Ctx, Output,
    MAX_PNG_BYTES,
};
use crate::cli::VerifyArgs;
use crate::error::{refused, usage, CmdResult, Failure, Kind, Reason};
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

/// The seen-nonce file's name in the wallet directory.
pub const SEEN_NONCES_FILE: &str = "seen-nonces.json";
/// Most unexpired nonces the seen-nonce file holds; when it is full, verification is refused
/// (could not decide) rather than forgetting a nonce that could then be replayed.
pub const MAX_SEEN_NONCES: usize = 10_000;
/// Largest seen-nonce file read, in bytes.
const MAX_SEEN_FILE_BYTES: u64 = 2 * 1024 * 1024;
/// Clock skew tolerated on request times, and kept beyond a bare nonce's freshness window.
const SKEW_S: u64 = 60;

/// The seen-nonce file: `"<audience> <nonce>"` → the Unix time it may be forgotten.
#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeenNonces {
    version: u32,
    seen: BTreeMap<String, u64>,
}

/// The nonce, audience and forget-after time the bundle is checked against.
struct Challenge {
    nonce: String,
    audience: String,
    expires_at: u64,
}

/// From `--request` (whose `expires_at` is enforced at `at`), or `--nonce` and `--audience`
/// (remembered for the presentation's freshness window).
fn challenge(args: &VerifyArgs, at: u64) -> CmdResult<Challenge> {
    if let Some(arg) = &args.request {
        let request = super::present::read_request(arg)?;
        request.check_time(at, SKEW_S).map_err(|e| {
            refused(
                "request_expired",
                format!("the request is not valid now: {e}"),
                "请求已过期或尚未生效",
            )
        })?;
        return Ok(Challenge {
            nonce: request.nonce_b64(),
            audience: request.audience().to_owned(),
            expires_at: request.expires_at(),
        });
    }
    let (Some(nonce), Some(audience)) = (&args.nonce, &args.audience) else {
        return Err(usage("give --request, or --nonce and --audience"));
    };
    Ok(Challenge {
        nonce: nonce.clone(),
        audience: audience.clone(),
        expires_at: at.saturating_add(args.max_presentation_age).saturating_add(SKEW_S),
    })
}

fn seen_path(ctx: &Ctx, args: &VerifyArgs) -> PathBuf {
    args.seen_nonces.clone().unwrap_or_else(|| {
        ctx.wallet_path.parent().unwrap_or(Path::new(".")).join(SEEN_NONCES_FILE)
    })
}

/// Reads the seen-nonce file (absent: empty) and forgets what expired by `at`.
fn load_seen(path: &Path, at: u64) -> CmdResult<SeenNonces> {
    if !path.exists() {
        return Ok(SeenNonces { version: 1, seen: BTreeMap::new() });
    }
    let bytes = read_input(path, MAX_SEEN_FILE_BYTES)?;
    let mut seen: SeenNonces = serde_json::from_slice(&bytes)
        .map_err(|e| usage(format!("the seen-nonce file {} is malformed: {e}", path.display())))?;
    seen.seen.retain(|_, expires| *expires > at);
    Ok(seen)
}

fn save_seen(path: &Path, seen: &SeenNonces) -> CmdResult<()> {
    let bytes = serde_json::to_vec(seen)
        .map_err(|e| usage(format!("cannot encode the seen-nonce file: {e}")))?;
    ensure_dir(path)?;
    crate::keystore::write_atomic(path, &bytes).map_err(|f| Failure::new(Kind::Usage, f.error))
}

/// Replaces the proofs of every credential in `bundle` by the node's current ones (requested by
/// credential id only). They are decided afterwards like any proofs: under the trust root's
/// quorum and the verifier's own age rule, so a node can neither forge nor silently age them.
fn with_fresh_proofs(
    bundle: &mut LinkedBundle,
    source: &dyn crate::node::ProofSource,
) -> CmdResult<()> {
    let main = &mut bundle.main.proofs;
    *main = source.credential_proofs(&main.credential_record.credential_id)?;
    for linked in &mut bundle.linked {
        linked.proofs = source.credential_proofs(&linked.proofs.credential_record.credential_id)?;
    }
    Ok(())
}

/// What a verifier must know about a printed card (`--repeatable`).
pub const PAPER_CARD_NOTICE: &str = "A paper card proves the credential, not who holds it: check \
     the person at the counter. 纸质证照卡只证明证照真实有效，不能证明持卡人就是本人：请当面核对身份。\n";

/// An age limit in days, hours or seconds (`zh`: Chinese units).
fn age_text(seconds: u64, zh: bool) -> String {
    let (n, en, cn) = if seconds % 86400 == 0 {
        (seconds / 86400, "day(s)", "天")
    } else if seconds % 3600 == 0 {
        (seconds / 3600, "hour(s)", "小时")
    } else {
        (seconds, "second(s)", "秒")
    };
    if zh {
        format!("{n} {cn}")
    } else {
        format!("{n} {en}")
    }
}

/// `verify`.
pub fn verify(ctx: &Ctx, args: &VerifyArgs) -> CmdResult<Output> {
    // A trust list of several ledgers, one signed ledger root, or a plain trust root.
    let trust = TrustList::from_json(&read_text(&args.trust_root)?).map_err(|e| {
        Failure::new(Kind::Usage, anyhow::anyhow!("the trust root or trust list is unusable: {e}"))
    })?;
    let at = args.at.unwrap_or_else(now);
    let challenge = challenge(args, at)?;
    let text = bundle_text_from_inputs(&args.bundle)?;
    let bundle = LinkedBundle::from_text(&text).map_err(|e| {
        refused("malformed_bundle", format!("the bundle is malformed: {e}"), "出示内容格式错误")
    })?;
    let seen_file = (!args.repeatable).then(|| seen_path(ctx, args));
    let key = format!("{} {}", challenge.audience, challenge.nonce);
    let mut seen = match &seen_file {
        Some(path) => Some(load_seen(path, at)?),
        None => None,
    };
    if seen.as_ref().is_some_and(|s| s.seen.contains_key(&key)) {
        return Err(refused(
            "nonce_replayed",
            "a bundle for this request (nonce and audience) was already accepted: a nonce is \
             single-use",
            "此请求（随机数与受众）已接受过出示内容，随机数只能使用一次",
        ));
    }
    let mut bundle = bundle;
    let mut notices = Vec::new();
    let presented = bundle.main.proofs.checkpoint.clone();
    let refreshed = match &args.node {
        Some(url) => match with_fresh_proofs(&mut bundle, &crate::node::HttpNode::new(url)?) {
            Ok(()) => {
                // The node's checkpoint and the bundle's must not be a forked pair.
                if let Ok(Some(listed)) = trust.ledger_of_checkpoint(&presented) {
                    super::refresh::refuse_conflict(
                        &presented,
                        &bundle.main.proofs.checkpoint,
                        &listed.root,
                    )?;
                }
                true
            }
            Err(f) => {
                notices.push(format!(
                    "could not refresh the status from {url} ({:#}); deciding with the bundle's own \
                     proofs / 无法从节点更新状态，按出示内容自带的证明核验",
                    f.error
                ));
                false
            }
        },
        None => false,
    };
    let mut policy = Policy::new(&challenge.nonce, &challenge.audience);
    policy.required_claims = args.require_claim.clone();
    policy.max_presentation_age_s = args.max_presentation_age;
    policy.max_checkpoint_age_s = args.max_checkpoint_age;
    policy.min_assurance_level = args.min_assurance;
    match trust.verify_linked(&bundle, &policy, at) {
        Ok(Verdict::Valid(accepted)) => {
            if let (Some(path), Some(seen)) = (&seen_file, seen.as_mut()) {
                if seen.seen.len() >= MAX_SEEN_NONCES {
                    return Err(refused(
                        "seen_nonces_full",
                        format!(
                            "the seen-nonce file {} holds {MAX_SEEN_NONCES} unexpired nonces: \
                             cannot record this one, so the bundle is not accepted",
                            path.display()
                        ),
                        "已记录的随机数过多，无法记录本次随机数，未接受出示内容",
                    ));
                }
                seen.seen.insert(key, challenge.expires_at.max(at.saturating_add(1)));
                save_seen(path, seen)?;
            }
            let mut text = format!(
                "VALID 有效: {} / {}\n{}checkpoint 检查点: height {} ({})\n\
                 status as of 状态截至: {} (accepted up to {} old 本核验方接受 {} 以内的状态)\n",
                accepted.type_name_zh,
                accepted.type_name_en,
                issuer_lines(&accepted),
                accepted.checkpoint_height,
                date(accepted.checkpoint_time),
                date(accepted.checkpoint_time),
                age_text(args.max_checkpoint_age, false),
                age_text(args.max_checkpoint_age, true),
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
                    "+ {} / {}\n  {}  linked 同一持有人: {}",
                    linked.type_name_zh,
                    linked.type_name_en,
                    issuer_lines(linked).trim_end().replace('\n', "\n  "),
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
            let json = json!({
                "verdict": "valid",
                "accepted": *accepted,
                "status_as_of": accepted.checkpoint_time,
                "refreshed": refreshed,
                "settings": {
                    "max_checkpoint_age_s": args.max_checkpoint_age,
                    "min_assurance_level": args.min_assurance,
                },
            });
            let mut out = Output::new(text, json);
            out.notices = notices;
            if args.repeatable {
                out.text.push_str(PAPER_CARD_NOTICE);
                out.notices.push(PAPER_CARD_NOTICE.trim_end().to_owned());
            }
            Ok(out)
        }
        Ok(Verdict::Invalid(invalid)) => {
            #[allow(clippy::print_stderr)]
            for n in &notices {
                eprintln!("{n}");
            }
            Err(Failure::refused(Reason::from_invalid(&invalid)))
        }
        Err(e) => Err(refused(
            "undecidable",
            format!("the bundle could not be verified: {e}"),
            "出示内容无法核验",
        )),
    }
}

/// The issuing ledger and department of an accepted credential, one line each, in both languages.
fn issuer_lines(a: &certledger_core::verify::Accepted) -> String {
    match &a.issued_by {
        Some(by) => format!(
            "ledger 账本: {} / {} ({})\nissuer 签发部门: {} / {}\n",
            by.ledger_zh, by.ledger_en, by.chain_id, by.department_zh, by.department_en
        ),
        None => format!("issuer 签发部门: {}\n", a.issuer_department),
    }
}
