//! `present` for both credential formats: the presentation of one stored credential, and the
//! full-disclosure rule of a W3C VC 2.0 (`specs/wallet.md`).

use certledger_core::bundle::Presentation;
use certledger_core::sdjwt::SdJwt;
use certledger_core::sig::SecretKey;
use certledger_core::w3c;

use super::super::{value_text, ClaimView};
use crate::error::{keystore, refused, CmdResult};
use crate::store::StoredCredential;

/// For each W3C credential of `creds` (claims in `views`), what it discloses: every claim it
/// carries, written into its entry of `shown`. Refuses when one of them is not in `names` (the
/// claims the request allows, narrowed by `--disclose`): the wallet never discloses beyond the
/// request, and a W3C credential cannot hide a claim.
pub(super) fn full_disclosure(
    creds: &[StoredCredential],
    views: &[Vec<ClaimView>],
    names: &[String],
    shown: &mut [Vec<(String, String)>],
) -> CmdResult<()> {
    for ((c, claims), list) in creds.iter().zip(views).zip(shown) {
        if c.w3c_vc.is_some() {
            *list = all_claims(claims, names)?;
        }
    }
    Ok(())
}

/// The confirmation summary's plain statement, in both languages, that a W3C credential discloses
/// every claim.
pub(super) fn summary_note(summary: &mut String, c: &StoredCredential) {
    if c.w3c_vc.is_some() {
        summary.push_str(
            "  W3C credential: every claim it carries is disclosed\n  \
             W3C 格式证照：出示时披露其全部信息\n",
        );
    }
}

fn all_claims(claims: &[ClaimView], names: &[String]) -> CmdResult<Vec<(String, String)>> {
    let extra: Vec<&str> =
        claims.iter().filter(|c| !names.contains(&c.name)).map(|c| c.name.as_str()).collect();
    if !extra.is_empty() {
        let list = extra.join(", ");
        return Err(refused(
            "would_over_disclose",
            format!(
                "this is a W3C credential, which discloses every claim it carries; the request \
                 does not allow {list}, so it cannot be presented (ask the issuer for an SD-JWT \
                 credential to disclose selectively)"
            ),
            format!(
                "此证照为 W3C 格式，出示时会披露其全部信息；本次请求未允许披露：{list}，\
                 因此不能出示（如需选择性出示，请向签发部门申领 SD-JWT 格式证照）"
            ),
        ));
    }
    Ok(claims.iter().map(|c| (c.name.clone(), value_text(&c.value))).collect())
}

/// The presentation of `c` under `key` for `nonce` and `audience` at `now`: an SD-JWT revealing
/// `reveal`, or a W3C presentation of the whole credential with the holder's proof.
pub(super) fn presentation(
    c: &StoredCredential,
    key: &SecretKey,
    reveal: &[String],
    nonce: &str,
    audience: &str,
    now: u64,
) -> CmdResult<Presentation> {
    let cannot = |e: &dyn std::fmt::Display| {
        refused("cannot_present", format!("cannot build the presentation: {e}"), "无法生成出示内容")
    };
    if let Some(vc) = &c.w3c_vc {
        let vp = w3c::present(vc, key, nonce, audience, now).map_err(|e| cannot(&e))?;
        return Ok(Presentation::W3cVp(vp));
    }
    let sd =
        SdJwt::parse(&c.sd_jwt).map_err(|_| keystore("a stored credential cannot be parsed"))?;
    let reveal: Vec<&str> = reveal.iter().map(String::as_str).collect();
    let text = sd.present(&reveal, key, nonce, audience, now).map_err(|e| cannot(&e))?;
    Ok(Presentation::SdJwt(text))
}
