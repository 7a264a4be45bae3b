//! C2SP signed notes and tlog checkpoints, with certledger's k-of-n quorum rule.
//!
//! A signed note (C2SP `signed-note`) is UTF-8 text ending in a newline, a blank line, and one
//! or more signature lines `— <key name> <base64(key id || signature)>`. Keys are named and
//! identified by a 4-byte key id derived from the name and the key; verifier keys travel as
//! `name+hexkeyid+base64(0x01 || public key)`.
//!
//! A checkpoint (C2SP `tlog-checkpoint`) is a note whose text is the origin line, the tree size
//! in decimal, the base64 root hash and optional extension lines. certledger's
//! [`LedgerCheckpoint`] carries exactly three extension lines (`height`, `time`, `state`), and
//! [`verify_checkpoint`] accepts it only under a [`Quorum`] of department keys. The normative
//! text, including every refusal, is `specs/checkpoint.md`.
//!
//! Department keys sign with plain Ed25519 note signatures (algorithm byte `0x01`) through
//! [`crate::sig`] (`sign_raw`/`verify_raw` over the note text, which the standard fixes; domain
//! separation comes from the key name and the origin line).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::merkle::Hash;
use crate::sig::{PublicKey, SecretKey, Signature, PUBLIC_KEY_LEN, SIGNATURE_LEN};

/// Longest note accepted, in bytes (text and signature lines).
pub const MAX_NOTE_BYTES: usize = 64 * 1024;
/// Most lines in a note's text.
pub const MAX_TEXT_LINES: usize = 256;
/// Most signature lines in a note.
pub const MAX_SIGNATURES: usize = 256;
/// Longest signature (after the 4-byte key id) kept from a signature line of any algorithm.
pub const MAX_SIGNATURE_BYTES: usize = 256;
/// Longest key name, in bytes.
pub const MAX_KEY_NAME_BYTES: usize = 256;

/// The Ed25519 algorithm byte of C2SP signed-note keys.
const ALG_ED25519: u8 = 0x01;
/// The signature line prefix: U+2014 EM DASH and a space.
const SIG_PREFIX: &str = "\u{2014} ";
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";

/// Why a note or key could not be parsed, or a note's signatures were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// A verifier or private key string is malformed.
    #[error("malformed key: {0}")]
    MalformedKey(&'static str),
    /// A key string's key id does not match its name and key.
    #[error("key id does not match the key")]
    KeyIdMismatch,
    /// The note is not a well-formed signed note.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// The note is over a size, line or signature bound.
    #[error("note is too large: {0}")]
    TooLarge(&'static str),
    /// A signature by a known key does not verify.
    #[error("signature by known key {key_index} does not verify")]
    BadSignature {
        /// Index of the key in the list given to the verifier.
        key_index: usize,
    },
    /// Two notes with different text were merged.
    #[error("notes to merge have different text")]
    TextMismatch,
    /// Two different signatures claim the same key name and id.
    #[error("conflicting signatures for one key")]
    ConflictingSignature,
}

/// A key name is valid if it is non-empty, bounded, and has no whitespace and no `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_KEY_NAME_BYTES
        && !name.contains('+')
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The C2SP key id of an Ed25519 key: the first 4 bytes (big-endian) of
/// `SHA-256(name || "\n" || 0x01 || public key)`.
pub fn key_id(name: &str, key: &PublicKey) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(key.0);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A named Ed25519 note verifier key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteKey {
    /// The key name (for certledger departments: the department id).
    pub name: String,
    /// The Ed25519 public key.
    pub key: PublicKey,
}

impl NoteKey {
    /// The key id (see [`key_id`]).
    pub fn key_id(&self) -> u32 {
        key_id(&self.name, &self.key)
    }

    /// The verifier key string `name+hexkeyid+base64(0x01 || public key)`.
    pub fn verifier_key(&self) -> String {
        let mut raw = Vec::with_capacity(1 + PUBLIC_KEY_LEN);
        raw.push(ALG_ED25519);
        raw.extend_from_slice(&self.key.0);
        format!("{}+{:08x}+{}", self.name, self.key_id(), STANDARD.encode(raw))
    }

    /// Parses a verifier key string; refuses other algorithms and a wrong key id.
    pub fn parse_verifier_key(s: &str) -> Result<Self, NoteError> {
        if s.len() > MAX_KEY_NAME_BYTES + 64 {
            return Err(NoteError::MalformedKey("verifier key too long"));
        }
        let (name, id, key) = split_key_string(s)?;
        let raw = STANDARD.decode(key).map_err(|_| NoteError::MalformedKey("key is not base64"))?;
        let (alg, pk) = raw.split_first().ok_or(NoteError::MalformedKey("empty key"))?;
        if *alg != ALG_ED25519 {
            return Err(NoteError::MalformedKey("not an Ed25519 key"));
        }
        let pk: [u8; PUBLIC_KEY_LEN] =
            pk.try_into().map_err(|_| NoteError::MalformedKey("Ed25519 key is not 32 bytes"))?;
        let out = Self { name: name.to_owned(), key: PublicKey(pk) };
        if out.key_id() != id {
            return Err(NoteError::KeyIdMismatch);
        }
        Ok(out)
    }
}

/// Splits `name+hexid+base64` and checks the name and the 8-digit lower-case hex id.
fn split_key_string(s: &str) -> Result<(&str, u32, &str), NoteError> {
    // The base64 key may itself contain '+'; the name and id may not.
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::MalformedKey("expected name+keyid+key"));
    };
    if !is_valid_key_name(name) {
        return Err(NoteError::MalformedKey("invalid key name"));
    }
    if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(NoteError::MalformedKey("key id is not 8 lower-case hex digits"));
    }
    let id = u32::from_str_radix(id, 16).map_err(|_| NoteError::MalformedKey("key id"))?;
    Ok((name, id, key))
}

/// A named Ed25519 note signing key.
#[derive(Clone, Debug)]
pub struct NoteSigner {
    name: String,
    key: SecretKey,
}

impl NoteSigner {
    /// A signer for `name`; refuses an invalid key name.
    pub fn new(name: &str, key: SecretKey) -> Result<Self, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::MalformedKey("invalid key name"));
        }
        Ok(Self { name: name.to_owned(), key })
    }

    /// Parses `PRIVATE+KEY+name+hexkeyid+base64(0x01 || seed)`.
    pub fn parse_private_key(s: &str) -> Result<Self, NoteError> {
        let rest =
            s.strip_prefix(PRIVATE_PREFIX).ok_or(NoteError::MalformedKey("no PRIVATE+KEY+"))?;
        if rest.len() > MAX_KEY_NAME_BYTES + 64 {
            return Err(NoteError::MalformedKey("private key too long"));
        }
        let (name, id, key) = split_key_string(rest)?;
        let raw = STANDARD.decode(key).map_err(|_| NoteError::MalformedKey("key is not base64"))?;
        let (alg, seed) = raw.split_first().ok_or(NoteError::MalformedKey("empty key"))?;
        if *alg != ALG_ED25519 {
            return Err(NoteError::MalformedKey("not an Ed25519 key"));
        }
        let seed: [u8; 32] =
            seed.try_into().map_err(|_| NoteError::MalformedKey("Ed25519 seed is not 32 bytes"))?;
        let out = Self::new(name, SecretKey::from_seed(&seed))?;
        if out.note_key().key_id() != id {
            return Err(NoteError::KeyIdMismatch);
        }
        Ok(out)
    }

    /// The private key string (secret: for keystores only).
    pub fn private_key(&self) -> String {
        let mut raw = Vec::with_capacity(33);
        raw.push(ALG_ED25519);
        raw.extend_from_slice(&self.key.seed());
        format!(
            "{PRIVATE_PREFIX}{}+{:08x}+{}",
            self.name,
            self.note_key().key_id(),
            STANDARD.encode(raw)
        )
    }

    /// The matching verifier key.
    pub fn note_key(&self) -> NoteKey {
        NoteKey { name: self.name.clone(), key: self.key.public_key() }
    }

    /// Signs a note text (deterministic Ed25519 over the exact text bytes).
    pub fn sign_text(&self, text: &str) -> NoteSignature {
        let sig = self.key.sign_raw(text.as_bytes());
        NoteSignature {
            name: self.name.clone(),
            key_id: self.note_key().key_id(),
            sig: sig.0.to_vec(),
        }
    }
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key id.
    pub key_id: u32,
    /// The signature bytes (64 for Ed25519; other algorithms are kept but never verified).
    pub sig: Vec<u8>,
}

impl NoteSignature {
    /// The line, without its newline: `— name base64(key id || sig)`.
    pub fn line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.sig.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.sig);
        format!("{SIG_PREFIX}{} {}", self.name, STANDARD.encode(raw))
    }

    fn parse_line(line: &str) -> Result<Self, NoteError> {
        let rest =
            line.strip_prefix(SIG_PREFIX).ok_or(NoteError::Malformed("signature line prefix"))?;
        let (name, b64) =
            rest.split_once(' ').ok_or(NoteError::Malformed("signature line has no space"))?;
        if !is_valid_key_name(name) {
            return Err(NoteError::Malformed("signature key name"));
        }
        if b64.len() > (4 + MAX_SIGNATURE_BYTES).div_ceil(3) * 4 {
            return Err(NoteError::TooLarge("signature"));
        }
        let raw =
            STANDARD.decode(b64).map_err(|_| NoteError::Malformed("signature is not base64"))?;
        if raw.len() < 5 {
            return Err(NoteError::Malformed("signature too short"));
        }
        let (id, sig) = raw.split_at(4);
        let id: [u8; 4] = id.try_into().map_err(|_| NoteError::Malformed("key id"))?;
        let key_id = u32::from_be_bytes(id);
        Ok(Self { name: name.to_owned(), key_id, sig: sig.to_vec() })
    }
}

/// A signed note: text and signature lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if text.len() > MAX_NOTE_BYTES {
        return Err(NoteError::TooLarge("note text"));
    }
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("text must end with a newline"));
    }
    if text.chars().any(|c| c != '\n' && c.is_control()) {
        return Err(NoteError::Malformed("text contains a control character"));
    }
    if text.bytes().filter(|b| *b == b'\n').count() > MAX_TEXT_LINES {
        return Err(NoteError::TooLarge("text lines"));
    }
    Ok(())
}

impl Note {
    /// An unsigned note with `text` (must end in a newline, no control characters but newline).
    pub fn new(text: &str) -> Result<Self, NoteError> {
        check_text(text)?;
        Ok(Self { text: text.to_owned(), signatures: Vec::new() })
    }

    /// Parses a signed note: text, a blank line, one or more signature lines.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        if s.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge("note"));
        }
        let split =
            s.rfind("\n\n").ok_or(NoteError::Malformed("no blank line before signatures"))?;
        let text = s.get(..split + 1).ok_or(NoteError::Malformed("text"))?;
        let sigs = s.get(split + 2..).ok_or(NoteError::Malformed("signatures"))?;
        check_text(text)?;
        let sigs = sigs.strip_suffix('\n').ok_or(NoteError::Malformed("no final newline"))?;
        if sigs.is_empty() {
            return Err(NoteError::Malformed("no signature lines"));
        }
        let mut signatures = Vec::new();
        for line in sigs.split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooLarge("signature lines"));
            }
            signatures.push(NoteSignature::parse_line(line)?);
        }
        Ok(Self { text: text.to_owned(), signatures })
    }

    /// The note text (what is signed).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// The full note: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.line());
            out.push('\n');
        }
        out
    }

    /// Adds one signature line, unless an identical one is present; refuses a different
    /// signature under the same key name and id, and going over [`MAX_SIGNATURES`].
    pub fn add_signature(&mut self, sig: NoteSignature) -> Result<(), NoteError> {
        match self.signatures.iter().find(|s| s.name == sig.name && s.key_id == sig.key_id) {
            Some(s) if *s == sig => Ok(()),
            Some(_) => Err(NoteError::ConflictingSignature),
            None if self.signatures.len() >= MAX_SIGNATURES => {
                Err(NoteError::TooLarge("signature lines"))
            }
            None => {
                self.signatures.push(sig);
                Ok(())
            }
        }
    }

    /// Signs the note with `signer` and adds the signature line.
    pub fn sign(&mut self, signer: &NoteSigner) -> Result<(), NoteError> {
        let sig = signer.sign_text(&self.text);
        self.add_signature(sig)
    }

    /// Merges the signature lines of `other` (a note with the same text, e.g. a cosigner's
    /// copy) into this one. Signatures are not verified here; [`verify_checkpoint`] does that.
    pub fn add_signatures(&mut self, other: &Note) -> Result<(), NoteError> {
        if other.text != self.text {
            return Err(NoteError::TextMismatch);
        }
        for sig in &other.signatures {
            self.add_signature(sig.clone())?;
        }
        Ok(())
    }

    /// Verifies the signature lines against `keys` and returns the indexes (into `keys`,
    /// ascending, each once) of the distinct keys with a valid signature.
    ///
    /// A line whose name and key id match no key in `keys` is ignored and never counted. A line
    /// that matches a key but does not verify refuses the whole note.
    pub fn verify(&self, keys: &[NoteKey]) -> Result<Vec<usize>, NoteError> {
        let mut valid = Vec::new();
        for sig in &self.signatures {
            for (i, k) in keys.iter().enumerate() {
                if k.name != sig.name || k.key_id() != sig.key_id {
                    continue;
                }
                let bytes: [u8; SIGNATURE_LEN] = sig
                    .sig
                    .as_slice()
                    .try_into()
                    .map_err(|_| NoteError::BadSignature { key_index: i })?;
                k.key
                    .verify_raw(self.text.as_bytes(), &Signature(bytes))
                    .map_err(|_| NoteError::BadSignature { key_index: i })?;
                valid.push(i);
            }
        }
        valid.sort_unstable();
        valid.dedup();
        Ok(valid)
    }
}

/// Why a checkpoint body was refused or a checkpoint was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The note itself is malformed or over a bound.
    #[error("checkpoint note: {0}")]
    Note(NoteError),
    /// The checkpoint body is malformed.
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    /// The origin line is not the expected ledger.
    #[error("checkpoint is for another origin")]
    WrongOrigin,
    /// Fewer distinct listed keys signed than the threshold requires.
    #[error("{valid} valid signatures, {threshold} required")]
    QuorumNotMet {
        /// Distinct listed keys with a valid signature.
        valid: usize,
        /// Signatures required.
        threshold: usize,
    },
    /// A listed key's signature line does not verify.
    #[error("a signature by trusted key {key_index} does not verify")]
    BadSignature {
        /// Index of the key in [`Quorum::keys`].
        key_index: usize,
    },
    /// The quorum rule itself is unusable (threshold 0 or above the number of keys).
    #[error("invalid quorum: {0}")]
    InvalidQuorum(&'static str),
}

impl From<NoteError> for CheckpointError {
    fn from(e: NoteError) -> Self {
        match e {
            NoteError::BadSignature { key_index } => Self::BadSignature { key_index },
            e => Self::Note(e),
        }
    }
}

/// A C2SP tlog checkpoint body of any log: origin, size, root hash, extension lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The origin line (the log's unique name).
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash bytes (1 to 64 bytes; 32 for certledger).
    pub root: Vec<u8>,
    /// Extension lines after the root, each without its newline (may be empty).
    pub extensions: Vec<String>,
}

fn parse_decimal_u64(s: &str) -> Option<u64> {
    // Decimal digits only, no sign, no leading zeros (so each number has one spelling).
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

impl Checkpoint {
    /// Parses a checkpoint body (a note's text).
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        if text.len() > MAX_NOTE_BYTES {
            return Err(CheckpointError::Malformed("body too large"));
        }
        let body = text.strip_suffix('\n').ok_or(CheckpointError::Malformed("no final newline"))?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::Malformed("fewer than three lines"));
        };
        if origin.is_empty() {
            return Err(CheckpointError::Malformed("empty origin"));
        }
        let size = parse_decimal_u64(size).ok_or(CheckpointError::Malformed("size"))?;
        let root =
            STANDARD.decode(root).map_err(|_| CheckpointError::Malformed("root is not base64"))?;
        if root.is_empty() || root.len() > 64 {
            return Err(CheckpointError::Malformed("root length"));
        }
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.len() > MAX_TEXT_LINES {
            return Err(CheckpointError::Malformed("too many extension lines"));
        }
        Ok(Self { origin: origin.to_owned(), size, root, extensions })
    }

    /// The body text.
    pub fn to_text(&self) -> String {
        let mut out = format!("{}\n{}\n{}\n", self.origin, self.size, STANDARD.encode(&self.root));
        for e in &self.extensions {
            out.push_str(e);
            out.push('\n');
        }
        out
    }
}

/// certledger's checkpoint: the log head plus the block height, block time and state root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerCheckpoint {
    /// The origin: the ledger's chain id.
    pub origin: String,
    /// Number of leaves in the log.
    pub size: u64,
    /// The log's RFC 9162 root.
    pub root: Hash,
    /// Height of the block this head was taken after.
    pub height: u64,
    /// That block's time, Unix seconds.
    pub time: u64,
    /// The sparse Merkle state root after that block.
    pub state_root: Hash,
}

impl LedgerCheckpoint {
    /// The note text: origin, size, root, `height N`, `time T`, `state B64`.
    pub fn to_body(&self) -> String {
        format!(
            "{}\n{}\n{}\nheight {}\ntime {}\nstate {}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root),
            self.height,
            self.time,
            STANDARD.encode(self.state_root)
        )
    }

    /// Parses the note text strictly: exactly the three extension lines, in order.
    pub fn parse_body(text: &str) -> Result<Self, CheckpointError> {
        let cp = Checkpoint::parse(text)?;
        let root: Hash = cp
            .root
            .as_slice()
            .try_into()
            .map_err(|_| CheckpointError::Malformed("root is not 32 bytes"))?;
        let [h, t, s] = cp.extensions.as_slice() else {
            return Err(CheckpointError::Malformed("expected exactly height, time, state lines"));
        };
        let field = |line: &str, key: &'static str| -> Result<String, CheckpointError> {
            line.strip_prefix(key)
                .and_then(|r| r.strip_prefix(' '))
                .map(str::to_owned)
                .ok_or(CheckpointError::Malformed(key))
        };
        let height =
            parse_decimal_u64(&field(h, "height")?).ok_or(CheckpointError::Malformed("height"))?;
        let time =
            parse_decimal_u64(&field(t, "time")?).ok_or(CheckpointError::Malformed("time"))?;
        let state = STANDARD
            .decode(field(s, "state")?)
            .map_err(|_| CheckpointError::Malformed("state is not base64"))?;
        let state_root: Hash = state
            .as_slice()
            .try_into()
            .map_err(|_| CheckpointError::Malformed("state is not 32 bytes"))?;
        let out = Self { origin: cp.origin, size: cp.size, root, height, time, state_root };
        // One spelling per checkpoint: the body must be exactly what we would write.
        if out.to_body() != text {
            return Err(CheckpointError::Malformed("not in canonical form"));
        }
        Ok(out)
    }

    /// A note over this checkpoint signed by `signer` (the first signature; cosigners add theirs
    /// with [`cosign`] and the collector merges them with [`Note::add_signatures`]).
    pub fn sign(&self, signer: &NoteSigner) -> Result<Note, CheckpointError> {
        let mut note = Note::new(&self.to_body())?;
        note.sign(signer)?;
        Ok(note)
    }
}

/// Adds `signer`'s signature to a checkpoint note after checking that its body is a well-formed
/// [`LedgerCheckpoint`] for `origin`. A cosigner must also check the checkpoint against its own
/// ledger state before calling this.
pub fn cosign(note_text: &str, origin: &str, signer: &NoteSigner) -> Result<Note, CheckpointError> {
    let mut note = Note::parse(note_text)?;
    let cp = LedgerCheckpoint::parse_body(note.text())?;
    if cp.origin != origin {
        return Err(CheckpointError::WrongOrigin);
    }
    note.sign(signer)?;
    Ok(note)
}

/// The k-of-n rule for checkpoints: `threshold` distinct keys of `keys` must sign for `origin`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quorum {
    /// The expected origin line (the chain id).
    pub origin: String,
    /// The department keys.
    pub keys: Vec<NoteKey>,
    /// Distinct valid signatures required (at least 1, at most `keys.len()`).
    pub threshold: usize,
}

/// Verifies a checkpoint note under `quorum` and returns its body.
///
/// Refuses: a malformed note or body; a wrong origin; a signature line by a listed key that does
/// not verify; fewer than `threshold` distinct listed keys with valid signatures (each key counts
/// once however many lines it has; lines by unknown keys are ignored and never counted).
pub fn verify_checkpoint(
    note_text: &str,
    quorum: &Quorum,
) -> Result<LedgerCheckpoint, CheckpointError> {
    if quorum.threshold == 0 {
        return Err(CheckpointError::InvalidQuorum("threshold is 0"));
    }
    if quorum.threshold > quorum.keys.len() {
        return Err(CheckpointError::InvalidQuorum("threshold above the number of keys"));
    }
    let note = Note::parse(note_text)?;
    let cp = LedgerCheckpoint::parse_body(note.text())?;
    if cp.origin != quorum.origin {
        return Err(CheckpointError::WrongOrigin);
    }
    let signers = note.verify(&quorum.keys)?;
    // Two list entries with the same public key are one signer.
    let mut distinct: Vec<PublicKey> =
        signers.iter().filter_map(|i| quorum.keys.get(*i).map(|k| k.key)).collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < quorum.threshold {
        return Err(CheckpointError::QuorumNotMet {
            valid: distinct.len(),
            threshold: quorum.threshold,
        });
    }
    Ok(cp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_is_strict() {
        assert_eq!(parse_decimal_u64("0"), Some(0));
        assert_eq!(parse_decimal_u64("18446744073709551615"), Some(u64::MAX));
        for bad in ["", "01", "+1", "-1", " 1", "18446744073709551616", "1e3"] {
            assert_eq!(parse_decimal_u64(bad), None, "{bad}");
        }
    }

    #[test]
    fn ledger_checkpoint_round_trips_and_is_canonical() {
        let cp = LedgerCheckpoint {
            origin: "certledger.example/main".into(),
            size: 7,
            root: [1; 32],
            height: 3,
            time: 1_700_000_000,
            state_root: [2; 32],
        };
        let body = cp.to_body();
        assert_eq!(LedgerCheckpoint::parse_body(&body), Ok(cp));
        for bad in [
            body.replace("height 3", "height 03"),
            body.replace("height 3\n", ""),
            body.replace("time", "Time"),
            body.replace("height 3", "height  3"),
            format!("{body}extra\n"),
        ] {
            assert!(LedgerCheckpoint::parse_body(&bad).is_err(), "{bad}");
        }
    }
}
