//! The commands. Each returns an [`Output`]: human text, a JSON value and notices for stderr.

use std::fmt::Write as _;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::bundle::{Bundle, LinkedBundle, LinkedCredential, Presentation, Proofs};
use certledger_core::codec::Encode as _;
use certledger_core::credential_file::CredentialFile;
use certledger_core::ledger::{self, VerifierRecord};
use certledger_core::profiles;
use certledger_core::pseudonym::{LinkProof, PseudonymProof};
use certledger_core::request::PresentationRequest;
use certledger_core::sdjwt::{self, SdJwt};
use certledger_core::verify::{self, Invalid, Policy, TrustRoot, Verdict};
use rand::RngCore as _;
use serde_json::{json, Value};

use crate::error::{
    keystore, network, refused, usage, CmdResult, Failure, Kind, Reason, ResultExt as _,
};
use crate::node::{self, HttpNode, ProofSource, StateProofJson};
use crate::store::{StoredCredential, Wallet, WalletData};
use crate::{card, qr, Ctx, Lang, PresentArgs, PrintArgs, VerifyArgs};

/// Largest input file read (requests, trust roots, credential files, bundles), in bytes.
const MAX_INPUT_BYTES: u64 = 512 * 1024;
/// Largest PNG read for QR decoding, in bytes.
const MAX_PNG_BYTES: u64 = 16 * 1024 * 1024;
/// Oldest checkpoint accepted from a node on refresh or `present --node`, in seconds.
const FRESH_CHECKPOINT_AGE_S: u64 = 24 * 3600;
/// Oldest verifier-registry checkpoint accepted, in seconds.
const VERIFIER_RECORD_AGE_S: u64 = 7 * 24 * 3600;
/// Clock skew tolerated on request times, in seconds.
const REQUEST_SKEW_S: u64 = 60;

/// What a command produced.
pub struct Output {
    /// Human-readable text for stdout.
    pub text: String,
    /// The `--json` value.
    pub json: Value,
    /// Notices for stderr (warnings, hints).
    pub notices: Vec<String>,
}

impl Output {
    pub(crate) fn new(text: String, json: Value) -> Self {
        Self { text, json, notices: Vec::new() }
    }
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn read_input(path: &Path, max: u64) -> CmdResult<Vec<u8>> {
    let meta = std::fs::metadata(path)
        .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
    if meta.len() > max {
        return Err(usage(format!("{} is larger than {max} bytes", path.display())));
    }
    std::fs::read(path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))
}

fn read_text(path: &Path) -> CmdResult<String> {
    String::from_utf8(read_input(path, MAX_INPUT_BYTES)?)
        .map_err(|_| usage(format!("{} is not UTF-8 text", path.display())))
}

fn open_wallet(ctx: &Ctx) -> CmdResult<Wallet> {
    if !ctx.wallet_path.exists() {
        return Err(keystore(format!(
            "no wallet at {}: run `certledger-wallet init` first",
            ctx.wallet_path.display()
        )));
    }
    let pass = ctx.passphrase.read(false)?;
    Wallet::open(&ctx.wallet_path, &pass)
}

fn ensure_dir(path: &Path) -> CmdResult<()> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).kind(Kind::Keystore, "cannot create the wallet directory")
}

/// A UTC date `YYYY-MM-DD` for Unix seconds.
fn date(unix: u64) -> String {
    let days = i64::try_from(unix / 86400).unwrap_or(0);
    // Civil-from-days (proleptic Gregorian), after H. Hinnant's public-domain algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn type_name(type_id: &str, lang: Lang) -> String {
    match (profiles::by_id(type_id), lang) {
        (Some(p), Lang::Zh) => p.name_zh.to_owned(),
        (Some(p), Lang::En) => p.name_en.to_owned(),
        (None, _) => type_id.to_owned(),
    }
}

fn claim_label(type_id: &str, claim: &str, lang: Lang) -> String {
    match (profiles::by_id(type_id).and_then(|p| p.claim(claim)), lang) {
        (Some(c), Lang::Zh) => c.label_zh.to_owned(),
        (Some(c), Lang::En) => c.label_en.to_owned(),
        (None, _) => claim.to_owned(),
    }
}

fn status_text(status: &str, lang: Lang) -> &'static str {
    match (status, lang) {
        ("active", Lang::Zh) => "有效",
        ("active", Lang::En) => "active",
        ("revoked", Lang::Zh) => "已撤销",
        ("revoked", Lang::En) => "revoked",
        ("suspended", Lang::Zh) => "已暂停",
        ("suspended", Lang::En) => "suspended",
        ("expired", Lang::Zh) => "已过期",
        ("expired", Lang::En) => "expired",
        (_, Lang::Zh) => "无效",
        (_, Lang::En) => "invalid",
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The status a refusal reason means for a stored credential, if it is a status at all.
fn status_of(invalid: &Invalid) -> Option<&'static str> {
    match invalid {
        Invalid::Revoked { .. } => Some("revoked"),
        Invalid::Suspended { .. } => Some("suspended"),
        Invalid::Expired => Some("expired"),
        _ => None,
    }
}

/// The effective status now: the stored status, or `expired` once past expiry.
pub(crate) fn effective_status(c: &StoredCredential, now: u64) -> String {
    if c.status == "active" && c.expires_at.is_some_and(|exp| now >= exp) {
        return "expired".to_owned();
    }
    c.status.clone()
}

// ---------------------------------------------------------------------------------------------
// init, backup, restore, trust

/// `init`.
pub fn init(ctx: &Ctx) -> CmdResult<Output> {
    if ctx.wallet_path.exists() {
        return Err(usage(format!(
            "a wallet already exists at {}; nothing was changed",
            ctx.wallet_path.display()
        )));
    }
    let pass = ctx.passphrase.read(true)?;
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(seed.as_mut());
    let mut secret = zeroize::Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(secret.as_mut());
    let holder = certledger_core::sig::SecretKey::from_seed(&seed);
    let data = WalletData {
        version: 1,
        holder_seed: URL_SAFE_NO_PAD.encode(seed.as_ref()),
        wallet_secret: URL_SAFE_NO_PAD.encode(secret.as_ref()),
        created_at: now(),
        trust_root: None,
        credentials: Vec::new(),
        next_key_index: 0,
        attestation_for_verifier: std::collections::BTreeMap::new(),
    };
    ensure_dir(&ctx.wallet_path)?;
    let wallet = Wallet::create(ctx.wallet_path.clone(), &pass, data)?;
    let public = hex::encode(holder.public_key().0);
    let kdf = wallet.kdf();
    let text = format!(
        "Wallet created at {}\n钱包已创建\nholder key: {public}\nArgon2id: {} KiB, {} passes, {} lanes\n",
        ctx.wallet_path.display(),
        kdf.m_kib,
        kdf.t,
        kdf.p
    );
    let json = json!({
        "wallet": ctx.wallet_path.display().to_string(),
        "holder_key": public,
        "kdf": { "algorithm": "argon2id", "m_kib": kdf.m_kib, "t": kdf.t, "p": kdf.p },
    });
    Ok(Output::new(text, json))
}

/// `backup --out FILE`.
pub fn backup(ctx: &Ctx, out: &Path) -> CmdResult<Output> {
    if out.exists() {
        return Err(usage(format!("{} already exists; choose another file", out.display())));
    }
    // Opening proves the passphrase and the file's integrity before it is copied.
    let _wallet = open_wallet(ctx)?;
    let bytes = crate::keystore::read_bounded(&ctx.wallet_path, Kind::Keystore)?;
    crate::keystore::write_atomic(out, &bytes)?;
    Ok(Output::new(
        format!("Encrypted backup written to {}\n备份已写入\n", out.display()),
        json!({ "backup": out.display().to_string(), "bytes": bytes.len() }),
    ))
}

/// `restore FILE [--force]`.
pub fn restore(ctx: &Ctx, file: &Path, force: bool) -> CmdResult<Output> {
    let bytes = crate::keystore::read_bounded(file, Kind::Usage)?;
    if ctx.wallet_path.exists() && !force {
        return Err(usage(format!(
            "a wallet already exists at {}; pass --force to replace it (nothing was changed)",
            ctx.wallet_path.display()
        )));
    }
    let pass = ctx.passphrase.read(false)?;
    let (_, plain) = crate::keystore::open(&bytes, pass.as_bytes())?;
    let data = crate::store::parse_payload(&plain)?;
    let n = data.credentials.len();
    ensure_dir(&ctx.wallet_path)?;
    crate::keystore::write_atomic(&ctx.wallet_path, &bytes)?;
    Ok(Output::new(
        format!("Wallet restored to {} ({n} credentials)\n钱包已恢复\n", ctx.wallet_path.display()),
        json!({ "wallet": ctx.wallet_path.display().to_string(), "credentials": n }),
    ))
}

/// `trust set FILE`.
pub fn trust_set(ctx: &Ctx, file: &Path) -> CmdResult<Output> {
    let text = read_text(file)?;
    let root = TrustRoot::from_json(&text).kind(Kind::Usage, "the trust root is unusable")?;
    let mut wallet = open_wallet(ctx)?;
    wallet.data.trust_root = Some(root.to_json());
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
    let root = wallet.trust_root()?;
    let json: Value = serde_json::from_str(&root.to_json()).unwrap_or(Value::Null);
    Ok(Output::new(format!("{}\n", root.to_json()), json!({ "trust_root": json })))
}

/// `identity keys --count N --out FILE`.
pub fn identity_keys(ctx: &Ctx, count: u32, out: &Path) -> CmdResult<Output> {
    let mut wallet = open_wallet(ctx)?;
    crate::identity::keys(&mut wallet, count, out)
}

// ---------------------------------------------------------------------------------------------
// import, list, show

/// `import FILE`.
pub fn import(ctx: &Ctx, file: &Path, max_checkpoint_age_s: u64) -> CmdResult<Output> {
    let text = read_text(file)?;
    let mut wallet = open_wallet(ctx)?;
    let trust_root = wallet.trust_root()?;
    let cred = CredentialFile::from_json(&text).map_err(|e| {
        refused(
            "malformed_credential_file",
            format!("the credential file is invalid: {e}"),
            "证照文件格式错误或已损坏",
        )
    })?;
    if cred.chain_id != trust_root.chain_id {
        return Err(Failure::refused(Reason::from_invalid(&Invalid::WrongLedger)));
    }
    let now = now();
    let accepted = match verify::verify_credential(
        &cred.sd_jwt,
        &cred.proofs,
        &trust_root,
        max_checkpoint_age_s,
        now,
    ) {
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
    let issued = sdjwt::verify_issued(&cred.sd_jwt, &cred.proofs.credential_record.issuer_key)
        .map_err(|_| {
            refused("malformed_credential", "the credential could not be read", "证照无法读取")
        })?;
    // The wallet's main holder key, or one of its batch keys (`identity keys`).
    let key_index = match issued.holder_key.map(|k| wallet.whose_key(&k)).transpose()?.flatten() {
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
        proofs: String::new(),
        status: "active".to_owned(),
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
    wallet.data.credentials.push(stored);
    wallet.save()?;
    let name = type_name(&accepted.credential_type, ctx.lang);
    Ok(Output::new(
        format!("Imported {name} ({short})\n已导入：{}\n", accepted.type_name_zh),
        json!({
            "id": id,
            "short_id": short,
            "type": accepted.credential_type,
            "type_name_zh": accepted.type_name_zh,
            "type_name_en": accepted.type_name_en,
            "issuer_department": accepted.issuer_department,
            "checkpoint_height": accepted.checkpoint_height,
            "expires_at": accepted.expires_at,
            "holder_key_index": key_index,
        }),
    ))
}

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
        let status = effective_status(c, now);
        let expiry = c.expires_at.map_or_else(|| "-".to_owned(), date);
        let _ = writeln!(
            text,
            "{}  {}  {}  {} {}  {} {}",
            c.short_id(),
            type_name(&c.type_id, ctx.lang),
            status_text(&status, ctx.lang),
            match ctx.lang {
                Lang::Zh => "有效期至",
                Lang::En => "expires",
            },
            expiry,
            match ctx.lang {
                Lang::Zh => "状态截至",
                Lang::En => "status as of",
            },
            date(c.checkpoint_time),
        );
        items.push(credential_json(c, now, ctx.lang));
    }
    Ok(Output::new(text, json!({ "credentials": items })))
}

fn credential_json(c: &StoredCredential, now: u64, lang: Lang) -> Value {
    json!({
        "id": c.id,
        "short_id": c.short_id(),
        "type": c.type_id,
        "type_name": type_name(&c.type_id, lang),
        "type_name_zh": type_name(&c.type_id, Lang::Zh),
        "type_name_en": type_name(&c.type_id, Lang::En),
        "issuer_department": c.issuer_department,
        "status": effective_status(c, now),
        "status_reason": c.status_reason,
        "status_as_of": c.checkpoint_time,
        "checkpoint_height": c.checkpoint_height,
        "checked_at": c.checked_at,
        "expires_at": c.expires_at,
    })
}

/// A claim of a stored credential.
struct ClaimView {
    name: String,
    value: Value,
    disclosable: bool,
}

fn claims_of(c: &StoredCredential) -> CmdResult<Vec<ClaimView>> {
    let proofs = c.proofs()?;
    let verified = sdjwt::verify_issued(&c.sd_jwt, &proofs.credential_record.issuer_key)
        .map_err(|_| keystore("a stored credential cannot be read"))?;
    let profile = profiles::by_id(&c.type_id);
    let mut out = Vec::new();
    let names: Vec<String> = match profile {
        Some(p) => p.claims.iter().map(|d| d.name.to_owned()).collect(),
        None => verified.disclosed.clone(),
    };
    for name in names {
        if let Some(value) = verified.claims.get(&name) {
            let disclosable = verified.disclosed.iter().any(|d| d == &name);
            out.push(ClaimView { name, value: value.clone(), disclosable });
        }
    }
    Ok(out)
}

/// `show ID`.
pub fn show(ctx: &Ctx, id: &str) -> CmdResult<Output> {
    let wallet = open_wallet(ctx)?;
    let c =
        wallet.data.credentials.get(wallet.find(id)?).ok_or_else(|| usage("no such credential"))?;
    let now = now();
    let claims = claims_of(c)?;
    let status = effective_status(c, now);
    let mut text = String::new();
    let zh = ctx.lang == Lang::Zh;
    let _ = writeln!(text, "{}  ({})", type_name(&c.type_id, ctx.lang), c.type_id);
    let _ = writeln!(text, "{}: {}", if zh { "编号" } else { "id" }, c.id);
    let _ = writeln!(text, "{}: {}", if zh { "签发部门" } else { "issuer" }, c.issuer_department);
    let _ = writeln!(
        text,
        "{}: {} ({} {}, {} {})",
        if zh { "状态" } else { "status" },
        status_text(&status, ctx.lang),
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
        "{}:",
        if zh { "信息（* 可选择性出示）" } else { "claims (* selectively disclosable)" }
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

// ---------------------------------------------------------------------------------------------
// present

fn read_request(arg: &str) -> CmdResult<PresentationRequest> {
    let path = Path::new(arg);
    let text = if arg.len() < 4096 && path.is_file() {
        let bytes = read_input(path, MAX_PNG_BYTES)?;
        if bytes.starts_with(b"\x89PNG") {
            let img = image::load_from_memory(&bytes)
                .map_err(|e| usage(format!("cannot read the request PNG: {e}")))?
                .to_luma8();
            qr::decode_image(&img)
                .into_iter()
                .find(|t| t.trim_start().starts_with("CLR1."))
                .ok_or_else(|| usage("no request QR code found in the PNG"))?
        } else {
            String::from_utf8(bytes).map_err(|_| usage("the request file is not UTF-8"))?
        }
    } else {
        arg.to_owned()
    };
    let trimmed = text.trim();
    let parsed = if trimmed.starts_with("CLR1.") {
        PresentationRequest::from_text(trimmed)
    } else if trimmed.starts_with('{') {
        PresentationRequest::from_json(trimmed)
    } else {
        return Err(usage("--request must be a file, request JSON or CLR1. text"));
    };
    parsed.map_err(|e| usage(format!("the request is invalid: {e}")))
}

/// Claims the verifier may ask for under its registration: the purpose whose id equals the
/// request's purpose (or its first word); else the union of all its purposes.
fn allowed_claims(record: &VerifierRecord, purpose: &str) -> (Option<String>, Vec<String>) {
    let first_word = purpose.split_whitespace().next().unwrap_or_default();
    if let Some(p) = record.0.purposes.iter().find(|p| p.id == purpose || p.id == first_word) {
        return (Some(p.id.clone()), p.claims.clone());
    }
    let mut all: Vec<String> = record.0.purposes.iter().flat_map(|p| p.claims.clone()).collect();
    all.sort();
    all.dedup();
    (None, all)
}

fn fetch_fresh(
    source: &dyn ProofSource,
    c: &mut StoredCredential,
    trust_root: &TrustRoot,
    now: u64,
) -> CmdResult<Result<(), Invalid>> {
    let id: [u8; 32] = URL_SAFE_NO_PAD
        .decode(&c.id)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| keystore("a stored credential id is malformed"))?;
    let proofs = source.credential_proofs(&id)?;
    let verdict =
        verify::verify_credential(&c.sd_jwt, &proofs, trust_root, FRESH_CHECKPOINT_AGE_S, now)
            .map_err(|e| network(format!("the node served undecidable proofs: {e}")))?;
    match verdict {
        Verdict::Valid(a) => {
            c.set_proofs(&proofs);
            c.status = "active".to_owned();
            c.status_reason = None;
            c.checkpoint_height = a.checkpoint_height;
            c.checkpoint_time = a.checkpoint_time;
            c.checked_at = now;
            Ok(Ok(()))
        }
        Verdict::Invalid(invalid) => match status_of(&invalid) {
            Some(status) => {
                // The status itself is proven under a quorum checkpoint: record it.
                c.set_proofs(&proofs);
                c.status = status.to_owned();
                c.status_reason = Some(invalid.code().to_owned());
                c.checked_at = now;
                if let Some(cp) = checkpoint_of(&proofs, trust_root) {
                    c.checkpoint_height = cp.0;
                    c.checkpoint_time = cp.1;
                }
                Ok(Err(invalid))
            }
            None => Err(network(format!(
                "the node served proofs that do not verify: {invalid} ({})",
                invalid.code()
            ))),
        },
    }
}

fn checkpoint_of(proofs: &Proofs, trust_root: &TrustRoot) -> Option<(u64, u64)> {
    let quorum = certledger_core::note::Quorum {
        origin: trust_root.chain_id.clone(),
        keys: trust_root.keys.clone(),
        threshold: trust_root.threshold,
    };
    let cp = certledger_core::note::verify_checkpoint(&proofs.checkpoint, &quorum).ok()?;
    Some((cp.height, cp.time))
}

#[allow(clippy::print_stderr)]
fn confirm(summary: &str) -> CmdResult<()> {
    if !std::io::stdin().is_terminal() {
        return Err(usage("confirmation needs a terminal: review the request and pass --yes"));
    }
    eprint!("{summary}Disclose? 是否出示？ [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| usage(format!("cannot read the answer: {e}")))?;
    if matches!(line.trim(), "y" | "Y" | "yes" | "是") {
        Ok(())
    } else {
        Err(refused("declined", "the citizen declined the request", "持有人拒绝了此请求"))
    }
}

fn png_paths(base: &Path, n: usize) -> Vec<PathBuf> {
    if n <= 1 {
        return vec![base.to_owned()];
    }
    let stem = base.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let ext = base.extension().map(|s| s.to_string_lossy().into_owned()).unwrap_or("png".into());
    (1..=n).map(|i| base.with_file_name(format!("{stem}-{i}.{ext}"))).collect()
}

fn write_png(path: &Path, img: &image::GrayImage) -> CmdResult<()> {
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .kind(Kind::Usage, "cannot encode the PNG")?;
    crate::keystore::write_atomic(path, &bytes).map_err(|f| Failure::new(Kind::Usage, f.error))
}

/// `present`.
pub fn present(ctx: &Ctx, args: &PresentArgs) -> CmdResult<Output> {
    let request = read_request(&args.request)?;
    let now = now();
    request.check_time(now, REQUEST_SKEW_S).map_err(|e| {
        refused(
            "request_expired",
            format!("the request is not valid now: {e}"),
            "请求已过期或尚未生效",
        )
    })?;
    request.check_against_profiles().map_err(|e| {
        refused("bad_request", format!("the request is invalid: {e}"), "请求内容无效")
    })?;
    let mut wallet = open_wallet(ctx)?;
    let trust_root = wallet.trust_root()?;
    let source = args.node.as_deref().map(HttpNode::new).transpose()?;
    let mut notices = Vec::new();

    // Which credential: for an identity request, this verifier's copy of the attestation batch.
    let candidates: Vec<usize> = wallet
        .data
        .credentials
        .iter()
        .enumerate()
        .filter(|(_, c)| request.credential_types().iter().any(|t| t == &c.type_id))
        .map(|(i, _)| i)
        .collect();
    let identity_type = crate::identity::attestation_type();
    let mut newly_assigned = false;
    let index = match &args.credential {
        Some(id) => {
            let i = wallet.find(id)?;
            if !candidates.contains(&i) {
                return Err(refused(
                    "type_not_requested",
                    "the verifier does not ask for this credential type",
                    "核验方未请求此类证照",
                ));
            }
            let c = wallet.data.credentials.get(i).ok_or_else(|| usage("no such credential"))?;
            let others = crate::identity::other_verifiers(&wallet, &c.id, request.verifier_id());
            if c.type_id == identity_type && !others.is_empty() {
                notices.push(format!(
                    "warning: this attestation copy is also shown to {}; those verifiers can                      link this presentation to theirs
注意：此身份认证凭证副本也曾出示给其他核验方",
                    others.join(", ")
                ));
            }
            i
        }
        None => {
            let identity_requested = request.credential_types().iter().any(|t| t == identity_type);
            let has_copy = candidates.iter().any(|i| {
                wallet.data.credentials.get(*i).is_some_and(|c| c.type_id == identity_type)
            });
            if identity_requested && has_copy {
                let (i, assigned) =
                    crate::identity::copy_for_verifier(&mut wallet, request.verifier_id(), now)?;
                newly_assigned = assigned;
                i
            } else {
                match candidates.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(refused(
                            "no_matching_credential",
                            "no credential in this wallet is of a requested type",
                            "钱包中没有所请求类型的证照",
                        ))
                    }
                    _ => {
                        return Err(usage(
                            "several credentials match: choose one with --credential ID",
                        ))
                    }
                }
            }
        }
    };
    // Credentials presented together with it (`--with`), each of a requested type.
    let mut with = Vec::new();
    for id in args.with.iter().flatten() {
        let i = wallet.find(id)?;
        if i == index || with.contains(&i) {
            return Err(usage(format!("--with {id}: that credential is already presented")));
        }
        if !candidates.contains(&i) {
            return Err(refused(
                "type_not_requested",
                format!("--with {id}: the verifier does not ask for this credential type"),
                "核验方未请求此类证照",
            ));
        }
        with.push(i);
    }
    if with.len() > certledger_core::bundle::MAX_LINKED as usize {
        return Err(usage("at most 4 credentials can be presented together with the main one"));
    }

    // The verifier registry.
    let proven = match (&args.verifier_record, &source) {
        (Some(path), _) => {
            let json: StateProofJson = serde_json::from_str(&read_text(path)?)
                .map_err(|e| usage(format!("the verifier record file is malformed: {e}")))?;
            Some(node::check_verifier_proof(
                &json,
                request.verifier_id(),
                &trust_root,
                VERIFIER_RECORD_AGE_S,
                now,
            )?)
        }
        (None, Some(src)) => {
            let json = src.state(&ledger::verifier_state_key(request.verifier_id()))?;
            Some(node::check_verifier_proof(
                &json,
                request.verifier_id(),
                &trust_root,
                VERIFIER_RECORD_AGE_S,
                now,
            )?)
        }
        (None, None) => {
            notices.push(
                "warning: the verifier registry was not checked (give --node or --verifier-record)\n\
                 注意：未核对核验方登记信息"
                    .to_owned(),
            );
            None
        }
    };
    let mut verifier_name = None;
    let mut matched_purpose = None;
    if let Some(p) = &proven {
        let Some(record) = &p.record else {
            return Err(refused(
                "verifier_not_registered",
                format!("verifier {} is not registered on the ledger", request.verifier_id()),
                format!("核验方 {} 未在账本上登记", request.verifier_id()),
            ));
        };
        let (purpose, allowed) = allowed_claims(record, request.purpose());
        let over: Vec<&String> = request.claims().iter().filter(|c| !allowed.contains(c)).collect();
        if !over.is_empty() {
            let list = over.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
            return Err(refused(
                "over_asking",
                format!(
                    "the verifier asks for claims its registered purpose does not allow: {list}"
                ),
                format!("核验方请求了其登记用途不允许的信息：{list}"),
            ));
        }
        if purpose.is_none() {
            notices.push(
                "notice: the request's purpose is not a registered purpose id; checked against all \
                 of the verifier's registered purposes"
                    .to_owned(),
            );
        }
        verifier_name = Some((record.0.name_zh.clone(), record.0.name_en.clone()));
        matched_purpose = purpose;
    }

    // Fresh proofs, or the stored ones.
    let mut chosen_creds = Vec::new();
    for i in core::iter::once(index).chain(with.iter().copied()) {
        let cred = wallet.data.credentials.get_mut(i).ok_or_else(|| usage("no such credential"))?;
        if let Some(src) = &source {
            let outcome = fetch_fresh(src, cred, &trust_root, now)?;
            wallet.save()?;
            if let Err(invalid) = outcome {
                return Err(Failure::refused(Reason::from_invalid(&invalid)));
            }
        }
        let cred = wallet.data.credentials.get(i).ok_or_else(|| usage("no such credential"))?;
        let status = effective_status(cred, now);
        if status != "active" {
            return Err(refused(
                &status,
                format!("credential {} is {status} as of its latest proofs", cred.short_id()),
                format!("此证照状态为：{}", status_text(&status, Lang::Zh)),
            ));
        }
        if now.saturating_sub(cred.checkpoint_time) > FRESH_CHECKPOINT_AGE_S {
            notices.push(format!(
                "warning: the stored proofs are from {}; verifiers accept checkpoints up to 24 hours \
                 old by default: run `refresh --node URL` or pass --node\n注意：状态证明已超过 24 小时，请刷新",
                date(cred.checkpoint_time)
            ));
        }
        chosen_creds.push(cred.clone());
    }

    // What to disclose: each requested claim from the first credential (main, then `--with`
    // in order) that has it.
    let chosen: Vec<String> = match &args.disclose {
        None => request.claims().to_vec(),
        Some(list) => {
            for c in list {
                if !request.claims().contains(c) {
                    return Err(usage(format!("--disclose {c}: the verifier did not ask for it")));
                }
            }
            let mut l = list.clone();
            l.sort();
            l.dedup();
            l
        }
    };
    let mut views = Vec::new();
    for cred in &chosen_creds {
        views.push(claims_of(cred)?);
    }
    let mut to_disclose: Vec<Vec<&str>> = vec![Vec::new(); chosen_creds.len()];
    let mut shown: Vec<Vec<(&str, String)>> = vec![Vec::new(); chosen_creds.len()];
    for name in &chosen {
        let found = views
            .iter()
            .enumerate()
            .find_map(|(k, claims)| claims.iter().find(|c| &c.name == name).map(|c| (k, c)));
        match found {
            Some((k, c)) => {
                if c.disclosable {
                    if let Some(list) = to_disclose.get_mut(k) {
                        list.push(&c.name);
                    }
                }
                if let Some(list) = shown.get_mut(k) {
                    list.push((&c.name, value_text(&c.value)));
                }
            }
            None => {
                return Err(refused(
                    "claim_unavailable",
                    format!("the credential has no claim {name}"),
                    format!("此证照不包含所请求的信息：{name}"),
                ))
            }
        }
    }

    // The pseudonym: for an identity attestation, when the audience is the verifier id (the
    // pseudonym is derived from the audience, which a verifier could otherwise set to another
    // verifier's id to learn the citizen's pseudonym there).
    let cred = chosen_creds.first().ok_or_else(|| usage("no credential"))?.clone();
    let main_key = wallet.key_for(&cred)?;
    let nonce = request.nonce_b64();
    let audience = request.audience();
    let mut pseudonym = None;
    if cred.type_id == identity_type && !args.no_pseudonym {
        if audience != request.verifier_id() {
            notices.push(
                "notice: no pseudonym: the request's audience differs from its verifier id\n\
                 注意：请求的受众与核验方标识不同，未附专用化名"
                    .to_owned(),
            );
        } else {
            match PseudonymProof::create(
                &*wallet.wallet_secret()?,
                audience,
                &nonce,
                &main_key.public_key(),
            ) {
                Ok(proof) => pseudonym = Some(proof),
                Err(e) => notices.push(format!("notice: no pseudonym for this audience: {e}")),
            }
        }
    }
    let pseudonym_text = pseudonym.map(|p| URL_SAFE_NO_PAD.encode(p.pseudonym.0));

    // Show the citizen what is asked.
    let mut summary = String::new();
    let _ = writeln!(summary, "Verifier 核验方: {}", request.verifier_id());
    if let Some((zh, en)) = &verifier_name {
        let _ = writeln!(summary, "  registered as 登记名称: {zh} / {en}");
    }
    let _ = writeln!(summary, "Purpose 用途: {}", request.purpose());
    let _ = writeln!(summary, "Audience 受众: {}", request.audience());
    for (k, (c, claims)) in chosen_creds.iter().zip(&shown).enumerate() {
        let _ = writeln!(
            summary,
            "{} 证照: {} / {}",
            if k == 0 { "Credential" } else { "Together with" },
            type_name(&c.type_id, Lang::Zh),
            type_name(&c.type_id, Lang::En)
        );
        if k == 0 && c.type_id == identity_type {
            let copy = c.key_index.map_or_else(|| "main key".to_owned(), |i| format!("key #{i}"));
            let _ = writeln!(summary, "  attestation copy 凭证副本: {} ({copy})", c.short_id());
        }
        let _ = writeln!(summary, "  Claims disclosed 出示的信息:");
        for (name, value) in claims {
            let _ = writeln!(
                summary,
                "    {} / {}: {value}",
                claim_label(&c.type_id, name, Lang::Zh),
                claim_label(&c.type_id, name, Lang::En)
            );
        }
    }
    if let Some(p) = &pseudonym_text {
        let _ = writeln!(summary, "Pseudonym for this verifier 专用化名: {p}");
    }
    if !args.yes {
        confirm(&summary)?;
    }

    // Build the bundle: every presentation bound to the same nonce and audience.
    let mut presentations = Vec::new();
    for (c, disclose) in chosen_creds.iter().zip(&to_disclose) {
        let key = wallet.key_for(c)?;
        let sd = SdJwt::parse(&c.sd_jwt)
            .map_err(|_| keystore("a stored credential cannot be parsed"))?;
        let text = sd.present(disclose, &key, &nonce, audience, now).map_err(|e| {
            refused(
                "cannot_present",
                format!("cannot build the presentation: {e}"),
                "无法生成出示内容",
            )
        })?;
        presentations.push((key, text, c.proofs()?));
    }
    let mut items = presentations.into_iter();
    let (_, main_text, main_proofs) = items.next().ok_or_else(|| usage("no credential"))?;
    let mut linked = Vec::new();
    for (key, text, proofs) in items {
        let link = if key.public_key() == main_key.public_key() {
            None
        } else {
            Some(LinkProof::create(&main_key, &key, audience, &nonce).map_err(|e| {
                refused(
                    "cannot_present",
                    format!("cannot link the credentials: {e}"),
                    "无法关联证照",
                )
            })?)
        };
        linked.push(LinkedCredential { presentation: Presentation::SdJwt(text), proofs, link });
    }
    let bundle = LinkedBundle {
        main: Bundle { presentation: Presentation::SdJwt(main_text), proofs: main_proofs },
        pseudonym,
        linked,
    };
    if bundle.to_bytes().len() > certledger_core::bundle::MAX_BUNDLE_BYTES {
        return Err(usage("the bundle would be larger than 64 KiB: present fewer credentials"));
    }
    let text = bundle.to_text();
    // Self-check with the browser's pipeline and a default policy for this request.
    let mut policy = Policy::new(&nonce, request.audience());
    policy.required_claims = chosen.clone();
    match verify::verify_linked(&bundle, &trust_root, &policy, now) {
        Ok(Verdict::Valid(_)) => {}
        Ok(Verdict::Invalid(invalid)) => notices.push(format!(
            "warning: a verifier with the default policy would refuse this bundle: {invalid} / {}",
            invalid.message_zh()
        )),
        Err(e) => notices.push(format!("warning: the bundle could not be self-checked: {e}")),
    }
    if newly_assigned {
        // This verifier keeps this attestation copy from now on.
        wallet.save()?;
    }

    // Write it out: text file, PNG(s), terminal.
    let mut out_text = text.clone();
    out_text.push('\n');
    crate::keystore::write_atomic(&args.out, out_text.as_bytes())
        .map_err(|f| Failure::new(Kind::Usage, f.error))?;
    let parts = qr::split(&text)?;
    let paths = png_paths(&args.png, parts.len());
    let mut terminal = String::new();
    for (part, path) in parts.iter().zip(&paths) {
        let code = qr::encode(part)?;
        write_png(path, &qr::to_image(&code))?;
        if !args.no_terminal_qr && !ctx.json {
            terminal.push_str(&qr::to_terminal(&code));
            terminal.push('\n');
        }
    }
    let mut human = summary;
    let _ = writeln!(
        human,
        "Bundle written to {} ({} bytes); QR: {}\n出示内容已生成",
        args.out.display(),
        text.len(),
        paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    );
    human.push_str(&terminal);
    let json = json!({
        "bundle_file": args.out.display().to_string(),
        "bundle_bytes": text.len(),
        "png": paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "qr_parts": parts.len(),
        "credential": cred.id,
        "holder_key_index": cred.key_index,
        "linked": chosen_creds.iter().skip(1).map(|c| c.id.clone()).collect::<Vec<_>>(),
        "pseudonym": pseudonym_text,
        "verifier_id": request.verifier_id(),
        "verifier_registry_checked": proven.is_some(),
        "verifier_record_as_of": proven.as_ref().map(|p| p.checkpoint_time),
        "matched_purpose": matched_purpose,
        "audience": request.audience(),
        "nonce": nonce,
        "disclosed": chosen,
        "checkpoint_height": cred.checkpoint_height,
    });
    let mut out = Output::new(human, json);
    out.notices = notices;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// refresh

/// `refresh --node URL`.
pub fn refresh(ctx: &Ctx, node_url: &str) -> CmdResult<Output> {
    let source = HttpNode::new(node_url)?;
    refresh_from(ctx, &source)
}

fn refresh_from(ctx: &Ctx, source: &dyn ProofSource) -> CmdResult<Output> {
    let mut wallet = open_wallet(ctx)?;
    let trust_root = wallet.trust_root()?;
    let now = now();
    let mut text = String::new();
    let mut items = Vec::new();
    let mut first_error: Option<Failure> = None;
    for c in &mut wallet.data.credentials {
        let outcome = fetch_fresh(source, c, &trust_root, now);
        let (line, item) = match outcome {
            Ok(Ok(())) => ("active".to_owned(), json!({ "id": c.id, "status": "active" })),
            Ok(Err(invalid)) => (
                format!("{} ({})", c.status, invalid.code()),
                json!({ "id": c.id, "status": c.status, "reason": invalid.code(),
                        "message_en": invalid.to_string(), "message_zh": invalid.message_zh() }),
            ),
            Err(f) => {
                let msg = format!("{:#}", f.error);
                let item = json!({ "id": c.id, "status": c.status, "error": msg });
                first_error.get_or_insert(f);
                (format!("not refreshed: {msg}"), item)
            }
        };
        let _ = writeln!(text, "{}  {}  {}", c.short_id(), type_name(&c.type_id, ctx.lang), line);
        items.push(item);
    }
    // Keep whatever was refreshed, even when another credential failed.
    wallet.save()?;
    if let Some(f) = first_error {
        return Err(Failure::new(
            f.kind,
            f.error.context("refresh incomplete (other credentials were updated)"),
        ));
    }
    Ok(Output::new(text, json!({ "credentials": items })))
}

// ---------------------------------------------------------------------------------------------
// verify

fn bundle_text_from_inputs(inputs: &[String]) -> CmdResult<String> {
    let mut payloads = Vec::new();
    for input in inputs {
        let path = Path::new(input);
        if input.len() < 4096 && path.is_file() {
            let bytes = read_input(path, MAX_PNG_BYTES)?;
            if bytes.starts_with(b"\x89PNG") {
                let img = image::load_from_memory(&bytes)
                    .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?
                    .to_luma8();
                let found = qr::decode_image(&img);
                if found.is_empty() {
                    return Err(usage(format!("no QR code found in {}", path.display())));
                }
                payloads.extend(found);
            } else {
                let text = String::from_utf8(bytes)
                    .map_err(|_| usage(format!("{} is not UTF-8 text", path.display())))?;
                payloads.push(text.trim().to_owned());
            }
        } else if input.starts_with("CLB1.") || input.starts_with(qr::PART_PREFIX) {
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

// ---------------------------------------------------------------------------------------------
// print

/// `print ID --out FILE.png`.
pub fn print(ctx: &Ctx, args: &PrintArgs) -> CmdResult<Output> {
    let wallet = open_wallet(ctx)?;
    let trust_root = wallet.trust_root()?;
    let cred = wallet
        .data
        .credentials
        .get(wallet.find(&args.id)?)
        .ok_or_else(|| usage("no such credential"))?;
    let now = now();
    let status = effective_status(cred, now);
    if status != "active" {
        return Err(refused(
            &status,
            format!("this credential is {status} as of its latest proofs"),
            format!("此证照状态为：{}", status_text(&status, Lang::Zh)),
        ));
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
    let sd =
        SdJwt::parse(&cred.sd_jwt).map_err(|_| keystore("a stored credential cannot be parsed"))?;
    let presentation = sd.present(&names, &holder, &nonce, &args.audience, now).map_err(|e| {
        refused("cannot_present", format!("cannot build the presentation: {e}"), "无法生成出示内容")
    })?;
    let bundle = Bundle { presentation: Presentation::SdJwt(presentation), proofs: cred.proofs()? };
    let text = bundle.to_text();
    let _ = &trust_root;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_claims_by_purpose() {
        use certledger_core::ledger::{Purpose, RegisterVerifier};
        let purpose = |id: &str, claims: &[&str]| Purpose {
            id: id.to_owned(),
            claims: claims.iter().map(|c| (*c).to_owned()).collect(),
        };
        let record = VerifierRecord(RegisterVerifier {
            verifier_id: "v".to_owned(),
            department: "education".to_owned(),
            name_zh: String::new(),
            name_en: String::new(),
            verifier_key: certledger_core::sig::SecretKey::from_seed(&[1; 32]).public_key(),
            purposes: vec![purpose("a", &["name"]), purpose("b", &["level", "name"])],
        });
        let exact = allowed_claims(&record, "b");
        assert_eq!(exact, (Some("b".to_owned()), vec!["level".to_owned(), "name".to_owned()]));
        assert_eq!(allowed_claims(&record, "a 核验").1, vec!["name".to_owned()]);
        let union = allowed_claims(&record, "核验学历");
        assert_eq!(union, (None, vec!["level".to_owned(), "name".to_owned()]));
    }

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(1_767_225_600), "2026-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
    }
}
