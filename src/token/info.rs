//! The token a check used, as a report shows it: where it came from and what its claims say.
//! The claims are decoded without verifying the signature; the server decides validity.

use serde::Serialize;

use crate::transport::util::escape_text as show;

/// The token a check used: where it came from and what it says.
#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    pub origin: super::Origin,
    /// Decoded without verifying the signature (the server decides validity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<super::claims::Claims>,
    /// Why there are no claims (an opaque token), when there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims_note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

impl TokenInfo {
    pub fn describe(token: &super::Token) -> TokenInfo {
        let (claims, claims_note) = match super::claims::decode(token.access.expose()) {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let exp = token.expires_at.or(claims.as_ref().and_then(|c| c.exp));
        TokenInfo {
            origin: token.origin,
            claims,
            claims_note,
            expires_at: exp.map(crate::transport::util::rfc3339),
        }
    }

    pub fn summary(&self) -> String {
        let origin = serde_json::to_value(self.origin)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        // Claims are whatever the token says: a `upn` may carry ESC or U+202E.
        show(&match (&self.claims, &self.claims_note) {
            (Some(c), _) => format!("({origin}) {}", c.summary(super::now())),
            (None, Some(note)) => format!("({origin}) {note}"),
            (None, None) => format!("({origin})"),
        })
    }
}
