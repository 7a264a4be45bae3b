//! Bundles split over several QR codes: the `CLBQ1/<i>/<n>/<piece>` parts of `specs/wallet.md`.
//!
//! A reader collects parts in any order; every part must name the same `n` (at most
//! [`MAX_PARTS`]), each index `1..=n` must appear once (an identical repeat is ignored, a different
//! piece under a seen index is an error), and the pieces joined in index order are the `CLB1.` text.

use std::collections::BTreeMap;

/// Prefix of a part.
pub const PART_PREFIX: &str = "CLBQ1/";
/// Most parts one bundle may be split into.
pub const MAX_PARTS: usize = 64;
/// Longest piece in one part, in bytes.
pub const MAX_PIECE_BYTES: usize = 1000;

/// Why parts cannot be joined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PartsError {
    /// A text is not `CLBQ1/<i>/<n>/<piece>` with `1 <= i <= n <= 64` and a bounded piece.
    #[error("malformed CLBQ1 part")]
    Malformed,
    /// Parts name different totals.
    #[error("CLBQ1 parts of different bundles")]
    MixedTotals,
    /// Two different pieces under one index.
    #[error("two different CLBQ1 parts with the same index")]
    Conflict,
}

/// Parts collected so far.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Parts {
    total: Option<usize>,
    pieces: BTreeMap<usize, String>,
}

impl Parts {
    /// Adds one scanned part.
    pub fn add(&mut self, text: &str) -> Result<(), PartsError> {
        let rest = text.strip_prefix(PART_PREFIX).ok_or(PartsError::Malformed)?;
        let mut fields = rest.splitn(3, '/');
        let (Some(i), Some(n), Some(piece)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(PartsError::Malformed);
        };
        let (i, n) = (parse_index(i)?, parse_index(n)?);
        if i > n || n > MAX_PARTS || piece.is_empty() || piece.len() > MAX_PIECE_BYTES {
            return Err(PartsError::Malformed);
        }
        if self.total.is_some_and(|total| total != n) {
            return Err(PartsError::MixedTotals);
        }
        if let Some(seen) = self.pieces.get(&i) {
            return if seen == piece { Ok(()) } else { Err(PartsError::Conflict) };
        }
        self.total = Some(n);
        self.pieces.insert(i, piece.to_owned());
        Ok(())
    }

    /// Parts seen so far and the total (0 before the first part).
    pub fn progress(&self) -> (usize, usize) {
        (self.pieces.len(), self.total.unwrap_or(0))
    }

    /// The joined text once every part is in.
    pub fn joined(&self) -> Option<String> {
        let total = self.total?;
        (self.pieces.len() == total).then(|| self.pieces.values().map(String::as_str).collect())
    }
}

/// A decimal index without sign or leading zeros, 1 to [`MAX_PARTS`].
fn parse_index(s: &str) -> Result<usize, PartsError> {
    if s.is_empty() || s.len() > 2 || s.starts_with('0') || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PartsError::Malformed);
    }
    s.parse().map_err(|_| PartsError::Malformed)
}

/// For the page: adds `texts` (JSON array of scanned QR texts) to the parts in `state_json` (a
/// previous answer's `parts`, or `[]`) and answers `{"complete", "text", "have", "total",
/// "parts"}` as JSON, or an error message.
pub fn collect_json(state_json: &str, texts_json: &str) -> Result<String, PartsError> {
    let mut parts = Parts::default();
    let previous: Vec<String> =
        serde_json::from_str(state_json).map_err(|_| PartsError::Malformed)?;
    let new: Vec<String> = serde_json::from_str(texts_json).map_err(|_| PartsError::Malformed)?;
    if previous.len() + new.len() > 4 * MAX_PARTS {
        return Err(PartsError::Malformed);
    }
    let mut accepted = Vec::new();
    for text in previous.iter().chain(&new) {
        parts.add(text)?;
        if !accepted.contains(text) {
            accepted.push(text.clone());
        }
    }
    let (have, total) = parts.progress();
    let text = parts.joined();
    Ok(serde_json::json!({
        "complete": text.is_some(), "text": text, "have": have, "total": total, "parts": accepted,
    })
    .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str, size: usize) -> Vec<String> {
        let chunks: Vec<&[u8]> = text.as_bytes().chunks(size).collect();
        let n = chunks.len();
        chunks
            .iter()
            .enumerate()
            .map(|(i, c)| format!("CLBQ1/{}/{n}/{}", i + 1, std::str::from_utf8(c).unwrap()))
            .collect()
    }

    #[test]
    fn joins_parts_in_any_order_and_ignores_repeats() {
        let text = format!("CLB1.{}", "abcdefghij".repeat(250));
        let mut pieces = split(&text, 1000);
        assert_eq!(pieces.len(), 3);
        pieces.reverse();
        let mut parts = Parts::default();
        parts.add(&pieces[0]).unwrap();
        parts.add(&pieces[0]).unwrap();
        assert_eq!(parts.progress(), (1, 3));
        assert_eq!(parts.joined(), None);
        parts.add(&pieces[1]).unwrap();
        parts.add(&pieces[2]).unwrap();
        assert_eq!(parts.joined().as_deref(), Some(text.as_str()));
    }

    #[test]
    fn refuses_malformed_mixed_and_conflicting_parts() {
        let mut parts = Parts::default();
        for bad in [
            "CLB1.x",
            "CLBQ1/0/2/x",
            "CLBQ1/3/2/x",
            "CLBQ1/1/65/x",
            "CLBQ1/01/2/x",
            "CLBQ1/1/2/",
            "CLBQ1/+1/2/x",
            "CLBQ1/1/2",
        ] {
            assert_eq!(parts.add(bad), Err(PartsError::Malformed), "{bad}");
        }
        assert_eq!(
            parts.add(&format!("CLBQ1/1/2/{}", "x".repeat(1001))),
            Err(PartsError::Malformed)
        );
        parts.add("CLBQ1/1/2/abc").unwrap();
        assert_eq!(parts.add("CLBQ1/2/3/def"), Err(PartsError::MixedTotals));
        assert_eq!(parts.add("CLBQ1/1/2/abd"), Err(PartsError::Conflict));
    }

    #[test]
    fn collect_json_accumulates_state() {
        let first = collect_json("[]", r#"["CLBQ1/2/2/def"]"#).unwrap();
        let v: serde_json::Value = serde_json::from_str(&first).unwrap();
        assert_eq!(
            (v["complete"].as_bool(), v["have"].as_u64(), v["total"].as_u64()),
            (Some(false), Some(1), Some(2))
        );
        let done = collect_json(&v["parts"].to_string(), r#"["CLBQ1/1/2/CLB1.abc"]"#).unwrap();
        let v: serde_json::Value = serde_json::from_str(&done).unwrap();
        assert_eq!(v["text"], "CLB1.abcdef");
        assert!(collect_json("[]", "{").is_err());
    }
}
