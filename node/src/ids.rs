//! Identifier text forms shared by the server's HTTP API and the department tools.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Longest department id (a slug).
pub const MAX_SLUG_LEN: usize = 64;

/// Whether `s` is a slug: 1 to [`MAX_SLUG_LEN`] of `a-z`, `0-9` and `-` (department ids).
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SLUG_LEN
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A credential id written as 64 hex digits or 43 base64url characters (surrounding blanks
/// ignored); `None` for anything else.
pub fn credential_id(text: &str) -> Option<[u8; 32]> {
    let t = text.trim();
    let bytes = if t.len() == 64 { hex::decode(t).ok() } else { URL_SAFE_NO_PAD.decode(t).ok() };
    bytes.and_then(|b| <[u8; 32]>::try_from(b).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(is_slug("public-security"));
        assert!(is_slug(&"a".repeat(MAX_SLUG_LEN)));
        assert!(!is_slug(""));
        assert!(!is_slug(&"a".repeat(MAX_SLUG_LEN + 1)));
        assert!(!is_slug("Public"));
        assert!(!is_slug("a_b"));
    }

    #[test]
    fn credential_ids_in_both_forms() {
        let id = [7u8; 32];
        assert_eq!(credential_id(&hex::encode(id)), Some(id));
        assert_eq!(credential_id(&format!(" {} ", URL_SAFE_NO_PAD.encode(id))), Some(id));
        assert_eq!(credential_id(&hex::encode([7u8; 31])), None);
        assert_eq!(credential_id("not an id"), None);
    }
}
