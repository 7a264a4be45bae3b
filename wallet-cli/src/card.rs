//! The printable credential: a PNG with the presentation's QR code(s) and bilingual text.
//!
//! Text is drawn with `ab_glyph` from a font found at run time: `$CERTLEDGER_WALLET_FONT`, then
//! the CJK fonts Debian ships (`fonts-wqy-microhei`, `fonts-wqy-zenhei`, `fonts-noto-cjk`), then
//! Latin fonts (DejaVu, Liberation). Without a CJK font the card is English-only and the command
//! says so; without any font (or with `CERTLEDGER_WALLET_FONT=none`) it holds the QR codes only.

use std::path::{Path, PathBuf};

use ab_glyph::{Font as _, FontVec, PxScale, ScaleFont as _};
use image::{GrayImage, Luma};

/// Env var naming a font file to use.
pub const FONT_ENV: &str = "CERTLEDGER_WALLET_FONT";
/// Largest text a card is printed from, in bytes.
pub const MAX_CARD_INPUT_BYTES: usize = 64 * 1024 * 1024;

const CJK_FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
];
const LATIN_FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

/// A loaded font and whether it can draw Chinese.
pub struct LoadedFont {
    font: FontVec,
    /// The file it came from.
    pub path: PathBuf,
    /// Whether it has CJK glyphs.
    pub cjk: bool,
}

fn load(path: &Path) -> Option<LoadedFont> {
    let data = std::fs::read(path).ok()?;
    if data.len() > MAX_CARD_INPUT_BYTES {
        return None;
    }
    let font = FontVec::try_from_vec_and_index(data, 0).ok()?;
    let cjk = font.glyph_id('证').0 != 0 && font.glyph_id('照').0 != 0;
    Some(LoadedFont { font, path: path.to_owned(), cjk })
}

/// Finds the best available font.
pub fn find_font() -> Option<LoadedFont> {
    if let Some(p) = std::env::var_os(FONT_ENV) {
        if p == "none" {
            return None;
        }
        if let Some(f) = load(Path::new(&p)) {
            return Some(f);
        }
    }
    CJK_FONTS.iter().chain(LATIN_FONTS).find_map(|p| load(Path::new(p)))
}

/// One line of text on the card.
pub struct Line {
    /// The text.
    pub text: String,
    /// Pixel size.
    pub size: f32,
}

/// Draws `lines` above the QR `codes` (laid out in rows) onto a white card.
pub fn render(font: Option<&LoadedFont>, lines: &[Line], codes: &[GrayImage]) -> GrayImage {
    const MARGIN: u32 = 40;
    const GAP: u32 = 20;
    let line_heights: Vec<u32> = lines.iter().map(|l| (l.size * 1.4).ceil() as u32).collect();
    let text_h: u32 = if font.is_some() { line_heights.iter().sum() } else { 0 };
    let code_side = codes.iter().map(GrayImage::width).max().unwrap_or(0);
    let per_row = if codes.len() <= 1 { 1 } else { 2 };
    let rows = u32::try_from(codes.len().div_ceil(per_row)).unwrap_or(0);
    let per_row_u = u32::try_from(per_row).unwrap_or(1);
    let text_w =
        font.map_or(0, |f| lines.iter().map(|l| text_width(f, &l.text, l.size)).max().unwrap_or(0));
    let width = (per_row_u * code_side + (per_row_u - 1) * GAP).max(text_w).max(600) + 2 * MARGIN;
    let height = 2 * MARGIN + text_h + GAP + rows * (code_side + GAP);
    let mut img = GrayImage::from_pixel(width, height, Luma([255]));
    let mut y = MARGIN;
    if let Some(f) = font {
        for (line, h) in lines.iter().zip(&line_heights) {
            draw_text(&mut img, f, &line.text, line.size, MARGIN, y);
            y += h;
        }
    }
    y += GAP;
    for (i, code) in codes.iter().enumerate() {
        let col = u32::try_from(i % per_row).unwrap_or(0);
        let row = u32::try_from(i / per_row).unwrap_or(0);
        let x0 = MARGIN + col * (code_side + GAP);
        let y0 = y + row * (code_side + GAP);
        image::imageops::overlay(&mut img, code, i64::from(x0), i64::from(y0));
    }
    img
}

fn text_width(font: &LoadedFont, text: &str, size: f32) -> u32 {
    let scaled = font.font.as_scaled(PxScale::from(size));
    text.chars().map(|c| scaled.h_advance(font.font.glyph_id(c))).sum::<f32>().ceil() as u32
}

fn draw_text(img: &mut GrayImage, font: &LoadedFont, text: &str, size: f32, x: u32, y: u32) {
    let scale = PxScale::from(size);
    let scaled = font.font.as_scaled(scale);
    let baseline = y as f32 + scaled.ascent();
    let mut pen = x as f32;
    for c in text.chars() {
        let id = font.font.glyph_id(c);
        let glyph = id.with_scale_and_position(scale, ab_glyph::point(pen, baseline));
        pen += scaled.h_advance(id);
        let Some(outlined) = font.font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outlined.px_bounds();
        outlined.draw(|gx, gy, coverage| {
            let px = bounds.min.x as i64 + i64::from(gx);
            let py = bounds.min.y as i64 + i64::from(gy);
            let (Ok(px), Ok(py)) = (u32::try_from(px), u32::try_from(py)) else {
                return;
            };
            if let Some(p) = img.get_pixel_mut_checked(px, py) {
                let ink = (coverage.clamp(0.0, 1.0) * 255.0) as u8;
                p.0[0] = p.0[0].min(255 - ink);
            }
        });
    }
}
