//! Signatures on audit evidence (export manifests, checkpoints): the signing port and the two
//! algorithms a verifier accepts.
//!
//! - `ed25519`: the local Broker OS signs with an Ed25519 key kept in its data directory.
//! - `ecdsa-p256-sha256`: in AWS an asymmetric KMS key (`ECC_NIST_P256`, `ECDSA_SHA_256`) signs,
//!   so the private key never leaves KMS. KMS also offers Ed25519 keys now
//!   (`ECC_NIST_EDWARDS25519`), but not yet in every region and tool (CloudFormation linting,
//!   older SDKs); P-256 works everywhere, and the verifier takes both.
//!
//! A signature names its algorithm, the signer's key id and the SHA-256 fingerprint of the
//! public key (its DER SubjectPublicKeyInfo); the verifier checks the algorithm against the
//! public key it was *given* — never a key found in the evidence.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::canonical::sha256_hex;

pub const ED25519: &str = "ed25519";
pub const ECDSA_P256_SHA256: &str = "ecdsa-p256-sha256";

/// The signature block of a manifest or checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub algorithm: String,
    pub key_id: String,
    /// SHA-256 (hex) of the signer's public key, DER SubjectPublicKeyInfo.
    pub public_key_sha256: String,
    /// Base64: 64 bytes for Ed25519, DER `ECDSA-Sig-Value` for P-256.
    pub value: String,
}

/// Something that signs evidence. Implementations: [`Ed25519Signer`] (local), the KMS
/// adapter in `brokeros-aws`.
#[async_trait::async_trait]
pub trait Signer: Send + Sync {
    fn algorithm(&self) -> &'static str;
    fn key_id(&self) -> String;
    /// The public key, DER SubjectPublicKeyInfo.
    fn public_key_der(&self) -> Vec<u8>;
    async fn sign_raw(&self, message: &[u8]) -> Result<Vec<u8>, String>;
}

/// Signs `message` and returns the block to store beside it.
pub async fn sign(signer: &dyn Signer, message: &[u8]) -> Result<Signature, String> {
    let value = signer.sign_raw(message).await?;
    Ok(Signature {
        algorithm: signer.algorithm().to_string(),
        key_id: signer.key_id(),
        public_key_sha256: sha256_hex(&signer.public_key_der()),
        value: STANDARD.encode(value),
    })
}

const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The local signer: an Ed25519 key whose 32 secret bytes the caller keeps (the CLI: in the
/// data directory, mode 0600).
pub struct Ed25519Signer {
    key: ed25519_dalek::SigningKey,
}

impl Ed25519Signer {
    pub fn from_secret(secret: [u8; 32]) -> Ed25519Signer {
        Ed25519Signer {
            key: ed25519_dalek::SigningKey::from_bytes(&secret),
        }
    }

    pub fn generate() -> (Ed25519Signer, [u8; 32]) {
        let secret: [u8; 32] = rand::random();
        (Ed25519Signer::from_secret(secret), secret)
    }
}

#[async_trait::async_trait]
impl Signer for Ed25519Signer {
    fn algorithm(&self) -> &'static str {
        ED25519
    }

    fn key_id(&self) -> String {
        format!(
            "local-ed25519:{}",
            &sha256_hex(&self.public_key_der())[..16]
        )
    }

    fn public_key_der(&self) -> Vec<u8> {
        [
            &ED25519_SPKI_PREFIX[..],
            self.key.verifying_key().as_bytes(),
        ]
        .concat()
    }

    async fn sign_raw(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        use ed25519_dalek::Signer as _;
        Ok(self.key.sign(message).to_bytes().to_vec())
    }
}

/// A public key an auditor was given, from PEM or DER SubjectPublicKeyInfo.
#[derive(Debug, Clone)]
pub enum PublicKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
}

impl PublicKey {
    pub fn from_der(der: &[u8]) -> Result<PublicKey, String> {
        if let Some(raw) = der.strip_prefix(&ED25519_SPKI_PREFIX[..]) {
            let bytes: [u8; 32] = raw
                .try_into()
                .map_err(|_| "an Ed25519 public key has 32 bytes")?;
            return ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                .map(PublicKey::Ed25519)
                .map_err(|e| format!("not an Ed25519 public key: {e}"));
        }
        if let Some(point) = der.strip_prefix(&P256_SPKI_PREFIX[..]) {
            return p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map(PublicKey::P256)
                .map_err(|e| format!("not a P-256 public key: {e}"));
        }
        Err("not an Ed25519 or P-256 public key (SubjectPublicKeyInfo)".into())
    }

    /// PEM (`-----BEGIN PUBLIC KEY-----`) or raw DER.
    pub fn parse(bytes: &[u8]) -> Result<PublicKey, String> {
        match std::str::from_utf8(bytes) {
            Ok(text) if text.contains("-----BEGIN PUBLIC KEY-----") => {
                let body: String = text
                    .lines()
                    .filter(|l| !l.starts_with("-----"))
                    .map(str::trim)
                    .collect();
                let der = STANDARD.decode(body).map_err(|e| format!("bad PEM: {e}"))?;
                PublicKey::from_der(&der)
            }
            _ => PublicKey::from_der(bytes),
        }
    }

    pub fn to_der(&self) -> Vec<u8> {
        match self {
            PublicKey::Ed25519(k) => [&ED25519_SPKI_PREFIX[..], k.as_bytes()].concat(),
            PublicKey::P256(k) => {
                [&P256_SPKI_PREFIX[..], k.to_encoded_point(false).as_bytes()].concat()
            }
        }
    }

    pub fn algorithm(&self) -> &'static str {
        match self {
            PublicKey::Ed25519(_) => ED25519,
            PublicKey::P256(_) => ECDSA_P256_SHA256,
        }
    }

    pub fn fingerprint(&self) -> String {
        sha256_hex(&self.to_der())
    }

    /// Checks `signature` over `message`; the error says what does not match.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), String> {
        if signature.algorithm != self.algorithm() {
            return Err(format!(
                "signed with {} but the public key given is {}",
                signature.algorithm,
                self.algorithm()
            ));
        }
        if signature.public_key_sha256 != self.fingerprint() {
            return Err(format!(
                "signed by key {} (public key sha256 {}), not by the public key given (sha256 {})",
                signature.key_id,
                signature.public_key_sha256,
                self.fingerprint()
            ));
        }
        let value = STANDARD
            .decode(&signature.value)
            .map_err(|e| format!("the signature is not base64: {e}"))?;
        let ok = match self {
            PublicKey::Ed25519(key) => ed25519_dalek::Signature::from_slice(&value)
                .ok()
                .is_some_and(|s| key.verify_strict(message, &s).is_ok()),
            PublicKey::P256(key) => ecdsa_der_to_fixed(&value)
                .and_then(|fixed| p256::ecdsa::Signature::from_slice(&fixed).ok())
                .is_some_and(|s| {
                    use p256::ecdsa::signature::Verifier as _;
                    key.verify(message, &s).is_ok()
                }),
        };
        if ok {
            Ok(())
        } else {
            Err(
                "the signature does not match the signed content: it was changed after signing"
                    .into(),
            )
        }
    }

    pub fn to_pem(&self) -> String {
        let b64 = STANDARD.encode(self.to_der());
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` (what KMS returns) to the 64-byte `r || s`.
fn ecdsa_der_to_fixed(der: &[u8]) -> Option<[u8; 64]> {
    let (&tag, rest) = der.split_first()?;
    let (&len, body) = rest.split_first()?;
    if tag != 0x30 || usize::from(len) != body.len() || len >= 0x80 {
        return None;
    }
    let mut out = [0u8; 64];
    let mut body = body;
    for half in 0..2 {
        let (&tag, rest) = body.split_first()?;
        let (&len, rest) = rest.split_first()?;
        let len = usize::from(len);
        if tag != 0x02 || rest.len() < len {
            return None;
        }
        let (int, rest) = rest.split_at(len);
        let int = match int {
            [0, tail @ ..] => tail,
            other => other,
        };
        if int.len() > 32 {
            return None;
        }
        out[half * 32 + 32 - int.len()..(half + 1) * 32].copy_from_slice(int);
        body = rest;
    }
    body.is_empty().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ed25519_signatures_verify_with_the_right_key_only() {
        let (signer, _) = Ed25519Signer::generate();
        let public = PublicKey::from_der(&signer.public_key_der()).unwrap();
        let again = PublicKey::parse(public.to_pem().as_bytes()).unwrap();
        let sig = sign(&signer, b"manifest").await.unwrap();
        assert_eq!(again.verify(b"manifest", &sig), Ok(()));
        assert!(again.verify(b"manifest!", &sig).is_err());
        let (other, _) = Ed25519Signer::generate();
        let other = PublicKey::from_der(&other.public_key_der()).unwrap();
        assert!(
            other
                .verify(b"manifest", &sig)
                .unwrap_err()
                .contains("not by the public key given")
        );
    }

    #[test]
    fn p256_der_signatures_verify() {
        use p256::ecdsa::signature::Signer as _;
        let secret = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let sig: p256::ecdsa::Signature = secret.sign(b"checkpoint");
        // DER as KMS returns it: SEQUENCE { INTEGER r, INTEGER s }, minimal, positive.
        let int = |half: &[u8]| {
            let trimmed: Vec<u8> = half.iter().copied().skip_while(|b| *b == 0).collect();
            let mut v = if trimmed.first().is_some_and(|b| *b >= 0x80) {
                vec![0]
            } else {
                vec![]
            };
            v.extend(trimmed);
            [vec![0x02, v.len() as u8], v].concat()
        };
        let bytes = sig.to_bytes();
        let body = [int(&bytes[..32]), int(&bytes[32..])].concat();
        let der = [vec![0x30, body.len() as u8], body].concat();
        let public = PublicKey::P256(*secret.verifying_key());
        let block = Signature {
            algorithm: ECDSA_P256_SHA256.into(),
            key_id: "arn:aws:kms:test".into(),
            public_key_sha256: public.fingerprint(),
            value: STANDARD.encode(&der),
        };
        let parsed = PublicKey::parse(public.to_pem().as_bytes()).unwrap();
        assert_eq!(parsed.verify(b"checkpoint", &block), Ok(()));
        assert!(parsed.verify(b"checkpoint2", &block).is_err());
    }
}
