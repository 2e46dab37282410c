//! Compact JWS (RFC 7515) as the identity platform uses it: `base64url(header) "."
//! base64url(claims) "." base64url(signature)` with JSON objects, signed RS256
//! (RSASSA-PKCS1-v1_5 SHA-256) or PS256 (RSASSA-PSS SHA-256), RFC 7518 §3.3 and §3.5.
//! Pure; decoding is bounded and never trusts the header to pick a key.

use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256, UnparsedPublicKey};
use serde_json::{Map, Value};

use crate::ids;
use crate::keys::{KeyError, SigningKey};

/// Longest token accepted anywhere (real access tokens are 1–3 KB).
pub(crate) const MAX_JWT_LEN: usize = 16 * 1024;

/// A decoded, not yet verified, token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Jws<'a> {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    /// `header "." claims` as sent: what the signature covers.
    pub signing_input: &'a str,
    pub signature: Vec<u8>,
}

/// Why a token could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum JwtError {
    #[error("longer than {MAX_JWT_LEN} bytes")]
    TooLong,
    #[error("not three dot-separated parts")]
    Shape,
    #[error("a part is not base64url")]
    Base64,
    #[error("header or claims are not a JSON object")]
    Json,
}

/// The signature algorithms the mock verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alg {
    Rs256,
    Ps256,
}

impl<'a> Jws<'a> {
    /// Splits and decodes `token`.
    pub fn decode(token: &'a str) -> Result<Jws<'a>, JwtError> {
        if token.len() > MAX_JWT_LEN {
            return Err(JwtError::TooLong);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Shape);
        };
        let object = |part: &str| -> Result<Map<String, Value>, JwtError> {
            let bytes = ids::b64url_decode(part).ok_or(JwtError::Base64)?;
            match serde_json::from_slice(&bytes) {
                Ok(Value::Object(map)) => Ok(map),
                _ => Err(JwtError::Json),
            }
        };
        Ok(Jws {
            header: object(h)?,
            claims: object(c)?,
            signing_input: &token[..h.len() + 1 + c.len()],
            signature: ids::b64url_decode(s).ok_or(JwtError::Base64)?,
        })
    }

    /// The header's `alg`, if it is one the mock verifies.
    pub fn alg(&self) -> Option<Alg> {
        match self.header.get("alg").and_then(Value::as_str) {
            Some("RS256") => Some(Alg::Rs256),
            Some("PS256") => Some(Alg::Ps256),
            _ => None,
        }
    }

    /// A string header parameter.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// A string claim.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A numeric claim (NumericDate), whole seconds.
    pub fn claim_i64(&self, name: &str) -> Option<i64> {
        let value = self.claims.get(name)?;
        value
            .as_i64()
            .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
    }

    /// Whether the signature verifies under `alg` with an `RSAPublicKey` DER.
    pub fn verify(&self, alg: Alg, rsa_public_key_der: &[u8]) -> bool {
        let params = match alg {
            Alg::Rs256 => &RSA_PKCS1_2048_8192_SHA256,
            Alg::Ps256 => &RSA_PSS_2048_8192_SHA256,
        };
        UnparsedPublicKey::new(params, rsa_public_key_der)
            .verify(self.signing_input.as_bytes(), &self.signature)
            .is_ok()
    }
}

/// Signs `claims` under `header` (which should say `"alg":"RS256"`) with `key`.
pub(crate) fn sign_rs256(
    key: &SigningKey,
    header: &Value,
    claims: &Value,
) -> Result<String, KeyError> {
    let input = format!(
        "{}.{}",
        ids::b64url(header.to_string().as_bytes()),
        ids::b64url(claims.to_string().as_bytes())
    );
    let signature = key.sign_rs256(input.as_bytes())?;
    Ok(format!("{input}.{}", ids::b64url(&signature)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{idp_signing_key, rsa_key_from_pem, test_keys};
    use serde_json::json;

    #[test]
    fn sign_verify_round_trip() {
        let key = idp_signing_key().expect("fixture key");
        let token = sign_rs256(
            key,
            &json!({"typ": "JWT", "alg": "RS256", "kid": key.kid}),
            &json!({"aud": "https://outlook.office.com", "exp": 2_000_000_000_i64}),
        )
        .expect("signs");
        let jws = Jws::decode(&token).expect("decodes");
        assert_eq!(jws.alg(), Some(Alg::Rs256));
        assert_eq!(jws.header_str("kid"), Some(key.kid.as_str()));
        assert_eq!(jws.claim_str("aud"), Some("https://outlook.office.com"));
        assert_eq!(jws.claim_i64("exp"), Some(2_000_000_000));
        assert!(jws.verify(Alg::Rs256, &key.public_der));
        assert!(!jws.verify(Alg::Ps256, &key.public_der));
        let other = rsa_key_from_pem(test_keys::OTHER_KEY_PEM).expect("other key");
        assert!(!jws.verify(Alg::Rs256, &other.public_der));

        // Any change to the claims breaks the signature.
        let (h, rest) = token.split_once('.').expect("dots");
        let (_, s) = rest.split_once('.').expect("dots");
        let forged_claims =
            ids::b64url(br#"{"aud":"https://outlook.office.com","exp":2000000001}"#);
        let forged = format!("{h}.{forged_claims}.{s}");
        let jws = Jws::decode(&forged).expect("decodes");
        assert!(!jws.verify(Alg::Rs256, &key.public_der));
    }

    #[test]
    fn malformed_tokens_are_errors() {
        assert_eq!(Jws::decode("a.b"), Err(JwtError::Shape));
        assert_eq!(Jws::decode("a.b.c.d"), Err(JwtError::Shape));
        assert_eq!(Jws::decode("!.b.c"), Err(JwtError::Base64));
        let not_object = format!("{}.{}.", ids::b64url(b"[1]"), ids::b64url(b"{}"));
        assert_eq!(Jws::decode(&not_object), Err(JwtError::Json));
        assert_eq!(
            Jws::decode(&"a".repeat(MAX_JWT_LEN + 1)),
            Err(JwtError::TooLong)
        );
        let none_alg = format!(
            "{}.{}.",
            ids::b64url(br#"{"alg":"none"}"#),
            ids::b64url(b"{}")
        );
        let jws = Jws::decode(&none_alg).expect("decodes");
        assert_eq!(jws.alg(), None);
        assert!(jws.signature.is_empty());
    }
}
