//! Single-use secrets handed to a person out of band (a confirmation link's token): 256 random
//! bits as unpadded base64url. Only their SHA-256 is stored, so a copy of the store does not
//! hold a usable token; the token is looked up by its digest.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::canonical::sha256_hex;

/// Characters of a token: 32 bytes as unpadded base64url.
pub const TOKEN_CHARS: usize = 43;

/// A new token, from the operating system's random source.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `token` has the form [`new_token`] gives (checked before anything is read).
pub fn is_well_formed(token: &str) -> bool {
    token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What is stored of a token: the hex SHA-256 of its text.
pub fn token_digest(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_well_formed_distinct_and_stored_only_as_digests() {
        let a = new_token();
        let b = new_token();
        assert!(is_well_formed(&a) && is_well_formed(&b));
        assert_ne!(a, b);
        assert_eq!(token_digest(&a).len(), 64);
        assert!(!token_digest(&a).contains(&a));
        assert!(!is_well_formed("short"));
        assert!(!is_well_formed(&format!("{}=", &a[..42])));
    }
}
