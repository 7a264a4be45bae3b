//! `delete ID [--yes]`: erases a credential from the wallet (`specs/erasure.md`).
//!
//! The credential (its SD-JWT: the issuer-signed JWT, every disclosure with its salt and claim
//! value) and its proofs leave the encrypted wallet, which is written back atomically (a fresh
//! file renamed over the old one). What only made sense with the credential goes too: the
//! identity attestation copy a verifier was assigned, and the credential id in the consent
//! history. The consent records themselves stay, because they are the holder's evidence of who
//! asked for what (the verifier's signed request, the purpose, the time, the credential type and
//! the NAMES of the disclosed claims — never their values); the id is replaced by
//! [`ERASED_ID`], so nothing left in the wallet points at the ledger entry.

use std::fmt::Write as _;

use serde_json::json;

use super::{confirm_on_terminal, date, open_wallet, type_name, Ctx, Output};
use crate::cli::Lang;
use crate::error::{usage, CmdResult};
use crate::store::WalletData;

/// What a consent record shows in place of an erased credential's id.
pub const ERASED_ID: &str = "erased";

/// What erasing one credential changed besides removing it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Erased {
    /// Consent records whose credential id was replaced by [`ERASED_ID`].
    pub consent_records: usize,
    /// Verifier ids that had been assigned this attestation copy.
    pub attestation_assignments: usize,
}

/// Removes credential `id` (a full id) and every reference to it from `data`.
pub fn erase(data: &mut WalletData, id: &str) -> Erased {
    let mut erased = Erased::default();
    data.credentials.retain(|c| c.id != id);
    let before = data.attestation_for_verifier.len();
    data.attestation_for_verifier.retain(|_, copy| copy != id);
    erased.attestation_assignments = before - data.attestation_for_verifier.len();
    for record in &mut data.consents {
        let mut touched = false;
        for (cred_id, _type_id) in &mut record.credentials {
            if cred_id == id {
                ERASED_ID.clone_into(cred_id);
                touched = true;
            }
        }
        erased.consent_records += usize::from(touched);
    }
    erased
}

/// `delete ID [--yes]`.
pub fn delete(ctx: &Ctx, id: &str, yes: bool) -> CmdResult<Output> {
    let mut wallet = open_wallet(ctx)?;
    let index = wallet.find(id)?;
    let c = wallet.data.credentials.get(index).ok_or_else(|| usage("no such credential"))?.clone();
    if !yes {
        let question = format!(
            "Delete 删除: {} / {}\n  id 编号: {}\n  issuer 签发部门: {}, imported 导入于 {}\n\
             The credential, its claims and salts are erased from this wallet and cannot be \
             presented again; the ledger keeps only a salted commitment.\n\
             此证照及其信息和盐值将从钱包中永久删除，无法再出示；账本上只留有加盐承诺。\n\
             Delete permanently? 确认永久删除？ [y/N] ",
            type_name(&c.type_id, Lang::Zh),
            type_name(&c.type_id, Lang::En),
            c.id,
            c.issuer_department,
            date(c.imported_at),
        );
        confirm_on_terminal(&question, ("the holder kept the credential", "持有人取消了删除"))?;
    }
    let erased = erase(&mut wallet.data, &c.id);
    wallet.save()?;
    let mut text = String::new();
    match ctx.lang {
        Lang::Zh => {
            let _ = writeln!(
                text,
                "已删除 {}（{}）；{} 条出示记录中的证照编号已抹去（保留核验方、用途、时间和出示的信息名称）",
                type_name(&c.type_id, Lang::Zh),
                c.short_id(),
                erased.consent_records
            );
        }
        Lang::En => {
            let _ = writeln!(
                text,
                "Deleted {} ({}); its id was erased from {} consent record(s) (verifier, purpose, \
                 time and the names of the disclosed claims stay)",
                type_name(&c.type_id, Lang::En),
                c.short_id(),
                erased.consent_records
            );
        }
    }
    let mut out = Output::new(
        text,
        json!({
            "deleted": c.id,
            "type": c.type_id,
            "consent_records_updated": erased.consent_records,
            "attestation_assignments_removed": erased.attestation_assignments,
        }),
    );
    out.notices.push(
        "Backups, printed cards and bundle files (present --out/--png) made before this deletion \
         still hold the credential: destroy them too. / 此前的钱包备份、打印的证照卡和出示文件仍含此证照，请一并销毁。"
            .to_owned(),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ConsentRecord, StoredCredential};

    fn credential(id: &str) -> StoredCredential {
        serde_json::from_value(json!({
            "id": id, "chain_id": "c", "type_id": "t", "issuer_department": "d",
            "sd_jwt": format!("jwt-of-{id}~disclosure-of-{id}~"), "proofs": "", "status": "active",
            "status_reason": null, "checkpoint_height": 1, "checkpoint_time": 1, "checked_at": 1,
            "imported_at": 1, "expires_at": null
        }))
        .expect("credential")
    }

    fn consent(ids: &[&str]) -> ConsentRecord {
        ConsentRecord {
            at: 1,
            request: "CLR1.x".into(),
            verifier_id: "v".into(),
            verifier_name_zh: None,
            verifier_name_en: None,
            purpose: "p".into(),
            registered_purpose: None,
            signature_checked: true,
            registry_as_of: None,
            audience: "a".into(),
            credentials: ids.iter().map(|i| ((*i).to_owned(), "t".to_owned())).collect(),
            disclosed: vec!["name".into()],
            pseudonym: None,
        }
    }

    #[test]
    fn erase_removes_the_credential_and_every_reference_to_it_only() {
        let mut data: WalletData = serde_json::from_value(json!({
            "version": 1, "holder_seed": "", "wallet_secret": "", "created_at": 0,
            "trust_root": null, "credentials": [], "next_key_index": 0,
        }))
        .expect("data");
        data.credentials = vec![credential("AAAA1"), credential("BBBB2")];
        data.attestation_for_verifier.insert("v1".into(), "AAAA1".into());
        data.attestation_for_verifier.insert("v2".into(), "BBBB2".into());
        data.consents = vec![consent(&["AAAA1", "BBBB2"]), consent(&["BBBB2"])];
        let erased = erase(&mut data, "AAAA1");
        assert_eq!(erased, Erased { consent_records: 1, attestation_assignments: 1 });
        let text = serde_json::to_string(&data).expect("json");
        assert!(!text.contains("AAAA1"), "{text}");
        assert!(text.contains("BBBB2"));
        assert_eq!(data.credentials.len(), 1);
        assert_eq!(data.consents.len(), 2, "consent records stay");
        assert_eq!(data.consents[0].credentials[0].0, ERASED_ID);
        assert_eq!(data.consents[0].disclosed, vec!["name".to_owned()]);
    }
}
