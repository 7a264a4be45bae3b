//! Shared checks for the fuzz targets: a decoder must never panic, and whatever it accepts must
//! survive decode -> encode -> decode unchanged.

use certledger_core::codec::{Decode, Encode};

/// Binary codec types of core are canonical: an accepted input re-encodes to the same bytes.
pub fn canonical<T: Encode + Decode + PartialEq + std::fmt::Debug>(bytes: &[u8]) {
    if let Ok(v) = T::from_bytes(bytes) {
        let again = v.to_bytes();
        assert_eq!(again, bytes, "non-canonical input accepted");
        let back = T::from_bytes(&again);
        assert_eq!(back.as_ref().ok(), Some(&v), "re-encoding does not decode to the same value");
    }
}

/// The input as text, for the text decoders (lossy, so every input reaches them).
pub fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}
