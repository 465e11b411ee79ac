//! Signed webhooks: HMAC-SHA256 under the provider's secret over `<timestamp>.<body>`,
//! compared in constant time, and the time window a delivery's timestamp must be in. One
//! mechanism for every provider that calls us (payment providers, KYC providers): a delivery
//! verifies when one of its signatures matches and its timestamp is within
//! [`SIGNATURE_TOLERANCE_SECONDS`] of now in either direction, so a captured delivery replayed
//! later, or one dated ahead, is refused. The signature is checked before the timestamp, so
//! "expired" is only ever said of an authentic delivery. Which headers carry timestamp and
//! signature is each provider's dialect.

use std::fmt;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Why a delivery did not authenticate. Nothing is written for any of them; `Display` says
/// only that it did not authenticate (details, such as ages, are in `Debug`, for logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// A header the provider always sends is missing.
    MissingHeader { header: &'static str },
    /// A signature or timestamp header is not of the provider's form, or is repeated.
    MalformedHeader { header: &'static str },
    /// No signature matches the body under the provider's secret (forged, tampered, signed
    /// over another timestamp, wrong secret).
    BadSignature,
    /// Authentic, but signed longer ago than the tolerance: a replay, or a very late retry.
    Expired { age_seconds: i64 },
    /// Authentic, but dated further ahead than the tolerance.
    NotYetValid { ahead_seconds: i64 },
}

impl SignatureError {
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::MissingHeader { .. } => "signature_missing",
            SignatureError::MalformedHeader { .. } => "signature_malformed",
            SignatureError::BadSignature => "signature_invalid",
            SignatureError::Expired { .. } => "signature_expired",
            SignatureError::NotYetValid { .. } => "signature_not_yet_valid",
        }
    }
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the webhook delivery did not authenticate")
    }
}

impl std::error::Error for SignatureError {}

/// How far a delivery's timestamp may be from now, either way: 5 minutes.
pub const SIGNATURE_TOLERANCE_SECONDS: i64 = 300;
/// The shortest secret accepted (128 bits).
pub const MIN_SECRET_BYTES: usize = 16;
/// The most signatures one delivery may carry (providers send several while rotating secrets).
pub const MAX_SIGNATURES: usize = 5;

/// A provider's webhook signing secret. Its `Debug` never shows the bytes, and there is no
/// `Display`, so logging a provider or its configuration cannot leak it.
/// No `PartialEq` either: secrets are compared only through [`verify_signature`].
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// Refuses secrets shorter than [`MIN_SECRET_BYTES`].
    pub fn new(bytes: impl Into<Vec<u8>>) -> crate::Result<WebhookSecret> {
        let bytes = bytes.into();
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(crate::Error::invalid(
                "webhook_secret_too_short",
                "secret",
                format!("a webhook secret has at least {MIN_SECRET_BYTES} bytes"),
            ));
        }
        Ok(WebhookSecret(bytes))
    }

    fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// HMAC-SHA256 (RFC 2104) of the concatenated `parts` under `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    for part in parts {
        inner.update(part);
    }
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// Whether `a` and `b` are equal, taking the same time wherever they differ (a comparison that
/// stops at the first difference would let an attacker find a valid signature byte by byte).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    std::hint::black_box(difference) == 0
}

/// The signature of a delivery: lowercase hex of HMAC-SHA256 over `<timestamp>.<body>`.
pub fn signature_hex(secret: &WebhookSecret, timestamp: &str, body: &[u8]) -> String {
    hex::encode(hmac_sha256(
        secret.bytes(),
        &[timestamp.as_bytes(), b".", body],
    ))
}

/// Verifies a delivery: one of `signatures` (hex) is the HMAC of `<timestamp>.<body>` under
/// `secret`, and `timestamp` (decimal Unix seconds, as sent) is within the tolerance of `now`.
pub fn verify_signature(
    secret: &WebhookSecret,
    timestamp_header: &'static str,
    timestamp: &str,
    signatures: &[&str],
    body: &[u8],
    now: OffsetDateTime,
) -> Result<(), SignatureError> {
    let sent_at = parse_timestamp(timestamp_header, timestamp)?;
    let expected = hmac_sha256(secret.bytes(), &[timestamp.as_bytes(), b".", body]);
    let mut matched = false;
    for signature in signatures {
        // A signature of the wrong form is just one that does not match.
        if let Ok(bytes) = hex::decode(signature)
            && constant_time_eq(&bytes, &expected)
        {
            matched = true;
        }
    }
    if !matched {
        return Err(SignatureError::BadSignature);
    }
    let age = now.unix_timestamp() - sent_at;
    if age > SIGNATURE_TOLERANCE_SECONDS {
        return Err(SignatureError::Expired { age_seconds: age });
    }
    if -age > SIGNATURE_TOLERANCE_SECONDS {
        return Err(SignatureError::NotYetValid {
            ahead_seconds: -age,
        });
    }
    Ok(())
}

/// The signatures of a `v1=<hex>[,v1=<hex>…]` header (several while a provider rotates its
/// secret; at most [`MAX_SIGNATURES`]).
pub fn v1_signatures<'a>(
    header: &'static str,
    value: &'a str,
) -> Result<Vec<&'a str>, SignatureError> {
    let signatures: Vec<&str> = value
        .split(',')
        .map(|part| {
            part.trim()
                .strip_prefix("v1=")
                .ok_or(SignatureError::MalformedHeader { header })
        })
        .collect::<Result<_, _>>()?;
    if signatures.len() > MAX_SIGNATURES {
        return Err(SignatureError::MalformedHeader { header });
    }
    Ok(signatures)
}

/// Decimal Unix seconds: 1 to 12 ASCII digits, nothing else.
fn parse_timestamp(header: &'static str, value: &str) -> Result<i64, SignatureError> {
    if value.is_empty() || value.len() > 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::MalformedHeader { header });
    }
    value
        .parse()
        .map_err(|_| SignatureError::MalformedHeader { header })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 1.
        assert_eq!(
            hex::encode(hmac_sha256(&[0x0b; 20], &[b"Hi There"])),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // Test case 2, the message in two parts.
        assert_eq!(
            hex::encode(hmac_sha256(
                b"Jefe",
                &[b"what do ya want ", b"for nothing?"]
            )),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block is hashed first.
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                &[b"Test Using Larger Than Block-Size Key - Hash Key First"]
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn constant_time_eq_compares_whole_slices() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
