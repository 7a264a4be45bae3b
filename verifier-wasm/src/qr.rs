//! QR codes: requests are shown as SVG; bundles and requests are read from images and camera
//! frames. Encoding uses the `qrcode` crate; reading is core's `qrscan` (the wallet's reader too).

use certledger_core::qrscan;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// Longest text rendered as a QR code, in bytes (version 40 at level M holds 2,331 bytes).
pub const MAX_QR_TEXT_BYTES: usize = 2331;
/// Largest image side accepted for decoding, in pixels (core's reader limit).
pub const MAX_IMAGE_SIDE: u32 = qrscan::MAX_IMAGE_SIDE as u32;
/// Smallest rendered QR code side, in pixels.
const MIN_SVG_SIDE: u32 = 320;

/// Why a QR code could not be made or read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The text is empty or longer than a QR code can hold.
    #[error("text does not fit in a QR code")]
    TextTooLong,
    /// The image size is zero, over the maximum, or does not match the pixel data.
    #[error("image data does not match its width and height")]
    BadImage,
    /// No QR code could be found and decoded in the image.
    #[error("no readable QR code in the image")]
    NotFound,
}

/// `text` as a QR code (error correction M, with quiet zone) in an SVG document.
pub fn svg(text: &str) -> Result<String, QrError> {
    if text.is_empty() || text.len() > MAX_QR_TEXT_BYTES {
        return Err(QrError::TextTooLong);
    }
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|_| QrError::TextTooLong)?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(MIN_SVG_SIDE, MIN_SVG_SIDE)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build())
}

/// The text of the first decodable QR code in an RGBA image of `width` x `height` pixels.
pub fn decode_rgba(rgba: &[u8], width: u32, height: u32) -> Result<String, QrError> {
    decode_rgba_all(rgba, width, height)?.into_iter().next().ok_or(QrError::NotFound)
}

/// The texts of every decodable QR code in an RGBA image (for example a printed card carrying
/// all `CLBQ1` parts of a bundle), in the order found; at least one, or [`QrError::NotFound`].
/// The reading itself is core's (`certledger_core::qrscan`, the wallet's reader too).
pub fn decode_rgba_all(rgba: &[u8], width: u32, height: u32) -> Result<Vec<String>, QrError> {
    if width == 0 || height == 0 || width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
        return Err(QrError::BadImage);
    }
    let (w, h) = (width as usize, height as usize);
    if w.checked_mul(h).and_then(|n| n.checked_mul(4)) != Some(rgba.len()) {
        return Err(QrError::BadImage);
    }
    // Luma from RGB (ITU-R BT.601 weights), composited over white so transparent pixels of a
    // PNG or SVG read as background.
    let mut grey: Vec<u8> = rgba
        .chunks_exact(4)
        .map(|p| match *p {
            [r, g, b, a] => {
                let luma = (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b)) / 1000;
                let a = u32::from(a);
                ((luma * a + 255 * (255 - a)) / 255) as u8
            }
            _ => 255,
        })
        .collect();
    let texts = qrscan::decode_all(&mut grey, w, h).map_err(|_| QrError::BadImage)?;
    if texts.is_empty() {
        return Err(QrError::NotFound);
    }
    Ok(texts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders `text` with the `qrcode` crate's own pixel grid at `scale` pixels per module, as
    /// RGBA, so decoding is tested without a browser.
    fn rgba_of(text: &str, scale: usize) -> (Vec<u8>, u32) {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).unwrap();
        let modules = code.width();
        let side = (modules + 8) * scale;
        let colors = code.to_colors();
        let mut out = vec![255u8; side * side * 4];
        for y in 0..side {
            for x in 0..side {
                let (mx, my) = ((x / scale) as isize - 4, (y / scale) as isize - 4);
                let dark = mx >= 0
                    && my >= 0
                    && (mx as usize) < modules
                    && (my as usize) < modules
                    && colors[my as usize * modules + mx as usize] == qrcode::Color::Dark;
                if dark {
                    let i = (y * side + x) * 4;
                    out[i..i + 3].copy_from_slice(&[0, 0, 0]);
                }
            }
        }
        (out, side as u32)
    }

    #[test]
    fn svg_is_an_svg_document() {
        let s = svg("CLR1.AAAA").unwrap();
        assert!(s.contains("<svg"), "{s}");
        assert!(s.contains("#000000"));
        assert_eq!(svg(""), Err(QrError::TextTooLong));
        assert_eq!(svg(&"x".repeat(MAX_QR_TEXT_BYTES + 1)), Err(QrError::TextTooLong));
    }

    #[test]
    fn decodes_what_it_encodes() {
        let text = format!("CLR1.{}", "abcdefghij_-0123456789".repeat(12));
        let (rgba, side) = rgba_of(&text, 4);
        assert_eq!(decode_rgba(&rgba, side, side).unwrap(), text);
    }

    /// Two codes side by side on one white card (RGBA), as a wallet prints a two-part bundle.
    #[test]
    fn reads_both_codes_of_a_two_code_card() {
        let texts = [
            "CLBQ1/1/2/CLB1.".to_owned() + &"Ab".repeat(300),
            "CLBQ1/2/2/".to_owned() + &"cD".repeat(300),
        ];
        let codes: Vec<(Vec<u8>, u32)> = texts.iter().map(|t| rgba_of(t, 4)).collect();
        let side = codes.iter().map(|(_, s)| *s).max().unwrap() as usize;
        let (w, h) = (2 * side + 20, side);
        let mut card = vec![255u8; w * h * 4];
        for (i, (rgba, s)) in codes.iter().enumerate() {
            let s = *s as usize;
            for y in 0..s {
                let dst = (y * w + i * (side + 20)) * 4;
                card[dst..dst + s * 4].copy_from_slice(&rgba[y * s * 4..(y + 1) * s * 4]);
            }
        }
        let mut got = decode_rgba_all(&card, w as u32, h as u32).unwrap();
        got.sort();
        assert_eq!(got, texts.to_vec());
    }

    #[test]
    fn refuses_mismatched_or_empty_images() {
        assert_eq!(decode_rgba(&[], 0, 0), Err(QrError::BadImage));
        assert_eq!(decode_rgba(&[0; 15], 2, 2), Err(QrError::BadImage));
        assert_eq!(decode_rgba(&[0; 16], 2, 2), Err(QrError::NotFound));
        assert_eq!(decode_rgba(&[255; 64 * 64 * 4], 64, 64), Err(QrError::NotFound));
        assert_eq!(decode_rgba(&[0; 4], MAX_IMAGE_SIDE + 1, 1), Err(QrError::BadImage));
    }
}
