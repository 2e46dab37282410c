//! The token endpoint's success reply (RFC 6749 §5.1), read leniently where providers differ
//! from the spec: `expires_in` may be a number, a string of digits (Entra's v1 endpoint sends
//! `"3599"`), zero, negative or missing. oauth2's `StandardTokenResponse` insists on a `u64`, so
//! a provider that sends anything else would make a working sign-in look like a refusal; this
//! type plugs into oauth2's `Client` in its place.
//!
//! `expires_in` only hints how long the token may be cached: whether the token is still valid
//! is the server's call, and the report judges it from the token's own `exp` claim.

use std::time::Duration;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{AccessToken, EndpointNotSet, RefreshToken, Scope, StandardRevocableToken};
use serde::{Deserialize, Deserializer, Serialize};

/// oauth2's client with [`TokenReply`] as its token response.
pub type Client<
    HasAuthUrl = EndpointNotSet,
    HasDeviceAuthUrl = EndpointNotSet,
    HasIntrospectionUrl = EndpointNotSet,
    HasRevocationUrl = EndpointNotSet,
    HasTokenUrl = EndpointNotSet,
> = oauth2::Client<
    ErrorReply,
    TokenReply,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    HasAuthUrl,
    HasDeviceAuthUrl,
    HasIntrospectionUrl,
    HasRevocationUrl,
    HasTokenUrl,
>;

/// An error reply (RFC 6749 §5.2) with the fields Entra adds beyond the standard three
/// (`error_codes`, `timestamp`, `trace_id`, `correlation_id`), kept as sent and read by
/// [`ErrorReply::ids`]: a malformed extra must never turn a refusal into a parse failure.
#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorReply {
    #[serde(flatten)]
    pub standard: BasicErrorResponse,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

impl ErrorReply {
    /// The provider's ids: its JSON fields, else the lines of its description.
    pub fn ids(&self) -> crate::outcome::ProviderIds {
        let from_json =
            crate::outcome::ProviderIds::from_json(&serde_json::Value::Object(self.extra.clone()));
        match self.standard.error_description() {
            Some(d) => from_json.or(crate::outcome::ProviderIds::from_description(d)),
            None => from_json,
        }
    }
}

impl std::fmt::Display for ErrorReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.standard.fmt(f)
    }
}

impl oauth2::ErrorResponse for ErrorReply {}

/// A successful token response. `Debug` shows the tokens redacted (oauth2's own types).
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenReply {
    access_token: AccessToken,
    /// Case-insensitive, as RFC 6749 §5.1 says.
    #[serde(deserialize_with = "oauth2::helpers::deserialize_untagged_enum_case_insensitive")]
    token_type: BasicTokenType,
    /// Seconds as the provider sent them; `None` when missing or not a whole number.
    #[serde(default, deserialize_with = "lenient_seconds")]
    expires_in: Option<i64>,
    #[serde(default)]
    refresh_token: Option<RefreshToken>,
    #[serde(
        default,
        deserialize_with = "oauth2::helpers::deserialize_space_delimited_vec",
        serialize_with = "oauth2::helpers::serialize_space_delimited_vec",
        skip_serializing_if = "Option::is_none"
    )]
    scope: Option<Vec<Scope>>,
}

impl TokenReply {
    /// `expires_in` as sent, negative and zero included (they mean "do not cache").
    pub fn expires_in_secs(&self) -> Option<i64> {
        self.expires_in
    }
}

impl oauth2::TokenResponse for TokenReply {
    type TokenType = BasicTokenType;

    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }

    /// Only a positive lifetime is a lifetime.
    fn expires_in(&self) -> Option<Duration> {
        self.expires_in
            .filter(|s| *s > 0)
            .map(|s| Duration::from_secs(s.unsigned_abs()))
    }

    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }

    fn scopes(&self) -> Option<&Vec<Scope>> {
        self.scope.as_ref()
    }
}

/// A number (integer or float), a string holding one, or null. Anything else is "unknown"
/// rather than an error: the token itself is fine, and its `exp` says the rest.
fn lenient_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    Ok(seconds(&value))
}

/// Whole seconds from a number or a string holding one; `None` for anything else.
pub(super) fn seconds(value: &serde_json::Value) -> Option<i64> {
    use serde_json::Value;
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f as i64)
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use oauth2::TokenResponse as _;

    use super::*;

    #[test]
    fn an_error_reply_keeps_entras_ids_and_survives_odd_extras() {
        let entra: ErrorReply = serde_json::from_str(
            r#"{"error":"invalid_grant","error_description":"AADSTS50173: revoked.\r\nTrace ID: t\r\nCorrelation ID: c\r\nTimestamp: 2026-11-23 18:22:00Z","error_codes":[50173],"timestamp":"2026-11-23 18:22:00Z","trace_id":"0b8a5f0e-1d2c-4e5f-8a9b-0c1d2e3f4a5b","correlation_id":"9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"}"#,
        )
        .unwrap();
        assert_eq!(entra.standard.error().as_ref(), "invalid_grant");
        let ids = entra.ids();
        assert_eq!(ids.error_codes, vec![50173]);
        assert_eq!(
            ids.trace_id.as_deref(),
            Some("0b8a5f0e-1d2c-4e5f-8a9b-0c1d2e3f4a5b")
        );
        // Extras of the wrong type are no parse failure: the refusal still reads as one.
        let odd: ErrorReply = serde_json::from_str(
            r#"{"error":"invalid_grant","error_codes":"x","trace_id":7,"timestamp":null}"#,
        )
        .unwrap();
        assert_eq!(odd.standard.error().as_ref(), "invalid_grant");
        assert!(odd.ids().is_empty());
        // Google's plain reply: no ids at all.
        let google: ErrorReply =
            serde_json::from_str(r#"{"error":"invalid_grant","error_description":"Bad Request"}"#)
                .unwrap();
        assert!(google.ids().is_empty());
    }

    fn parse(expires: &str) -> TokenReply {
        let body = format!(
            r#"{{"token_type":"Bearer","scope":"a b","access_token":"AT-SECRET","refresh_token":"RT-SECRET"{expires}}}"#
        );
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{expires}: {e}"))
    }

    #[test]
    fn expires_in_in_every_shape_providers_send() {
        assert_eq!(parse(r#","expires_in":3599"#).expires_in_secs(), Some(3599));
        assert_eq!(
            parse(r#","expires_in":"3599""#).expires_in_secs(),
            Some(3599)
        );
        assert_eq!(parse(r#","expires_in":" 60 ""#).expires_in_secs(), Some(60));
        assert_eq!(parse(r#","expires_in":-600"#).expires_in_secs(), Some(-600));
        assert_eq!(
            parse(r#","expires_in":"-600""#).expires_in_secs(),
            Some(-600)
        );
        assert_eq!(parse(r#","expires_in":0"#).expires_in_secs(), Some(0));
        assert_eq!(
            parse(r#","expires_in":3599.5"#).expires_in_secs(),
            Some(3599)
        );
        assert_eq!(parse(r#","expires_in":null"#).expires_in_secs(), None);
        assert_eq!(parse(r#","expires_in":"soon""#).expires_in_secs(), None);
        assert_eq!(parse(r#","expires_in":{}"#).expires_in_secs(), None);
        assert_eq!(parse("").expires_in_secs(), None);
    }

    #[test]
    fn only_a_positive_lifetime_is_a_duration() {
        assert_eq!(
            parse(r#","expires_in":"3599""#).expires_in(),
            Some(Duration::from_secs(3599))
        );
        assert_eq!(parse(r#","expires_in":-600"#).expires_in(), None);
        assert_eq!(parse(r#","expires_in":0"#).expires_in(), None);
    }

    #[test]
    fn the_rest_of_the_reply_reads_as_the_standard_one() {
        let r = parse(r#","expires_in":1"#);
        assert_eq!(r.access_token().secret(), "AT-SECRET");
        assert_eq!(r.refresh_token().unwrap().secret(), "RT-SECRET");
        assert_eq!(*r.token_type(), BasicTokenType::Bearer);
        assert_eq!(r.scopes().unwrap().len(), 2);
        let lower: TokenReply =
            serde_json::from_str(r#"{"token_type":"bearer","access_token":"x"}"#).unwrap();
        assert_eq!(*lower.token_type(), BasicTokenType::Bearer);
        assert!(lower.refresh_token().is_none() && lower.scopes().is_none());
        assert!(!format!("{r:?}").contains("AT-SECRET"));
        assert!(!format!("{r:?}").contains("RT-SECRET"));
        // Still required: the token and its type.
        assert!(serde_json::from_str::<TokenReply>(r#"{"token_type":"Bearer"}"#).is_err());
        assert!(serde_json::from_str::<TokenReply>(r#"{"access_token":"x"}"#).is_err());
    }
}
