//! The audit signing port in AWS: an asymmetric KMS key (`ECC_NIST_P256`, `SIGN_VERIFY`) signs
//! manifests and checkpoints with `ECDSA_SHA_256`; the private key never leaves KMS. The public
//! key (DER SubjectPublicKeyInfo, from `GetPublicKey`) is fetched once at start-up; auditors get
//! it with `aws kms get-public-key` (see the README).

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use brokeros_kernel::signing::{ECDSA_P256_SHA256, Signer};

pub struct KmsSigner {
    client: aws_sdk_kms::Client,
    key_id: String,
    public_key: Vec<u8>,
}

/// The setting naming the audit-signing KMS key's ARN. Not a secret (named so, not `*_KEY`,
/// for the infra rule that any `*KEY*` variable is a secret reference).
pub const KEY_ENV: &str = "BROKEROS_AUDIT_SIGNER_KMS_ARN";

impl KmsSigner {
    /// The signer of the key [`KEY_ENV`] names; start-up stops naming the setting if it is
    /// missing.
    pub async fn from_env(aws: &aws_config::SdkConfig) -> Result<KmsSigner, String> {
        let key_id = std::env::var(KEY_ENV)
            .map_err(|_| format!("environment variable {KEY_ENV} is not set"))?;
        KmsSigner::new(aws_sdk_kms::Client::new(aws), key_id).await
    }

    /// [`KmsSigner::from_env`] with the default AWS configuration.
    pub async fn from_default_env() -> Result<KmsSigner, String> {
        KmsSigner::from_env(&aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await)
            .await
    }

    pub async fn new(client: aws_sdk_kms::Client, key_id: String) -> Result<KmsSigner, String> {
        let out = client
            .get_public_key()
            .key_id(&key_id)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "kms get-public-key: {}",
                    aws_sdk_kms::error::DisplayErrorContext(&e)
                )
            })?;
        let public_key = out
            .public_key
            .ok_or("kms get-public-key returned no key")?
            .into_inner();
        Ok(KmsSigner {
            key_id: out.key_id.unwrap_or(key_id),
            client,
            public_key,
        })
    }
}

#[async_trait::async_trait]
impl Signer for KmsSigner {
    fn algorithm(&self) -> &'static str {
        ECDSA_P256_SHA256
    }

    fn key_id(&self) -> String {
        self.key_id.clone()
    }

    fn public_key_der(&self) -> Vec<u8> {
        self.public_key.clone()
    }

    async fn sign_raw(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        // RAW messages are limited to 4 KB: manifests and checkpoints are well under it (their
        // size does not grow with the export).
        let out = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(message))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| format!("kms sign: {}", aws_sdk_kms::error::DisplayErrorContext(&e)))?;
        Ok(out
            .signature
            .ok_or("kms sign returned no signature")?
            .into_inner())
    }
}
