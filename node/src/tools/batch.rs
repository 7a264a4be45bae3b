//! `issue-batch`: issues one credential per input row (CSV with a header, or JSON Lines),
//! concurrently (bounded), resumable after an interruption without issuing any row twice.
//!
//! Every row is checked before anything is signed or submitted; a bad row stops the run with its
//! row number. The out directory holds `journal.jsonl` (mode 0600): a header line naming the
//! input (its SHA-256), the type and the issuer key, then per row a `signed` record (credential
//! id, SD-JWT and the signed anchor entry) appended and synced BEFORE the anchor is submitted,
//! and a `done` record once its credential file is written. A rerun skips `done` rows, resubmits
//! the recorded anchor of `signed` rows (the node answers "duplicate" for an entry it already
//! holds, which counts as success) and issues the rest. A row is therefore anchored at most
//! once: a new credential is only ever signed for a row with no record.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use certledger_core::credential_file::CredentialFile;
use certledger_core::ledger::EntryBody;
use certledger_core::profiles::{ClaimKind, CredentialType};
use certledger_core::sig::{PublicKey, SecretKey};
use certledger_core::verify::TrustRoot;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use crate::tools::issuer::{self, input, parse_public_key, NodeClient, Pending};

/// Largest input file, in bytes.
pub const MAX_INPUT_BYTES: u64 = 32 * 1024 * 1024;
/// Most rows in one batch.
pub const MAX_ROWS: usize = 100_000;
/// Most concurrent submissions.
pub const MAX_CONCURRENCY: usize = 256;
/// The column (CSV) or field (JSON Lines) naming a row's holder key.
pub const HOLDER_COLUMN: &str = "holder_key";
/// The journal's file name inside the out directory.
pub const JOURNAL: &str = "journal.jsonl";
/// Failed rows listed in the summary (the journal has them all).
const MAX_FAILURES_SHOWN: usize = 10;
/// Largest journal [`purge`] reads, in bytes (a full batch of large credentials fits).
pub const MAX_JOURNAL_BYTES: u64 = 1024 * 1024 * 1024;

/// One input row, checked.
#[derive(Clone, Debug)]
pub struct Row {
    /// 1-based row number (data rows; a CSV header is not counted).
    pub number: usize,
    /// The claims.
    pub claims: Value,
    /// The holder key.
    pub holder: PublicKey,
}

/// What `issue-batch` needs.
#[derive(Debug)]
pub struct BatchArgs<'a> {
    /// The input file (`.csv` or `.jsonl`/`.ndjson`).
    pub input: &'a Path,
    /// The out directory (credential files and the journal).
    pub out_dir: &'a Path,
    /// The issuer key.
    pub issuer: &'a SecretKey,
    /// The type.
    pub ty: &'static CredentialType,
    /// Holder key for rows without one.
    pub default_holder: Option<PublicKey>,
    /// Most anchors in flight.
    pub concurrency: usize,
    /// A trust-root file (else the node's).
    pub trust_root: Option<&'a Path>,
    /// Hide the progress bar.
    pub quiet: bool,
    /// Stop after this many newly issued rows (the rest stays for a rerun).
    pub max_new: Option<usize>,
    /// The credential format of newly signed rows.
    pub format: super::format::CredentialFormat,
}

/// What a batch run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Rows in the input.
    pub rows: usize,
    /// Rows already done before this run.
    pub skipped: usize,
    /// Rows resumed from a `signed` record.
    pub resumed: usize,
    /// Rows newly signed in this run.
    pub issued: usize,
    /// Rows completed in this run (resumed + issued that finished).
    pub completed: usize,
    /// Rows not done at the end (only with `max_new`).
    pub remaining: usize,
}

/// The credential file name of row `n`.
pub fn file_name(n: usize) -> String {
    format!("row-{n:06}.json")
}

fn row_error(n: usize, msg: impl std::fmt::Display) -> anyhow::Error {
    input(format!("row {n}: {msg}"))
}

/// A CSV cell as a claim value of the type's kind (empty cells are omitted claims).
fn cell_value(ty: &CredentialType, n: usize, column: &str, cell: &str) -> anyhow::Result<Value> {
    let def = ty.claim(column).ok_or_else(|| row_error(n, format!("unknown column `{column}`")))?;
    Ok(match def.kind {
        ClaimKind::Bool => match cell.trim() {
            "true" | "TRUE" | "1" => Value::Bool(true),
            "false" | "FALSE" | "0" => Value::Bool(false),
            other => {
                return Err(row_error(
                    n,
                    format!("`{column}` must be true or false, not `{other}`"),
                ))
            }
        },
        ClaimKind::Integer => {
            let v: u64 = cell.trim().parse().map_err(|_| {
                row_error(n, format!("`{column}` must be a non-negative integer, not `{cell}`"))
            })?;
            json!(v)
        }
        _ => Value::String(cell.to_owned()),
    })
}

fn finish_row(
    ty: &CredentialType,
    n: usize,
    mut claims: Map<String, Value>,
    holder: Option<String>,
    default_holder: Option<PublicKey>,
) -> anyhow::Result<Row> {
    let holder = match holder.filter(|h| !h.trim().is_empty()) {
        Some(h) => parse_public_key(&h).map_err(|e| row_error(n, format!("holder key: {e}")))?,
        None => default_holder
            .ok_or_else(|| row_error(n, format!("no `{HOLDER_COLUMN}` and no --holder-key")))?,
    };
    claims.retain(|_, v| !v.is_null());
    let claims = Value::Object(claims);
    ty.check_claims(&claims).map_err(|e| row_error(n, e))?;
    Ok(Row { number: n, claims, holder })
}

/// Reads and checks every row of `path` (CSV by extension `.csv`, else JSON Lines).
pub fn read_rows(
    path: &Path,
    ty: &CredentialType,
    default_holder: Option<PublicKey>,
) -> anyhow::Result<(Vec<Row>, [u8; 32])> {
    let len = std::fs::metadata(path)
        .map_err(|e| input(format!("reading {}: {e}", path.display())))?
        .len();
    if len > MAX_INPUT_BYTES {
        return Err(input(format!("{} is larger than {MAX_INPUT_BYTES} bytes", path.display())));
    }
    let bytes =
        std::fs::read(path).map_err(|e| input(format!("reading {}: {e}", path.display())))?;
    let digest: [u8; 32] = Sha256::digest(&bytes).into();
    let is_csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let mut rows = Vec::new();
    if is_csv {
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes.as_slice());
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| input(format!("{}: header: {e}", path.display())))?
            .iter()
            .map(|h| h.trim().to_owned())
            .collect();
        for h in &headers {
            if h != HOLDER_COLUMN && ty.claim(h).is_none() {
                return Err(input(format!(
                    "{}: column `{h}` is not a claim of {} (claims: {}, plus {HOLDER_COLUMN})",
                    path.display(),
                    ty.id,
                    ty.claims.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
                )));
            }
        }
        for (i, record) in reader.records().enumerate() {
            let n = i + 1;
            if n > MAX_ROWS {
                return Err(input(format!("more than {MAX_ROWS} rows")));
            }
            let record = record.map_err(|e| row_error(n, format!("not valid CSV: {e}")))?;
            if record.len() != headers.len() {
                return Err(row_error(
                    n,
                    format!("{} fields, the header has {}", record.len(), headers.len()),
                ));
            }
            let mut claims = Map::new();
            let mut holder = None;
            for (h, cell) in headers.iter().zip(record.iter()) {
                if h == HOLDER_COLUMN {
                    holder = Some(cell.to_owned());
                } else if !cell.is_empty() {
                    claims.insert(h.clone(), cell_value(ty, n, h, cell)?);
                }
            }
            rows.push(finish_row(ty, n, claims, holder, default_holder)?);
        }
    } else {
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| input(format!("{} is not UTF-8", path.display())))?;
        let mut n = 0;
        for line in text.lines() {
            if line.trim().is_empty() {
                continue;
            }
            n += 1;
            if n > MAX_ROWS {
                return Err(input(format!("more than {MAX_ROWS} rows")));
            }
            let v: Value =
                serde_json::from_str(line).map_err(|e| row_error(n, format!("not JSON: {e}")))?;
            let Value::Object(mut claims) = v else {
                return Err(row_error(n, "not a JSON object"));
            };
            let holder = match claims.remove(HOLDER_COLUMN) {
                None => None,
                Some(Value::String(s)) => Some(s),
                Some(_) => return Err(row_error(n, format!("`{HOLDER_COLUMN}` must be a string"))),
            };
            rows.push(finish_row(ty, n, claims, holder, default_holder)?);
        }
    }
    if rows.is_empty() {
        return Err(input(format!("{} has no rows", path.display())));
    }
    Ok((rows, digest))
}

/// What the journal says about each row.
#[derive(Clone, Debug)]
enum RowState {
    Signed(Box<Pending>),
    Done,
    /// Handed over and erased by [`purge`]: never issued again.
    Purged,
}

/// The append-only journal.
struct Journal {
    file: std::fs::File,
}

impl Journal {
    /// Appends one record and syncs it to disk before returning.
    fn append(&mut self, v: &Value) -> anyhow::Result<()> {
        let mut line = v.to_string();
        line.push('\n');
        self.file.write_all(line.as_bytes()).context("writing the journal")?;
        self.file.sync_data().context("syncing the journal")?;
        Ok(())
    }
}

/// Opens (or creates) the journal; returns the row states it records. A journal of another
/// input, type, issuer or ledger is refused; a torn last line (a crash mid-write) is dropped.
fn open_journal(
    out_dir: &Path,
    header: &Value,
) -> anyhow::Result<(Journal, BTreeMap<usize, RowState>)> {
    let path = out_dir.join(JOURNAL);
    let mut states = BTreeMap::new();
    let mut text = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| input(format!("{} is not UTF-8", path.display())))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    // A torn last record (a crash mid-write) was never followed by a submission: drop it.
    let whole = text.rfind('\n').map_or(0, |i| i + 1);
    if whole < text.len() {
        let f = std::fs::OpenOptions::new().write(true).open(&path)?;
        f.set_len(whole as u64)?;
        f.sync_all()?;
        text.truncate(whole);
    }
    for (i, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line)
            .map_err(|e| input(format!("{} line {}: {e}", path.display(), i + 1)))?;
        if i == 0 {
            if &v != header {
                return Err(input(format!(
                    "{} belongs to another input, type, issuer key or ledger; use a fresh --out-dir",
                    path.display()
                )));
            }
            continue;
        }
        let row = v["row"].as_u64().and_then(|r| usize::try_from(r).ok()).unwrap_or(0);
        match v["state"].as_str() {
            Some("signed") => {
                let p = Pending::from_json(&v["pending"])
                    .with_context(|| format!("{} line {}", path.display(), i + 1))?;
                states.insert(row, RowState::Signed(Box::new(p)));
            }
            Some("done") => {
                states.insert(row, RowState::Done);
            }
            Some("purged") => {
                states.insert(row, RowState::Purged);
            }
            Some("purge") => {}
            _ => return Err(input(format!("{} line {}: unknown record", path.display(), i + 1))),
        }
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let file = opts.open(&path).with_context(|| format!("opening {}", path.display()))?;
    let mut journal = Journal { file };
    if text.is_empty() {
        journal.append(header)?;
    }
    Ok((journal, states))
}

/// Runs a batch; see the module docs.
pub async fn run(node: &NodeClient, a: &BatchArgs<'_>) -> anyhow::Result<BatchReport> {
    let (rows, digest) = read_rows(a.input, a.ty, a.default_holder)?;
    let concurrency = a.concurrency.clamp(1, MAX_CONCURRENCY);
    std::fs::create_dir_all(a.out_dir)
        .with_context(|| format!("creating {}", a.out_dir.display()))?;
    let chain_id = node.chain_id().await?;
    let trust_root: Arc<TrustRoot> = Arc::new(node.trust_root(a.trust_root).await?);
    let header = json!({
        "certledger_batch_journal": 1,
        "input_sha256": hex::encode(digest),
        "type": a.ty.id,
        "issuer_key": hex::encode(a.issuer.public_key().0),
        "chain_id": chain_id,
    });
    let (mut journal, states) = open_journal(a.out_dir, &header)?;

    let mut report = BatchReport { rows: rows.len(), ..BatchReport::default() };
    let bar = if a.quiet || !std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(rows.len() as u64), ProgressDrawTarget::hidden())
    } else {
        ProgressBar::new(rows.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    let mut tasks: tokio::task::JoinSet<(usize, anyhow::Result<CredentialFile>)> =
        tokio::task::JoinSet::new();
    let mut failures: Vec<String> = Vec::new();
    let mut first_error: Option<anyhow::Error> = None;
    let out_dir: PathBuf = a.out_dir.to_owned();

    for row in &rows {
        let n = row.number;
        let pending = match states.get(&n) {
            Some(RowState::Done) if out_dir.join(file_name(n)).exists() => {
                report.skipped += 1;
                bar.inc(1);
                continue;
            }
            Some(RowState::Purged) => {
                report.skipped += 1;
                bar.inc(1);
                continue;
            }
            Some(RowState::Signed(p)) => {
                report.resumed += 1;
                (**p).clone()
            }
            // Done but its file is gone: its anchor is committed and recorded nowhere else, so
            // the row is not signed again; report it instead.
            Some(RowState::Done) => {
                failures
                    .push(format!("row {n}: journal says done but {} is missing", file_name(n)));
                bar.inc(1);
                continue;
            }
            None => {
                if a.max_new.is_some_and(|m| report.issued >= m) {
                    report.remaining += 1;
                    continue;
                }
                let p = (a.format.pending_issue())(
                    a.issuer,
                    a.ty,
                    &row.claims,
                    &row.holder,
                    &chain_id,
                    issuer::now_s(),
                    &mut rand::rngs::OsRng,
                )
                .map_err(|e| input(format!("row {n}: {e:#}")))?;
                // Recorded and synced before the anchor can reach any node.
                journal.append(&json!({ "row": n, "state": "signed", "pending": p.to_json() }))?;
                report.issued += 1;
                p
            }
        };
        while tasks.len() >= concurrency {
            if let Some(done) = tasks.join_next().await {
                record(
                    done,
                    &mut journal,
                    &out_dir,
                    &mut report,
                    &mut failures,
                    &mut first_error,
                    &bar,
                )?;
            }
        }
        let node = node.clone();
        let trust_root = trust_root.clone();
        tasks.spawn(async move {
            let r = pending.deliver(&node, &trust_root).await.map(|d| d.file);
            (n, r)
        });
    }
    while let Some(done) = tasks.join_next().await {
        record(done, &mut journal, &out_dir, &mut report, &mut failures, &mut first_error, &bar)?;
    }
    bar.finish_and_clear();
    if !failures.is_empty() {
        let shown: Vec<&str> =
            failures.iter().take(MAX_FAILURES_SHOWN).map(String::as_str).collect();
        let summary = format!(
            "{} row(s) not completed (rerun the same command to resume):\n  {}",
            failures.len(),
            shown.join("\n  ")
        );
        // The first row's error keeps its class (refused, unavailable, ...) for the exit code.
        return Err(match first_error {
            Some(e) => e.context(summary),
            None => input(summary),
        });
    }
    Ok(report)
}

fn record(
    done: Result<(usize, anyhow::Result<CredentialFile>), tokio::task::JoinError>,
    journal: &mut Journal,
    out_dir: &Path,
    report: &mut BatchReport,
    failures: &mut Vec<String>,
    first_error: &mut Option<anyhow::Error>,
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    let (n, result) = done.map_err(|e| anyhow::anyhow!("a submission task failed: {e}"))?;
    bar.inc(1);
    match result {
        Ok(file) => {
            issuer::write_atomic(&out_dir.join(file_name(n)), file.to_json().as_bytes(), true)?;
            journal.append(&json!({ "row": n, "state": "done", "file": file_name(n) }))?;
            report.completed += 1;
        }
        Err(e) => {
            bar.set_message(format!("row {n} failed"));
            failures.push(format!("row {n}: {e:#}"));
            first_error.get_or_insert(e);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Purge (specs/erasure.md).

/// What [`purge`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Rows erased by this run.
    pub purged: usize,
    /// Rows a previous purge had already erased.
    pub already_purged: usize,
    /// Rows signed but not handed over (no `done` record): kept, so a rerun can finish them.
    pub pending: usize,
    /// Credential files (and leftover temporary files) removed.
    pub files_removed: usize,
    /// Whether the input file was removed (`--input`).
    pub input_removed: bool,
}

/// One `done` row's accountability record: what the department keeps after the purge. No
/// claim, salt, disclosure, SD-JWT or holder key.
fn purged_record(
    row: usize,
    pending: &Pending,
    file: Option<&CredentialFile>,
) -> anyhow::Result<Value> {
    let EntryBody::AnchorIssuance(anchor) = &pending.entry.body else {
        return Err(input(format!("row {row}: the journal's entry is not an anchor")));
    };
    let record = file.map(|f| &f.proofs.credential_record);
    if record.is_some_and(|r| r.credential_id != anchor.credential_id) {
        return Err(input(format!("row {row}: {} is another credential's file", file_name(row))));
    }
    Ok(json!({
        "row": row,
        "state": "purged",
        "credential_id": URL_SAFE_NO_PAD.encode(anchor.credential_id),
        "type": anchor.type_id,
        "entry_id": hex::encode(pending.entry.id()),
        "commitment": hex::encode(anchor.commitment),
        "log_index": record.map(|r| r.log_index),
        "anchored_height": record.map(|r| r.anchored_height),
        "anchored_at": record.map(|r| r.anchored_time),
    }))
}

/// Erases the personal data of every handed-over row of the batch in `out_dir`: each row whose
/// credential file was written (`done`) keeps only its accountability record (credential id,
/// type, entry id, commitment, log index, anchoring height and time); its `signed` record (the
/// SD-JWT with every disclosure) and its credential file go. The journal is rewritten atomically
/// (a new file renamed over the old) with a `purge` record (time, rows) appended; then the
/// credential files are removed. Rows not yet handed over are left as they are. With `input`,
/// the batch's input file (whose SHA-256 the journal names) is removed too, once no row is left
/// pending. A rerun of `issue-batch` skips purged rows, and a rerun of `purge` after a crash
/// finishes the removals.
pub fn purge(out_dir: &Path, input_file: Option<&Path>, now: u64) -> anyhow::Result<PurgeReport> {
    let path = out_dir.join(JOURNAL);
    let len = std::fs::metadata(&path)
        .map_err(|e| input(format!("{}: {e} (is this an issue-batch out dir?)", path.display())))?
        .len();
    if len > MAX_JOURNAL_BYTES {
        return Err(input(format!("{} is larger than {MAX_JOURNAL_BYTES} bytes", path.display())));
    }
    let text = String::from_utf8(std::fs::read(&path)?)
        .map_err(|_| input(format!("{} is not UTF-8", path.display())))?;
    let mut lines: Vec<Value> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        // A torn last line (a crash mid-append) is dropped, as `issue-batch` does.
        match serde_json::from_str(line) {
            Ok(v) => lines.push(v),
            Err(_) if i + 1 == text.lines().count() && !text.ends_with('\n') => {}
            Err(e) => return Err(input(format!("{} line {}: {e}", path.display(), i + 1))),
        }
    }
    let header = lines.first().cloned().ok_or_else(|| input("the journal is empty"))?;
    if header["certledger_batch_journal"] != 1 {
        return Err(input(format!("{} is not an issue-batch journal", path.display())));
    }
    let row_of = |v: &Value| v["row"].as_u64().and_then(|r| usize::try_from(r).ok()).unwrap_or(0);
    let mut signed: BTreeMap<usize, Pending> = BTreeMap::new();
    let mut done = std::collections::BTreeSet::new();
    let mut purged = std::collections::BTreeSet::new();
    for (i, v) in lines.iter().enumerate().skip(1) {
        match v["state"].as_str() {
            Some("signed") => {
                let p = Pending::from_json(&v["pending"])
                    .with_context(|| format!("{} line {}", path.display(), i + 1))?;
                signed.insert(row_of(v), p);
            }
            Some("done") => {
                done.insert(row_of(v));
            }
            Some("purged") => {
                purged.insert(row_of(v));
            }
            Some("purge") => {}
            _ => return Err(input(format!("{} line {}: unknown record", path.display(), i + 1))),
        }
    }
    let mut report = PurgeReport {
        already_purged: purged.len(),
        pending: signed.keys().filter(|r| !done.contains(r) && !purged.contains(r)).count(),
        ..PurgeReport::default()
    };
    if let Some(input_path) = input_file {
        let bytes = std::fs::read(input_path)
            .map_err(|e| input(format!("reading {}: {e}", input_path.display())))?;
        if header["input_sha256"] != hex::encode(Sha256::digest(&bytes)) {
            return Err(input(format!("{} is not this batch's input", input_path.display())));
        }
        if report.pending > 0 {
            return Err(input(format!(
                "{} row(s) are not handed over yet: finish the batch before removing its input",
                report.pending
            )));
        }
    }
    // The new journal: each done row's records become one accountability record.
    let mut records: BTreeMap<usize, Value> = BTreeMap::new();
    for row in done.iter().filter(|r| !purged.contains(r)) {
        let pending = signed
            .get(row)
            .ok_or_else(|| input(format!("row {row}: done without a signed record")))?;
        let file_path = out_dir.join(file_name(*row));
        let file = match std::fs::read_to_string(&file_path) {
            Ok(text) => Some(
                CredentialFile::from_json(&text)
                    .map_err(|e| input(format!("{}: {e}", file_path.display())))?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("reading {}", file_path.display())),
        };
        records.insert(*row, purged_record(*row, pending, file.as_ref())?);
    }
    report.purged = records.len();
    let mut out = String::new();
    for v in &lines {
        let row = row_of(v);
        let line = match v["state"].as_str() {
            Some("signed") if records.contains_key(&row) => continue,
            Some("done") => match records.get(&row) {
                Some(record) => record,
                None => v,
            },
            _ => v,
        };
        out.push_str(&line.to_string());
        out.push('\n');
    }
    if report.purged > 0 || input_file.is_some() {
        let record = json!({
            "state": "purge",
            "at": now,
            "rows": records.keys().collect::<Vec<_>>(),
            "input_removed": input_file.is_some(),
        });
        out.push_str(&record.to_string());
        out.push('\n');
        issuer::write_atomic(&path, out.as_bytes(), true)?;
    }
    // Then the files of every purged row, and any temporary file a crash left behind.
    for row in records.keys().chain(purged.iter()) {
        let name = file_name(*row);
        for path in [out_dir.join(&name), out_dir.join(format!(".{name}.tmp"))] {
            match std::fs::remove_file(&path) {
                Ok(()) => report.files_removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
            }
        }
    }
    if let Some(input_path) = input_file {
        std::fs::remove_file(input_path)
            .with_context(|| format!("removing {}", input_path.display()))?;
        report.input_removed = true;
    }
    #[cfg(unix)]
    if let Ok(dir) = std::fs::File::open(out_dir) {
        // Make the renames and removals durable.
        let _ = dir.sync_all();
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use certledger_core::profiles;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn csv_and_jsonl_rows_are_typed_and_bad_rows_named() {
        let dir = tempfile::tempdir().unwrap();
        let holder = SecretKey::from_seed(&[3; 32]).public_key();
        let ia = &profiles::IDENTITY_ATTESTATION;
        let other = SecretKey::from_seed(&[4; 32]).public_key();
        let csv = format!(
            "real_name_verified,assurance_level,age_over_16,age_over_18,age_over_60,region,name,holder_key\n\
             true,3,true,true,false,310115,赵六,{}\n\
             true,2,true,false,false,310115,,\n",
            hex::encode(other.0)
        );
        let (rows, _) = read_rows(&write(dir.path(), "a.csv", &csv), ia, Some(holder)).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].holder, other);
        assert_eq!(rows[1].holder, holder);
        assert_eq!(rows[0].claims["assurance_level"], json!(3));
        assert!(rows[1].claims.get("name").is_none());

        let bad = "real_name_verified,assurance_level,age_over_16,age_over_18,age_over_60,region\n\
                   true,3,true,true,false,310115\ntrue,9,true,true,false,310115\n";
        let e = read_rows(&write(dir.path(), "b.csv", bad), ia, Some(holder)).unwrap_err();
        assert!(e.to_string().starts_with("row 2:"), "{e}");
        assert_eq!(issuer::exit_code(&e), issuer::EXIT_INPUT);
        let e =
            read_rows(&write(dir.path(), "c.csv", "nickname\nx\n"), ia, Some(holder)).unwrap_err();
        assert!(e.to_string().contains("column `nickname`"), "{e}");
        let e = read_rows(&write(dir.path(), "d.csv", bad), ia, None).unwrap_err();
        assert!(e.to_string().contains("row 1:"), "{e}");

        let dl = &profiles::DRIVING_LICENCE;
        let claims = certledger_core::testkit::example_claims(dl);
        let jsonl = format!("{claims}\n\n{}\n", json!({"name": "x"}));
        let e = read_rows(&write(dir.path(), "e.jsonl", &jsonl), dl, Some(holder)).unwrap_err();
        assert!(e.to_string().starts_with("row 2:"), "{e}");
        let (rows, _) =
            read_rows(&write(dir.path(), "f.jsonl", &format!("{claims}\n")), dl, Some(holder))
                .unwrap();
        assert_eq!(rows[0].claims, claims);
    }

    #[test]
    fn the_journal_refuses_another_input_and_ignores_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let header = json!({"certledger_batch_journal": 1, "input_sha256": "aa"});
        let issuer = SecretKey::from_seed(&[1; 32]);
        let ty = &profiles::DIPLOMA;
        let claims = certledger_core::testkit::example_claims(ty);
        let mut rng = certledger_core::testkit::SeededRng::from_label("journal");
        let p =
            Pending::issue(&issuer, ty, &claims, &issuer.public_key(), "c", 1, &mut rng).unwrap();
        {
            let (mut j, states) = open_journal(dir.path(), &header).unwrap();
            assert!(states.is_empty());
            j.append(&json!({"row": 1, "state": "signed", "pending": p.to_json()})).unwrap();
            j.append(&json!({"row": 2, "state": "signed", "pending": p.to_json()})).unwrap();
            j.append(&json!({"row": 1, "state": "done", "file": file_name(1)})).unwrap();
        }
        let path = dir.path().join(JOURNAL);
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"row\": 3, \"sta").unwrap();
        drop(f);
        let (mut j, states) = open_journal(dir.path(), &header).unwrap();
        assert!(matches!(states.get(&1), Some(RowState::Done)));
        j.append(&json!({"row": 2, "state": "done", "file": file_name(2)})).unwrap();
        drop(j);
        let (_, again) = open_journal(dir.path(), &header).unwrap();
        assert!(matches!(again.get(&2), Some(RowState::Done)));
        assert!(matches!(states.get(&2), Some(RowState::Signed(q)) if **q == p));
        assert!(!states.contains_key(&3));
        let other = json!({"certledger_batch_journal": 1, "input_sha256": "bb"});
        assert!(open_journal(dir.path(), &other).is_err());
    }
    #[test]
    fn purge_keeps_rows_not_handed_over_and_checks_the_input() {
        let dir = tempfile::tempdir().unwrap();
        let input_file = write(dir.path(), "rows.jsonl", "{}\n");
        let digest = hex::encode(Sha256::digest(b"{}\n"));
        let header = json!({"certledger_batch_journal": 1, "input_sha256": digest});
        let issuer = SecretKey::from_seed(&[1; 32]);
        let ty = &profiles::DIPLOMA;
        let claims = certledger_core::testkit::example_claims(ty);
        let mut rng = certledger_core::testkit::SeededRng::from_label("purge");
        let holder = issuer.public_key();
        let p1 = Pending::issue(&issuer, ty, &claims, &holder, "c", 1, &mut rng).unwrap();
        let p2 = Pending::issue(&issuer, ty, &claims, &holder, "c", 1, &mut rng).unwrap();
        {
            let (mut j, _) = open_journal(dir.path(), &header).unwrap();
            j.append(&json!({"row": 1, "state": "signed", "pending": p1.to_json()})).unwrap();
            j.append(&json!({"row": 2, "state": "signed", "pending": p2.to_json()})).unwrap();
            j.append(&json!({"row": 1, "state": "done", "file": file_name(1)})).unwrap();
        }
        std::fs::write(dir.path().join(format!(".{}.tmp", file_name(1))), &p1.sd_jwt).unwrap();
        // Another input is refused; this input is refused while row 2 is pending.
        let other = write(dir.path(), "other.jsonl", "{\"x\":1}\n");
        assert!(purge(dir.path(), Some(&other), 5).is_err());
        assert!(purge(dir.path(), Some(&input_file), 5).is_err());
        assert!(input_file.exists());

        let r = purge(dir.path(), None, 5).unwrap();
        assert_eq!(
            r,
            PurgeReport { purged: 1, pending: 1, files_removed: 1, ..Default::default() }
        );
        let text = std::fs::read_to_string(dir.path().join(JOURNAL)).unwrap();
        assert!(!text.contains(&p1.sd_jwt), "row 1's SD-JWT is gone");
        assert!(text.contains(&p2.sd_jwt), "row 2 (pending) is kept to be finished");
        assert!(text.contains(&hex::encode(p1.entry.id())));
        let (_, states) = open_journal(dir.path(), &header).unwrap();
        assert!(matches!(states.get(&1), Some(RowState::Purged)));
        assert!(matches!(states.get(&2), Some(RowState::Signed(_))));
        let again = purge(dir.path(), None, 6).unwrap();
        assert_eq!((again.purged, again.already_purged), (0, 1));
        assert_eq!(std::fs::read_to_string(dir.path().join(JOURNAL)).unwrap(), text);
    }
}
