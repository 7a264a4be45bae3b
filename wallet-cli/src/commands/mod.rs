//! The commands, one file each. Every command returns an [`Output`]: human text, a JSON value
//! and notices for stderr. What several commands share (reading inputs, opening the wallet,
//! display text, a credential's claims) is here.

use std::path::{Path, PathBuf};

use certledger_core::profiles;
use certledger_core::{sdjwt, w3c};
use serde_json::{json, Value};

use crate::cli::Lang;
use crate::error::{keystore, usage, CmdResult, Failure, Kind, ResultExt as _};
use crate::store::{self, Status, StoredCredential, Wallet};

pub mod backup;
pub mod delete;
pub mod history;
pub mod identity;
pub mod import;
pub mod init;
pub mod list;
pub mod present;
pub mod print;
pub mod refresh;
pub mod restore;
pub mod show;
pub mod trust;
pub mod verify;

/// Largest input file read (requests, trust roots, credential files, bundles), in bytes.
const MAX_INPUT_BYTES: u64 = 512 * 1024;
/// Largest PNG read for QR decoding, in bytes.
const MAX_PNG_BYTES: u64 = 16 * 1024 * 1024;
/// Largest side of an image the wallet decodes, in pixels.
const MAX_IMAGE_SIDE_PX: u32 = 16_384;
/// Most memory the image decoder may allocate for one image.
const MAX_IMAGE_ALLOC_BYTES: u64 = 256 * 1024 * 1024;
/// Oldest checkpoint accepted from a node on refresh or `present --node`, in seconds.
const FRESH_CHECKPOINT_AGE_S: u64 = 24 * 3600;

/// Global options every command sees.
pub struct Ctx {
    /// The wallet file.
    pub wallet_path: PathBuf,
    /// Passphrase source.
    pub passphrase: store::PassphraseSource,
    /// `--json`.
    pub json: bool,
    /// `--lang`.
    pub lang: Lang,
}

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

/// The QR texts in a PNG (at most [`MAX_PNG_BYTES`]).
fn qr_texts_in_png(bytes: &[u8], what: &Path) -> CmdResult<Vec<String>> {
    // A small PNG can declare a huge picture: the decoder refuses sides over 16,384 pixels and
    // allocations over 256 MiB before decoding (a photograph of a card is far smaller).
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE_PX);
    limits.max_image_height = Some(MAX_IMAGE_SIDE_PX);
    limits.max_alloc = Some(MAX_IMAGE_ALLOC_BYTES);
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| usage(format!("cannot read {}: {e}", what.display())))?;
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| usage(format!("cannot read {} / 无法读取图像: {e}", what.display())))?
        .to_luma8();
    Ok(crate::qr::decode_image(&img))
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

fn write_png(path: &Path, img: &image::GrayImage) -> CmdResult<()> {
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .kind(Kind::Usage, "cannot encode the PNG")?;
    crate::keystore::write_atomic(path, &bytes).map_err(|f| Failure::new(Kind::Usage, f.error))
}

/// Asks `question` on the terminal (stderr) and reads the answer: `y`, `yes` or `是` goes on,
/// anything else is refused as `declined` with `declined` (en, zh). Without a terminal it is a usage
/// error naming `--yes`.
#[allow(clippy::print_stderr)]
fn confirm_on_terminal(question: &str, declined: (&str, &str)) -> CmdResult<()> {
    use std::io::{BufRead as _, IsTerminal as _, Write as _};
    if !std::io::stdin().is_terminal() {
        return Err(usage("confirmation needs a terminal: review the request and pass --yes"));
    }
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| usage(format!("cannot read the answer: {e}")))?;
    if matches!(line.trim(), "y" | "Y" | "yes" | "是") {
        Ok(())
    } else {
        Err(crate::error::refused("declined", declined.0, declined.1))
    }
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

fn status_text(status: Status, lang: Lang) -> &'static str {
    match (status, lang) {
        (Status::Active, Lang::Zh) => "有效",
        (Status::Revoked, Lang::Zh) => "已撤销",
        (Status::Suspended, Lang::Zh) => "已暂停",
        (Status::Expired, Lang::Zh) => "已过期",
        (Status::Invalid, Lang::Zh) => "无效",
        (status, Lang::En) => status.as_str(),
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The refusal for presenting or printing a credential that is not active.
fn not_active(c: &StoredCredential, status: Status) -> Failure {
    crate::error::refused(
        status.as_str(),
        format!("credential {} is {} as of its latest proofs", c.short_id(), status.as_str()),
        format!("此证照状态为：{}", status_text(status, Lang::Zh)),
    )
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
        "format": c.format(),
        "status": c.effective_status(now).as_str(),
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
    if let Some(vc) = &c.w3c_vc {
        // Full disclosure: every claim of the W3C credential is shown to every verifier.
        let verified = w3c::verify_credential(vc, &proofs.credential_record.issuer_key, now())
            .map_err(|_| keystore("a stored credential cannot be read"))?;
        let Value::Object(claims) = verified.claims else {
            return Err(keystore("a stored credential cannot be read"));
        };
        return Ok(claims
            .into_iter()
            .filter(|(name, _)| name != "vct")
            .map(|(name, value)| ClaimView { name, value, disclosable: false })
            .collect());
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(1_767_225_600), "2026-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
    }

    #[test]
    fn status_words_in_both_languages() {
        assert_eq!(status_text(Status::Revoked, Lang::En), "revoked");
        assert_eq!(status_text(Status::Revoked, Lang::Zh), "已撤销");
        assert_eq!(status_text(Status::Invalid, Lang::En), "invalid");
    }

    /// A small PNG that declares a picture wider than the wallet decodes is refused before the
    /// pixels are allocated; a normal one is read.
    #[test]
    fn an_oversized_png_is_refused_with_a_clear_error() {
        let png = |w: u32, h: u32| {
            let mut out = std::io::Cursor::new(Vec::new());
            image::GrayImage::from_pixel(w, h, image::Luma([255]))
                .write_to(&mut out, image::ImageFormat::Png)
                .expect("png");
            out.into_inner()
        };
        let wide = png(MAX_IMAGE_SIDE_PX + 1, 1);
        assert!(wide.len() < 10_000, "{} bytes", wide.len());
        let err = qr_texts_in_png(&wide, Path::new("wide.png")).expect_err("refused");
        assert!(err.error.to_string().contains("cannot read wide.png"), "{}", err.error);
        assert_eq!(
            qr_texts_in_png(&png(64, 64), Path::new("blank.png")).expect("read"),
            Vec::<String>::new()
        );
    }
}
