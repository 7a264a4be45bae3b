//! `import FILE`: check a credential file against the trust root and store it.

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::credential_file::CredentialFile;
use certledger_core::verify::{self, Invalid, Verdict};
use certledger_core::{sdjwt, w3c};
use serde_json::json;

use super::{now, open_wallet, read_text, type_name, Ctx, Output};
use crate::error::{refused, CmdResult, Failure, Reason};
use crate::store::{Status, StoredCredential};

/// `import FILE`.
pub fn import(ctx: &Ctx, file: &Path, max_checkpoint_age_s: u64) -> CmdResult<Output> {
    let text = read_text(file)?;
    let mut wallet = open_wallet(ctx)?;
    let trust = wallet.trust()?;
    let cred = CredentialFile::from_json(&text).map_err(|e| {
        refused(
            "malformed_credential_file",
            format!("the credential file is invalid: {e}"),
            "证照文件格式错误或已损坏",
        )
    })?;
    // The file names its ledger; its proofs must be for that ledger, which must be listed.
    if trust.get(&cred.chain_id).is_none() {
        return Err(Failure::refused(Reason::from_invalid(&trust.unlisted_reason())));
    }
    if verify::checkpoint_origin(&cred.proofs.checkpoint).ok() != Some(cred.chain_id.as_str()) {
        return Err(Failure::refused(Reason::from_invalid(&Invalid::WrongLedger)));
    }
    let now = now();
    let verdict = match &cred.w3c_vc {
        Some(vc) => trust.verify_w3c_credential(vc, &cred.proofs, max_checkpoint_age_s, now),
        None => trust.verify_credential(&cred.sd_jwt, &cred.proofs, max_checkpoint_age_s, now),
    };
    let accepted = match verdict {
        Ok(Verdict::Valid(a)) => a,
        Ok(Verdict::Invalid(invalid)) => {
            return Err(Failure::refused(Reason::from_invalid(&invalid)))
        }
        Err(e) => {
            return Err(refused(
                "malformed_credential",
                format!("the credential could not be checked: {e}"),
                "证照无法核验：内容格式错误",
            ))
        }
    };
    let unreadable =
        || refused("malformed_credential", "the credential could not be read", "证照无法读取");
    let issuer_key = &cred.proofs.credential_record.issuer_key;
    // W3C: the holder key is the credential subject's `did:key`; SD-JWT: its `cnf` key.
    let holder_key = match &cred.w3c_vc {
        Some(vc) => {
            w3c::verify_credential(vc, issuer_key, now).map_err(|_| unreadable())?.holder_key
        }
        None => {
            sdjwt::verify_issued(&cred.sd_jwt, issuer_key).map_err(|_| unreadable())?.holder_key
        }
    };
    // The wallet's main holder key, or one of its batch keys (`identity keys`).
    let key_index = match holder_key.map(|k| wallet.whose_key(&k)).transpose()?.flatten() {
        Some(index) => index,
        None => {
            return Err(refused(
                "holder_key_mismatch",
                "this credential is bound to another holder key, not this wallet's",
                "此证照绑定的是其他持有人密钥，不属于本钱包",
            ))
        }
    };
    let id = URL_SAFE_NO_PAD.encode(cred.credential_id);
    if wallet.data.credentials.iter().any(|c| c.id == id) {
        return Err(refused(
            "duplicate",
            "this credential is already in the wallet (use refresh to update it)",
            "此证照已在钱包中（可用 refresh 更新）",
        ));
    }
    let mut stored = StoredCredential {
        id: id.clone(),
        chain_id: cred.chain_id.clone(),
        type_id: accepted.credential_type.clone(),
        issuer_department: accepted.issuer_department.clone(),
        sd_jwt: cred.sd_jwt.clone(),
        w3c_vc: cred.w3c_vc.clone(),
        proofs: String::new(),
        status: Status::Active,
        status_reason: None,
        checkpoint_height: accepted.checkpoint_height,
        checkpoint_time: accepted.checkpoint_time,
        checked_at: now,
        imported_at: now,
        expires_at: accepted.expires_at,
        key_index,
    };
    stored.set_proofs(&cred.proofs);
    let short = stored.short_id().to_owned();
    let format = stored.format();
    wallet.data.credentials.push(stored);
    wallet.save()?;
    let name = type_name(&accepted.credential_type, ctx.lang);
    let by = accepted.issued_by.clone();
    let (from_en, from_zh) = by.as_ref().map_or_else(Default::default, |b| {
        (
            format!(" from {}, {}", b.ledger_en, b.department_en),
            format!("（{} · {}）", b.ledger_zh, b.department_zh),
        )
    });
    Ok(Output::new(
        format!(
            "Imported {name} ({short}){from_en}{}\n已导入：{}{from_zh}{}\n",
            if format == "w3c" { " [W3C: every claim is disclosed when presented]" } else { "" },
            accepted.type_name_zh,
            if format == "w3c" { "［W3C 格式：出示时披露全部信息］" } else { "" },
        ),
        json!({
            "id": id,
            "short_id": short,
            "type": accepted.credential_type,
            "format": format,
            "type_name_zh": accepted.type_name_zh,
            "type_name_en": accepted.type_name_en,
            "issuer_department": accepted.issuer_department,
            "checkpoint_height": accepted.checkpoint_height,
            "expires_at": accepted.expires_at,
            "holder_key_index": key_index,
            "issued_by": by,
        }),
    ))
}
