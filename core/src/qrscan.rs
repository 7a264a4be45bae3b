//! Reading every QR code in a greyscale image, for example a photographed paper card carrying all
//! `CLBQ1` parts of a bundle (`specs/qr-parts.md` §4). One implementation for the wallet and the
//! browser page, so both read a card equally well.
//!
//! `rqrr` can group the finder patterns of neighbouring codes wrongly and then misses a code; so
//! each decoded code is blanked (its bounding box painted white) and the image decoded again,
//! until a pass finds nothing new. Passes, image size and the number of texts are bounded.

use crate::qrparts::MAX_PARTS;

/// Largest image side accepted, in pixels (a 16-megapixel photograph; callers scale larger ones
/// down first).
pub const MAX_IMAGE_SIDE: usize = 4096;
/// Most decode passes over one image: every pass but the last finds at least one new code, and a
/// card holds at most [`MAX_PARTS`] codes.
pub const MAX_PASSES: usize = MAX_PARTS;
/// Most distinct texts returned from one image.
pub const MAX_TEXTS: usize = 4 * MAX_PARTS;

/// Why an image could not be scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// A side is zero or over [`MAX_IMAGE_SIDE`], or the pixel data does not match the sides.
    #[error("image size is zero, over {MAX_IMAGE_SIDE} pixels a side, or does not match its data / 图像尺寸为零、超过上限或与数据不符")]
    BadImage,
}

/// Every distinct QR text in a `width` x `height` greyscale image (one byte per pixel, row by
/// row; 0 black, 255 white), in the order found; empty when there is none. `grey` is used as the
/// work area: decoded codes are painted white in it.
pub fn decode_all(grey: &mut [u8], width: usize, height: usize) -> Result<Vec<String>, ScanError> {
    if width == 0 || height == 0 || width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
        return Err(ScanError::BadImage);
    }
    if width.checked_mul(height) != Some(grey.len()) {
        return Err(ScanError::BadImage);
    }
    let mut found: Vec<String> = Vec::new();
    for _ in 0..MAX_PASSES {
        let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
            grey.get(y * width + x).copied().unwrap_or(255)
        });
        let decoded: Vec<(String, [rqrr::Point; 4])> = prepared
            .detect_grids()
            .into_iter()
            .filter_map(|grid| grid.decode().ok().map(|(_, text)| (text, grid.bounds)))
            .collect();
        let mut new = false;
        for (text, bounds) in decoded {
            blank(grey, width, height, &bounds);
            if found.len() < MAX_TEXTS && !found.contains(&text) {
                found.push(text);
                new = true;
            }
        }
        if !new || found.len() >= MAX_TEXTS {
            break;
        }
    }
    Ok(found)
}

/// Paints the bounding box of a decoded code's corners white (clamped to the image).
fn blank(grey: &mut [u8], width: usize, height: usize, bounds: &[rqrr::Point; 4]) {
    let clamp = |v: i32, side: usize| usize::try_from(v.max(0)).unwrap_or(0).min(side - 1);
    let xs = bounds.iter().map(|p| clamp(p.x, width));
    let ys = bounds.iter().map(|p| clamp(p.y, height));
    let (Some(x0), Some(x1)) = (xs.clone().min(), xs.max()) else { return };
    let (Some(y0), Some(y1)) = (ys.clone().min(), ys.max()) else { return };
    for y in y0..=y1 {
        if let Some(row) = grey.get_mut(y * width + x0..=y * width + x1) {
            row.fill(255);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `side` x `side` white image.
    fn white(side: usize) -> Vec<u8> {
        vec![255; side * side]
    }

    /// A card laid out as the wallet prints one (`wallet-cli/src/card.rs`): codes of `texts` at
    /// 4 px a module with a 4-module quiet zone, two per row, 20 px apart, 40 px margin.
    fn card(texts: &[String]) -> (Vec<u8>, usize, usize) {
        const PX: usize = 4;
        let codes: Vec<qrcode::QrCode> = texts
            .iter()
            .map(|t| qrcode::QrCode::with_error_correction_level(t.as_bytes(), qrcode::EcLevel::M))
            .collect::<Result<_, _>>()
            .expect("encode");
        let side = codes.iter().map(|c| (c.width() + 8) * PX).max().unwrap_or(0);
        let rows = texts.len().div_ceil(2);
        let (w, h) = (2 * 40 + 2 * side + 20, 2 * 40 + rows * (side + 20));
        let mut img = vec![255u8; w * h];
        for (i, code) in codes.iter().enumerate() {
            let (x0, y0) = (40 + (i % 2) * (side + 20), 40 + (i / 2) * (side + 20));
            let colors = code.to_colors();
            for my in 0..code.width() {
                for mx in 0..code.width() {
                    if colors[my * code.width() + mx] == qrcode::Color::Dark {
                        for dy in 0..PX {
                            let row = (y0 + (my + 4) * PX + dy) * w;
                            let x = x0 + (mx + 4) * PX;
                            img[row + x..row + x + PX].fill(0);
                        }
                    }
                }
            }
        }
        (img, w, h)
    }

    /// The parts of a real bundle-sized text, as `wallet print` puts them on a card.
    fn parts(n: usize) -> Vec<String> {
        let piece = crate::qrparts::MAX_PIECE_BYTES;
        let text = format!(
            "CLB1.{}",
            "AbCd0123_-".repeat(n * piece / 10).get(..n * piece - 5).unwrap_or("")
        );
        crate::qrparts::split(&text).expect("split")
    }

    #[test]
    fn reads_every_code_of_a_printed_card() {
        for n in [1, 2, 3, 5, 6] {
            let texts = parts(n);
            assert_eq!(texts.len(), n);
            let (mut img, w, h) = card(&texts);
            let mut got = decode_all(&mut img, w, h).expect("scan");
            got.sort();
            let mut want = texts.clone();
            want.sort();
            assert_eq!(got, want, "{n} codes");
        }
    }

    #[test]
    fn stops_after_a_pass_with_nothing_new_and_returns_each_text_once() {
        let same = vec![parts(1)[0].clone(), parts(1)[0].clone()];
        let (mut img, w, h) = card(&same);
        assert_eq!(decode_all(&mut img, w, h).expect("scan"), vec![same[0].clone()]);
        // Everything found was painted over.
        let (mut again, w, h) = card(&same);
        decode_all(&mut again, w, h).expect("scan");
        assert_eq!(decode_all(&mut again, w, h), Ok(Vec::new()));
    }

    #[test]
    fn refuses_bad_sizes_before_reading() {
        assert_eq!(decode_all(&mut [], 0, 0), Err(ScanError::BadImage));
        assert_eq!(decode_all(&mut [0; 3], 2, 2), Err(ScanError::BadImage));
        assert_eq!(decode_all(&mut [0; 4], MAX_IMAGE_SIDE + 1, 1), Err(ScanError::BadImage));
        assert_eq!(decode_all(&mut white(64), 64, 64), Ok(Vec::new()));
    }

    #[test]
    fn blanking_stays_inside_the_image() {
        let mut img = vec![0u8; 10 * 8];
        let p = |x, y| rqrr::Point { x, y };
        blank(&mut img, 10, 8, &[p(-5, -5), p(20, -5), p(20, 30), p(-5, 30)]);
        assert!(img.iter().all(|&v| v == 255));
        let mut img = vec![0u8; 10 * 8];
        blank(&mut img, 10, 8, &[p(2, 3), p(4, 3), p(4, 5), p(2, 5)]);
        assert_eq!(img.iter().filter(|&&v| v == 255).count(), 9);
        assert_eq!(img[3 * 10 + 2], 255);
        assert_eq!(img[3 * 10 + 1], 0);
    }
}
