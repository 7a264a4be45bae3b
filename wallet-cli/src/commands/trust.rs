//! `trust set|show|add|list|drop`: the trust list every check uses (`specs/trust-list.md`): a
//! plain trust root set with `trust set` (one ledger) and ledger roots signed by their
//! departments, added with `trust add`.

use std::fmt::Write as _;
use std::path::Path;

use certledger_core::verify::{Added, ListedLedger, TrustList, TrustRoot};
use serde_json::{json, Value};

use super::{open_wallet, read_text, Ctx, Output};
use crate::error::{refused, usage, CmdResult, Kind, ResultExt as _};

/// `trust set FILE`.
pub fn trust_set(ctx: &Ctx, file: &Path) -> CmdResult<Output> {
    let text = read_text(file)?;
    let root = TrustRoot::from_json(&text).kind(Kind::Usage, "the trust root is unusable")?;
    let mut wallet = open_wallet(ctx)?;
    // Keep the departments (names for verdicts) when the file has them.
    wallet.data.trust_root = Some(match TrustRoot::from_json_with_departments(&text) {
        Ok((_, Some(departments))) => root.to_json_with_departments(&departments),
        _ => root.to_json(),
    });
    wallet.save()?;
    Ok(Output::new(
        format!(
            "Trust root set: chain {}, {} of {} department keys\n信任根已设置\n",
            root.chain_id,
            root.threshold,
            root.keys.len()
        ),
        json!({ "chain_id": root.chain_id, "threshold": root.threshold, "keys": root.keys.len() }),
    ))
}

/// `trust show`.
pub fn trust_show(ctx: &Ctx) -> CmdResult<Output> {
    let wallet = open_wallet(ctx)?;
    let Some(root) = wallet.plain_trust_root()? else {
        return Err(usage("no trust root set with `trust set` (see `trust list` for ledgers)"));
    };
    let json: Value = serde_json::from_str(&root.to_json()).unwrap_or(Value::Null);
    Ok(Output::new(format!("{}\n", root.to_json()), json!({ "trust_root": json })))
}

/// `trust add FILE`: one signed ledger root, or each of a trust list's.
pub fn trust_add(ctx: &Ctx, file: &Path) -> CmdResult<Output> {
    let text = read_text(file)?;
    let offered = TrustList::from_json(&text).map_err(|e| {
        refused(e.code(), format!("the ledger root was refused: {e}"), e.message_zh())
    })?;
    if offered.ledgers().any(|l| l.signed.is_none()) {
        return Err(usage(
            "this is a plain trust root, not a signed ledger root: use `trust set FILE` for it",
        ));
    }
    let mut wallet = open_wallet(ctx)?;
    let mut text = String::new();
    let mut items = Vec::new();
    for listed in offered.ledgers() {
        let Some(root) = listed.signed.clone() else { continue };
        let added = wallet.add_ledger_root(root)?;
        let (en, zh, what) = match added {
            Added::New => ("Added", "已加入", "added"),
            Added::Updated => ("Updated", "已更新", "updated"),
            Added::Unchanged => ("Already listed", "已在列表中", "unchanged"),
        };
        let _ = writeln!(
            text,
            "{en}: {} ({}), sequence {}, fingerprint {}\n{zh}：{}（{}），序号 {}",
            listed.name_en,
            listed.root.chain_id,
            listed.sequence(),
            fingerprint(listed),
            listed.name_zh,
            listed.root.chain_id,
            listed.sequence(),
        );
        let mut item = ledger_json(listed);
        item["result"] = Value::from(what);
        items.push(item);
    }
    wallet.save()?;
    Ok(Output::new(text, json!({ "ledgers": items })))
}

/// `trust list`.
pub fn trust_list(ctx: &Ctx) -> CmdResult<Output> {
    let wallet = open_wallet(ctx)?;
    let list = wallet.trust()?;
    let mut text = String::new();
    for l in list.ledgers() {
        let kind = if l.signed.is_some() {
            format!("signed, sequence {} / 已签名，序号 {}", l.sequence(), l.sequence())
        } else {
            "plain trust root (trust set) / 普通信任根".to_owned()
        };
        let _ = writeln!(
            text,
            "{}  {} / {}  {} of {} departments / {} 个部门中需 {} 个  {kind}  {}",
            l.root.chain_id,
            l.name_zh,
            l.name_en,
            l.root.threshold,
            l.root.keys.len(),
            l.root.keys.len(),
            l.root.threshold,
            fingerprint(l),
        );
    }
    let items: Vec<Value> = list.ledgers().map(ledger_json).collect();
    Ok(Output::new(text, json!({ "ledgers": items })))
}

/// `trust drop CHAIN_ID`.
pub fn trust_drop(ctx: &Ctx, chain_id: &str) -> CmdResult<Output> {
    let mut wallet = open_wallet(ctx)?;
    let mut signed = wallet.signed_roots()?;
    let mut dropped = signed.drop_ledger(chain_id);
    wallet.set_signed_roots(&signed);
    if wallet.plain_trust_root()?.is_some_and(|r| r.chain_id == chain_id) {
        wallet.data.trust_root = None;
        dropped = true;
    }
    if !dropped {
        return Err(usage(format!(
            "ledger {chain_id} is not on the trust list / 信任列表中没有此账本"
        )));
    }
    wallet.save()?;
    let stranded = wallet.data.credentials.iter().filter(|c| c.chain_id == chain_id).count();
    Ok(Output::new(
        format!(
            "Dropped ledger {chain_id}; {stranded} stored credential(s) from it can no longer be \
             presented or verified until it is added again\n已移除账本 {chain_id}；\
             钱包中来自该账本的 {stranded} 份证照在重新加入前无法出示或核验\n"
        ),
        json!({ "dropped": chain_id, "stored_credentials_from_it": stranded }),
    ))
}

fn fingerprint(l: &ListedLedger) -> String {
    l.signed.as_ref().map_or_else(|| "-".to_owned(), |s| s.fingerprint())
}

fn ledger_json(l: &ListedLedger) -> Value {
    json!({
        "chain_id": l.root.chain_id,
        "name_zh": l.name_zh,
        "name_en": l.name_en,
        "signed": l.signed.is_some(),
        "sequence": l.sequence(),
        "issued_at": l.signed.as_ref().map(|s| s.issued_at),
        "fingerprint": l.signed.as_ref().map(|s| s.fingerprint()),
        "threshold": l.root.threshold,
        "departments": l.departments.iter().map(|d| json!({
            "id": d.id, "name_zh": d.name_zh, "name_en": d.name_en,
        })).collect::<Vec<_>>(),
    })
}
