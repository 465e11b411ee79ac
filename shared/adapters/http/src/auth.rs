//! Authentication. In AWS, API Gateway's JWT authorizer verifies tokens and the function reads
//! the verified claims from the request context ([`AuthMode::GatewayClaims`]); locally the
//! router verifies signature, issuer, audience, expiry, not-before, issue time and lifetime
//! itself ([`AuthMode::Jwt`]). Either way the claims go through the one mapping,
//! [`Principal::from_claims`].

use std::collections::HashMap;

use brokeros_kernel::principal::{GROUPS_CLAIM, Principal, Role};
use brokeros_kernel::{Error, Result};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

pub const LOCAL_ISSUER: &str = "brokeros-local";
pub const LOCAL_AUDIENCE: &str = "brokeros";
/// The longest a local development token may live (`exp - iat`, or `exp - now` without an
/// `iat`): `brokeros token` mints at most this, and the verifier refuses longer ones.
pub const MAX_LOCAL_TOKEN_LIFETIME_SECONDS: i64 = 24 * 3600;
/// How far ahead of this machine's clock a token's `iat` may be (the clocks of the machine that
/// minted it and of this one differ a little).
pub const IAT_LEEWAY_SECONDS: i64 = 60;

/// Claims that API Gateway verified, put into the request's extensions by the Lambda adapter.
#[derive(Debug, Clone, Default)]
pub struct GatewayClaims(pub HashMap<String, Value>);

pub enum AuthMode {
    /// Trust only claims that API Gateway verified and passed in the request context.
    GatewayClaims,
    /// Verify bearer tokens here.
    Jwt(Box<JwtVerifier>),
}

/// Verifies HS256 tokens signed with a local development key: signature, issuer, audience,
/// `exp` and `nbf` (5 s of leeway), an `iat` at most [`IAT_LEEWAY_SECONDS`] ahead, and a
/// lifetime of at most [`MAX_LOCAL_TOKEN_LIFETIME_SECONDS`].
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl JwtVerifier {
    pub fn new(secret: &[u8], issuer: &str, audience: &str) -> JwtVerifier {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        JwtVerifier {
            key: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn verify(&self, token: &str) -> Result<Principal> {
        let data =
            jsonwebtoken::decode::<HashMap<String, Value>>(token, &self.key, &self.validation)
                .map_err(|e| {
                    use jsonwebtoken::errors::ErrorKind;
                    let why = match e.kind() {
                        ErrorKind::ExpiredSignature => "the token has expired",
                        ErrorKind::ImmatureSignature => {
                            "the token is not valid yet: its nbf (not before) is in the future"
                        }
                        ErrorKind::InvalidClaimFormat(_) => {
                            "the token's exp or nbf is not a number of seconds"
                        }
                        ErrorKind::InvalidSignature => "the token signature is not valid",
                        ErrorKind::InvalidIssuer => "the token issuer is not accepted",
                        ErrorKind::InvalidAudience => "the token audience is not accepted",
                        ErrorKind::InvalidAlgorithm => "the token algorithm is not accepted",
                        ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim",
                        _ => "the token is malformed",
                    };
                    Error::unauthenticated(why)
                })?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        check_issue_time_and_lifetime(&data.claims, now)?;
        Principal::from_claims(&data.claims)
    }
}

/// Refuses a token issued in the future (beyond [`IAT_LEEWAY_SECONDS`]) and one that lives
/// longer than [`MAX_LOCAL_TOKEN_LIFETIME_SECONDS`] (from its `iat`, or from now without one).
fn check_issue_time_and_lifetime(claims: &HashMap<String, Value>, now: i64) -> Result<()> {
    let seconds = |name: &str| match claims.get(name) {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| {
            Error::unauthenticated(format!("the token's {name} is not a number of seconds"))
        }),
    };
    let iat = seconds("iat")?;
    let exp = seconds("exp")?.ok_or_else(|| Error::unauthenticated("the token lacks exp"))?;
    if iat.is_some_and(|iat| iat > now + IAT_LEEWAY_SECONDS) {
        return Err(Error::unauthenticated(
            "the token was issued in the future: its iat is ahead of this server's clock",
        ));
    }
    let from = iat.unwrap_or(now);
    if exp.saturating_sub(from) > MAX_LOCAL_TOKEN_LIFETIME_SECONDS {
        return Err(Error::unauthenticated(format!(
            "the token lives longer than the {} hours a local token may (exp - iat)",
            MAX_LOCAL_TOKEN_LIFETIME_SECONDS / 3600
        )));
    }
    Ok(())
}

impl AuthMode {
    /// The caller of a request, from its `Authorization` header or its gateway claims.
    pub fn principal(
        &self,
        authorization: Option<&str>,
        gateway: Option<&GatewayClaims>,
    ) -> Result<Principal> {
        match self {
            AuthMode::GatewayClaims => match gateway {
                Some(GatewayClaims(claims)) if !claims.is_empty() => Principal::from_claims(claims),
                _ => Err(Error::unauthenticated(
                    "the request carries no verified token claims",
                )),
            },
            AuthMode::Jwt(verifier) => {
                let header = authorization
                    .ok_or_else(|| Error::unauthenticated("missing Authorization header"))?;
                let token = header
                    .strip_prefix("Bearer ")
                    .or_else(|| header.strip_prefix("bearer "))
                    .ok_or_else(|| {
                        Error::unauthenticated("Authorization must be 'Bearer <token>'")
                    })?;
                verifier.verify(token.trim())
            }
        }
    }
}

/// Signs `claims` as an HS256 token with `secret` (what [`mint_token`] does; tests sign the
/// claims a client might forge).
pub fn sign_claims(secret: &[u8], claims: &Value) -> Result<String> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(|e| Error::Internal(format!("cannot sign token: {e}")))
}

/// Mints a development token shaped like a Cognito token: `sub`, `cognito:groups`, `iss`, `aud`.
pub fn mint_token(
    secret: &[u8],
    sub: &str,
    roles: &[Role],
    ttl_seconds: i64,
    now_unix: i64,
) -> Result<String> {
    let claims = json!({
        "sub": sub,
        GROUPS_CLAIM: roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "iat": now_unix,
        "exp": now_unix + ttl_seconds,
        "token_use": "id",
    });
    sign_claims(secret, &claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    fn verifier() -> AuthMode {
        AuthMode::Jwt(Box::new(JwtVerifier::new(
            SECRET,
            LOCAL_ISSUER,
            LOCAL_AUDIENCE,
        )))
    }

    #[test]
    fn a_minted_token_verifies() {
        let token = mint_token(SECRET, "u-1", &[Role::Sales], 60, now()).unwrap();
        let p = verifier()
            .principal(Some(&format!("Bearer {token}")), None)
            .unwrap();
        assert_eq!(p.sub, "u-1");
        assert!(p.has(Role::Sales));
    }

    #[test]
    fn forged_expired_and_foreign_tokens_are_refused() {
        let other = mint_token(
            b"another-secret-another-secret-xx",
            "u-1",
            &[Role::Admin],
            60,
            now(),
        )
        .unwrap();
        let expired = mint_token(SECRET, "u-1", &[Role::Admin], 60, now() - 3600).unwrap();
        let mut tampered = mint_token(SECRET, "u-1", &[Role::Sales], 60, now()).unwrap();
        tampered.replace_range(tampered.len() - 4.., "AAAA");
        let unsigned = {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let header = b64.encode(r#"{"alg":"none","typ":"JWT"}"#);
            let claims = b64.encode(
                json!({"sub":"u","cognito:groups":["admin"],"iss":LOCAL_ISSUER,"aud":LOCAL_AUDIENCE,"exp":now()+60}).to_string(),
            );
            format!("{header}.{claims}.")
        };
        for token in [other, expired, tampered, unsigned, "garbage".to_string()] {
            let err = verifier()
                .principal(Some(&format!("Bearer {token}")), None)
                .unwrap_err();
            assert!(matches!(err, Error::Unauthenticated { .. }), "{token}");
        }
        assert!(matches!(
            verifier().principal(None, None).unwrap_err(),
            Error::Unauthenticated { .. }
        ));
    }

    fn claims(changes: Value) -> Value {
        let mut claims = json!({
            "sub": "u-1", GROUPS_CLAIM: ["admin"], "iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE,
            "iat": now(), "exp": now() + 600,
        });
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        claims
    }

    fn verified(changes: Value) -> Result<Principal> {
        let token = sign_claims(SECRET, &claims(changes)).unwrap();
        verifier().principal(Some(&format!("Bearer {token}")), None)
    }

    #[test]
    fn time_claims_are_enforced() {
        let day = MAX_LOCAL_TOKEN_LIFETIME_SECONDS;
        let refused = [
            (json!({"nbf": now() + 600}), "not valid yet"),
            (json!({"iat": now() + 600}), "issued in the future"),
            (json!({"exp": now() + 100 * 365 * 86400}), "lives longer"),
            (
                json!({"iat": now() - 3600, "exp": now() - 3600 + day + 1}),
                "lives longer",
            ),
            (
                json!({"iat": null, "exp": now() + day + 600}),
                "lives longer",
            ),
            (json!({"iat": "yesterday"}), "iat is not a number"),
            (json!({"nbf": "soon"}), "not a number"),
        ];
        for (changes, why) in refused {
            match verified(changes.clone()) {
                Err(Error::Unauthenticated { message }) => {
                    assert!(message.contains(why), "{changes}: {message}")
                }
                other => panic!("{changes}: {other:?}"),
            }
        }
        let accepted = [
            json!({"nbf": now() - 10}),
            json!({"nbf": now() + 2}),
            json!({"iat": now() + 30}),
            json!({"iat": now() - 60, "exp": now() - 60 + day}),
            json!({"iat": null, "exp": now() + 600}),
        ];
        for changes in accepted {
            assert!(verified(changes.clone()).is_ok(), "{changes}");
        }
    }

    #[test]
    fn gateway_mode_trusts_only_context_claims() {
        let token = mint_token(SECRET, "u-1", &[Role::Admin], 60, now()).unwrap();
        let err = AuthMode::GatewayClaims
            .principal(Some(&format!("Bearer {token}")), None)
            .unwrap_err();
        assert!(matches!(err, Error::Unauthenticated { .. }));
        let claims = GatewayClaims(HashMap::from([
            ("sub".to_string(), json!("u-9")),
            (GROUPS_CLAIM.to_string(), json!("[compliance]")),
        ]));
        let p = AuthMode::GatewayClaims
            .principal(None, Some(&claims))
            .unwrap();
        assert!(p.has(Role::Compliance));
    }
}
