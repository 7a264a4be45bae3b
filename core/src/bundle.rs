//! The presentation bundle: everything a verifier needs, in one self-contained object.
//!
//! A citizen's wallet builds a bundle for one verifier request; the verifier decides it with
//! [`crate::verify::verify`] and nothing else: no call to the issuer or a node. Binary layout
//! (canonical encoding, `specs/encoding.md`; normative text in `specs/bundle.md`):
//!
//! ```text
//! magic            4 bytes  "CLB" 0x01
//! presentation     u8 tag (0 = SD-JWT with KB-JWT, 1 = W3C VP JSON) + string (<= 16 KiB)
//! anchor_leaf      bytes (<= 4 KiB): the RFC 9162 leaf data, a canonical ledger::LogLeaf
//! anchor_proof     merkle::InclusionProof
//! credential_record  ledger::CredentialRecord
//! credential_proof smt::SmtProof (key: ledger::credential_state_key(credential_id))
//! issuer_record    ledger::IssuerRecord
//! issuer_proof     smt::SmtProof (key: ledger::issuer_state_key(issuer_key))
//! checkpoint       string (<= 8 KiB): C2SP signed note, cosigned by department nodes
//! ```
//!
//! The text form, for pasting and for QR codes, is `CLB1.` followed by the unpadded base64url of
//! the bytes.
//!
//! A [`LinkedBundle`] is a bundle optionally followed by the **identity extension**
//! (`specs/bundle.md`, `specs/identity.md`): a per-verifier pseudonym proof bound to the main
//! credential's holder key, and further credentials presented in the same exchange, each with a
//! link proof tying its holder key to the main credential's:
//!
//! ```text
//! bundle           as above (magic .. checkpoint)
//! extension_tag    u8 = 0x01                         (absent: a plain bundle)
//! pseudonym        option<pseudonym::PseudonymProof>
//! linked           u32 count (<= 4), each: presentation (u8 tag + string), Proofs,
//!                  option<pseudonym::LinkProof>
//! ```
//!
//! A plain bundle's bytes are unchanged; an extension holding neither a pseudonym nor a linked
//! credential is refused (it has a shorter encoding: none).

use base64::Engine as _;

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::ledger::{CredentialRecord, IssuerRecord};
use crate::merkle::InclusionProof;
use crate::pseudonym::{LinkProof, PseudonymProof};
use crate::smt::SmtProof;

/// The bundle's magic bytes (format version 1).
pub const MAGIC: [u8; 4] = *b"CLB\x01";
/// Prefix of the text form.
pub const TEXT_PREFIX: &str = "CLB1.";
/// Largest encoded bundle accepted, in bytes.
pub const MAX_BUNDLE_BYTES: usize = 64 * 1024;
/// Longest presentation string.
pub const MAX_PRESENTATION_BYTES: u32 = 16 * 1024;
/// Longest anchor leaf.
pub const MAX_LEAF_BYTES: u32 = 4 * 1024;
/// Longest checkpoint note.
pub const MAX_CHECKPOINT_BYTES: u32 = 8 * 1024;
/// First byte of the identity extension after a bundle's proofs.
pub const EXTENSION_TAG: u8 = 0x01;
/// Most credentials presented together with the main one in a [`LinkedBundle`].
pub const MAX_LINKED: u32 = 4;

/// The credential as presented.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Presentation {
    /// An SD-JWT VC with the chosen disclosures and a key-binding JWT (tag 0).
    SdJwt(String),
    /// A W3C VC 2.0 presentation (JCS JSON) holding one full-disclosure credential, with the
    /// holder's `eddsa-jcs-2022` authentication proof (tag 1).
    W3cVp(String),
}

impl Presentation {
    /// The SD-JWT presentation text, if this is one.
    pub fn sd_jwt(&self) -> Option<&str> {
        match self {
            Presentation::SdJwt(text) => Some(text),
            Presentation::W3cVp(_) => None,
        }
    }
}

/// Everything a verifier needs besides the presentation, all proven against one checkpoint.
/// A node serves this for a credential id; the wallet staples its presentation to it.
#[derive(Clone, Debug, PartialEq)]
pub struct Proofs {
    /// Canonical bytes of the `ledger::LogLeaf` holding the issuance anchor.
    pub anchor_leaf: Vec<u8>,
    /// Its inclusion proof under the checkpoint.
    pub anchor_proof: InclusionProof,
    /// The credential's state record (status) as of the checkpoint.
    pub credential_record: CredentialRecord,
    /// Its proof under the checkpoint's state root.
    pub credential_proof: SmtProof,
    /// The issuer's registry record as of the checkpoint.
    pub issuer_record: IssuerRecord,
    /// Its proof under the checkpoint's state root.
    pub issuer_proof: SmtProof,
    /// The C2SP checkpoint note, cosigned by department nodes.
    pub checkpoint: String,
}

/// A presentation bundle (format version 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Bundle {
    /// The credential as presented.
    pub presentation: Presentation,
    /// The proofs.
    pub proofs: Proofs,
}

/// Why a bundle could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Larger than [`MAX_BUNDLE_BYTES`].
    #[error("bundle is larger than 64 KiB")]
    TooLarge,
    /// Not a certledger bundle, or another version.
    #[error("not a certledger bundle (version 1)")]
    BadMagic,
    /// The text form is not `CLB1.` + base64url.
    #[error("bundle text must be CLB1. followed by base64url")]
    BadText,
    /// The binary layout is malformed.
    #[error("{0}")]
    Decode(#[from] DecodeError),
}

impl Encode for Proofs {
    fn encode(&self, w: &mut Writer) {
        w.bytes(&self.anchor_leaf)
            .put(&self.anchor_proof)
            .put(&self.credential_record)
            .put(&self.credential_proof)
            .put(&self.issuer_record)
            .put(&self.issuer_proof)
            .str(&self.checkpoint);
    }
}

impl Decode for Proofs {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            anchor_leaf: r.bytes(MAX_LEAF_BYTES, "anchor leaf")?.to_vec(),
            anchor_proof: InclusionProof::decode(r)?,
            credential_record: CredentialRecord::decode(r)?,
            credential_proof: SmtProof::decode(r)?,
            issuer_record: IssuerRecord::decode(r)?,
            issuer_proof: SmtProof::decode(r)?,
            checkpoint: r.string(MAX_CHECKPOINT_BYTES, "checkpoint note")?,
        })
    }
}

impl Proofs {
    /// Decodes proofs served by a node, refusing oversized input before parsing.
    pub fn decode_bytes(bytes: &[u8]) -> Result<Self, BundleError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge);
        }
        Ok(Self::from_bytes(bytes)?)
    }
}

impl Encode for Presentation {
    fn encode(&self, w: &mut Writer) {
        match self {
            Presentation::SdJwt(text) => {
                w.u8(0).str(text);
            }
            Presentation::W3cVp(text) => {
                w.u8(1).str(text);
            }
        }
    }
}

impl Decode for Presentation {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.u8("presentation kind")? {
            0 => Presentation::SdJwt(r.string(MAX_PRESENTATION_BYTES, "SD-JWT presentation")?),
            1 => Presentation::W3cVp(r.string(MAX_PRESENTATION_BYTES, "W3C presentation")?),
            tag => return Err(DecodeError::UnknownTag { what: "presentation kind", tag }),
        })
    }
}

impl Encode for Bundle {
    fn encode(&self, w: &mut Writer) {
        w.fixed(&MAGIC).put(&self.presentation).put(&self.proofs);
    }
}

impl Decode for Bundle {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if r.array::<4>("bundle magic")? != MAGIC {
            return Err(DecodeError::UnsupportedVersion("bundle magic"));
        }
        let presentation = Presentation::decode(r)?;
        Ok(Self { presentation, proofs: Proofs::decode(r)? })
    }
}

impl Bundle {
    /// Decodes the binary form, refusing oversized input before parsing.
    pub fn decode_bytes(bytes: &[u8]) -> Result<Self, BundleError> {
        decode_checked(bytes)
    }

    /// The text form: `CLB1.` + base64url.
    pub fn to_text(&self) -> String {
        text_of(&self.to_bytes())
    }

    /// Parses the text form (surrounding whitespace is ignored).
    pub fn from_text(text: &str) -> Result<Self, BundleError> {
        Self::decode_bytes(&text_bytes(text)?)
    }
}

/// The bytes of a bundle's text form, bounded before decoding.
/// The binary form's size bound and magic, then the canonical decoding (plain and linked).
fn decode_checked<T: Decode>(bytes: &[u8]) -> Result<T, BundleError> {
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(BundleError::TooLarge);
    }
    if bytes.get(..4) != Some(&MAGIC[..]) {
        return Err(BundleError::BadMagic);
    }
    Ok(T::from_bytes(bytes)?)
}

/// `CLB1.` + base64url of the binary form.
fn text_of(bytes: &[u8]) -> String {
    let mut out = String::from(TEXT_PREFIX);
    out.push_str(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    out
}

fn text_bytes(text: &str) -> Result<Vec<u8>, BundleError> {
    let text = text.trim();
    // base64 expands by 4/3: bound the text before decoding.
    if text.len() > MAX_BUNDLE_BYTES / 3 * 4 + 8 {
        return Err(BundleError::TooLarge);
    }
    let body = text.strip_prefix(TEXT_PREFIX).ok_or(BundleError::BadText)?;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body).map_err(|_| BundleError::BadText)
}

/// A credential presented together with a [`LinkedBundle`]'s main one.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkedCredential {
    /// The credential as presented (bound to the same nonce and audience as the main one).
    pub presentation: Presentation,
    /// Its proofs.
    pub proofs: Proofs,
    /// `LinkProof` with `first_key` = the main credential's holder key and `second_key` = this
    /// credential's; absent exactly when both credentials are bound to the same holder key
    /// (their key-binding JWTs then already show one holder).
    pub link: Option<LinkProof>,
}

impl Encode for LinkedCredential {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.presentation).put(&self.proofs).option(&self.link);
    }
}

impl Decode for LinkedCredential {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            presentation: Presentation::decode(r)?,
            proofs: Proofs::decode(r)?,
            link: r.option("link proof")?,
        })
    }
}

/// A bundle with the optional identity extension: a per-verifier pseudonym proof and further
/// credentials linked to the main credential's holder (see the module documentation). Every
/// plain [`Bundle`] decodes as a `LinkedBundle` without extension, to the same bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkedBundle {
    /// The main credential and its proofs (for an identity exchange, this verifier's identity
    /// attestation copy).
    pub main: Bundle,
    /// The wallet's pseudonym for the request's audience, bound to the main credential's holder
    /// key.
    pub pseudonym: Option<PseudonymProof>,
    /// Credentials presented together with the main one (at most [`MAX_LINKED`]).
    pub linked: Vec<LinkedCredential>,
}

impl From<Bundle> for LinkedBundle {
    fn from(main: Bundle) -> Self {
        Self { main, pseudonym: None, linked: Vec::new() }
    }
}

impl LinkedBundle {
    /// Whether the identity extension is present (a pseudonym or a linked credential).
    pub fn has_extension(&self) -> bool {
        self.pseudonym.is_some() || !self.linked.is_empty()
    }

    /// Decodes the binary form (a plain bundle, or one with the extension), refusing oversized
    /// input before parsing.
    pub fn decode_bytes(bytes: &[u8]) -> Result<Self, BundleError> {
        decode_checked(bytes)
    }

    /// The text form: `CLB1.` + base64url.
    pub fn to_text(&self) -> String {
        text_of(&self.to_bytes())
    }

    /// Parses the text form (surrounding whitespace is ignored).
    pub fn from_text(text: &str) -> Result<Self, BundleError> {
        Self::decode_bytes(&text_bytes(text)?)
    }
}

impl Encode for LinkedBundle {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.main);
        if self.has_extension() {
            w.u8(EXTENSION_TAG).option(&self.pseudonym).seq(&self.linked);
        }
    }
}

impl Decode for LinkedBundle {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let main = Bundle::decode(r)?;
        if r.remaining() == 0 {
            return Ok(Self::from(main));
        }
        if r.u8("bundle extension tag")? != EXTENSION_TAG {
            return Err(DecodeError::UnsupportedVersion("bundle extension"));
        }
        let pseudonym = r.option("pseudonym proof")?;
        let linked = r.seq(MAX_LINKED, "linked credentials")?;
        let out = Self { main, pseudonym, linked };
        if !out.has_extension() {
            return Err(DecodeError::NonCanonical("empty bundle extension"));
        }
        Ok(out)
    }
}
