//! Strict JSON input and RFC 8785 (JCS) canonicalisation.
//!
//! Every JSON text that reaches core from outside (SD-JWT headers, payloads and disclosures,
//! Data Integrity documents, presentation requests) goes through [`parse_strict`]:
//! - the text is at most [`MAX_JSON_BYTES`] bytes and nests at most [`MAX_DEPTH`] levels;
//! - an object with a repeated member name is refused (I-JSON, RFC 7493 section 2.3), so two
//!   parsers can never disagree about which value a name carries;
//! - invalid UTF-8 escapes (lone surrogates), trailing text and other syntax errors are refused.
//!
//! Canonical bytes come from [`canonicalize`], which is RFC 8785: object members sorted by the
//! UTF-16 code units of their names, no insignificant whitespace, ECMAScript number formatting and
//! minimal string escaping. It is implemented by the `serde_json_canonicalizer` crate, which
//! reproduces every cyberphone test vector (`core/tests/jcs_vectors.rs`); see
//! `specs/credentials.md`.
//!
//! JCS writes every number as an IEEE 754 double, so an integer beyond 2^53 would be rounded
//! (9007199254740993 is written as 9007199254740992): two different documents would have one
//! canonical form and one signature would cover both. [`canonicalize`] therefore refuses any
//! integer outside the I-JSON safe range `-(2^53 - 1) ..= 2^53 - 1` (RFC 7493 section 2.2);
//! a signed document that needs a larger number must carry it as a string.

use core::cell::Cell;
use core::fmt;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Largest JSON text [`parse_strict`] accepts, in bytes.
pub const MAX_JSON_BYTES: usize = 256 * 1024;
/// Deepest nesting of arrays and objects [`parse_strict`] accepts (the top level is depth 1).
pub const MAX_DEPTH: usize = 32;

/// Why a JSON text was refused or could not be canonicalised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// An object repeats a member name.
    #[error("duplicate object member name")]
    DuplicateKey,
    /// Not valid JSON (syntax, bad escape, lone surrogate, trailing text).
    #[error("invalid JSON")]
    Syntax,
    /// The text is longer than [`MAX_JSON_BYTES`] (or the caller's own bound).
    #[error("JSON text too large")]
    TooLarge,
    /// Arrays and objects nest deeper than [`MAX_DEPTH`].
    #[error("JSON nested too deeply")]
    TooDeep,
    /// The value cannot be written canonically (for example a non-finite number).
    #[error("value has no canonical JSON form")]
    Unrepresentable,
}

/// Parses `text` strictly (see the module docs) into a `serde_json::Value`.
pub fn parse_strict(text: &str) -> Result<Value, JsonError> {
    parse_strict_bounded(text, MAX_JSON_BYTES)
}

/// [`parse_strict`] with a tighter size bound `max_bytes` (never looser than [`MAX_JSON_BYTES`]).
pub fn parse_strict_bounded(text: &str, max_bytes: usize) -> Result<Value, JsonError> {
    if text.len() > max_bytes.min(MAX_JSON_BYTES) {
        return Err(JsonError::TooLarge);
    }
    let reason = Cell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let value = StrictSeed { depth: 0, reason: &reason }
        .deserialize(&mut de)
        .map_err(|_| reason.get().unwrap_or(JsonError::Syntax))?;
    de.end().map_err(|_| JsonError::Syntax)?;
    Ok(value)
}

/// Parses `bytes` as UTF-8 and then strictly as JSON.
pub fn parse_strict_bytes(bytes: &[u8]) -> Result<Value, JsonError> {
    if bytes.len() > MAX_JSON_BYTES {
        return Err(JsonError::TooLarge);
    }
    let text = core::str::from_utf8(bytes).map_err(|_| JsonError::Syntax)?;
    parse_strict(text)
}

/// Largest integer magnitude [`canonicalize`] accepts: `2^53 - 1`, the largest of the range in
/// which every integer is exactly an IEEE 754 double.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The RFC 8785 canonical form of `value`, as text. Refuses ([`JsonError::Unrepresentable`]) a
/// non-finite number and an integer beyond [`MAX_SAFE_INTEGER`] in magnitude (see the module
/// docs).
pub fn canonicalize(value: &Value) -> Result<String, JsonError> {
    if !integers_are_safe(value) {
        return Err(JsonError::Unrepresentable);
    }
    serde_json_canonicalizer::to_string(value).map_err(|_| JsonError::Unrepresentable)
}

/// Whether every integer in `value` is within [`MAX_SAFE_INTEGER`] in magnitude (an explicit
/// stack, so a deep value built by code cannot exhaust the call stack).
fn integers_are_safe(value: &Value) -> bool {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Number(n) => {
                let magnitude = n.as_u64().or_else(|| n.as_i64().map(i64::unsigned_abs));
                if magnitude.is_some_and(|m| m > MAX_SAFE_INTEGER) {
                    return false;
                }
            }
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.values()),
            Value::Null | Value::Bool(_) | Value::String(_) => {}
        }
    }
    true
}

/// The RFC 8785 canonical form of the JSON `text`, parsed strictly first.
pub fn canonicalize_str(text: &str) -> Result<String, JsonError> {
    canonicalize(&parse_strict(text)?)
}

/// Builds a `Value` while counting depth and refusing repeated member names. The precise refusal
/// is left in `reason`, because serde_json only carries its own error type out.
struct StrictSeed<'a> {
    depth: usize,
    reason: &'a Cell<Option<JsonError>>,
}

impl StrictSeed<'_> {
    fn refuse<E: serde::de::Error>(&self, why: JsonError) -> E {
        self.reason.set(Some(why));
        E::custom(why)
    }

    fn child(&self) -> Self {
        StrictSeed { depth: self.depth + 1, reason: self.reason }
    }
}

impl<'de> DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        match Number::from_f64(v) {
            Some(n) => Ok(Value::Number(n)),
            None => Err(self.refuse(JsonError::Unrepresentable)),
        }
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.into()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if self.depth + 1 > MAX_DEPTH {
            return Err(self.refuse(JsonError::TooDeep));
        }
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self.child())? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        if self.depth + 1 > MAX_DEPTH {
            return Err(self.refuse(JsonError::TooDeep));
        }
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(self.refuse(JsonError::DuplicateKey));
            }
            let v = map.next_value_seed(self.child())?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_duplicates_at_any_depth() {
        assert_eq!(parse_strict(r#"{"a":1,"a":2}"#), Err(JsonError::DuplicateKey));
        assert_eq!(parse_strict(r#"{"x":[{"b":1,"c":2,"b":3}]}"#), Err(JsonError::DuplicateKey));
        // Escapes that spell the same name are the same name.
        assert_eq!(parse_strict(r#"{"a":1,"\u0061":2}"#), Err(JsonError::DuplicateKey));
        assert!(parse_strict(r#"{"a":1,"b":{"a":2}}"#).is_ok());
    }

    #[test]
    fn bounds_depth_and_size() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse_strict(&ok).is_ok());
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(parse_strict(&deep), Err(JsonError::TooDeep));
        let big = format!("\"{}\"", "a".repeat(MAX_JSON_BYTES));
        assert_eq!(parse_strict(&big), Err(JsonError::TooLarge));
        assert_eq!(parse_strict_bounded("[1,2,3]", 3), Err(JsonError::TooLarge));
    }

    #[test]
    fn refuses_bad_syntax() {
        for bad in ["", "{", "[1,]", "{\"a\":1} x", "\"\\ud800\"", "NaN", "01", "{'a':1}"] {
            assert_eq!(parse_strict(bad), Err(JsonError::Syntax), "{bad}");
        }
        assert_eq!(parse_strict_bytes(b"\"\xff\""), Err(JsonError::Syntax));
    }

    #[test]
    fn canonical_order_is_utf16() {
        // U+1F600 (surrogates D83D DE00) sorts before U+FB01 in UTF-16, after it in UTF-8/code points.
        let v =
            parse_strict("{\"\u{fb01}\":1,\"\u{1f600}\":2,\"b\":3.0,\"a\":1e21}").expect("valid");
        assert_eq!(
            canonicalize(&v).expect("canonical"),
            "{\"a\":1e+21,\"b\":3,\"\u{1f600}\":2,\"\u{fb01}\":1}"
        );
    }
}
