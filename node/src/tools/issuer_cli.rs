//! Command-line arguments and output of the issuer commands (`issuer`, `issue`, `issue-batch`,
//! `revoke`, `suspend`, `reinstate`, `audit`); the work is in [`crate::tools::issuer`],
//! [`crate::tools::batch`] and [`crate::tools::audit`].

use std::path::PathBuf;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::didkey;
use certledger_core::ledger::CredentialStatus;
use certledger_core::sig::SecretKey;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::config::KeyFile;
use crate::tools::audit::{self, Target};
use crate::tools::batch::{self, BatchArgs};
use crate::tools::format::CredentialFormat;
use crate::tools::issuer::{
    self, emit, format_time, input, load_key, now_s, parse_credential_id, parse_public_key,
    parse_reason, parse_time, parse_type, IssueArgs, NodeClient, RegisterArgs,
};

/// Options every command that talks to a node takes.
#[derive(Args, Clone, Debug)]
pub struct NodeOpts {
    /// Base URL of a node's HTTP API.
    #[arg(long, value_name = "URL")]
    pub node: String,
    /// Longest wait for a commit or for proofs, in seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub wait_secs: u64,
    /// Print one JSON object instead of text (and no progress bar).
    #[arg(long)]
    pub json: bool,
}

impl NodeOpts {
    fn client(&self) -> anyhow::Result<NodeClient> {
        NodeClient::new(&self.node, Duration::from_secs(self.wait_secs))
    }
}

/// `issuer ...`.
#[derive(Subcommand, Debug)]
pub enum IssuerCmd {
    /// Register an issuer key for a department: the types it may issue and its validity window
    /// (signed by an admin key of the department).
    #[command(after_help = "Examples:\n  \
        certledger-node issuer register --node http://127.0.0.1:8080 --admin-key dept.admin.key.json \\\n    \
        --department market-regulation --new-key-out issuer.key.json --types business-licence \\\n    \
        --valid-until +365d --name-zh 营业执照签发系统 --name-en 'Licence issuing service'\n  \
        certledger-node issuer register ... --issuer did:key:z6Mk... --types diploma,driving-licence\n\n\
        Types: a shipped type's short name (business-licence, driving-licence, diploma,\n\
        identity-attestation) or any registered type id. Times: now, +N/-N[s|m|h|d], Unix seconds,\n\
        RFC 3339 or a date.")]
    Register(RegisterCmd),
    /// Rotate an issuer key: register a new key with the old key's department and types, then
    /// retire the old key at --retire-old-at (credentials it anchored before stay valid).
    #[command(after_help = "Example:\n  \
        certledger-node issuer rotate --node http://127.0.0.1:8080 --admin-key dept.admin.key.json \\\n    \
        --old-key issuer.key.json --new-key-out issuer-2027.key.json --retire-old-at +7d")]
    Rotate(RotateCmd),
    /// Retire an issuer key from a time on (signed by an admin key of its department).
    #[command(after_help = "Example:\n  \
        certledger-node issuer retire --node http://127.0.0.1:8080 --admin-key dept.admin.key.json \\\n    \
        --issuer issuer.key.json --at +1h\n\nThe ledger refuses a retirement time before the block time.")]
    Retire(RetireCmd),
    /// Report an issuer key compromised since a time (signed by the issuer key itself, from now
    /// on only, or by an admin key of its department, which may backdate); credentials it
    /// anchored from then on stop verifying.
    #[command(after_help = "Examples:\n  \
        certledger-node issuer compromise --node http://127.0.0.1:8080 --key issuer.key.json\n  \
        certledger-node issuer compromise --node http://127.0.0.1:8080 --admin-key dept.admin.key.json \\\n    \
        --issuer did:key:z6Mk... --since 2026-03-01T09:30:00Z\n\n\
        自报泄露 (--key) 只能从现在起生效; 追溯到过去的时间须由本部门管理员签署 (--admin-key),\n\
        管理员也可把自报的时间改早。\n\
        A key reports its own compromise (--key) from now on only; a past --since needs an admin\n\
        key of its department (--admin-key), which may also correct a self-declared time to an\n\
        earlier one.")]
    Compromise(CompromiseCmd),
    /// Erase the personal data of a handed-over `issue-batch` (specs/erasure.md): journal rows
    /// keep only credential id, type, entry id, commitment, log index and anchoring time; the
    /// credential files (claims, salts, disclosures) are removed. 个人信息删除：交付后清除签发记录中的
    /// 个人信息，只保留追责所需的编号、承诺和日志位置。
    #[command(after_help = "Examples:\n  \
        certledger-node issuer purge --out-dir ./batch-2026-03 --yes\n  \
        certledger-node issuer purge --out-dir ./batch-2026-03 --input rows.csv --yes\n\n\
        Rows not yet handed over (no credential file written) are kept so that the batch can be\n\
        finished. With --input the batch's input file is removed too (its SHA-256 must match\n\
        the journal). Irreversible: --yes is required. 不可恢复，须加 --yes。")]
    Purge(PurgeCmd),
}

/// `issuer purge`.
#[derive(Args, Debug)]
pub struct PurgeCmd {
    /// The `issue-batch` out directory (journal.jsonl and credential files).
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
    /// Also remove the batch's input file (checked against the journal's SHA-256).
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Confirm the erasure (it cannot be undone).
    #[arg(long)]
    yes: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// `issuer register`.
#[derive(Args, Debug)]
pub struct RegisterCmd {
    #[command(flatten)]
    node: NodeOpts,
    /// A department admin key file.
    #[arg(long, value_name = "FILE")]
    admin_key: PathBuf,
    /// The department id (e.g. market-regulation).
    #[arg(long)]
    department: String,
    /// The issuer's public key (did:key, hex, base64url or a key file).
    #[arg(long, conflicts_with = "new_key_out", required_unless_present = "new_key_out")]
    issuer: Option<String>,
    /// Generate a new issuer key and write it here (mode 0600).
    #[arg(long, value_name = "FILE")]
    new_key_out: Option<PathBuf>,
    /// Type ids or shipped type names, comma separated.
    #[arg(long, value_delimiter = ',', required = true)]
    types: Vec<String>,
    /// First second of validity.
    #[arg(long, default_value = "now", allow_hyphen_values = true)]
    valid_from: String,
    /// First second after validity.
    #[arg(long, default_value = "+365d", allow_hyphen_values = true)]
    valid_until: String,
    /// Chinese name of the issuing service.
    #[arg(long)]
    name_zh: String,
    /// English name of the issuing service.
    #[arg(long)]
    name_en: String,
}

/// `issuer rotate`.
#[derive(Args, Debug)]
pub struct RotateCmd {
    #[command(flatten)]
    node: NodeOpts,
    /// A department admin key file.
    #[arg(long, value_name = "FILE")]
    admin_key: PathBuf,
    /// The key being replaced (did:key, hex, base64url or its key file).
    #[arg(long)]
    old_key: String,
    /// Where to write the new issuer key (mode 0600); must not exist.
    #[arg(long, value_name = "FILE")]
    new_key_out: PathBuf,
    /// When the old key stops being valid (not before the block time).
    #[arg(long, default_value = "+1d", allow_hyphen_values = true)]
    retire_old_at: String,
    /// Types of the new key (default: the old key's).
    #[arg(long, value_delimiter = ',')]
    types: Option<Vec<String>>,
    /// End of the new key's validity (default: the old key's).
    #[arg(long, allow_hyphen_values = true)]
    valid_until: Option<String>,
}

/// `issuer retire`.
#[derive(Args, Debug)]
pub struct RetireCmd {
    #[command(flatten)]
    node: NodeOpts,
    /// A department admin key file.
    #[arg(long, value_name = "FILE")]
    admin_key: PathBuf,
    /// The issuer key (did:key, hex, base64url or its key file).
    #[arg(long)]
    issuer: String,
    /// Retirement time.
    #[arg(long, default_value = "+60s", allow_hyphen_values = true)]
    at: String,
}

/// `issuer compromise`.
#[derive(Args, Debug)]
pub struct CompromiseCmd {
    #[command(flatten)]
    node: NodeOpts,
    /// The compromised issuer key's own key file (a self-report, from now on only).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "admin_key",
        conflicts_with_all = ["admin_key", "issuer"]
    )]
    key: Option<PathBuf>,
    /// A department admin key file (of the issuer key's department; may backdate).
    #[arg(long, value_name = "FILE", requires = "issuer")]
    admin_key: Option<PathBuf>,
    /// The compromised issuer key, with --admin-key (did:key, hex, base64url or its key file).
    #[arg(long)]
    issuer: Option<String>,
    /// Compromised since (default now; a time in the past needs --admin-key).
    #[arg(long, default_value = "now", allow_hyphen_values = true)]
    since: String,
}

/// `issue`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    certledger-node issue --node http://127.0.0.1:8080 --issuer-key issuer.key.json \\\n    \
    --type business-licence --claims claims.json --holder-key did:key:z6Mk... --out licence.json\n\n\
    The claims file is a JSON object of the type's claims (see specs/profiles.md). The signed\n\
    credential is kept in OUT.pending until its anchor commits and its proofs are fetched; if the\n\
    command is interrupted, rerun it with the same --out to finish the same credential.")]
pub struct IssueCmd {
    #[command(flatten)]
    node: NodeOpts,
    /// The issuer key file.
    #[arg(long, value_name = "FILE")]
    issuer_key: PathBuf,
    /// Credential type (business-licence, driving-licence, diploma, identity-attestation or
    /// its id).
    #[arg(long = "type", value_name = "TYPE")]
    ty: String,
    /// The claims, a JSON object (at most 64 KiB).
    #[arg(long, value_name = "FILE")]
    claims: PathBuf,
    /// The holder's key: did:key, 64 hex digits or 43 base64url characters.
    #[arg(long, allow_hyphen_values = true)]
    holder_key: String,
    /// Where to write the credential file for the wallet (mode 0600); must not exist.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Check the result against this trust root (default: the node's /v1/trust-root).
    #[arg(long, value_name = "FILE")]
    trust_root: Option<PathBuf>,
    /// Credential format: sd-jwt (selective disclosure, the default) or w3c (W3C VC 2.0,
    /// eddsa-jcs-2022, full disclosure). 证照格式：sd-jwt（可选择性披露，默认）或 w3c（全部披露）。
    #[arg(long, value_enum, default_value_t = CredentialFormat::SdJwt)]
    format: CredentialFormat,
}

/// `issue-batch`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    certledger-node issue-batch --node http://127.0.0.1:8080 --issuer-key issuer.key.json \\\n    \
    --type diploma --input graduates.csv --out-dir ./issued --holder-key did:key:z6Mk...\n  \
    certledger-node issue-batch ... --type identity-attestation --input keys.jsonl --out-dir ./att\n\n\
    CSV: a header of claim names (plus an optional holder_key column); empty cells omit a claim.\n\
    JSON Lines: one object of claims per line (plus an optional \"holder_key\").\n\
    Rows are all checked first; a bad row stops the run with its row number. Each row's\n\
    credential is recorded in OUT_DIR/journal.jsonl before its anchor is submitted, so rerunning\n\
    the same command after an interruption finishes pending rows and never issues a row twice.\n\
    Output: OUT_DIR/row-NNNNNN.json per row.")]
pub struct BatchCmd {
    #[command(flatten)]
    node: NodeOpts,
    /// The issuer key file.
    #[arg(long, value_name = "FILE")]
    issuer_key: PathBuf,
    /// Credential type.
    #[arg(long = "type", value_name = "TYPE")]
    ty: String,
    /// Rows: .csv (with a header) or JSON Lines (at most 32 MiB, 100000 rows).
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// Output directory (credential files and the journal).
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
    /// Holder key for rows without a holder_key.
    #[arg(long)]
    holder_key: Option<String>,
    /// Most anchors in flight at once (1..=256).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=256))]
    concurrency: u64,
    /// Check results against this trust root (default: the node's /v1/trust-root).
    #[arg(long, value_name = "FILE")]
    trust_root: Option<PathBuf>,
    /// Sign at most this many new rows in this run (the rest is left for a rerun).
    #[arg(long)]
    max_new: Option<usize>,
    /// Credential format of new rows: sd-jwt (the default) or w3c (full disclosure).
    /// 证照格式：sd-jwt（默认）或 w3c（全部披露）。
    #[arg(long, value_enum, default_value_t = CredentialFormat::SdJwt)]
    format: CredentialFormat,
}

/// `revoke`, `suspend`, `reinstate`.
#[derive(Args, Debug)]
#[command(after_help = concat!(
    "Example:\n  certledger-node revoke --node http://127.0.0.1:8080 --issuer-key issuer.key.json \\\n    \
    --credential-id <hex or base64url> --reason superseded\n\n\
    The signer must be a currently valid issuer key of the department that anchored the credential.\n\n",
    "Reason codes (name or number): 0 unspecified, 1 key-compromise, 2 issuer-compromise,\n\
    3 affiliation-changed, 4 superseded, 5 cessation-of-operation, 6 certificate-hold (suspend's\n\
    default), 8 remove-from-hold (reinstate's default), 9 privilege-withdrawn, 16 issued-in-error;\n\
    any other number 0..=65535 is stored as given."))]
pub struct StatusCmd {
    #[command(flatten)]
    node: NodeOpts,
    /// An issuer key file of the anchoring department.
    #[arg(long, value_name = "FILE")]
    issuer_key: PathBuf,
    /// The credential id (64 hex digits or 43 base64url characters).
    #[arg(long, allow_hyphen_values = true)]
    credential_id: String,
    /// Reason code or name (required for revoke).
    #[arg(long)]
    reason: Option<String>,
}

/// `audit ...`.
#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Every entry a department made in a time range (issuances, status changes, issuer and
    /// verifier registry, types, governance), each verified against a cosigned checkpoint, with
    /// the proof that none was left out.
    #[command(after_help = "Example:\n  \
        certledger-node audit department --node http://127.0.0.1:8080 --department education \\\n    \
        --from 2026-01-01 --to 2026-02-01 --trust-root trust-root.json --all\n\n\
        Exit codes: 0 ok, 3 bad input, 5 node unreachable, 6 a proof did not verify, 7 an entry was \
        left out (gap in the audit index) / 退出码：7 表示节点遗漏了条目")]
    Department(AuditDepartmentCmd),
    /// The history of one credential (anchor and status changes), verified, with the proof that
    /// none was left out.
    #[command(after_help = "Example:\n  \
        certledger-node audit credential --node http://127.0.0.1:8080 --credential-id <id> \\\n    \
        --trust-root trust-root.json\n\n\
        Exit codes: 0 ok, 3 bad input, 5 node unreachable, 6 a proof did not verify, 7 an entry was \
        left out (gap in the audit index) / 退出码：7 表示节点遗漏了条目")]
    Credential(AuditCredentialCmd),
}

/// Options of both audit commands.
#[derive(Args, Debug)]
pub struct AuditOpts {
    #[command(flatten)]
    node: NodeOpts,
    /// Trust root to verify against (default: the node's own /v1/trust-root, which only
    /// checks the node's consistency; keep an out-of-band copy).
    #[arg(long, value_name = "FILE")]
    trust_root: Option<PathBuf>,
    /// Items per page (1..=500).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=500))]
    limit: u64,
    /// Follow pages to the end (at most 1000 pages).
    #[arg(long)]
    all: bool,
}

/// `audit department`.
#[derive(Args, Debug)]
pub struct AuditDepartmentCmd {
    #[command(flatten)]
    opts: AuditOpts,
    /// The department id.
    #[arg(long)]
    department: String,
    /// Range start (block time).
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    from: String,
    /// Range end, exclusive (block time).
    #[arg(long, default_value = "+1d", allow_hyphen_values = true)]
    to: String,
}

/// `audit credential`.
#[derive(Args, Debug)]
pub struct AuditCredentialCmd {
    #[command(flatten)]
    opts: AuditOpts,
    /// The credential id.
    #[arg(long, allow_hyphen_values = true)]
    credential_id: String,
}

fn new_key_file(path: &std::path::Path) -> anyhow::Result<SecretKey> {
    if path.exists() {
        return Err(input(format!("{} exists; refusing to overwrite a key", path.display())));
    }
    let key = SecretKey::generate(&mut rand::rngs::OsRng);
    KeyFile::sealed_from_sources(&key, "the new issuer key")
        .and_then(|f| f.write(path))
        .map_err(|e| input(format!("{e:#}")))?;
    Ok(key)
}

/// Runs `issuer ...`.
pub async fn run_issuer(cmd: IssuerCmd) -> anyhow::Result<()> {
    let now = now_s();
    match cmd {
        IssuerCmd::Register(c) => {
            let node = c.node.client()?;
            let admin = load_key(&c.admin_key)?;
            let valid_from = parse_time(&c.valid_from, now)?;
            let valid_until = parse_time(&c.valid_until, now)?;
            let issuer_key = match (&c.issuer, &c.new_key_out) {
                (Some(k), _) => parse_public_key(k)?,
                (None, Some(path)) => new_key_file(path)?.public_key(),
                (None, None) => return Err(input("give --issuer or --new-key-out")),
            };
            let args = RegisterArgs {
                admin,
                department: c.department.clone(),
                issuer_key,
                types: c.types.clone(),
                valid_from,
                valid_until,
                name_zh: c.name_zh,
                name_en: c.name_en,
            };
            let done = issuer::register(&node, &args).await?;
            let did = didkey::did_key(&issuer_key);
            emit(
                c.node.json,
                &json!({ "issuer_key": did, "department": c.department, "committed": done }),
                &format!(
                    "registered issuer {did} for {} at height {} (log index {})",
                    c.department, done.height, done.log_index
                ),
            );
            Ok(())
        }
        IssuerCmd::Rotate(c) => {
            let node = c.node.client()?;
            let admin = load_key(&c.admin_key)?;
            let old = parse_public_key(&c.old_key)?;
            let new = new_key_file(&c.new_key_out)?;
            // Relative times count from after the (passphrase-derived) key work.
            let now = now_s();
            let retire_at = parse_time(&c.retire_old_at, now)?;
            let valid_until = c.valid_until.as_deref().map(|t| parse_time(t, now)).transpose()?;
            let r = issuer::rotate(
                &node,
                &issuer::RotateArgs {
                    admin: &admin,
                    old_key: &old,
                    new_key: &new.public_key(),
                    types: c.types,
                    valid_until,
                    retire_at,
                    now,
                },
            )
            .await?;
            emit(
                c.node.json,
                &json!({
                    "new_key": didkey::did_key(&r.new_key),
                    "old_key": didkey::did_key(&old),
                    "old_retired_at": r.old_retired_at,
                    "registered": r.registered,
                    "retired": r.retired,
                }),
                &format!(
                    "registered {} at height {}; {} retires at {} (entry at height {})",
                    didkey::did_key(&r.new_key),
                    r.registered.height,
                    didkey::did_key(&old),
                    format_time(r.old_retired_at),
                    r.retired.height
                ),
            );
            Ok(())
        }
        IssuerCmd::Retire(c) => {
            let node = c.node.client()?;
            let admin = load_key(&c.admin_key)?;
            let key = parse_public_key(&c.issuer)?;
            let at = parse_time(&c.at, now)?;
            let done = issuer::retire(&node, &admin, &key, at).await?;
            emit(
                c.node.json,
                &json!({ "issuer_key": didkey::did_key(&key), "at": at, "committed": done }),
                &format!(
                    "issuer {} retires at {} (committed at height {})",
                    didkey::did_key(&key),
                    format_time(at),
                    done.height
                ),
            );
            Ok(())
        }
        IssuerCmd::Compromise(c) => {
            let node = c.node.client()?;
            let since = parse_time(&c.since, now)?;
            let (signer, key, since) = match (&c.key, &c.admin_key, &c.issuer) {
                (Some(own), _, _) => {
                    let signer = load_key(own)?;
                    let key = signer.public_key();
                    (signer, key, issuer::self_reported_since(since, now)?)
                }
                (None, Some(admin), Some(k)) => (load_key(admin)?, parse_public_key(k)?, since),
                _ => return Err(input("give --key, or --admin-key with --issuer")),
            };
            let done = issuer::compromise(&node, &signer, &key, since).await?;
            emit(
                c.node.json,
                &json!({ "issuer_key": didkey::did_key(&key), "since": since, "committed": done }),
                &format!(
                    "issuer {} compromised since {} (committed at height {})",
                    didkey::did_key(&key),
                    format_time(since),
                    done.height
                ),
            );
            Ok(())
        }
        IssuerCmd::Purge(c) => run_purge(&c, now),
    }
}

fn run_purge(c: &PurgeCmd, now: u64) -> anyhow::Result<()> {
    if !c.yes {
        return Err(input(
            "purge erases claims and salts for good: pass --yes / 清除后无法恢复，请加 --yes 确认",
        ));
    }
    let r = batch::purge(&c.out_dir, c.input.as_deref(), now)?;
    emit(
        c.json,
        &json!({
            "purged": r.purged,
            "already_purged": r.already_purged,
            "pending": r.pending,
            "files_removed": r.files_removed,
            "input_removed": r.input_removed,
        }),
        &format!(
            "purged {} row(s) ({} already purged, {} not handed over and kept), {} file(s) removed\n\
             已清除 {} 行（此前已清除 {} 行，未交付保留 {} 行），删除 {} 个文件",
            r.purged,
            r.already_purged,
            r.pending,
            r.files_removed,
            r.purged,
            r.already_purged,
            r.pending,
            r.files_removed
        ),
    );
    Ok(())
}

/// Runs `issue`.
pub async fn run_issue(c: IssueCmd) -> anyhow::Result<()> {
    let node = c.node.client()?;
    let issuer_key = load_key(&c.issuer_key)?;
    let ty = parse_type(&c.ty)?;
    let claims = issuer::read_json_file(&c.claims, issuer::MAX_CLAIMS_FILE_BYTES)?;
    ty.check_claims(&claims).map_err(|e| input(format!("{}: {e}", c.claims.display())))?;
    let holder = parse_public_key(&c.holder_key)?;
    let args = IssueArgs {
        issuer: &issuer_key,
        ty,
        claims: &claims,
        holder,
        out: &c.out,
        trust_root: c.trust_root.as_deref(),
        format: c.format,
    };
    let (d, resumed) = issuer::issue(&node, &args).await?;
    let id = URL_SAFE_NO_PAD.encode(d.file.credential_id);
    emit(
        c.node.json,
        &json!({
            "credential_id": id,
            "credential_id_hex": hex::encode(d.file.credential_id),
            "type": ty.id,
            "format": if d.file.w3c_vc.is_some() { "w3c" } else { "sd-jwt" },
            "out": c.out.display().to_string(),
            "resumed": resumed,
            "committed": d.committed,
        }),
        &format!(
            "{}issued {} / {} {id} (anchored at height {}, log index {}); wrote {}",
            if resumed { "resumed and " } else { "" },
            ty.name_zh,
            ty.name_en,
            d.committed.height,
            d.committed.log_index,
            c.out.display()
        ),
    );
    Ok(())
}

/// Runs `issue-batch`.
pub async fn run_batch(c: BatchCmd) -> anyhow::Result<()> {
    let node = c.node.client()?;
    let issuer_key = load_key(&c.issuer_key)?;
    let ty = parse_type(&c.ty)?;
    let default_holder = c.holder_key.as_deref().map(parse_public_key).transpose()?;
    let args = BatchArgs {
        input: &c.input,
        out_dir: &c.out_dir,
        issuer: &issuer_key,
        ty,
        default_holder,
        concurrency: usize::try_from(c.concurrency).unwrap_or(batch::MAX_CONCURRENCY),
        trust_root: c.trust_root.as_deref(),
        quiet: c.node.json,
        max_new: c.max_new,
        format: c.format,
    };
    let r = batch::run(&node, &args).await?;
    emit(
        c.node.json,
        &json!({
            "rows": r.rows, "skipped": r.skipped, "resumed": r.resumed, "issued": r.issued,
            "completed": r.completed, "remaining": r.remaining,
            "out_dir": c.out_dir.display().to_string(),
        }),
        &format!(
            "{} rows: {} already done, {} resumed, {} newly issued, {} completed now, {} left for a rerun; files in {}",
            r.rows,
            r.skipped,
            r.resumed,
            r.issued,
            r.completed,
            r.remaining,
            c.out_dir.display()
        ),
    );
    Ok(())
}

/// Runs `revoke` / `suspend` / `reinstate`.
pub async fn run_status(c: StatusCmd, status: CredentialStatus) -> anyhow::Result<()> {
    let node = c.node.client()?;
    let key = load_key(&c.issuer_key)?;
    let id = parse_credential_id(&c.credential_id)?;
    let reason = match (c.reason.as_deref(), status) {
        (Some(r), _) => parse_reason(r)?,
        (None, CredentialStatus::Suspended) => 6,
        (None, CredentialStatus::Active) => 8,
        (None, _) => {
            return Err(input(format!("revoke needs --reason\n{}", issuer::reasons_help())))
        }
    };
    let done = issuer::change_status(&node, &key, &id, status, reason).await?;
    let name = issuer::status_name(status);
    emit(
        c.node.json,
        &json!({
            "credential_id": URL_SAFE_NO_PAD.encode(id), "status": name, "reason": reason,
            "reason_name": issuer::reason_name(reason), "committed": done,
        }),
        &format!(
            "credential {} is now {name} (reason {reason}{}) at height {}",
            URL_SAFE_NO_PAD.encode(id),
            issuer::reason_name(reason).map(|n| format!(" {n}")).unwrap_or_default(),
            done.height
        ),
    );
    Ok(())
}

/// Runs `audit ...`.
pub async fn run_audit(cmd: AuditCmd) -> anyhow::Result<()> {
    let now = now_s();
    let (opts, target) = match cmd {
        AuditCmd::Department(c) => {
            let from = parse_time(&c.from, now)?;
            let to = parse_time(&c.to, now)?;
            (c.opts, Target::Department { id: c.department, from, to })
        }
        AuditCmd::Credential(c) => {
            (c.opts, Target::Credential(parse_credential_id(&c.credential_id)?))
        }
    };
    let node = opts.node.client()?;
    if opts.trust_root.is_none() && !opts.node.json {
        eprintln!("note: verifying against the node's own trust root; pass --trust-root for an independent check");
    }
    let root = node.trust_root(opts.trust_root.as_deref()).await?;
    let limit = usize::try_from(opts.limit).unwrap_or(audit::DEFAULT_LIMIT);
    let v = audit::fetch_and_verify(&node, &target, &root, limit, opts.all).await?;
    if opts.node.json {
        println!(
            "{}",
            json!({
                "verified": true,
                "complete": v.complete,
                "range_final": v.range_final,
                "proven_through": v.proven_through,
                "checkpoint_heights": v.checkpoint_heights,
                "items": v.items.iter().map(|i| i.to_json()).collect::<Vec<_>>(),
            })
        );
        return Ok(());
    }
    for it in &v.items {
        println!(
            "{:>8}  {}  {:<18} issuer {}  {}{}",
            it.log_index,
            format_time(it.time),
            it.kind(),
            it.issuer_key().short_id(),
            it.credential_id()
                .map(|c| format!("credential {} ", URL_SAFE_NO_PAD.encode(c)))
                .unwrap_or_default(),
            it.detail()
        );
    }
    println!(
        "{} item(s), every inclusion proof verified against cosigned checkpoint height(s) {:?}; \
         the audit index proves nothing was left out up to {} / 共 {} 条，包含证明均已核验；审计索引证明截至 {} 无遗漏{}",
        v.items.len(),
        v.checkpoint_heights,
        format_time(v.proven_through),
        v.items.len(),
        format_time(v.proven_through),
        if v.complete {
            ""
        } else {
            "; more remain (use --all, or retry once a newer checkpoint covers the rest of the range) / 尚有后续（使用 --all，或待新的检查点覆盖其余时间段后重试）"
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Args as _;

    use super::*;

    #[test]
    fn the_status_help_lists_every_reason_code() {
        let cmd = StatusCmd::augment_args(clap::Command::new("revoke"));
        let help = cmd.get_after_help().map(|h| h.to_string()).unwrap_or_default();
        let help = help.replace('\n', " ");
        for (code, name, _) in issuer::REASONS {
            assert!(help.contains(&format!("{code} {name}")), "{code} {name} missing from help");
        }
    }
}
