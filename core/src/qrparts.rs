//! The multi-part QR format `CLBQ1` (`specs/qr-parts.md`): a bundle text too long for one QR code
//! is cut into at most [`MAX_PARTS`] parts `CLBQ1/<i>/<n>/<piece>`, and read back from them in any
//! order. The wallet (which writes and reads parts) and the browser verifier (which reads them)
//! both use this one module, so they accept and refuse exactly the same parts.
//!
//! Strict by design: `i` and `n` are decimal without sign or leading zero, `1 <= i <= n <=`
//! [`MAX_PARTS`]; a piece is 1 to [`MAX_PIECE_BYTES`] bytes; every part of one bundle names the
//! same `n`; an index seen twice must carry the same piece (an identical repeat is ignored, which
//! a camera scanning the same code twice needs). Everything is bounded; nothing panics.

use std::collections::BTreeMap;

/// Prefix of a part.
pub const PART_PREFIX: &str = "CLBQ1/";
/// Most parts one bundle may be split into.
pub const MAX_PARTS: usize = 64;
/// Longest piece in one part, in bytes. A text of at most this length is one code holding the
/// text itself, not a part.
pub const MAX_PIECE_BYTES: usize = 1000;
/// Longest text [`split`] accepts and [`Parts::joined`] can produce.
pub const MAX_TEXT_BYTES: usize = MAX_PARTS * MAX_PIECE_BYTES;

/// Why a text cannot be split or parts cannot be joined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PartsError {
    /// A text is not `CLBQ1/<i>/<n>/<piece>` with `1 <= i <= n <= 64` (decimal, no sign, no
    /// leading zero) and a piece of 1 to 1000 bytes.
    #[error("malformed CLBQ1 part")]
    Malformed,
    /// Parts name different totals: they come from different bundles.
    #[error("CLBQ1 parts of different bundles")]
    MixedTotals,
    /// Two different pieces under one index.
    #[error("two different CLBQ1 parts with the same index")]
    Conflict,
    /// Not every part is in yet.
    #[error("CLBQ1 part {missing} of {total} is missing")]
    Incomplete {
        /// The lowest missing index.
        missing: usize,
        /// The total the parts name.
        total: usize,
    },
    /// Nothing was given.
    #[error("no QR text given")]
    Empty,
    /// The text to split is not ASCII (a `CLB1.` text always is).
    #[error("bundle text is not ASCII")]
    NotAscii,
    /// The text to split needs more than [`MAX_PARTS`] parts.
    #[error("bundle text is too long for {MAX_PARTS} QR codes")]
    TooLong,
}

impl PartsError {
    /// A stable code for the error (used by `specs/vectors/qr-parts.json`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::MixedTotals => "mixed_totals",
            Self::Conflict => "conflict",
            Self::Incomplete { .. } => "incomplete",
            Self::Empty => "empty",
            Self::NotAscii => "not_ascii",
            Self::TooLong => "too_long",
        }
    }
}

/// One parsed part, borrowing its piece.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part<'a> {
    /// 1-based index.
    pub index: usize,
    /// Number of parts of the bundle.
    pub total: usize,
    /// The piece of bundle text.
    pub piece: &'a str,
}

impl<'a> Part<'a> {
    /// Parses one part strictly.
    pub fn parse(text: &'a str) -> Result<Self, PartsError> {
        let rest = text.strip_prefix(PART_PREFIX).ok_or(PartsError::Malformed)?;
        let mut fields = rest.splitn(3, '/');
        let (Some(i), Some(n), Some(piece)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(PartsError::Malformed);
        };
        let (index, total) = (parse_number(i)?, parse_number(n)?);
        if index > total || piece.is_empty() || piece.len() > MAX_PIECE_BYTES {
            return Err(PartsError::Malformed);
        }
        Ok(Self { index, total, piece })
    }
}

/// A decimal number without sign or leading zeros, 1 to [`MAX_PARTS`].
fn parse_number(s: &str) -> Result<usize, PartsError> {
    if s.is_empty() || s.len() > 2 || s.starts_with('0') || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PartsError::Malformed);
    }
    let n: usize = s.parse().map_err(|_| PartsError::Malformed)?;
    if n > MAX_PARTS {
        return Err(PartsError::Malformed);
    }
    Ok(n)
}

/// The QR payloads for a bundle text: the text itself when it is at most [`MAX_PIECE_BYTES`]
/// long, else `n` parts of consecutive pieces of at most [`MAX_PIECE_BYTES`] bytes.
pub fn split(text: &str) -> Result<Vec<String>, PartsError> {
    if text.is_empty() {
        return Err(PartsError::Empty);
    }
    if !text.is_ascii() {
        return Err(PartsError::NotAscii);
    }
    if text.len() <= MAX_PIECE_BYTES {
        return Ok(vec![text.to_owned()]);
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(PartsError::TooLong);
    }
    let n = text.len().div_ceil(MAX_PIECE_BYTES);
    let mut out = Vec::with_capacity(n);
    let mut rest = text;
    let mut i = 1;
    while !rest.is_empty() {
        // ASCII, so every byte offset is a character boundary.
        let (piece, tail) = rest.split_at(rest.len().min(MAX_PIECE_BYTES));
        out.push(format!("{PART_PREFIX}{i}/{n}/{piece}"));
        rest = tail;
        i += 1;
    }
    Ok(out)
}

/// Parts collected so far (for a reader that scans codes one at a time).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Parts {
    total: Option<usize>,
    pieces: BTreeMap<usize, String>,
}

impl Parts {
    /// Adds one scanned part. On error nothing changes.
    pub fn add(&mut self, text: &str) -> Result<(), PartsError> {
        let part = Part::parse(text)?;
        if self.total.is_some_and(|total| total != part.total) {
            return Err(PartsError::MixedTotals);
        }
        if let Some(seen) = self.pieces.get(&part.index) {
            return if seen == part.piece { Ok(()) } else { Err(PartsError::Conflict) };
        }
        self.total = Some(part.total);
        self.pieces.insert(part.index, part.piece.to_owned());
        Ok(())
    }

    /// Parts seen so far and the total (0 before the first part).
    pub fn progress(&self) -> (usize, usize) {
        (self.pieces.len(), self.total.unwrap_or(0))
    }

    /// The joined text once every part is in, else which part is missing.
    pub fn joined(&self) -> Result<String, PartsError> {
        let total = self.total.ok_or(PartsError::Empty)?;
        if let Some(missing) = (1..=total).find(|i| !self.pieces.contains_key(i)) {
            return Err(PartsError::Incomplete { missing, total });
        }
        Ok(self.pieces.values().map(String::as_str).collect())
    }
}

/// Joins every QR text read from one bundle: exactly one text that is not a part is the bundle
/// text itself; otherwise every text must be a part ([`Parts::add`]) and all parts must be
/// present.
pub fn join<S: AsRef<str>>(texts: &[S]) -> Result<String, PartsError> {
    match texts {
        [] => return Err(PartsError::Empty),
        [single] if !single.as_ref().starts_with(PART_PREFIX) => {
            return Ok(single.as_ref().to_owned())
        }
        _ => {}
    }
    if texts.len() > 4 * MAX_PARTS {
        return Err(PartsError::TooLong);
    }
    let mut parts = Parts::default();
    for text in texts {
        parts.add(text.as_ref())?;
    }
    parts.joined()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(len: usize) -> String {
        "CLB1.".chars().chain((0..len - 5).map(|i| char::from(b'a' + (i % 26) as u8))).collect()
    }

    #[test]
    fn split_and_join_round_trip_in_any_order() {
        let t = text(3505);
        let parts = split(&t).unwrap();
        assert_eq!(parts.len(), 4);
        assert!(parts[0].starts_with("CLBQ1/1/4/CLB1."));
        let mut shuffled = parts.clone();
        shuffled.reverse();
        shuffled.push(parts[1].clone());
        assert_eq!(join(&shuffled).unwrap(), t);
        assert_eq!(join(&parts[..3]), Err(PartsError::Incomplete { missing: 4, total: 4 }));
        assert_eq!(split("CLB1.abc").unwrap(), vec!["CLB1.abc".to_owned()]);
        assert_eq!(join(&["CLB1.abc"]).unwrap(), "CLB1.abc");
    }

    #[test]
    fn split_bounds() {
        assert_eq!(split(&text(MAX_PIECE_BYTES)).unwrap().len(), 1);
        assert_eq!(split(&text(MAX_PIECE_BYTES + 1)).unwrap().len(), 2);
        assert_eq!(split(&text(MAX_TEXT_BYTES)).unwrap().len(), MAX_PARTS);
        assert_eq!(split(&text(MAX_TEXT_BYTES + 1)), Err(PartsError::TooLong));
        assert_eq!(split(""), Err(PartsError::Empty));
        assert_eq!(split("CLB1.é"), Err(PartsError::NotAscii));
    }

    #[test]
    fn refuses_lenient_numbers_empty_pieces_and_out_of_range() {
        for bad in [
            "CLB1.x",
            "CLBQ1/0/2/x",
            "CLBQ1/3/2/x",
            "CLBQ1/1/65/x",
            "CLBQ1/01/2/x",
            "CLBQ1/1/02/x",
            "CLBQ1/+1/2/x",
            "CLBQ1/-1/2/x",
            "CLBQ1/ 1/2/x",
            "CLBQ1/1/2/",
            "CLBQ1/1/2",
            "CLBQ1//2/x",
            "CLBQ1/100/200/x",
            "clbq1/1/2/x",
        ] {
            assert_eq!(Parts::default().add(bad), Err(PartsError::Malformed), "{bad}");
        }
        let long = format!("CLBQ1/1/2/{}", "x".repeat(MAX_PIECE_BYTES + 1));
        assert_eq!(Parts::default().add(&long), Err(PartsError::Malformed));
    }

    #[test]
    fn refuses_mixed_and_conflicting_parts_and_keeps_state_on_error() {
        let mut parts = Parts::default();
        parts.add("CLBQ1/1/2/abc").unwrap();
        assert_eq!(parts.add("CLBQ1/2/3/def"), Err(PartsError::MixedTotals));
        assert_eq!(parts.add("CLBQ1/1/2/abd"), Err(PartsError::Conflict));
        assert_eq!(parts.progress(), (1, 2));
        parts.add("CLBQ1/2/2/def").unwrap();
        assert_eq!(parts.joined().unwrap(), "abcdef");
        assert_eq!(join(&["CLBQ1/1/2/abc", "CLB1.x"]), Err(PartsError::Malformed));
        assert_eq!(join::<&str>(&[]), Err(PartsError::Empty));
    }
}
