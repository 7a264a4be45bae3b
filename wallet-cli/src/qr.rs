//! QR codes for bundles: splitting, terminal and PNG rendering, and decoding PNGs.
//!
//! A bundle text (`CLB1.…`) of at most [`MAX_PART_CHARS`] characters is one QR code holding the
//! text itself. A longer text is cut into `n` consecutive pieces of at most [`MAX_PART_CHARS`]
//! characters, and piece `i` (1-based) is encoded as `CLBQ1/<i>/<n>/<piece>`. A reader collects
//! every part (any order), checks that all name the same `n`, that each `i` in `1..=n` appears
//! exactly once (or repeats the same piece), and joins the pieces in order. `n` is at most
//! [`MAX_PARTS`]. Codes use error-correction level M, which keeps each code scannable from paper
//! and screens (`specs/wallet.md`).

use image::{GrayImage, Luma};
use qrcode::{Color, EcLevel, QrCode};

use crate::error::{usage, CmdResult};

/// Longest piece of bundle text in one code.
pub const MAX_PART_CHARS: usize = 1000;
/// Most parts a bundle may be split into.
pub const MAX_PARTS: usize = 64;
/// Prefix of a part.
pub const PART_PREFIX: &str = "CLBQ1/";
/// Pixels per module in PNG output.
pub const MODULE_PX: u32 = 4;
/// Quiet zone, in modules.
pub const QUIET_MODULES: u32 = 4;

/// The QR payloads for a bundle text.
pub fn split(text: &str) -> CmdResult<Vec<String>> {
    if text.len() <= MAX_PART_CHARS {
        return Ok(vec![text.to_owned()]);
    }
    if !text.is_ascii() {
        return Err(usage("bundle text must be ASCII"));
    }
    let pieces: Vec<&str> = text
        .as_bytes()
        .chunks(MAX_PART_CHARS)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    let n = pieces.len();
    if n > MAX_PARTS {
        return Err(usage("bundle is too large for QR codes"));
    }
    Ok(pieces.iter().enumerate().map(|(i, p)| format!("{PART_PREFIX}{}/{n}/{p}", i + 1)).collect())
}

/// Joins QR payloads back into the bundle text.
pub fn join(payloads: &[String]) -> CmdResult<String> {
    let payloads: Vec<&str> = payloads.iter().map(|p| p.trim()).collect();
    if let [single] = payloads.as_slice() {
        if !single.starts_with(PART_PREFIX) {
            return Ok((*single).to_owned());
        }
    }
    let mut total = None;
    let mut pieces: Vec<Option<&str>> = Vec::new();
    for p in &payloads {
        let rest = p
            .strip_prefix(PART_PREFIX)
            .ok_or_else(|| usage("several QR codes given but not all are CLBQ1 parts"))?;
        let mut fields = rest.splitn(3, '/');
        let (Some(i), Some(n), Some(piece)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(usage("malformed CLBQ1 part"));
        };
        let i: usize = i.parse().map_err(|_| usage("malformed CLBQ1 part index"))?;
        let n: usize = n.parse().map_err(|_| usage("malformed CLBQ1 part count"))?;
        if n == 0 || n > MAX_PARTS || i == 0 || i > n {
            return Err(usage("CLBQ1 part index or count out of range"));
        }
        if *total.get_or_insert(n) != n {
            return Err(usage("CLBQ1 parts disagree on the number of parts"));
        }
        pieces.resize(n, None);
        let slot = pieces.get_mut(i - 1).ok_or_else(|| usage("CLBQ1 part out of range"))?;
        match slot {
            Some(existing) if *existing != piece => {
                return Err(usage("two different CLBQ1 parts have the same index"))
            }
            _ => *slot = Some(piece),
        }
    }
    let mut out = String::new();
    for (i, piece) in pieces.iter().enumerate() {
        let piece = piece.ok_or_else(|| usage(format!("CLBQ1 part {} is missing", i + 1)))?;
        out.push_str(piece);
    }
    Ok(out)
}

/// Encodes one payload. The code is rendered and read back with the decoder `verify` uses
/// (rqrr); for the few payloads whose symbol that decoder misreads, another error-correction
/// level (hence another symbol and mask) is used. If no level reads back, the level-M code is
/// returned (other readers may still read it).
pub fn encode(payload: &str) -> CmdResult<QrCode> {
    let first = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
        .map_err(|e| usage(format!("cannot make a QR code: {e}")))?;
    if reads_back(&first, payload) {
        return Ok(first);
    }
    for level in [EcLevel::Q, EcLevel::L, EcLevel::H] {
        if let Ok(code) = QrCode::with_error_correction_level(payload.as_bytes(), level) {
            if reads_back(&code, payload) {
                return Ok(code);
            }
        }
    }
    Ok(first)
}

fn reads_back(code: &QrCode, payload: &str) -> bool {
    decode_image(&to_image(code)).iter().any(|t| t == payload)
}

/// The code as unicode half blocks, for a terminal.
pub fn to_terminal(code: &QrCode) -> String {
    code.render::<qrcode::render::unicode::Dense1x2>()
        .dark_color(qrcode::render::unicode::Dense1x2::Light)
        .light_color(qrcode::render::unicode::Dense1x2::Dark)
        .build()
}

/// The code as a grayscale image with a quiet zone.
pub fn to_image(code: &QrCode) -> GrayImage {
    let width = u32::try_from(code.width()).unwrap_or(0);
    let colors = code.to_colors();
    let side = (width + 2 * QUIET_MODULES) * MODULE_PX;
    GrayImage::from_fn(side, side, |x, y| {
        let mx = (x / MODULE_PX).checked_sub(QUIET_MODULES);
        let my = (y / MODULE_PX).checked_sub(QUIET_MODULES);
        let dark = match (mx, my) {
            (Some(mx), Some(my)) if mx < width && my < width => {
                let idx = usize::try_from(my * width + mx).unwrap_or(usize::MAX);
                colors.get(idx) == Some(&Color::Dark)
            }
            _ => false,
        };
        Luma([if dark { 0 } else { 255 }])
    })
}

/// Every QR payload found in an image. rqrr can group the finder patterns of neighbouring codes
/// wrongly, leaving a code undetected; so each decoded code is then blanked out and the rest of
/// the image decoded again, until a pass finds nothing new (at most [`MAX_PARTS`] passes).
pub fn decode_image(img: &GrayImage) -> Vec<String> {
    let mut work = img.clone();
    let mut found: Vec<String> = Vec::new();
    for _ in 0..MAX_PARTS {
        let (w, h) = work.dimensions();
        let mut prepared =
            rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
                work.get_pixel_checked(x as u32, y as u32).map_or(255, |p| p.0[0])
            });
        let mut decoded = Vec::new();
        for grid in prepared.detect_grids() {
            if let Ok((_, text)) = grid.decode() {
                decoded.push((text, grid.bounds));
            }
        }
        let mut new = false;
        for (text, bounds) in decoded {
            blank(&mut work, &bounds);
            if !found.contains(&text) {
                found.push(text);
                new = true;
            }
        }
        if !new {
            break;
        }
    }
    found
}

/// Paints the bounding box of a decoded code's corners white.
fn blank(img: &mut GrayImage, bounds: &[rqrr::Point; 4]) {
    let (w, h) = img.dimensions();
    let xs = bounds.iter().map(|p| p.x.max(0) as u32);
    let ys = bounds.iter().map(|p| p.y.max(0) as u32);
    let (x0, x1) = (xs.clone().min().unwrap_or(0), xs.max().unwrap_or(0).min(w.saturating_sub(1)));
    let (y0, y1) = (ys.clone().min().unwrap_or(0), ys.max().unwrap_or(0).min(h.saturating_sub(1)));
    for y in y0..=y1 {
        for x in x0..=x1 {
            img.put_pixel(x, y, Luma([255]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_join_round_trip() {
        let text: String =
            "CLB1.".chars().chain((0..3500).map(|i| (b'a' + (i % 26) as u8) as char)).collect();
        let parts = split(&text).expect("split");
        assert_eq!(parts.len(), 4);
        assert!(parts.iter().all(|p| p.starts_with("CLBQ1/")));
        let mut shuffled = parts.clone();
        shuffled.reverse();
        assert_eq!(join(&shuffled).expect("join"), text);
        assert!(join(&parts[..3]).is_err());
        let mut bad = parts.clone();
        bad[1] = bad[1].replacen("/4/", "/5/", 1);
        assert!(join(&bad).is_err());
        assert_eq!(split("CLB1.abc").expect("split"), vec!["CLB1.abc".to_owned()]);
    }

    #[test]
    fn image_round_trip() {
        let payload = format!("{PART_PREFIX}1/2/{}", "x".repeat(900));
        let img = to_image(&encode(&payload).expect("encode"));
        assert_eq!(decode_image(&img), vec![payload]);
    }
}
