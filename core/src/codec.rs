//! The canonical binary encoding of ledger objects (entries, block headers, proofs, bundles).
//!
//! The rules, written out in `specs/encoding.md`:
//! - integers are fixed-width big-endian (`u8`, `u16`, `u32`, `u64`); never `usize`;
//! - `bool` is one byte, `0x00` or `0x01`; any other byte is refused;
//! - byte strings and UTF-8 strings are a `u32` length followed by the bytes, with a per-field
//!   maximum checked before anything is allocated;
//! - sequences are a `u32` count followed by the items, with a per-field maximum;
//! - `Option<T>` is a tag byte `0x00` (absent) or `0x01` followed by `T`;
//! - enums are a `u8` tag followed by the variant's fields; unknown tags are refused;
//! - fixed-size arrays (keys, hashes, signatures) are their raw bytes;
//! - a top-level decode must consume every byte: trailing bytes are refused.
//!
//! With fixed-width lengths and strict tags, every value has exactly one encoding, so
//! `encode(decode(b)) == b` for every accepted `b`. Types whose fields are sets check strict
//! ascending order in their own `decode`.

/// Why bytes could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended inside the named field.
    #[error("input ends inside {0}")]
    UnexpectedEnd(&'static str),
    /// Bytes were left after a complete value.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(u64),
    /// A length or count is over the field's maximum.
    #[error("{what} is {len} long, over the maximum of {max}")]
    TooLong {
        /// The field.
        what: &'static str,
        /// The length found.
        len: u64,
        /// The maximum allowed.
        max: u64,
    },
    /// A bool byte other than 0 or 1.
    #[error("{0}: a bool must be 0 or 1")]
    InvalidBool(&'static str),
    /// A string that is not UTF-8.
    #[error("{0} is not valid UTF-8")]
    InvalidUtf8(&'static str),
    /// An enum or option tag that is not defined.
    #[error("{what}: unknown tag {tag}")]
    UnknownTag {
        /// The field.
        what: &'static str,
        /// The tag found.
        tag: u8,
    },
    /// A value that has another, canonical encoding (for example an unsorted set), or that
    /// breaks a rule of its type.
    #[error("{0} is not in canonical form")]
    NonCanonical(&'static str),
    /// A version or magic number this implementation does not know.
    #[error("{0}: unsupported version")]
    UnsupportedVersion(&'static str),
}

/// Appends canonical encodings to a buffer.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Writes one byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    /// Writes a big-endian `u16`.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Writes a big-endian `u32`.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Writes a big-endian `u64`.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Writes a bool as `0x00`/`0x01`.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(u8::from(v))
    }

    /// Writes raw bytes with no length (fixed-size fields).
    pub fn fixed(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// Writes a `u32` length and the bytes.
    ///
    /// Callers keep their values within the field maximum, which is always far below
    /// `u32::MAX`; a longer value is an internal bug and is truncated to make it undecodable
    /// rather than ambiguous.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.u32(len);
        self.buf.extend_from_slice(bytes);
        self
    }

    /// Writes a UTF-8 string like [`Writer::bytes`].
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    /// Writes a sequence count.
    pub fn count(&mut self, n: usize) -> &mut Self {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Writes a sequence: its count, then each item.
    pub fn seq<T: Encode>(&mut self, items: &[T]) -> &mut Self {
        self.count(items.len());
        for item in items {
            item.encode(self);
        }
        self
    }

    /// Writes an option: `0x00`, or `0x01` and the value.
    pub fn option<T: Encode>(&mut self, v: &Option<T>) -> &mut Self {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                v.encode(self);
                self
            }
        }
    }

    /// Writes any encodable value.
    pub fn put<T: Encode + ?Sized>(&mut self, v: &T) -> &mut Self {
        v.encode(self);
        self
    }
}

/// Reads canonical encodings from a byte slice, refusing anything malformed.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// Refuses trailing bytes: call after the last field of a top-level value.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n as u64)),
        }
    }

    /// Reads `n` raw bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::UnexpectedEnd(what))?;
        let out = self.data.get(self.pos..end).ok_or(DecodeError::UnexpectedEnd(what))?;
        self.pos = end;
        Ok(out)
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Reads one byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// Reads a big-endian `u16`.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    /// Reads a big-endian `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// Reads a big-endian `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// Reads a strict bool.
    pub fn bool(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::InvalidBool(what)),
        }
    }

    /// Reads a `u32` length (at most `max`) and that many bytes.
    pub fn bytes(&mut self, max: u32, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.u32(what)?;
        if len > max {
            return Err(DecodeError::TooLong { what, len: len.into(), max: max.into() });
        }
        self.take(len as usize, what)
    }

    /// Reads a UTF-8 string of at most `max` bytes.
    pub fn str(&mut self, max: u32, what: &'static str) -> Result<&'a str, DecodeError> {
        core::str::from_utf8(self.bytes(max, what)?).map_err(|_| DecodeError::InvalidUtf8(what))
    }

    /// Reads an owned UTF-8 string of at most `max` bytes.
    pub fn string(&mut self, max: u32, what: &'static str) -> Result<String, DecodeError> {
        self.str(max, what).map(str::to_owned)
    }

    /// Reads a sequence count of at most `max`.
    pub fn count(&mut self, max: u32, what: &'static str) -> Result<usize, DecodeError> {
        let n = self.u32(what)?;
        if n > max {
            return Err(DecodeError::TooLong { what, len: n.into(), max: max.into() });
        }
        Ok(n as usize)
    }

    /// Reads a sequence of at most `max` items.
    pub fn seq<T: Decode>(&mut self, max: u32, what: &'static str) -> Result<Vec<T>, DecodeError> {
        let n = self.count(max, what)?;
        // Never trust the count for allocation beyond what the input could hold.
        let mut out = Vec::with_capacity(n.min(self.remaining()));
        for _ in 0..n {
            out.push(T::decode(self)?);
        }
        Ok(out)
    }

    /// Reads an option.
    pub fn option<T: Decode>(&mut self, what: &'static str) -> Result<Option<T>, DecodeError> {
        match self.u8(what)? {
            0 => Ok(None),
            1 => Ok(Some(T::decode(self)?)),
            tag => Err(DecodeError::UnknownTag { what, tag }),
        }
    }
}

/// A type with a canonical encoding.
pub trait Encode {
    /// Appends the canonical encoding to `w`.
    fn encode(&self, w: &mut Writer);

    /// The canonical encoding as bytes.
    fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode(&mut w);
        w.into_bytes()
    }
}

/// A type that can be strictly decoded from its canonical encoding.
pub trait Decode: Sized {
    /// Reads one value from `r`, leaving any following bytes.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes exactly one value from `bytes`, refusing trailing bytes.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let v = Self::decode(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

impl Encode for [u8; 32] {
    fn encode(&self, w: &mut Writer) {
        w.fixed(self);
    }
}

impl Decode for [u8; 32] {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array("32-byte value")
    }
}

impl Encode for u64 {
    fn encode(&self, w: &mut Writer) {
        w.u64(*self);
    }
}

impl Decode for u64 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u64("u64")
    }
}

impl Encode for crate::sig::PublicKey {
    fn encode(&self, w: &mut Writer) {
        w.fixed(&self.0);
    }
}

impl Decode for crate::sig::PublicKey {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(r.array("public key")?))
    }
}

impl Encode for crate::sig::Signature {
    fn encode(&self, w: &mut Writer) {
        w.fixed(&self.0);
    }
}

impl Decode for crate::sig::Signature {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(r.array("signature")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_bool_and_trailing_bytes() {
        assert_eq!(Reader::new(&[2]).bool("b"), Err(DecodeError::InvalidBool("b")));
        assert_eq!(<[u8; 32]>::from_bytes(&[0; 33]), Err(DecodeError::TrailingBytes(1)));
        assert_eq!(
            <[u8; 32]>::from_bytes(&[0; 31]),
            Err(DecodeError::UnexpectedEnd("32-byte value"))
        );
    }

    #[test]
    fn length_is_checked_before_reading() {
        let mut w = Writer::new();
        w.u32(u32::MAX);
        let bytes = w.into_bytes();
        let err = Reader::new(&bytes).bytes(16, "name").unwrap_err();
        assert_eq!(err, DecodeError::TooLong { what: "name", len: u32::MAX.into(), max: 16 });
    }

    #[test]
    fn huge_count_does_not_allocate() {
        let mut w = Writer::new();
        w.u32(1_000_000);
        let bytes = w.into_bytes();
        let err = Reader::new(&bytes).seq::<u64>(2_000_000, "items").unwrap_err();
        assert_eq!(err, DecodeError::UnexpectedEnd("u64"));
    }
}
