//! QR codes for bundles: terminal and PNG rendering, and decoding PNGs. Splitting a long bundle
//! text into `CLBQ1` parts and joining them back is core's (`certledger_core::qrparts`,
//! `specs/qr-parts.md`), shared with the browser verifier. Codes use error-correction level M,
//! which keeps each code scannable from paper and screens (`specs/wallet.md`).

use certledger_core::qrparts;
use certledger_core::qrscan;
use image::imageops::FilterType;
use image::{GrayImage, Luma};
use qrcode::{Color, EcLevel, QrCode};

use crate::error::{usage, CmdResult};

/// Pixels per module in PNG output.
pub const MODULE_PX: u32 = 4;
/// Quiet zone, in modules.
pub const QUIET_MODULES: u32 = 4;

/// The QR payloads for a bundle text (`qrparts::split`).
pub fn split(text: &str) -> CmdResult<Vec<String>> {
    qrparts::split(text).map_err(|e| usage(format!("cannot show the bundle as QR codes: {e}")))
}

/// Joins the QR texts read from one bundle back into its text (`qrparts::join`).
pub fn join(texts: &[String]) -> CmdResult<String> {
    qrparts::join(texts).map_err(|e| usage(e.to_string()))
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

/// Every QR payload found in an image, by core's one reader (`certledger_core::qrscan`, shared
/// with the browser page: each decoded code is blanked and the rest decoded again). An image
/// larger than [`qrscan::MAX_IMAGE_SIDE`] a side is scaled down to it first.
pub fn decode_image(img: &GrayImage) -> Vec<String> {
    let max = u32::try_from(qrscan::MAX_IMAGE_SIDE).unwrap_or(u32::MAX);
    let (w, h) = img.dimensions();
    let work = if w > max || h > max {
        let scale = f64::from(max) / f64::from(w.max(h));
        let (nw, nh) = ((f64::from(w) * scale) as u32, (f64::from(h) * scale) as u32);
        image::imageops::resize(img, nw.clamp(1, max), nh.clamp(1, max), FilterType::Triangle)
    } else {
        img.clone()
    };
    let (w, h) = (work.width() as usize, work.height() as usize);
    qrscan::decode_all(&mut work.into_raw(), w, h).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wallet used to accept `01`, `+1` and empty pieces that the browser refused; it now
    /// refuses every part core refuses (`specs/vectors/qr-parts.json`).
    #[test]
    fn join_refuses_what_the_browser_refuses() {
        for parts in [
            ["CLBQ1/01/2/CLB1.AA", "CLBQ1/2/2/BB"],
            ["CLBQ1/+1/2/CLB1.AA", "CLBQ1/2/2/BB"],
            ["CLBQ1/1/2/CLB1.AA", "CLBQ1/2/2/"],
            ["CLBQ1/1/2/CLB1.AA", "CLBQ1/2/3/BB"],
            ["CLBQ1/1/2/CLB1.AA", "CLBQ1/1/2/CLB1.AB"],
        ] {
            let parts: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
            assert!(join(&parts).is_err(), "{parts:?}");
        }
        let ok = ["CLBQ1/2/2/BB".to_owned(), "CLBQ1/1/2/CLB1.AA".to_owned()];
        assert_eq!(join(&ok).expect("join"), "CLB1.AABB");
    }

    /// The shared vectors (`specs/vectors/qr-parts.json`) through the wallet's entry point.
    #[test]
    fn shared_vectors_through_the_wallet() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../specs/vectors/qr-parts.json")).expect("json");
        for case in doc["join"].as_array().expect("join") {
            let texts: Vec<String> = case["texts"]
                .as_array()
                .expect("texts")
                .iter()
                .map(|t| t.as_str().expect("text").to_owned())
                .collect();
            match (join(&texts), case["expect"]["text"].as_str()) {
                (Ok(got), Some(want)) => assert_eq!(got, want, "{}", case["name"]),
                (Err(_), None) => {}
                (got, _) => panic!("{}: {:?}", case["name"], got.map_err(|f| f.error.to_string())),
            }
        }
    }

    #[test]
    fn image_round_trip() {
        let payload = format!("{}1/2/{}", qrparts::PART_PREFIX, "x".repeat(900));
        let img = to_image(&encode(&payload).expect("encode"));
        assert_eq!(decode_image(&img), vec![payload]);
    }
}
